// The TLS engine (tls/) driven by real clients, with no tlswrapper
// around it: the glue netproc would be (bytes in through feed(), takeOutput()
// out, application data echoed), a test signer standing in for keyproc, and
// two transports: an in-memory Duplex for Node's tls client, loopback TCP for
// `openssl s_client`.
import { execFileSync, spawn } from 'node:child_process';
import { constants, createHash, createPrivateKey, privateEncrypt, sign, X509Certificate, type KeyObject } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Duplex } from 'node:stream';
import { connect, type ConnectionOptions, type TLSSocket } from 'node:tls';
import type { ClientAuth, EngineConfig, EngineEvent, HandshakeInfo, KeyClass, ServerEngine } from '../../tls/api';
import { createServerEngine, type EngineOptions } from '../../tls/engine';
import { serverCertificateVerifyContent, serverKeyExchange12Content } from '../../tls/messages';
import { Deframer, type RawRecord } from '../../tls/record';
import { CIPHER_SUITES_12 } from '../../tls/tables';

/** TLS 1.3 only: every suite and group, our order. */
export const CONFIG13: EngineConfig = {
  suites: [0x1303, 0x1302, 0x1301],
  groups: [0x001d, 0x0017, 0x0018, 0x0019],
  serverPreference: true,
  minVersion: 0x0304,
  maxVersion: 0x0304,
};

/** TLS 1.2 and 1.3: every suite of both, every group. */
export const CONFIG12: EngineConfig = {
  ...CONFIG13,
  suites12: CIPHER_SUITES_12.map((s) => s.code),
  minVersion: 0x0303,
};

// ---- certificates and the test signer -------------------------------------

export type EngineKeyName = 'rsa2048' | 'p256' | 'p384' | 'ed25519';
const NEWKEY: Record<EngineKeyName, string[]> = {
  rsa2048: ['-newkey', 'rsa:2048'],
  p256: ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256'],
  p384: ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-384'],
  ed25519: ['-newkey', 'ed25519'],
};
/** The TLS 1.3 CertificateVerify scheme (and the usual TLS 1.2 one) for each key. */
const SCHEME: Record<EngineKeyName, number> = { rsa2048: 0x0804, p256: 0x0403, p384: 0x0503, ed25519: 0x0807 };

export interface EngineKey {
  name: EngineKeyName;
  /** TLS 1.2 suite authentication this key serves (Ed25519 goes with ECDHE_ECDSA). */
  auth: 'rsa' | 'ecdsa';
  /** rsa_pss_rsae_sha256, ecdsa_secp256r1_sha256, ecdsa_secp384r1_sha384, ed25519. */
  scheme: number;
  key: KeyObject;
  keyFile: string;
  certFile: string;
  certPem: string;
  certDer: Uint8Array;
}

let workDir: string | undefined;
function keyDir(): string {
  if (!workDir) {
    const dir = mkdtempSync(join(tmpdir(), 'engine-harness-'));
    workDir = dir;
    process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  }
  return workDir;
}

/** A fresh key and a self-signed certificate for localhost (openssl req -x509); files go at exit. */
export function makeEngineKey(name: EngineKeyName): EngineKey {
  const dir = mkdtempSync(join(keyDir(), `${name}-`));
  const keyFile = join(dir, `${name}.key`);
  const certFile = join(dir, `${name}.crt`);
  execFileSync(
    'openssl',
    ['req', '-x509', ...NEWKEY[name], '-keyout', keyFile, '-out', certFile, '-days', '2', '-nodes',
      '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost'],
    { stdio: 'ignore' },
  );
  const certPem = readFileSync(certFile, 'utf8');
  return {
    name,
    auth: name === 'rsa2048' ? 'rsa' : 'ecdsa',
    scheme: SCHEME[name],
    key: createPrivateKey(readFileSync(keyFile)),
    keyFile,
    certFile,
    certPem,
    certDer: new Uint8Array(new X509Certificate(certPem).raw),
  };
}

// ---- client certificates ---------------------------------------------------

export type ClientKeyName = EngineKeyName;

export interface ClientCert {
  name: string;
  key: KeyObject;
  keyPem: string;
  keyFile: string;
  certPem: string;
  certFile: string;
  certDer: Uint8Array;
}

