// The tlsfuzzer scripts run.mjs runs: those that fit a server doing TLS 1.2
// (ECDHE with AEAD suites only) and TLS 1.3, without renegotiation,
// resumption, PSK or 0-RTT, with no client certificate asked for. The set is
// the one the reference figures in README.md were taken on (OpenSSL 3.0 and
// Debian's tlswrapper), so the counts compare.
//
// cert: which certificate the script needs. Many TLS 1.3 scripts offer only
// RSA signature schemes, so they run with the RSA certificate only; the ECDSA
// run takes the TLS 1.2 scripts and the TLS 1.3 ones that accept ECDSA.
// na: failed probes of features this server does not have by design (CCM
// suites, TLS 1.0/1.1, resumption, SHA-1 signatures, brainpool curves, FFDHE
// groups): not counted at all. Other failures we chose are in README.md's
// table.
//
// Left out: scripts that offer only RSA key transport or CBC suites with no
// way to choose others, renegotiation, resumption, tickets, PSK, 0-RTT, client
// certificates, FFDHE, SSLv2/3, the timing side-channel scripts, and those
// that need an echo server.

/** The TLS 1.2 suites a script is told to offer, by certificate. */
const TLS12 = {
  rsa: { gcm: 'TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256', chacha: 'TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256' },
  ecdsa: { gcm: 'TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256', chacha: 'TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256' },
};
/** The size of http-responder.py's reply, for test-record-size-limit. */
const REPLY_SIZE = '86';

const gcm = (extra = []) => (cert) => ['-C', TLS12[cert].gcm, ...extra];
const chacha = (extra = []) => (cert) => ['-C', TLS12[cert].chacha, ...extra];
const plain = (args = []) => () => args;

