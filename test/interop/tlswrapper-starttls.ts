// Delayed encryption through the real binary (wire/starttls.ts is the
// contract): prog (test/lib/progs/starttls-prog.mjs) speaks SMTP-ish lines in
// plaintext, then asks for TLS on its control descriptor, -n (0x00, 0x01 with
// the facts, Debian's older final-reply protocol, EOF = stay plaintext) or
// --ucspi-tls ('y', 'Y', EOF = declined, anything else ends the connection).
// Clients: `openssl s_client -starttls smtp` and a Node line client that
// upgrades its own socket with tls.connect({ socket }). Under tcpserver for
// the normal flows; runDirect where the exit status is the point.
import t, { type Test } from 'tap';
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import * as tls from 'node:tls';
import { leafCert } from '../lib/certs';
import { clientCert, clientAnchorFile } from '../lib/clientcerts';
import { opensslClient, type TlsVersion } from '../lib/clients';
import { hasStackTrace, runDirect, type DirectRun } from '../lib/direct';
import { NO_TAP_LOADER, ours, TLSWRAPPER } from '../lib/ours';
import { repoRoot, sleep } from '../lib/sh';
import { serve, superServerMissing, type SuperServer } from '../lib/superserver';

t.setTimeout(120000);
const server = leafCert('p256', ['localhost']);
const ca = fs.readFileSync(server.caCert);
const PROG = path.join(repoRoot, 'test', 'lib', 'progs', 'starttls-prog.mjs');
const prog = (mode: string, exit = 0) => [process.execPath, PROG, mode, String(exit)];
const skip = superServerMissing('tcpserver') ?? false;

const anchors = clientAnchorFile('ecdsa');
const alice = clientCert({ ca: 'ecdsa', keyType: 'p256', subject: '/C=CZ/O=Example/CN=alice' });
const aliceCert = fs.readFileSync(alice.chainFile, 'utf8');
const aliceKey = fs.readFileSync(alice.keyFile, 'utf8');
const ALICE_HEX = createHash('sha256').update(alice.leafDer).digest('hex');
const CIPHER: Record<TlsVersion, string> = { '1.3': 'TLS_CHACHA20_POLY1305_SHA256', '1.2': 'ECDHE-ECDSA-CHACHA20-POLY1305' };
/** Spoofed copies of the facts in the super-server's environment: none may reach prog. */
const SPOOFED = ['SSL_PROTOCOL=SSLv3', 'SSL_CLIENT_VERIFY=SUCCESS', 'SSL_PEER_CERT_CN=root', 'SHA256=00'];
/** The super-server's environment: nothing but PATH (this machine has SSL_CERT_FILE and the like). */
const ENV = { PATH: '/usr/bin:/bin' };

/** tlswrapper under tcpserver with the fixture as prog. */
function serveProg(t: Test, args: string[], mode: string): Promise<SuperServer> {
  return serve(t, 'tcpserver', [...NO_TAP_LOADER, ...SPOOFED, TLSWRAPPER, '-vv', ...args, '-f', server.pem, ...prog(mode)], { env: ENV });
}