export interface ClientPki {
  /** The trust anchor, a P-256 CA "CN=Test Client CA". */
  caFile: string;
  caCert: X509Certificate;
  /** The CA's subject Name, DER: what certificate_authorities carries. */
  caSubject: Uint8Array;
  /** Client certificates the CA issued (CN=client-<name>, clientAuth). */
  issued: Record<ClientKeyName, ClientCert>;
  /** A self-signed P-256 client certificate no anchor vouches for. */
  stranger: ClientCert;
}

function clientCert(name: string, keyFile: string, certFile: string): ClientCert {
  const keyPem = readFileSync(keyFile, 'utf8');
  const certPem = readFileSync(certFile, 'utf8');
  return { name, key: createPrivateKey(keyPem), keyPem, keyFile, certPem, certFile, certDer: new Uint8Array(new X509Certificate(certPem).raw) };
}

/** A CA and client certificates (RSA 2048, P-256, P-384, Ed25519) made with the openssl CLI; files go at exit. */
export function makeClientPki(): ClientPki {
  const dir = mkdtempSync(join(keyDir(), 'client-pki-'));
  const f = (n: string) => join(dir, n);
  const run = (args: string[]) => execFileSync('openssl', args, { stdio: 'ignore' });
  run(['req', '-x509', ...NEWKEY.p256, '-keyout', f('ca.key'), '-out', f('ca.crt'), '-days', '2', '-nodes', '-subj', '/CN=Test Client CA']);
  writeFileSync(f('client.ext'), 'basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=clientAuth\n');
  const issued = {} as Record<ClientKeyName, ClientCert>;
  let serial = 1;
  for (const name of Object.keys(NEWKEY) as ClientKeyName[]) {
    run(['req', '-new', ...NEWKEY[name], '-keyout', f(`${name}.key`), '-out', f(`${name}.csr`), '-nodes', '-subj', `/CN=client-${name}`]);
    run(['x509', '-req', '-in', f(`${name}.csr`), '-CA', f('ca.crt'), '-CAkey', f('ca.key'), '-set_serial', String(serial++),
      '-days', '2', '-extfile', f('client.ext'), '-out', f(`${name}.crt`)]);
    issued[name] = clientCert(name, f(`${name}.key`), f(`${name}.crt`));
  }
  run(['req', '-x509', ...NEWKEY.p256, '-keyout', f('stranger.key'), '-out', f('stranger.crt'), '-days', '2', '-nodes', '-subj', '/CN=stranger']);
  const caCert = new X509Certificate(readFileSync(f('ca.crt')));
  return { caFile: f('ca.crt'), caCert, caSubject: subjectOf(new Uint8Array(caCert.raw)), issued, stranger: clientCert('stranger', f('stranger.key'), f('stranger.crt')) };
}

/** One DER TLV at `at`: where its content starts and where it ends. */
function derItem(der: Uint8Array, at: number): { tag: number; content: number; end: number } {
  let length = der[at + 1];
  let header = 2;
  if (length & 0x80) {
    const n = length & 0x7f;
    length = 0;
    for (let i = 0; i < n; i++) length = length * 256 + der[at + 2 + i];
    header += n;
  }
  return { tag: der[at], content: at + header, end: at + header + length };
}

/** A certificate's subject Name, DER (RFC 5280 4.1: [version], serial, signature, issuer, validity, subject). */
export function subjectOf(certDer: Uint8Array): Uint8Array {
  const tbs = derItem(certDer, derItem(certDer, 0).content);
  let at = tbs.content;
  if (derItem(certDer, at).tag === 0xa0) at = derItem(certDer, at).end; // explicit version
  for (let i = 0; i < 4; i++) at = derItem(certDer, at).end;
  return certDer.slice(at, derItem(certDer, at).end);
}

/**
 * The test's stand-in for peercert/: the leaf must be issued and signed by
 * the CA (no chain building, no dates), else unknown_ca. Records what it saw.
 */
