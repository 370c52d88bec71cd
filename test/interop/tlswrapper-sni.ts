// Our tlswrapper choosing certificates: -d DIR by SNI name (two names, two key
// types), names without a file (unrecognized_name + a log line), -d with a
// fallback -f, -f ecdsa.pem -f rsa.pem chosen by the client's
// signature_algorithms, and traversal names (sent by openssl, Node and a
// hand-built ClientHello) that must open nothing outside DIR: a valid "trap"
// PEM sits wherever a traversal or a half-done fixpath would land, and is
// never served; every such connection ends with an alert, fast, and the log
// has no stack trace.
import t, { type Test } from 'tap';
import { spawnSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { certsDir, leafCert } from '../lib/certs';
import { curlClient, nodeTlsConnect, opensslClient, type ClientResult } from '../lib/clients';
import { ours } from '../lib/ours';
import { describe, repoRoot, waitFor } from '../lib/sh';
import { ENTRY_POINTS, serve, superServerMissing, type SuperServer } from '../lib/superserver';

t.setTimeout(200000);
const HTTP_ENV = path.join(repoRoot, 'test', 'lib', 'progs', 'http-tls-env.sh');
const NO_STACK = /\n\s+at .+:\d+:\d+|TypeError|RangeError|ReferenceError|node:internal|Node\.js v\d/;

// Layout (all under one temp parent P, mode 0755):
//   P/certs/one.test          P-256 leaf for one.test
//   P/certs/two.test          Ed25519 leaf for two.test
//   P/x, P/certs/:x, P/certs/.x, P/certs/:./x (".." is then a directory),
//   P/certs/a/.b, P/certs/a/:b, P/certs/etc/shadow, P/certs/:etc/shadow  trap (CN=trap.test)
const one = leafCert('p256', ['one.test']);
const two = leafCert('ed25519', ['two.test']);
const trap = leafCert('p384', ['trap.test']);
const fallback = leafCert('rsa2048', ['fallback.test', 'localhost']);
const ecdsa = leafCert('p256', ['localhost']);
const rsa = leafCert('rsa2048', ['localhost']);
const P = fs.mkdtempSync(path.join(certsDir(), 'sni-'));
fs.chmodSync(P, 0o755);
const DIR = path.join(P, 'certs');
fs.mkdirSync(DIR, { mode: 0o755 });
fs.copyFileSync(one.pem, path.join(DIR, 'one.test'));
fs.copyFileSync(two.pem, path.join(DIR, 'two.test'));
const TRAPS = ['x', 'certs/:x', 'certs/.x', 'certs/:./x', 'certs/a/.b', 'certs/a/:b',
  'certs/etc/shadow', 'certs/:etc/shadow', 'certs/one.test:x', 'certs/:one.test'];
for (const rel of TRAPS) {
  fs.mkdirSync(path.dirname(path.join(P, rel)), { recursive: true, mode: 0o755 });
  fs.copyFileSync(trap.pem, path.join(P, rel));
}

/** Alert number the client reported (openssl: "SSL alert number N"). */
const alertOf = (r: ClientResult) => Number(/SSL alert number (\d+)/.exec(r.err)?.[1] ?? NaN);

/** Wait until `n` connections of this server have ended (-vv "netproc exited" lines). */
async function ended(s: SuperServer, n: number): Promise<void> {
  await waitFor(() => (s.output().match(/tlswrapper: debug: netproc exited/g) ?? []).length >= n, 5000);
}

// ------------------------------------------------------------ a raw ClientHello

/** A TLS 1.3 ClientHello (x25519 share, the three suites, common sigalgs) with `sni` as raw bytes. */
function clientHello(sni: Buffer): Buffer {
  const u16 = (n: number) => Buffer.from([n >> 8, n & 255]);
  const ext = (type: number, body: Buffer) => Buffer.concat([u16(type), u16(body.length), body]);
  const pub = crypto.generateKeyPairSync('x25519').publicKey.export({ format: 'der', type: 'spki' }).subarray(-32);
  const sigs = [0x0403, 0x0503, 0x0603, 0x0804, 0x0805, 0x0806, 0x0807];
  const exts = Buffer.concat([
    ext(0, Buffer.concat([u16(sni.length + 3), Buffer.from([0]), u16(sni.length), sni])),
    ext(10, Buffer.concat([u16(4), u16(0x1d), u16(0x17)])),
    ext(13, Buffer.concat([u16(sigs.length * 2), ...sigs.map(u16)])),
    ext(43, Buffer.from([2, 3, 4])),
    ext(51, Buffer.concat([u16(36), u16(0x1d), u16(32), pub])),
  ]);
  const body = Buffer.concat([Buffer.from([3, 3]), crypto.randomBytes(32), Buffer.from([32]), crypto.randomBytes(32),
    u16(6), u16(0x1301), u16(0x1302), u16(0x1303), Buffer.from([1, 0]), u16(exts.length), exts]);
  const hs = Buffer.concat([Buffer.from([1, body.length >> 16, (body.length >> 8) & 255, body.length & 255]), body]);
  return Buffer.concat([Buffer.from([0x16, 3, 1]), u16(hs.length), hs]);
}

/** Send a ClientHello with `sni`; resolve with the records' types, the first alert (if in clear) and how it ended. */
function rawHello(port: number, sni: Buffer) {
  return new Promise<{ types: number[]; alert?: number | undefined; closed: boolean; ms: number; bytes: Buffer }>((resolve) => {
    const t0 = Date.now(); const got: Buffer[] = [];
    const s = net.connect(port, '127.0.0.1', () => s.write(clientHello(sni)));
    s.on('data', (d) => got.push(d));
    s.on('error', () => { /* a reset is an end too */ });
    const done = (closed: boolean) => {
      clearTimeout(tm);
      const bytes = Buffer.concat(got); const types: number[] = []; let alert: number | undefined;
      for (let i = 0; i + 5 <= bytes.length;) {
        const len = bytes.readUInt16BE(i + 3);
        types.push(bytes[i]);
        if (bytes[i] === 0x15 && alert === undefined && len === 2) alert = bytes[i + 6];
        i += 5 + len;
      }
      resolve({ types, alert, closed, ms: Date.now() - t0, bytes });
    };
    const tm = setTimeout(() => { s.destroy(); done(false); }, 8000);
    s.on('close', () => done(true));
  });
}

function noStack(t: Test, s: SuperServer): void {
  t.notMatch(s.output(), NO_STACK, 'no stack trace in the super-server output');
  t.notMatch(s.output(), /trap\.test/, 'the trap certificate never appears in the log');
}

const missing = superServerMissing('tcpserver');
if (missing) {
  t.plan(0, missing);
} else {
  for (const kind of ENTRY_POINTS) t.test(`-d DIR: the certificate is chosen by SNI, through ${kind}`, async (t) => {
    const s = await serve(t, kind, ours(['-v', '-d', DIR, 'cat']));
    for (const [name, leaf, sig] of [['one.test', one, 'ECDSA'], ['two.test', two, 'ed25519']] as const) {
      const r = await opensslClient({ port: s.port, servername: name, caFile: leaf.caCert, tls: '1.3', input: `to ${name}\n`, until: `to ${name}\n` });
      t.equal(r.code, 0, describe(r));
      t.equal(r.peer, `CN = ${name}`, `${name}: its own leaf`);
      t.equal(r.signature, sig, `${name}: signed with its own key type`);
      t.equal(r.verified, true);
      t.equal(r.data, `to ${name}\n`);
      const n = await nodeTlsConnect({ port: s.port, servername: name, caFile: leaf.caCert, tls: '1.3' });
      t.equal(n.peerCertificate.fingerprint256, leaf.leafSha256, `${name}: leaf SHA-256 (node)`);
      n.destroy();
    }
    // DNS names are case-insensitive: the file is looked up lowercased.
    const up = await nodeTlsConnect({ port: s.port, servername: 'TWO.Test', caFile: two.caCert, tls: '1.3' });
    t.equal(up.peerCertificate.fingerprint256, two.leafSha256, 'TWO.Test gets two.test');
    up.destroy();
    // The name reaches prog.
    const h = await serve(t, kind, ours(['-d', DIR, HTTP_ENV]));
    const c = await curlClient({ port: h.port, servername: 'two.test', caFile: two.caCert, tls: '1.3' });
    t.equal(c.code, 0, describe(c));
    t.equal(c.data, 'GET / HTTP/1.1 proto=TLSv1.3 cipher=TLS_CHACHA20_POLY1305_SHA256 sni=two.test\n', 'SSL_TLS_SNI_SERVERNAME');
    noStack(t, s);
  });

  t.test('-d DIR: a name with no file gets unrecognized_name and a log line at the default level (-Q)', async (t) => {
    const s = await serve(t, 'tcpserver', ours(['-d', DIR, 'cat']));
    const r = await opensslClient({ port: s.port, servername: 'three.test', tls: '1.3', input: 'x', until: 'x', timeoutMs: 8000 });
    t.not(r.code, 0);
    t.notOk(r.timedOut, 'no hang');
    t.equal(alertOf(r), 112, `unrecognized_name: ${r.err.trim().split('\n').pop()}`);
    await waitFor(() => /three\.test/.test(s.output()), 3000);
    t.match(s.output(), /^tlswrapper: keyproc: fatal: unable to obtain certificate\(s\) from the PEM file '.*\/three\.test' \(file does not exist\), for server name 'three\.test'$/m, 'one line at the default level, tlswrapper\'s wording');
    t.equal(s.output().split('\n').filter(Boolean).length, 1, 'and only that one');
    // No SNI at all with only -d: nothing to serve.
    const none = await opensslClient({ port: s.port, noSni: true, tls: '1.3', input: 'x', until: 'x', timeoutMs: 8000 });
    t.not(none.code, 0, 'no SNI and only -d: refused');
    t.notOk(none.timedOut);
    t.ok(alertOf(none) > 0, `an alert (${alertOf(none)})`);
    noStack(t, s);
  });

  t.test('-d DIR with a fallback -f', async (t) => {
    const s = await serve(t, 'tcpserver', ours(['-d', DIR, '-f', fallback.pem, 'cat']));
    const cases: Array<[string | null, string]> = [['one.test', one.leafSha256], ['two.test', two.leafSha256],
      ['three.test', fallback.leafSha256], [null, fallback.leafSha256]];
    for (const [name, sha] of cases) {
      const n = await nodeTlsConnect({ port: s.port, servername: name ?? '', tls: '1.3' });
      t.equal(n.peerCertificate.fingerprint256, sha, `${name ?? 'no SNI'}: ${sha === fallback.leafSha256 ? 'the fallback' : 'its own file'}`);
      await n.send('ping\n');
      t.equal((await n.readUntil('ping\n')).toString(), 'ping\n');
      n.destroy();
    }
    const r = await opensslClient({ port: s.port, servername: 'fallback.test', caFile: fallback.caCert, tls: '1.3', input: 'f\n', until: 'f\n' });
    t.equal(r.code, 0, describe(r));
    t.equal(r.peer, 'CN = fallback.test');
    t.equal(r.signature, 'RSA-PSS');
  });

  t.test('-f ecdsa.pem -f rsa.pem: chosen by the client\'s signature_algorithms', async (t) => {
    const s = await serve(t, 'tcpserver', ours(['-v', '-f', ecdsa.pem, '-f', rsa.pem, 'cat']));
    const def = await opensslClient({ port: s.port, caFile: ecdsa.caCert, tls: '1.3', input: 'd\n', until: 'd\n' });
    t.equal(def.code, 0, describe(def));
    t.equal(def.signature, 'ECDSA', 'a default client gets ECDSA (first -f)');
    const pss = await opensslClient({ port: s.port, caFile: rsa.caCert, tls: '1.3', sigalgs: 'rsa_pss_rsae_sha256', input: 'p\n', until: 'p\n' });
    t.equal(pss.code, 0, describe(pss));
    t.equal(pss.signature, 'RSA-PSS', 'an RSA-PSS-only client gets RSA');
    t.equal(/Hash used: (\S+)/.exec(pss.err)?.[1], 'SHA256');
    t.equal(pss.data, 'p\n');
    const n = await nodeTlsConnect({ port: s.port, caFile: rsa.caCert, tls: '1.3', sigalgs: 'rsa_pss_rsae_sha512' });
    t.equal(n.peerCertificate.fingerprint256, rsa.leafSha256, 'node with rsa_pss_rsae_sha512 only: the RSA leaf');
    n.destroy();
    const n2 = await nodeTlsConnect({ port: s.port, caFile: ecdsa.caCert, tls: '1.3', sigalgs: 'ecdsa_secp256r1_sha256:rsa_pss_rsae_sha256' });
    t.equal(n2.peerCertificate.fingerprint256, ecdsa.leafSha256, 'node with both: ECDSA (command-line order)');
    n2.destroy();
    const ed = await opensslClient({ port: s.port, tls: '1.3', sigalgs: 'ed25519', input: 'x', until: 'x', timeoutMs: 8000 });
    t.not(ed.code, 0, 'an Ed25519-only client: no certificate fits');
    t.notOk(ed.timedOut);
    t.ok(alertOf(ed) > 0, `an alert (${alertOf(ed)})`);
    noStack(t, s);
  });

  t.test('traversal names open nothing outside DIR', async (t) => {
    const s = await serve(t, 'tcpserver', ours(['-vv', '-d', DIR, 'cat']));
    let conns = 0;
    const check = async (label: string, r: ClientResult) => {
      conns++;
      t.not(r.code, 0, `${label}: refused`);
      t.notOk(r.timedOut, `${label}: no hang (${r.ms} ms)`);
      t.ok(alertOf(r) > 0, `${label}: ended by an alert (${alertOf(r)})`);
      t.notMatch(r.err, /trap\.test|CONNECTION ESTABLISHED/, `${label}: no certificate served`);
      await ended(s, conns);
    };
    for (const name of ['..', '../x', '.x', 'a/.b', '../certs/one.test', 'one.test/', './one.test', '/etc/shadow', '//etc/shadow', 'a//.b', ':x', 'etc/shadow']) {
      await check(`openssl -servername ${JSON.stringify(name)}`,
        await opensslClient({ port: s.port, servername: name, tls: '1.3', input: 'x', until: 'x', timeoutMs: 8000 }));
    }
    // Node's own client (it sends the name as given).
    for (const name of ['/etc/shadow', '../x', '.x']) {
      conns++;
      const err = await nodeTlsConnect({ port: s.port, servername: name, tls: '1.3', timeoutMs: 8000 }).then(
        (c) => { c.destroy(); return `handshake completed, leaf ${c.peerCertificate.subject?.CN}`; }, (e: Error) => e.message);
      t.match(err, /alert/i, `node servername ${JSON.stringify(name)}: ${err}`);
      await ended(s, conns);
    }
    // Hand-built ClientHellos: bytes no real client sends.
    const raw: Array<[string, Buffer]> = [
      ['one.test NUL x', Buffer.from('one.test\0x', 'latin1')],
      ['NUL alone', Buffer.from([0])],
      ['/etc/shadow', Buffer.from('/etc/shadow')],
      ['../x', Buffer.from('../x')],
      ['300 bytes', Buffer.from(Array.from({ length: 5 }, () => 'a'.repeat(59)).join('.') + '.bbbb')],
      ['254 bytes (labels ok)', Buffer.from(Array.from({ length: 4 }, () => 'a'.repeat(63)).join('.').slice(0, 254))],
      ['0xff bytes', Buffer.from([0x6f, 0xff, 0x2e, 0x74])],
    ];
    for (const [label, sni] of raw) {
      conns++;
      const r = await rawHello(s.port, sni);
      t.ok(r.closed, `raw ${label}: the server closed (${r.ms} ms)`);
      t.ok(r.ms < 5000, `raw ${label}: fast`);
      t.ok(r.types.length > 0 && r.types[r.types.length - 1] !== undefined, `raw ${label}: got records ${r.types.join(',')}`);
      // Refused in the ClientHello: a plaintext alert; refused later: ServerHello, then encrypted records.
      t.ok(r.alert !== undefined || (r.types[0] === 0x16 && r.types.slice(1).every((x) => x === 0x14 || x === 0x17)),
        `raw ${label}: alert ${r.alert ?? '(encrypted)'}`);
      t.notOk(r.bytes.includes(Buffer.from('trap.test')), `raw ${label}: not the trap`);
      await ended(s, conns);
    }
    t.notMatch(s.output(), /handshake done/, 'not one handshake completed');
    // Control: a trap file, when it is configured, is served and seen as such.
    const ctl = await serve(t, 'tcpserver', ours(['-f', path.join(P, 'x'), 'cat']));
    const c = await opensslClient({ port: ctl.port, servername: 'trap.test', caFile: trap.caCert, tls: '1.3', input: 'c', until: 'c' });
    t.equal(c.peer, 'CN = trap.test', 'control: the trap PEM is valid and recognisable');
    noStack(t, s);
    t.comment(s.output().split('\n').filter((l) => /keyproc: info|alert/.test(l)).join('\n'));
  });

  t.test('bad PEM files: internal_error alert, one fatal line at the default level, nothing with -q', async (t) => {
    const bad = path.join(P, 'bad'); fs.mkdirSync(bad, { mode: 0o755 });
    const write = (name: string, text: string) => { fs.writeFileSync(path.join(bad, name), text); return path.join(bad, name); };
    const cases: Array<[string, string, RegExp]> = [
      ['key of another certificate', write('mismatch.pem', fs.readFileSync(two.keyFile, 'utf8') + fs.readFileSync(one.chainFile, 'utf8')), /does not match/],
      ['no key', write('nokey.pem', fs.readFileSync(one.chainFile, 'utf8')), /no private key/],
      ['no certificate', write('nocert.pem', fs.readFileSync(one.keyFile, 'utf8')), /no certificate/],
      ['garbage', write('garbage.pem', 'garbage\n'), /\(.+\)/],
    ];
    for (const [label, file, why] of cases) {
      const s = await serve(t, 'tcpserver', ours(['-f', file, 'cat']));
      const r = await opensslClient({ port: s.port, tls: '1.3', input: 'x', until: 'x', timeoutMs: 8000 });
      t.equal(alertOf(r), 80, `${label}: internal_error alert`);
      t.notOk(r.timedOut, `${label}: no hang`);
      await waitFor(() => /fatal/.test(s.output()), 3000);
      const lines = s.output().split('\n').filter(Boolean);
      t.equal(lines.length, 1, `${label}: one line: ${JSON.stringify(s.output())}`);
      t.match(lines[0] ?? '', /^tlswrapper: keyproc: fatal: unable to obtain certificate\(s\) from the PEM file '/, `${label}: names the file`);
      t.match(lines[0] ?? '', why, `${label}: says why`);
      t.notMatch(s.output(), NO_STACK);
      await s.stop();
    }
    const q = await serve(t, 'tcpserver', ours(['-q', '-f', path.join(bad, 'garbage.pem'), 'cat']));
    const r = await opensslClient({ port: q.port, tls: '1.3', input: 'x', until: 'x', timeoutMs: 8000 });
    t.equal(alertOf(r), 80);
    await new Promise((res) => setTimeout(res, 500));
    t.equal(q.output(), '', '-q: nothing at all');
  });

  // tlswrapper checks its -f and -d paths when it starts: a configuration
  // error (exit 100, one fatal line, its wording) before any process starts.
  t.test('-f/-d paths that cannot work: exit 100 and one fatal line at start, no process started', async (t) => {
    const dir = fs.mkdtempSync(path.join(P, 'paths-'));
    const file = path.join(dir, 'x.pem');
    fs.writeFileSync(file, 'not even PEM\n');
    const cases: Array<[string, string[], string]> = [
      ['missing -f file', ['-f', path.join(dir, 'missing.pem')], `unable to stat certfile '${dir}/missing.pem' (file does not exist)`],
      ['-f of a directory', ['-f', dir], `unable to add certfile '${dir}' (not a regular file)`],
      ['missing -d directory', ['-d', path.join(dir, 'nodir')], `unable to stat certdir '${dir}/nodir' (file does not exist)`],
      ['-d of a file', ['-d', file], `unable to add certdir '${file}' (not a directory)`],
      ['the second of two sources', ['-f', file, '-d', path.join(dir, 'nodir')], `unable to stat certdir '${dir}/nodir' (file does not exist)`],
    ];
    for (const [label, args, line] of cases) {
      const r = spawnSync(ours([...args, 'cat'])[0], ours([...args, 'cat']).slice(1), { encoding: 'utf8', stdio: ['ignore', 'ignore', 'pipe'], timeout: 60000 });
      t.equal(r.status, 100, `${label}: exit 100`);
      t.equal(r.stderr, `tlswrapper: fatal: ${line}\n`, `${label}: one line, tlswrapper's wording`);
    }
  });

  // The man page: a name that is not a plausible DNS name gets the
  // unrecognized_name alert and no file is opened. netproc refuses it before
  // asking keyproc; the alert follows ServerHello, so it is encrypted: openssl
  // decrypts and names it, a raw client sees only encrypted records.
  t.test('malformed SNI names get unrecognized_name (man page)', async (t) => {
    const s = await serve(t, 'tcpserver', ours(['-vv', '-d', DIR, 'cat']));
    for (const name of ['..', 'a b', 'a..b', '-x.test/']) {
      const r = await opensslClient({ port: s.port, servername: name, tls: '1.3', input: 'x', until: 'x', timeoutMs: 8000 });
      t.equal(alertOf(r), 112, `${JSON.stringify(name)}: alert ${alertOf(r)}`);
    }
    for (const [label, sni] of [['NUL', Buffer.from('one.test\0x', 'latin1')], ['300 bytes', Buffer.alloc(300, 'a')]] as const) {
      const r = await rawHello(s.port, sni);
      // Refused before anything is sent: the alert comes in the clear, no ServerHello first.
      t.ok(r.closed && r.types.length === 1 && r.types[0] === 0x15 && r.alert === 112, `raw ${label}: a plaintext unrecognized_name alert, then close (records ${r.types.join(',')}, alert ${r.alert})`);
    }
    await waitFor(() => (s.output().match(/netproc exited/g) ?? []).length >= 6, 5000);
    t.equal((s.output().match(/netproc: debug: SNI name '.*' refused: /g) ?? []).length, 6, 'each refusal is logged at -vv');
    t.equal((s.output().match(/TLS alert 112 sent/g) ?? []).length, 6, 'each with unrecognized_name');
    t.notMatch(s.output(), /keyproc: debug: server name/, 'keyproc was never asked');
  });

  // RFC 6066 says clients send no trailing dot; one that does names the same
  // host, so keyproc strips one dot and serves that host's file.
  t.test('a trailing dot names the same host', async (t) => {
    const s = await serve(t, 'tcpserver', ours(['-d', DIR, 'cat']));
    const r = await opensslClient({ port: s.port, servername: 'one.test.', tls: '1.3', input: 'x', until: 'x', timeoutMs: 8000 });
    t.equal(r.peer, 'CN = one.test', 'one.test\'s certificate');
    t.equal(r.data, 'x');
  });

  // Our addition: -d also takes certbot's layout, DIR/NAME/privkey.pem +
  // DIR/NAME/fullchain.pem, with live/ symlinks into archive/ as certbot makes
  // them. A directory lacking either file is fatal for that connection.
  t.test('-d certbot live/ dir: the leaf by SNI; a half-made dir gets internal_error', async (t) => {
    const cb1 = leafCert('p256', ['cb1.test']);
    const cb2 = leafCert('rsa2048', ['cb2.test'], { intermediate: true });
    const le = path.join(P, 'letsencrypt');
    const tree = (name: string, files: Record<string, string>) => {
      fs.mkdirSync(path.join(le, 'archive', name), { recursive: true, mode: 0o700 });
      fs.mkdirSync(path.join(le, 'live', name), { recursive: true, mode: 0o755 });
      for (const [f, from] of Object.entries(files)) {
        const archived = f.replace(/\.pem$/, '1.pem');
        fs.copyFileSync(from, path.join(le, 'archive', name, archived));
        fs.symlinkSync(path.join('..', '..', 'archive', name, archived), path.join(le, 'live', name, f));
      }
    };
    tree('cb1.test', { 'privkey.pem': cb1.keyFile, 'fullchain.pem': cb1.chainFile, 'cert.pem': cb1.certFile });
    tree('cb2.test', { 'privkey.pem': cb2.keyFile, 'fullchain.pem': cb2.chainFile, 'cert.pem': cb2.certFile });
    tree('half.test', { 'privkey.pem': cb1.keyFile });
    fs.chmodSync(path.join(le, 'archive'), 0o700);
    const live = path.join(le, 'live');
    const s = await serve(t, 'tcpserver', ours(['-d', live, 'cat']));
    for (const [name, leaf, sig] of [['cb1.test', cb1, 'ECDSA'], ['cb2.test', cb2, 'RSA-PSS']] as const) {
      const r = await opensslClient({ port: s.port, servername: name, caFile: leaf.caCert, tls: '1.3', input: `to ${name}\n`, until: `to ${name}\n` });
      t.equal(r.code, 0, describe(r));
      t.equal(r.peer, `CN = ${name}`, `${name}: its own leaf`);
      t.equal(r.signature, sig, `${name}: signed with privkey.pem`);
      t.equal(r.verified, true, `${name}: verified (fullchain.pem sent the chain)`);
      t.equal(r.data, `to ${name}\n`);
      const n = await nodeTlsConnect({ port: s.port, servername: name, caFile: leaf.caCert, tls: '1.3' });
      t.equal(n.peerCertificate.fingerprint256, leaf.leafSha256, `${name}: leaf SHA-256 (node)`);
      n.destroy();
    }
    t.equal(s.output(), '', 'default level: no log lines for good connections');
    const r = await opensslClient({ port: s.port, servername: 'half.test', tls: '1.3', input: 'x', until: 'x', timeoutMs: 8000 });
    t.equal(alertOf(r), 80, 'half-made dir: internal_error alert');
    t.notOk(r.timedOut, 'no hang');
    await waitFor(() => /fatal/.test(s.output()), 3000);
    const lines = s.output().split('\n').filter(Boolean);
    t.equal(lines.length, 1, `one line: ${JSON.stringify(s.output())}`);
    t.match(lines[0] ?? '', /^tlswrapper: keyproc: fatal: unable to obtain certificate\(s\) from the PEM file '.*\/live\/half\.test\/fullchain\.pem' \(file does not exist\)$/);
    t.notMatch(s.output(), NO_STACK);
  });
}