/** Bytes from a stream, consumed a match at a time. */
class Reader {
  buf = Buffer.alloc(0);
  ended = false;
  private wake: (() => void) | null = null;
  constructor(readonly stream: net.Socket | tls.TLSSocket) {
    stream.on('data', (d: Buffer) => this.push(d));
    stream.on('end', () => this.finish());
    stream.on('close', () => this.finish());
    stream.on('error', () => this.finish());
  }
  private push(d: Buffer): void {
    this.buf = Buffer.concat([this.buf, d]);
    this.wake?.();
  }
  private finish(): void {
    this.ended = true;
    this.wake?.();
  }
  /** Everything up to and including `needle`; throws on EOF or timeout first. */
  async until(needle: string | Buffer, ms = 10000): Promise<Buffer> {
    const deadline = Date.now() + ms;
    for (;;) {
      const i = this.buf.indexOf(needle);
      if (i >= 0) {
        const end = i + Buffer.byteLength(needle);
        const got = this.buf.subarray(0, end);
        this.buf = this.buf.subarray(end);
        return got;
      }
      if (this.ended) throw new Error(`EOF before ${JSON.stringify(needle.toString())}; got ${JSON.stringify(this.buf.toString('latin1'))}`);
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${JSON.stringify(needle.toString())}; got ${JSON.stringify(this.buf.toString('latin1'))}`);
      await new Promise<void>((r) => {
        this.wake = r;
        setTimeout(r, 50);
      });
      this.wake = null;
    }
  }
  async line(ms?: number): Promise<string> {
    return (await this.until('\n', ms)).toString('latin1');
  }
  /** Resolves with what is left once the stream ended (or after ms: then `ended` is false). */
  async rest(ms = 10000): Promise<Buffer> {
    const deadline = Date.now() + ms;
    while (!this.ended && Date.now() < deadline) await sleep(20);
    const got = this.buf;
    this.buf = Buffer.alloc(0);
    return got;
  }
}

/** The status line the fixture writes first over TLS. */
interface Status {
  mode: string;
  envAtStart: string[];
  ack?: string;
  after?: string;
  discarded?: string;
  fd6?: string;
  fd0?: string;
  leak?: string;
  facts?: string;
}
function parseStatus(line: string): Status {
  if (!line.startsWith('TLS {')) throw new Error(`not a status line: ${JSON.stringify(line)}`);
  return JSON.parse(line.slice(4)) as Status;
}

async function connectPlain(port: number): Promise<{ sock: net.Socket; r: Reader }> {
  const sock = net.connect(port, '127.0.0.1');
  sock.on('error', () => {});
  await once(sock, 'connect');
  sock.setNoDelay(true);
  return { sock, r: new Reader(sock) };
}

/** Plaintext: banner, ENV (prog's environment at start), EHLO. */
async function greet(r: Reader, sock: net.Socket): Promise<Record<string, string>> {
  await r.until('220 starttls-prog');
  await r.line();
  sock.write('ENV\r\n');
  const text = (await r.until('250 ENV\r\n')).toString();
  const env: Record<string, string> = {};
  for (const l of text.split('\r\n')) {
    const m = /^250-([^=]+)=(.*)$/.exec(l);
    if (m) env[m[1]] = m[2];
  }
  sock.write('EHLO client.test\r\n');
  await r.until('250 STARTTLS\r\n');
  return env;
}

interface TlsOpts {
  version?: TlsVersion;
  servername?: string;
  withCert?: boolean;
}
async function upgrade(sock: net.Socket, o: TlsOpts = {}): Promise<{ s: tls.TLSSocket; r: Reader }> {
  const s = tls.connect({
    socket: sock, ca, servername: o.servername ?? 'localhost',
    ...(o.version ? { minVersion: `TLSv${o.version}` as const, maxVersion: `TLSv${o.version}` as const } : {}),
    ...(o.withCert ? { cert: aliceCert, key: aliceKey } : {}),
  });
  const r = new Reader(s);
  await new Promise<void>((resolve, reject) => {
    s.once('secureConnect', () => resolve());
    s.once('error', reject);
  });
  return { s, r };
}

/** Send bytes over TLS and read their echo back (exact). */
async function echo(s: tls.TLSSocket, r: Reader, data: Buffer): Promise<Buffer> {
  s.write(data);
  const got: Buffer[] = [];
  let n = 0;
  const deadline = Date.now() + 10000;
  while (n < data.length && Date.now() < deadline) {
    if (r.buf.length) {
      got.push(r.buf);
      n += r.buf.length;
      r.buf = Buffer.alloc(0);
    } else if (r.ended) break;
    else await sleep(10);
  }
  return Buffer.concat(got);
}

function facts(version: TlsVersion, sni: string | null, withCert: boolean): string {
  const f: [string, string][] = [['SSL_PROTOCOL', `TLSv${version}`], ['SSL_CIPHER', CIPHER[version]]];
  if (sni) f.push(['SSL_TLS_SNI_SERVERNAME', sni]);
  if (withCert) {
    f.push(['SSL_CLIENT_VERIFY', 'SUCCESS'], ['SSL_PEER_CERT_HASH', `SHA256:${ALICE_HEX}`],
      ['SSL_PEER_CERT_SUBJECT', 'C=CZ, O=Example, CN=alice'], ['SSL_PEER_CERT_CN', 'alice'], ['SHA256', ALICE_HEX]);
  } else f.push(['SSL_CLIENT_VERIFY', 'NONE']);
  return f.map(([k, v]) => `${k}=${v}\0`).join('') + '\0';
}

/** openssl s_client -starttls smtp (it sends its ClientHello the moment it has read the 220). */
function opensslStarttls(o: Parameters<typeof opensslClient>[0]): ReturnType<typeof opensslClient> {
  return opensslClient({ ...o, extra: ['-starttls', 'smtp'] });
}

const sslVars = (keys: string[]) => keys.filter((k) => k.startsWith('SSL_') || k === 'SHA256');
const PAYLOAD = Buffer.concat([Buffer.from('line one\r\nSTARTTLS\r\n'), Buffer.from([...Array(256).keys()]), randomBytes(100_000), Buffer.from('\r\nlast\n')]);

// ---------------------------------------------------------------- -n

t.test('-n 0x00 under tcpserver: openssl s_client -starttls smtp, TLS 1.3 and 1.2', { skip }, async (t) => {
  const s = await serveProg(t, ['-n', '-T', '3'], 'n0');
  for (const version of ['1.3', '1.2'] as const) {
    const input = 'hello over TLS\nsecond line\n';
    const r = await opensslStarttls({ port: s.port, caFile: server.caCert, tls: version, input, until: 'second line\n' });
    t.equal(r.protocol, `TLSv${version}`, `TLS ${version} negotiated after STARTTLS`);
    t.equal(r.verified, true, 'certificate verified');
    const [status, ...rest] = r.data.split('\r\n');
    const st = parseStatus(status);
    t.equal(rest.join('\r\n'), input, 'the TLS data echoed exactly');
    t.equal(st.ack, '00', 'fd 6: the ack is one 0x00');
    t.equal(st.after, '', 'then EOF on fd 6 (no facts asked)');
    t.equal(st.discarded, '', 'nothing pipelined');
    t.ok(st.envAtStart.includes('PROTO') && st.envAtStart.includes('TCPREMOTEIP'), 'prog has PROTO and TCP*');
    t.same(sslVars(st.envAtStart), [], 'prog starts without any SSL_* (the spoofed ones removed)');
  }
  t.notOk(hasStackTrace(s.output()), 'no stack trace');
});

t.test('-n 0x00 under tcpserver: a Node line client, exact data both ways', { skip }, async (t) => {
  const s = await serveProg(t, ['-n'], 'n0');
  const { sock, r } = await connectPlain(s.port);
  const env = await greet(r, sock);
  t.match(env, { PROTO: 'TCP', TCPLOCALIP: '127.0.0.1', TCPLOCALPORT: String(s.port), TCPREMOTEIP: '127.0.0.1', TCPREMOTEPORT: String(sock.localPort) },
    'prog\'s environment at start: the connection\'s addresses');
  t.same(sslVars(Object.keys(env)), [], 'no SSL_* at start');
  t.notOk('SSLCTLFD' in env, 'no UCSPI-TLS variables under -n');
  sock.write('STARTTLS\r\n');
  t.equal((await r.until('\r\n')).toString(), '220 go ahead\r\n', 'the last plaintext reply');
  await sleep(100);
  t.equal(r.buf.length, 0, 'nothing else in plaintext before the handshake');
  sock.removeAllListeners('data');
  const { s: tlsSock, r: tr } = await upgrade(sock);
  const st = parseStatus(await tr.line());
  t.same([st.ack, st.after, st.discarded], ['00', '', ''], 'ack 0x00, EOF, nothing discarded');
  const back = await echo(tlsSock, tr, PAYLOAD);
  t.ok(back.equals(PAYLOAD), `${PAYLOAD.length} bytes echoed exactly (got ${back.length})`);
  tlsSock.end();
  t.equal((await tr.rest()).length, 0, 'nothing after the echo');
});

for (const version of ['1.3', '1.2'] as const) {
  t.test(`-n 0x01: the facts on fd 6 after the ack, TLS ${version}`, { skip }, async (t) => {
    const plain = await serveProg(t, ['-n'], 'n1');
    const withA = await serveProg(t, ['-n', '-a', anchors], 'n1');
    for (const [s, sni, withCert] of [[plain, 'localhost', false], [plain, null, false], [withA, 'localhost', true]] as const) {
      const what = `${withCert ? '-a, client certificate' : 'no -a'}, ${sni ? 'SNI' : 'no SNI'}`;
      const { sock, r } = await connectPlain(s.port);
      await greet(r, sock);
      sock.write('STARTTLS\r\n');
      await r.until('220 go ahead\r\n');
      sock.removeAllListeners('data');
      const { s: tlsSock, r: tr } = await upgrade(sock, { version, servername: sni ?? '', withCert }).catch((e) => { t.comment(s.output()); throw e; });
      const st = parseStatus(await tr.line());
      t.equal(st.ack, '00', `${what}: the ack is 0x00`);
      t.equal(st.after, facts(version, sni, withCert), `${what}: the facts, exactly, then EOF`);
      t.same(sslVars(st.envAtStart), [], `${what}: no SSL_* in prog's environment`);
      const back = await echo(tlsSock, tr, Buffer.from('after the facts\n'));
      t.equal(back.toString(), 'after the facts\n', `${what}: data after the facts`);
      tlsSock.end();
      await tr.rest();
    }
  });
}

