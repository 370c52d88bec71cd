// Ephemeral key exchange for the key_share extension, one implementation per
// group kind: (EC)DHE, and the X25519MLKEM768 hybrid. Peer values are
// validated here: a bad point or encapsulation key is the peer's fault
// (illegal_parameter), never an exception escaping the engine.
//
// ML-KEM-768 is @noble/post-quantum's (pure TypeScript, audited): Node 20,
// the oldest Node we run on, has no ML-KEM in node:crypto.

import { ml_kem768 } from '@noble/post-quantum/ml-kem.js';
import { createECDH, createPublicKey, diffieHellman, generateKeyPairSync, randomBytes } from 'node:crypto';
import { concatBytes } from '../lib/bytes';
import { TlsAlert } from './errors';
import { Alert, type NamedGroup } from './tables';

export interface KeyShare {
  /**
   * Our key_exchange value for the ServerHello. For a KEM it depends on the
   * peer's value (it holds the ciphertext): read it after agree().
   */
  readonly publicKey: Uint8Array;
  /** The shared secret with the peer's key_exchange value. */
  agree(peer: Uint8Array): Uint8Array;
}

function base64url(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.length).toString('base64url');
}

/** X25519 and X448 (RFC 7748): raw public keys of the group's length, through Node's OKP keys. */
function montgomeryShare(group: NamedGroup, type: 'x25519' | 'x448', crv: 'X25519' | 'X448'): KeyShare {
  const { privateKey, publicKey } = generateKeyPairSync(type as 'x25519');
  const x = publicKey.export({ format: 'jwk' }).x;
  if (typeof x !== 'string') throw new Error(`${type} public key export without x`);
  return {
    publicKey: new Uint8Array(Buffer.from(x, 'base64url')),
    agree(peer) {
      if (peer.length !== group.publicKeyLength) throw new TlsAlert(Alert.illegalParameter, `${type} key share is not ${group.publicKeyLength} bytes`);
      // JWK import is much faster than wrapping the raw key in SPKI DER.
      let secret: Uint8Array;
      try {
        const peerKey = createPublicKey({ key: { kty: 'OKP', crv, x: base64url(peer) }, format: 'jwk' });
        secret = new Uint8Array(diffieHellman({ privateKey, publicKey: peerKey }));
      } catch {
        // OpenSSL refuses to derive from small-order points itself.
        throw new TlsAlert(Alert.illegalParameter, `${type} key share is not usable`);
      }
      // A small-order peer point gives all zeros (RFC 8446 7.4.2, RFC 7748 6.1).
      if (secret.every((b) => b === 0)) throw new TlsAlert(Alert.illegalParameter, `${type} shared secret is zero`);
      return secret;
    },
  };
}

function nistShare(group: NamedGroup): KeyShare {
  const ecdh = createECDH(group.curve ?? '');
  ecdh.generateKeys();
  return {
    publicKey: new Uint8Array(ecdh.getPublicKey()),
    agree(peer) {
      // TLS 1.3 allows only the uncompressed form (RFC 8446 4.2.8.2).
      if (peer.length !== group.publicKeyLength || peer[0] !== 0x04) {
        throw new TlsAlert(Alert.illegalParameter, `${group.name} key share is not an uncompressed point`);
      }
      try {
        // computeSecret checks that the point is on the curve.
        return new Uint8Array(ecdh.computeSecret(peer));
      } catch {
        throw new TlsAlert(Alert.illegalParameter, `${group.name} key share is not a valid point`);
      }
    },
  };
}

/** ML-KEM-768 sizes (FIPS 203): encapsulation key, ciphertext. */
const MLKEM768_EK = 1184;
const MLKEM768_CT = 1088;

/**
 * X25519MLKEM768 (draft-ietf-tls-ecdhe-mlkem), the server's side: the
 * client's share is ML-KEM-768's encapsulation key then its X25519 key; ours
 * is the ciphertext then our X25519 key; the secret is ML-KEM's shared secret
 * then X25519's (this group puts ML-KEM first, unlike the other hybrids).
 * encapsulate() runs FIPS 203's check of the key's modulus (7.2).
 */
function hybridShare(group: NamedGroup): KeyShare {
  const x25519 = montgomeryShare({ ...group, publicKeyLength: 32 }, 'x25519', 'X25519');
  let ours: Uint8Array | null = null;
  return {
    get publicKey(): Uint8Array {
      if (!ours) throw new Error('X25519MLKEM768: our share is known only after agree()');
      return ours;
    },
    agree(peer) {
      if (peer.length !== MLKEM768_EK + 32) throw new TlsAlert(Alert.illegalParameter, `${group.name} key share is not ${MLKEM768_EK + 32} bytes`);
      let kem: { cipherText: Uint8Array; sharedSecret: Uint8Array };
      try {
        // m (FIPS 203 Algorithm 17) from node:crypto's generator, as every other secret of ours.
        kem = ml_kem768.encapsulate(peer.subarray(0, MLKEM768_EK), randomBytes(32));
      } catch {
        throw new TlsAlert(Alert.illegalParameter, `${group.name} key share holds no valid ML-KEM-768 encapsulation key`);
      }
      if (kem.cipherText.length !== MLKEM768_CT) throw new Error('ML-KEM-768 ciphertext of the wrong length');
      const classical = x25519.agree(peer.subarray(MLKEM768_EK));
      ours = concatBytes(kem.cipherText, x25519.publicKey);
      const secret = concatBytes(kem.sharedSecret, classical);
      kem.sharedSecret.fill(0);
      classical.fill(0);
      return secret;
    },
  };
}

const MAKERS: Record<NamedGroup['kind'], (g: NamedGroup) => KeyShare> = {
  x25519: (g) => montgomeryShare(g, 'x25519', 'X25519'),
  x448: (g) => montgomeryShare(g, 'x448', 'X448'),
  nist: nistShare,
  x25519mlkem768: hybridShare,
};

export function newKeyShare(group: NamedGroup): KeyShare {
  return MAKERS[group.kind](group);
}
