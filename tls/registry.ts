// The registry of TLS code points tlswrapper speaks: protocol versions,
// cipher suites, named groups and signature schemes, one row each. Everything
// else (the engine, keyproc's policy, client authentication, the option
// parser, the pipes between processes) looks these up here instead of keeping
// its own list, so adding a suite, a group or a scheme is one row, and two
// lists can no longer disagree about what a code means.
// tls/tables.ts re-exports all of it, next to the message-level tables.

// ---------------------------------------------------------------- versions

/** Wire codes of the versions we speak (RFC 8446 4.2.1; RFC 5246, 4346, 2246). */
export const ProtocolVersion = {
  tls10: 0x0301,
  tls11: 0x0302,
  tls12: 0x0303,
  tls13: 0x0304,
} as const;

export interface VersionInfo {
  code: number;
  /** As OpenSSL prints it (HandshakeInfo.version, SSL_PROTOCOL). */
  name: 'TLSv1.3' | 'TLSv1.2' | 'TLSv1.1' | 'TLSv1';
  /** tlswrapper option name (-m, -M). */
  optionName: string;
}

/** Newest first. */
export const PROTOCOL_VERSIONS: readonly VersionInfo[] = [
  { code: ProtocolVersion.tls13, name: 'TLSv1.3', optionName: 'tls13' },
  { code: ProtocolVersion.tls12, name: 'TLSv1.2', optionName: 'tls12' },
  { code: ProtocolVersion.tls11, name: 'TLSv1.1', optionName: 'tls11' },
  { code: ProtocolVersion.tls10, name: 'TLSv1', optionName: 'tls10' },
];

const versionsByCode = new Map(PROTOCOL_VERSIONS.map((v) => [v.code, v]));
const versionsByOption = new Map(PROTOCOL_VERSIONS.map((v) => [v.optionName, v]));

export function versionByCode(code: number): VersionInfo | undefined {
  return versionsByCode.get(code);
}

/** Option name (exactly as -m/-M take it, e.g. "tls12") → version. */
export function versionByOptionName(name: string): VersionInfo | undefined {
  return versionsByOption.get(name);
}

// ---------------------------------------------------------------- suites

export type HashName = 'sha256' | 'sha384';

export interface CipherSuite {
  code: number;
  /** IANA/OpenSSL name, as reported in HandshakeInfo. */
  name: string;
  /** tlswrapper option name (-c). */
  optionName: string;
  /** node:crypto cipher name for createCipheriv. */
  cipher: 'aes-128-gcm' | 'aes-256-gcm' | 'chacha20-poly1305';
  keyLength: number;
  /** All TLS 1.3 AEADs use a 12-byte nonce and a 16-byte tag. */
  ivLength: 12;
  tagLength: 16;
  hash: HashName;
  hashLength: number;
}

export const CIPHER_SUITES: readonly CipherSuite[] = [
  {
    code: 0x1303,
    name: 'TLS_CHACHA20_POLY1305_SHA256',
    optionName: 'CHACHA20_POLY1305_SHA256',
    cipher: 'chacha20-poly1305',
    keyLength: 32,
    ivLength: 12,
    tagLength: 16,
    hash: 'sha256',
    hashLength: 32,
  },
  {
    code: 0x1302,
    name: 'TLS_AES_256_GCM_SHA384',
    optionName: 'AES_256_GCM_SHA384',
    cipher: 'aes-256-gcm',
    keyLength: 32,
    ivLength: 12,
    tagLength: 16,
    hash: 'sha384',
    hashLength: 48,
  },
  {
    code: 0x1301,
    name: 'TLS_AES_128_GCM_SHA256',
    optionName: 'AES_128_GCM_SHA256',
    cipher: 'aes-128-gcm',
    keyLength: 16,
    ivLength: 12,
    tagLength: 16,
    hash: 'sha256',
    hashLength: 32,
  },
];