t.test('-n, Debian\'s older protocol: the final reply on fd 5 goes out in plaintext, no ack', { skip }, async (t) => {
  const s = await serveProg(t, ['-n'], 'debian');
  const { sock, r } = await connectPlain(s.port);
  await greet(r, sock);
  sock.write('STARTTLS\r\n');
  t.equal((await r.until('\r\n')).toString(), '220 ready to start TLS\r\n', 'prog\'s final reply, from fd 5, in plaintext');
  await sleep(100);
  t.equal(r.buf.length, 0, 'nothing else before the handshake');
  sock.removeAllListeners('data');
  const { s: tlsSock, r: tr } = await upgrade(sock);
  const st = parseStatus(await tr.line());
  t.equal(st.fd6, '', 'fd 6: EOF without an ack byte');
  const back = await echo(tlsSock, tr, PAYLOAD);
  t.ok(back.equals(PAYLOAD), 'TLS data echoed exactly');
  tlsSock.end();
  await tr.rest();
});

t.test('-n, EOF on fd 5 without a byte: plaintext to the end, prog\'s status is tlswrapper\'s', async (t) => {
  const run = await runDirect(['-vv', '-n', '-f', server.pem, ...prog('decline', 7)], { deadlineMs: 20000 });
  const r = new Reader(run.client);
  await r.until('220 starttls-prog decline\r\n');
  run.client.write('STARTTLS\r\n');
  t.equal(await r.line(), '454 TLS not available fd6=\r\n', 'prog declines; fd 6 ends without a byte');
  run.client.write('still plain\r\n');
  t.equal(await r.line(), '250 echo: still plain\r\n', 'plaintext goes on');
  run.client.write('QUIT\r\n');
  t.equal(await r.line(), '221 bye\r\n');
  t.equal((await r.rest()).length, 0, 'then the connection ends');
  const exit = await run.exit;
  t.equal(exit.code, 7, `exit 7, prog's (${run.stderr().trim()})`);
  t.notMatch(run.stderr(), /handshake done/, 'no TLS at all');
  t.notOk(hasStackTrace(run.stderr()), 'no stack trace');
});

