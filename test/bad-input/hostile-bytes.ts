// Hostile and broken input on the network side of the real binary: each gets a
// TLS alert or a close, exit 111 (prog never ran), no hang, no stack trace.
import * as crypto from 'node:crypto';
import * as tls from 'node:tls';
import t, { type Test } from 'tap';
import { leafCert } from '../lib/certs';
import { hasStackTrace, runDirect, type DirectRun } from '../lib/direct';

const cert = leafCert('p256');
const ALERT = 21;

/** Everything the server sent until it closed the connection. */
function readAll(run: DirectRun): Promise<Buffer> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    run.client.on('data', (d: Buffer) => chunks.push(d));
    run.client.on('close', () => resolve(Buffer.concat(chunks)));
  });
}

/** The alert description in the first record, if that record is a fatal alert. */
function firstAlert(bytes: Buffer): number | undefined {
  if (bytes.length >= 7 && bytes[0] === ALERT && bytes.readUInt16BE(3) === 2 && bytes[5] === 2) return bytes[6];
  return undefined;
}

function record(type: number, body: Buffer, version = 0x0301): Buffer {
  const h = Buffer.alloc(5);
  h[0] = type;
  h.writeUInt16BE(version, 1);
  h.writeUInt16BE(body.length, 3);
  return Buffer.concat([h, body]);
}

async function expectRejected(
  t: Test,
  name: string,
  send: (run: DirectRun) => void,
  want: { alert?: number; closeOnly?: boolean; withinMs?: number; args?: string[] },
): Promise<void> {
  const run = await runDirect([...(want.args ?? ['-vv', '-T', '10']), '-f', cert.pem, 'cat']);
  const received = readAll(run);
  send(run);
  const [bytes, exit] = await Promise.all([received, run.exit]);
  t.equal(exit.code, 111, `${name}: exit 111 (stderr: ${run.stderr().trim()})`);
  t.ok(exit.ms < (want.withinMs ?? 8000), `${name}: ended in ${exit.ms} ms`);
  t.notOk(hasStackTrace(run.stderr()), `${name}: no stack trace`);
  if (want.alert !== undefined) t.equal(firstAlert(bytes), want.alert, `${name}: alert ${want.alert}, got ${bytes.subarray(0, 16).toString('hex')}`);
  if (want.closeOnly) t.ok(bytes.length === 0 || firstAlert(bytes) !== undefined, `${name}: only an alert or nothing before the close`);
}

// The ClientHello bodies below come from a real client (Node's tls), captured.
function captureClientHello(options: tls.ConnectionOptions): Promise<Buffer> {
  return new Promise((resolve) => {
    const { Duplex } = require('node:stream') as typeof import('node:stream');
    const chunks: Buffer[] = [];
    const duplex = new Duplex({
      read() {},
      write(chunk: Buffer, _enc, cb) {
        chunks.push(chunk);
        resolve(Buffer.concat(chunks));
        cb();
      },
    });
    const s = tls.connect({ socket: duplex, rejectUnauthorized: false, servername: 'localhost', ...options });
    s.on('error', () => {});
    setTimeout(() => s.destroy(), 200);
  });
}

t.test('random bytes', async (t) => {
  await expectRejected(t, 'random', (r) => r.client.end(crypto.randomBytes(1000)), { closeOnly: true });
});

t.test('an HTTP request instead of TLS', async (t) => {
  await expectRejected(t, 'http', (r) => r.client.end('GET / HTTP/1.0\r\nHost: x\r\n\r\n'), { closeOnly: true });
});

t.test('an SSLv2-style hello', async (t) => {
  await expectRejected(t, 'sslv2', (r) => r.client.end(Buffer.from('802e0103010015000000100100800200800300800400800500800600400700c0', 'hex')), { closeOnly: true });
});

t.test('a record over 2^14 bytes', async (t) => {
  await expectRejected(t, 'oversized record', (r) => r.client.write(record(22, Buffer.alloc(16385 + 256, 1))), { alert: 22 });
});

t.test('a handshake message claiming 16 MiB', async (t) => {
  const body = Buffer.concat([Buffer.from([1, 0xff, 0xff, 0xff]), Buffer.alloc(100)]);
  await expectRejected(t, 'huge ClientHello', (r) => r.client.write(record(22, body)), { closeOnly: true, withinMs: 8000 });
});

