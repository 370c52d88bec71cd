// The netproc <-> keyproc protocol (see DESIGN.md section 3), one codec per
// message. keyproc decodes everything netproc sends as hostile input.
import { ByteReader, ByteWriter } from '../bytes';

export const KeyMsg = {
  SELECT: 1, // netproc -> keyproc: which chain?
  CHAIN: 2, // keyproc -> netproc: the chain and the scheme it will sign with
  FAIL: 3, // keyproc -> netproc: no chain; the alert to send
  SIGN13: 4, // netproc -> keyproc: transcript hash for the TLS 1.3 CertificateVerify
  SIGNATURE: 6, // keyproc -> netproc: the one signature
} as const;

/** The only protocol versions keyproc knows how to build signed content for. */
export const TLS13 = 0x0304;

export interface SelectRequest {
  version: number; // 0x0304
  serverName: string; // '' when the client sent no SNI
  schemes: number[]; // client's signature_algorithms, in its order
}

export interface ChainAnswer {
  scheme: number;
  chain: Uint8Array[]; // DER, leaf first
}

export function encodeSelect(r: SelectRequest): Uint8Array {
  const schemes = new ByteWriter();
  for (const s of r.schemes) schemes.u16(s);
  return new ByteWriter()
    .u16(r.version)
    .vector(1, new TextEncoder().encode(r.serverName))
    .vector(2, schemes.finish())
    .finish();
}

export function decodeSelect(payload: Uint8Array): SelectRequest {
  const r = new ByteReader(payload);
  const version = r.u16();
  const nameBytes = r.vector(1);
  const schemeBytes = r.vector(2);
  r.end();
  if (schemeBytes.length % 2 !== 0) throw new RangeError('odd signature scheme list');
  const s = new ByteReader(schemeBytes);
  const schemes: number[] = [];
  while (s.remaining) schemes.push(s.u16());
  // latin1 keeps every byte visible to the name check (a NUL stays a NUL).
  return { version, serverName: Buffer.from(nameBytes).toString('latin1'), schemes };
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