export function caVerifier(pki: ClientPki, seen: Uint8Array[][] = []): ClientAuth {
  return {
    authorities: [pki.caSubject],
    verifyChain(chain) {
      seen.push(chain);
      const leaf = new X509Certificate(chain[0]);
      if (leaf.checkIssued(pki.caCert) && leaf.verify(pki.caCert.publicKey)) return { ok: true, publicKey: leaf.publicKey };
      return { ok: false, alert: 48, reason: `${leaf.subject} is not issued by the test CA` };
    },
  };
}

/** A verifier that refuses every chain with this alert. */
export function refusingVerifier(alert: number, reason: string, authorities: Uint8Array[] = []): ClientAuth {
  return { authorities, verifyChain: () => ({ ok: false, alert, reason }) };
}

/** What keyproc does: sign `content` with a signature scheme (0xff01: TLS 1.0/1.1 RSA). */
export function signScheme(key: KeyObject, scheme: number, content: Uint8Array): Uint8Array {
  switch (scheme) {
    case 0x0804:
      return sign('sha256', content, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 });
    case 0x0805:
      return sign('sha384', content, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 48 });
    case 0x0401:
      return sign('sha256', content, key);
    case 0x0201:
      return sign('sha1', content, key);
    case 0x0403:
      return sign('sha256', content, { key, dsaEncoding: 'der' });
    case 0x0503:
      return sign('sha384', content, { key, dsaEncoding: 'der' });
    case 0x0203:
      return sign('sha1', content, { key, dsaEncoding: 'der' });
    case 0x0807:
      return sign(null, content, key);
    case 0xff01: {
      // TLS 1.0/1.1 RSA: PKCS#1 v1.5 (block type 1) over MD5 ‖ SHA-1, no DigestInfo.
      const digest = Buffer.concat([createHash('md5').update(content).digest(), createHash('sha1').update(content).digest()]);
      return privateEncrypt({ key, padding: constants.RSA_PKCS1_PADDING }, digest);
    }
    default:
      throw new Error(`no signer for ${scheme}`);
  }
}

type NeedCertificate = Extract<EngineEvent, { type: 'needCertificate' }>;
type NeedSignature12 = Extract<EngineEvent, { type: 'needSignature12' }>;

/** keyproc's SIGN13: the CertificateVerify signature over this transcript hash. */
export function signCertificateVerify(key: KeyObject, scheme: number, transcriptHash: Uint8Array): Uint8Array {
  return signScheme(key, scheme, serverCertificateVerifyContent(transcriptHash));
}

/** keyproc's SIGN12: the ServerKeyExchange signature a needSignature12 event asks for. */
export function signServerKeyExchange(key: KeyObject, scheme: number, e: NeedSignature12): Uint8Array {
  return signScheme(key, scheme, serverKeyExchange12Content(e.clientRandom, e.serverRandom, e.group, e.publicKey));
}

// ---- the glue --------------------------------------------------------------

export interface PumpOptions {
  /** Passed to createServerEngine (clientAuth, ...). */
  engine?: EngineOptions;
  /** The scheme to answer needCertificate with (and sign with); default key.scheme. */
  scheme?: (e: NeedCertificate) => number;
  /** Echo application data back (default true). */
  echo?: boolean;
  /** Answer TLS 1.3 needSignature (default true); when false they are only counted. */
  answer13?: boolean;
  /** Close the transport after a fatal event, as netproc does (default false). */
  endOnFatal?: boolean;
  /** Sees every event before the glue acts on it. */
  onEvent?: (e: EngineEvent) => void;
}

/** Where the engine's output goes. */
export interface Transport {
  write(b: Buffer): void;
  end(): void;
}

export interface Pump {
  engine: ServerEngine;
  /** Bytes from the client. */
  feed(b: Uint8Array): void;
  /** Resolves at handshakeDone, rejects at a fatal event. */
  info: Promise<HandshakeInfo>;
  fatal: EngineEvent[];
  requested: { version: number; serverName: string | null; schemes: number[]; keyClasses: KeyClass[] }[];
  /** Application bytes received. */
  received: () => number;
  /** Everything the engine sent, as one buffer. */
  sent: () => Buffer;
  /** The scheme picked at the last needCertificate. */
  scheme: () => number;
  /** needSignature (TLS 1.3) events seen. */
  asked13: () => number;
}

/**
 * The glue: bytes from the client go to feed(); certificate and signature
 * requests are answered asynchronously like keyproc would; application data
 * is echoed back; close_notify is answered with ours.
 */
