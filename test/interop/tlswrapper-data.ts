// Our tlswrapper moving data for real: 100 MB each way at once through `cat`
// under tcpserver, TLS 1.3 half-close in both directions, and the exit status
// (prog's status, 111 for a failed handshake or a timeout, 100 for usage) seen
// by running bin/tlswrapper directly on one end of a loopback TCP connection,
// plus the -T (handshake) and -t (network) timeouts.
import t from 'tap';
import { spawn } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tls from 'node:tls';
import { leafCert } from '../lib/certs';
import { gnutlsClient, nodeTlsConnect, opensslClient, type ClientResult } from '../lib/clients';
import { ours } from '../lib/ours';
import { describe, run, waitFor } from '../lib/sh';
import { serve, superServerMissing } from '../lib/superserver';

t.setTimeout(280000);
const cert = leafCert('p256', ['localhost']);
const NO_STACK = /\n\s+at .+:\d+:\d+|TypeError|RangeError|ReferenceError|node:internal/;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tlswrapper-data-'));
t.teardown(() => fs.rmSync(tmp, { recursive: true, force: true }));

// ------------------------------------------------------------ direct runs

interface Direct { code: number | null; signal: NodeJS.Signals | null; stderr: string; ms: number }

/**
 * Run bin/tlswrapper with fd 0 and 1 on the server end of a real loopback TCP
 * connection (as a super-server would) and `client` on the other end.
 * Resolves with tlswrapper's exit status once both are done.
 */
async function direct<T>(args: string[], client: (port: number) => Promise<T>, timeoutMs = 20000): Promise<Direct & { client: T }> {
  const server = net.createServer({ pauseOnConnect: true });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  const started = Date.now();
  const exit = new Promise<Direct>((resolve) => {
    server.once('connection', (sock) => {
      server.close();
      const argv = ours(args);
      const child = spawn(argv[0], argv.slice(1), { stdio: [sock, sock, 'pipe'], detached: true });
      sock.destroy(); // the child has its own copy of the fd
      let stderr = '';
      child.stderr!.on('data', (d: Buffer) => { stderr += d.toString(); });
      const kill = setTimeout(() => { try { process.kill(-child.pid!, 'SIGKILL'); } catch { /* gone */ } }, timeoutMs);
      child.on('close', (code, signal) => { clearTimeout(kill); resolve({ code, signal, stderr, ms: Date.now() - started }); });
    });
  });
  const c = await client(port);
  const e = await exit;
  return { ...e, client: c };
}

/** A Node TLS 1.3 client on `port`: handshake, then `then(socket)`; resolves with what it saw. */
function tlsClient(port: number, then: (s: tls.TLSSocket) => void = () => {}) {
  return new Promise<{ secure: boolean; data: string; error?: string | undefined; ended: boolean; ms: number }>((resolve) => {
    const t0 = Date.now();
    let data = ''; let secure = false; let error: string | undefined; let ended = false;
    const s = tls.connect({ port, host: '127.0.0.1', servername: 'localhost', ca: fs.readFileSync(cert.caCert), minVersion: 'TLSv1.3' });
    s.on('secureConnect', () => { secure = true; then(s); });
    s.on('data', (d: Buffer) => { data += d.toString(); });
    s.on('end', () => { ended = true; });
    s.on('error', (e) => { error = e.message; });
    s.on('close', () => resolve({ secure, data, error, ended, ms: Date.now() - t0 }));
    setTimeout(() => s.destroy(), 15000).unref();
  });
}

/** A plain TCP client: write `bytes` (or nothing), then wait for the server to close. */
function rawClient(port: number, bytes?: Buffer) {
  return new Promise<{ got: Buffer; ms: number; closedBy: 'server' | 'timeout' }>((resolve) => {
    const t0 = Date.now(); const got: Buffer[] = [];
    const s = net.connect(port, '127.0.0.1', () => { if (bytes) s.write(bytes); });
    s.on('data', (d) => got.push(d));
    s.on('error', () => { /* reset counts as closed */ });
    const tm = setTimeout(() => { s.destroy(); resolve({ got: Buffer.concat(got), ms: Date.now() - t0, closedBy: 'timeout' }); }, 15000);
    s.on('close', () => { clearTimeout(tm); resolve({ got: Buffer.concat(got), ms: Date.now() - t0, closedBy: 'server' }); });
  });
}

