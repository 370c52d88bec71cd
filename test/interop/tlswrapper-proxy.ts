// -p 1 / -p 2: a PROXY protocol header before the ClientHello, sent by a test
// client over a real TCP connection to our tlswrapper under tcpserver; Node's
// tls.connect then runs over the same socket. prog (print-env.sh) sees the
// header's source as TCPREMOTE* and its destination as TCPLOCAL*. A bad or
// missing header ends the connection before any TLS: exit 111, one log line.
import t, { type Test } from 'tap';
import * as tls from 'node:tls';
import { readFileSync } from 'node:fs';
import { leafCert } from '../lib/certs';
import { progs, tlsAfterRawBytes } from '../lib/clients';
import { hasStackTrace, runDirect } from '../lib/direct';
import { NO_TAP_LOADER, TLSWRAPPER } from '../lib/ours';
import { sleep } from '../lib/sh';
import { serve, superServerMissing, type SuperServer } from '../lib/superserver';

t.setTimeout(120000);
const cert = leafCert('p256', ['localhost']);
const ca = readFileSync(cert.caCert);
const skip = superServerMissing('tcpserver') ?? false;

const SIG = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);
const u16 = (n: number) => [n >> 8, n & 255];
function v2(src: number[], dst: number[], sport: number, dport: number, tlvs: number[] = []): Buffer {
  const fam = src.length === 4 ? 0x11 : 0x21;
  const body = [...src, ...dst, ...u16(sport), ...u16(dport), ...tlvs];
  return Buffer.from([...SIG, 0x21, fam, ...u16(body.length), ...body]);
}
const v2local = () => Buffer.from([...SIG, 0x20, 0x00, 0, 0]);

/** Open TCP, write the header (in pieces, with a pause between), then TLS over that socket; all prog wrote. */
async function viaProxy(port: number, pieces: Buffer[], pauseMs = 0): Promise<string[]> {
  return (await tlsAfterRawBytes(port, pieces, { ca, servername: 'localhost' }, pauseMs)).split('\n');
}

const tcp = (env: string[]) => env.filter((l) => /^(PROTO|TCP(LOCAL|REMOTE)(IP|PORT)|TCPREMOTEHOST|TCPREMOTEADDR|REMOTE_ADDR)=/.test(l));

function serveProxy(t: Test, version: string): Promise<SuperServer> {
  // What a super-server (or a wrapper before us) says about the remote side describes the proxy.
  return serve(t, 'tcpserver', [...NO_TAP_LOADER, 'TCPREMOTEHOST=lb.test', 'REMOTE_ADDR=127.0.0.1', TLSWRAPPER, '-vv', '-p', version, '-f', cert.pem, progs.env]);
}

t.test('-p 1 under tcpserver', { skip }, async (t) => {
  const s = await serveProxy(t, '1');
  const v4 = await viaProxy(s.port, [Buffer.from('PROXY TCP4 192.0.2.10 198.51.100.20 40001 443\r\n')]);
  t.same(tcp(v4), ['PROTO=TCP', 'TCPLOCALIP=198.51.100.20', 'TCPLOCALPORT=443', 'TCPREMOTEIP=192.0.2.10', 'TCPREMOTEPORT=40001'],
    'TCP4: source is TCPREMOTE*, destination TCPLOCAL*; the proxy\'s TCPREMOTEHOST and REMOTE_ADDR gone');
  t.ok(v4.includes('SSL_PROTOCOL=TLSv1.3'), 'TLS ran after the header');
  const v6 = await viaProxy(s.port, [Buffer.from('PROXY TCP6 2001:DB8::A ::ffff:10.1.2.3 65535 8443\r\n')]);
  t.same(tcp(v6), ['PROTO=TCP', 'TCPLOCALIP=10.1.2.3', 'TCPLOCALPORT=8443', 'TCPREMOTEIP=2001:db8::a', 'TCPREMOTEPORT=65535'], 'TCP6, normalised');
  const split = await viaProxy(s.port, [Buffer.from('PROXY TCP4 192.0.2'), Buffer.from('.11 198.51.100.21 40002 444\r\n')], 300);
  t.same(tcp(split), ['PROTO=TCP', 'TCPLOCALIP=198.51.100.21', 'TCPLOCALPORT=444', 'TCPREMOTEIP=192.0.2.11', 'TCPREMOTEPORT=40002'], 'header split across two writes');
  const unknown = await viaProxy(s.port, [Buffer.from('PROXY UNKNOWN\r\n')]);
  t.ok(tcp(unknown).includes('TCPREMOTEIP=127.0.0.1'), 'UNKNOWN: no addresses, tcpserver\'s variables');
  t.ok(unknown.includes('TCPREMOTEHOST=lb.test'), 'UNKNOWN: the super-server\'s variables stay');
  t.notOk(hasStackTrace(s.output()), 'no stack trace');
});

