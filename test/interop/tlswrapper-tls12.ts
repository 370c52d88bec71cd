// TLS 1.2 against two wrappers: Debian's tlswrapper (/usr/bin/tlswrapper,
// BearSSL, TLS 1.2 only: the reference every check was first proved on) and
// ours (bin/tlswrapper, default -m tls12 -M tls13).
//
// Per wrapper, under tcpserver:
// - every TLS 1.2 suite (CHACHA20_POLY1305, AES_256_GCM_SHA384,
//   AES_128_GCM_SHA256; ECDHE_ECDSA for EC/Ed25519 certificates, ECDHE_RSA for
//   RSA) × group (x25519, secp256r1 by default; secp384r1, secp521r1 with -e)
//   × certificate (RSA-2048, ECDSA P-256, P-384; Ed25519 for ours only:
//   Debian's refuses that PEM, checked), each combination through all four
//   clients (openssl s_client -tls1_2 -cipher -groups, gnutls-cli
//   +VERS-TLS1.2, curl --tls-max 1.2 --ciphers --curves, Node tls maxVersion
//   TLSv1.2): the exact protocol, suite and group the client reports, the
//   signature's key type, the verified chain, the exact bytes back, and the
//   server's -v log: one line per connection with the asked suite and group.
// - -c order, -s/-S, no CBC suite by default, -f ECDSA -f RSA picked by the
//   client's suites, no session resumption (ours: prog's SSL_* too).
// - through an in-process record proxy (Node's client; its keys from
//   'keylog'): ServerHello.random read raw (no downgrade sentinel from a
//   1.2-max server); a Finished re-encrypted with one bit of verify_data
//   flipped, one bit flipped in the first encrypted record, ChangeCipherSpec
//   before ClientKeyExchange and right after ClientHello: an alert or a
//   close, exit 111, no hang, no stack trace (ours: the RFC's alert); a
//   ClientHello cut into one-byte records still gives a full handshake.
// - renegotiation attempts (openssl "R" counted in its -msg trace, Node's
//   renegotiate()): refused, one ServerHello only. A control against
//   openssl s_server -client_renegotiation shows the trace does count two.
// Ours only (Debian's has no TLS 1.3): 1.3 preferred when both are enabled,
// -M tls12 gives 1.2 to a 1.3-capable client, the downgrade sentinel when a
// 1.2-only client meets our default -M tls13, TLS_FALLBACK_SCSV below our max
// gets inappropriate_fallback, -m tls13 refuses a 1.2-only client with
// protocol_version.
//
// Ours runs only when bin/tlswrapper negotiates TLS 1.2 (probed once with a
// Node maxVersion TLSv1.2 client): a build that answers protocol_version
// skips that section with a reason. Any other probe failure runs it anyway.
import t, { type Test } from 'tap';
import { spawn } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { Duplex } from 'node:stream';
import * as tls from 'node:tls';
import { leafCert, type KeyType, type LeafCert } from '../lib/certs';
import { curlClient, gnutlsClient, nodeTlsConnect, opensslClient, progs, type ClientResult } from '../lib/clients';
import { GNUTLS_GROUP, GROUPS, NODE_GROUP, OPENSSL_GROUP, OPENSSL_TEMP, type Group } from '../lib/groups';
import { ours } from '../lib/ours';
import { describe, repoRoot, which } from '../lib/sh';
import { serve, superServerMissing, type SuperServer } from '../lib/superserver';

t.setTimeout(120000);

const DEBIAN = '/usr/bin/tlswrapper';
const HTTP_ENV = path.join(repoRoot, 'test', 'lib', 'progs', 'http-tls-env.sh');
type WrapperName = 'debian' | 'ours';
interface Wrapper {
  name: WrapperName;
  argv(args: string[]): string[];
  certs: KeyType[];
}
const WRAPPERS: Wrapper[] = [
  { name: 'debian', argv: (a) => [DEBIAN, ...a], certs: ['rsa2048', 'p256', 'p384'] },
  { name: 'ours', argv: ours, certs: ['rsa2048', 'p256', 'p384', 'ed25519'] },
];

type Cipher = 'CHACHA20_POLY1305_SHA256' | 'AES_256_GCM_SHA384' | 'AES_128_GCM_SHA256';
type Client = 'openssl' | 'gnutls' | 'curl' | 'node';
const CIPHERS: Cipher[] = ['CHACHA20_POLY1305_SHA256', 'AES_256_GCM_SHA384', 'AES_128_GCM_SHA256'];
const CLIENTS: Client[] = ['openssl', 'gnutls', 'curl', 'node'];

type Auth = 'ECDSA' | 'RSA';
const authOf = (k: KeyType): Auth => (k === 'rsa2048' ? 'RSA' : 'ECDSA');
/** OpenSSL name of the suite (what openssl, curl and Node's cipher.name print; our -v log too). */
function opensslSuite(c: Cipher, a: Auth): string {
  const bulk = { CHACHA20_POLY1305_SHA256: 'CHACHA20-POLY1305', AES_256_GCM_SHA384: 'AES256-GCM-SHA384', AES_128_GCM_SHA256: 'AES128-GCM-SHA256' }[c];
  return `ECDHE-${a}-${bulk}`;
}
/** IANA name (Node's cipher.standardName). */
const ianaSuite = (c: Cipher, a: Auth) => `TLS_ECDHE_${a}_WITH_${c}`;
const GNUTLS_CIPHER: Record<Cipher, string> = { CHACHA20_POLY1305_SHA256: 'CHACHA20-POLY1305', AES_256_GCM_SHA384: 'AES-256-GCM', AES_128_GCM_SHA256: 'AES-128-GCM' };
/** Debian's -v log: "SSL connection: TLS 1.2, ECDSA + ECDHE + <this>, x25519, sni='…'". */
const DEBIAN_CIPHER: Record<Cipher, string> = {
  CHACHA20_POLY1305_SHA256: 'ChaCha20+Poly1305 (TLS 1.2+)',
  AES_256_GCM_SHA384: 'AES256/GCM (TLS 1.2+)',
  AES_128_GCM_SHA256: 'AES128/GCM (TLS 1.2+)',
};
/**
 * In TLS 1.2 a client's supported_groups also bounds the curve of an ECDSA
 * certificate (RFC 8422 5.1; openssl: "wrong curve"), so a client offers the
 * group under test first and the certificate's curve after it. The servers
 * are set up so that the second can't win: the defaults rank x25519 before
 * secp256r1 and have no P-384; the P-384 and P-521 servers have that one group.
 */
const CERT_CURVE: Partial<Record<KeyType, Group>> = { p256: 'secp256r1', p384: 'secp384r1' };
function offered(g: Group, k: KeyType): Group[] {
  const c = CERT_CURVE[k];
  return c && c !== g ? [g, c] : [g];
}
/** The signature's key type as each client shows it, per certificate. */
const OPENSSL_SIG: Record<KeyType, RegExp> = { rsa2048: /^RSA(-PSS)?$/, p256: /^ECDSA$/, p384: /^ECDSA$/, p521: /^ECDSA$/, ed25519: /^ed25519$/i };
const GNUTLS_SIG: Record<KeyType, RegExp> = { rsa2048: /^RSA-/, p256: /^ECDSA-/, p384: /^ECDSA-/, p521: /^ECDSA-/, ed25519: /^EdDSA-Ed25519$/ };

