// Our tlswrapper under each real super-server (tcpserver, busybox tcpsvd,
// systemd-socket-activate --inetd -a): the same round trips with openssl,
// curl and Node, the -v log line reaching the super-server's stderr, and
// concurrent connections. Then the files in examples/ run for real with our
// bin/tlswrapper: the placeholders (/usr/local/bin/tlswrapper,
// /etc/tlswrapper/cert.pem, /usr/local/sbin/prog, port 443 on all addresses)
// replaced by a test certificate, a test prog and a free port on 127.0.0.1.
import t, { type Test } from 'tap';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { leafCert } from '../lib/certs';
import { curlClient, nodeTlsConnect, nodeTlsEcho, opensslClient, progs } from '../lib/clients';
import { connections } from '../lib/procs';
import { NO_TAP_LOADER, TLSWRAPPER, ours } from '../lib/ours';
import { describe, repoRoot, waitFor } from '../lib/sh';
import { SUPER_SERVERS, busyboxPath, freePort, serve, startListener, superServerMissing, type SuperServer, type SuperServerKind } from '../lib/superserver';

t.setTimeout(200000);
const HTTP_ENV = path.join(repoRoot, 'test', 'lib', 'progs', 'http-tls-env.sh');
const EX = path.join(repoRoot, 'examples');
const NO_STACK = /\n\s+at .+:\d+:\d+|TypeError|RangeError|ReferenceError|node:internal|Node\.js v\d/;
const cert = leafCert('p384', ['localhost', 'ss.test']);
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tlswrapper-ss-'));
t.teardown(() => fs.rmSync(tmp, { recursive: true, force: true }));

async function roundTrips(t: Test, echo: SuperServer, http: SuperServer): Promise<void> {
  const o = await opensslClient({ port: echo.port, servername: 'ss.test', caFile: cert.caCert, tls: '1.3', input: `openssl via ${echo.kind}\n`, until: `openssl via ${echo.kind}\n` });
  t.equal(o.code, 0, describe(o));
  t.equal(o.data, `openssl via ${echo.kind}\n`, 'openssl: exact bytes');
  t.equal(o.protocol, 'TLSv1.3');
  t.equal(o.cipher, 'TLS_CHACHA20_POLY1305_SHA256', 'openssl: our first suite');
  t.equal(/Server Temp Key: ([^\n]+)/.exec(o.err)?.[1], 'X25519, 253 bits');
  t.equal(o.signature, 'ECDSA');
  t.equal(/Hash used: (\S+)/.exec(o.err)?.[1], 'SHA384', 'P-384 key: ecdsa_secp384r1_sha384');
  t.equal(o.verified, true);

  const c = await curlClient({ port: http.port, caFile: cert.caCert, tls: '1.3', urlPath: `/${http.kind}`, tls13Ciphers: 'TLS_AES_256_GCM_SHA384' });
  t.equal(c.code, 0, describe(c));
  t.equal(c.data, `GET /${http.kind} HTTP/1.1 proto=TLSv1.3 cipher=TLS_AES_256_GCM_SHA384 sni=localhost\n`, 'curl: body with the SSL_* env');
  t.equal(c.verified, true);

  const data = Buffer.alloc(300000, `node via ${echo.kind} `);
  const { client, echoed } = await nodeTlsEcho({ port: echo.port, caFile: cert.caCert, tls: '1.3', data, ecdhCurve: 'P-256' });
  t.equal(client.protocol, 'TLSv1.3');
  t.equal((client.ephemeral as { name?: string }).name, 'prime256v1', 'node: secp256r1');
  t.equal(client.peerCertificate.fingerprint256, cert.leafSha256, 'node: our leaf');
  t.ok(echoed.equals(data), 'node: 300000 bytes round-trip');

  const n = await nodeTlsConnect({ port: http.port, caFile: cert.caCert, tls: '1.3', servername: 'ss.test' });
  await n.send('GET /close HTTP/1.0\r\n\r\n');
  const all = (await n.readToClose()).toString();
  t.match(all, /^HTTP\/1\.0 200 OK\r\n/, 'node: prog that answers and exits');
  t.match(all, /\r\n\r\nGET \/close HTTP\/1\.0 proto=TLSv1\.3 cipher=TLS_CHACHA20_POLY1305_SHA256 sni=ss\.test\n$/);
}

