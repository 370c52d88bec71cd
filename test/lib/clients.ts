// Real TLS clients against 127.0.0.1:PORT, each bounded by a timeout so a hang
// fails the test instead of hanging it.
//
//   const r = await opensslClient({ port, servername: 'localhost', caFile: c.caCert,
//                                   tls: '1.3', input: 'ping\n', until: 'ping\n' });
//   t.equal(r.code, 0); t.equal(r.protocol, 'TLSv1.3'); t.equal(r.data, 'ping\n');
//
// "until": keep the client's stdin open until its output holds this, then
// close stdin (for echo-style progs such as `cat` that never close first).
// Without it, stdin is closed after the input and the client reads until the
// server closes (for progs that answer and exit, e.g. the HTTP responder).
import { once } from 'node:events';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import * as tls from 'node:tls';
import { run, sleep, type RunResult } from './sh';

export type TlsVersion = '1.2' | '1.3';

/**
 * How long a client has to exit once its `until` matched and its stdin closed
 * (it sends close_notify and goes). Generous: on a busy machine a connection
 * of ours takes seconds. The overall default deadline is 30 s.
 */
const CLIENT_EXIT_GRACE_MS = 10000;

export interface ClientCommon {
  port: number;
  host?: string;
  /** SNI name and the name verified in the certificate. Default 'localhost'. */
  servername?: string;
  /** Root CA file; with it the chain and the name are verified. */
  caFile?: string | undefined;
  /** Pin one version; default: the client's own range. */
  tls?: TlsVersion;
  input?: string | Buffer;
  until?: string | RegExp | number;
  timeoutMs?: number;
  /** Client certificate (PEM file, leaf first; gnutls and Node send every certificate in it) and its key file. */
  certFile?: string | undefined;
  keyFile?: string | undefined;
}

export interface ClientResult extends RunResult {
  /** Application data received (stdout, decoded as utf8). */
  data: string;
  /** Negotiated protocol as the client printed it, normalised to 'TLSv1.2' / 'TLSv1.3' when known. */
  protocol?: string | undefined;
  /** Cipher suite name as the client printed it. */
  cipher?: string | undefined;
  /** Key exchange group, e.g. 'X25519', 'P-256' (openssl), as printed. */
  group?: string | undefined;
  /** openssl: "Signature type"; gnutls: the signature part of the description. */
  signature?: string | undefined;
  /** Whether the client reported a verified peer. */
  verified?: boolean | undefined;
  /** openssl: the "Peer certificate" subject line, e.g. 'CN = localhost'. */
  peer?: string | undefined;
}

// ---------------------------------------------------------------- openssl

export interface OpensslOptions extends ClientCommon {
  /** TLS 1.3 suites, e.g. 'TLS_AES_128_GCM_SHA256'. */
  ciphersuites?: string;
  /** TLS 1.2 cipher list, e.g. 'ECDHE-ECDSA-AES128-GCM-SHA256'. */
  cipher?: string;
  /** e.g. 'X25519', 'P-256:P-384'. */
  groups?: string;
  /** e.g. 'ed25519', 'ECDSA+SHA256', 'rsa_pss_rsae_sha256'. */
  sigalgs?: string;
  /** Send no SNI (-noservername). */
  noSni?: boolean;
  /** Extra raw arguments. */
  extra?: string[];
  /** Intermediates s_client sends after the leaf of certFile (-cert_chain). */
  chainFile?: string | undefined;
}

/** `openssl s_client -brief`: data on stdout, the brief summary on stderr (parsed). */
export async function opensslClient(o: OpensslOptions): Promise<ClientResult> {
  const name = o.servername ?? 'localhost';
  // -ign_eof only when no `until`: then the client reads until the server closes. With
  // `until`, closing stdin makes s_client send close_notify and exit 0.
  const argv = ['openssl', 's_client', '-connect', `${o.host ?? '127.0.0.1'}:${o.port}`, '-brief'];
  if (o.until === undefined) argv.push('-ign_eof');
  // Lines starting with Q, R, k or K are s_client commands unless -nocommands.
  argv.push('-nocommands');
  if (o.noSni) argv.push('-noservername'); else argv.push('-servername', name);
  if (o.caFile) argv.push('-CAfile', o.caFile, '-verify_return_error', '-verify_hostname', name);
  if (o.tls === '1.2') argv.push('-tls1_2');
  if (o.tls === '1.3') argv.push('-tls1_3');
  if (o.ciphersuites) argv.push('-ciphersuites', o.ciphersuites);
  if (o.cipher) argv.push('-cipher', o.cipher);
  if (o.groups) argv.push('-groups', o.groups);
  if (o.sigalgs) argv.push('-sigalgs', o.sigalgs);
  if (o.certFile) argv.push('-cert', o.certFile, '-key', o.keyFile ?? o.certFile);
  if (o.chainFile) argv.push('-cert_chain', o.chainFile);
  argv.push(...(o.extra ?? []));
  const r = await run(argv, { input: o.input ?? '', until: o.until, timeoutMs: o.timeoutMs ?? 30000, graceMs: CLIENT_EXIT_GRACE_MS });
  const field = (re: RegExp) => re.exec(r.err)?.[1]?.trim();
  const temp = field(/Server Temp Key: ([^\n]+)/);
  return {
    ...r, data: r.out,
    protocol: field(/Protocol version: ([^\n]+)/),
    cipher: field(/Ciphersuite: ([^\n]+)/),
    group: temp?.split(',')[0]?.trim(),
    signature: field(/Signature type: ([^\n]+)/),
    peer: field(/Peer certificate: ([^\n]+)/),
    verified: /Verification: OK/.test(r.err) ? true : /Verification error|verify error/i.test(r.err) ? false : undefined,
  };
}