export function pumpEngine(cfg: EngineConfig, key: EngineKey, io: Transport, opts: PumpOptions = {}): Pump {
  const engine = createServerEngine(cfg, opts.engine);
  const { echo = true, answer13 = true, endOnFatal = false } = opts;
  const fatal: EngineEvent[] = [];
  const requested: Pump['requested'] = [];
  const sent: Buffer[] = [];
  let receivedBytes = 0;
  let scheme = 0;
  let asked13 = 0;
  let resolveInfo!: (i: HandshakeInfo) => void;
  let rejectInfo!: (e: Error) => void;
  const info = new Promise<HandshakeInfo>((res, rej) => {
    resolveInfo = res;
    rejectInfo = rej;
  });
  info.catch(() => {});
  let ended = false;
  const end = () => {
    ended = true;
    io.end();
  };
  const flush = () => {
    const out = engine.takeOutput();
    if (out.length === 0) return;
    sent.push(Buffer.from(out));
    if (!ended) io.write(Buffer.from(out));
  };
  const handle = (events: EngineEvent[]) => {
    for (const e of events) {
      opts.onEvent?.(e);
      switch (e.type) {
        case 'needCertificate':
          requested.push({ version: e.version, serverName: e.serverName, schemes: e.signatureSchemes, keyClasses: e.keyClasses });
          scheme = opts.scheme ? opts.scheme(e) : key.scheme;
          setImmediate(() => handle(engine.provideCertificate([key.certDer], scheme)));
          break;
        case 'needSignature':
          asked13++;
          if (answer13) setImmediate(() => handle(engine.provideSignature(signCertificateVerify(key.key, scheme, e.transcriptHash))));
          break;
        case 'needSignature12':
          setImmediate(() => handle(engine.provideSignature(signServerKeyExchange(key.key, scheme, e))));
          break;
        case 'handshakeDone':
          resolveInfo(e.info);
          break;
        case 'appData':
          receivedBytes += e.data.length;
          if (echo) engine.sendAppData(e.data);
          break;
        case 'peerClosed':
          engine.close();
          flush();
          end();
          break;
        case 'fatal':
          fatal.push(e);
          rejectInfo(new Error(e.message));
          if (endOnFatal) {
            flush();
            end();
          }
          break;
      }
    }
    flush();
  };
  return {
    engine,
    feed: (b) => handle(engine.feed(b)),
    info,
    fatal,
    requested,
    received: () => receivedBytes,
    sent: () => Buffer.concat(sent),
    scheme: () => scheme,
    asked13: () => asked13,
  };
}

// ---- Node's tls client over an in-memory Duplex ----------------------------

export interface DuplexEngine extends Pump {
  /** The client's socket: connect({ socket: duplex }). */
  duplex: Duplex;
}

/** An engine behind an in-memory Duplex, for Node's tls client. */
export function serveDuplex(cfg: EngineConfig, key: EngineKey, opts: PumpOptions = {}): DuplexEngine {
  const duplex: Duplex = new Duplex({
    read() {},
    write(chunk: Buffer, _enc, cb) {
      pump.feed(chunk);
      cb();
    },
  });
  const pump = pumpEngine(cfg, key, { write: (b) => duplex.push(b), end: () => duplex.push(null) }, opts);
  return { ...pump, duplex };
}

/** Node's tls client through the Duplex, for localhost, trusting the key's certificate; resolves at secureConnect. */
export function clientOver(server: DuplexEngine, key: EngineKey, opts: ConnectionOptions = {}): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ socket: server.duplex, servername: 'localhost', ca: key.certPem, ...opts });
    socket.once('secureConnect', () => resolve(socket));
    socket.once('error', reject);
  });
}

/** Write data, read back the echo of the same length. */
export function roundTrip(socket: TLSSocket, data: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let n = 0;
    const onData = (c: Buffer) => {
      chunks.push(c);
      n += c.length;
      if (n >= data.length) {
        socket.off('data', onData);
        resolve(Buffer.concat(chunks));
      }
    };
    socket.on('data', onData);
    socket.once('error', reject);
    socket.write(data);
  });
}