const suitesByCode = new Map(CIPHER_SUITES.map((s) => [s.code, s]));
const suitesByOption = new Map(CIPHER_SUITES.map((s) => [s.optionName.toLowerCase(), s]));

export function suiteByCode(code: number): CipherSuite | undefined {
  return suitesByCode.get(code);
}

/** Option name (case-insensitive, e.g. "AES_128_GCM_SHA256") → suite. */
export function suiteByOptionName(name: string): CipherSuite | undefined {
  return suitesByOption.get(name.toLowerCase());
}

// ---------------------------------------------------------------- TLS 1.2 suites

/** Cipher suite values that are signals, not suites. */
export const SignalingSuite = {
  /** RFC 5746 3.3: the client supports secure renegotiation (we echo an empty renegotiation_info). */
  emptyRenegotiationInfo: 0x00ff,
  /** RFC 7507: the client is retrying with a lower version than it supports. */
  fallback: 0x5600,
} as const;

export type Aead12 = 'aes-128-gcm' | 'aes-256-gcm' | 'chacha20-poly1305';
export type Cbc12 = 'aes-128-cbc' | 'aes-256-cbc';
export type MacHash = 'sha1' | 'sha256' | 'sha384';

/**
 * A TLS 1.2 ECDHE suite. AEADs: the record nonce is fixedIv ‖ explicit
 * (AES-GCM, RFC 5288: 4 + 8 bytes, the explicit part sent in each record) or
 * fixedIv XOR sequence (ChaCha20-Poly1305, RFC 7905: 12 bytes, nothing sent).
 * CBC: MAC-then-encrypt with HMAC `mac` and a random per-record IV (RFC 5246 6.2.3.2).
 */
export interface CipherSuite12 {
  code: number;
  /** IANA name, TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256. */
  ianaName: string;
  /** OpenSSL name, as reported in HandshakeInfo.cipher: ECDHE-ECDSA-AES128-GCM-SHA256. */
  name: string;
  /** tlswrapper option name (-c), shared by the ECDSA and RSA variants. */
  optionName: string;
  /** Which certificates the suite's authentication allows. */
  auth: 'ecdsa' | 'rsa';
  cipher: Aead12 | Cbc12;
  keyLength: number;
  /** Implicit IV bytes from the key block: 4 (GCM salt), 12 (ChaCha20), 0 (CBC). */
  fixedIvLength: 0 | 4 | 12;
  /** Nonce bytes sent in each AEAD record: 8 (GCM) or 0 (ChaCha20, CBC). */
  explicitNonceLength: 8 | 0;
  /** AEAD tag; 0 for CBC. */
  tagLength: 16 | 0;
  /** CBC suites' HMAC; null for AEADs. */
  mac: { hash: MacHash; length: number } | null;
  /** PRF hash (and Finished transcript hash) in TLS 1.2; TLS 1.0/1.1 use MD5+SHA-1. */
  hash: HashName;
  /** Also usable in TLS 1.0/1.1 (the SHA-1 CBC suites); the others are TLS 1.2 only. */
  legacyOk: boolean;
}

function suite12(
  code: number,
  auth: 'ecdsa' | 'rsa',
  ianaName: string,
  name: string,
  optionName: string,
  cipher: CipherSuite12['cipher'],
  hash: HashName,
  macHash: MacHash | null = null,
): CipherSuite12 {
  const chacha = cipher === 'chacha20-poly1305';
  const cbc = macHash !== null;
  return {
    code,
    ianaName,
    name,
    optionName,
    auth,
    cipher,
    keyLength: cipher === 'aes-128-gcm' || cipher === 'aes-128-cbc' ? 16 : 32,
    fixedIvLength: cbc ? 0 : chacha ? 12 : 4,
    explicitNonceLength: cbc || chacha ? 0 : 8,
    tagLength: cbc ? 0 : 16,
    mac: macHash ? { hash: macHash, length: { sha1: 20, sha256: 32, sha384: 48 }[macHash] } : null,
    hash,
    legacyOk: macHash === 'sha1',
  };
}

