// Signature schemes as tables: what each scheme means for crypto.sign, and
// per protocol version, which schemes each key type can sign with.
import * as crypto from 'node:crypto';
import { TLS13 } from '../src/rpc/keyproto';

export type SchemeKind = 'ecdsa' | 'rsa-pss' | 'eddsa';

export interface SchemeInfo {
  name: string;
  kind: SchemeKind;
  /** Hash for crypto.sign; null for EdDSA (the algorithm fixes it). */
  hash: 'sha256' | 'sha384' | 'sha512' | null;
  hashLength: number;
}

export const SCHEMES: ReadonlyMap<number, SchemeInfo> = new Map<number, SchemeInfo>([
  [0x0403, { name: 'ecdsa_secp256r1_sha256', kind: 'ecdsa', hash: 'sha256', hashLength: 32 }],
  [0x0503, { name: 'ecdsa_secp384r1_sha384', kind: 'ecdsa', hash: 'sha384', hashLength: 48 }],
  [0x0603, { name: 'ecdsa_secp521r1_sha512', kind: 'ecdsa', hash: 'sha512', hashLength: 64 }],
  [0x0804, { name: 'rsa_pss_rsae_sha256', kind: 'rsa-pss', hash: 'sha256', hashLength: 32 }],
  [0x0805, { name: 'rsa_pss_rsae_sha384', kind: 'rsa-pss', hash: 'sha384', hashLength: 48 }],
  [0x0806, { name: 'rsa_pss_rsae_sha512', kind: 'rsa-pss', hash: 'sha512', hashLength: 64 }],
  [0x0807, { name: 'ed25519', kind: 'eddsa', hash: null, hashLength: 0 }],
  [0x0808, { name: 'ed448', kind: 'eddsa', hash: null, hashLength: 0 }],
]);

/** A key's class: 'rsa', 'ec:<curve>', 'ed25519', ... (undefined for keys we cannot use). */
export function keyClass(key: crypto.KeyObject): string | undefined {
  if (key.type !== 'private' && key.type !== 'public') return undefined;
  const t = key.asymmetricKeyType;
  if (t === 'ec') return `ec:${key.asymmetricKeyDetails?.namedCurve}`;
  return t;
}

/**
 * Per version: key class -> schemes it can sign with, in our order. In TLS 1.3
 * the curve fixes the ECDSA hash, and RSA signs with PSS only (rsae: an
 * ordinary rsaEncryption key), never PKCS#1 v1.5.
 * TLS 1.2 will get its own row here.
 */
export const KEY_SCHEMES: ReadonlyMap<number, Readonly<Record<string, readonly number[]>>> = new Map([
  [
    TLS13,
    {
      'ec:prime256v1': [0x0403],
      'ec:secp384r1': [0x0503],
      'ec:secp521r1': [0x0603],
      rsa: [0x0804, 0x0805, 0x0806],
      ed25519: [0x0807],
      ed448: [0x0808],
    },
  ],
]);

export function versionSupported(version: number): boolean {
  return KEY_SCHEMES.has(version);
}

/** Schemes this key can sign with under `version` (RSA: only those its modulus fits). */
export function schemesForKey(key: crypto.KeyObject, version: number): number[] {
  const table = KEY_SCHEMES.get(version);
  const cls = keyClass(key);
  if (!table || !cls || !Object.prototype.hasOwnProperty.call(table, cls)) return [];
  const schemes = [...table[cls]];
  if (cls === 'rsa') {
    // EMSA-PSS with salt = hash length needs emLen >= 2*hLen + 2.
    const bytes = Math.ceil((key.asymmetricKeyDetails?.modulusLength ?? 0) / 8);
    return schemes.filter((s) => bytes >= 2 * SCHEMES.get(s)!.hashLength + 2);
  }
  return schemes;
}

/** The first scheme in the client's order that this key can sign with, or undefined. */
export function chooseScheme(key: crypto.KeyObject, version: number, offered: readonly number[]): number | undefined {
  const mine = schemesForKey(key, version);
  return offered.find((s) => mine.includes(s));
}

/** Signs `content` with `key` under `scheme`. Throws for a scheme not in SCHEMES. */
export function signWithScheme(scheme: number, key: crypto.KeyObject, content: Uint8Array): Buffer {
  const info = SCHEMES.get(scheme);
  if (!info) throw new Error(`unknown signature scheme 0x${scheme.toString(16)}`);
  switch (info.kind) {
    case 'ecdsa':
      return crypto.sign(info.hash, content, { key, dsaEncoding: 'der' });
    case 'rsa-pss':
      return crypto.sign(info.hash, content, {
        key,
        padding: crypto.constants.RSA_PKCS1_PSS_PADDING,
        saltLength: info.hashLength,
      });
    case 'eddsa':
      return crypto.sign(null, content, key);
  }
}

/** The verification counterpart (for tests and self-checks). */
export function verifyWithScheme(scheme: number, key: crypto.KeyObject | crypto.X509Certificate, content: Uint8Array, sig: Uint8Array): boolean {
  const info = SCHEMES.get(scheme);
  if (!info) throw new Error(`unknown signature scheme 0x${scheme.toString(16)}`);
  const pub = key instanceof crypto.X509Certificate ? key.publicKey : key;
  switch (info.kind) {
    case 'ecdsa':
      return crypto.verify(info.hash, content, { key: pub, dsaEncoding: 'der' }, sig);
    case 'rsa-pss':
      return crypto.verify(info.hash, content, { key: pub, padding: crypto.constants.RSA_PKCS1_PSS_PADDING, saltLength: info.hashLength }, sig);
    case 'eddsa':
      return crypto.verify(null, content, pub, sig);
  }
}
