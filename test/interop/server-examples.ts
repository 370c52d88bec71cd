// The files in examples/server run as written, as test/interop/examples.ts
// runs the others: their placeholders (/usr/local/bin/tlswrapper-server,
// /etc/tlswrapper/cert.pem, /etc/tlswrapper/certs/, /usr/local/sbin/prog,
// port 443 on all addresses) are replaced by our bin/tlswrapper-server (with
// tap's loader dropped), a test certificate, a directory holding it under
// the name localhost, a test prog and a free port on 127.0.0.1; then a real
// TLS client fetches a page through each, twice (the second connection takes
// a spare set the server started after the first).
//
//   systemd units (Accept=no): systemd-socket-activate -l (no --inetd, no -a)
//     runs the service's ExecStart when the first client comes, with the
//     listening socket as fd 3; the ExecStart's "0 443" stay as written, since
//     the server must ignore them.
//   run.sh: the daemontools/runit run script, run by sh.
import t, { type Test } from 'tap';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { leafCert } from '../lib/certs';
import { nodeTlsConnect } from '../lib/clients';
import { NO_TAP_LOADER } from '../lib/ours';
import { cmdline } from '../lib/procs';
import { repoRoot, waitFor } from '../lib/sh';
import { freePort, startListener, superServerMissing, TLSWRAPPER_SERVER, type SuperServer, type SuperServerKind } from '../lib/superserver';

t.setTimeout(120000);
const EX = path.join(repoRoot, 'examples', 'server');
const HTTP_ENV = path.join(repoRoot, 'test', 'lib', 'progs', 'http-tls-env.sh');
const NO_STACK = /\n\s+at .+:\d+:\d+|TypeError|RangeError|ReferenceError|node:internal|Node\.js v\d/;
const cert = leafCert('p256', ['localhost']);
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tlswrapper-server-examples-'));
t.teardown(() => fs.rmSync(tmp, { recursive: true, force: true }));
// -d: one PEM file per host name, named after it.
const certDir = path.join(tmp, 'certs');
fs.mkdirSync(certDir);
fs.copyFileSync(cert.pem, path.join(certDir, 'localhost'));

/** The placeholders -> our server (tap's loader dropped), the test certificate(s), the test prog, 127.0.0.1:port. */
function substitute(text: string, port: number): string {
  return text
    .replaceAll('/usr/local/bin/tlswrapper-server', `${NO_TAP_LOADER.join(' ')} ${TLSWRAPPER_SERVER}`)
    .replaceAll('/etc/tlswrapper/cert.pem', cert.pem)
    .replaceAll('/etc/tlswrapper/certs/', `${certDir}/`)
    .replaceAll('/usr/local/sbin/prog', HTTP_ENV)
    .replace(/ 0 443 /g, ` 127.0.0.1 ${port} `)
    .replace(/^ListenStream=443$/m, `ListenStream=127.0.0.1:${port}`);
}

function readExample(name: string): string {
  return fs.readFileSync(path.join(EX, name), 'utf8');
}