/** In tlswrapper's default preference order, ECDSA before RSA within each option name. */
export const CIPHER_SUITES_12: readonly CipherSuite12[] = [
  suite12(0xcca9, 'ecdsa', 'TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256', 'ECDHE-ECDSA-CHACHA20-POLY1305', 'CHACHA20_POLY1305_SHA256', 'chacha20-poly1305', 'sha256'),
  suite12(0xcca8, 'rsa', 'TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256', 'ECDHE-RSA-CHACHA20-POLY1305', 'CHACHA20_POLY1305_SHA256', 'chacha20-poly1305', 'sha256'),
  suite12(0xc02c, 'ecdsa', 'TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384', 'ECDHE-ECDSA-AES256-GCM-SHA384', 'AES_256_GCM_SHA384', 'aes-256-gcm', 'sha384'),
  suite12(0xc030, 'rsa', 'TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384', 'ECDHE-RSA-AES256-GCM-SHA384', 'AES_256_GCM_SHA384', 'aes-256-gcm', 'sha384'),
  suite12(0xc02b, 'ecdsa', 'TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256', 'ECDHE-ECDSA-AES128-GCM-SHA256', 'AES_128_GCM_SHA256', 'aes-128-gcm', 'sha256'),
  suite12(0xc02f, 'rsa', 'TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256', 'ECDHE-RSA-AES128-GCM-SHA256', 'AES_128_GCM_SHA256', 'aes-128-gcm', 'sha256'),
  suite12(0xc024, 'ecdsa', 'TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384', 'ECDHE-ECDSA-AES256-SHA384', 'AES_256_CBC_SHA384', 'aes-256-cbc', 'sha384', 'sha384'),
  suite12(0xc028, 'rsa', 'TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384', 'ECDHE-RSA-AES256-SHA384', 'AES_256_CBC_SHA384', 'aes-256-cbc', 'sha384', 'sha384'),
  suite12(0xc023, 'ecdsa', 'TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256', 'ECDHE-ECDSA-AES128-SHA256', 'AES_128_CBC_SHA256', 'aes-128-cbc', 'sha256', 'sha256'),
  suite12(0xc027, 'rsa', 'TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256', 'ECDHE-RSA-AES128-SHA256', 'AES_128_CBC_SHA256', 'aes-128-cbc', 'sha256', 'sha256'),
  suite12(0xc00a, 'ecdsa', 'TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA', 'ECDHE-ECDSA-AES256-SHA', 'AES_256_CBC_SHA', 'aes-256-cbc', 'sha256', 'sha1'),
  suite12(0xc014, 'rsa', 'TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA', 'ECDHE-RSA-AES256-SHA', 'AES_256_CBC_SHA', 'aes-256-cbc', 'sha256', 'sha1'),
  suite12(0xc009, 'ecdsa', 'TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA', 'ECDHE-ECDSA-AES128-SHA', 'AES_128_CBC_SHA', 'aes-128-cbc', 'sha256', 'sha1'),
  suite12(0xc013, 'rsa', 'TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA', 'ECDHE-RSA-AES128-SHA', 'AES_128_CBC_SHA', 'aes-128-cbc', 'sha256', 'sha1'),
];

const suites12ByCode = new Map(CIPHER_SUITES_12.map((s) => [s.code, s]));

export function suite12ByCode(code: number): CipherSuite12 | undefined {
  return suites12ByCode.get(code);
}

/**
 * Option name (case-insensitive, e.g. "AES_128_GCM_SHA256") → the TLS 1.2
 * suite codes it stands for, ECDSA variant first; [] when the name has no
 * TLS 1.2 suite.
 */
export function suites12ByOptionName(name: string): number[] {
  const n = name.toLowerCase();
  return CIPHER_SUITES_12.filter((s) => s.optionName.toLowerCase() === n).map((s) => s.code);
}

// ---------------------------------------------------------------- key classes

