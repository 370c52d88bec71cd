// tlswrapper-tcp for real: tcpserver runs our tlswrapper, which runs
// bin/tlswrapper-tcp toward servers the test starts on 127.0.0.1 (a node:http
// server, raw TCP backends); clients are curl and Node tls. Then
// bin/tlswrapper-tcp on its own with stdin/stdout pipes for the failures:
// refused, -T connect timeout (a listener whose backlog is full), -t idle
// timeout, usage errors, and PROXY headers without the TCP* variables.
import t, { type Test } from 'tap';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { leafCert } from '../lib/certs';
import { curlClient, nodeTlsConnect } from '../lib/clients';
import { NO_TAP_LOADER, ours, TLSWRAPPER } from '../lib/ours';
import { connectionForClient, readLimits, type ProcInfo } from '../lib/procs';
import { describe, repoRoot, run, waitFor } from '../lib/sh';
import { busyboxPath, freePort, serve, startListener, superServerMissing, type SuperServer, type SuperServerKind } from '../lib/superserver';
import { parseProxyHeader } from '../../wire/proxyheader';

t.setTimeout(60000);
const TCP = path.join(repoRoot, 'bin', 'tlswrapper-tcp');
const cert = leafCert('p256', ['localhost']);
const skip = superServerMissing('tcpserver') ?? false;
const NO_STACK = /\n\s+at .+:\d+:\d+|TypeError|RangeError|ReferenceError|node:internal/;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tlswrapper-tcp-'));
t.teardown(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** tcpserver -> our tlswrapper -> tlswrapper-tcp `tcpArgs`. */
function wrap(tt: Test, tcpArgs: string[], wrapperArgs: string[] = []): Promise<SuperServer> {
  return serve(tt, 'tcpserver', ours([...wrapperArgs, '-f', cert.pem, TCP, ...tcpArgs]));
}

async function listen(server: net.Server): Promise<number> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return (server.address() as net.AddressInfo).port;
}

// ------------------------------------------------------------ the HTTP backend

const BIG = crypto.randomBytes(6 * 1024 * 1024);
const sha = (b: Buffer) => crypto.createHash('sha256').update(b).digest('hex');
const seen: { method: string; url: string; bytes: number; sha: string }[] = [];
const web = http.createServer((req, res) => {
  const body: Buffer[] = [];
  req.on('data', (d: Buffer) => body.push(d));
  req.on('end', () => {
    const all = Buffer.concat(body);
    seen.push({ method: req.method!, url: req.url!, bytes: all.length, sha: sha(all) });
    if (req.url === '/big') {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': BIG.length });
      res.end(BIG);
    } else if (req.url === '/upload') {
      res.end(`${all.length} ${sha(all)}\n`);
    } else {
      res.end(`hello from the plaintext server, ${req.method} ${req.url}\n`);
    }
  });
});
let webPort = 0;
t.before(async () => {
  webPort = await listen(web);
});
t.teardown(() => web.close());

t.test('curl through tlswrapper + tlswrapper-tcp to a node:http server', { skip }, async (t) => {
  const s = await wrap(t, ['127.0.0.1', String(webPort)]);
  const before = seen.length;
  const r = await curlClient({ port: s.port, caFile: cert.caCert, urlPath: '/hello?x=1' });
  t.equal(r.code, 0, describe(r));
  t.equal(r.out, 'hello from the plaintext server, GET /hello?x=1\n', 'body exact');
  t.same(seen.slice(before).map((x) => `${x.method} ${x.url}`), ['GET /hello?x=1'], 'the HTTP server saw the request');
  t.equal(r.verified, true, 'curl verified the certificate');
});

t.test('host name localhost is resolved', { skip }, async (t) => {
  const s = await wrap(t, ['-vv', 'localhost', String(webPort)]);
  const r = await curlClient({ port: s.port, caFile: cert.caCert, urlPath: '/by-name' });
  t.equal(r.code, 0, describe(r));
  t.equal(r.out, 'hello from the plaintext server, GET /by-name\n');
  await waitFor(() => /tlswrapper-tcp: info: connected to localhost:\d+/.test(s.output()), 5000);
  t.match(s.output(), /tlswrapper-tcp: debug: localhost: 127\.0\.0\.1/, 'resolved before connecting');
});