const NO_STACK = /\n\s+at .+:\d+:\d+|TypeError|RangeError|ReferenceError|node:internal|Unhandled/;

/** One normalised line per finished handshake in a server's -v log: "TLSv1.2 <openssl suite> <group> sni=<name>". */
function handshakes(w: WrapperName, log: string): string[] {
  const out: string[] = [];
  for (const line of log.split('\n')) {
    if (w === 'ours') {
      const m = /^tlswrapper: info: handshake done: (\S+) (\S+) (\S+)(?: sni=(\S+))?$/.exec(line);
      if (m) out.push(`${m[1]} ${m[2]} ${m[3]} sni=${m[4] ?? '-'}`);
    } else {
      const m = /SSL connection: TLS 1\.2, (\w+) \+ ECDHE \+ (.+), (\w+), sni='([^']*)'/.exec(line);
      if (!m) continue;
      const c = (Object.keys(DEBIAN_CIPHER) as Cipher[]).find((k) => DEBIAN_CIPHER[k] === m[2]);
      out.push(`TLSv1.2 ${c ? opensslSuite(c, m[1] as Auth) : `?${m[1]}+${m[2]}`} ${m[3]} sni=${m[4] || '-'}`);
    }
  }
  return out.sort();
}

async function inBatches<T>(items: T[], n: number, fn: (x: T) => Promise<void>): Promise<void> {
  for (let i = 0; i < items.length; i += n) await Promise.all(items.slice(i, i + n).map(fn));
}

// ------------------------------------------------------------ the matrix

interface Combo { cipher: Cipher; group: Group; client: Client }

async function runCombo(t: Test, w: Wrapper, cert: LeafCert, echo: SuperServer, http: SuperServer, c: Combo): Promise<void> {
  const a = authOf(cert.keyType);
  const suite = opensslSuite(c.cipher, a);
  const groups = offered(c.group, cert.keyType);
  const label = `${w.name} ${cert.keyType} ${suite} ${c.group} via ${c.client}`;
  const payload = `${label} ${'y'.repeat(300)} ☃\n`;
  switch (c.client) {
    case 'openssl': {
      const r = await opensslClient({ port: echo.port, caFile: cert.caCert, tls: '1.2', cipher: suite,
        groups: groups.map((g) => OPENSSL_GROUP[g]).join(':'), input: payload, until: payload, timeoutMs: 10000 });
      t.equal(r.code, 0, `${label}: exit 0\n${describe(r)}`);
      t.equal(r.data, payload, `${label}: exact bytes back`);
      t.equal(r.protocol, 'TLSv1.2', `${label}: protocol`);
      t.equal(r.cipher, suite, `${label}: suite`);
      t.equal(/Server Temp Key: ([^\n]+)/.exec(r.err)?.[1]?.trim(), OPENSSL_TEMP[c.group], `${label}: group`);
      t.match(r.signature ?? '', OPENSSL_SIG[cert.keyType], `${label}: signature type ${r.signature}`);
      t.equal(r.verified, true, `${label}: chain + name verified`);
      return;
    }
    case 'gnutls': {
      const priority = `NORMAL:-VERS-ALL:+VERS-TLS1.2:-KX-ALL:+ECDHE-${a}:-CIPHER-ALL:+${GNUTLS_CIPHER[c.cipher]}` +
        `:-GROUP-ALL:${groups.map((g) => `+GROUP-${GNUTLS_GROUP[g]}`).join(':')}`;
      const r = await gnutlsClient({ port: echo.port, caFile: cert.caCert, priority, input: payload, until: payload, timeoutMs: 10000 });
      t.equal(r.code, 0, `${label}: exit 0\n${describe(r)}`);
      t.equal(r.data, payload, `${label}: exact bytes back`);
      t.equal(r.protocol, 'TLSv1.2', `${label}: protocol`);
      t.equal(r.cipher, GNUTLS_CIPHER[c.cipher], `${label}: cipher`);
      t.equal(r.group, GNUTLS_GROUP[c.group], `${label}: group`);
      t.match(r.signature ?? '', GNUTLS_SIG[cert.keyType], `${label}: signature ${r.signature} (the suite's ECDHE_${a})`);
      t.equal(r.verified, true, `${label}: chain + name verified`);
      return;
    }
    case 'curl': {
      const urlPath = `/${cert.keyType}/${c.cipher}/${c.group}`;
      const r = await curlClient({ port: http.port, caFile: cert.caCert, tls: '1.2', ciphers: suite,
        curves: groups.map((g) => OPENSSL_GROUP[g]).join(':'), urlPath, timeoutMs: 10000 });
      t.equal(r.code, 0, `${label}: exit 0\n${describe(r)}`);
      t.equal(r.data, `hello over tls: GET ${urlPath} HTTP/1.1\n`, `${label}: body`);
      t.equal(r.protocol, 'TLSv1.2', `${label}: protocol`);
      t.equal(r.cipher, suite, `${label}: suite`);
      t.equal(r.verified, true, `${label}: verified`);
      return; // the group: from the server's log
    }
    case 'node': {
      const cl = await nodeTlsConnect({ port: echo.port, caFile: cert.caCert, tls: '1.2', ciphers: suite,
        ecdhCurve: groups.map((g) => NODE_GROUP[g]).join(':') });
      try {
        t.equal(cl.protocol, 'TLSv1.2', `${label}: protocol`);
        t.equal(cl.cipher.name, suite, `${label}: suite`);
        t.equal((cl.cipher as { standardName?: string }).standardName, ianaSuite(c.cipher, a), `${label}: IANA name`);
        t.equal((cl.ephemeral as { name?: string }).name, NODE_GROUP[c.group], `${label}: group`);
        t.ok(cl.authorized, `${label}: authorized`);
        t.equal(cl.peerCertificate.fingerprint256, cert.leafSha256, `${label}: the leaf we configured`);
        const data = Buffer.concat([Buffer.from(payload), crypto.randomBytes(50000)]);
        await cl.send(data);
        const got = await cl.readUntil(data.length);
        t.ok(got.equals(data), `${label}: ${data.length} exact bytes back`);
      } finally { cl.destroy(); }
      return;
    }
  }
}