t.test('exit status, running bin/tlswrapper on a connected socket', async (t) => {
  await t.test('prog exits 7 → tlswrapper exits 7', async (t) => {
    const r = await direct(['-v', '-f', cert.pem, 'sh', '-c', 'echo bye; exit 7'], (port) => tlsClient(port));
    t.equal(r.code, 7, r.stderr);
    t.ok(r.client.secure, 'handshake done');
    t.equal(r.client.data, 'bye\n', "prog's output reached the client");
    t.ok(r.client.ended, 'then close_notify (end)');
    t.match(r.stderr, /^tlswrapper: info: handshake done: TLSv1\.3 TLS_CHACHA20_POLY1305_SHA256 x25519 sni=localhost$/m);
  });
  await t.test('prog exits 0 → 0', async (t) => {
    const r = await direct(['-f', cert.pem, 'true'], (port) => tlsClient(port));
    t.equal(r.code, 0, r.stderr);
    t.equal(r.stderr, '', 'nothing logged at the default level');
  });
  await t.test('prog killed by a signal → 111', async (t) => {
    const r = await direct(['-f', cert.pem, 'sh', '-c', 'kill -9 $$'], (port) => tlsClient(port));
    t.equal(r.code, 111, r.stderr);
    t.notMatch(r.stderr, NO_STACK);
  });
  await t.test('client sends garbage (plain HTTP) → 111, connection closed, no prog', async (t) => {
    const marker = path.join(tmp, 'prog-ran');
    const r = await direct(['-vv', '-f', cert.pem, 'sh', '-c', `touch ${marker}`],
      (port) => rawClient(port, Buffer.from('GET / HTTP/1.0\r\nHost: x\r\n\r\n')));
    t.equal(r.code, 111, r.stderr);
    t.equal(r.client.closedBy, 'server', 'the server closed the connection');
    t.ok(r.client.got.length === 0 || r.client.got[0] === 0x15, `nothing or an alert record back: ${r.client.got.toString('hex')}`);
    t.notOk(fs.existsSync(marker), 'prog never ran');
    t.notMatch(r.stderr, NO_STACK, 'no stack trace');
  });
  await t.test('client sends a TLS record of garbage → 111 with an alert', async (t) => {
    const rec = Buffer.concat([Buffer.from([0x16, 0x03, 0x01, 0x00, 0x20]), crypto.randomBytes(32)]);
    const r = await direct(['-vv', '-f', cert.pem, 'cat'], (port) => rawClient(port, rec));
    t.equal(r.code, 111, r.stderr);
    t.equal(r.client.got[0], 0x15, `an alert record: ${r.client.got.toString('hex')}`);
    t.notMatch(r.stderr, NO_STACK);
  });
  await t.test('client closes before finishing the handshake → 111', async (t) => {
    const r = await direct(['-f', cert.pem, 'cat'], (port) => new Promise<void>((res) => {
      const s = net.connect(port, '127.0.0.1', () => { s.end(Buffer.from([0x16, 0x03, 0x01])); });
      s.on('close', () => res()); s.on('error', () => res()); s.resume();
    }));
    t.equal(r.code, 111, r.stderr);
  });
  for (const bad of [['-X'], ['-t', '0'], ['-T', 'abc'], ['-c', 'RC4'], ['-e', 'x447'], ['-U', 'commonName'], ['-m', 'ssl3'], ['-m', 'tls13', '-M', 'tls12'], []]) {
    await t.test(`usage error: ${bad.join(' ') || 'no prog'} → 100, a fatal line, no stack trace`, async (t) => {
      const args = bad.length ? [...bad, '-f', cert.pem, 'cat'] : ['-f', cert.pem];
      const r = await run(ours(args), { timeoutMs: 10000 });
      t.equal(r.code, 100, describe(r));
      t.equal(r.out, '', 'nothing on stdout (it is the socket)');
      // Like Debian's: optionally the usage line, then one fatal line naming the problem.
      const lines = r.err.split('\n').filter(Boolean);
      t.ok(lines.length === 1 || (lines.length === 2 && lines[0].startsWith('tlswrapper: usage: tlswrapper [options]')),
        `one fatal line, maybe after the usage line: ${JSON.stringify(r.err)}`);
      t.match(lines[lines.length - 1] ?? '', /^tlswrapper: fatal: \S/, 'the last line is "tlswrapper: fatal: <reason>"');
      t.notMatch(r.err, NO_STACK);
    });
  }
});

