import t from 'tap';
import { engineConfig } from '../../src/algorithms';
import { parseOptions, UsageError } from '../../src/options';

t.test('tlswrapper-style parsing: bundled flags, attached and separate arguments', async (t) => {
  const o = parseOptions(['-vv', '-fa.pem', '-d', 'dir/', '-Qv', '-T', '5', '-t10', '-S', 'prog', '-x', 'y']);
  t.same(o.certs, [{ kind: 'file', path: 'a.pem' }, { kind: 'dir', path: 'dir/' }]);
  t.equal(o.verbosity, 2, '-Q resets, then -v counts');
  t.equal(o.handshakeTimeout, 5);
  t.equal(o.timeout, 10);
  t.equal(o.serverPreference, false);
  t.same(o.prog, ['prog', '-x', 'y'], 'options end at prog; its own options are its own');
});

t.test('"--" ends the options', async (t) => {
  t.same(parseOptions(['-f', 'k.pem', '--', '-prog']).prog, ['-prog']);
});

t.test('defaults', async (t) => {
  const o = parseOptions(['-f', 'k.pem', 'cat']);
  t.equal(o.verbosity, 1);
  t.equal(o.jailDir, '/var/lib/tlswrapper/empty');
  t.same(o.ciphers, ['CHACHA20_POLY1305_SHA256', 'AES_256_GCM_SHA384', 'AES_128_GCM_SHA256']);
  t.same(o.groups, ['x25519mlkem768', 'x25519', 'secp256r1']);
  t.equal(o.timeout, 60);
  t.equal(o.handshakeTimeout, 30);
});

t.test('-p 1 / -p 2: the PROXY protocol version', async (t) => {
  t.equal(parseOptions(['-f', 'k', 'cat']).proxyVersion, 0, 'none by default');
  t.equal(parseOptions(['-p', '1', '-f', 'k', 'cat']).proxyVersion, 1);
  t.equal(parseOptions(['-p2', '-f', 'k', 'cat']).proxyVersion, 2, 'attached argument');
  t.equal(parseOptions(['-vp', '2', '-f', 'k', 'cat']).proxyVersion, 2, 'bundled');
});

t.test('-a and -U', async (t) => {
  const o = parseOptions(['-a', 'ca.pem', '-U', 'emailAddress', '-f', 'k', 'cat']);
  t.equal(o.anchorFile, 'ca.pem');
  t.equal(o.userFrom, 'emailAddress');
  t.equal(parseOptions(['-aca.pem', '-UcommonName', '-f', 'k', 'cat']).userFrom, 'commonName', 'attached arguments');
  const plain = parseOptions(['-f', 'k', 'cat']);
  t.equal(plain.anchorFile, undefined, 'no client certificates by default');
  t.equal(plain.userFrom, undefined);
});

t.test('delayed encryption: -n, -N, --ucspi-tls; the last one wins', async (t) => {
  t.equal(parseOptions(['-f', 'k', 'cat']).startTls, 'no');
  t.equal(parseOptions(['-n', '-f', 'k', 'cat']).startTls, 'n');
  t.equal(parseOptions(['-n', '-N', '-f', 'k', 'cat']).startTls, 'no');
  t.equal(parseOptions(['-vn', '-f', 'k', 'cat']).startTls, 'n', 'bundled');
  t.equal(parseOptions(['--ucspi-tls', '-f', 'k', 'cat']).startTls, 'ucspi');
  t.equal(parseOptions(['--ucspi-tls', '-n', '-f', 'k', 'cat']).startTls, 'n');
  t.same(parseOptions(['-f', 'k', '--', '--ucspi-tls']).prog, ['--ucspi-tls'], 'after --, prog');
  t.same(parseOptions(['-f', 'k', 'cat', '--ucspi-tls']).prog, ['cat', '--ucspi-tls'], 'after prog, its argument');
});

