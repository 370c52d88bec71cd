// The AEADs of every TLS version, by suite cipher name, and the per-record
// nonce and sequence-number encodings they share.
import { createCipheriv, createDecipheriv, type CipherGCM, type DecipherGCM } from 'node:crypto';
import type { CipherSuite } from './tables';

// The AEADs by suite cipher name. Node types each family separately, so a
// table of constructors keeps the call sites free of casts; the GCM and
// ChaCha20-Poly1305 objects share the methods we use.
export type Sealer = Pick<CipherGCM, 'setAAD' | 'update' | 'final' | 'getAuthTag'>;
export type Opener = Pick<DecipherGCM, 'setAAD' | 'setAuthTag' | 'update' | 'final'>;
const TAG = { authTagLength: 16 } as const;
export const SEALERS: Record<CipherSuite['cipher'], (key: Uint8Array, nonce: Uint8Array) => Sealer> = {
  'aes-128-gcm': (k, n) => createCipheriv('aes-128-gcm', k, n, TAG),
  'aes-256-gcm': (k, n) => createCipheriv('aes-256-gcm', k, n, TAG),
  'chacha20-poly1305': (k, n) => createCipheriv('chacha20-poly1305', k, n, TAG),
};
export const OPENERS: Record<CipherSuite['cipher'], (key: Uint8Array, nonce: Uint8Array) => Opener> = {
  'aes-128-gcm': (k, n) => createDecipheriv('aes-128-gcm', k, n, TAG),
  'aes-256-gcm': (k, n) => createDecipheriv('aes-256-gcm', k, n, TAG),
  'chacha20-poly1305': (k, n) => createDecipheriv('chacha20-poly1305', k, n, TAG),
};

/** nonce = iv XOR (64-bit big-endian sequence number, left-padded to the iv length). */
export function nonceFor(iv: Uint8Array, seq: number): Buffer {
  const nonce = Buffer.from(iv);
  // seq stays far below 2^53; split into two 32-bit halves for the XOR.
  const hi = Math.floor(seq / 0x100000000);
  const lo = seq >>> 0;
  const n = nonce.length;
  nonce.writeUInt32BE((nonce.readUInt32BE(n - 8) ^ hi) >>> 0, n - 8);
  nonce.writeUInt32BE((nonce.readUInt32BE(n - 4) ^ lo) >>> 0, n - 4);
  return nonce;
}

export function seq64(seq: number): Uint8Array {
  const b = Buffer.alloc(8);
  b.writeUInt32BE(Math.floor(seq / 0x100000000), 0);
  b.writeUInt32BE(seq >>> 0, 4);
  return b;
}
