// Signature schemes as tables: what each scheme means for crypto.sign, and
// per protocol version, which schemes each key type can sign with.
import * as crypto from 'node:crypto';
import { TLS12, TLS13, type KeyClassName } from '../wire/keyrpc';

export const TLS11 = 0x0302;
export const TLS10 = 0x0301;

export type SchemeKind = 'ecdsa' | 'rsa-pss' | 'rsa-pkcs1' | 'rsa-md5sha1' | 'eddsa';

export interface SchemeInfo {
  name: string;
  kind: SchemeKind;
  /** Digest for crypto.sign; null for EdDSA (the algorithm fixes it). */
  hash: 'sha1' | 'sha256' | 'sha384' | 'sha512' | 'md5-sha1' | null;
  hashLength: number;
}

/**
 * Pseudo-scheme for TLS 1.0/1.1 RSA (RFC 4346 7.4.3): PKCS#1 v1.5 over
 * MD5(content) || SHA1(content), 36 bytes, with no DigestInfo. Those versions
 * have no signature_algorithms, so no IANA code exists; 0xff01 is private to
 * tlswrapper (netproc's engine uses the same code) and never goes on the wire.
 * crypto.sign('md5-sha1', ...) makes exactly this (test/unit/keyproc-schemes.ts
 * checks it with publicDecrypt).
 */
export const RSA_MD5SHA1 = 0xff01;

export const SCHEMES: ReadonlyMap<number, SchemeInfo> = new Map<number, SchemeInfo>([
  [0x0403, { name: 'ecdsa_secp256r1_sha256', kind: 'ecdsa', hash: 'sha256', hashLength: 32 }],
  [0x0503, { name: 'ecdsa_secp384r1_sha384', kind: 'ecdsa', hash: 'sha384', hashLength: 48 }],
  [0x0603, { name: 'ecdsa_secp521r1_sha512', kind: 'ecdsa', hash: 'sha512', hashLength: 64 }],
  [0x0203, { name: 'ecdsa_sha1', kind: 'ecdsa', hash: 'sha1', hashLength: 20 }],
  [0x0804, { name: 'rsa_pss_rsae_sha256', kind: 'rsa-pss', hash: 'sha256', hashLength: 32 }],
  [0x0805, { name: 'rsa_pss_rsae_sha384', kind: 'rsa-pss', hash: 'sha384', hashLength: 48 }],
  [0x0806, { name: 'rsa_pss_rsae_sha512', kind: 'rsa-pss', hash: 'sha512', hashLength: 64 }],
  [0x0401, { name: 'rsa_pkcs1_sha256', kind: 'rsa-pkcs1', hash: 'sha256', hashLength: 32 }],
  [0x0501, { name: 'rsa_pkcs1_sha384', kind: 'rsa-pkcs1', hash: 'sha384', hashLength: 48 }],
  [0x0601, { name: 'rsa_pkcs1_sha512', kind: 'rsa-pkcs1', hash: 'sha512', hashLength: 64 }],
  [0x0201, { name: 'rsa_pkcs1_sha1', kind: 'rsa-pkcs1', hash: 'sha1', hashLength: 20 }],
  [RSA_MD5SHA1, { name: 'rsa_md5sha1', kind: 'rsa-md5sha1', hash: 'md5-sha1', hashLength: 36 }],
  [0x0807, { name: 'ed25519', kind: 'eddsa', hash: null, hashLength: 0 }],
  [0x0808, { name: 'ed448', kind: 'eddsa', hash: null, hashLength: 0 }],
]);

/**
 * TLS 1.2 schemes with SHA-1 (RFC 9155 deprecates them): chosen only when the
 * client offered nothing else this key can sign with.
 */
export const LAST_RESORT: ReadonlySet<number> = new Set([0x0201, 0x0203]);