async function matrix(t: Test, w: Wrapper, keyType: KeyType): Promise<number> {
  const cert = leafCert(keyType, ['localhost']);
  const start = (extra: string[]) => Promise.all([
    serve(t, 'tcpserver', w.argv(['-v', ...extra, '-f', cert.pem, 'cat'])),
    serve(t, 'tcpserver', w.argv(['-v', ...extra, '-f', cert.pem, progs.http])),
  ]);
  const [def, p384, p521] = await Promise.all([start([]), start(['-e', 'secp384r1']), start(['-e', 'secp521r1'])]);
  const on: Record<Group, SuperServer[]> = { x25519: def, secp256r1: def, secp384r1: p384, secp521r1: p521 };
  const combos: Combo[] = [];
  for (const cipher of CIPHERS) for (const group of GROUPS) for (const client of CLIENTS) combos.push({ cipher, group, client });
  await inBatches(combos, 4, (c) => runCombo(t, w, cert, on[c.group][0], on[c.group][1], c));
  // The server's side of it: one log line per connection, with the suite and group asked for.
  const a = authOf(keyType);
  for (const [name, servers] of [['default', def], ['-e secp384r1', p384], ['-e secp521r1', p521]] as const) {
    const want = combos.filter((c) => on[c.group] === servers)
      .map((c) => `TLSv1.2 ${opensslSuite(c.cipher, a)} ${c.group} sni=localhost`).sort();
    const got = handshakes(w.name, servers[0].output() + servers[1].output());
    t.same(got, want, `${w.name} ${keyType} ${name} servers: one handshake line per connection, with the asked suite and group`);
    for (const s of servers) t.notMatch(s.output(), NO_STACK, `${w.name} ${keyType} ${name}: no stack trace`);
  }
  // Negative controls: these clients really pin what they say.
  const noGroup = await opensslClient({ port: def[0].port, caFile: cert.caCert, tls: '1.2', groups: 'P-521', input: 'x', until: 'x', timeoutMs: 8000 });
  t.not(noGroup.code, 0, `${w.name} ${keyType}: default groups refuse a P-521-only client`);
  t.notOk(noGroup.timedOut, 'and fail fast');
  const other = a === 'RSA' ? 'ECDHE-ECDSA-AES128-GCM-SHA256' : 'ECDHE-RSA-AES128-GCM-SHA256';
  const noSuite = await opensslClient({ port: def[0].port, caFile: cert.caCert, tls: '1.2', cipher: other, input: 'x', until: 'x', timeoutMs: 8000 });
  t.not(noSuite.code, 0, `${w.name} ${keyType}: ${other} (wrong key type for this certificate) is refused`);
  t.notOk(noSuite.timedOut, 'and fails fast');
  return combos.length;
}

/** -c order, -s/-S, no CBC unless asked, and -f ECDSA -f RSA chosen by the client's suites. */
async function choice(t: Test, w: Wrapper): Promise<void> {
  const ec = leafCert('p256', ['localhost']);
  const rsa = leafCert('rsa2048', ['localhost']);
  t.equal(ec.caCert, rsa.caCert, 'both leaves under one test root');
  const [c, S, def, both] = await Promise.all([
    serve(t, 'tcpserver', w.argv(['-c', 'AES_128_GCM_SHA256', '-c', 'AES_256_GCM_SHA384', '-f', ec.pem, 'cat'])),
    serve(t, 'tcpserver', w.argv(['-S', '-f', ec.pem, 'cat'])),
    serve(t, 'tcpserver', w.argv(['-f', ec.pem, 'cat'])),
    serve(t, 'tcpserver', w.argv(['-f', ec.pem, '-f', rsa.pem, 'cat'])),
  ]);
  const ossl = (port: number, cipher: string) => opensslClient({ port, caFile: ec.caCert, tls: '1.2', cipher, input: 'c\n', until: 'c\n', timeoutMs: 8000 });
  const got = (r: ClientResult) => (r.code === 0 && r.data === 'c\n' ? r.cipher : `failed (${r.code}${r.timedOut ? ', timed out' : ''})`);
  const ALL_EC = 'ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-ECDSA-AES128-GCM-SHA256';
  t.equal(got(await ossl(c.port, ALL_EC)), 'ECDHE-ECDSA-AES128-GCM-SHA256', '-c AES_128_GCM_SHA256 -c AES_256_GCM_SHA384: the first -c wins');
  t.equal(got(await ossl(c.port, 'ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305')), 'ECDHE-ECDSA-AES256-GCM-SHA384', 'then the second');
  t.match(got(await ossl(c.port, 'ECDHE-ECDSA-CHACHA20-POLY1305')), /^failed \(1\)$/, 'a suite not named by -c is refused, fast');
  const clientOrder = 'ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305';
  t.equal(got(await ossl(def.port, clientOrder)), 'ECDHE-ECDSA-CHACHA20-POLY1305', 'default -s: our order (CHACHA20 first)');
  t.equal(got(await ossl(S.port, clientOrder)), 'ECDHE-ECDSA-AES128-GCM-SHA256', "-S: the client's first");
  t.match(got(await ossl(def.port, 'ECDHE-ECDSA-AES128-SHA256:ECDHE-ECDSA-AES256-SHA384:ECDHE-ECDSA-AES128-SHA:ECDHE-RSA-AES128-SHA256')),
    /^failed \(1\)$/, 'no CBC suite unless -c asks for one');
  // In TLS 1.2 the suite fixes the key type: -f ECDSA -f RSA serves each client the one it can use.
  for (const [suites, leaf, what] of [
    ['ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-CHACHA20-POLY1305', rsa, 'RSA suites only → the RSA leaf'],
    ['ECDHE-ECDSA-AES256-GCM-SHA384', ec, 'ECDSA suites only → the P-256 leaf'],
    ['ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES128-GCM-SHA256', ec, 'both → the first -f (P-256)'],
  ] as const) {
    const cl = await nodeTlsConnect({ port: both.port, caFile: ec.caCert, tls: '1.2', ciphers: suites });
    t.equal(cl.peerCertificate.fingerprint256, leaf.leafSha256, `-f p256 -f rsa2048, ${what} (${cl.cipher.name})`);
    t.match(cl.cipher.name, leaf === rsa ? /^ECDHE-RSA-/ : /^ECDHE-ECDSA-/);
    cl.destroy();
  }
  // No session resumption: a client offering its last session (id or ticket) gets a full handshake.
  const first = await nodeTlsConnect({ port: def.port, caFile: ec.caCert, tls: '1.2' });
  await first.send('s\n'); await first.readUntil('s\n');
  const session = first.socket.getSession();
  first.destroy();
  t.ok(session, 'the client kept a session');
  const again = await nodeTlsConnect({ port: def.port, caFile: ec.caCert, tls: '1.2', session });
  t.notOk(again.socket.isSessionReused(), 'a full handshake the second time (no resumption)');
  t.equal(again.peerCertificate.fingerprint256, ec.leafSha256, 'with the certificate');
  again.destroy();
  if (w.name === 'ours') {
    // What prog learns (man: SSL_PROTOCOL, SSL_CIPHER by its OpenSSL name); Debian's sets no SSL_*.
    const env = await serve(t, 'tcpserver', w.argv(['-f', rsa.pem, HTTP_ENV]));
    const r = await curlClient({ port: env.port, caFile: rsa.caCert, tls: '1.2', ciphers: 'ECDHE-RSA-AES256-GCM-SHA384', urlPath: '/env' });
    t.equal(r.data, 'GET /env HTTP/1.1 proto=TLSv1.2 cipher=ECDHE-RSA-AES256-GCM-SHA384 sni=localhost\n', `ours: prog's SSL_* over TLS 1.2\n${describe(r)}`);
  }
  for (const x of [c, S, def, both]) t.notMatch(x.output(), NO_STACK, 'no stack trace');
}

// ------------------------------------------------------------ raw records

const REC = { ccs: 20, alert: 21, handshake: 22, data: 23 } as const;
interface Rec { type: number; version: number; body: Buffer }
const recBytes = (r: Rec) => Buffer.concat([Buffer.from([r.type, r.version >> 8, r.version & 255, r.body.length >> 8, r.body.length & 255]), r.body]);

function takeRecords(buf: Buffer): { recs: Rec[]; rest: Buffer } {
  const recs: Rec[] = [];
  let at = 0;
  while (buf.length - at >= 5 && buf.length - at >= 5 + buf.readUInt16BE(at + 3)) {
    const len = buf.readUInt16BE(at + 3);
    recs.push({ type: buf[at], version: buf.readUInt16BE(at + 1), body: Buffer.from(buf.subarray(at + 5, at + 5 + len)) });
    at += 5 + len;
  }
  return { recs, rest: buf.subarray(at) };
}