t.test('6 MB upload and 6 MB download intact', { skip }, async (t) => {
  const s = await wrap(t, ['127.0.0.1', String(webPort)]);
  const file = path.join(tmp, 'upload.bin');
  const upload = crypto.randomBytes(6 * 1024 * 1024 + 123);
  fs.writeFileSync(file, upload);
  const before = seen.length;
  const [up, down] = await Promise.all([
    curlClient({ port: s.port, caFile: cert.caCert, urlPath: '/upload', extra: ['--data-binary', `@${file}`], timeoutMs: 30000 }),
    curlClient({ port: s.port, caFile: cert.caCert, urlPath: '/big', timeoutMs: 30000 }),
  ]);
  t.equal(up.code, 0, describe(up));
  t.equal(up.out, `${upload.length} ${sha(upload)}\n`, 'the server got every byte uploaded');
  t.equal(down.code, 0, describe(down));
  t.equal(down.stdout.length, BIG.length, 'download length');
  t.equal(sha(down.stdout), sha(BIG), 'download bytes');
  t.ok(seen.slice(before).some((x) => x.url === '/upload' && x.bytes === upload.length), 'the server saw the upload');
});

// ------------------------------------------------------------ examples/tcp, run as written

const EX = path.join(repoRoot, 'examples', 'tcp');

/** The placeholders -> our binaries (tap's loader dropped), the test certificate, 127.0.0.1:port, the web server. */
function substitute(text: string, port: number): string {
  return text
    .replaceAll('/usr/local/bin/tlswrapper-tcp', TCP)
    .replaceAll('/usr/local/bin/tlswrapper', `${NO_TAP_LOADER.join(' ')} ${TLSWRAPPER}`)
    .replaceAll('/etc/tlswrapper/cert.pem', cert.pem)
    .replace(/ 0 443 /g, ` 127.0.0.1 ${port} `)
    .replace(/^ListenStream=443$/m, `ListenStream=127.0.0.1:${port}`)
    .replaceAll('127.0.0.1 80', `127.0.0.1 ${webPort}`)
    .replace(/^exec busybox /m, `exec ${busyboxPath() ?? 'busybox'} `);
}

async function exampleServes(t: Test, kind: SuperServerKind, full: string[], port: number, what: string): Promise<void> {
  const s = await startListener(kind, full, '127.0.0.1', port);
  if (typeof s === 'string') { t.fail(s); return; }
  t.teardown(() => s.stop());
  const r = await curlClient({ port, caFile: cert.caCert, urlPath: `/${what}` });
  t.equal(r.code, 0, describe(r));
  t.equal(r.out, `hello from the plaintext server, GET /${what}\n`, `${what}: through the example`);
}

const EXAMPLE_SCRIPTS: [string, SuperServerKind][] = [['tcpserver.sh', 'tcpserver'], ['tcpsvd.sh', 'tcpsvd']];
for (const [file, kind] of EXAMPLE_SCRIPTS) {
  t.test(`examples/tcp/${file}`, { skip: superServerMissing(kind) ?? false }, async (t) => {
    const original = fs.readFileSync(path.join(EX, file), 'utf8');
    t.match(original, /\/usr\/local\/bin\/tlswrapper -f \/etc\/tlswrapper\/cert\.pem \/usr\/local\/bin\/tlswrapper-tcp 127\.0\.0\.1 80$/m, 'the documented line');
    const port = await freePort();
    const copy = path.join(fs.mkdtempSync(path.join(tmp, 'ex-')), file);
    fs.writeFileSync(copy, substitute(original, port));
    await exampleServes(t, kind, [...NO_TAP_LOADER, 'sh', copy], port, file);
  });
}

t.test('examples/tcp/systemd units, under systemd-socket-activate', { skip: superServerMissing('systemd-socket-activate') ?? false }, async (t) => {
  const sock = fs.readFileSync(path.join(EX, 'systemd', 'tlswrapper-tcp.socket'), 'utf8');
  const svc = fs.readFileSync(path.join(EX, 'systemd', 'tlswrapper-tcp@.service'), 'utf8');
  t.match(sock, /^Accept=yes$/m, 'one service instance per connection');
  t.match(svc, /^StandardInput=socket$/m);
  t.match(svc, /^StandardOutput=socket$/m);
  const port = await freePort();
  const exec = /^ExecStart=(.*)$/m.exec(substitute(svc, port))![1].trim().split(/\s+/);
  const listenOn = /^ListenStream=(.*)$/m.exec(substitute(sock, port))![1];
  t.equal(listenOn, `127.0.0.1:${port}`);
  await exampleServes(t, 'systemd-socket-activate', ['systemd-socket-activate', '--inetd', '-a', '-l', listenOn, ...exec], port, 'systemd');
});

