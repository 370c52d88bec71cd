// Every numeric code the engine speaks, as tables. Crypto choices are looked
// up here rather than decided by if-chains spread over the engine, so adding a
// suite or a group is one row, and the option parser can share the same names.

/** Record-layer content types (RFC 8446 5.1). */
export const ContentType = {
  changeCipherSpec: 20,
  alert: 21,
  handshake: 22,
  applicationData: 23,
} as const;

/** Handshake message types (RFC 8446 4; RFC 5246 7.4 for the TLS 1.2 ones). */
export const HandshakeType = {
  helloRequest: 0,
  clientHello: 1,
  serverHello: 2,
  newSessionTicket: 4,
  endOfEarlyData: 5,
  encryptedExtensions: 8,
  certificate: 11,
  serverKeyExchange: 12,
  certificateRequest: 13,
  serverHelloDone: 14,
  certificateVerify: 15,
  clientKeyExchange: 16,
  finished: 20,
  keyUpdate: 24,
  messageHash: 254,
} as const;

/** Extension codes we read or write (RFC 8446 4.2, RFC 6066). */
export const ExtensionType = {
  serverName: 0,
  supportedGroups: 10,
  ecPointFormats: 11,
  signatureAlgorithms: 13,
  extendedMasterSecret: 23,
  sessionTicket: 35,
  earlyData: 42,
  preSharedKey: 41,
  supportedVersions: 43,
  cookie: 44,
  pskKeyExchangeModes: 45,
  certificateAuthorities: 47,
  keyShare: 51,
  renegotiationInfo: 0xff01,
} as const;

/** TLS 1.2 CertificateRequest certificate_types (RFC 5246 7.4.4, RFC 8422 5.5: ecdsa_sign also covers EdDSA). */
export const ClientCertificateType = {
  rsaSign: 1,
  ecdsaSign: 64,
} as const;

export const ProtocolVersion = {
  tls10: 0x0301,
  tls11: 0x0302,
  tls12: 0x0303,
  tls13: 0x0304,
} as const;

// ---------------------------------------------------------------- alerts

/** Alert descriptions (RFC 8446 6). */
export const Alert = {
  closeNotify: 0,
  unexpectedMessage: 10,
  badRecordMac: 20,
  recordOverflow: 22,
  handshakeFailure: 40,
  badCertificate: 42,
  unsupportedCertificate: 43,
  certificateRevoked: 44,
  certificateExpired: 45,
  certificateUnknown: 46,
  illegalParameter: 47,
  unknownCa: 48,
  accessDenied: 49,
  decodeError: 50,
  decryptError: 51,
  protocolVersion: 70,
  insufficientSecurity: 71,
  internalError: 80,
  inappropriateFallback: 86,
  userCanceled: 90,
  noRenegotiation: 100,
  missingExtension: 109,
  unsupportedExtension: 110,
  unrecognizedName: 112,
  badCertificateStatusResponse: 113,
  unknownPskIdentity: 115,
  certificateRequired: 116,
  noApplicationProtocol: 120,
} as const;

const alertNames = new Map<number, string>([
  [0, 'close_notify'],
  [10, 'unexpected_message'],
  [20, 'bad_record_mac'],
  [22, 'record_overflow'],
  [40, 'handshake_failure'],
  [42, 'bad_certificate'],
  [43, 'unsupported_certificate'],
  [44, 'certificate_revoked'],
  [45, 'certificate_expired'],
  [46, 'certificate_unknown'],
  [47, 'illegal_parameter'],
  [48, 'unknown_ca'],
  [49, 'access_denied'],
  [50, 'decode_error'],
  [51, 'decrypt_error'],
  [70, 'protocol_version'],
  [71, 'insufficient_security'],
  [80, 'internal_error'],
  [86, 'inappropriate_fallback'],
  [90, 'user_canceled'],
  [100, 'no_renegotiation'],
  [109, 'missing_extension'],
  [110, 'unsupported_extension'],
  [112, 'unrecognized_name'],
  [113, 'bad_certificate_status_response'],
  [115, 'unknown_psk_identity'],
  [116, 'certificate_required'],
  [120, 'no_application_protocol'],
]);