/** A wrapper started on one end of a real loopback TCP connection, as a super-server would. */
interface Direct {
  sock: net.Socket;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null; ms: number }>;
  stderr(): string;
}
function direct(argv: string[], deadlineMs = 15000): Promise<Direct> {
  return new Promise((resolve, reject) => {
    const server = net.createServer({ pauseOnConnect: true });
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const sock = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
      sock.on('error', () => {});
      server.once('connection', (s) => {
        server.close();
        const t0 = Date.now();
        const child = spawn(argv[0], argv.slice(1), { stdio: [s, s, 'pipe'], detached: true });
        s.destroy();
        let err = '';
        child.stderr!.on('data', (d: Buffer) => { err += d.toString(); });
        const kill = setTimeout(() => { try { process.kill(-child.pid!, 'SIGKILL'); } catch { /* gone */ } }, deadlineMs);
        const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null; ms: number }>((res) =>
          child.on('close', (code, signal) => { clearTimeout(kill); res({ code, signal, ms: Date.now() - t0 }); }));
        resolve({ sock, exit, stderr: () => err });
      });
    });
  });
}

/**
 * Node's TLS client over a Duplex that relays to `sock` record by record:
 * each client record goes through `edit` (which returns what to send instead:
 * nothing, several records, other bytes), and both directions are kept.
 */
interface Session {
  socket: tls.TLSSocket;
  fromClient: Rec[];
  fromServer: Rec[];
  /** Resolves with the handshake's outcome, once the socket has closed or `ms` passed. */
  outcome: Promise<{ secure: boolean; error?: string | undefined; serverClosed: boolean; ms: number }>;
  keylog: Promise<Buffer>;
  /** Close both ends (the TLS socket and the TCP connection to the wrapper). */
  close(): void;
}
type Edit = (r: Rec, i: number, s: Session) => Buffer | Promise<Buffer>;
function proxiedClient(sock: net.Socket, opts: tls.ConnectionOptions, edit: Edit = (r) => recBytes(r), ms = 10000): Session {
  let fromClientBuf: Buffer = Buffer.alloc(0);
  let fromServerBuf: Buffer = Buffer.alloc(0);
  let queue = Promise.resolve();
  let n = 0;
  let serverClosed = false;
  const fromClient: Rec[] = [];
  const fromServer: Rec[] = [];
  const duplex = new Duplex({
    read() {},
    write(chunk: Buffer, _enc, cb) {
      fromClientBuf = Buffer.concat([fromClientBuf, chunk]);
      const { recs, rest } = takeRecords(fromClientBuf);
      fromClientBuf = rest;
      for (const r of recs) {
        fromClient.push(r);
        const i = n++;
        queue = queue.then(async () => { const out = await edit(r, i, session); if (out.length && !sock.destroyed) sock.write(out); });
      }
      queue.then(() => cb(), () => cb());
    },
    final(cb) { queue.then(() => { sock.end(); cb(); }); },
  });
  sock.on('data', (d: Buffer) => {
    fromServerBuf = Buffer.concat([fromServerBuf, d]);
    const { recs, rest } = takeRecords(fromServerBuf);
    fromServerBuf = rest;
    fromServer.push(...recs);
    duplex.push(d);
  });
  sock.on('close', () => { serverClosed = true; duplex.push(null); });
  sock.resume();
  const t0 = Date.now();
  const socket = tls.connect({ socket: duplex, servername: 'localhost', rejectUnauthorized: false, ...opts });
  let keylogResolve: (b: Buffer) => void = () => {};
  const session: Session = {
    socket, fromClient, fromServer,
    keylog: new Promise<Buffer>((r) => { keylogResolve = r; }),
    close: () => { socket.destroy(); sock.destroy(); },
    outcome: new Promise((resolve) => {
      let secure = false; let error: string | undefined;
      socket.on('secureConnect', () => { secure = true; });
      socket.on('error', (e) => { error ??= e.message; });
      const tm = setTimeout(() => { error ??= `no close within ${ms} ms`; socket.destroy(); sock.destroy(); }, ms);
      socket.on('close', () => {
        // Give the relay a moment to see the server's close too.
        const done = () => { clearTimeout(tm); resolve({ secure, error, serverClosed, ms: Date.now() - t0 }); };
        if (serverClosed) done(); else { sock.once('close', done); setTimeout(() => { sock.destroy(); }, 3000); }
      });
    }),
  };
  socket.on('keylog', (line: Buffer) => keylogResolve(line));
  return session;
}

/** The handshake messages in a list of plaintext handshake records: [type, body]. */
function handshakeMessages(recs: Rec[]): Array<[number, Buffer]> {
  const all = Buffer.concat(recs.filter((r) => r.type === REC.handshake).map((r) => r.body));
  const out: Array<[number, Buffer]> = [];
  for (let at = 0; at + 4 <= all.length;) {
    const len = all.readUIntBE(at + 1, 3);
    if (at + 4 + len > all.length) break;
    out.push([all[at], all.subarray(at + 4, at + 4 + len)]);
    at += 4 + len;
  }
  return out;
}
function serverHello(recs: Rec[]): { version: number; random: Buffer; suite: number; exts: Buffer } | undefined {
  // Only the plaintext part: everything before the server's ChangeCipherSpec.
  const ccs = recs.findIndex((r) => r.type === REC.ccs);
  const sh = handshakeMessages(ccs < 0 ? recs : recs.slice(0, ccs)).find(([type]) => type === 2)?.[1];
  if (!sh) return undefined;
  const sid = sh[34];
  return { version: sh.readUInt16BE(0), random: sh.subarray(2, 34), suite: sh.readUInt16BE(35 + sid), exts: sh.subarray(35 + sid + 3) };
}
const SENTINEL_12 = Buffer.from('444f574e47524401', 'hex');
/** The alert the server sent in plaintext (level, description), if any. */
function plainAlert(recs: Rec[]): [number, number] | undefined {
  const ccs = recs.findIndex((r) => r.type === REC.ccs);
  const a = (ccs < 0 ? recs : recs.slice(0, ccs)).find((r) => r.type === REC.alert && r.body.length === 2);
  return a ? [a.body[0], a.body[1]] : undefined;
}