/** STARTTLS with a pipelined line in the same write, then TLS: the fixture's status and what came back over TLS. */
async function pipelined(t: Test, args: string[], mode: string): Promise<{ st: Status; tlsData: string; stderr: string }> {
  const run = await runDirect(['-vv', ...args, '-f', server.pem, ...prog(mode, 3)], { deadlineMs: 20000 });
  t.teardown(() => run.client.destroy());
  const r = new Reader(run.client);
  await r.until('220 starttls-prog');
  await r.line();
  run.client.write('STARTTLS\r\nINJECTED\r\n');
  const reply = (await r.until('\r\n')).toString();
  t.equal(reply, '220 go ahead\r\n', 'STARTTLS answered');
  await sleep(50);
  t.equal(r.buf.length, 0, 'INJECTED never answered in plaintext');
  run.client.removeAllListeners('data');
  const { s, r: tr } = await upgrade(run.client);
  const st = parseStatus(await tr.line());
  s.write('after TLS\n');
  await tr.until('after TLS\n');
  s.end();
  const tlsData = (await tr.rest()).toString('latin1');
  const exit = await run.exit;
  t.equal(exit.code, 3, 'prog\'s status');
  return { st, tlsData, stderr: run.stderr() };
}

t.test('-n: pipelined STARTTLS\\r\\nINJECTED\\r\\n never passes for TLS data', async (t) => {
  // Where INJECTED goes depends on timing: netproc drops what it has not
  // delivered yet ("dropped N bytes" at -vv); what it delivered is in prog's
  // stdin, prog's to discard (this fixture does, as tlswrapper-smtp does).
  const where: string[] = [];
  for (let i = 0; i < 3; i++) {
    const { st, tlsData, stderr } = await pipelined(t, ['-n'], 'n0');
    t.notMatch(tlsData, /INJECTED/, `run ${i}: INJECTED not among the TLS data`);
    const dropped = /dropped \d+ bytes/.test(stderr);
    t.ok(dropped || /INJECTED/.test(st.discarded ?? ''), `run ${i}: INJECTED dropped by netproc or discarded by prog`);
    where.push(dropped ? 'netproc dropped it' : 'prog discarded it');
  }
  t.comment(`where INJECTED went: ${where.join(', ')}`);
});

/** STARTTLS and a large burst of INJECTED lines in one write: more than prog's stdin pipe holds, so netproc holds some when the switch comes. */
async function pipelinedBurst(t: Test, args: string[], mode: string): Promise<{ stderr: string; code: number | null }> {
  const run = await runDirect(['-vv', ...args, '-f', server.pem, ...prog(mode, 3)], { deadlineMs: 20000 });
  t.teardown(() => run.client.destroy());
  const r = new Reader(run.client);
  await r.until(`220 starttls-prog ${mode}\r\n`);
  run.client.write(Buffer.concat([Buffer.from('STARTTLS\r\n'), Buffer.from('INJECTED\r\n'.repeat(100_000))]));
  await r.until('220 go ahead\r\n');
  // No TLS from us: the burst's tail, still in the TCP buffers, reaches the TLS engine as garbage anyway.
  const exit = await run.exit;
  return { stderr: run.stderr(), code: exit.code };
}