/** "bad_record_mac", or "alert(123)" for codes we do not know. */
export function alertName(code: number): string {
  return alertNames.get(code) ?? `alert(${code})`;
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

/** Key classes a TLS 1.2 suite's authentication allows (RFC 8422 5.1: ECDSA suites also take EdDSA). */
export const KEY_CLASSES_BY_AUTH = {
  ecdsa: ['ec', 'ed25519'],
  rsa: ['rsa'],
} as const;

/** The key class a signature scheme's key belongs to, for matching a 1.2 suite. */
export function keyClassOfScheme(code: number): 'ec' | 'rsa' | 'ed25519' | undefined {
  const t = signatureSchemeByCode(code)?.keyType;
  if (t === 'rsa' || t === 'rsa-pss') return 'rsa';
  if (t === 'ec') return 'ec';
  if (t === 'ed25519' || t === 'ed448') return 'ed25519';
  return undefined;
}

/**
 * RFC 8446 4.1.3: the last 8 bytes of ServerHello.random when a server that
 * could do TLS 1.3 negotiates TLS 1.2 (…01) or below (…00).
 */
export const DOWNGRADE_TLS12 = Uint8Array.from([0x44, 0x4f, 0x57, 0x4e, 0x47, 0x52, 0x44, 0x01]);
export const DOWNGRADE_TLS11 = Uint8Array.from([0x44, 0x4f, 0x57, 0x4e, 0x47, 0x52, 0x44, 0x00]);

// ---------------------------------------------------------------- groups

export interface NamedGroup {
  code: number;
  /** Name used in HandshakeInfo and as the tlswrapper option name (-e). */
  name: string;
  /** Length of a valid key_share key_exchange value. */
  publicKeyLength: number;
  /** How the key share is computed: see keyexchange.ts. */
  kind: 'x25519' | 'nist';
  /** node:crypto createECDH curve name, for the NIST curves. */
  curve?: string;
}

/** In our default preference order. */
export const NAMED_GROUPS: readonly NamedGroup[] = [
  { code: 0x001d, name: 'x25519', publicKeyLength: 32, kind: 'x25519' },
  { code: 0x0017, name: 'secp256r1', publicKeyLength: 65, kind: 'nist', curve: 'prime256v1' },
  { code: 0x0018, name: 'secp384r1', publicKeyLength: 97, kind: 'nist', curve: 'secp384r1' },
  { code: 0x0019, name: 'secp521r1', publicKeyLength: 133, kind: 'nist', curve: 'secp521r1' },
];

const groupsByCode = new Map(NAMED_GROUPS.map((g) => [g.code, g]));
const groupsByName = new Map(NAMED_GROUPS.map((g) => [g.name.toLowerCase(), g]));

export function groupByCode(code: number): NamedGroup | undefined {
  return groupsByCode.get(code);
}

/** Option name (case-insensitive, e.g. "x25519", "secp256r1") → group. */
export function groupByOptionName(name: string): NamedGroup | undefined {
  return groupsByName.get(name.toLowerCase());
}

// ---------------------------------------------------------------- signature schemes

export interface SignatureScheme {
  code: number;
  name: string;
  /** Usable in a TLS 1.3 CertificateVerify (RFC 8446 4.2.3: no PKCS#1 v1.5, no SHA-1). */
  tls13: boolean;
  /** Key type this scheme signs with, for keyproc's choice of certificate. */
  keyType: 'rsa' | 'rsa-pss' | 'ec' | 'ed25519' | 'ed448';
}

export const SIGNATURE_SCHEMES: readonly SignatureScheme[] = [
  { code: 0x0403, name: 'ecdsa_secp256r1_sha256', tls13: true, keyType: 'ec' },
  { code: 0x0503, name: 'ecdsa_secp384r1_sha384', tls13: true, keyType: 'ec' },
  { code: 0x0603, name: 'ecdsa_secp521r1_sha512', tls13: true, keyType: 'ec' },
  { code: 0x0804, name: 'rsa_pss_rsae_sha256', tls13: true, keyType: 'rsa' },
  { code: 0x0805, name: 'rsa_pss_rsae_sha384', tls13: true, keyType: 'rsa' },
  { code: 0x0806, name: 'rsa_pss_rsae_sha512', tls13: true, keyType: 'rsa' },
  { code: 0x0807, name: 'ed25519', tls13: true, keyType: 'ed25519' },
  { code: 0x0808, name: 'ed448', tls13: true, keyType: 'ed448' },
  { code: 0x0809, name: 'rsa_pss_pss_sha256', tls13: true, keyType: 'rsa-pss' },
  { code: 0x080a, name: 'rsa_pss_pss_sha384', tls13: true, keyType: 'rsa-pss' },
  { code: 0x080b, name: 'rsa_pss_pss_sha512', tls13: true, keyType: 'rsa-pss' },
  { code: 0x0401, name: 'rsa_pkcs1_sha256', tls13: false, keyType: 'rsa' },
  { code: 0x0501, name: 'rsa_pkcs1_sha384', tls13: false, keyType: 'rsa' },
  { code: 0x0601, name: 'rsa_pkcs1_sha512', tls13: false, keyType: 'rsa' },
  { code: 0x0201, name: 'rsa_pkcs1_sha1', tls13: false, keyType: 'rsa' },
  { code: 0x0203, name: 'ecdsa_sha1', tls13: false, keyType: 'ec' },
  // Not a registered code: our name for what TLS 1.0/1.1 sign with an RSA key
  // (RFC 4346 7.4.3): PKCS#1 v1.5 over MD5(content) ‖ SHA-1(content), 36 bytes,
  // no DigestInfo. keyproc's SIGN12 uses it, and ecdsa_sha1 for ECDSA keys.
  { code: 0xff01, name: 'rsa_md5sha1', tls13: false, keyType: 'rsa' },
];

/** The schemes TLS 1.0/1.1 offer keyproc: no signature_algorithms there, the key type fixes the algorithm. */
export const SCHEMES_BELOW_TLS12 = [0xff01, 0x0203] as const;

const schemesByCode = new Map(SIGNATURE_SCHEMES.map((s) => [s.code, s]));

export function signatureSchemeByCode(code: number): SignatureScheme | undefined {
  return schemesByCode.get(code);
}

/** The value of the HelloRetryRequest ServerHello.random: SHA-256("HelloRetryRequest") (RFC 8446 4.1.3). */
export const HELLO_RETRY_REQUEST_RANDOM = Uint8Array.from(
  Buffer.from('cf21ad74e59a6111be1d8c021e65b891c2a211167abb8c5e079e09e2c8a8339c', 'hex'),
);

/** Record size limits (RFC 8446 5.1, 5.2). */
export const Limits = {
  /** TLSPlaintext.length and TLSInnerPlaintext content. */
  plaintext: 1 << 14,
  /** TLSCiphertext.length: 2^14 + 256. */
  ciphertext: (1 << 14) + 256,
  /** TLSCiphertext.length in TLS 1.2 and below: 2^14 + 2048 (RFC 5246 6.2.3). */
  ciphertext12: (1 << 14) + 2048,
  /** Largest handshake message we accept; a ClientHello is a few KiB at most. */
  handshakeMessage: 1 << 16,
  /**
   * Most certificates we take from a client (-a): a leaf and a few
   * intermediates is all a real chain has. The engine, peercert and the
   * entry's control-message decoder all hold to it.
   */
  clientChain: 10,
} as const;