/**
 * Certificate key classes, as a TLS 1.2 suite's authentication constrains
 * them (ECDHE_ECDSA: ec and ed25519; ECDHE_RSA: rsa). 'ed25519' stands for
 * EdDSA (Ed448 included), 'ec' for ECDSA on any curve. netproc asks keyproc
 * for these (wire/keyrpc.ts SELECT).
 */
export type KeyClass = 'ec' | 'rsa' | 'ed25519';

/** Key classes a TLS 1.2 suite's authentication allows (RFC 8422 5.1: ECDSA suites also take EdDSA). */
export const KEY_CLASSES_BY_AUTH = {
  ecdsa: ['ec', 'ed25519'],
  rsa: ['rsa'],
} as const satisfies Readonly<Record<CipherSuite12['auth'], readonly KeyClass[]>>;

// ---------------------------------------------------------------- groups

export interface NamedGroup {
  code: number;
  /** Name used in HandshakeInfo and as the tlswrapper option name (-e). */
  name: string;
  /** Length of a valid key_share key_exchange value. */
  publicKeyLength: number;
  /** How the key share is computed: see keyexchange.ts (x25519 and x448: RFC 7748; the hybrid: draft-ietf-tls-ecdhe-mlkem). */
  kind: 'x25519' | 'x448' | 'nist' | 'x25519mlkem768';
  /** node:crypto createECDH curve name, for the NIST curves (also a KeyObject's namedCurve). */
  curve?: string;
  /** A TLS 1.3 key exchange only (a KEM is no ECDHE for TLS 1.2's ServerKeyExchange). */
  tls13Only?: true;
}

/** In our preference order (fixed, whatever the -e order). */
export const NAMED_GROUPS: readonly NamedGroup[] = [
  // ML-KEM-768 and X25519 together: safe if either is (draft-ietf-tls-ecdhe-mlkem).
  // The client's share is its ML-KEM-768 encapsulation key (1184 bytes) and its X25519 key.
  { code: 0x11ec, name: 'X25519MLKEM768', publicKeyLength: 1184 + 32, kind: 'x25519mlkem768', tls13Only: true },
  { code: 0x001d, name: 'x25519', publicKeyLength: 32, kind: 'x25519' },
  { code: 0x0017, name: 'secp256r1', publicKeyLength: 65, kind: 'nist', curve: 'prime256v1' },
  { code: 0x0018, name: 'secp384r1', publicKeyLength: 97, kind: 'nist', curve: 'secp384r1' },
  { code: 0x0019, name: 'secp521r1', publicKeyLength: 133, kind: 'nist', curve: 'secp521r1' },
  { code: 0x001e, name: 'x448', publicKeyLength: 56, kind: 'x448' },
];

const groupsByCode = new Map(NAMED_GROUPS.map((g) => [g.code, g]));
const groupsByName = new Map(NAMED_GROUPS.map((g) => [g.name.toLowerCase(), g]));
const groupsByCurve = new Map(NAMED_GROUPS.filter((g) => g.curve !== undefined).map((g) => [g.curve!, g]));

export function groupByCode(code: number): NamedGroup | undefined {
  return groupsByCode.get(code);
}

/** Option name (case-insensitive, e.g. "x25519", "secp256r1") → group. */
export function groupByOptionName(name: string): NamedGroup | undefined {
  return groupsByName.get(name.toLowerCase());
}

/** node's curve name (a KeyObject's namedCurve, e.g. "prime256v1") → the NIST group. */
export function groupByCurve(curve: string): NamedGroup | undefined {
  return groupsByCurve.get(curve);
}

/** The node curve name of one of our NIST groups, by its TLS name; throws for anything else (rows below use it). */
function curveOf(groupName: string): string {
  const curve = groupByOptionName(groupName)?.curve;
  if (curve === undefined) throw new Error(`no NIST group ${groupName}`);
  return curve;
}

// ---------------------------------------------------------------- signature schemes