// ---------------------------------------------------------------- gnutls-cli

export interface GnutlsOptions extends ClientCommon {
  /** Priority string, e.g. 'NORMAL:-VERS-ALL:+VERS-TLS1.2'. Overrides `tls`. */
  priority?: string;
  noSni?: boolean;
  extra?: string[];
}

let logSeq = 0;
/** `gnutls-cli` with its informational messages sent to a log file (parsed); stdout is the data. */
export async function gnutlsClient(o: GnutlsOptions): Promise<ClientResult> {
  const name = o.servername ?? 'localhost';
  const log = path.join(fs.mkdtempSync('/tmp/gnutls-cli-'), `log-${process.pid}-${logSeq++}`);
  const argv = ['gnutls-cli', '-p', String(o.port), `--logfile=${log}`];
  if (o.noSni) argv.push('--disable-sni'); else argv.push(`--sni-hostname=${name}`);
  if (o.caFile) argv.push(`--x509cafile=${o.caFile}`, `--verify-hostname=${name}`);
  else argv.push('--insecure');
  const priority = o.priority ?? (o.tls === '1.2' ? 'NORMAL:-VERS-ALL:+VERS-TLS1.2'
    : o.tls === '1.3' ? 'NORMAL:-VERS-ALL:+VERS-TLS1.3' : undefined);
  if (priority) argv.push(`--priority=${priority}`);
  if (o.certFile) argv.push(`--x509certfile=${o.certFile}`, `--x509keyfile=${o.keyFile ?? o.certFile}`);
  argv.push(...(o.extra ?? []), o.host ?? '127.0.0.1');
  const r = await run(argv, { input: o.input ?? '', until: o.until, timeoutMs: o.timeoutMs ?? 30000, graceMs: CLIENT_EXIT_GRACE_MS });
  let info = '';
  try { info = fs.readFileSync(log, 'utf8'); fs.rmSync(path.dirname(log), { recursive: true, force: true }); } catch { /* none */ }
  const all = info + r.err;
  // - Description: (TLS1.3-X.509)-(ECDHE-X25519)-(EdDSA-Ed25519)-(AES-256-GCM)
  const desc = /- Description: \((TLS[\d.]+)[^)]*\)-\(([^)]*)\)-\(([^)]*)\)-\(([^)]*)\)/.exec(all);
  const ver = desc?.[1]?.replace(/^TLS/, 'TLSv');
  const group = desc?.[2]?.replace(/^ECDHE-/, '');
  return {
    ...r, err: all, data: r.out,
    protocol: ver, group, signature: desc?.[3], cipher: desc?.[4],
    verified: /Certificate is trusted|The certificate is trusted/.test(all) ? true
      : /certificate is NOT trusted|verification failed/i.test(all) ? false : undefined,
  };
}

// ---------------------------------------------------------------- curl

export interface CurlOptions extends Omit<ClientCommon, 'input' | 'until'> {
  /** URL path, default '/'. */
  urlPath?: string;
  /** TLS 1.3 suites (--tls13-ciphers) and TLS 1.2 list (--ciphers). */
  tls13Ciphers?: string;
  ciphers?: string;
  curves?: string;
  /** Request body (POST). */
  data?: string;
  extra?: string[];
}