// ------------------------------------------------------------ raw backends

interface Backend { port: number; got: Promise<Buffer>; firstByte: Promise<void>; server: net.Server }

/**
 * A TCP backend for one connection: `answer(bytes so far, ended)` returns the
 * reply once it has enough (null: wait); the reply is sent and the socket ended.
 */
async function rawBackend(t: Test, answer: (b: Buffer, ended: boolean) => Buffer | null): Promise<Backend> {
  const server = net.createServer({ allowHalfOpen: true });
  let resolveGot!: (b: Buffer) => void;
  const got = new Promise<Buffer>((r) => (resolveGot = r));
  let resolveFirst!: () => void;
  const firstByte = new Promise<void>((r) => (resolveFirst = r));
  server.on('connection', (sock) => {
    sock.once('data', () => resolveFirst());
    let buf = Buffer.alloc(0);
    let done = false;
    const check = (ended: boolean) => {
      if (done) return;
      const reply = answer(buf, ended);
      if (reply === null) return;
      done = true;
      resolveGot(buf);
      sock.end(reply);
    };
    sock.on('data', (d: Buffer) => { buf = Buffer.concat([buf, d]); check(false); });
    sock.on('end', () => check(true));
    sock.on('error', () => {});
  });
  const port = await listen(server);
  t.teardown(() => server.close());
  return { port, got, firstByte, server };
}

/** Answers with what parseProxyHeader made of the header, and the bytes after it. */
function proxyAnswer(version: 1 | 2) {
  return (b: Buffer): Buffer | null => {
    const p = parseProxyHeader(version, b);
    if (p.kind === 'more') return null;
    if (p.kind === 'error') return Buffer.from(JSON.stringify({ error: p.error }));
    const after = b.subarray(p.length).toString();
    if (!after.includes('\n')) return null;
    return Buffer.from(JSON.stringify({ addresses: p.addresses, after }));
  };
}

for (const version of [1, 2] as const) {
  t.test(`-P ${version}: the backend learns the TLS client's address`, { skip }, async (t) => {
    const b = await rawBackend(t, proxyAnswer(version));
    const s = await wrap(t, ['-P', String(version), '127.0.0.1', String(b.port)]);
    const c = await nodeTlsConnect({ port: s.port, caFile: cert.caCert });
    const clientPort = c.socket.localPort!;
    await c.send('first line\n');
    const reply = JSON.parse((await c.readToClose()).toString());
    t.same(reply, {
      addresses: { remoteAddress: '127.0.0.1', remotePort: clientPort, localAddress: '127.0.0.1', localPort: s.port },
      after: 'first line\n',
    }, 'source = the client (TCPREMOTE*), destination = tlswrapper\'s listener (TCPLOCAL*), then the data');
    const raw = await b.got;
    t.equal(raw.subarray(0, version === 1 ? 6 : 12).toString('latin1'), version === 1 ? 'PROXY ' : '\r\n\r\n\0\r\nQUIT\n', 'header first');
  });
}

t.test('-P 1 / -P 2 without TCP* variables: UNKNOWN / LOCAL and a log line', async (t) => {
  for (const version of [1, 2] as const) {
    const b = await rawBackend(t, (buf) => {
      const p = parseProxyHeader(version, buf);
      if (p.kind === 'more') return null;
      return Buffer.from(JSON.stringify(p.kind === 'done' ? { addresses: p.addresses, length: p.length } : p));
    });
    const env: NodeJS.ProcessEnv = { ...process.env, TCPREMOTEIP: '127.0.0.1', TCPREMOTEPORT: 'x', TCPLOCALIP: undefined, TCPLOCALPORT: '443' };
    delete env.TCPLOCALIP;
    const r = await run([...NO_TAP_LOADER, TCP, '-v', '-P', String(version), '127.0.0.1', String(b.port)], { env, timeoutMs: 10000 });
    t.equal(r.code, 0, describe(r));
    t.same(JSON.parse(r.out), { addresses: null, length: version === 1 ? 15 : 16 }, version === 1 ? 'PROXY UNKNOWN' : 'v2 LOCAL');
    const raw = await b.got;
    if (version === 1) t.equal(raw.toString('latin1'), 'PROXY UNKNOWN\r\n');
    else t.equal(raw[12], 0x20, 'v2 command LOCAL');
    const warnings = r.err.split('\n').filter((l) => l.includes('warning'));
    t.same(warnings, [`tlswrapper-tcp: warning: TCPREMOTEPORT, TCPLOCALIP missing or invalid: sending proxy-protocol v${version} ${version === 1 ? 'UNKNOWN' : 'LOCAL'}`], 'one warning line (at -v)');
  }
});