// TLS 1.2 record protection for AES-GCM (RFC 5288), from the keylog's master secret.
function prf(hash: string, secret: Buffer, label: string, seed: Buffer, len: number): Buffer {
  const s = Buffer.concat([Buffer.from(label), seed]);
  const out: Buffer[] = [];
  let a = s; let have = 0;
  while (have < len) {
    a = crypto.createHmac(hash, secret).update(a).digest();
    const p = crypto.createHmac(hash, secret).update(Buffer.concat([a, s])).digest();
    out.push(p); have += p.length;
  }
  return Buffer.concat(out).subarray(0, len);
}
function clientWriteKeys(keylog: Buffer, serverRandom: Buffer, keyLen: number, hash: string) {
  const [label, clientRandomHex, masterHex] = keylog.toString().trim().split(' ');
  if (label !== 'CLIENT_RANDOM') throw new Error(`unexpected keylog line ${keylog}`);
  const kb = prf(hash, Buffer.from(masterHex, 'hex'), 'key expansion', Buffer.concat([serverRandom, Buffer.from(clientRandomHex, 'hex')]), 2 * keyLen + 8);
  return { key: kb.subarray(0, keyLen), salt: kb.subarray(2 * keyLen, 2 * keyLen + 4) };
}
function gcmOpen(k: { key: Buffer; salt: Buffer }, seq: bigint, r: Rec): Buffer {
  const explicit = r.body.subarray(0, 8);
  const ct = r.body.subarray(8, r.body.length - 16);
  const aad = Buffer.alloc(13); aad.writeBigUInt64BE(seq); aad[8] = r.type; aad.writeUInt16BE(r.version, 9); aad.writeUInt16BE(ct.length, 11);
  const d = crypto.createDecipheriv(`aes-${k.key.length * 8}-gcm` as crypto.CipherGCMTypes, k.key, Buffer.concat([k.salt, explicit]));
  d.setAAD(aad); d.setAuthTag(r.body.subarray(r.body.length - 16));
  return Buffer.concat([d.update(ct), d.final()]);
}
function gcmSeal(k: { key: Buffer; salt: Buffer }, seq: bigint, type: number, version: number, explicit: Buffer, pt: Buffer): Rec {
  const aad = Buffer.alloc(13); aad.writeBigUInt64BE(seq); aad[8] = type; aad.writeUInt16BE(version, 9); aad.writeUInt16BE(pt.length, 11);
  const c = crypto.createCipheriv(`aes-${k.key.length * 8}-gcm` as crypto.CipherGCMTypes, k.key, Buffer.concat([k.salt, explicit]));
  c.setAAD(aad);
  const ct = Buffer.concat([c.update(pt), c.final()]);
  return { type, version, body: Buffer.concat([explicit, ct, c.getAuthTag()]) };
}

/** A client that meets bad input must end in an alert or a close: no secure connection, no hang, no stack trace. */
async function rejected(t: Test, w: Wrapper, label: string, d: Direct, s: Session) {
  const o = await s.outcome;
  const exit = await d.exit;
  const alert = plainAlert(s.fromServer);
  t.notOk(o.secure, `${w.name} ${label}: no secure connection (client: ${o.error})`);
  t.ok(o.serverClosed, `${w.name} ${label}: the server closed the connection`);
  t.ok(exit.ms < 10000 && exit.signal === null, `${w.name} ${label}: ${w.name}'s tlswrapper ended by itself in ${exit.ms} ms (code ${exit.code}, signal ${exit.signal})`);
  t.equal(exit.code, 111, `${w.name} ${label}: exit 111`);
  t.ok(alert === undefined || alert[0] === 2, `${w.name} ${label}: a fatal alert or a bare close (alert ${alert?.join('/') ?? 'none'})`);
  t.notOk(s.fromServer.some((r) => r.type === REC.data), `${w.name} ${label}: no application data from the server`);
  t.notMatch(d.stderr(), NO_STACK, `${w.name} ${label}: no stack trace`);
  return alert;
}

/** Node's TLS 1.2 client through the proxy against `w` run directly with args. */
async function badInput(t: Test, w: Wrapper, cert: LeafCert, label: string, edit: Edit, clientOpts: tls.ConnectionOptions = {}) {
  const d = await direct(w.argv(['-vv', '-T', '8', '-f', cert.pem, 'cat']));
  const s = proxiedClient(d.sock, { maxVersion: 'TLSv1.2', ...clientOpts }, edit);
  return { d, s, alert: await rejected(t, w, label, d, s) };
}

async function rawTests(t: Test, w: Wrapper): Promise<void> {
  const cert = leafCert('p256', ['localhost']);
  const GCM = { ciphers: 'ECDHE-ECDSA-AES128-GCM-SHA256' };

  await t.test('the proxy itself: a clean TLS 1.2 handshake and echo through it, ServerHello.random read raw', { timeout: 20000 }, async (t) => {
    // -M tls12: Debian's default, and ours as a TLS 1.2-only server.
    const d = await direct(w.argv(['-M', 'tls12', '-f', cert.pem, 'cat']));
    const s = proxiedClient(d.sock, { maxVersion: 'TLSv1.2', ...GCM });
    await new Promise<void>((res, rej) => { s.socket.once('secureConnect', res); s.socket.once('error', rej); });
    t.equal(s.socket.getProtocol(), 'TLSv1.2');
    s.socket.write('through the proxy\n');
    const got = await new Promise<string>((res) => { let b = ''; s.socket.on('data', (x: Buffer) => { b += x; if (b.includes('\n')) res(b); }); });
    t.equal(got, 'through the proxy\n', 'echo');
    const sh = serverHello(s.fromServer);
    t.ok(sh, 'ServerHello parsed from the raw records');
    t.equal(sh?.version, 0x0303, 'ServerHello.version 1.2');
    t.equal(sh?.suite, 0xc02b, 'ECDHE_ECDSA_WITH_AES_128_GCM_SHA256');
    t.equal(sh?.random.length, 32);
    t.notSame(sh?.random.subarray(24), SENTINEL_12, `a TLS 1.2-max server sets no downgrade sentinel (${sh?.random.subarray(24).toString('hex')})`);
    t.ok(s.fromClient.some((r) => r.type === REC.ccs) && s.fromServer.some((r) => r.type === REC.ccs), 'both ChangeCipherSpecs seen');
    s.close();
    await d.exit;
  });

  await t.test('a Finished with one bit of verify_data flipped (re-encrypted, valid MAC)', { timeout: 20000 }, async (t) => {
    let reencrypted = false;
    const { alert } = await badInput(t, w, cert, 'tampered Finished', async (r, _i, s) => {
      // The first handshake record after the client's ChangeCipherSpec is its Finished.
      const ccsAt = s.fromClient.findIndex((x) => x.type === REC.ccs);
      if (r.type !== REC.handshake || ccsAt < 0 || s.fromClient.indexOf(r) !== ccsAt + 1) return recBytes(r);
      const sh = serverHello(s.fromServer)!;
      const k = clientWriteKeys(await s.keylog, sh.random, 16, 'sha256');
      const pt = gcmOpen(k, 0n, r);
      if (pt[0] !== 20 || pt.length !== 16) return recBytes(r);
      pt[4] ^= 1;
      reencrypted = true;
      return recBytes(gcmSeal(k, 0n, r.type, r.version, r.body.subarray(0, 8), pt));
    }, GCM);
    t.ok(reencrypted, 'the Finished was decrypted (keys right), changed and sealed again');
    t.comment(`${w.name}: tampered Finished → alert ${alert?.join('/') ?? 'none'}`);
    // Ours names the failure as RFC 5246 7.2.2 does (Debian's closes without an alert).
    if (w.name === 'ours') t.same(alert, [2, 51], 'ours: fatal decrypt_error');
  });

  await t.test('one bit flipped in the first encrypted record', { timeout: 20000 }, async (t) => {
    let flipped = false;
    const { alert } = await badInput(t, w, cert, 'bad record MAC', (r, _i, s) => {
      const ccsAt = s.fromClient.findIndex((x) => x.type === REC.ccs);
      if (ccsAt < 0 || s.fromClient.indexOf(r) !== ccsAt + 1) return recBytes(r);
      const b = Buffer.from(r.body); b[b.length - 20] ^= 0x10; flipped = true;
      return recBytes({ ...r, body: b });
    });
    t.ok(flipped, 'flipped');
    t.comment(`${w.name}: bad record MAC → alert ${alert?.join('/') ?? 'none'}`);
    if (w.name === 'ours') t.same(alert, [2, 20], 'ours: fatal bad_record_mac (RFC 5246 6.2.3.3)');
  });

  await t.test('ChangeCipherSpec before ClientKeyExchange', { timeout: 20000 }, async (t) => {
    let moved = false; let held: Rec | undefined;
    const { alert } = await badInput(t, w, cert, 'CCS before CKE', (r) => {
      // Hold ClientKeyExchange (the client's second handshake record), send it after the CCS.
      if (r.type === REC.handshake && r.body[0] === 16 && !held) { held = r; return Buffer.alloc(0); }
      if (r.type === REC.ccs && held) { moved = true; return Buffer.concat([recBytes(r), recBytes(held)]); }
      return recBytes(r);
    });
    t.ok(moved, 'reordered');
    t.comment(`${w.name}: CCS before ClientKeyExchange → alert ${alert?.join('/') ?? 'none'}`);
    if (w.name === 'ours') t.same(alert, [2, 10], 'ours: fatal unexpected_message');
  });

  await t.test('ChangeCipherSpec right after a TLS 1.2 ClientHello', { timeout: 20000 }, async (t) => {
    const { alert } = await badInput(t, w, cert, 'CCS after ClientHello', (r, i) =>
      i === 0 ? Buffer.concat([recBytes(r), recBytes({ type: REC.ccs, version: 0x0303, body: Buffer.from([1]) })]) : recBytes(r));
    t.comment(`${w.name}: CCS after ClientHello → alert ${alert?.join('/') ?? 'none'}`);
    if (w.name === 'ours') t.same(alert, [2, 10], 'ours: fatal unexpected_message');
  });

  await t.test('a TLS 1.2 ClientHello in one-byte records: full handshake and data', { timeout: 20000 }, async (t) => {
    const d = await direct(w.argv(['-f', cert.pem, 'cat']));
    let pieces = 0;
    const s = proxiedClient(d.sock, { maxVersion: 'TLSv1.2' }, (r, i) => {
      if (i !== 0) return recBytes(r);
      pieces = r.body.length;
      return Buffer.concat([...r.body].map((b) => recBytes({ type: r.type, version: r.version, body: Buffer.from([b]) })));
    });
    await new Promise<void>((res, rej) => { s.socket.once('secureConnect', res); s.socket.once('error', rej); });
    t.ok(pieces > 150, `ClientHello sent as ${pieces} records`);
    t.equal(s.socket.getProtocol(), 'TLSv1.2');
    s.socket.write('split\n');
    const got = await new Promise<string>((res) => { let b = ''; s.socket.on('data', (x: Buffer) => { b += x; if (b.includes('\n')) res(b); }); });
    t.equal(got, 'split\n');
    s.close();
    await d.exit;
    t.notMatch(d.stderr(), NO_STACK);
  });
}