t.test('usage errors', async (t) => {
  const bad: [string[], RegExp][] = [
    [['cat'], /-f certfile or -d certdir/],
    [['-f', 'k.pem'], /missing prog/],
    [['-f'], /needs an argument/],
    [['-X', '-f', 'k', 'cat'], /unknown option -X/],
    [['-t', '0', '-f', 'k', 'cat'], /range <1,86400>/],
    [['-T', '86401', '-f', 'k', 'cat'], /range/],
    [['-t', '5s', '-f', 'k', 'cat'], /range/],
    [['-U', 'commonName', '-f', 'k', 'cat'], /-U requires option -a/],
    [['-a', 'ca.pem', '-U', 'CN', '-f', 'k', 'cat'], /ASN.1 object 'CN' \(available: commonName, emailAddress\)/],
    [['-a', 'ca.pem', '-a', 'ca2.pem', '-f', 'k', 'cat'], /only one -a/],
    [['-a', 'ca.pem', '-U', 'commonName', '-u', 'nobody', '-f', 'k', 'cat'], /-u and -U exclude each other/],
    [['-f', 'k', '-a'], /needs an argument/],
    [['-n', '-a', 'ca.pem', '-U', 'commonName', '-f', 'k', 'cat'], /-U can't be used with -n/],
    [['--ucspi-tls', '-a', 'ca.pem', '-U', 'commonName', '-f', 'k', 'cat'], /-U can't be used with --ucspi-tls/],
    [['--ucspi', '-f', 'k', 'cat'], /unknown option --ucspi$/],
    [['-p', '0', '-f', 'k', 'cat'], /unable to parse proxy-protocol version from the string '0'/],
    [['-p', '3', '-f', 'k', 'cat'], /proxy-protocol version/],
    [['-p', 'v1', '-f', 'k', 'cat'], /proxy-protocol version/],
    [['-p', '01', '-f', 'k', 'cat'], /proxy-protocol version/],
    [['-p', '', '-f', 'k', 'cat'], /proxy-protocol version/],
    [['-f', 'k', '-p'], /needs an argument/],
  ];
  for (const [argv, message] of bad) t.throws(() => parseOptions(argv), { constructor: UsageError, message }, argv.join(' '));
});

t.test('algorithm names map to wire codes, in -c order', async (t) => {
  const e = engineConfig(parseOptions(['-c', 'AES_128_GCM_SHA256', '-c', 'CHACHA20_POLY1305_SHA256', '-e', 'secp384r1', '-e', 'x25519', '-f', 'k', 'cat']));
  t.same(e.suites, [0x1301, 0x1303]);
  t.same(e.groups, [0x001d, 0x0018], 'groups in the fixed preference order, not -e order');
  t.equal(e.serverPreference, true);
  t.equal(e.maxVersion, 0x0304);
  t.same(e.suites12, [0xc02b, 0xc02f, 0xcca9, 0xcca8], 'TLS 1.2: ECDSA and RSA form of each name, in -c order');
});

t.test('versions: our default is -m tls12 -M tls13; -M tls12 is tlswrapper\'s own default', async (t) => {
  const d = engineConfig(parseOptions(['-f', 'k', 'cat']));
  t.same([d.minVersion, d.maxVersion], [0x0303, 0x0304]);
  t.same(d.suites12, [0xcca9, 0xcca8, 0xc02c, 0xc030, 0xc02b, 0xc02f]);
  const only12 = engineConfig(parseOptions(['-M', 'tls12', '-f', 'k', 'cat']));
  t.same([only12.minVersion, only12.maxVersion], [0x0303, 0x0303]);
  const only13 = engineConfig(parseOptions(['-m', 'tls13', '-f', 'k', 'cat']));
  t.same(only13.suites12, [], '-m tls13: no TLS 1.2 suites, so no TLS 1.2');
  const old = engineConfig(parseOptions(['-m', 'tls10', '-M', 'tls12', '-c', 'AES_128_CBC_SHA', '-f', 'k', 'cat']));
  t.same([old.minVersion, old.maxVersion, old.suites, old.suites12], [0x0301, 0x0303, [], [0xc009, 0xc013]], 'tlswrapper\'s TLS 1.0 example');
  const cbcOnly = engineConfig(parseOptions(['-c', 'AES_256_CBC_SHA384', '-f', 'k', 'cat']));
  t.equal(cbcOnly.maxVersion, 0x0303, 'only CBC names: no TLS 1.3 suite, so no TLS 1.3');
});

t.test('-e x448 adds X448 (RFC 7748), last in our order', async (t) => {
  t.same(engineConfig(parseOptions(['-e', 'x448', '-f', 'k', 'cat'])).groups, [0x001e]);
  t.same(engineConfig(parseOptions(['-e', 'x448', '-e', 'x25519', '-f', 'k', 'cat'])).groups, [0x001d, 0x001e], 'our order, not the command line\'s');
});

t.test('bad algorithm sets are usage errors', async (t) => {
  const bad: [string[], RegExp][] = [
    [['-c', 'RC4'], /unknown cipher/],
    [['-m', 'tls13', '-c', 'AES_128_CBC_SHA'], /no cipher left/],
    [['-e', 'x447'], /unknown ephemeral/],
    [['-m', 'ssl3'], /unknown TLS version/],
    [['-m', 'tls13', '-M', 'tls12'], /above/],
  ];
  for (const [argv, message] of bad) {
    t.throws(() => engineConfig(parseOptions([...argv, '-f', 'k', 'cat'])), { constructor: UsageError, message }, argv.join(' '));
  }
});