t.test('-n: a 1 MB pipelined burst: the ack comes, and prog never reads INJECTED after it', async (t) => {
  // The race this guards (a write to prog queued when the switch comes) showed in about one run of six: six runs.
  for (let i = 0; i < 6; i++) {
    const { stderr, code } = await pipelinedBurst(t, ['-n', '-t', '3'], 'n0');
    t.equal(code, 3, `run ${i}: prog's status`);
    const st = /starttls-prog: \{"mode":"n0","ack":"([0-9a-f]*)".*"discarded":"(.{0,8})/.exec(stderr);
    t.ok(st, `run ${i}: prog got past the ack read`);
    t.equal(st?.[1], '00', `run ${i}: the ack came (not EOF at -t: ${/dropped \d+ bytes[^\n]*/.exec(stderr)?.[0] ?? 'nothing dropped'})`);
    const phase = /starttls-prog: TLS phase read (\d+) bytes(, INJECTED among them)?/.exec(stderr);
    t.ok(phase, `run ${i}: prog reported its TLS phase`);
    if (st?.[1] === '00') {
      t.equal(st[2], 'INJECTED', `run ${i}: prog discarded the burst's head from its pipe`);
      t.notOk(phase?.[2], `run ${i}: no INJECTED byte reached prog after the ack (${phase?.[1]} bytes after the drain)`);
    }
  }
});

t.test('-n 0x01: a pipelined burst, then TLS: prog drops stdin until fd 6 ends and no INJECTED is TLS data', async (t) => {
  // Small enough that netproc has read all of it from the socket when the switch
  // comes (prog's pipe and netproc's hold take it), so the ClientHello is next.
  for (const kb of [20, 150]) {
    const run = await runDirect(['-vv', '-n', '-f', server.pem, ...prog('n1', 3)], { deadlineMs: 20000 });
    t.teardown(() => run.client.destroy());
    const r = new Reader(run.client);
    await r.until('220 starttls-prog n1\r\n');
    run.client.write(Buffer.concat([Buffer.from('STARTTLS\r\n'), Buffer.from('INJECTED\r\n'.repeat(kb * 100))]));
    await r.until('220 go ahead\r\n');
    run.client.removeAllListeners('data');
    const { s, r: tr } = await upgrade(run.client).catch((e) => { t.comment(run.stderr()); throw e; });
    const st = parseStatus(await tr.line());
    t.equal(st.after, facts('1.3', 'localhost', false), `${kb} KB: the facts, exactly`);
    t.match(st.discarded, /^INJECTED/, `${kb} KB: prog dropped what it found on stdin (${st.discarded?.length} bytes)`);
    const back = await echo(s, tr, Buffer.from('after TLS\n'));
    t.equal(back.toString(), 'after TLS\n', `${kb} KB: TLS data exactly, no INJECTED before it`);
    s.end();
    await tr.rest();
    t.equal((await run.exit).code, 3, `${kb} KB: prog's status`);
    t.match(run.stderr(), /starttls-prog: TLS phase read 10 bytes\n/, `${kb} KB: prog read only the 10 TLS bytes after fd 6 ended`);
  }
});

t.test('--ucspi-tls: a 1 MB pipelined burst ends on fd 0, never on SSLREADFD', async (t) => {
  const { stderr, code } = await pipelinedBurst(t, ['--ucspi-tls'], 'ucspi-y');
  t.equal(code, 3, 'prog\'s status');
  t.match(stderr, /starttls-prog: \{"mode":"ucspi-y","fd0":"INJECTED/, 'the pipelined bytes came on fd 0, before its EOF');
  const phase = /starttls-prog: TLS phase read (\d+) bytes(, INJECTED among them)?/.exec(stderr);
  t.ok(phase, 'prog reported its TLS phase');
  t.equal(phase?.[1], '0', 'nothing at all on SSLREADFD');
});

t.test('-n: garbage instead of a ClientHello ends the connection with prog\'s status', async (t) => {
  // -T 3: the garbage may beat prog's switch command to netproc (the client
  // writes it as soon as it reads "220 go ahead"); it is then plaintext for
  // prog, which discards it, and the missing ClientHello ends at -T.
  const run = await runDirect(['-vv', '-n', '-T', '3', '-f', server.pem, ...prog('n0', 5)], { deadlineMs: 20000 });
  const r = new Reader(run.client);
  await r.until('220 starttls-prog n0\r\n');
  run.client.write('STARTTLS\r\n');
  await r.until('220 go ahead\r\n');
  run.client.write('this is no ClientHello\r\n');
  const rest = await r.rest(15000);
  t.ok(r.ended, 'the connection ends');
  t.ok(rest.length === 0 || (rest[0] === 0x15 && rest[1] === 0x03), `then nothing, or an alert record (${rest.toString('hex')})`);
  const exit = await run.exit;
  t.equal(exit.code, 5, `exit 5, prog's (${run.stderr().trim()})`);
  t.ok(exit.ms < 10000, `no hang (${exit.ms} ms)`);
  t.notMatch(run.stderr(), /handshake done/);
  t.notOk(hasStackTrace(run.stderr()), 'no stack trace');
});

// Regression (fixed in 1a07821): the ack waited for a plaintext write to prog's
// stdin still in flight; with the pipe full that write waited for prog, and
// prog (draining after the ack, as documented) waited for the ack: nothing
// moved until -t ended the connection, and prog read EOF instead of 0x00.
t.test('-n and --ucspi-tls: a gap between the final reply and the command must not lose the ClientHello', async (t) => {
  // The contract lets prog write its last plaintext reply, then the command.
  // A prog descheduled between the two (300 ms here) lets a prompt client's
  // ClientHello reach netproc first. Before 1a07821 netproc handed it to
  // prog's stdin as plaintext, prog (rightly) discarded it, and the handshake
  // timed out; openssl s_client -starttls lost that race under load.
  for (const [args, mode] of [[['-n'], 'n0'], [['--ucspi-tls'], 'ucspi-y']] as const) {
    const run = await runDirect(['-vv', ...args, '-T', '2', '-f', server.pem, process.execPath, PROG, mode, '0', '300'], { deadlineMs: 20000 });
    const r = new Reader(run.client);
    await r.until(`220 starttls-prog ${mode}\r\n`);
    run.client.write('STARTTLS\r\n');
    await r.until('220 go ahead\r\n');
    run.client.removeAllListeners('data');
    // At once, as openssl s_client -starttls does.
    const s = tls.connect({ socket: run.client, ca, servername: 'localhost' });
    s.on('error', () => {});
    const ok = await new Promise<boolean>((res) => {
      s.once('secureConnect', () => res(true));
      s.once('close', () => res(false));
      setTimeout(() => res(false), 6000);
    });
    t.ok(ok, `${mode}: TLS although prog paused 300 ms between its reply and its command`);
    s.destroy();
    const exit = await run.exit;
    t.ok(exit.ms < 10000, `${mode}: ends either way, no hang (${exit.ms} ms)`);
  }
});

t.test('-n -T 1: the handshake timeout counts from the switch', async (t) => {
  // 2 s of plaintext first (longer than -T), then TLS still works.
  const run = await runDirect(['-vv', '-n', '-T', '1', '-f', server.pem, ...prog('n0', 4)], { deadlineMs: 20000 });
  const r = new Reader(run.client);
  await r.until('220 starttls-prog n0\r\n');
  for (let i = 0; i < 5; i++) {
    await sleep(400);
    run.client.write('NOOP\r\n');
    await r.until('250 ok\r\n');
  }
  run.client.write('STARTTLS\r\n');
  await r.until('220 go ahead\r\n');
  run.client.removeAllListeners('data');
  const { s, r: tr } = await upgrade(run.client);
  t.equal(parseStatus(await tr.line()).ack, '00', 'TLS after 2 s of plaintext under -T 1');
  t.equal((await echo(s, tr, Buffer.from('x\n'))).toString(), 'x\n', 'data flows');
  s.end();
  await tr.rest();
  t.equal((await run.exit).code, 4, 'prog\'s status');

  // No ClientHello after the switch: cut after -T.
  const idle = await runDirect(['-vv', '-n', '-T', '1', '-f', server.pem, ...prog('n0', 4)], { deadlineMs: 20000 });
  const ir = new Reader(idle.client);
  await ir.until('220 starttls-prog n0\r\n');
  idle.client.write('STARTTLS\r\n');
  await ir.until('220 go ahead\r\n');
  const switched = Date.now();
  await ir.rest(15000);
  const ms = Date.now() - switched;
  t.ok(ir.ended, 'the connection ends');
  t.ok(ms >= 800 && ms < 4000, `about 1 s after the switch (${ms} ms)`);
  const exit = await idle.exit;
  t.equal(exit.code, 4, `exit: prog's status (${idle.stderr().trim()})`);
  t.match(idle.stderr(), /handshake timeout/, 'says why (-vv)');
});

t.test('-n -t 1 in plaintext: chatter keeps it alive, an idle client is cut', async (t) => {
  const run = await runDirect(['-vv', '-n', '-t', '1', '-f', server.pem, ...prog('n0', 6)], { deadlineMs: 20000 });
  const r = new Reader(run.client);
  await r.until('220 starttls-prog n0\r\n');
  for (let i = 0; i < 5; i++) {
    await sleep(400);
    run.client.write('NOOP\r\n');
    await r.until('250 ok\r\n');
  }
  t.pass('2 s of chatter, 0.4 s apart, under -t 1');
  const idleFrom = Date.now();
  await r.rest(15000);
  const ms = Date.now() - idleFrom;
  t.ok(r.ended, 'the idle connection ends');
  t.ok(ms >= 800 && ms < 4000, `about 1 s after the last byte (${ms} ms)`);
  const exit = await run.exit;
  t.equal(exit.code, 6, `exit: prog's status (${run.stderr().trim()})`);
  t.match(run.stderr(), /timeout/, 'says why (-vv)');
});

/** tlswrapper with extra descriptors open from its parent (stdio index 5 or 6). */
function runWithFds(args: string[], openFds: number[]): Promise<DirectRun> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer({ pauseOnConnect: true });
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      const client = net.connect(port, '127.0.0.1');
      client.on('error', () => {});
      srv.once('connection', (sock) => {
        srv.close();
        const started = Date.now();
        const stdio: ('pipe' | 'ignore' | net.Socket)[] = [sock, sock, 'pipe', 'ignore', 'ignore', 'ignore', 'ignore'];
        for (const fd of openFds) stdio[fd] = 'pipe';
        const [command, ...argv] = ours(args);
        const child = spawn(command, argv, { stdio, detached: true });
        sock.destroy();
        let stderr = '';
        child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
        const deadline = setTimeout(() => {
          try { process.kill(-child.pid!, 'SIGKILL'); } catch { /* gone */ }
        }, 20000);
        const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null; ms: number }>((res) =>
          child.on('close', (code, signal) => { clearTimeout(deadline); res({ code, signal, ms: Date.now() - started }); }));
        resolve({ client, child, exit, stderr: () => stderr, port });
      });
    });
  });
}

