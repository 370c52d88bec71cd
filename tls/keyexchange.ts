// Ephemeral (EC)DHE for the key_share extension, one implementation per
// group kind. Peer values are validated here: a bad point is the peer's
// fault (illegal_parameter), never an exception escaping the engine.

import { createECDH, createPublicKey, diffieHellman, generateKeyPairSync } from 'node:crypto';
import { TlsAlert } from './errors';
import { Alert, type NamedGroup } from './tables';

export interface KeyShare {
  /** Our key_exchange value for the ServerHello. */
  publicKey: Uint8Array;
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

const MAKERS: Record<NamedGroup['kind'], (g: NamedGroup) => KeyShare> = {
  x25519: (g) => montgomeryShare(g, 'x25519', 'X25519'),
  x448: (g) => montgomeryShare(g, 'x448', 'X448'),
  nist: nistShare,
};

export function newKeyShare(group: NamedGroup): KeyShare {
  return MAKERS[group.kind](group);
}