/** A process we talk to step by step: write, wait for output, with a hard deadline on the whole. */
function interactive(argv: string[], deadlineMs: number) {
  const t0 = Date.now();
  const child = spawn(argv[0], argv.slice(1), { stdio: ['pipe', 'pipe', 'pipe'], detached: true });
  let out = '';
  let waiters: Array<() => void> = [];
  const wake = () => { const w = waiters; waiters = []; w.forEach((f) => f()); };
  child.stdout!.on('data', (d: Buffer) => { out += d.toString('latin1'); wake(); });
  child.stderr!.on('data', (d: Buffer) => { out += d.toString('latin1'); wake(); });
  child.stdin!.on('error', () => {});
  let timedOut = false;
  const kill = setTimeout(() => { timedOut = true; try { process.kill(-child.pid!, 'SIGKILL'); } catch { /* gone */ } }, deadlineMs);
  const exit = new Promise<number | null>((res) => child.on('close', (code) => { clearTimeout(kill); wake(); res(code); }));
  let exited = false;
  exit.then(() => { exited = true; });
  return {
    out: () => out,
    write: (s: string) => { if (!exited) child.stdin!.write(s); },
    end: () => { if (!exited) child.stdin!.end(); },
    /** Resolves true when the output matches, false when the process ended or `ms` passed first. */
    waitFor: (re: RegExp, ms: number) => new Promise<boolean>((res) => {
      const tm = setTimeout(() => res(false), ms);
      const check = () => { if (re.test(out)) { clearTimeout(tm); res(true); } else if (exited) { clearTimeout(tm); res(false); } else waiters.push(check); };
      check();
    }),
    exit, exited: () => exited, timedOut: () => timedOut, ms: () => Date.now() - t0,
  };
}

/**
 * openssl s_client -tls1_2 -msg on `port`: echo "before", then a line "R"
 * (without -nocommands that asks for a renegotiation), then "after". Counts
 * the handshake messages in its -msg trace.
 */
async function renegotiate(port: number, caFile: string, echo: RegExp) {
  const o = interactive(['openssl', 's_client', '-connect', `127.0.0.1:${port}`, '-servername', 'localhost', '-tls1_2',
    '-CAfile', caFile, '-verify_return_error', '-msg'], 15000);
  o.write('before\n');
  const echoed = await o.waitFor(echo, 5000);
  o.write('R\n');
  const asked = await o.waitFor(/RENEGOTIATING/, 3000);
  // Let it settle: a second Finished from the server, or an alert or error.
  await o.waitFor(/RENEGOTIATING[\s\S]*(<<< TLS 1\.2, Handshake \[length [0-9a-f]+\], Finished|Alert|error)/, 4000);
  o.write('after\n');
  await o.waitFor(/\nafter\n|\nretfa\n/, 1000);
  o.end();
  await o.exit;
  const out = o.out();
  const count = (re: RegExp) => (out.match(re) ?? []).length;
  return {
    out, echoed, asked, timedOut: o.timedOut(), ms: o.ms(),
    serverHellos: count(/<<< TLS 1\.2, Handshake \[length [0-9a-f]+\], ServerHello\b/g),
    clientHellos: count(/>>> TLS 1\.2, Handshake \[length [0-9a-f]+\], ClientHello\b/g),
    serverFinished: count(/<<< TLS 1\.2, Handshake \[length [0-9a-f]+\], Finished\b/g),
    /** The trace without its hex dumps, last lines. */
    tail: out.split('\n').filter((l) => !/^\s+[0-9a-f]{2}( [0-9a-f]{2})*\s*$/.test(l)).slice(-25).join('\n'),
    afterR: (/RENEGOTIATING[\s\S]*/.exec(out)?.[0] ?? '').split('\n').filter((l) => /Alert|error|closed/i.test(l)).join(' | '),
  };
}