/** The lines that are not comments. */
function commands(text: string): string {
  return text.split('\n').filter((l) => !/^\s*#/.test(l)).join('\n');
}

async function listen(t: Test, kind: SuperServerKind, full: string[], port: number): Promise<SuperServer | null> {
  const s = await startListener(kind, full, '127.0.0.1', port);
  if (typeof s === 'string') { t.fail(s); return null; }
  t.teardown(() => s.stop());
  return s;
}

/** One HTTPS request through s, the answer of test/lib/progs/http-tls-env.sh checked. */
async function fetchPage(t: Test, s: SuperServer, what: string, handshakeMs: number): Promise<void> {
  const c = await nodeTlsConnect({ port: s.port, caFile: cert.caCert, servername: 'localhost', tls: '1.3', timeoutMs: handshakeMs });
  t.ok(c.authorized, `${what}: the certificate verified for localhost`);
  t.equal(c.protocol, 'TLSv1.3', `${what}: TLS 1.3`);
  await c.send(`GET /${what} HTTP/1.0\r\n\r\n`);
  const answer = (await c.readToClose(15000)).toString('utf8');
  t.match(answer, /^HTTP\/1\.0 200 OK\r\n/, `${what}: prog answered`);
  t.match(answer, `\r\n\r\nGET /${what} HTTP/1.0 proto=TLSv1.3 cipher=TLS_CHACHA20_POLY1305_SHA256 sni=localhost\n`,
    `${what}: prog got the TLS facts in its environment`);
  t.equal(c.error(), null, `${what}: no error after the handshake`);
}

/** Two connections, then the server's log: one line per connection at -v, no stack trace. */
async function serves(t: Test, s: SuperServer, what: string): Promise<void> {
  // The first handshake may include the server's own start (systemd starts it on the first connection).
  await fetchPage(t, s, `${what}-1`, 30000);
  await fetchPage(t, s, `${what}-2`, 10000);
  const line = (n: number) => new RegExp(`tlswrapper-server: #${n}: info: 127\\.0\\.0\\.1:\\d+: sni=localhost TLSv1\\.3 TLS_CHACHA20_POLY1305_SHA256 x25519, status 0\\n`);
  // The line comes once all of the connection's processes have ended.
  await waitFor(() => line(2).test(s.output()), 10000);
  t.match(s.output(), line(1), `${what}: connection 1 logged (-v)`);
  t.match(s.output(), line(2), `${what}: connection 2 logged (-v)`);
  t.notMatch(s.output(), NO_STACK, `${what}: no stack trace`);
}

t.test('examples/server/systemd units (Accept=no), under systemd-socket-activate', { skip: superServerMissing('systemd-socket-activate') ?? superServerMissing('tlswrapper-server') ?? false }, async (t) => {
  const sock = readExample('systemd/tlswrapper-server.socket');
  const svc = readExample('systemd/tlswrapper-server.service');
  t.match(sock, /^ListenStream=443$/m, 'the documented port');
  t.match(sock, /^Accept=no$/m, 'one service for every connection: systemd passes the listening socket');
  t.notMatch(svc, /^Standard(Input|Output)=socket$/m, 'no connection on stdin/stdout: the socket is fd 3');
  t.notMatch(svc, /^User=/m, 'runs as root (each connection\'s processes jail themselves)');
  t.match(svc, /^KillMode=mixed$/m, 'a stop signals the server alone, which lets connections finish');
  const exec = /^ExecStart=(.*)$/m.exec(svc)?.[1];
  t.match(exec, /^\/usr\/local\/bin\/tlswrapper-server .*\b0 443 -v -f \/etc\/tlswrapper\/cert\.pem \/usr\/local\/sbin\/prog$/, 'the documented line');
  if (!exec) return;
  const port = await freePort();
  // HOST and PORT stay as written: with systemd's socket the server ignores them.
  const argv = substitute(exec, port).replace(` 127.0.0.1 ${port} `, ' 0 443 ').trim().split(/\s+/);
  t.same(argv.slice(0, NO_TAP_LOADER.length + 1), [...NO_TAP_LOADER, TLSWRAPPER_SERVER], 'our tlswrapper-server, without tap\'s loader');
  t.notMatch(argv.join(' '), /\/usr\/local\/|\/etc\/tlswrapper/, 'every path placeholder replaced');
  const listenOn = /^ListenStream=(.*)$/m.exec(substitute(sock, port))![1];
  t.equal(listenOn, `127.0.0.1:${port}`);
  // Accept=no: no --inetd, no -a; the service gets the listening socket as fd 3.
  const s = await listen(t, 'systemd-socket-activate', ['systemd-socket-activate', '-l', listenOn, ...argv], port);
  if (!s) return;
  await serves(t, s, 'systemd');
  t.match(s.output(), /tlswrapper-server: info: listening on the socket systemd passed \(fd 3\), 2 spare process sets, at most 100 connections\n/,
    'it used the socket systemd passed');
  t.notMatch(s.output(), /listening on 0\.0\.0\.0/, 'it did not listen on HOST PORT itself');
  // systemd-socket-activate execs the service in place: one process, holding the socket systemd made.
  t.match(cmdline(s.pid).join(' '), /tlswrapper-server -c 100 0 443 /, 'the service runs as the very process that listened (LISTEN_PID)');
});

t.test('examples/server/run.sh', { skip: superServerMissing('tlswrapper-server') ?? false }, async (t) => {
  const original = readExample('run.sh');
  t.match(original, /^exec \/usr\/local\/bin\/tlswrapper-server .*\b0 443 -v -d \/etc\/tlswrapper\/certs\/ \/usr\/local\/sbin\/prog$/m, 'the documented line');
  t.match(original, /^exec 2>&1$/m, 'messages on stdout, for the log service');
  const port = await freePort();
  const text = substitute(original, port);
  t.notMatch(commands(text), /\/usr\/local\/|\/etc\/tlswrapper|\b443\b/, 'every placeholder replaced');
  const copy = path.join(fs.mkdtempSync(path.join(tmp, 'run-')), 'run');
  fs.writeFileSync(copy, text, { mode: 0o755 });
  // The script runs as written: sh, then exec tlswrapper-server.
  const s = await listen(t, 'tlswrapper-server', ['sh', copy], port);
  if (!s) return;
  await serves(t, s, 'run.sh');
  t.match(s.output(), new RegExp(`tlswrapper-server: info: listening on 127\\.0\\.0\\.1:${port}, 2 spare process sets, at most 100 connections\\n`),
    'it listened on HOST PORT itself');
  t.match(cmdline(s.pid).join(' '), /tlswrapper-server -c 100 -C 10 127\.0\.0\.1 /, 'exec: the run script\'s process is the server');
});