// Regression (fixed in 1a07821): libuv's uv_disable_stdio_inheritance(), which
// Node calls at start-up, makes fds 0-15 close-on-exec, so "an inherited fd is
// never close-on-exec" never found one: prog started with its own fds 5/6.
t.test('-n with fd 5 or 6 inherited open: exit 111, one fatal line, no prog', async (t) => {
  for (const fd of [5, 6]) {
    const run = await runWithFds(['-n', '-f', server.pem, ...prog('n0', 0)], [fd]);
    const r = new Reader(run.client);
    // Either tlswrapper refuses (exits) or prog starts and sends its banner.
    let banner = false;
    const early = await Promise.race([run.exit, r.until('\r\n', 5000).then(() => { banner = true; return null; }, () => null)]);
    run.client.destroy(); // a prog that did start gets EOF and exits
    const exit = early ?? (await run.exit);
    t.equal(exit.code, 111, `fd ${fd}: exit 111`);
    const lines = run.stderr().split('\n').filter(Boolean);
    t.equal(lines.length, 1, `fd ${fd}: one line (${run.stderr().trim()})`);
    t.match(lines[0], new RegExp(`fatal.*fd ${fd}`), `fd ${fd}: a fatal line naming fd ${fd}`);
    t.notOk(banner, `fd ${fd}: no banner, so no prog`);
  }
  // Without -n an inherited fd 5 is nobody's business.
  const run = await runWithFds(['-f', server.pem, 'cat'], [5]);
  const { s, r } = await upgrade(run.client);
  t.equal((await echo(s, r, Buffer.from('fine\n'))).toString(), 'fine\n', 'without -n: fd 5 open is fine');
  s.end();
  t.equal((await run.exit).code, 0, 'exit 0');
});