/**
 * How a scheme signs, which is what node:crypto needs to know (tls/signature.ts):
 * ECDSA (DER signature), RSASSA-PSS, RSASSA-PKCS1-v1_5 with DigestInfo, the
 * TLS 1.0/1.1 RSA signature (PKCS#1 v1.5 over MD5 ‖ SHA-1, no DigestInfo), EdDSA.
 */
export type SchemeKind = 'ecdsa' | 'rsa-pss' | 'rsa-pkcs1' | 'rsa-md5sha1' | 'eddsa';

/** A digest as node:crypto names it; 'md5-sha1' is the 36-byte MD5 ‖ SHA-1 of TLS 1.0/1.1. */
export type SchemeHash = 'sha1' | 'sha256' | 'sha384' | 'sha512' | 'md5-sha1';

export interface SignatureScheme {
  code: number;
  name: string;
  kind: SchemeKind;
  /** Digest for crypto.sign/verify; null for EdDSA (the algorithm fixes it). */
  hash: SchemeHash | null;
  /** Bytes of that digest; 0 for EdDSA. */
  hashLength: number;
  /** RSASSA-PSS salt: as long as the hash (RFC 8446 4.2.3); null for the other kinds. */
  saltLength: number | null;
  /**
   * The curve (node's name) a TLS 1.3 ECDSA scheme binds the key to (RFC 8446
   * 4.2.3); TLS 1.2 lets any curve sign with any ECDSA scheme. null otherwise.
   */
  curve: string | null;
  /** node's asymmetricKeyType of the key that signs: rsa (rsaEncryption), rsa-pss (RSASSA-PSS keys), ec, ed25519, ed448. */
  keyType: 'rsa' | 'rsa-pss' | 'ec' | 'ed25519' | 'ed448';
  /** The certificate key class, for matching a TLS 1.2 suite's authentication. */
  keyClass: KeyClass;
  /**
   * The versions whose handshake signatures (CertificateVerify,
   * ServerKeyExchange) may use it. TLS 1.0/1.1 have no signature_algorithms:
   * there the key type fixes the algorithm, which we name with ecdsa_sha1 and
   * the pseudo-scheme rsa_md5sha1.
   */
  versions: readonly number[];
  /** Usable in a TLS 1.3 CertificateVerify (RFC 8446 4.2.3: no PKCS#1 v1.5, no SHA-1): versions has TLS 1.3. */
  tls13: boolean;
}

/**
 * Not a registered code: our name for what TLS 1.0/1.1 sign with an RSA key
 * (RFC 4346 7.4.3): PKCS#1 v1.5 over MD5(content) ‖ SHA-1(content), 36 bytes,
 * no DigestInfo. Private to tlswrapper (netproc's engine and keyproc pass it
 * over their pipe); it never goes on the wire.
 */
export const RSA_MD5SHA1 = 0xff01;

const HASH_LENGTH: Readonly<Record<SchemeHash, number>> = { sha1: 20, sha256: 32, sha384: 48, sha512: 64, 'md5-sha1': 36 };
const KEY_CLASS_OF_TYPE: Readonly<Record<SignatureScheme['keyType'], KeyClass>> = {
  rsa: 'rsa',
  'rsa-pss': 'rsa',
  ec: 'ec',
  ed25519: 'ed25519',
  ed448: 'ed25519',
};

const { tls10, tls11, tls12, tls13 } = ProtocolVersion;
/** TLS 1.3 and 1.2: the schemes RFC 8446 4.2.3 keeps. */
const MODERN = [tls13, tls12];
/** TLS 1.2 only: PKCS#1 v1.5 and SHA-1 are gone from TLS 1.3 handshake signatures. */
const TLS12_ONLY = [tls12];
/** Up to TLS 1.2: what TLS 1.0/1.1 sign with an ECDSA key is ecdsa_sha1 (RFC 4492 5.4). */
const ECDSA_SHA1_VERSIONS = [tls12, tls11, tls10];
/** TLS 1.0/1.1 only. */
const BELOW_TLS12 = [tls11, tls10];

