// Builders for the handshake messages the server sends (RFC 8446 4). Each
// returns the full message with its 4-byte header, ready for the transcript.

import { ByteWriter } from '../../src/bytes';
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

export function encryptedExtensions(ackServerName: boolean): Uint8Array {
  const ext = new ByteWriter();
  // An empty server_name tells the client we used its SNI (RFC 6066 3).
  if (ackServerName) extension(ext, ExtensionType.serverName, new Uint8Array(0));
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
