// Log lines of the jailed processes reach a regular file. Jailed, they may not
// write to one (RLIMIT_FSIZE 0), so the entry relays their stderr: what
// `tcpserver ... 2>>log` users rely on.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import t from 'tap';
import { leafCert } from '../lib/certs';
import { startSuperServer } from '../lib/superserver';
import { NO_TAP_LOADER, ours } from '../lib/ours';
import { readLimits } from '../lib/procs';
import { opensslClient } from '../lib/clients';
import { repoRoot, waitFor } from '../lib/sh';

t.test('netproc and keyproc log lines reach a stderr that is a regular file', async (t) => {
  const cert = leafCert('p256');
  const log = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'tlswrapper-log-')), 'log');
  const fd = fs.openSync(log, 'a');
  // The super-server's stderr is the file, as with a shell's 2>>log.
  const shell = ['sh', '-c', 'exec "$@" 2>>"$LOG"', 'sh', ...ours(['-vv', '-f', cert.pem, 'cat'])];
  const s = await startSuperServer('tcpserver', shell, { env: { ...process.env, LOG: log } });
  t.teardown(() => s.stop());
  fs.closeSync(fd);
  // One TLS client (handshake logged by the entry, key choice by keyproc), one
  // plain-text client (refused by netproc after its jail, logged at -vv).
  const tlsClient = await opensslClient({ port: s.port, tls: '1.3', input: 'x', until: 'x' });
  t.equal(tlsClient.data, 'x', 'the TLS client got its echo');
  await new Promise<void>((resolve) => {
    const c = net.connect(s.port, '127.0.0.1', () => c.end('GET / HTTP/1.0\r\n\r\n'));
    c.on('data', () => {});
    c.on('close', () => resolve());
    c.on('error', () => resolve());
  });
  await waitFor(() => /netproc: debug: TLS alert 10 sent/.test(fs.readFileSync(log, 'utf8')), 10000).catch(() => {});
  const text = fs.readFileSync(log, 'utf8');
  t.match(text, /tlswrapper: netproc: debug: TLS alert 10 sent: unexpected_message/, 'netproc, jailed, logged to the file');
  t.match(text, /tlswrapper: keyproc: debug: /, 'keyproc, jailed, logged to the file');
  t.match(text, /tlswrapper: info: handshake done/, 'the entry logged to the file');
});

// The companions log to their own stderr after their jail. With 2>>log it is
// a regular file, which a zero RLIMIT_FSIZE would refuse (EFBIG) and every
// line after the jail would be lost: the jail keeps the limit then, and only
// then (no new file can be opened in any case).
const COMPANIONS = {
  'tlswrapper-tcp': (port: number) => [path.join(repoRoot, 'bin', 'tlswrapper-tcp'), '-vv', '127.0.0.1', String(port)],
  'tlswrapper-smtp': (_port: number) => [path.join(repoRoot, 'bin', 'tlswrapper-smtp'), '-vv', path.join(repoRoot, 'test', 'lib', 'progs', 'smtp-server.py')],
};
for (const [name, argv] of Object.entries(COMPANIONS)) {
  t.test(`${name}: its log lines after the jail reach a stderr that is a regular file; fsize stays 0 with a pipe`, async (t) => {
    const backend = net.createServer((sock) => sock.end('hello\n'));
    await new Promise<void>((resolve) => backend.listen(0, '127.0.0.1', resolve));
    t.teardown(() => backend.close());
    const port = (backend.address() as net.AddressInfo).port;
    for (const stderrKind of ['file', 'pipe'] as const) {
      const log = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'tlswrapper-companion-log-')), 'log');
      const errFd = stderrKind === 'file' ? fs.openSync(log, 'a') : 'pipe';
      const child = spawn(NO_TAP_LOADER[0], [...NO_TAP_LOADER.slice(1), ...argv(port)], { stdio: ['pipe', 'pipe', errFd] });
      if (typeof errFd === 'number') fs.closeSync(errFd);
      let piped = '';
      child.stderr?.on('data', (d: Buffer) => (piped += d.toString()));
      const text = () => (stderrKind === 'file' ? fs.readFileSync(log, 'utf8') : piped);
      // The jail is entered before the first byte is read: wait for its line, then look at the limits.
      await waitFor(() => /: debug: (jailed|limited)/.test(text()), 30000);
      const limits = readLimits(child.pid!);
      child.stdin!.end('QUIT\r\n');
      await once(child, 'close');
      t.match(text(), new RegExp(`^${name}: debug: (jailed|limited)`, 'm'), `${stderrKind}: the line written after the jail is there`);
      const fsize = [limits['Max file size']?.soft, limits['Max file size']?.hard];
      if (stderrKind === 'file') t.notSame(fsize, [0, 0], `file: RLIMIT_FSIZE kept (${fsize.join('/')})`);
      else t.same(fsize, [0, 0], 'pipe: RLIMIT_FSIZE 0 as always');
      t.same([limits['Max open files']?.soft, limits['Max processes']?.hard], [0, 0], `${stderrKind}: still no new file and no new process`);
    }
  });
}