function scheme(
  code: number,
  name: string,
  kind: SchemeKind,
  hash: SchemeHash | null,
  keyType: SignatureScheme['keyType'],
  versions: readonly number[],
  curve: string | null = null,
): SignatureScheme {
  const hashLength = hash === null ? 0 : HASH_LENGTH[hash];
  return {
    code,
    name,
    kind,
    hash,
    hashLength,
    saltLength: kind === 'rsa-pss' ? hashLength : null,
    curve,
    keyType,
    keyClass: KEY_CLASS_OF_TYPE[keyType],
    versions,
    tls13: versions.includes(tls13),
  };
}

export const SIGNATURE_SCHEMES: readonly SignatureScheme[] = [
  scheme(0x0403, 'ecdsa_secp256r1_sha256', 'ecdsa', 'sha256', 'ec', MODERN, curveOf('secp256r1')),
  scheme(0x0503, 'ecdsa_secp384r1_sha384', 'ecdsa', 'sha384', 'ec', MODERN, curveOf('secp384r1')),
  scheme(0x0603, 'ecdsa_secp521r1_sha512', 'ecdsa', 'sha512', 'ec', MODERN, curveOf('secp521r1')),
  scheme(0x0804, 'rsa_pss_rsae_sha256', 'rsa-pss', 'sha256', 'rsa', MODERN),
  scheme(0x0805, 'rsa_pss_rsae_sha384', 'rsa-pss', 'sha384', 'rsa', MODERN),
  scheme(0x0806, 'rsa_pss_rsae_sha512', 'rsa-pss', 'sha512', 'rsa', MODERN),
  scheme(0x0807, 'ed25519', 'eddsa', null, 'ed25519', MODERN),
  scheme(0x0808, 'ed448', 'eddsa', null, 'ed448', MODERN),
  scheme(0x0809, 'rsa_pss_pss_sha256', 'rsa-pss', 'sha256', 'rsa-pss', MODERN),
  scheme(0x080a, 'rsa_pss_pss_sha384', 'rsa-pss', 'sha384', 'rsa-pss', MODERN),
  scheme(0x080b, 'rsa_pss_pss_sha512', 'rsa-pss', 'sha512', 'rsa-pss', MODERN),
  scheme(0x0401, 'rsa_pkcs1_sha256', 'rsa-pkcs1', 'sha256', 'rsa', TLS12_ONLY),
  scheme(0x0501, 'rsa_pkcs1_sha384', 'rsa-pkcs1', 'sha384', 'rsa', TLS12_ONLY),
  scheme(0x0601, 'rsa_pkcs1_sha512', 'rsa-pkcs1', 'sha512', 'rsa', TLS12_ONLY),
  scheme(0x0201, 'rsa_pkcs1_sha1', 'rsa-pkcs1', 'sha1', 'rsa', TLS12_ONLY),
  scheme(0x0203, 'ecdsa_sha1', 'ecdsa', 'sha1', 'ec', ECDSA_SHA1_VERSIONS),
  scheme(RSA_MD5SHA1, 'rsa_md5sha1', 'rsa-md5sha1', 'md5-sha1', 'rsa', BELOW_TLS12),
];

/** The schemes TLS 1.0/1.1 offer keyproc: no signature_algorithms there, the key type fixes the algorithm. */
export const SCHEMES_BELOW_TLS12 = [RSA_MD5SHA1, 0x0203] as const;

const schemesByCode = new Map(SIGNATURE_SCHEMES.map((s) => [s.code, s]));

export function signatureSchemeByCode(code: number): SignatureScheme | undefined {
  return schemesByCode.get(code);
}

/** The key class a signature scheme's key belongs to, for matching a 1.2 suite. */
export function keyClassOfScheme(code: number): KeyClass | undefined {
  return signatureSchemeByCode(code)?.keyClass;
}