/** A key's class: 'rsa', 'ec:<curve>', 'ed25519', ... (undefined for keys we cannot use). */
export function keyClass(key: crypto.KeyObject): string | undefined {
  if (key.type !== 'private' && key.type !== 'public') return undefined;
  const t = key.asymmetricKeyType;
  if (t === 'ec') return `ec:${key.asymmetricKeyDetails?.namedCurve}`;
  return t;
}

/**
 * The key class as SELECT names it (what a TLS 1.2 suite's authentication
 * allows): 'ec' for ECDSA keys on any curve, 'rsa', and 'ed25519' for EdDSA
 * (Ed448 included: netproc files ed448 under the same class).
 */
export function selectKeyClass(key: crypto.KeyObject): KeyClassName | undefined {
  const cls = keyClass(key);
  if (cls === undefined) return undefined;
  if (cls.startsWith('ec:')) return 'ec';
  if (cls === 'rsa') return 'rsa';
  if (cls === 'ed25519' || cls === 'ed448') return 'ed25519';
  return undefined;
}

export interface VersionTable {
  /**
   * true: the client's signature_algorithms decide (TLS 1.2, 1.3); false: the
   * version fixes one scheme per key type and the offered list is ignored
   * (TLS 1.0/1.1 have no signature_algorithms).
   */
  negotiated: boolean;
  /** true: only keys whose SELECT class is in keyClasses (the TLS 1.2 and older suites' authentication). */
  classFiltered: boolean;
  /** Key class -> schemes it can sign with. */
  keys: Readonly<Record<string, readonly number[]>>;
}

const NIST_CURVES = ['ec:prime256v1', 'ec:secp384r1', 'ec:secp521r1'] as const;
const each = (classes: readonly string[], schemes: readonly number[]) => Object.fromEntries(classes.map((c) => [c, schemes]));

/**
 * Per version. In TLS 1.3 the curve fixes the ECDSA hash, and RSA signs with
 * PSS only (rsae: an ordinary rsaEncryption key), never PKCS#1 v1.5.
 * In TLS 1.2 an ECDSA scheme fixes only the hash, so any of our curves signs
 * any of them, as long as the curve is one the client supports (curveAllowed);
 * RSA signs PSS or PKCS#1 v1.5.
 * TLS 1.0/1.1: RSA signs MD5||SHA1 with PKCS#1 v1.5, ECDSA signs SHA-1, no EdDSA.
 */
export const KEY_SCHEMES: ReadonlyMap<number, VersionTable> = new Map<number, VersionTable>([
  [
    TLS13,
    {
      negotiated: true,
      classFiltered: false,
      keys: {
        'ec:prime256v1': [0x0403],
        'ec:secp384r1': [0x0503],
        'ec:secp521r1': [0x0603],
        rsa: [0x0804, 0x0805, 0x0806],
        ed25519: [0x0807],
        ed448: [0x0808],
      },
    },
  ],
  [
    TLS12,
    {
      negotiated: true,
      classFiltered: true,
      keys: {
        ...each(NIST_CURVES, [0x0403, 0x0503, 0x0603, 0x0203]),
        rsa: [0x0804, 0x0805, 0x0806, 0x0401, 0x0501, 0x0601, 0x0201],
        ed25519: [0x0807],
        ed448: [0x0808],
      },
    },
  ],
  [TLS11, { negotiated: false, classFiltered: true, keys: { ...each(NIST_CURVES, [0x0203]), rsa: [RSA_MD5SHA1] } }],
  [TLS10, { negotiated: false, classFiltered: true, keys: { ...each(NIST_CURVES, [0x0203]), rsa: [RSA_MD5SHA1] } }],
]);

export function versionSupported(version: number): boolean {
  return KEY_SCHEMES.has(version);
}

/** DER DigestInfo prefix length (RFC 8017 9.2 note 1) per hash. */
const DIGEST_INFO_PREFIX: Record<string, number> = { sha1: 15, sha256: 19, sha384: 19, sha512: 19 };