t.test('a truncated ClientHello, then EOF', async (t) => {
  const hello = await captureClientHello({ minVersion: 'TLSv1.3' });
  await expectRejected(t, 'truncated+eof', (r) => r.client.end(hello.subarray(0, 60)), { closeOnly: true });
});

t.test('a ClientHello with its body cut short inside one record', async (t) => {
  const hello = await captureClientHello({ minVersion: 'TLSv1.3' });
  const body = hello.subarray(5, 5 + 80); // handshake header promises far more
  const lying = Buffer.concat([Buffer.from([1, 0, 0, 76]), body.subarray(4)]); // length says 76: extensions cut mid-way
  await expectRejected(t, 'cut body', (r) => r.client.write(record(22, lying)), { alert: 50 });
});

t.test('signature_algorithms no certificate of ours serves: a plaintext handshake_failure, no ServerHello first', async (t) => {
  // The certificate is P-256; the client offers RSA-PSS (pss) only. keyproc
  // says no before anything is sent, so the alert is the first record.
  const hello = await captureClientHello({ minVersion: 'TLSv1.3', sigalgs: 'rsa_pss_pss_sha256' });
  await expectRejected(t, 'no fitting scheme', (r) => r.client.write(hello), { alert: 40 });
});

t.test('a truncated ClientHello, then silence: the handshake timeout (-T 2) ends it', async (t) => {
  const hello = await captureClientHello({ minVersion: 'TLSv1.3' });
  await expectRejected(t, 'silence', (r) => r.client.write(hello.subarray(0, 60)), {
    closeOnly: true,
    withinMs: 5000,
    args: ['-vv', '-T', '2'],
  });
});

t.test('no bytes at all: the handshake timeout (-T 1) ends it', async (t) => {
  const run = await runDirect(['-T', '1', '-f', cert.pem, 'cat']);
  const exit = await run.exit;
  t.equal(exit.code, 111);
  t.ok(exit.ms >= 900 && exit.ms < 4000, `ended after ${exit.ms} ms`);
});

t.test('-m tls13: a TLS 1.2-only client gets protocol_version', async (t) => {
  const hello = await captureClientHello({ maxVersion: 'TLSv1.2' });
  await expectRejected(t, 'tls1.2 only', (r) => r.client.write(hello), { alert: 70, args: ['-vv', '-m', 'tls13'] });
});

t.test('-m tls13: a real TLS 1.2-only client (Node tls) fails with a protocol version alert', async (t) => {
  const run = await runDirect(['-m', 'tls13', '-f', cert.pem, 'cat']);
  const err = await new Promise<Error>((resolve) => {
    const s = tls.connect({ socket: run.client, maxVersion: 'TLSv1.2', rejectUnauthorized: false });
    s.on('error', resolve);
    s.on('secureConnect', () => resolve(new Error('handshake unexpectedly succeeded')));
  });
  t.match(err.message, /protocol version/i);
  t.equal((await run.exit).code, 111);
});

t.test('a ClientHello split over many one-byte records still works', async (t) => {
  const hello = await captureClientHello({ minVersion: 'TLSv1.3' });
  t.equal(hello[0], 22);
  const body = hello.subarray(5);
  const pieces = Buffer.concat([...body].map((b) => record(22, Buffer.from([b]), 0x0303)));
  const run = await runDirect(['-f', cert.pem, 'cat']);
  const received = readAll(run);
  run.client.write(pieces);
  setTimeout(() => run.client.destroy(), 1500);
  const bytes = await received;
  t.equal(bytes[0], 22, 'the server answered with a handshake record (ServerHello)');
  t.equal(bytes[5], 2, 'ServerHello');
  await run.exit;
});

// Issue 12: a plaintext close_notify or user_canceled before the ClientHello
// was waited out until -T (here 30 s); the client is giving up, so we stop now.
t.test('close_notify or user_canceled before the ClientHello: ended at once, not at -T', async (t) => {
  for (const [name, code] of [['close_notify', 0], ['user_canceled', 90]] as const) {
    await expectRejected(t, name, (r) => r.client.write(record(ALERT, Buffer.from([1, code]))), { closeOnly: true, withinMs: 15000, args: ['-vv', '-T', '30'] });
  }
});
