// Log lines of the jailed processes reach a regular file. Jailed, they may not
// write to one (RLIMIT_FSIZE 0), so the entry relays their stderr: what
// `tcpserver ... 2>>log` users rely on.
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import t from 'tap';
import { leafCert } from '../lib/certs';
import { startSuperServer } from '../lib/superserver';
import { ours } from '../lib/ours';
import { opensslClient } from '../lib/clients';
import { waitFor } from '../lib/sh';

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