t.test('-P with IPv4-mapped and mixed-family TCP* variables', async (t) => {
  const header = async (version: 1 | 2, vars: Record<string, string>) => {
    const b = await rawBackend(t, (buf) => (parseProxyHeader(version, buf).kind === 'more' ? null : Buffer.from('ok')));
    const r = await run([...NO_TAP_LOADER, TCP, '-P', String(version), '127.0.0.1', String(b.port)], { env: { ...process.env, ...vars }, timeoutMs: 10000 });
    t.equal(r.code, 0, describe(r));
    t.equal(r.err, '', 'no warning: the variables are valid');
    return b.got;
  };
  const mapped = { TCPREMOTEIP: '::ffff:192.0.2.1', TCPREMOTEPORT: '5555', TCPLOCALIP: '192.0.2.2', TCPLOCALPORT: '443' };
  t.equal((await header(1, mapped)).toString('latin1'), 'PROXY TCP4 192.0.2.1 192.0.2.2 5555 443\r\n', '::ffff:a.b.c.d goes as IPv4');
  const mixed = { TCPREMOTEIP: '192.0.2.1', TCPREMOTEPORT: '5555', TCPLOCALIP: '2001:db8::1', TCPLOCALPORT: '443' };
  t.equal((await header(1, mixed)).toString('latin1'), 'PROXY TCP6 ::ffff:192.0.2.1 2001:db8::1 5555 443\r\n', 'mixed: both as IPv6');
  const v2 = await header(2, mixed);
  t.equal(v2[13], 0x21, 'v2: TCP over IPv6');
  t.equal(v2.readUInt16BE(14), 36, 'v2: 36 address bytes');
  t.equal(v2.subarray(16, 32).toString('hex'), '00000000000000000000ffffc0000201', 'source ::ffff:192.0.2.1');
  t.equal(v2.subarray(32, 48).toString('hex'), '20010db8000000000000000000000001', 'destination 2001:db8::1');
  t.equal(v2.readUInt16BE(48), 5555);
  t.equal(v2.readUInt16BE(50), 443);
});

t.test('-p 1 reads the incoming header from stdin, -P 2 passes its addresses on', async (t) => {
  const b = await rawBackend(t, proxyAnswer(2));
  const r = await run([...NO_TAP_LOADER, TCP, '-p', '1', '-P', '2', '127.0.0.1', String(b.port)], {
    input: 'PROXY TCP6 2001:db8::7 2001:db8::1:2 40000 443\r\npayload\n', timeoutMs: 10000,
  });
  t.equal(r.code, 0, describe(r));
  t.same(JSON.parse(r.out), {
    // (parseProxyHeader spells IPv6 addresses out in full)
    addresses: { remoteAddress: '2001:db8:0:0:0:0:0:7', remotePort: 40000, localAddress: '2001:db8:0:0:0:0:1:2', localPort: 443 },
    after: 'payload\n',
  });
  const bad = await run([...NO_TAP_LOADER, TCP, '-p', '1', '127.0.0.1', String(b.port)], { input: 'GET / HTTP/1.0\r\n\r\n', timeoutMs: 10000 });
  t.equal(bad.code, 111, describe(bad));
  t.match(bad.err, /^tlswrapper-tcp: fatal: unable to receive incoming proxy-protocol v1 string: PROXY header: v1: bad signature\n$/);
});

// ------------------------------------------------------------ half-close and the jail

/** Counts bytes until EOF, then answers "count=N". */
const counter = (b: Buffer, ended: boolean) => (ended ? Buffer.from(`count=${b.length}\n`) : null);

