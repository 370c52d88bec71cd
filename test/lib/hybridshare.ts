// The client's side of X25519MLKEM768 (draft-ietf-tls-ecdhe-mlkem), for the
// test clients that offer it (the raw TLS 1.3 client, the engine's and the
// key exchange's unit tests). Ours is only ever the server's side
// (tls/keyexchange.ts): this one generates the ML-KEM-768 key pair and
// decapsulates.
import { ml_kem768 } from '@noble/post-quantum/ml-kem.js';
import { newKeyShare, type KeyShare } from '../../tls/keyexchange';
import { groupByCode } from '../../tls/tables';

export const X25519 = 0x001d;
export const X25519MLKEM768 = 0x11ec;
/** ML-KEM-768's ciphertext, first in the server's share (then X25519's 32 bytes). */
const CIPHERTEXT_BYTES = 1088;

/** A fresh X25519 share of the client's. */
export const x25519ClientShare = (): KeyShare => newKeyShare(groupByCode(X25519)!);

/**
 * The hybrid share: ML-KEM-768's encapsulation key, then X25519's. agree()
 * takes the server's (ciphertext, then its X25519 key) and gives the secret:
 * ML-KEM's shared secret, then X25519's.
 */
export function hybridClientShare(x25519: KeyShare = x25519ClientShare()): KeyShare {
  const kem = ml_kem768.keygen();
  return {
    publicKey: new Uint8Array([...kem.publicKey, ...x25519.publicKey]),
    agree: (server) => new Uint8Array([
      ...ml_kem768.decapsulate(server.subarray(0, CIPHERTEXT_BYTES), kem.secretKey),
      ...x25519.agree(server.subarray(CIPHERTEXT_BYTES)),
    ]),
  };
}
