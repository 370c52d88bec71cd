// Runs the command lines in examples/ for real, with their placeholders
// replaced (wrapper binary, certificate, prog, port on 127.0.0.1), and fetches
// a page through each with curl. The wrapper is Debian's tlswrapper by default
// (so this proves the examples and the harness today); set
// TLSWRAPPER_EXAMPLES_BIN=bin/tlswrapper (path) to run them against ours.
import t, { type Test } from 'tap';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { leafCert } from '../lib/certs';
import { curlClient, progs } from '../lib/clients';
import { describe, repoRoot } from '../lib/sh';
import { busyboxPath, freePort, serve, startListener, superServerMissing, type SuperServerKind } from '../lib/superserver';

t.setTimeout(120000);
const EX = path.join(repoRoot, 'examples');
const BIN = path.resolve(repoRoot, process.env.TLSWRAPPER_EXAMPLES_BIN ?? '/usr/bin/tlswrapper');
const cert = leafCert('p256', ['localhost']);
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tlswrapper-examples-'));
t.teardown(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** The examples' placeholders → this test's files and port. */
function substitute(text: string, port: number): string {
  return text
    .replaceAll('/usr/local/bin/tlswrapper', BIN)
    .replaceAll('/etc/tlswrapper/cert.pem', cert.pem)
    .replaceAll('/usr/local/sbin/prog', progs.http)
    .replace(/ 0 443 /g, ` 127.0.0.1 ${port} `)
    .replace(/-l 443 /g, `-l 127.0.0.1:${port} `)
    .replace(/^exec busybox /m, `exec ${busyboxPath() ?? 'busybox'} `);
}

async function fetchThrough(t: Test, port: number): Promise<void> {
  // No version pinned: Debian's speaks 1.2, ours 1.3 as well.
  const r = await curlClient({ port, caFile: cert.caCert, urlPath: '/example' });
  t.equal(r.code, 0, describe(r));
  t.equal(r.data, 'hello over tls: GET /example HTTP/1.1\n');
}

if (!fs.existsSync(BIN)) {
  t.plan(0, `${BIN} not found`);
} else {
  const scripts: Array<[string, SuperServerKind]> = [
    ['tcpserver.sh', 'tcpserver'], ['tcpsvd.sh', 'tcpsvd'], ['systemd-socket-activate.sh', 'systemd-socket-activate'],
  ];
  for (const [file, kind] of scripts) {
    t.test(`examples/${file}`, { skip: superServerMissing(kind) ?? false }, async (t) => {
      const port = await freePort();
      const text = substitute(fs.readFileSync(path.join(EX, file), 'utf8'), port);
      const code = text.split('\n').filter((l) => !l.startsWith('#')).join('\n');
      t.notMatch(code, /\/usr\/local\/bin\/tlswrapper|\/usr\/local\/sbin\/prog|\/etc\/tlswrapper|\b443\b/, 'every placeholder replaced');
      const script = path.join(tmp, file);
      fs.writeFileSync(script, text);
      const s = await startListener(kind, ['sh', script], '127.0.0.1', port);
      if (typeof s === 'string') { t.fail(s); return; }
      t.teardown(() => s.stop());
      await fetchThrough(t, port);
    });
  }

  t.test('examples/inetd.conf: the line\'s server and argv, under tcpserver', { skip: superServerMissing('tcpserver') ?? false }, async (t) => {
    const port = await freePort();
    const line = substitute(fs.readFileSync(path.join(EX, 'inetd.conf'), 'utf8'), port)
      .split('\n').find((l) => l.trim() && !l.startsWith('#'));
    t.ok(line, 'one active line');
    // service socket-type protocol wait user server argv0 args...
    const f = line!.trim().split(/\s+/);
    t.same(f.slice(0, 5), ['https', 'stream', 'tcp', 'nowait', 'root']);
    t.equal(f[5], BIN, 'server path');
    t.equal(f[6], 'tlswrapper', 'argv[0]');
    const s = await serve(t, 'tcpserver', [f[5], ...f.slice(7)]);
    await fetchThrough(t, s.port);
  });

  t.test('examples/systemd: socket + service pair, run as systemd-socket-activate would', { skip: superServerMissing('systemd-socket-activate') ?? false }, async (t) => {
    const sock = fs.readFileSync(path.join(EX, 'systemd', 'tlswrapper.socket'), 'utf8');
    const svc = fs.readFileSync(path.join(EX, 'systemd', 'tlswrapper@.service'), 'utf8');
    t.match(sock, /^ListenStream=443$/m);
    t.match(sock, /^Accept=yes$/m, 'one service instance per connection');
    t.match(svc, /^StandardInput=socket$/m);
    t.match(svc, /^StandardOutput=socket$/m);
    const exec = /^ExecStart=(.*)$/m.exec(svc)?.[1];
    t.ok(exec, 'ExecStart');
    const port = await freePort();
    const argv = substitute(exec!, port).trim().split(/\s+/);
    t.equal(argv[0], BIN);
    const s = await serve(t, 'systemd-socket-activate', argv);
    await fetchThrough(t, s.port);
  });
}
