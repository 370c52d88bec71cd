// The netproc <-> keyproc protocol (docs/design.md, "Wire channels"), one codec per
// message. keyproc decodes everything netproc sends as hostile input.
import { ByteReader, ByteWriter } from '../lib/bytes';
import type { KeyClass } from '../tls/registry';

export const KeyMsg = {
  SELECT: 1, // netproc -> keyproc: which chain?
  CHAIN: 2, // keyproc -> netproc: the chain and the scheme it will sign with
  FAIL: 3, // keyproc -> netproc: no chain; the alert to send
  SIGN13: 4, // netproc -> keyproc: transcript hash for the TLS 1.3 CertificateVerify
  SIGN12: 5, // netproc -> keyproc: randoms, group and point for a TLS 1.2 ServerKeyExchange
  SIGNATURE: 6, // keyproc -> netproc: the one signature
} as const;

/** Key classes as SELECT sends them, one byte each, best first: the TLS 1.2 suites on offer constrain them. */
export const KEY_CLASS_BITS: Readonly<Record<KeyClass, number>> = { ec: 1, rsa: 2, ed25519: 4 };

export interface SelectRequest {
  version: number; // negotiated: 0x0304, 0x0303, 0x0302, 0x0301
  serverName: string; // '' when the client sent no SNI
  schemes: number[]; // client's signature_algorithms, in its order
  keyClasses: KeyClass[]; // which key types the candidate suites allow, best first
  curves: number[]; // TLS <= 1.2: named groups an ECDSA certificate's curve must be in; [] = any
}

export interface Sign12Request {
  clientRandom: Uint8Array; // 32 bytes
  serverRandom: Uint8Array; // 32 bytes
  group: number; // named group of the ephemeral key
  publicKey: Uint8Array; // the server's ephemeral public point
}

export interface ChainAnswer {
  scheme: number;
  chain: Uint8Array[]; // DER, leaf first
}

export function encodeSelect(r: SelectRequest): Uint8Array {
  const order = new ByteWriter();
  for (const c of r.keyClasses) order.u8(KEY_CLASS_BITS[c]);
  return new ByteWriter()
    .u16(r.version)
    .vector(1, Buffer.from(r.serverName, 'latin1'))
    .vector(2, u16s(r.schemes))
    .vector(1, order.finish())
    .vector(2, u16s(r.curves))
    .finish();
}

export function decodeSelect(payload: Uint8Array): SelectRequest {
  const r = new ByteReader(payload);
  const version = r.u16();
  const nameBytes = r.vector(1);
  const schemeBytes = r.vector(2);
  const classBytes = r.vector(1);
  const curves = readU16s(r.vector(2), 'curve list');
  r.end();
  const schemes = readU16s(schemeBytes, 'signature scheme list');
  const byBit = new Map<number, KeyClass>(Object.entries(KEY_CLASS_BITS).map(([name, bit]) => [bit, name as KeyClass]));
  const keyClasses: KeyClass[] = [];
  for (const bit of classBytes) {
    const c = byBit.get(bit);
    if (!c || keyClasses.includes(c)) throw new RangeError(`bad key class ${bit}`);
    keyClasses.push(c);
  }
  if (keyClasses.length === 0) throw new RangeError('no key class');
  // latin1 keeps every byte visible to the name check (a NUL stays a NUL).
  return { version, serverName: Buffer.from(nameBytes).toString('latin1'), schemes, keyClasses, curves };
}

function u16s(values: readonly number[]): Uint8Array {
  const w = new ByteWriter();
  for (const v of values) w.u16(v);
  return w.finish();
}

function readU16s(bytes: Uint8Array, what: string): number[] {
  if (bytes.length % 2 !== 0) throw new RangeError(`odd ${what}`);
  const r = new ByteReader(bytes);
  const out: number[] = [];
  while (r.remaining) out.push(r.u16());
  return out;
}

export function encodeChain(a: ChainAnswer): Uint8Array {
  const w = new ByteWriter().u16(a.scheme).u8(a.chain.length);
  for (const der of a.chain) w.vector(3, der);
  return w.finish();
}

export function decodeChain(payload: Uint8Array): ChainAnswer {
  const r = new ByteReader(payload);
  const scheme = r.u16();
  const count = r.u8();
  const chain: Uint8Array[] = [];
  for (let i = 0; i < count; i++) chain.push(r.vector(3).slice());
  r.end();
  if (chain.length === 0) throw new RangeError('empty chain');
  return { scheme, chain };
}

export function encodeFail(alert: number): Uint8Array {
  return Uint8Array.of(alert);
}

export function decodeFail(payload: Uint8Array): number {
  const r = new ByteReader(payload);
  const alert = r.u8();
  r.end();
  return alert;
}

export function encodeSign13(transcriptHash: Uint8Array): Uint8Array {
  return new ByteWriter().vector(1, transcriptHash).finish();
}

export function decodeSign13(payload: Uint8Array): Uint8Array {
  const r = new ByteReader(payload);
  const hash = r.vector(1);
  r.end();
  if (hash.length !== 32 && hash.length !== 48) throw new RangeError(`transcript hash of ${hash.length} bytes`);
  return hash;
}

export function encodeSign12(r: Sign12Request): Uint8Array {
  return new ByteWriter().bytes(r.clientRandom).bytes(r.serverRandom).u16(r.group).vector(1, r.publicKey).finish();
}

/** keyproc checks the point's length against the group itself. */
export function decodeSign12(payload: Uint8Array): Sign12Request {
  const r = new ByteReader(payload);
  const clientRandom = r.bytesOf(32);
  const serverRandom = r.bytesOf(32);
  const group = r.u16();
  const publicKey = r.vector(1);
  r.end();
  if (publicKey.length === 0) throw new RangeError('empty public key');
  return { clientRandom, serverRandom, group, publicKey };
}
