// Builders for the handshake messages the server sends (RFC 8446 4). Each
// returns the full message with its 4-byte header, ready for the transcript.

import { ByteWriter } from '../lib/bytes';
import { ExtensionType, HandshakeType, HELLO_RETRY_REQUEST_RANDOM, ProtocolVersion } from './tables';

export function handshakeMessage(type: number, body: Uint8Array): Uint8Array {
  return new ByteWriter().u8(type).vector(3, body).finish();
}

function extension(w: ByteWriter, type: number, body: Uint8Array): void {
  w.u16(type).vector(2, body);
}

function serverHelloLike(
  random: Uint8Array,
  sessionId: Uint8Array,
  suite: number,
  keyShareBody: Uint8Array,
): Uint8Array {
  const ext = new ByteWriter();
  // key_share first, as in the RFC 8448 traces, so our ServerHello can be compared byte for byte.
  extension(ext, ExtensionType.keyShare, keyShareBody);
  extension(ext, ExtensionType.supportedVersions, new ByteWriter().u16(ProtocolVersion.tls13).finish());
  const body = new ByteWriter()
    .u16(ProtocolVersion.tls12) // legacy_version
    .bytes(random)
    .vector(1, sessionId) // legacy_session_id_echo
    .u16(suite)
    .u8(0) // legacy_compression_method
    .vector(2, ext.finish())
    .finish();
  return handshakeMessage(HandshakeType.serverHello, body);
}

export function serverHello(
  random: Uint8Array,
  sessionId: Uint8Array,
  suite: number,
  group: number,
  publicKey: Uint8Array,
): Uint8Array {
  return serverHelloLike(random, sessionId, suite, new ByteWriter().u16(group).vector(2, publicKey).finish());
}

/** A HelloRetryRequest is a ServerHello with the special random; its key_share names only the group. */
export function helloRetryRequest(sessionId: Uint8Array, suite: number, group: number): Uint8Array {
  return serverHelloLike(HELLO_RETRY_REQUEST_RANDOM, sessionId, suite, new ByteWriter().u16(group).finish());
}

/** TLS 1.3: the largest record we take, counting the inner content type (RFC 8449 4): 2^14 + 1. */
export const OUR_RECORD_SIZE_LIMIT_13 = (1 << 14) + 1;

export function encryptedExtensions(ackServerName: boolean, recordSizeLimit = false): Uint8Array {
  const ext = new ByteWriter();
  // An empty server_name tells the client we used its SNI (RFC 6066 3).
  if (ackServerName) extension(ext, ExtensionType.serverName, new Uint8Array(0));
  // Only in answer to the client's (RFC 8449 4).
  if (recordSizeLimit) extension(ext, ExtensionType.recordSizeLimit, new ByteWriter().u16(OUR_RECORD_SIZE_LIMIT_13).finish());
  return handshakeMessage(HandshakeType.encryptedExtensions, new ByteWriter().vector(2, ext.finish()).finish());
}

export function certificate(chain: Uint8Array[]): Uint8Array {
  const list = new ByteWriter();
  for (const der of chain) list.vector(3, der).u16(0); // no per-certificate extensions
  const body = new ByteWriter()
    .vector(1, new Uint8Array(0)) // certificate_request_context: empty for server auth
    .vector(3, list.finish())
    .finish();
  return handshakeMessage(HandshakeType.certificate, body);
}

export function certificateVerify(scheme: number, signature: Uint8Array): Uint8Array {
  return handshakeMessage(HandshakeType.certificateVerify, new ByteWriter().u16(scheme).vector(2, signature).finish());
}

export function finished(verifyData: Uint8Array): Uint8Array {
  return handshakeMessage(HandshakeType.finished, verifyData);
}

export const KeyUpdateRequest = { notRequested: 0, requested: 1 } as const;

export function keyUpdate(request: number): Uint8Array {
  return handshakeMessage(HandshakeType.keyUpdate, Uint8Array.of(request));
}

const SERVER_CV_CONTEXT = new TextEncoder().encode('TLS 1.3, server CertificateVerify');

/**
 * The content a server CertificateVerify signs (RFC 8446 4.4.3). keyproc
 * builds this itself; it is here for tests and for checking signatures.
 */
export function serverCertificateVerifyContent(transcriptHash: Uint8Array): Uint8Array {
  return new ByteWriter().bytes(new Uint8Array(64).fill(0x20)).bytes(SERVER_CV_CONTEXT).u8(0).bytes(transcriptHash).finish();
}

// ---------------------------------------------------------------- TLS 1.2 (RFC 5246 7.4, RFC 8422 5.4)

/** The TLS 1.2 (1.1, 1.0) ServerHello: no session id (no resumption), null compression, the extensions given. */
export function serverHello12(random: Uint8Array, suite: number, extensions: [number, Uint8Array][], version: number = ProtocolVersion.tls12): Uint8Array {
  const ext = new ByteWriter();
  for (const [type, body] of extensions) extension(ext, type, body);
  const w = new ByteWriter()
    .u16(version)
    .bytes(random)
    .vector(1, new Uint8Array(0)) // session_id: empty, we never resume
    .u16(suite)
    .u8(0); // compression_method: null
  const exts = ext.finish();
  if (exts.length > 0) w.vector(2, exts);
  return handshakeMessage(HandshakeType.serverHello, w.finish());
}

/** TLS 1.2 Certificate: certificate_list only, no request context, no per-certificate extensions. */
export function certificate12(chain: Uint8Array[]): Uint8Array {
  const list = new ByteWriter();
  for (const der of chain) list.vector(3, der);
  return handshakeMessage(HandshakeType.certificate, new ByteWriter().vector(3, list.finish()).finish());
}

/** ServerECDHParams: curve_type named_curve (3), the group, the point (RFC 8422 5.4). */
export function serverEcdhParams(group: number, publicKey: Uint8Array): Uint8Array {
  return new ByteWriter().u8(3).u16(group).vector(1, publicKey).finish();
}

/**
 * ServerKeyExchange = ServerECDHParams ‖ [scheme] ‖ signature; the scheme
 * (SignatureAndHashAlgorithm) is there from TLS 1.2 on, pass null below.
 */
export function serverKeyExchange12(group: number, publicKey: Uint8Array, scheme: number | null, signature: Uint8Array): Uint8Array {
  const w = new ByteWriter().bytes(serverEcdhParams(group, publicKey));
  if (scheme !== null) w.u16(scheme);
  w.vector(2, signature);
  return handshakeMessage(HandshakeType.serverKeyExchange, w.finish());
}

export function serverHelloDone(): Uint8Array {
  return handshakeMessage(HandshakeType.serverHelloDone, new Uint8Array(0));
}

/**
 * What keyproc signs for SIGN12: client_random ‖ server_random ‖
 * ServerECDHParams (RFC 8422 5.4). keyproc builds it itself; here for tests.
 */
export function serverKeyExchange12Content(
  clientRandom: Uint8Array,
  serverRandom: Uint8Array,
  group: number,
  publicKey: Uint8Array,
): Uint8Array {
  return new ByteWriter().bytes(clientRandom).bytes(serverRandom).bytes(serverEcdhParams(group, publicKey)).finish();
}