function tcpProcess(s: SuperServer, clientPort: number): ProcInfo {
  const conn = connectionForClient(s.pid, s.port, clientPort);
  if (!conn) throw new Error('connection not found under the super-server');
  // node bin/tlswrapper-tcp ... (the entry's own command line names it too, as prog)
  const p = conn.procs.find((x) => x.cmdline[1] === TCP);
  if (!p) throw new Error(`no tlswrapper-tcp among ${conn.procs.map((x) => x.cmdline.join(' ')).join(' | ')}`);
  return p;
}

t.test('half-close: client EOF reaches the backend, the answer still comes back; jailed meanwhile', { skip }, async (t) => {
  const jail = path.join(tmp, 'jail'); // does not exist yet: created root-owned 0555
  const b = await rawBackend(t, counter);
  const s = await wrap(t, ['-J', jail, '127.0.0.1', String(b.port)]);
  const c = await nodeTlsConnect({ port: s.port, caFile: cert.caCert, tls: '1.3' });
  const data = crypto.randomBytes(300000);
  await c.send(data);
  // While the connection is open and bytes have reached the backend: the process that talks to it.
  await b.firstByte;
  const p = await waitFor(() => tcpProcess(s, c.socket.localPort!), 5000);
  t.not(p.uid[0], 0, `real uid ${p.uid[0]} is not root`);
  t.not(p.uid[1], 0, 'effective uid is not root');
  t.ok(p.uid[0] >= 141_500_000, 'a random jail uid');
  t.equal(p.root, jail, '/proc/PID/root is the jail');
  const limits = readLimits(p.pid);
  t.equal(limits['Max open files'].soft, 0, 'Max open files 0');
  t.equal(limits['Max processes'].soft, 0, 'Max processes 0');
  t.equal((fs.statSync(jail).mode & 0o777).toString(8), '555');
  const all = await c.endAndReadAll();
  t.equal(all.toString(), `count=${data.length}\n`, 'answer after our EOF');
  t.equal((await b.got).length, data.length);
});

t.test('-j nobody: the jail uid is nobody\'s', { skip }, async (t) => {
  const b = await rawBackend(t, counter);
  const s = await wrap(t, ['-j', 'nobody', '127.0.0.1', String(b.port)]);
  const c = await nodeTlsConnect({ port: s.port, caFile: cert.caCert });
  await c.send('x');
  await b.firstByte;
  const p = await waitFor(() => tcpProcess(s, c.socket.localPort!), 5000);
  t.equal(p.uid[0], 65534);
  t.equal(p.root, '/var/lib/tlswrapper/empty', 'default jail dir');
  t.equal((await c.endAndReadAll()).toString(), 'count=1\n');
});

t.test('not root (tlswrapper -u nobody): rlimits only, no chroot', { skip }, async (t) => {
  const b = await rawBackend(t, counter);
  const s = await wrap(t, ['-v', '127.0.0.1', String(b.port)], ['-u', 'nobody']);
  const c = await nodeTlsConnect({ port: s.port, caFile: cert.caCert });
  await c.send('abc');
  await b.firstByte;
  const p = await waitFor(() => tcpProcess(s, c.socket.localPort!), 5000);
  t.equal(p.uid[0], 65534);
  t.equal(p.root, '/', 'no chroot');
  t.equal(readLimits(p.pid)['Max open files'].soft, 0, 'Max open files 0');
  t.equal(readLimits(p.pid)['Max file size'].soft, 0, 'Max file size 0');
  t.equal(readLimits(p.pid)['Max processes'].soft, 0, 'Max processes 0');
  t.equal((await c.endAndReadAll()).toString(), 'count=3\n');
  t.match(s.output(), /tlswrapper-tcp: info: not running as root \(uid 65534\): no chroot/);
});

t.test('backend EOF first: stdout ends while stdin still flows to the backend', async (t) => {
  // The backend says hello and shuts its side at once, then counts what still arrives.
  const server = net.createServer({ allowHalfOpen: true });
  const counted = new Promise<number>((resolve) => server.on('connection', (sock) => {
    let n = 0;
    sock.end('bye\n');
    sock.on('data', (d: Buffer) => (n += d.length));
    sock.on('end', () => resolve(n));
  }));
  const port = await listen(server);
  t.teardown(() => server.close());
  const argv = [...NO_TAP_LOADER, TCP, '127.0.0.1', String(port)];
  const child = spawn(argv[0], argv.slice(1), { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d));
  await once(child.stdout, 'end');
  t.equal(out, 'bye\n', 'stdout got the data and EOF while stdin is open');
  child.stdin.end(Buffer.alloc(100000, 1));
  const [code] = await once(child, 'close');
  t.equal(code, 0, 'exit 0 once both directions are done');
  t.equal(await counted, 100000, 'stdin still reached the backend after its EOF');
});