// ---------------------------------------------------------------- --ucspi-tls

t.test('--ucspi-tls y under tcpserver: SSLCTLFD/SSLREADFD/SSLWRITEFD, fds 0/1 end at the switch', { skip }, async (t) => {
  const s = await serveProg(t, ['--ucspi-tls', '-T', '3'], 'ucspi-y');
  const { sock, r } = await connectPlain(s.port);
  const env = await greet(r, sock);
  t.match(env, { SSLCTLFD: '5', SSLREADFD: '6', SSLWRITEFD: '7', PROTO: 'TCP', TCPREMOTEPORT: String(sock.localPort) }, 'the UCSPI-TLS variables and TCP*');
  t.same(sslVars(Object.keys(env)), [], 'no SSL_* at start');
  sock.write('STARTTLS\r\n');
  t.equal((await r.until('\r\n')).toString(), '220 go ahead\r\n');
  sock.removeAllListeners('data');
  const { s: tlsSock, r: tr } = await upgrade(sock);
  const st = parseStatus(await tr.line());
  t.equal(st.fd0, '', 'fd 0: EOF at the switch');
  t.equal(st.facts, '', 'y: nothing on fd 5, then EOF');
  t.equal(st.leak, 'EPIPE', 'prog\'s write on fd 1 after the switch: EPIPE, nobody reads it');
  const back = await echo(tlsSock, tr, PAYLOAD);
  t.ok(back.equals(PAYLOAD), 'TLS data over fds 6/7, echoed exactly');
  t.notOk(back.includes('LEAK'), 'fd 1 after the switch never reaches the client');
  tlsSock.end();
  t.equal((await tr.rest()).length, 0, 'nothing more');

  const o = await opensslStarttls({ port: s.port, caFile: server.caCert, input: 'via openssl\n', until: 'via openssl\n' });
  t.equal(o.protocol, 'TLSv1.3', 'openssl s_client -starttls smtp');
  const [status, ...rest] = o.data.split('\r\n');
  t.equal(parseStatus(status).fd0, '', 'fd 0 ended');
  t.equal(rest.join('\r\n'), 'via openssl\n', 'echoed exactly');
  t.notOk(hasStackTrace(s.output()), 'no stack trace');
});