/** @type {{ cert: 'any' | 'rsa' | 'ecdsa', script: string, args: (cert: string) => string[], na?: RegExp }[]} */
export const SCRIPTS = [
  // TLS 1.2: the handshake and application data
  { cert: 'any', script: 'test-conversation.py', args: (c) => ['-d', ...gcm()(c)] },
  { cert: 'any', script: 'test-conversation.py', args: (c) => ['-d', ...chacha()(c)] },
  { cert: 'rsa', script: 'test-chacha20.py', args: plain(['--extra-exts']) },
  { cert: 'ecdsa', script: 'test-ecdsa-sig-flexibility.py', args: gcm(), na: /sha1/ },
  // TLS 1.2: malformed and unexpected messages
  { cert: 'any', script: 'test-ccs.py', args: gcm() },
  { cert: 'any', script: 'test-connection-abort.py', args: gcm() },
  { cert: 'any', script: 'test-cve-2016-6309.py', args: gcm() },
  { cert: 'any', script: 'test-cve-2016-7054.py', args: chacha() },
  { cert: 'any', script: 'test-early-application-data.py', args: gcm() },
  { cert: 'any', script: 'test-ecdhe-rsa-key-exchange-with-bad-messages.py', args: gcm() },
  { cert: 'any', script: 'test-fuzzed-ciphertext.py', args: gcm() },
  { cert: 'any', script: 'test-hello-request-by-client.py', args: gcm() },
  { cert: 'any', script: 'test-interleaved-CKE-with-CCS.py', args: gcm() },
  { cert: 'any', script: 'test-invalid-client-hello-w-record-overflow.py', args: gcm(['-n', '40']) },
  { cert: 'any', script: 'test-invalid-compression-methods.py', args: gcm() },
  { cert: 'any', script: 'test-invalid-content-type.py', args: gcm() },
  { cert: 'rsa', script: 'test-large-hello.py', args: plain(['-d', '-n', '30']) },
  { cert: 'any', script: 'test-no-mlkem-in-old-tls.py', args: (c) => ['-d', ...gcm()(c)] },
  { cert: 'any', script: 'test-point-extension.py', args: gcm() },
  { cert: 'any', script: 'test-record-layer-fragmentation.py', args: gcm() },
  { cert: 'any', script: 'test-renegotiation-disabled.py', args: gcm() },
  { cert: 'any', script: 'test-truncating-of-client-hello.py', args: gcm() },
  { cert: 'any', script: 'test-version-numbers.py', args: gcm() },
  { cert: 'any', script: 'test-zero-length-data.py', args: gcm() },
  // version negotiation, TLS 1.2 and 1.3
  { cert: 'rsa', script: 'test-tls13-version-negotiation.py', args: (c) => ['-d', ...gcm(['-n', '60'])(c)] },
  // TLS 1.3
  { cert: 'any', script: 'test-tls13-conversation.py', args: plain() },
  { cert: 'any', script: 'test-tls13-conversation.py', args: plain(['-C', 'TLS_AES_256_GCM_SHA384']) },
  { cert: 'any', script: 'test-tls13-conversation.py', args: plain(['-C', 'TLS_CHACHA20_POLY1305_SHA256']) },
  { cert: 'any', script: 'test-tls13-conversation.py', args: plain(['-g', 'x25519']) },
  { cert: 'rsa', script: 'test-tls13-0rtt-garbage.py', args: plain() },
  { cert: 'rsa', script: 'test-tls13-ccs.py', args: plain() },
  { cert: 'any', script: 'test-tls13-connection-abort.py', args: plain() },
  { cert: 'any', script: 'test-tls13-ecdhe-curves.py', args: plain() },
  { cert: 'rsa', script: 'test-tls13-empty-alert.py', args: plain() },
  { cert: 'rsa', script: 'test-tls13-finished.py', args: plain(['-n', '40']) },
  { cert: 'rsa', script: 'test-tls13-finished-plaintext.py', args: plain() },
  { cert: 'rsa', script: 'test-tls13-hrr.py', args: plain() },
  { cert: 'rsa', script: 'test-tls13-invalid-ciphers.py', args: plain() },
  { cert: 'rsa', script: 'test-tls13-keyshare-omitted.py', args: plain() },
  { cert: 'rsa', script: 'test-tls13-keyupdate.py', args: plain(['-n', '30']) },
  { cert: 'rsa', script: 'test-tls13-large-number-of-extensions.py', args: plain(['-n', '30']) },
  { cert: 'rsa', script: 'test-tls13-legacy-version.py', args: plain() },
  { cert: 'any', script: 'test-tls13-multiple-ccs-messages.py', args: plain() },
  { cert: 'rsa', script: 'test-tls13-nociphers.py', args: plain() },
  // --relaxed: a group RFC 8446 calls obsolete, offered beside a good one, is
  // ignored (as OpenSSL does), not refused; offered alone it leaves no group
  // in common, which RFC 8446 4.1.1 answers with handshake_failure.
  { cert: 'any', script: 'test-tls13-obsolete-curves.py', args: plain(['--relaxed', '-a', 'handshake_failure']) },
  { cert: 'rsa', script: 'test-tls13-record-layer-limits.py', args: plain(['-n', '30']) },
  { cert: 'rsa', script: 'test-tls13-record-padding.py', args: plain() },
  { cert: 'rsa', script: 'test-tls13-serverhello-random.py', args: plain(), na: /ffdhe/ },
  { cert: 'rsa', script: 'test-tls13-shuffled-extentions.py', args: plain() },
  { cert: 'rsa', script: 'test-tls13-signature-algorithms.py', args: plain() },
  { cert: 'rsa', script: 'test-tls13-symetric-ciphers.py', args: plain(), na: /TLS_AES_128_CCM/ },
  { cert: 'any', script: 'test-tls13-unencrypted-alert.py', args: plain() },
  { cert: 'rsa', script: 'test-tls13-unrecognised-groups.py', args: plain(), na: /ffdhe/ },
  { cert: 'any', script: 'test-tls13-zero-content-type.py', args: plain() },
  { cert: 'rsa', script: 'test-tls13-zero-length-data.py', args: plain() },
  // The post-quantum hybrid: of the draft's three, we do X25519MLKEM768.
  { cert: 'any', script: 'test-tls13-mlkem.py', args: plain(['--kems', 'x25519mlkem768']) },
  { cert: 'rsa', script: 'test-tls13-rsa-signatures.py', args: plain() },
  { cert: 'rsa', script: 'test-tls13-pkcs-signature.py', args: plain() },
  {
    cert: 'ecdsa',
    script: 'test-tls13-ecdsa-support.py',
    // P-384 and P-521 keys: the certificate is P-256.
    args: plain(['-e', 'Test with ecdsa_secp384r1_sha384', '-e', 'Test with ecdsa_secp521r1_sha512']),
    na: /brainpool/,
  },
  // record_size_limit (RFC 8449), TLS 1.2 and 1.3
  { cert: 'rsa', script: 'test-record-size-limit.py', args: plain(['--reply-AD-size', REPLY_SIZE]), na: /TLS 1\.[01]( with max_fragment_length)?$|resumption/ },
];