for (const kind of SUPER_SERVERS) {
  t.test(`${kind}: openssl, curl, node`, { skip: superServerMissing(kind) ?? false }, async (t) => {
    const echo = await serve(t, kind, ours(['-v', '-f', cert.pem, 'cat']));
    const http = await serve(t, kind, ours(['-v', '-f', cert.pem, HTTP_ENV]));
    await roundTrips(t, echo, http);
    // The -v line goes through the super-server's stderr.
    await waitFor(() => /handshake done/.test(echo.output()) && /handshake done/.test(http.output()), 3000);
    t.match(echo.output(), /^tlswrapper: info: handshake done: TLSv1\.3 TLS_CHACHA20_POLY1305_SHA256 x25519 sni=ss\.test$/m, 'log line (openssl)');
    t.match(echo.output(), /^tlswrapper: info: handshake done: TLSv1\.3 TLS_CHACHA20_POLY1305_SHA256 secp256r1 sni=localhost$/m, 'log line (node)');
    t.match(http.output(), /^tlswrapper: info: handshake done: TLSv1\.3 TLS_AES_256_GCM_SHA384 x25519 sni=localhost$/m, 'log line (curl)');
    t.notMatch(echo.output() + http.output(), NO_STACK, 'no stack trace');

    // prog's environment: the super-server's and ours, minus NODE_OPTIONS, plus SSL_*.
    const envArgv = ['/usr/bin/env', 'NODE_OPTIONS=--max-old-space-size=256', 'SSL_TLS_SNI_SERVERNAME=spoofed', 'FOO=bar baz',
      TLSWRAPPER, '-f', cert.pem, progs.env];
    const envS = await serve(t, kind, envArgv);
    for (const sni of ['ss.test', null]) {
      const e = await nodeTlsConnect({ port: envS.port, caFile: sni ? cert.caCert : undefined, servername: sni ?? '', tls: '1.3' });
      const env = (await e.readToClose()).toString().split('\n');
      t.ok(env.includes('SSL_PROTOCOL=TLSv1.3'), `${sni ?? 'no SNI'}: SSL_PROTOCOL`);
      t.ok(env.includes('SSL_CIPHER=TLS_CHACHA20_POLY1305_SHA256'), 'SSL_CIPHER');
      t.same(env.filter((l) => l.startsWith('SSL_TLS_SNI_SERVERNAME=')), sni ? [`SSL_TLS_SNI_SERVERNAME=${sni}`] : [],
        sni ? 'SSL_TLS_SNI_SERVERNAME is the client\'s name' : 'no SNI: SSL_TLS_SNI_SERVERNAME unset (not the inherited one)');
      t.same(env.filter((l) => l.startsWith('NODE_OPTIONS=')), [], 'no NODE_OPTIONS');
      t.ok(env.includes('FOO=bar baz'), 'the rest of the environment is passed on');
      // What each super-server itself sets reaches prog too.
      if (kind === 'tcpserver') t.ok(env.includes('TCPREMOTEIP=127.0.0.1'), 'tcpserver\'s TCPREMOTEIP reaches prog');
      if (kind === 'tcpsvd') t.ok(env.some((l) => /^TCPREMOTEADDR=127\.0\.0\.1:\d+$/.test(l)), 'tcpsvd\'s TCPREMOTEADDR reaches prog');
    }

    // Eight connections at once, each held open until all are up: eight
    // connections' process sets under the super-server, each echoing its own bytes.
    const clients = await Promise.all(Array.from({ length: 8 }, () => nodeTlsConnect({ port: echo.port, caFile: cert.caCert, tls: '1.3' })));
    await Promise.all(clients.map(async (cl, i) => { await cl.send(`client ${i}\n`); await cl.readUntil(`client ${i}\n`); }));
    const conns = await waitFor(() => connections(echo.pid).length >= 8 ? connections(echo.pid) : null, 3000);
    t.equal(conns?.length, 8, 'eight connections under the super-server');
    for (const [i, cl] of clients.entries()) t.equal(cl.received().toString(), `client ${i}\n`, `client ${i}: its own bytes only`);
    await Promise.all(clients.map((cl) => cl.endAndReadAll()));
    const gone = await waitFor(() => connections(echo.pid).length === 0, 5000);
    t.ok(gone, 'every connection\'s processes are gone after close_notify');
  });
}

// ------------------------------------------------------------ examples/

/** The examples' placeholders → our binary, the test cert, a prog, 127.0.0.1:port. */
function substitute(text: string, port: number, prog: string): string {
  return text
    .replaceAll('/usr/local/bin/tlswrapper', TLSWRAPPER)
    .replaceAll('/etc/tlswrapper/cert.pem', cert.pem)
    .replaceAll('/usr/local/sbin/prog', prog)
    .replace(/ 0 443 /g, ` 127.0.0.1 ${port} `)
    .replace(/-l 443 /g, `-l 127.0.0.1:${port} `)
    .replace(/^ListenStream=443$/m, `ListenStream=127.0.0.1:${port}`)
    .replace(/^exec busybox /m, `exec ${busyboxPath() ?? 'busybox'} `);
}