t.test('timeouts', async (t) => {
  await t.test('-T 2: a client that connects and sends nothing is dropped after ~2 s, exit 111', async (t) => {
    const r = await direct(['-vv', '-T', '2', '-f', cert.pem, 'cat'], (port) => rawClient(port));
    t.equal(r.code, 111, r.stderr);
    t.equal(r.client.closedBy, 'server');
    t.ok(r.client.ms >= 1900 && r.client.ms <= 4500, `closed after ${r.client.ms} ms`);
    t.notMatch(r.stderr, NO_STACK);
  });
  await t.test('-T 2 under a burst of 16 silent clients at once (tcpserver): each is dropped within T + 1.5 s of its connect, however late its processes started', async (t) => {
    // -T counts from the entry's start (netproc gets that moment), and the
    // entry's own backstop is the same deadline (+0.5 s). It used to count from
    // netproc's jail: under a burst the last clients went on for T plus their
    // processes' start-up.
    const s = await serve(t, 'tcpserver', ours(['-T', '2', '-f', cert.pem, 'cat']));
    const clients = Array.from({ length: 16 }, () => new Promise<number>((resolve) => {
      const sock = net.connect(s.port, '127.0.0.1');
      let connected = 0;
      sock.on('connect', () => (connected = Date.now()));
      sock.on('error', () => {});
      sock.on('close', () => resolve(connected ? Date.now() - connected : -1));
      setTimeout(() => sock.destroy(), 30_000).unref();
    }));
    const ms = await Promise.all(clients);
    t.ok(ms.every((m) => m >= 1900), `none before -T: ${ms.join(', ')} ms`);
    t.ok(ms.every((m) => m <= 3500), `every one within T + 1.5 s of its connect (slowest ${Math.max(...ms)} ms)`);
  });
  await t.test('-T 2: a client stuck half way through the handshake is dropped too', async (t) => {
    // The first 5 bytes of a ClientHello record header, then nothing.
    const r = await direct(['-T', '2', '-f', cert.pem, 'cat'], (port) => rawClient(port, Buffer.from([0x16, 0x03, 0x01, 0x01, 0x00])));
    t.equal(r.code, 111, r.stderr);
    t.ok(r.client.ms >= 1900 && r.client.ms <= 4500, `closed after ${r.client.ms} ms`);
  });
  await t.test('-t 2: idle after the handshake → close_notify and close after ~2 s', async (t) => {
    const r = await direct(['-v', '-t', '2', '-f', cert.pem, 'cat'], (port) => tlsClient(port, (s) => { s.write('one\n'); }));
    t.ok(r.client.secure);
    t.equal(r.client.data, 'one\n', 'echo before the timeout');
    t.ok(r.client.ended, 'close_notify / end from the server');
    t.equal(r.client.error, undefined, 'no error on the client side');
    t.ok(r.client.ms >= 1900 && r.client.ms <= 4500, `closed ${r.client.ms} ms after connect`);
    t.notMatch(r.stderr, NO_STACK);
  });
  await t.test('-T 2: a client trickling its ClientHello (a byte every 300 ms) is still cut at ~2 s', async (t) => {
    const r = await direct(['-T', '2', '-t', '60', '-f', cert.pem, 'cat'], (port) => new Promise<{ ms: number }>((resolve) => {
      const t0 = Date.now();
      const sock = net.connect(port, '127.0.0.1');
      const hello = Buffer.concat([Buffer.from([0x16, 3, 1, 0x01, 0x00, 0x01, 0x00, 0x00, 0xfc, 3, 3]), crypto.randomBytes(200)]);
      let i = 0;
      const tick = setInterval(() => { if (i < hello.length && !sock.destroyed) sock.write(hello.subarray(i, ++i)); }, 300);
      sock.on('error', () => {});
      sock.on('close', () => { clearInterval(tick); resolve({ ms: Date.now() - t0 }); });
      setTimeout(() => sock.destroy(), 12000).unref();
    }));
    t.equal(r.code, 111, r.stderr);
    t.ok(r.client.ms >= 1900 && r.client.ms <= 4500, `closed after ${r.client.ms} ms`);
  });

  await t.test('-t 2: a client that stops reading while prog floods is dropped too', async (t) => {
    // The paused client cannot see the close (it reads nothing), so watch tlswrapper itself.
    let sock: tls.TLSSocket | undefined;
    const r = await direct(['-v', '-t', '2', '-f', cert.pem, 'sh', '-c', 'exec cat /dev/zero'], (port) => new Promise<boolean>((resolve) => {
      sock = tls.connect({ port, host: '127.0.0.1', servername: 'localhost', ca: fs.readFileSync(cert.caCert), minVersion: 'TLSv1.3' });
      sock.on('secureConnect', () => { sock!.pause(); resolve(true); }); // read nothing: the server's writes back up
      sock.on('error', () => resolve(false));
    }), 15000);
    sock?.destroy();
    t.ok(r.client, 'handshake done');
    t.equal(r.signal, null, 'tlswrapper exited by itself (not killed by the test deadline)');
    t.ok(r.ms <= 6500, `tlswrapper exited ${r.ms} ms after connect (-t 2, then at most 2 s to flush)`);
    t.match(r.stderr, /^tlswrapper: netproc: info: network timeout$/m, 'network timeout logged at -v');
    // prog's fate (SIGPIPE → 111, or its own status on EPIPE) is prog's business.
    t.ok(r.code !== null, `exit status ${r.code}`);
  });

  await t.test('-t 2: traffic keeps the connection alive past 2 s', async (t) => {
    const r = await direct(['-t', '2', '-f', cert.pem, 'cat'], (port) => tlsClient(port, (s) => {
      let n = 0;
      const tick = setInterval(() => { s.write(`tick ${n}\n`); if (++n === 5) { clearInterval(tick); s.end(); } }, 900);
    }));
    t.equal(r.client.data, 'tick 0\ntick 1\ntick 2\ntick 3\ntick 4\n', 'all ticks echoed over 4.5 s');
    t.equal(r.code, 0, r.stderr);
  });
});