/** Renegotiation attempts: openssl's "R" (counted in its -msg trace), then Node's renegotiate(). */
async function renegotiation(t: Test, w: Wrapper): Promise<void> {
  const cert = leafCert('p256', ['localhost']);
  const s = await serve(t, 'tcpserver', w.argv(['-v', '-f', cert.pem, 'cat']));
  const r = await renegotiate(s.port, cert.caCert, /(^|\n)before\n/);
  t.ok(r.echoed, `${w.name}: echo before the attempt`);
  t.ok(r.asked, `${w.name}: openssl asked for a renegotiation`);
  t.equal(r.clientHellos, 2, `${w.name}: openssl sent a second ClientHello`);
  t.notOk(r.timedOut, `${w.name}: openssl did not hang (${r.ms} ms)`);
  // Debian's (BearSSL) answers a warning no_renegotiation, which openssl takes as fatal.
  t.equal(r.serverHellos, 1, `${w.name}: exactly one ServerHello, no second handshake\n${r.tail}`);
  t.equal(r.serverFinished, 1, `${w.name}: exactly one server Finished`);
  t.match(r.out, /RENEGOTIATING[\s\S]*(<<< TLS 1\.2, Alert|closed|errno|error)/i, `${w.name}: an alert or a close after the attempt\n${r.tail}`);
  t.comment(`${w.name}: after "R": ${r.afterR}`);
  t.match(r.out, /Secure Renegotiation IS supported/, `${w.name}: renegotiation_info (RFC 5746) in the ServerHello`);
  // RFC 7627: ours when the client offers it (openssl does); Debian's (BearSSL) does not.
  t.match(r.out, w.name === 'ours' ? /Extended master secret: yes/ : /Extended master secret: no/, `${w.name}: extended master secret`);
  t.notMatch(s.output(), NO_STACK, `${w.name}: no stack trace`);

  // Node: renegotiate() after a handshake and an echo.
  const e = await serve(t, 'tcpserver', w.argv(['-f', cert.pem, 'cat']));
  const c = await nodeTlsConnect({ port: e.port, caFile: cert.caCert, tls: '1.2' });
  await c.send('one\n');
  await c.readUntil('one\n');
  const res = await new Promise<{ err?: string | undefined; ok: boolean }>((resolve) => {
    const tm = setTimeout(() => resolve({ err: 'no answer in 3 s', ok: false }), 3000);
    const done = (r: { err?: string | undefined; ok: boolean }) => { clearTimeout(tm); resolve(r); };
    c.socket.once('error', (err) => done({ err: `error event: ${err.message}`, ok: false }));
    c.closed.then(() => done({ err: 'closed', ok: false }));
    const ok = c.socket.renegotiate({ rejectUnauthorized: true }, (err) => done({ err: err?.message, ok: !err }));
    if (!ok) done({ err: 'renegotiate() returned false', ok: false });
  });
  const after = await Promise.race([c.closed.then(() => 'closed'), new Promise<string>((r) => setTimeout(() => r('open'), 1500))]);
  c.destroy();
  t.comment(`${w.name}: Node renegotiate() → ${res.ok ? 'completed' : res.err}; connection then ${after}`);
  t.notOk(res.ok, `${w.name}: Node renegotiate() did not complete (${res.err}; connection then ${after})`);
  t.notMatch(e.output(), NO_STACK, `${w.name}: no stack trace`);
}

// ------------------------------------------------------------ ours: versions

async function versions(t: Test, w: Wrapper): Promise<void> {
  const cert = leafCert('p256', ['localhost']);
  const [def, max12, min13] = await Promise.all([
    serve(t, 'tcpserver', w.argv(['-v', '-f', cert.pem, 'cat'])),
    serve(t, 'tcpserver', w.argv(['-v', '-M', 'tls12', '-f', cert.pem, 'cat'])),
    serve(t, 'tcpserver', w.argv(['-v', '-m', 'tls13', '-f', cert.pem, 'cat'])),
  ]);
  await t.test('1.3 preferred when both are enabled', { timeout: 20000 }, async (t) => {
    const o = await opensslClient({ port: def.port, caFile: cert.caCert, input: 'v\n', until: 'v\n' });
    t.equal(o.protocol, 'TLSv1.3', `openssl, no version pinned\n${describe(o)}`);
    const g = await gnutlsClient({ port: def.port, caFile: cert.caCert, priority: 'NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2', input: 'v\n', until: 'v\n' });
    t.equal(g.protocol, 'TLSv1.3', `gnutls with 1.3 and 1.2\n${describe(g)}`);
    const n = await nodeTlsConnect({ port: def.port, caFile: cert.caCert, minVersion: 'TLSv1.2', maxVersion: 'TLSv1.3' });
    t.equal(n.protocol, 'TLSv1.3', 'node minVersion 1.2 maxVersion 1.3');
    n.destroy();
  });
  await t.test('-M tls12 gives TLS 1.2 to a 1.3-capable client, without the sentinel', { timeout: 20000 }, async (t) => {
    const o = await opensslClient({ port: max12.port, caFile: cert.caCert, input: 'v\n', until: 'v\n' });
    t.equal(o.code, 0, describe(o));
    t.equal(o.protocol, 'TLSv1.2', 'openssl (1.3-capable, checks the sentinel) gets 1.2');
    t.equal(o.data, 'v\n');
    const n = await nodeTlsConnect({ port: max12.port, caFile: cert.caCert, maxVersion: 'TLSv1.3' });
    t.equal(n.protocol, 'TLSv1.2', 'node (1.3-capable) gets 1.2');
    n.destroy();
    const d = await direct(w.argv(['-M', 'tls12', '-f', cert.pem, 'cat']));
    const s = proxiedClient(d.sock, { maxVersion: 'TLSv1.3' });
    const outcome = await new Promise<string>((res) => { s.socket.once('secureConnect', () => res('ok')); s.socket.once('error', (e) => res(e.message)); });
    t.equal(outcome, 'ok', 'the proxied 1.3-capable Node client finished');
    const sh = serverHello(s.fromServer);
    t.equal(sh?.version, 0x0303);
    t.notOk(sh?.exts.includes(Buffer.from([0, 43, 0, 2, 3, 4])), 'no supported_versions(1.3) in the ServerHello');
    t.notSame(sh?.random.subarray(24), SENTINEL_12, `no downgrade sentinel with -M tls12 (${sh?.random.subarray(24).toString('hex')})`);
    s.close();
    await d.exit;
  });
  await t.test('default (-M tls13): a 1.2-only client gets 1.2 and the sentinel', { timeout: 20000 }, async (t) => {
    const d = await direct(w.argv(['-f', cert.pem, 'cat']));
    const s = proxiedClient(d.sock, { maxVersion: 'TLSv1.2' });
    const outcome = await new Promise<string>((res) => { s.socket.once('secureConnect', () => res('ok')); s.socket.once('error', (e) => res(e.message)); });
    t.equal(outcome, 'ok', 'the 1.2-only client finished (it does not check the sentinel)');
    t.equal(s.socket.getProtocol(), 'TLSv1.2');
    const sh = serverHello(s.fromServer);
    t.equal(sh?.version, 0x0303);
    t.same(sh?.random.subarray(24), SENTINEL_12, `ServerHello.random ends 44 4F 57 4E 47 52 44 01 (${sh?.random.toString('hex')})`);
    s.close();
    await d.exit;
  });
  await t.test('TLS_FALLBACK_SCSV below our max: inappropriate_fallback', { timeout: 20000 }, async (t) => {
    const o = await opensslClient({ port: def.port, caFile: cert.caCert, tls: '1.2', input: 'x', until: 'x', timeoutMs: 8000, extra: ['-fallback_scsv'] });
    t.not(o.code, 0, 'refused');
    t.notOk(o.timedOut, 'fast');
    t.match(o.err, /inappropriate fallback|alert number 86/, `alert 86\n${describe(o)}`);
    // At our max (-M tls12) the same client is no fallback: it works.
    const ok = await opensslClient({ port: max12.port, caFile: cert.caCert, tls: '1.2', input: 'x\n', until: 'x\n', extra: ['-fallback_scsv'] });
    t.equal(ok.code, 0, `-fallback_scsv at our max (-M tls12) works\n${describe(ok)}`);
    t.equal(ok.protocol, 'TLSv1.2');
  });
  await t.test('-m tls13 refuses a 1.2-only client with protocol_version', { timeout: 20000 }, async (t) => {
    const o = await opensslClient({ port: min13.port, caFile: cert.caCert, tls: '1.2', input: 'x', until: 'x', timeoutMs: 8000 });
    t.not(o.code, 0);
    t.match(o.err, /protocol version|alert number 70/, `openssl -tls1_2: alert 70\n${describe(o)}`);
    const d = await direct(w.argv(['-m', 'tls13', '-f', cert.pem, 'cat']));
    const s = proxiedClient(d.sock, { maxVersion: 'TLSv1.2' });
    const alert = await rejected(t, w, '-m tls13 vs 1.2-only', d, s);
    t.same(alert, [2, 70], 'raw: fatal protocol_version');
    const ok = await opensslClient({ port: min13.port, caFile: cert.caCert, input: 'x\n', until: 'x\n' });
    t.equal(ok.protocol, 'TLSv1.3', 'while a 1.3 client works');
  });
  for (const s of [def, max12, min13]) t.notMatch(s.output(), NO_STACK, 'no stack trace');
}

