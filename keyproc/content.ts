// The bytes keyproc signs, built by keyproc: netproc only supplies the hash
// (TLS 1.3) or the randoms and the ephemeral public key (TLS 1.2 and older).
import { NAMED_GROUPS } from '../tls/registry';

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

/**
 * ECDHE groups keyproc signs for (the registry's but the TLS 1.3-only hybrid), with their public key
 * encoding (RFC 8422 5.4, RFC 7748): the NIST curves' points are uncompressed.
 */
export const GROUPS12: ReadonlyMap<number, { name: string; length: number; uncompressed: boolean }> = new Map(
  NAMED_GROUPS.filter((g) => !g.tls13Only).map((g) => [g.code, { name: g.name, length: g.publicKeyLength, uncompressed: g.kind === 'nist' }]),
);

/** ECCurveType named_curve (RFC 8422 5.4). */
const NAMED_CURVE = 3;

export interface ServerKeyExchangeParams {
  clientRandom: Uint8Array;
  serverRandom: Uint8Array;
  group: number;
  publicKey: Uint8Array;
}

/**
 * RFC 8422 5.4 (and RFC 4492 for TLS 1.0/1.1): the ServerKeyExchange
 * signature covers client_random || server_random || ServerECDHParams, where
 * ServerECDHParams = 0x03 (named_curve) || u16 group || u8 length || point.
 * Throws RangeError for randoms that are not 32 bytes, a group we do not know,
 * or a point of the wrong length or format (NIST curves: uncompressed, 0x04).
 */
export function serverKeyExchangeContent12(p: ServerKeyExchangeParams): Buffer {
  if (p.clientRandom.length !== 32) throw new RangeError(`client random of ${p.clientRandom.length} bytes`);
  if (p.serverRandom.length !== 32) throw new RangeError(`server random of ${p.serverRandom.length} bytes`);
  const g = GROUPS12.get(p.group);
  if (!g) throw new RangeError(`unknown group 0x${p.group.toString(16).padStart(4, '0')}`);
  if (p.publicKey.length !== g.length) throw new RangeError(`${g.name} public key of ${p.publicKey.length} bytes, not ${g.length}`);
  if (g.uncompressed && p.publicKey[0] !== 0x04) throw new RangeError(`${g.name} public key is not an uncompressed point`);
  return Buffer.concat([
    Buffer.from(p.clientRandom),
    Buffer.from(p.serverRandom),
    Buffer.of(NAMED_CURVE, p.group >> 8, p.group & 0xff, p.publicKey.length),
    Buffer.from(p.publicKey),
  ]);
}
