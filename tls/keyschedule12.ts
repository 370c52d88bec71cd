// The TLS 1.2 key schedule (RFC 5246 5, 6.3, 7.4.9; RFC 7627 for the
// extended master secret) on node:crypto HMAC, and the buffered transcript
// a TLS 1.2 handshake needs: its hash is only known once the suite is chosen,
// which for us is after keyproc picked the certificate.

import { createHash, createHmac } from 'node:crypto';
import type { CipherSuite12, HashName } from './tables';

/** The PRF's hash: the suite's in TLS 1.2, MD5 and SHA-1 together in TLS 1.0/1.1 (RFC 4346 5). */
export type PrfHash = HashName | 'md5sha1';

const latin1 = (s: string) => Uint8Array.from(Buffer.from(s, 'latin1'));

/** P_hash(secret, seed), `length` bytes (RFC 5246 5). */
export function pHash(hash: HashName | 'md5' | 'sha1', secret: Uint8Array, seed: Uint8Array, length: number): Uint8Array {
  const out = new Uint8Array(length);
  let a: Uint8Array = seed; // A(0)
  let filled = 0;
  while (filled < length) {
    a = new Uint8Array(createHmac(hash, secret).update(a).digest()); // A(i)
    const block = createHmac(hash, secret).update(a).update(seed).digest();
    const n = Math.min(block.length, length - filled);
    out.set(block.subarray(0, n), filled);
    filled += n;
  }
  return out;
}

/**
 * PRF(secret, label, seed) = P_<hash>(secret, label ‖ seed); for TLS 1.0/1.1,
 * P_MD5(S1, …) XOR P_SHA1(S2, …) with S1, S2 the (overlapping) halves of the secret.
 */
export function prf12(hash: PrfHash, secret: Uint8Array, label: string, seed: Uint8Array, length: number): Uint8Array {
  const l = latin1(label);
  const full = new Uint8Array(l.length + seed.length);
  full.set(l, 0);
  full.set(seed, l.length);
  if (hash !== 'md5sha1') return pHash(hash, secret, full, length);
  const half = Math.ceil(secret.length / 2);
  const a = pHash('md5', secret.subarray(0, half), full, length);
  const b = pHash('sha1', secret.subarray(secret.length - half), full, length);
  for (let i = 0; i < length; i++) a[i] ^= b[i];
  return a;
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}

/**
 * master_secret: with EMS, PRF(pms, "extended master secret", session_hash)
 * where session_hash is the transcript hash through ClientKeyExchange
 * (RFC 7627 4); without it, PRF(pms, "master secret", client_random ‖ server_random).
 */
export function masterSecret12(
  hash: PrfHash,
  preMaster: Uint8Array,
  ems: { sessionHash: Uint8Array } | { clientRandom: Uint8Array; serverRandom: Uint8Array },
): Uint8Array {
  if ('sessionHash' in ems) return prf12(hash, preMaster, 'extended master secret', ems.sessionHash, 48);
  return prf12(hash, preMaster, 'master secret', concat(ems.clientRandom, ems.serverRandom), 48);
}

export interface KeyBlock12 {
  /** CBC suites' HMAC keys; empty for AEADs. */
  clientMac: Uint8Array;
  serverMac: Uint8Array;
  clientKey: Uint8Array;
  serverKey: Uint8Array;
  clientIv: Uint8Array;
  serverIv: Uint8Array;
}

/**
 * key_block = PRF(master, "key expansion", server_random ‖ client_random), cut
 * into MAC keys (CBC only), cipher keys, implicit IVs (AEAD only) (RFC 5246 6.3).
 */
export function keyBlock12(
  suite: CipherSuite12,
  master: Uint8Array,
  clientRandom: Uint8Array,
  serverRandom: Uint8Array,
  version = 0x0303,
): KeyBlock12 {
  const m = suite.mac?.length ?? 0;
  const k = suite.keyLength;
  // TLS 1.0 CBC starts from key-block IVs and chains them; 1.1+ send explicit IVs.
  const iv = version === 0x0301 && suite.mac ? 16 : suite.fixedIvLength;
  const block = prf12(version >= 0x0303 ? suite.hash : 'md5sha1', master, 'key expansion', concat(serverRandom, clientRandom), 2 * (m + k + iv));
  let at = 0;
  const take = (n: number) => block.slice(at, (at += n));
  return {
    clientMac: take(m),
    serverMac: take(m),
    clientKey: take(k),
    serverKey: take(k),
    clientIv: take(iv),
    serverIv: take(iv),
  };
}

/** verify_data = PRF(master, "client finished" | "server finished", Hash(handshake messages))[0..12]. */
export function finishedVerifyData12(
  hash: PrfHash,
  master: Uint8Array,
  sender: 'client' | 'server',
  transcriptHash: Uint8Array,
): Uint8Array {
  return prf12(hash, master, `${sender} finished`, transcriptHash, 12);
}

/**
 * The handshake messages so far, kept whole: the hash is only known once the
 * suite is chosen, and a client's CertificateVerify signs the messages
 * themselves, with a hash of its choosing.
 */
export class Transcript12 {
  private readonly list: Uint8Array[] = [];

  add(message: Uint8Array): void {
    this.list.push(message);
  }

  /** The messages so far, concatenated. */
  messages(): Uint8Array {
    return new Uint8Array(Buffer.concat(this.list));
  }

  /** Hash(handshake_messages); for TLS 1.0/1.1, MD5 ‖ SHA-1 of them. */
  hash(hash: PrfHash): Uint8Array {
    if (hash === 'md5sha1') return new Uint8Array(Buffer.concat([this.digest('md5'), this.digest('sha1')]));
    return new Uint8Array(this.digest(hash));
  }

  private digest(name: string): Buffer {
    const h = createHash(name);
    for (const m of this.list) h.update(m);
    return h.digest();
  }
}