async function fetchThrough(t: Test, port: number, what: string): Promise<void> {
  const r = await curlClient({ port, caFile: cert.caCert, tls: '1.3', urlPath: `/${what}` });
  t.equal(r.code, 0, describe(r));
  t.equal(r.data, `GET /${what} HTTP/1.1 proto=TLSv1.3 cipher=TLS_CHACHA20_POLY1305_SHA256 sni=localhost\n`, `${what}: served by our tlswrapper`);
  t.equal(r.protocol, 'TLSv1.3');
  const o = await opensslClient({ port, caFile: cert.caCert, tls: '1.3', input: 'GET /o HTTP/1.0\r\n\r\n' });
  t.equal(o.code, 0, describe(o));
  t.match(o.data, /GET \/o HTTP\/1\.0 proto=TLSv1\.3 /, `${what}: openssl too`);
}

const scripts: Array<[string, SuperServerKind]> = [
  ['tcpserver.sh', 'tcpserver'], ['tcpsvd.sh', 'tcpsvd'], ['systemd-socket-activate.sh', 'systemd-socket-activate'],
];
for (const [file, kind] of scripts) {
  t.test(`examples/${file} with our bin/tlswrapper`, { skip: superServerMissing(kind) ?? false }, async (t) => {
    const port = await freePort();
    const original = fs.readFileSync(path.join(EX, file), 'utf8');
    t.match(original, /\/usr\/local\/bin\/tlswrapper -f \/etc\/tlswrapper\/cert\.pem \/usr\/local\/sbin\/prog$/m, 'the documented placeholders');
    const text = substitute(original, port, HTTP_ENV);
    const commands = text.split('\n').filter((l) => !l.startsWith('#')).join('\n').replaceAll(busyboxPath() ?? '\0', 'BUSYBOX');
    t.notMatch(commands, /\/usr\/local\/|\/etc\/tlswrapper| 443\b/, 'every placeholder replaced');
    const script = path.join(tmp, file);
    fs.writeFileSync(script, text);
    // The script runs as written (sh, exec the super-server); only tap's loader is kept out.
    const s = await startListener(kind, [...NO_TAP_LOADER, 'sh', script], '127.0.0.1', port);
    if (typeof s === 'string') { t.fail(s); return; }
    t.teardown(() => s.stop());
    await fetchThrough(t, port, file);
    t.notMatch(s.output(), NO_STACK);
  });
}

t.test('examples/inetd.conf: each line\'s server and argv, under tcpserver', { skip: superServerMissing('tcpserver') ?? false }, async (t) => {
  const text = substitute(fs.readFileSync(path.join(EX, 'inetd.conf'), 'utf8'), 0, HTTP_ENV);
  // The active line and the commented -u variant.
  const lines = text.split('\n').map((l) => l.replace(/^#(?=https\s)/, '')).filter((l) => /^https\s/.test(l));
  t.equal(lines.length, 2, 'the line and its -u nobody variant');
  for (const line of lines) {
    // service socket-type protocol wait user server argv0 args...
    const f = line.trim().split(/\s+/);
    t.same(f.slice(0, 5), ['https', 'stream', 'tcp', 'nowait', 'root'], 'stream/tcp/nowait/root');
    t.equal(f[5], TLSWRAPPER, 'server path');
    t.equal(f[6], 'tlswrapper', 'argv[0]');
    // inetd runs server with argv f[6..]; tcpserver can't set argv[0], so exec -a does.
    const s = await serve(t, 'tcpserver', [...NO_TAP_LOADER, 'bash', '-c', 'exec -a "$0" "$@"', f[6], f[5], ...f.slice(7)]);
    await fetchThrough(t, s.port, f.includes('-u') ? 'inetd-u' : 'inetd');
    await s.stop();
  }
});

t.test('examples/systemd: the socket + service pair, as systemd-socket-activate would run it', { skip: superServerMissing('systemd-socket-activate') ?? false }, async (t) => {
  const sock = fs.readFileSync(path.join(EX, 'systemd', 'tlswrapper.socket'), 'utf8');
  const svc = fs.readFileSync(path.join(EX, 'systemd', 'tlswrapper@.service'), 'utf8');
  t.match(sock, /^ListenStream=443$/m);
  t.match(sock, /^Accept=yes$/m, 'one service instance per connection');
  t.match(svc, /^StandardInput=socket$/m);
  t.match(svc, /^StandardOutput=socket$/m);
  t.notMatch(svc, /^User=/m, 'runs as root (tlswrapper jails itself)');
  const exec = /^ExecStart=(.*)$/m.exec(svc)?.[1];
  t.ok(exec, 'ExecStart');
  const port = await freePort();
  const argv = substitute(exec!, port, HTTP_ENV).trim().split(/\s+/);
  t.equal(argv[0], TLSWRAPPER);
  const s = await startListener('systemd-socket-activate',
    ['systemd-socket-activate', '--inetd', '-a', '-l', /^ListenStream=(.*)$/m.exec(substitute(sock, port, HTTP_ENV))![1], ...NO_TAP_LOADER, ...argv],
    '127.0.0.1', port);
  if (typeof s === 'string') { t.fail(s); return; }
  t.teardown(() => s.stop());
  await fetchThrough(t, port, 'systemd-units');
});
