// The message-level tables the engine speaks: content types, handshake
// types, extensions, alerts, sentinels and limits. The code points that name
// algorithms (versions, cipher suites, named groups, signature schemes) are
// in registry.ts, re-exported here so that every importer of tables.ts keeps
// its names.
export * from './registry';

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
  recordSizeLimit: 28,
  padding: 21,
  renegotiationInfo: 0xff01,
} as const;

/** TLS 1.2 CertificateRequest certificate_types (RFC 5246 7.4.4, RFC 8422 5.5: ecdsa_sign also covers EdDSA). */
export const ClientCertificateType = {
  rsaSign: 1,
  ecdsaSign: 64,
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

/**
 * RFC 8446 4.1.3: the last 8 bytes of ServerHello.random when a server that
 * could do TLS 1.3 negotiates TLS 1.2 (…01) or below (…00).
 */
export const DOWNGRADE_TLS12 = Uint8Array.from([0x44, 0x4f, 0x57, 0x4e, 0x47, 0x52, 0x44, 0x01]);
export const DOWNGRADE_TLS11 = Uint8Array.from([0x44, 0x4f, 0x57, 0x4e, 0x47, 0x52, 0x44, 0x00]);

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
  /**
   * Largest handshake message we accept: OpenSSL's limit for a ClientHello
   * (CLIENT_HELLO_MAX_LENGTH). A real one is a few KiB, but one padded past
   * 64 KiB is still valid (tlsfuzzer sends one); a client's Certificate
   * (-a) is bounded by clientChain too.
   */
  handshakeMessage: 131396,
  /**
   * Most certificates we take from a client (-a): a leaf and a few
   * intermediates is all a real chain has. The engine, peercert and the
   * entry's control-message decoder all hold to it.
   */
  clientChain: 10,
} as const;
