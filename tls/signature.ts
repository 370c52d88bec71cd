// Signing and verifying by signature scheme, for everyone: keyproc signs
// (CertificateVerify, ServerKeyExchange), the engine checks a client's
// CertificateVerify. What a scheme means for node:crypto is one row per kind
// below, fed by the scheme's registry row (hash, salt length), so a scheme
// signs and verifies the same way wherever it is used.
import { constants, createHash, publicDecrypt, sign, timingSafeEqual, verify, type KeyObject } from 'node:crypto';
import { signatureSchemeByCode, type SchemeKind, type SignatureScheme } from './registry';

/** What node:crypto needs to know about a kind of scheme. */
interface KindRow {
  /** Options next to the key for crypto.sign/verify. */
  options(s: SignatureScheme): { dsaEncoding?: 'der'; padding?: number; saltLength?: number };
  /**
   * A verification other than crypto.verify, where that is the clearer check.
   * Throws like crypto.verify does for a malformed signature.
   */
  verify?(publicKey: KeyObject, data: Uint8Array, signature: Uint8Array): boolean;
  /** Smallest RSA modulus (bytes) that can carry the encoding; 0 for non-RSA kinds. */
  minRsaBytes(s: SignatureScheme): number;
}

/** DER DigestInfo prefix length (RFC 8017 9.2 note 1) per hash. */
const DIGEST_INFO_PREFIX: Readonly<Record<string, number>> = { sha1: 15, sha256: 19, sha384: 19, sha512: 19 };

const KINDS: Readonly<Record<SchemeKind, KindRow>> = {
  ecdsa: {
    // TLS carries ECDSA signatures as DER (RFC 8446 4.2.3, RFC 8422 5.4), not as r ‖ s.
    options: () => ({ dsaEncoding: 'der' }),
    minRsaBytes: () => 0,
  },
  'rsa-pss': {
    options: (s) => ({ padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: s.saltLength! }),
    minRsaBytes: (s) => 2 * s.hashLength + 2, // EMSA-PSS with salt = hash length
  },
  'rsa-pkcs1': {
    options: () => ({ padding: constants.RSA_PKCS1_PADDING }),
    minRsaBytes: (s) => DIGEST_INFO_PREFIX[s.hash!] + s.hashLength + 11, // EMSA-PKCS1-v1_5: tLen + 11
  },
  'rsa-md5sha1': {
    // 'md5-sha1': OpenSSL signs the bare 36-byte MD5 ‖ SHA-1, no DigestInfo.
    options: () => ({ padding: constants.RSA_PKCS1_PADDING }),
    // Checked by recovering the signed block and comparing it with MD5 ‖ SHA-1
    // of the data: that is the whole of the TLS 1.0/1.1 definition (RFC 4346 7.4.3).
    verify: (publicKey, data, signature) => {
      const expected = Buffer.concat([createHash('md5').update(data).digest(), createHash('sha1').update(data).digest()]);
      const got = publicDecrypt({ key: publicKey, padding: constants.RSA_PKCS1_PADDING }, signature);
      return got.length === expected.length && timingSafeEqual(got, expected);
    },
    minRsaBytes: (s) => s.hashLength + 11, // no DigestInfo
  },
  eddsa: {
    options: () => ({}),
    minRsaBytes: () => 0,
  },
};

function schemeRow(code: number): SignatureScheme {
  const s = signatureSchemeByCode(code);
  if (!s) throw new Error(`unknown signature scheme 0x${code.toString(16).padStart(4, '0')}`);
  return s;
}

/** Signs `data` with `key` under `scheme`. Throws for a scheme not in the registry. */
export function signByScheme(key: KeyObject, scheme: number, data: Uint8Array): Buffer {
  const s = schemeRow(scheme);
  return sign(s.hash, data, { key, ...KINDS[s.kind].options(s) });
}

/**
 * Whether `signature` is `publicKey`'s signature of `data` under `scheme`.
 * A malformed signature (bad DER, wrong length) is just one that does not
 * verify; a scheme not in the registry throws (the caller's mistake).
 */
export function verifyByScheme(publicKey: KeyObject, scheme: number, data: Uint8Array, signature: Uint8Array): boolean {
  const s = schemeRow(scheme);
  const kind = KINDS[s.kind];
  try {
    if (kind.verify) return kind.verify(publicKey, data, signature);
    return verify(s.hash, data, { key: publicKey, ...kind.options(s) }, signature);
  } catch {
    return false;
  }
}

/** Smallest RSA modulus, in bytes, whose signatures can carry `scheme`'s encoding (0: not an RSA scheme). */
export function minRsaModulusBytes(scheme: number): number {
  const s = schemeRow(scheme);
  return KINDS[s.kind].minRsaBytes(s);
}