/** Smallest RSA modulus (bytes) that can carry this scheme's encoding. */
function minRsaBytes(info: SchemeInfo): number {
  switch (info.kind) {
    case 'rsa-pss':
      return 2 * info.hashLength + 2; // EMSA-PSS with salt = hash length
    case 'rsa-pkcs1':
      return DIGEST_INFO_PREFIX[info.hash!] + info.hashLength + 11; // EMSA-PKCS1-v1_5: tLen + 11
    case 'rsa-md5sha1':
      return info.hashLength + 11; // no DigestInfo
    default:
      return 0;
  }
}

/** Schemes this key can sign with under `version`, in table order (RSA: only those its modulus fits). */
export function schemesForKey(key: crypto.KeyObject, version: number): number[] {
  const table = KEY_SCHEMES.get(version)?.keys;
  const cls = keyClass(key);
  if (!table || !cls || !Object.prototype.hasOwnProperty.call(table, cls)) return [];
  const schemes = [...table[cls]];
  if (cls === 'rsa') {
    const bytes = Math.ceil((key.asymmetricKeyDetails?.modulusLength ?? 0) / 8);
    return schemes.filter((s) => bytes >= minRsaBytes(SCHEMES.get(s)!));
  }
  return schemes;
}

/** Whether SELECT's key classes allow this key under `version` (TLS 1.3: always). */
export function classAllowed(key: crypto.KeyObject, version: number, keyClasses: readonly KeyClassName[]): boolean {
  const table = KEY_SCHEMES.get(version);
  if (!table) return false;
  if (!table.classFiltered) return true;
  const cls = selectKeyClass(key);
  return cls !== undefined && keyClasses.includes(cls);
}

/** Our ECDSA curves (node's names) as TLS named groups. */
const CURVE_GROUPS: Readonly<Record<string, number>> = { prime256v1: 0x0017, secp384r1: 0x0018, secp521r1: 0x0019 };

/**
 * TLS 1.2 and below: an ECDSA key's curve must be one of the client's
 * supported_groups (RFC 8422 5.1), or the client refuses the certificate.
 * `curves` empty: no bound (TLS 1.3, or a client that sent none).
 */
export function curveAllowed(key: crypto.KeyObject, curves: readonly number[]): boolean {
  if (curves.length === 0 || key.asymmetricKeyType !== 'ec') return true;
  const group = CURVE_GROUPS[key.asymmetricKeyDetails?.namedCurve ?? ''];
  return group !== undefined && curves.includes(group);
}

/**
 * The scheme this key signs with, or undefined.
 * - TLS 1.3, 1.2: the first scheme in the client's order that the key can sign
 *   with; in 1.2 the SHA-1 schemes (LAST_RESORT) only if nothing else fits.
 *   The client's order: its list is its preference (RFC 5246 7.4.1.4.1, RFC
 *   8446 4.2.3), and apart from SHA-1 every scheme here is sound, so the
 *   server has no reason to override it (OpenSSL's default does the same).
 * - TLS 1.0, 1.1: the version's one scheme for the key; `offered` is ignored.
 */
export function chooseScheme(key: crypto.KeyObject, version: number, offered: readonly number[]): number | undefined {
  const table = KEY_SCHEMES.get(version);
  if (!table) return undefined;
  const mine = schemesForKey(key, version);
  if (!table.negotiated) return mine[0];
  return offered.find((s) => mine.includes(s) && !LAST_RESORT.has(s)) ?? offered.find((s) => mine.includes(s));
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
    case 'rsa-pkcs1':
    case 'rsa-md5sha1':
      // 'md5-sha1': OpenSSL signs the bare 36-byte MD5||SHA1, no DigestInfo.
      return crypto.sign(info.hash, content, { key, padding: crypto.constants.RSA_PKCS1_PADDING });
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
    case 'rsa-pkcs1':
    case 'rsa-md5sha1':
      return crypto.verify(info.hash, content, { key: pub, padding: crypto.constants.RSA_PKCS1_PADDING }, sig);
    case 'eddsa':
      return crypto.verify(null, content, pub, sig);
  }
}