// ------------------------------------------------------------ the file

/** null when our binary negotiates TLS 1.2, else the reason to skip. */
async function oursSpeaks12(): Promise<string | null> {
  const cert = leafCert('p256', ['localhost']);
  const d = await direct(ours(['-f', cert.pem, 'cat']));
  const err = await new Promise<string | null>((resolve) => {
    const s = tls.connect({ socket: d.sock, maxVersion: 'TLSv1.2', servername: 'localhost', rejectUnauthorized: false });
    const tm = setTimeout(() => { s.destroy(); resolve('no answer in 8 s'); }, 8000);
    s.on('error', (e) => { clearTimeout(tm); resolve(e.message); });
    s.on('secureConnect', () => { clearTimeout(tm); resolve(s.getProtocol() === 'TLSv1.2' ? null : `got ${s.getProtocol()}`); s.destroy(); });
  });
  await d.exit;
  if (err === null) return null;
  if (/protocol version/i.test(err)) return 'our TLS 1.2 is not in this build';
  return null; // anything else: run the checks, they will say what is wrong
}

const missing = superServerMissing('tcpserver')
  ?? (['gnutls-cli', 'curl', 'openssl'].find((c) => !which(c)) ? 'gnutls-cli, curl and openssl are needed' : null);

if (missing) {
  t.plan(0, missing);
} else {
  t.test('control: the renegotiation trace sees a second handshake when there is one (openssl s_server)', { timeout: 20000 }, async (t) => {
    const cert = leafCert('p256', ['localhost']);
    const { freePort } = await import('../lib/superserver');
    const port = await freePort();
    const srv = spawn('openssl', ['s_server', '-accept', `127.0.0.1:${port}`, '-naccept', '1', '-tls1_2', '-rev', '-client_renegotiation',
      '-cert', cert.certFile, '-key', cert.keyFile], { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    const gone = new Promise((res) => srv.on('close', res));
    t.teardown(async () => { try { process.kill(-srv.pid!, 'SIGKILL'); } catch { /* gone */ } await gone; });
    await new Promise<void>((res) => { const on = (d: Buffer) => { if (/ACCEPT/.test(d.toString())) res(); }; srv.stdout!.on('data', on); setTimeout(res, 3000); });
    const r = await renegotiate(port, cert.caCert, /(^|\n)erofeb\n/);
    t.ok(r.echoed && r.asked, 'echoed (reversed), then asked');
    t.equal(r.serverHellos, 2, `two ServerHellos\n${r.tail}`);
    t.equal(r.serverFinished, 2, 'two server Finished');
  });

  for (const w of WRAPPERS) {
    t.test(`${w.name === 'ours' ? 'our' : "Debian's"} tlswrapper, TLS 1.2`, async (t) => {
      if (w.name === 'debian' && !fs.existsSync(DEBIAN)) { t.skip(`${DEBIAN} not installed (apt-get install tlswrapper)`, () => {}); return; }
      if (w.name === 'ours') {
        const why = await oursSpeaks12();
        if (why) { t.skip(why, () => {}); return; }
      }
      let n = 0;
      for (const keyType of w.certs) {
        await t.test(`${keyType}: 3 suites × 4 groups × 4 clients`, { timeout: 60000 }, async (t) => { n += await matrix(t, w, keyType); });
      }
      t.equal(n, w.certs.length * CIPHERS.length * GROUPS.length * CLIENTS.length, `${n} connections in the matrix`);
      if (w.name === 'debian') {
        await t.test('Debian refuses an Ed25519 PEM (so that row is ours only)', { timeout: 20000 }, async (t) => {
          const cert = leafCert('ed25519', ['localhost']);
          const s = await serve(t, 'tcpserver', w.argv(['-f', cert.pem, 'cat']));
          const r = await opensslClient({ port: s.port, caFile: cert.caCert, tls: '1.2', input: 'x', until: 'x', timeoutMs: 8000 });
          t.not(r.code, 0, describe(r));
          t.match(s.output(), /unable to decode public-key|unable to obtain certificate/, 'its fatal line');
        });
      }
      await t.test('suite choice: -c order, -s/-S, no CBC, -f ECDSA -f RSA; no resumption', { timeout: 30000 }, (t) => choice(t, w));
      await t.test('raw records: sentinel, bad input, split ClientHello', { timeout: 60000 }, (t) => rawTests(t, w));
      await t.test('renegotiation attempts', { timeout: 30000 }, (t) => renegotiation(t, w));
      if (w.name === 'ours') await t.test('version negotiation', { timeout: 60000 }, (t) => versions(t, w));
    });
  }
}


// RFC 8422 5.1: in TLS 1.2 the client's supported_groups also bound the
// curve of the server's ECDSA certificate (OpenSSL clients refuse others with
// "wrong curve"). keyproc skips a certificate on a curve the client lacks.
t.test('ours: TLS 1.2 picks the ECDSA certificate whose curve the client supports', async (t) => {
  const p384 = leafCert('p384');
  const p256 = leafCert('p256');
  const s = await serve(t, 'tcpserver', ours(['-f', p384.pem, '-f', p256.pem, 'cat']));
  const cases: [string, tls.SecureVersion, string][] = [
    ['X25519:P-256', 'TLSv1.2', p256.leafSha256],
    ['X25519:P-384', 'TLSv1.2', p384.leafSha256],
    ['X25519:P-256', 'TLSv1.3', p384.leafSha256], // 1.3: the curve is the signature scheme's business, first -f wins
  ];
  for (const [curves, version, leaf] of cases) {
    const c = await nodeTlsConnect({ port: s.port, caFile: p256.caCert, ecdhCurve: curves, maxVersion: version });
    t.equal(c.peerCertificate.fingerprint256, leaf, `${version} client with ${curves}: the right certificate`);
    c.destroy();
  }
});