// ------------------------------------------------------------ failures, run directly

t.test('connect refused: exit 111 and the fatal line', async (t) => {
  const port = await freePort();
  const r = await run([...NO_TAP_LOADER, TCP, '127.0.0.1', String(port)], { input: 'x', timeoutMs: 10000 });
  t.equal(r.code, 111, describe(r));
  t.equal(r.err, `tlswrapper-tcp: fatal: unable to connect to 127.0.0.1:${port}: connection refused\n`);
  t.equal(r.out, '');
});

t.test('-T 1 against a listener whose backlog is full: exit 111 after ~1 s', async (t) => {
  // python: a socket that listens with backlog 0 and never accepts.
  const py = spawn('python3', ['-c', 'import socket,sys,time\ns=socket.socket()\ns.bind(("127.0.0.1",0))\ns.listen(0)\nprint(s.getsockname()[1],flush=True)\ntime.sleep(60)'], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.teardown(() => py.kill('SIGKILL'));
  const [line] = await once(py.stdout, 'data');
  const port = Number(String(line).trim());
  // Fill the accept queue until a connect no longer completes.
  const fillers: net.Socket[] = [];
  t.teardown(() => fillers.forEach((f) => f.destroy()));
  for (let i = 0; i < 20; i++) {
    const f = net.connect(port, '127.0.0.1');
    f.on('error', () => {});
    fillers.push(f);
    const ok = await Promise.race([once(f, 'connect').then(() => true), new Promise((r) => setTimeout(() => r(false), 300))]);
    if (!ok) break;
  }
  const r = await run([...NO_TAP_LOADER, TCP, '-T', '1', '127.0.0.1', String(port)], { input: 'x', timeoutMs: 10000 });
  t.equal(r.code, 111, describe(r));
  t.equal(r.err, `tlswrapper-tcp: fatal: unable to connect to 127.0.0.1:${port}: connection timed out\n`);
  t.ok(r.ms >= 900 && r.ms < 4000, `gave up after ${r.ms} ms`);
});

t.test('-t 1: idle timeout exits 111', async (t) => {
  const server = net.createServer(() => { /* accept, say nothing */ });
  const port = await listen(server);
  t.teardown(() => server.close());
  // `until` never matches: stdin stays open, nothing moves either way.
  const r = await run([...NO_TAP_LOADER, TCP, '-t', '1', '127.0.0.1', String(port)], { until: 'never', timeoutMs: 10000 });
  t.equal(r.code, 111, describe(r));
  t.equal(r.err, 'tlswrapper-tcp: fatal: network timeout: nothing received for 1 seconds\n');
  t.ok(r.ms >= 900 && r.ms < 4000, `after ${r.ms} ms`);
});

t.test('usage errors: one line, exit 100', async (t) => {
  const cases: [string[], RegExp][] = [
    [[], /missing host/],
    [['127.0.0.1'], /missing port/],
    [['127.0.0.1', '0'], /unable to parse TCP port/],
    [['-t', '0', '127.0.0.1', '80'], /unable to parse timeout from the string '0' \(-t\)/],
    [['-P', '3', '127.0.0.1', '80'], /outgoing proxy-protocol version from the string '3'/],
    [['-x', '127.0.0.1', '80'], /unknown option -x/],
    [['-T'], /option -T needs an argument/],
  ];
  for (const [args, why] of cases) {
    const r = await run([...NO_TAP_LOADER, TCP, ...args], { timeoutMs: 10000 });
    t.equal(r.code, 100, `${args.join(' ')}: ${describe(r)}`);
    t.match(r.err, why);
    t.match(r.err, /^tlswrapper-tcp: fatal: .* \(usage: tlswrapper-tcp \[options\] host port\)\n$/, 'one line');
    t.notMatch(r.err, NO_STACK);
  }
  const quiet = await run([...NO_TAP_LOADER, TCP, '-q', '127.0.0.1', String(await freePort())], { timeoutMs: 10000 });
  t.equal(quiet.code, 111);
  t.equal(quiet.err, '', '-q: no messages');
});