for (const version of ['1.3', '1.2'] as const) {
  t.test(`--ucspi-tls Y: the facts on fd 5 after the handshake, TLS ${version}`, { skip }, async (t) => {
    const plain = await serveProg(t, ['--ucspi-tls'], 'ucspi-Y');
    const withA = await serveProg(t, ['--ucspi-tls', '-a', anchors], 'ucspi-Y');
    for (const [s, withCert] of [[plain, false], [withA, true]] as const) {
      const { sock, r } = await connectPlain(s.port);
      await greet(r, sock);
      sock.write('STARTTLS\r\n');
      await r.until('220 go ahead\r\n');
      sock.removeAllListeners('data');
      const { s: tlsSock, r: tr } = await upgrade(sock, { version, withCert }).catch((e) => { t.comment(s.output()); throw e; });
      const st = parseStatus(await tr.line());
      t.equal(st.facts, facts(version, 'localhost', withCert), `${withCert ? 'with' : 'without'} a client certificate: the facts, exactly`);
      t.same(sslVars(st.envAtStart), [], 'no SSL_* in the environment');
      t.equal((await echo(tlsSock, tr, Buffer.from('ok\n'))).toString(), 'ok\n');
      tlsSock.end();
      await tr.rest();
    }
  });
}

t.test('--ucspi-tls: pipelined bytes are never read from SSLREADFD', async (t) => {
  for (let i = 0; i < 3; i++) {
    const { st, tlsData, stderr } = await pipelined(t, ['--ucspi-tls'], 'ucspi-y');
    t.notMatch(tlsData, /INJECTED/, `run ${i}: INJECTED not among the TLS data`);
    const dropped = /dropped \d+ bytes/.test(stderr);
    t.ok(dropped || /^INJECTED\r\n$/.test(st.fd0 ?? ''), `run ${i}: dropped by netproc, or on fd 0 before its EOF (fd0=${JSON.stringify(st.fd0)})`);
  }
});

t.test('--ucspi-tls: EOF on fd 5 before a command declines TLS, plaintext goes on', async (t) => {
  const run = await runDirect(['-vv', '--ucspi-tls', '-f', server.pem, ...prog('ucspi-eof', 8)], { deadlineMs: 20000 });
  const r = new Reader(run.client);
  await r.until('220 starttls-prog ucspi-eof\r\n');
  run.client.write('STARTTLS\r\n');
  t.equal(await r.line(), '454 TLS not available\r\n');
  run.client.write('plain\r\n');
  t.equal(await r.line(), '250 echo: plain\r\n', 'plaintext goes on');
  run.client.write('QUIT\r\n');
  t.equal(await r.line(), '221 bye\r\n');
  await r.rest();
  t.equal((await run.exit).code, 8, 'prog\'s status');
  t.notOk(hasStackTrace(run.stderr()), 'no stack trace');
});

t.test('--ucspi-tls: a bad command byte ends the connection', async (t) => {
  const run = await runDirect(['-vv', '--ucspi-tls', '-f', server.pem, ...prog('ucspi-bad', 9)], { deadlineMs: 20000 });
  const r = new Reader(run.client);
  await r.until('220 starttls-prog ucspi-bad\r\n');
  run.client.write('STARTTLS\r\n');
  await r.until('220 go ahead\r\n');
  run.client.write('NOOP\r\n');
  const rest = await r.rest(15000);
  t.ok(r.ended, 'the connection ends');
  t.notMatch(rest.toString(), /250 ok/, 'no more plaintext served');
  const exit = await run.exit;
  t.ok(exit.code === 9 || exit.code === 111, `exit prog's status or 111 (${exit.code})`);
  t.ok(exit.ms < 10000, `no hang (${exit.ms} ms)`);
  t.match(run.stderr(), /not y or Y/, 'says why (-vv)');
  t.notOk(hasStackTrace(run.stderr()), 'no stack trace');
});

t.test('-U with -n or --ucspi-tls: usage error, exit 100', async (t) => {
  for (const mode of ['-n', '--ucspi-tls']) {
    const run = await runDirect([mode, '-a', anchors, '-U', 'commonName', '-f', server.pem, ...prog('n0')], { deadlineMs: 20000 });
    const exit = await run.exit;
    t.equal(exit.code, 100, `${mode} -U: exit 100`);
    t.match(run.stderr(), /-U can't be used with/, 'says why');
    run.client.destroy();
  }
});
