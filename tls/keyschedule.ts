// The TLS 1.3 key schedule (RFC 8446 7.1) on node:crypto HMAC, plus the
// running transcript hash. Node's hkdfSync always does Extract+Expand, and TLS
// needs them separately, so both halves are written out on createHmac.

import { createHash, createHmac, Hash } from 'node:crypto';
import { ByteWriter } from '../lib/bytes';
import type { CipherSuite, HashName } from './tables';

const utf8 = new TextEncoder();

export function hkdfExtract(hash: HashName, salt: Uint8Array, ikm: Uint8Array): Uint8Array {
  return new Uint8Array(createHmac(hash, salt).update(ikm).digest());
}

export function hkdfExpand(hash: HashName, prk: Uint8Array, info: Uint8Array, length: number): Uint8Array {
  const out = new Uint8Array(length);
  let previous = new Uint8Array(0);
  let filled = 0;
  for (let counter = 1; filled < length; counter++) {
    const h = createHmac(hash, prk);
    h.update(previous);
    h.update(info);
    h.update(Uint8Array.of(counter));
    previous = new Uint8Array(h.digest());
    const n = Math.min(previous.length, length - filled);
    out.set(previous.subarray(0, n), filled);
    filled += n;
  }
  return out;
}

/** HKDF-Expand-Label: the label gets the "tls13 " prefix here. */
export function hkdfExpandLabel(
  hash: HashName,
  secret: Uint8Array,
  label: string,
  context: Uint8Array,
  length: number,
): Uint8Array {
  const info = new ByteWriter()
    .u16(length)
    .vector(1, utf8.encode(`tls13 ${label}`))
    .vector(1, context)
    .finish();
  return hkdfExpand(hash, secret, info, length);
}

export function hashOf(hash: HashName, data: Uint8Array): Uint8Array {
  return new Uint8Array(createHash(hash).update(data).digest());
}

/** Derive-Secret with an already computed transcript hash. */
export function deriveSecret(hash: HashName, secret: Uint8Array, label: string, transcriptHash: Uint8Array): Uint8Array {
  const length = transcriptHash.length;
  return hkdfExpandLabel(hash, secret, label, transcriptHash, length);
}

export interface TrafficKeys {
  key: Uint8Array;
  iv: Uint8Array;
}

export function trafficKeys(suite: CipherSuite, secret: Uint8Array): TrafficKeys {
  return {
    key: hkdfExpandLabel(suite.hash, secret, 'key', new Uint8Array(0), suite.keyLength),
    iv: hkdfExpandLabel(suite.hash, secret, 'iv', new Uint8Array(0), suite.ivLength),
  };
}

/** verify_data for a Finished message (RFC 8446 4.4.4). */
export function finishedVerifyData(suite: CipherSuite, baseKey: Uint8Array, transcriptHash: Uint8Array): Uint8Array {
  const finishedKey = hkdfExpandLabel(suite.hash, baseKey, 'finished', new Uint8Array(0), suite.hashLength);
  return new Uint8Array(createHmac(suite.hash, finishedKey).update(transcriptHash).digest());
}

/** application_traffic_secret_N+1 (RFC 8446 7.2). */
export function nextTrafficSecret(suite: CipherSuite, secret: Uint8Array): Uint8Array {
  return hkdfExpandLabel(suite.hash, secret, 'traffic upd', new Uint8Array(0), suite.hashLength);
}

export interface HandshakeSecrets {
  handshakeSecret: Uint8Array;
  clientHandshakeTraffic: Uint8Array;
  serverHandshakeTraffic: Uint8Array;
}

export interface ApplicationSecrets {
  masterSecret: Uint8Array;
  clientApplicationTraffic: Uint8Array;
  serverApplicationTraffic: Uint8Array;
}

/**
 * The schedule without PSK: the early secret is Extract(0, 0), so all that
 * varies is the (EC)DHE secret and the two transcript hashes.
 */
export class KeySchedule {
  private handshakeSecret: Uint8Array | null = null;

  constructor(readonly suite: CipherSuite) {}

  private zeros(): Uint8Array {
    return new Uint8Array(this.suite.hashLength);
  }

  private derived(secret: Uint8Array): Uint8Array {
    return deriveSecret(this.suite.hash, secret, 'derived', hashOf(this.suite.hash, new Uint8Array(0)));
  }

  earlySecret(): Uint8Array {
    return hkdfExtract(this.suite.hash, this.zeros(), this.zeros());
  }

  /** @param helloHash Transcript-Hash(ClientHello..ServerHello) */
  handshake(sharedSecret: Uint8Array, helloHash: Uint8Array): HandshakeSecrets {
    const h = this.suite.hash;
    const handshakeSecret = hkdfExtract(h, this.derived(this.earlySecret()), sharedSecret);
    this.handshakeSecret = handshakeSecret;
    return {
      handshakeSecret,
      clientHandshakeTraffic: deriveSecret(h, handshakeSecret, 'c hs traffic', helloHash),
      serverHandshakeTraffic: deriveSecret(h, handshakeSecret, 's hs traffic', helloHash),
    };
  }

  /** @param finishedHash Transcript-Hash(ClientHello..server Finished) */
  application(finishedHash: Uint8Array): ApplicationSecrets {
    if (!this.handshakeSecret) throw new Error('key schedule: application secrets before handshake secret');
    const h = this.suite.hash;
    const masterSecret = hkdfExtract(h, this.derived(this.handshakeSecret), this.zeros());
    // The handshake secret is no longer needed; drop our reference to it.
    this.handshakeSecret = null;
    return {
      masterSecret,
      clientApplicationTraffic: deriveSecret(h, masterSecret, 'c ap traffic', finishedHash),
      serverApplicationTraffic: deriveSecret(h, masterSecret, 's ap traffic', finishedHash),
    };
  }
}

/** Running transcript hash; Hash.copy() gives intermediate values without re-hashing. */
export class Transcript {
  private h: Hash;

  constructor(readonly hash: HashName) {
    this.h = createHash(hash);
  }

  add(message: Uint8Array): void {
    this.h.update(message);
  }

  current(): Uint8Array {
    return new Uint8Array(this.h.copy().digest());
  }

  /**
   * After a HelloRetryRequest the first ClientHello is replaced by
   * message_hash = 254 ‖ 00 00 ‖ Hash.length ‖ Hash(ClientHello1) (RFC 8446 4.4.1).
   */
  static afterRetry(hash: HashName, clientHello1: Uint8Array): Transcript {
    const digest = hashOf(hash, clientHello1);
    const t = new Transcript(hash);
    t.add(Uint8Array.of(254, 0, 0, digest.length));
    t.add(digest);
    return t;
  }
}
