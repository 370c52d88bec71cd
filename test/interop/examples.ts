// The files in examples/ run for real, once with Debian's tlswrapper (which
// proves the examples and the harness whatever state our code is in) and once
// with our bin/tlswrapper. Their placeholders (/usr/local/bin/tlswrapper,
// /etc/tlswrapper/cert.pem, /usr/local/sbin/prog, port 443 on all addresses)
// are replaced by the wrapper under test, a test certificate, a test prog and
// a free port on 127.0.0.1; then a page is fetched through each.
import t, { type Test } from 'tap';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { leafCert } from '../lib/certs';
import { curlClient, opensslClient, progs } from '../lib/clients';
import { NO_TAP_LOADER, TLSWRAPPER } from '../lib/ours';
import { describe, repoRoot } from '../lib/sh';
import { busyboxPath, freePort, serve, startListener, superServerMissing, type SuperServer, type SuperServerKind } from '../lib/superserver';

t.setTimeout(120000);
const EX = path.join(repoRoot, 'examples');
const HTTP_ENV = path.join(repoRoot, 'test', 'lib', 'progs', 'http-tls-env.sh');
const NO_STACK = /\n\s+at .+:\d+:\d+|TypeError|RangeError|ReferenceError|node:internal|Node\.js v\d/;
const cert = leafCert('p256', ['localhost']);
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tlswrapper-examples-'));
t.teardown(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** A tlswrapper to put where the examples say /usr/local/bin/tlswrapper. */
interface Wrapper {
  name: string;
  bin: string;
  /** Goes before any command line that starts bin. */
  prefix: string[];
  /** Put where the examples say /usr/local/sbin/prog. */
  prog: string;
  /** Fetch `/${what}` through s and check the answer (and s's output). */
  check(t: Test, s: SuperServer, what: string): Promise<void>;
}

const WRAPPERS: Wrapper[] = [{
  name: "Debian's tlswrapper",
  bin: '/usr/bin/tlswrapper',
  prefix: [],
  // Debian's gives prog no SSL_PROTOCOL etc., so prog only names the request.
  prog: progs.http,
  async check(t, s, what) {
    const r = await curlClient({ port: s.port, caFile: cert.caCert, urlPath: `/${what}` });
    t.equal(r.code, 0, describe(r));
    t.equal(r.data, `hello over tls: GET /${what} HTTP/1.1\n`, `${what}: served by Debian's tlswrapper`);
    t.equal(r.protocol, 'TLSv1.2', 'Debian\'s speaks TLS 1.2 only');
  },
}, {
  name: 'ours',
  bin: TLSWRAPPER,
  // Our wrapper is node: tap's loader must not follow it into the jail (see lib/ours.ts).
  prefix: NO_TAP_LOADER,
  prog: HTTP_ENV,
  async check(t, s, what) {
    const r = await curlClient({ port: s.port, caFile: cert.caCert, tls: '1.3', urlPath: `/${what}` });
    t.equal(r.code, 0, describe(r));
    t.equal(r.data, `GET /${what} HTTP/1.1 proto=TLSv1.3 cipher=TLS_CHACHA20_POLY1305_SHA256 sni=localhost\n`, `${what}: served by our tlswrapper`);
    t.equal(r.protocol, 'TLSv1.3');
    const o = await opensslClient({ port: s.port, caFile: cert.caCert, tls: '1.3', input: 'GET /o HTTP/1.0\r\n\r\n' });
    t.equal(o.code, 0, describe(o));
    t.match(o.data, /GET \/o HTTP\/1\.0 proto=TLSv1\.3 /, `${what}: openssl too`);
    t.notMatch(s.output(), NO_STACK, `${what}: no stack trace`);
  },
}];

/** The examples' placeholders → w's binary and prog, the test cert, 127.0.0.1:port. */
function substitute(text: string, w: Wrapper, port: number): string {
  return text
    .replaceAll('/usr/local/bin/tlswrapper', w.bin)
    .replaceAll('/etc/tlswrapper/cert.pem', cert.pem)
    .replaceAll('/usr/local/sbin/prog', w.prog)
    .replace(/ 0 443 /g, ` 127.0.0.1 ${port} `)
    .replace(/-l 443 /g, `-l 127.0.0.1:${port} `)
    .replace(/^ListenStream=443$/m, `ListenStream=127.0.0.1:${port}`)
    .replace(/^exec busybox /m, `exec ${busyboxPath() ?? 'busybox'} `);
}

function readExample(name: string): string {
  return fs.readFileSync(path.join(EX, name), 'utf8');
}

/** Run a full super-server command line; a failure to listen fails t. */
async function listen(t: Test, kind: SuperServerKind, full: string[], port: number): Promise<SuperServer | null> {
  const s = await startListener(kind, full, '127.0.0.1', port);
  if (typeof s === 'string') { t.fail(s); return null; }
  t.teardown(() => s.stop());
  return s;
}

/** examples/<file>: a shell script that execs a super-server. */
async function script(t: Test, w: Wrapper, file: string, kind: SuperServerKind): Promise<void> {
  const port = await freePort();
  const original = readExample(file);
  t.match(original, /\/usr\/local\/bin\/tlswrapper -f \/etc\/tlswrapper\/cert\.pem \/usr\/local\/sbin\/prog$/m, 'the documented placeholders');
  const text = substitute(original, w, port);
  // busybox may itself live under /usr/local (where .ci/run builds it).
  const commands = text.split('\n').filter((l) => !l.startsWith('#')).join('\n').replaceAll(busyboxPath() ?? '\0', 'BUSYBOX');
  t.notMatch(commands, /\/usr\/local\/|\/etc\/tlswrapper|\b443\b/, 'every placeholder replaced');
  // A directory per run: the script of the other wrapper keeps its own copy.
  const copy = path.join(fs.mkdtempSync(path.join(tmp, 'run-')), file);
  fs.writeFileSync(copy, text);
  // The script runs as written (sh, exec the super-server) behind w's prefix.
  const s = await listen(t, kind, [...w.prefix, 'sh', copy], port);
  if (s) await w.check(t, s, file);
}

/** examples/inetd.conf: the active line and the commented -u variant, each under tcpserver. */
async function inetd(t: Test, w: Wrapper): Promise<void> {
  const text = substitute(readExample('inetd.conf'), w, 0);
  const lines = text.split('\n').map((l) => l.replace(/^#(?=https\s)/, '')).filter((l) => /^https\s/.test(l));
  t.equal(lines.length, 2, 'the line and its -u nobody variant');
  for (const line of lines) {
    // service socket-type protocol wait user server argv0 args...
    const f = line.trim().split(/\s+/);
    t.same(f.slice(0, 5), ['https', 'stream', 'tcp', 'nowait', 'root'], 'stream/tcp/nowait/root');
    t.equal(f[5], w.bin, 'server path');
    t.equal(f[6], 'tlswrapper', 'argv[0]');
    // inetd runs server with argv f[6..]; tcpserver can't set argv[0], so exec -a does.
    const s = await serve(t, 'tcpserver', [...w.prefix, 'bash', '-c', 'exec -a "$0" "$@"', f[6], f[5], ...f.slice(7)]);
    await w.check(t, s, f.includes('-u') ? 'inetd-u' : 'inetd');
    await s.stop();
  }
}

/** examples/systemd: the socket + service pair, as systemd-socket-activate would run it. */
async function systemd(t: Test, w: Wrapper): Promise<void> {
  const sock = readExample('systemd/tlswrapper.socket');
  const svc = readExample('systemd/tlswrapper@.service');
  t.match(sock, /^ListenStream=443$/m);
  t.match(sock, /^Accept=yes$/m, 'one service instance per connection');
  t.match(svc, /^StandardInput=socket$/m);
  t.match(svc, /^StandardOutput=socket$/m);
  t.notMatch(svc, /^User=/m, 'runs as root (tlswrapper jails itself)');
  const exec = /^ExecStart=(.*)$/m.exec(svc)?.[1];
  t.ok(exec, 'ExecStart');
  const port = await freePort();
  const argv = substitute(exec!, w, port).trim().split(/\s+/);
  t.equal(argv[0], w.bin);
  const listenOn = /^ListenStream=(.*)$/m.exec(substitute(sock, w, port))![1];
  const s = await listen(t, 'systemd-socket-activate',
    ['systemd-socket-activate', '--inetd', '-a', '-l', listenOn, ...w.prefix, ...argv], port);
  if (s) await w.check(t, s, 'systemd-units');
}

const SCRIPTS: Array<[string, SuperServerKind]> = [
  ['tcpserver.sh', 'tcpserver'], ['tcpsvd.sh', 'tcpsvd'], ['systemd-socket-activate.sh', 'systemd-socket-activate'],
];

for (const w of WRAPPERS) {
  const missing = fs.existsSync(w.bin) ? false : `${w.bin} not found (apt-get install tlswrapper)`;
  t.test(w.name, { skip: missing }, async (t) => {
    for (const [file, kind] of SCRIPTS) {
      t.test(`examples/${file}`, { skip: superServerMissing(kind) ?? false }, (t) => script(t, w, file, kind));
    }
    t.test('examples/inetd.conf, under tcpserver', { skip: superServerMissing('tcpserver') ?? false }, (t) => inetd(t, w));
    t.test('examples/systemd units', { skip: superServerMissing('systemd-socket-activate') ?? false }, (t) => systemd(t, w));
  });
}