t.test('-p 2 under tcpserver', { skip }, async (t) => {
  const s = await serveProxy(t, '2');
  const v4 = await viaProxy(s.port, [v2([192, 0, 2, 30], [198, 51, 100, 40], 50000, 443)]);
  t.same(tcp(v4), ['PROTO=TCP', 'TCPLOCALIP=198.51.100.40', 'TCPLOCALPORT=443', 'TCPREMOTEIP=192.0.2.30', 'TCPREMOTEPORT=50000'], 'TCP4');
  const ip6 = (last: number) => [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, last];
  const tlvs = [0x01, ...u16(2), 0x68, 0x32, 0x04, ...u16(0)];
  const v6 = await viaProxy(s.port, [v2(ip6(5), ip6(6), 1, 65535, tlvs)]);
  t.same(tcp(v6), ['PROTO=TCP', 'TCPLOCALIP=2001:db8::6', 'TCPLOCALPORT=65535', 'TCPREMOTEIP=2001:db8::5', 'TCPREMOTEPORT=1'], 'TCP6 with TLVs skipped');
  const h = v2([192, 0, 2, 31], [198, 51, 100, 41], 50001, 8443);
  const split = await viaProxy(s.port, [h.subarray(0, 7), h.subarray(7)], 300);
  t.same(tcp(split), ['PROTO=TCP', 'TCPLOCALIP=198.51.100.41', 'TCPLOCALPORT=8443', 'TCPREMOTEIP=192.0.2.31', 'TCPREMOTEPORT=50001'], 'header split inside the signature');
  const local = await viaProxy(s.port, [v2local()]);
  t.ok(tcp(local).includes('TCPREMOTEIP=127.0.0.1'), 'LOCAL: no addresses, tcpserver\'s variables');
  t.notOk(hasStackTrace(s.output()), 'no stack trace');
});

/** tlswrapper run directly on a TCP connection: write bytes (or run TLS with nothing before it), see it end. */
async function refused(t: Test, version: string, bytes: Buffer | null, reason: RegExp): Promise<void> {
  const run = await runDirect(['-vv', '-p', version, '-f', cert.pem, progs.env], { deadlineMs: 20000 });
  const received: Buffer[] = [];
  let tlsError: Error | null = null;
  if (bytes) {
    run.client.on('data', (d: Buffer) => received.push(d));
    run.client.write(bytes);
  } else {
    const s = tls.connect({ socket: run.client, ca, servername: 'localhost' });
    s.on('error', (e) => (tlsError = e));
    s.on('data', (d: Buffer) => received.push(d));
  }
  const exit = await run.exit;
  t.equal(exit.code, 111, `exit 111 (${run.stderr().trim()})`);
  t.ok(exit.ms < 10000, 'at once, not at the handshake timeout');
  t.equal(Buffer.concat(received).length, 0, 'nothing sent back: no TLS, no prog');
  t.match(run.stderr(), reason, 'the reason in one log line');
  t.equal(run.stderr().split('\n').filter((l) => /PROXY header/.test(l)).length, 1, 'one line about it');
  t.notOk(hasStackTrace(run.stderr()), 'no stack trace');
  t.notMatch(run.stderr(), /handshake done/);
  if (!bytes) {
    await sleep(100);
    t.ok(tlsError, 'the TLS client sees the connection end');
  }
  run.client.destroy();
}

t.test('bad or missing header: exit 111 before any TLS', async (t) => {
  await refused(t, '1', null, /PROXY header: v1: bad signature/);
  await refused(t, '2', null, /PROXY header: v2: bad signature/);
  await refused(t, '1', Buffer.from('PROXY TCP4 192.0.2.1 198.51.100.1 http 443\r\n'), /PROXY header: v1: bad port/);
  await refused(t, '1', Buffer.from(`PROXY UNKNOWN ${'x'.repeat(120)}`), /PROXY header: v1: too long/);
  await refused(t, '1', v2([1, 2, 3, 4], [5, 6, 7, 8], 1, 2), /PROXY header: v1: bad signature/);
  await refused(t, '2', Buffer.from('PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\n'), /PROXY header: v2: bad signature/);
  await refused(t, '2', Buffer.from([...SIG, 0x21, 0x11, 0xff, 0xff]), /PROXY header: v2: too long/);
});

t.test('-p with anything but 1 or 2: usage error, exit 100', async (t) => {
  for (const v of ['0', '3', 'x']) {
    const run = await runDirect(['-p', v, '-f', cert.pem, progs.env], { deadlineMs: 20000 });
    const exit = await run.exit;
    t.equal(exit.code, 100, `-p ${v}`);
    t.match(run.stderr(), new RegExp(`unable to parse proxy-protocol version from the string '${v}'`));
    run.client.destroy();
  }
});

// Issue 12: the PROXY header is part of the handshake's time. A header
// trickled a byte a second is ended by netproc itself at -T (exit 111 with its
// reason at -vv), not by the entry's backstop after it.
t.test('-p: a trickled header is ended at -T by netproc', async (t) => {
  const run = await runDirect(['-vv', '-T', '2', '-p', '1', '-f', cert.pem, progs.env], { deadlineMs: 20000 });
  const header = Buffer.from('PROXY TCP4 192.0.2.10 198.51.100.20 40001 443\r\n');
  let i = 0;
  const trickle = setInterval(() => {
    if (i < header.length && !run.client.destroyed) run.client.write(header.subarray(i, ++i));
  }, 500);
  const t0 = Date.now();
  const exit = await run.exit;
  clearInterval(trickle);
  const secs = (Date.now() - t0) / 1000;
  t.equal(exit.code, 111, 'exit 111');
  // Roomy for a loaded machine (netproc's own start counts here); the reason below is what tells netproc's timer from the entry's backstop.
  t.ok(secs < 10, `ended long before the header would be complete (${secs.toFixed(1)} s; the header takes ${header.length / 2} s)`);
  t.match(run.stderr(), /timeout waiting for the PROXY header/, 'netproc says why');
  run.client.destroy();
});