/** `curl -v https://NAME:PORT/path --resolve NAME:PORT:127.0.0.1`; body on stdout, -v trace parsed. */
export async function curlClient(o: CurlOptions): Promise<ClientResult> {
  const name = o.servername ?? 'localhost';
  const host = o.host ?? '127.0.0.1';
  const argv = ['curl', '-sS', '-v', '--http1.1', '--max-time', String(Math.ceil((o.timeoutMs ?? 30000) / 1000)),
    '--resolve', `${name}:${o.port}:${host}`];
  if (o.caFile) argv.push('--cacert', o.caFile); else argv.push('-k');
  if (o.tls === '1.2') argv.push('--tlsv1.2', '--tls-max', '1.2');
  if (o.tls === '1.3') argv.push('--tlsv1.3', '--tls-max', '1.3');
  if (o.tls13Ciphers) argv.push('--tls13-ciphers', o.tls13Ciphers);
  if (o.ciphers) argv.push('--ciphers', o.ciphers);
  if (o.curves) argv.push('--curves', o.curves);
  if (o.data !== undefined) argv.push('--data-binary', o.data);
  argv.push(...(o.extra ?? []), `https://${name}:${o.port}${o.urlPath ?? '/'}`);
  const r = await run(argv, { timeoutMs: (o.timeoutMs ?? 30000) + 2000 });
  // * SSL connection using TLSv1.3 / TLS_AES_256_GCM_SHA384
  const m = /SSL connection using (\S+) \/ (\S+)/.exec(r.err);
  return {
    ...r, data: r.out, protocol: m?.[1], cipher: m?.[2],
    verified: /SSL certificate verify ok/.test(r.err) ? true : /SSL certificate problem/.test(r.err) ? false : undefined,
  };
}

// ---------------------------------------------------------------- node tls

export interface NodeTlsOptions {
  port: number;
  host?: string;
  servername?: string;
  /** CA file path or PEM text; with it the server is verified, without it not. */
  caFile?: string | undefined;
  ca?: string | undefined;
  tls?: TlsVersion;
  minVersion?: tls.SecureVersion;
  maxVersion?: tls.SecureVersion;
  ciphers?: string;
  ecdhCurve?: string;
  sigalgs?: string;
  /** Handshake deadline. Default 10000 ms. */
  timeoutMs?: number;
  session?: Buffer | undefined;
  /** Client certificate: PEM text (leaf first, intermediates after it, all sent) and its key. */
  cert?: string | Buffer | undefined;
  key?: string | Buffer | undefined;
}

export interface NodeTlsClient {
  socket: tls.TLSSocket;
  protocol: string | null;
  cipher: tls.CipherNameAndProtocol;
  /** Key exchange, e.g. { type: 'ECDH', name: 'X25519', size: 253 }. */
  ephemeral: tls.EphemeralKeyInfo | object | null;
  peerCertificate: tls.PeerCertificate;
  authorized: boolean;
  /** Every byte received so far. */
  received(): Buffer;
  send(data: string | Buffer): Promise<void>;
  /** Resolves once the received bytes contain `what` (or hold that many bytes). */
  readUntil(what: string | Buffer | number, timeoutMs?: number): Promise<Buffer>;
  /** Resolve with all bytes received once the server closes (without closing first). */
  readToClose(timeoutMs?: number): Promise<Buffer>;
  /**
   * Send close_notify (end) and resolve with all bytes received until the server
   * closes. Note TLS 1.2 has no half-close: a server may drop its pending output.
   */
  endAndReadAll(timeoutMs?: number): Promise<Buffer>;
  /** Resolves when the socket has closed. */
  closed: Promise<void>;
  /** The first error after the handshake (e.g. an alert the server sent after the client's Finished in TLS 1.3), or null. */
  error(): (Error & { code?: string }) | null;
  destroy(): void;
}