/** Send close_notify, wait for the server's. */
export function endAndWait(socket: TLSSocket): Promise<void> {
  return new Promise((resolve) => {
    socket.once('end', () => resolve());
    socket.resume();
    socket.end();
  });
}

// ---- openssl s_client over loopback TCP ------------------------------------

export interface TcpEngine {
  server: Server;
  port: number;
  /** handshakeDone infos and fatal events of every connection, in order. */
  infos: HandshakeInfo[];
  fatals: EngineEvent[];
}

/** A loopback server whose connections are pumped through an engine that echoes. */
export function listenEngine(cfg: EngineConfig, key: EngineKey, opts: PumpOptions = {}): Promise<TcpEngine> {
  const infos: HandshakeInfo[] = [];
  const fatals: EngineEvent[] = [];
  const server = createServer((sock: Socket) => {
    const pump = pumpEngine(cfg, key, { write: (b) => { if (!sock.destroyed) sock.write(b); }, end: () => sock.end() }, {
      endOnFatal: true,
      ...opts,
      onEvent: (e) => {
        if (e.type === 'handshakeDone') infos.push(e.info);
        if (e.type === 'fatal') fatals.push(e);
        opts.onEvent?.(e);
      },
    });
    sock.on('data', (b: Buffer) => pump.feed(b));
    sock.on('error', () => {});
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve({ server, port: (server.address() as AddressInfo).port, infos, fatals })));
}

export interface SClientOptions {
  port: number;
  /** Trusted: the chain is verified (-verify_return_error). */
  caFile: string;
  /** -tls1_3, -tls1_2, -tls1_1, -tls1. */
  version: string;
  args?: string[];
  /** Written one at a time: the first after the handshake, each next one after the previous echo showed up. */
  lines: string[];
  /** s_client commands (K, k, R: they produce no echo) and how long to wait after each before the next line. */
  commandPauseMs?: Record<string, number>;
  /** Wait this long after the last line before closing stdin (default 0). */
  endDelayMs?: number;
}

/** Run `openssl s_client` against 127.0.0.1:port for localhost; resolves with stdout+stderr and the exit code (killed after 20 s). */
export function sClient(o: SClientOptions): Promise<{ out: string; code: number | null }> {
  const { lines, commandPauseMs = {}, endDelayMs = 0 } = o;
  return new Promise((resolve) => {
    const p = spawn('openssl', [
      's_client', '-connect', `127.0.0.1:${o.port}`, o.version, '-servername', 'localhost',
      '-CAfile', o.caFile, '-verify_return_error', ...(o.args ?? []),
    ]);
    let out = '';
    let next = 0;
    const step = () => {
      if (next >= lines.length) {
        if (endDelayMs > 0) setTimeout(() => p.stdin.end(), endDelayMs);
        else p.stdin.end();
        return;
      }
      const line = lines[next++];
      p.stdin.write(`${line}\n`);
      const pause = commandPauseMs[line];
      if (pause !== undefined) setTimeout(step, pause);
    };
    p.stdout.on('data', (b: Buffer) => {
      const before = out;
      out += b.toString();
      if (!before.includes('Verify return code: 0') && out.includes('Verify return code: 0')) setTimeout(step, 100);
      else if (next > 0 && out.split(`${lines[next - 1]}\n`).length > before.split(`${lines[next - 1]}\n`).length) step();
    });
    p.stderr.on('data', (b: Buffer) => (out += b.toString()));
    const timer = setTimeout(() => p.kill(), 20000);
    p.on('close', (code) => {
      clearTimeout(timer);
      resolve({ out, code });
    });
  });
}

// ---------------------------------------------------------------- records and events

/** Every whole record in `bytes` (our output), with a deframer sized for `maxLength` fragments. */
export function records(bytes: Uint8Array, maxLength?: number): RawRecord[] {
  const d = new Deframer();
  if (maxLength !== undefined) d.maxLength = maxLength;
  d.push(bytes);
  const out: RawRecord[] = [];
  for (let r = d.next(); r; r = d.next()) out.push(r);
  return out;
}

/** The alert of the first fatal event, if any. */
export function fatalOf(events: EngineEvent[]): number | undefined {
  const f = events.find((e) => e.type === 'fatal');
  return f && f.type === 'fatal' ? f.alert : undefined;
}
