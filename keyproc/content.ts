// The bytes keyproc signs, built by keyproc: netproc only supplies the hash.

const TLS13_SERVER_CONTEXT = 'TLS 1.3, server CertificateVerify';

/** RFC 8446 4.4.3: 64 x 0x20 || "TLS 1.3, server CertificateVerify" || 0x00 || transcript hash. */
export function certificateVerifyContent13(transcriptHash: Uint8Array): Buffer {
  if (transcriptHash.length !== 32 && transcriptHash.length !== 48)
    throw new RangeError(`transcript hash of ${transcriptHash.length} bytes`);
  return Buffer.concat([
    Buffer.alloc(64, 0x20),
    Buffer.from(TLS13_SERVER_CONTEXT, 'latin1'),
    Buffer.of(0),
    Buffer.from(transcriptHash),
  ]);
}