/** Node's tls.connect with a deadline; rejects on handshake error or timeout. */
export function nodeTlsConnect(o: NodeTlsOptions): Promise<NodeTlsClient> {
  const name = o.servername ?? 'localhost';
  const ca = o.ca ?? (o.caFile ? fs.readFileSync(o.caFile, 'utf8') : undefined);
  return new Promise((resolve, reject) => {
    const socket = tls.connect({
      host: o.host ?? '127.0.0.1', port: o.port, servername: name, ca,
      rejectUnauthorized: !!ca,
      minVersion: o.minVersion ?? (o.tls ? `TLSv${o.tls}` as tls.SecureVersion : undefined),
      maxVersion: o.maxVersion ?? (o.tls ? `TLSv${o.tls}` as tls.SecureVersion : undefined),
      ciphers: o.ciphers, ecdhCurve: o.ecdhCurve, sigalgs: o.sigalgs, session: o.session,
      cert: o.cert, key: o.key,
    });
    const chunks: Buffer[] = [];
    let waiters: Array<() => void> = [];
    let ended = false;
    const wake = () => { const w = waiters; waiters = []; w.forEach((f) => f()); };
    socket.on('data', (d: Buffer) => { chunks.push(d); wake(); });
    const closed = new Promise<void>((r) => socket.on('close', () => { ended = true; wake(); r(); }));
    socket.on('end', () => { ended = true; wake(); });
    const timer = setTimeout(() => { socket.destroy(new Error(`TLS handshake timed out after ${o.timeoutMs ?? 10000} ms`)); }, o.timeoutMs ?? 10000);
    socket.once('error', (e) => { clearTimeout(timer); reject(e); });
    socket.once('secureConnect', () => {
      clearTimeout(timer);
      let lateError: (Error & { code?: string }) | null = null;
      // Reported through close/read timeouts, and kept for error().
      socket.on('error', (e) => { lateError ??= e; });
      const received = () => Buffer.concat(chunks);
      const waitFor = (done: () => boolean, timeoutMs: number, what: string) => new Promise<Buffer>((res, rej) => {
        const tm = setTimeout(() => rej(new Error(`timed out after ${timeoutMs} ms waiting for ${what}; got ${JSON.stringify(received().toString('latin1').slice(-300))}`)), timeoutMs);
        const check = () => {
          if (done()) { clearTimeout(tm); res(received()); return; }
          if (ended) { clearTimeout(tm); rej(new Error(`connection closed while waiting for ${what}; got ${JSON.stringify(received().toString('latin1').slice(-300))}`)); return; }
          waiters.push(check);
        };
        check();
      });
      const toClose = (timeoutMs: number) => new Promise<Buffer>((res, rej) => {
        const tm = setTimeout(() => { socket.destroy(); rej(new Error(`server did not close within ${timeoutMs} ms`)); }, timeoutMs);
        closed.then(() => { clearTimeout(tm); res(received()); });
      });
      resolve({
        socket,
        protocol: socket.getProtocol(),
        cipher: socket.getCipher(),
        ephemeral: socket.getEphemeralKeyInfo(),
        peerCertificate: socket.getPeerCertificate(),
        authorized: socket.authorized,
        received,
        send: (data) => new Promise((res, rej) => socket.write(data, (e) => (e ? rej(e) : res()))),
        readUntil: (what, timeoutMs = 10000) => waitFor(
          () => (typeof what === 'number' ? received().length >= what : received().includes(what)),
          timeoutMs, typeof what === 'number' ? `${what} bytes` : JSON.stringify(String(what))),
        readToClose: (timeoutMs = 10000) => toClose(timeoutMs),
        endAndReadAll: (timeoutMs = 10000) => { socket.end(); return toClose(timeoutMs); },
        closed,
        error: () => lateError,
        destroy: () => socket.destroy(),
      });
    });
  });
}

/** Connect, send `data`, read until the same bytes came back (echo prog), close. */
export async function nodeTlsEcho(o: NodeTlsOptions & { data: string | Buffer }): Promise<{ client: NodeTlsClient; echoed: Buffer }> {
  const client = await nodeTlsConnect(o);
  try {
    await client.send(o.data);
    const want = Buffer.isBuffer(o.data) ? o.data : Buffer.from(o.data);
    const got = await client.readUntil(want.length, o.timeoutMs ?? 10000);
    return { client, echoed: got };
  } finally {
    client.destroy();
  }
}

// ---------------------------------------------------------------- progs

/** Small programs to run behind the wrapper (in test/lib/progs). */
export const progs = {
  /** Minimal HTTP/1.x responder: reads the request head, answers 200 "hello over tls: <request line>", exits. */
  http: path.join(__dirname, 'progs', 'http-hello.sh'),
  /** Prints its environment (sorted), then exits: to see what the wrapper passes to prog. */
  env: path.join(__dirname, 'progs', 'print-env.sh'),
  /** Prints its uid, gid and groups (id -u, id -g, id -G), then exits. */
  id: path.join(__dirname, 'progs', 'print-id.sh'),
};

/**
 * TCP to 127.0.0.1:port, raw bytes first (a PROXY header, in pieces with a
 * pause between), then Node tls over the same socket: all the server sent
 * until it closed (20 s at most).
 */
export async function tlsAfterRawBytes(port: number, pieces: Buffer[], options: tls.ConnectionOptions, pauseMs = 0): Promise<string> {
  const sock = net.connect(port, '127.0.0.1');
  await once(sock, 'connect');
  for (const [i, p] of pieces.entries()) {
    if (i > 0 && pauseMs) await sleep(pauseMs);
    sock.write(p);
  }
  const s = tls.connect({ ...options, socket: sock });
  const chunks: Buffer[] = [];
  s.on('data', (d: Buffer) => chunks.push(d));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('timed out')), 20000);
    s.on('error', (e) => { clearTimeout(timer); reject(e); });
    s.on('close', () => { clearTimeout(timer); resolve(); });
  });
  return Buffer.concat(chunks).toString();
}
