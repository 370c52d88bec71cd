// Control messages on netproc's fd 3. entry -> netproc: CONFIG (first, its
// configuration as JSON: not on its command line, where any local user could
// read it), then ANCHORS (with -a, once, before netproc jails itself).
// netproc -> entry: CONNECTED (with
// delayed encryption: the addresses, so prog can start before TLS),
// HANDSHAKE_DONE. The
// entry treats what netproc says as untrusted: it checks every field before
// acting on it, and the facts only ever describe netproc's own connection.
import { isIP } from 'node:net';
import { ByteReader, ByteWriter } from '../lib/bytes';
import { PROTOCOL_NAMES, type HandshakeInfo } from '../tls/api';
import { Limits } from '../tls/tables';

export const CtlMsg = {
  HANDSHAKE_DONE: 1,
  ANCHORS: 2,
  CONNECTED: 3,
  CONFIG: 4,
} as const;

/**
 * The client socket's addresses as netproc sees them (getsockname and
 * getpeername on fd 0); null when fd 0 is no TCP socket (a pipe, say).
 * The entry never touches the socket after handing it to netproc.
 */
export interface SocketAddresses {
  localAddress: string;
  localPort: number;
  remoteAddress: string;
  remotePort: number;
}

/**
 * The addresses of a PROXY protocol header (-p), in the same shape: its source
 * is the client (remote), its destination the address the client connected to
 * (local). null without -p, or for a header without addresses (v1 UNKNOWN, v2 LOCAL).
 */
export type ProxyAddresses = SocketAddresses;

export interface HandshakeReport extends HandshakeInfo {
  socket: SocketAddresses | null;
  proxy: ProxyAddresses | null;
}

/** A longer client chain never passes the engine (tls/tables.ts Limits). */
export const MAX_PEER_CERTIFICATES = Limits.clientChain;
/** The biggest control frame: a big anchor file (a system CA bundle is ~200 KB of DER) fits. */
export const MAX_CTL_FRAME = 1024 * 1024;

/** ANCHORS: the trust anchors' DER, each as u24 length + bytes. */
export function encodeAnchors(ders: Uint8Array[]): Uint8Array {
  const w = new ByteWriter();
  for (const der of ders) w.vector(3, der);
  return w.finish();
}

export function decodeAnchors(payload: Uint8Array): Uint8Array[] {
  const r = new ByteReader(payload);
  const out: Uint8Array[] = [];
  while (r.remaining > 0) out.push(r.vector(3));
  if (out.length === 0) throw new RangeError('no anchors in ANCHORS');
  return out;
}

export function encodeHandshakeDone(info: HandshakeInfo, socket: SocketAddresses | null, proxy: ProxyAddresses | null = null): Uint8Array {
  const { version, cipher, group, serverName } = info;
  const peerCertificates = info.peerCertificates?.map((der) => Buffer.from(der).toString('base64')) ?? null;
  return new TextEncoder().encode(JSON.stringify({ version, cipher, group, serverName, socket, proxy, peerCertificates }));
}

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/** The client's chain: null, or 1..MAX_PEER_CERTIFICATES non-empty base64 DER strings. */
function decodePeerCertificates(x: unknown): Uint8Array[] | null {
  if (x === null) return null;
  if (!Array.isArray(x) || x.length < 1 || x.length > MAX_PEER_CERTIFICATES) throw new RangeError('bad peerCertificates in handshake report');
  return x.map((c) => {
    if (typeof c !== 'string' || c.length % 4 !== 0 || !BASE64.test(c)) throw new RangeError('bad peerCertificates in handshake report');
    return new Uint8Array(Buffer.from(c, 'base64'));
  });
}

const PRINTABLE = /^[\x21-\x7e]{1,253}$/;

/** An object's IP-literal and port fields, checked; what: its name in errors. */
function addressFields(x: unknown, what: string) {
  if (typeof x !== 'object' || x === null || Array.isArray(x)) throw new RangeError(`bad ${what} in handshake report`);
  const s = x as Record<string, unknown>;
  const ip = (key: string): string => {
    const v = s[key];
    // An IP literal only: no brackets, no zone, nothing a shell or a log would mind.
    if (typeof v !== 'string' || !/^[0-9A-Fa-f.:]{2,45}$/.test(v) || isIP(v) === 0) throw new RangeError(`bad ${what} ${key} in handshake report`);
    return v;
  };
  const port = (key: string): number => {
    const v = s[key];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > 65535) throw new RangeError(`bad ${what} ${key} in handshake report`);
    return v;
  };
  return { ip, port };
}

function decodeAddresses(x: unknown, what: string): SocketAddresses | null {
  if (x === null) return null;
  const { ip, port } = addressFields(x, what);
  return { localAddress: ip('localAddress'), localPort: port('localPort'), remoteAddress: ip('remoteAddress'), remotePort: port('remotePort') };
}

/** What prog's environment needs before the handshake: the addresses. */
export type ConnectionReport = Pick<HandshakeReport, 'socket' | 'proxy'>;

export function encodeConnected(socket: SocketAddresses | null, proxy: ProxyAddresses | null): Uint8Array {
  return new TextEncoder().encode(JSON.stringify({ socket, proxy }));
}

export function decodeConnected(payload: Uint8Array): ConnectionReport {
  const v = JSON.parse(Buffer.from(payload).toString('utf8')) as Record<string, unknown>;
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new RangeError('bad connection report');
  return { socket: decodeAddresses(v.socket, 'socket'), proxy: decodeAddresses(v.proxy, 'proxy') };
}

export function decodeHandshakeDone(payload: Uint8Array): HandshakeReport {
  const v = JSON.parse(Buffer.from(payload).toString('utf8')) as Record<string, unknown>;
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new RangeError('bad handshake report');
  const text = (key: string): string => {
    const x = v[key];
    if (typeof x !== 'string' || !PRINTABLE.test(x)) throw new RangeError(`bad ${key} in handshake report`);
    return x;
  };
  const version = PROTOCOL_NAMES.find((name) => name === v.version);
  if (!version) throw new RangeError('bad version in handshake report');
  const serverName = v.serverName === null ? null : text('serverName');
  return {
    version,
    cipher: text('cipher'),
    group: text('group'),
    serverName,
    socket: decodeAddresses(v.socket, 'socket'),
    proxy: decodeAddresses(v.proxy, 'proxy'),
    peerCertificates: decodePeerCertificates(v.peerCertificates),
  };
}
