// keyproc's signing policy: per protocol version, which schemes each kind of
// key signs with, in what order, and how the client's offer picks one. What a
// scheme is (its hash, padding, curve, versions) is the registry's
// (tls/registry.ts); signing is tls/signature.ts.
import type * as crypto from 'node:crypto';
import { groupByCurve, NAMED_GROUPS, ProtocolVersion, RSA_MD5SHA1, SIGNATURE_SCHEMES, type KeyClass } from '../tls/registry';
import { minRsaModulusBytes } from '../tls/signature';

const { tls10, tls11, tls12, tls13 } = ProtocolVersion;

/**
 * TLS 1.2 schemes with SHA-1 (RFC 9155 deprecates them): chosen only when the
 * client offered nothing else this key can sign with.
 */
export const LAST_RESORT: ReadonlySet<number> = new Set(SIGNATURE_SCHEMES.filter((s) => s.hash === 'sha1').map((s) => s.code));

/**
 * A key's kind, the rows of the tables below: node's asymmetricKeyType, with
 * the curve for EC keys ('rsa', 'ec:prime256v1', 'ed25519', ...); undefined
 * for what is not a key.
 */
export function keyKind(key: crypto.KeyObject): string | undefined {
  if (key.type !== 'private' && key.type !== 'public') return undefined;
  const t = key.asymmetricKeyType;
  if (t === 'ec') return `ec:${key.asymmetricKeyDetails?.namedCurve}`;
  return t;
}

/**
 * The key class of the key types we sign with (Ed448 is filed under
 * 'ed25519', EdDSA's class, as netproc files it); other types (X25519, DSA,
 * RSASSA-PSS-only keys) have none.
 */
const CLASS_OF_KEY_TYPE: Readonly<Record<string, KeyClass>> = { rsa: 'rsa', ec: 'ec', ed25519: 'ed25519', ed448: 'ed25519' };

/** The key's class, as SELECT names what a TLS 1.2 suite's authentication allows. */
export function keyClassOf(key: crypto.KeyObject): KeyClass | undefined {
  if (key.type !== 'private' && key.type !== 'public') return undefined;
  const t = key.asymmetricKeyType ?? '';
  return Object.prototype.hasOwnProperty.call(CLASS_OF_KEY_TYPE, t) ? CLASS_OF_KEY_TYPE[t] : undefined;
}

export interface VersionTable {
  /**
   * true: the client's signature_algorithms decide (TLS 1.2, 1.3); false: the
   * version fixes one scheme per key type and the offered list is ignored
   * (TLS 1.0/1.1 have no signature_algorithms).
   */
  negotiated: boolean;
  /** true: only keys whose class is in SELECT's keyClasses (the TLS 1.2 and older suites' authentication). */
  classFiltered: boolean;
  /** Key kind (keyKind) -> schemes it can sign with, in our order. */
  keys: Readonly<Record<string, readonly number[]>>;
}

/** Our NIST groups' curves as key kinds: 'ec:prime256v1', ... */
const NIST_CURVES = NAMED_GROUPS.filter((g) => g.curve !== undefined).map((g) => `ec:${g.curve}`);
const each = (kinds: readonly string[], schemes: readonly number[]) => Object.fromEntries(kinds.map((c) => [c, schemes]));

/**
 * Per version. In TLS 1.3 the curve fixes the ECDSA hash, and RSA signs with
 * PSS only (rsae: an ordinary rsaEncryption key), never PKCS#1 v1.5.
 * In TLS 1.2 an ECDSA scheme fixes only the hash, so any of our curves signs
 * any of them, as long as the curve is one the client supports (curveAllowed);
 * RSA signs PSS or PKCS#1 v1.5.
 * TLS 1.0/1.1: RSA signs MD5||SHA1 with PKCS#1 v1.5, ECDSA signs SHA-1, no EdDSA.
 * test/unit/keyproc-schemes.ts checks every entry against the registry: known,
 * allowed in that version, for that kind of key.
 */
export const KEY_SCHEMES: ReadonlyMap<number, VersionTable> = new Map<number, VersionTable>([
  [
    tls13,
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
    tls12,
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
  [tls11, { negotiated: false, classFiltered: true, keys: { ...each(NIST_CURVES, [0x0203]), rsa: [RSA_MD5SHA1] } }],
  [tls10, { negotiated: false, classFiltered: true, keys: { ...each(NIST_CURVES, [0x0203]), rsa: [RSA_MD5SHA1] } }],
]);

export function versionSupported(version: number): boolean {
  return KEY_SCHEMES.has(version);
}

/** Schemes this key can sign with under `version`, in table order (RSA: only those its modulus fits). */
export function schemesForKey(key: crypto.KeyObject, version: number): number[] {
  const table = KEY_SCHEMES.get(version)?.keys;
  const kind = keyKind(key);
  if (!table || !kind || !Object.prototype.hasOwnProperty.call(table, kind)) return [];
  const schemes = [...table[kind]];
  if (kind === 'rsa') {
    const bytes = Math.ceil((key.asymmetricKeyDetails?.modulusLength ?? 0) / 8);
    return schemes.filter((s) => bytes >= minRsaModulusBytes(s));
  }
  return schemes;
}

/** Whether SELECT's key classes allow this key under `version` (TLS 1.3: always). */
export function classAllowed(key: crypto.KeyObject, version: number, keyClasses: readonly KeyClass[]): boolean {
  const table = KEY_SCHEMES.get(version);
  if (!table) return false;
  if (!table.classFiltered) return true;
  const cls = keyClassOf(key);
  return cls !== undefined && keyClasses.includes(cls);
}

/**
 * TLS 1.2 and below: an ECDSA key's curve must be one of the client's
 * supported_groups (RFC 8422 5.1), or the client refuses the certificate.
 * `curves` empty: no bound (TLS 1.3, or a client that sent none).
 */
export function curveAllowed(key: crypto.KeyObject, curves: readonly number[]): boolean {
  if (curves.length === 0 || key.asymmetricKeyType !== 'ec') return true;
  const group = groupByCurve(key.asymmetricKeyDetails?.namedCurve ?? '');
  return group !== undefined && curves.includes(group.code);
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