// ------------------------------------------------------------ under tcpserver

const missing = superServerMissing('tcpserver');
t.test('under tcpserver', { skip: missing ?? false }, async (t) => {
  await t.test('100 MB each way at the same time through cat', async (t) => {
    const s = await serve(t, 'tcpserver', ours(['-f', cert.pem, 'cat']));
    const c = await nodeTlsConnect({ port: s.port, caFile: cert.caCert, tls: '1.3' });
    const TOTAL = 100 * 1024 * 1024; const CHUNK = 1 << 16;
    const sent = crypto.createHash('sha256'); const recv = crypto.createHash('sha256');
    let got = 0;
    const done = new Promise<void>((resolve, reject) => {
      c.socket.removeAllListeners('data'); // the helper would keep every byte
      c.socket.on('data', (d: Buffer) => { recv.update(d); got += d.length; });
      c.socket.on('end', () => resolve());
      c.socket.on('close', () => resolve());
      setTimeout(() => reject(new Error(`stalled at ${got} bytes`)), 200000).unref();
    });
    const t0 = Date.now();
    for (let off = 0; off < TOTAL; off += CHUNK) {
      const chunk = crypto.randomBytes(CHUNK);
      sent.update(chunk);
      if (!c.socket.write(chunk)) await new Promise((r) => c.socket.once('drain', r));
    }
    c.socket.end(); // close_notify: cat sees EOF, exits, the server closes
    await done;
    const secs = (Date.now() - t0) / 1000;
    t.equal(got, TOTAL, `received ${got} bytes`);
    t.equal(recv.digest('hex'), sent.digest('hex'), `sha256 of both directions equal (${secs.toFixed(1)} s, ${(2 * TOTAL / 1048576 / secs).toFixed(0)} MB/s both ways)`);
    c.destroy();
  });

  await t.test('2 MB through openssl (padded records, small records) and gnutls-cli', async (t) => {
    const s = await serve(t, 'tcpserver', ours(['-f', cert.pem, 'cat']));
    // Printable lines: s_client and gnutls-cli read their stdin as a stream of bytes either way.
    const data = Buffer.from(Array.from({ length: 2 * 1024 * 1024 / 64 }, (_, i) => `${String(i).padStart(8, '0')} ${'abcdefghijklmnopqrstuvwxyz'.repeat(3).slice(0, 54)}\n`).join(''));
    const variants: Array<[string, () => Promise<ClientResult>]> = [
      ['openssl -record_padding 512', () => opensslClient({ port: s.port, caFile: cert.caCert, tls: '1.3', input: data, until: data.length, timeoutMs: 30000, extra: ['-record_padding', '512'] })],
      ['openssl -max_send_frag 512', () => opensslClient({ port: s.port, caFile: cert.caCert, tls: '1.3', input: data, until: data.length, timeoutMs: 30000, extra: ['-max_send_frag', '512'] })],
      // (not --recordsize=512: gnutls-cli then crawls at ~40 KB/s against openssl s_server too)
      ['gnutls-cli', () => gnutlsClient({ port: s.port, caFile: cert.caCert, tls: '1.3', input: data, until: data.length, timeoutMs: 30000 })],
    ];
    for (const [label, go] of variants) {
      const r = await go();
      t.equal(r.code, 0, `${label}: ${describe(r).slice(0, 600)}`);
      t.equal(r.stdout.length, data.length, `${label}: ${data.length} bytes back`);
      t.ok(r.stdout.equals(data), `${label}: the same bytes`);
    }
  });

  await t.test('half-close: client sends then close_notify; prog sees EOF and still answers', async (t) => {
    const s = await serve(t, 'tcpserver', ours(['-f', cert.pem, 'sh', '-c', 'wc -c | tr -d " "; echo done']));
    const c = await nodeTlsConnect({ port: s.port, caFile: cert.caCert, tls: '1.3' });
    const data = crypto.randomBytes(300000);
    await c.send(data);
    const all = await c.endAndReadAll(15000); // socket.end() = close_notify + FIN, then read on
    t.equal(all.toString(), `${data.length}\ndone\n`, 'the answer after our close_notify arrived in full');
  });

  await t.test('half-close with a slow answer after EOF', async (t) => {
    const s = await serve(t, 'tcpserver', ours(['-f', cert.pem, 'sh', '-c', 'cat >/dev/null; sleep 1; echo late']));
    const c = await nodeTlsConnect({ port: s.port, caFile: cert.caCert, tls: '1.3' });
    await c.send('x'.repeat(1000));
    const all = await c.endAndReadAll(15000);
    t.equal(all.toString(), 'late\n');
  });

  await t.test("prog's EOF → the client gets close_notify", async (t) => {
    const s = await serve(t, 'tcpserver', ours(['-f', cert.pem, 'sh', '-c', 'echo hi']));
    const msg = path.join(tmp, 'msg.txt');
    const r = await opensslClient({ port: s.port, caFile: cert.caCert, tls: '1.3', extra: ['-msgfile', msg, '-msg'] });
    t.equal(r.code, 0, describe(r));
    t.equal(r.data, 'hi\n', 'exact bytes');
    const trace = fs.readFileSync(msg, 'utf8');
    t.match(trace, /<<< TLS 1\.3, Alert \[length 0002\], warning close_notify/, 'close_notify received');
    t.notMatch(trace, /<<< .*Alert.*fatal/, 'no fatal alert');
    // And with Node: 'end' without any error.
    const n = await nodeTlsConnect({ port: s.port, caFile: cert.caCert, tls: '1.3' });
    const got = await n.readToClose();
    t.equal(got.toString(), 'hi\n');
  });

  await t.test('half-close, then 20 MB from prog after EOF', async (t) => {
    const s = await serve(t, 'tcpserver', ours(['-f', cert.pem, 'sh', '-c', 'cat >/dev/null; head -c 20000000 /dev/zero; echo end']));
    const c = await nodeTlsConnect({ port: s.port, caFile: cert.caCert, tls: '1.3' });
    await c.send('go');
    const all = await c.endAndReadAll(30000);
    t.equal(all.length, 20000004, 'every byte after our close_notify');
    t.equal(all.subarray(-4).toString(), 'end\n');
  });

  await t.test('prog closes its stdout but keeps running: the client gets close_notify at once', async (t) => {
    const s = await serve(t, 'tcpserver', ours(['-f', cert.pem, 'sh', '-c', 'echo bye; exec >&-; sleep 3']));
    const c = await nodeTlsConnect({ port: s.port, caFile: cert.caCert, tls: '1.3' });
    const t0 = Date.now();
    await new Promise<void>((r) => c.socket.once('end', () => r()));
    t.equal(c.received().toString(), 'bye\n');
    t.ok(Date.now() - t0 < 2000, `end after ${Date.now() - t0} ms, not when prog exits`);
    c.destroy();
  });

  await t.test('TCP FIN without close_notify: nothing hangs', async (t) => {
    const s = await serve(t, 'tcpserver', ours(['-vv', '-f', cert.pem, 'sh', '-c', 'wc -c | tr -d " "']));
    // A TCP relay between the Node client and the server, so the client's TCP
    // write side can be shut down without a close_notify record.
    let upstream!: net.Socket;
    let serverEnded = 0;
    const relay = net.createServer((down) => {
      upstream = net.connect(s.port, '127.0.0.1');
      down.pipe(upstream, { end: false });
      upstream.pipe(down);
      upstream.on('end', () => { serverEnded = Date.now(); });
      down.on('error', () => {}); upstream.on('error', () => {});
    });
    await new Promise<void>((r) => relay.listen(0, '127.0.0.1', r));
    t.teardown(() => relay.close());
    const c = await nodeTlsConnect({ port: (relay.address() as net.AddressInfo).port, caFile: cert.caCert, tls: '1.3' });
    await c.send('12345');
    await new Promise((r) => setTimeout(r, 300));
    const t0 = Date.now();
    upstream.end(); // FIN, no close_notify
    await waitFor(() => serverEnded > 0, 6000);
    t.ok(serverEnded > 0 && serverEnded - t0 < 4000, `the server ended the connection ${serverEnded ? serverEnded - t0 : '>6000'} ms after the FIN`);
    await waitFor(() => /without close_notify/.test(s.output()), 3000);
    t.match(s.output(), /^tlswrapper: netproc: debug: client closed the connection without close_notify$/m, 'said so at -vv');
    t.comment(`client got ${JSON.stringify(c.received().toString())} (prog saw EOF)`);
    t.notMatch(s.output(), NO_STACK);
    c.destroy();
  });

  // Issue 12: the log said "without close_notify" after a close_notify too.
  await t.test('close_notify, then FIN: the log says so, not "without close_notify"', async (t) => {
    const s = await serve(t, 'tcpserver', ours(['-vv', '-f', cert.pem, 'sh', '-c', 'wc -c | tr -d " "']));
    const c = await nodeTlsConnect({ port: s.port, caFile: cert.caCert, tls: '1.3' });
    await c.send('12345');
    c.socket.end(); // close_notify, then FIN
    t.equal((await c.readToClose()).toString(), '5\n', 'prog saw the 5 bytes and EOF');
    await waitFor(() => /client closed the connection/.test(s.output()), 5000);
    t.match(s.output(), /^tlswrapper: netproc: debug: client closed the connection after its close_notify$/m);
    t.notMatch(s.output(), /without close_notify/);
    c.destroy();
  });

  await t.test('prog reading nothing and writing a lot, then exiting', async (t) => {
    const s = await serve(t, 'tcpserver', ours(['-f', cert.pem, 'sh', '-c', 'head -c 5000000 /dev/zero; echo end']));
    const c = await nodeTlsConnect({ port: s.port, caFile: cert.caCert, tls: '1.3' });
    const got = await c.readToClose(30000);
    t.equal(got.length, 5000004, 'every byte before the close');
    t.equal(got.subarray(-4).toString(), 'end\n');
  });
});
