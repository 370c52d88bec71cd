// Floods after the handshake, through the real binary under tcpserver, from
// a client (test/lib/rawtls13.ts) that sends what it likes and may never
// read: KeyUpdates in a row are bounded (33rd: unexpected_message), and a
// client that asks for a KeyUpdate answer thousands of times and never reads
// is not read either: netproc's memory stays flat, and -t ends it.
import t from 'tap';
import { leafCert } from '../lib/certs';
import { ours } from '../lib/ours';
import { connectionForClient, readStatus } from '../lib/procs';
import { RawTls13Client } from '../lib/rawtls13';
import { sleep, waitFor } from '../lib/sh';
import { serve } from '../lib/superserver';

const cert = leafCert('p256');
const CONNECT_MS = 30_000;
const ALERT = 21;
const APPLICATION_DATA = 23;
const UNEXPECTED_MESSAGE = 10;

async function netprocOf(ssPid: number, port: number, client: RawTls13Client): Promise<number | undefined> {
  const conn = await waitFor(() => connectionForClient(ssPid, port, client.socket.localPort ?? 0), 10_000, 50);
  return conn?.procs.find((p) => p.cmdline.some((a) => a.endsWith('/dist/netproc.js')))?.pid;
}

const rssAnonKb = (pid: number) => parseInt(readStatus(pid).RssAnon ?? 'NaN', 10);

t.test('KeyUpdates in a row: 32 are answered and data flows; the 33rd without data between ends the connection with unexpected_message', async (t) => {
  const s = await serve(t, 'tcpserver', ours(['-f', cert.pem, 'cat']));
  const c = await RawTls13Client.connect(s.port, CONNECT_MS);
  t.teardown(() => c.socket.destroy());
  for (let i = 0; i < 32; i++) c.keyUpdate(false);
  c.send(APPLICATION_DATA, Buffer.from('ping\n'));
  const echo = await c.record();
  t.same([echo.type, Buffer.from(echo.content).toString()], [APPLICATION_DATA, 'ping\n'], 'after 32 KeyUpdates the data is echoed');
  for (let i = 0; i < 33; i++) c.keyUpdate(false);
  let alert: { type: number; content: Uint8Array } | undefined;
  try {
    alert = await c.record();
  } catch (e) {
    t.fail(`no alert: ${(e as Error).message}`);
  }
  t.same(alert && [alert.type, ...alert.content], [ALERT, 2, UNEXPECTED_MESSAGE], 'the 33rd in a row: fatal unexpected_message');
  await c.whenClosed();
  t.pass('and the connection is closed');
});

t.test('a client that asks for KeyUpdates and never reads is not read either: netproc stays flat, -t ends it', async (t) => {
  // Long enough that a busy machine's slow client sees the stall before -t
  // ends the connection (at 3 s it did not, under a CPU burner per core).
  const TIMEOUT_S = 10;
  const s = await serve(t, 'tcpserver', ours(['-t', String(TIMEOUT_S), '-f', cert.pem, 'cat']));
  const c = await RawTls13Client.connect(s.port, CONNECT_MS);
  t.teardown(() => c.socket.destroy());
  const np = await netprocOf(s.pid, s.port, c);
  if (!np) { t.fail('no netproc for the connection'); return; }
  const before = rssAnonKb(np);
  c.stopReading();
  // 16 KeyUpdate(update_requested), then a byte of data (so the limit of 32
  // in a row does not end it first), until the connection stalls: the
  // kernel's buffers both ways are full and the server reads no more.
  let requests = 0;
  let warm = NaN;
  let stalled = false;
  const deadline = Date.now() + 120_000;
  let closedEarly = false;
  while (!stalled && requests < 400_000 && Date.now() < deadline) {
    if (c.socket.destroyed || c.socket.closed) {
      closedEarly = true;
      break;
    }
    for (let i = 0; i < 16; i++) c.keyUpdate(true);
    c.send(APPLICATION_DATA, Uint8Array.of(0x78));
    requests += 16;
    if (requests === 50_000) warm = rssAnonKb(np);
    if (c.socket.writableLength > 256 * 1024) {
      // Our side is full: give the server a moment to read more, if it will.
      const drained = await Promise.race([new Promise<boolean>((r) => c.socket.once('drain', () => r(true))), sleep(3000).then(() => false)]);
      stalled = !drained;
    } else if (requests % 4096 === 0) await new Promise((r) => setImmediate(r));
  }
  const after = rssAnonKb(np);
  t.ok(requests > 100_000, `more than 100,000 KeyUpdate requests sent before the connection stalled (${requests})`);
  t.notOk(closedEarly, `the connection was still open while the client sent (${requests} requests)`);
  t.ok(stalled, 'the connection stalled: the server stopped reading a client that does not read');
  // Measured on Node 20: +60 MiB while V8's young generation grew to its
  // default 3 x 16 MiB under this allocation rate (netproc now runs with
  // --max-semi-space-size=1); now +10-20 MiB, all of it in the first
  // requests (the allocators' pools), then flat. The last figure is read
  // after the stall, when netproc has run its full GC for a quiet connection
  // (netproc/garbage.ts): before that, 2-10 MiB of promoted garbage waited
  // for V8's own full GC, and the 8 MiB bound failed about one run in three.
  t.ok(after - before < 24 * 1024, `netproc's anonymous memory ${before} kB after the handshake -> ${after} kB after ${requests} requests: within 24 MiB`);
  t.ok(after - warm < 8 * 1024, `and nearly flat after the first 50,000 requests: ${warm} kB -> ${after} kB, within 8 MiB`);
  const t0 = Date.now();
  const closed = await Promise.race([c.whenClosed().then(() => true), sleep((TIMEOUT_S + 15) * 1000).then(() => false)]);
  t.ok(closed, `-t ${TIMEOUT_S} ended the stalled connection (${Date.now() - t0} ms after it stalled)`);
});
