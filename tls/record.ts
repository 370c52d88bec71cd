// The record layer: cutting the byte stream into records (with the size
// limits of RFC 8446 5.1/5.2), AEAD protection of records, and reassembly of
// handshake messages that span records (or share one).

import { createCipheriv, createDecipheriv, createHmac, randomBytes, timingSafeEqual, type CipherGCM, type DecipherGCM } from 'node:crypto';
import { TlsAlert } from './errors';
import { Alert, ContentType, Limits, type Aead12, type Cbc12, type CipherSuite, type CipherSuite12 } from './tables';
import type { TrafficKeys } from './keyschedule';

const EMPTY = new Uint8Array(0);

/**
 * A FIFO of byte chunks. Input is kept as the chunks that arrived (no growing
 * concatenation); take() copies only when a request spans chunks.
 */
export class ByteQueue {
  private chunks: Uint8Array[] = [];
  private first = 0; // index of the first live chunk (no Array.shift: a peer may send 1-byte segments)
  private head = 0; // offset into chunks[first]
  private size = 0;

  get length(): number {
    return this.size;
  }

  push(b: Uint8Array): void {
    if (b.length === 0) return;
    this.chunks.push(b);
    this.size += b.length;
  }

  /** Byte at position i from the front; i < length. */
  at(i: number): number {
    let k = this.first;
    i += this.head;
    while (i >= this.chunks[k].length) {
      i -= this.chunks[k].length;
      k++;
    }
    return this.chunks[k][i];
  }

  /** Remove and return the first n bytes (n ≤ length). */
  take(n: number): Uint8Array {
    if (n > this.size) throw new RangeError('ByteQueue.take past end');
    if (n === 0) return EMPTY;
    const c0 = this.chunks[this.first];
    if (c0.length - this.head >= n) {
      const out = c0.subarray(this.head, this.head + n);
      this.advance(n);
      return out;
    }
    const out = new Uint8Array(n);
    let filled = 0;
    while (filled < n) {
      const c = this.chunks[this.first];
      const k = Math.min(c.length - this.head, n - filled);
      out.set(c.subarray(this.head, this.head + k), filled);
      filled += k;
      this.advance(k);
    }
    return out;
  }

  private advance(n: number): void {
    this.head += n;
    this.size -= n;
    if (this.head === this.chunks[this.first].length) {
      this.first++;
      this.head = 0;
      if (this.first === this.chunks.length) {
        this.chunks = [];
        this.first = 0;
      } else if (this.first >= 1024) {
        // Drop consumed chunks now and then, in one O(n) step.
        this.chunks = this.chunks.slice(this.first);
        this.first = 0;
      }
    }
  }
}

export interface RawRecord {
  type: number;
  /** The 5-byte header, which is the AEAD additional data. */
  header: Uint8Array;
  fragment: Uint8Array;
}

const VALID_OUTER_TYPES = new Set<number>([
  ContentType.changeCipherSpec,
  ContentType.alert,
  ContentType.handshake,
  ContentType.applicationData,
]);

/** Splits input into records; checks header sanity and length limits only. */
export class Deframer {
  private q = new ByteQueue();
  /** TLSCiphertext.length limit: 2^14 + 256, raised to 2^14 + 2048 once TLS 1.2 is chosen. */
  maxLength: number = Limits.ciphertext;

  get buffered(): number {
    return this.q.length;
  }

  push(b: Uint8Array): void {
    this.q.push(b);
  }

  /**
   * The next complete record, or null if more bytes are needed. Header checks
   * run as soon as the header is here, so garbage is refused without waiting
   * for a "length" worth of it.
   */
  next(): RawRecord | null {
    if (this.q.length < 1) return null;
    const type = this.q.at(0);
    if (!VALID_OUTER_TYPES.has(type)) {
      throw new TlsAlert(Alert.unexpectedMessage, `not a TLS record (content type ${type})`);
    }
    if (this.q.length < 5) return null;
    // legacy_record_version is to be ignored (RFC 8446 5.1) but a major
    // version other than 3 means this is not TLS at all.
    if (this.q.at(1) !== 0x03) throw new TlsAlert(Alert.decodeError, 'record version is not 3.x');
    const length = (this.q.at(3) << 8) | this.q.at(4);
    if (length > this.maxLength) throw new TlsAlert(Alert.recordOverflow, `record of ${length} bytes`);
    if (this.q.length < 5 + length) return null;
    const header = this.q.take(5);
    const fragment = this.q.take(length);
    return { type, header, fragment };
  }
}

/** A record header; `version` is 0x0303 except in TLS 1.0/1.1 connections. */
export function recordHeader(type: number, length: number, version = 0x0303): Uint8Array {
  return Uint8Array.of(type, version >> 8, version & 0xff, (length >> 8) & 0xff, length & 0xff);
}

export function plaintextRecord(type: number, fragment: Uint8Array, version = 0x0303): Uint8Array {
  const out = new Uint8Array(5 + fragment.length);
  out.set(recordHeader(type, fragment.length, version), 0);
  out.set(fragment, 5);
  return out;
}

// The AEADs by suite cipher name. Node types each family separately, so a
// table of constructors keeps the call sites free of casts; the GCM and
// ChaCha20-Poly1305 objects share the methods we use.
type Sealer = Pick<CipherGCM, 'setAAD' | 'update' | 'final' | 'getAuthTag'>;
type Opener = Pick<DecipherGCM, 'setAAD' | 'setAuthTag' | 'update' | 'final'>;
const TAG = { authTagLength: 16 } as const;
const SEALERS: Record<CipherSuite['cipher'], (key: Uint8Array, nonce: Uint8Array) => Sealer> = {
  'aes-128-gcm': (k, n) => createCipheriv('aes-128-gcm', k, n, TAG),
  'aes-256-gcm': (k, n) => createCipheriv('aes-256-gcm', k, n, TAG),
  'chacha20-poly1305': (k, n) => createCipheriv('chacha20-poly1305', k, n, TAG),
};
const OPENERS: Record<CipherSuite['cipher'], (key: Uint8Array, nonce: Uint8Array) => Opener> = {
  'aes-128-gcm': (k, n) => createDecipheriv('aes-128-gcm', k, n, TAG),
  'aes-256-gcm': (k, n) => createDecipheriv('aes-256-gcm', k, n, TAG),
  'chacha20-poly1305': (k, n) => createDecipheriv('chacha20-poly1305', k, n, TAG),
};

/** nonce = iv XOR (64-bit big-endian sequence number, left-padded to the iv length). */
function nonceFor(iv: Uint8Array, seq: number): Buffer {
  const nonce = Buffer.from(iv);
  // seq stays far below 2^53; split into two 32-bit halves for the XOR.
  const hi = Math.floor(seq / 0x100000000);
  const lo = seq >>> 0;
  const n = nonce.length;
  nonce.writeUInt32BE((nonce.readUInt32BE(n - 8) ^ hi) >>> 0, n - 8);
  nonce.writeUInt32BE((nonce.readUInt32BE(n - 4) ^ lo) >>> 0, n - 4);
  return nonce;
}

/** What the engine needs of one direction's record protection, whatever the version. */
export interface Protection {
  readonly sequence: number;
  seal(type: number, content: Uint8Array): Uint8Array;
  /** null when authentication fails. */
  open(record: RawRecord): { type: number; content: Uint8Array } | null;
}

function seq64(seq: number): Uint8Array {
  const b = Buffer.alloc(8);
  b.writeUInt32BE(Math.floor(seq / 0x100000000), 0);
  b.writeUInt32BE(seq >>> 0, 4);
  return b;
}

/**
 * TLS 1.2 AEAD records (RFC 5246 6.2.3.3): the outer content type is the real
 * one, AAD = seq_num ‖ type ‖ version ‖ plaintext length. AES-GCM (RFC 5288):
 * nonce = 4-byte salt ‖ 8-byte explicit part sent before the ciphertext (we
 * send the sequence number); ChaCha20-Poly1305 (RFC 7905): nonce = iv XOR seq.
 */
export class RecordProtection12 implements Protection {
  private seq = 0;
  private readonly aead: Aead12;

  constructor(
    readonly suite: CipherSuite12,
    private readonly key: Uint8Array,
    private readonly iv: Uint8Array,
  ) {
    if (suite.mac) throw new Error(`${suite.name} is not an AEAD suite`);
    this.aead = suite.cipher as Aead12;
  }

  get sequence(): number {
    return this.seq;
  }

  private nonce(explicit: Uint8Array | null, seq: number): Buffer {
    if (this.suite.explicitNonceLength === 0) return nonceFor(this.iv, seq);
    return Buffer.concat([this.iv, explicit ?? new Uint8Array(8)]);
  }

  private aad(seq: number, type: number, version: Uint8Array, length: number): Uint8Array {
    const a = new Uint8Array(13);
    a.set(seq64(seq), 0);
    a[8] = type;
    a[9] = version[0];
    a[10] = version[1];
    a[11] = (length >> 8) & 0xff;
    a[12] = length & 0xff;
    return a;
  }

  seal(type: number, content: Uint8Array): Uint8Array {
    const seq = this.seq++;
    const explicit = this.suite.explicitNonceLength > 0 ? seq64(seq) : new Uint8Array(0);
    const length = explicit.length + content.length + this.suite.tagLength;
    const header = recordHeader(type, length);
    const cipher = SEALERS[this.aead](this.key, this.nonce(explicit, seq));
    cipher.setAAD(this.aad(seq, type, header.subarray(1, 3), content.length));
    const body = cipher.update(content);
    const fin = cipher.final();
    const out = new Uint8Array(5 + length);
    out.set(header, 0);
    out.set(explicit, 5);
    let at = 5 + explicit.length;
    out.set(body, at);
    at += body.length;
    out.set(fin, at);
    at += fin.length;
    out.set(cipher.getAuthTag(), at);
    return out;
  }

  open(record: RawRecord): { type: number; content: Uint8Array } | null {
    const e = this.suite.explicitNonceLength;
    const tagLength = this.suite.tagLength;
    const f = record.fragment;
    if (f.length < e + tagLength) return null;
    const explicit = f.subarray(0, e);
    const body = f.subarray(e, f.length - tagLength);
    const tag = f.subarray(f.length - tagLength);
    const decipher = OPENERS[this.aead](this.key, this.nonce(explicit, this.seq));
    decipher.setAAD(this.aad(this.seq, record.type, record.header.subarray(1, 3), body.length));
    decipher.setAuthTag(tag);
    let plain: Buffer;
    try {
      plain = Buffer.concat([decipher.update(body), decipher.final()]);
    } catch {
      return null;
    }
    this.seq++;
    if (plain.length > Limits.plaintext) throw new TlsAlert(Alert.recordOverflow, `plaintext of ${plain.length} bytes`);
    return { type: record.type, content: new Uint8Array(plain.buffer, plain.byteOffset, plain.length) };
  }
}

const CBC_BLOCK = 16;

/**
 * CBC records, MAC-then-encrypt (RFC 5246 6.2.3.2): IV ‖
 * E(content ‖ HMAC(seq ‖ type ‖ version ‖ length ‖ content) ‖ padding); in
 * TLS 1.0 (RFC 2246 6.2.3.2) no IV is sent: each record's IV is the last
 * ciphertext block of the one before, the first from the key block. On
 * opening, a bad padding and a bad MAC do the same work and give the same
 * answer (null → bad_record_mac): padding is checked over a fixed window,
 * the MAC is always computed, and a dummy HMAC over the padding keeps the
 * hashed byte count independent of the padding length (Lucky 13 in the
 * large; JavaScript cannot promise cycle-exact constant time).
 */
export class RecordProtectionCbc implements Protection {
  private seq = 0;
  private readonly cipher: Cbc12;
  private readonly macHash: string;
  private readonly macLength: number;

  /** TLS 1.0: the chained IV; null when each record carries its own. */
  private chained: Uint8Array | null;

  constructor(
    readonly suite: CipherSuite12,
    private readonly key: Uint8Array,
    private readonly macKey: Uint8Array,
    private readonly version = 0x0303,
    initialIv: Uint8Array | null = null,
  ) {
    if (!suite.mac) throw new Error(`${suite.name} is not a CBC suite`);
    this.chained = initialIv;
    this.cipher = suite.cipher as Cbc12;
    this.macHash = suite.mac.hash;
    this.macLength = suite.mac.length;
  }

  get sequence(): number {
    return this.seq;
  }

  private mac(seq: number, type: number, version: Uint8Array, content: Uint8Array): Buffer {
    const h = createHmac(this.macHash, this.macKey);
    h.update(seq64(seq));
    h.update(Uint8Array.of(type, version[0], version[1], (content.length >> 8) & 0xff, content.length & 0xff));
    h.update(content);
    return h.digest();
  }

  seal(type: number, content: Uint8Array): Uint8Array {
    // TLS 1.0's predictable IVs (BEAST): an empty record first makes the next
    // IV a ciphertext block nobody chose, as OpenSSL's empty fragments do.
    if (this.chained && type === ContentType.applicationData && content.length > 0) {
      const empty = this.sealOne(type, new Uint8Array(0));
      const full = this.sealOne(type, content);
      const out = new Uint8Array(empty.length + full.length);
      out.set(empty, 0);
      out.set(full, empty.length);
      return out;
    }
    return this.sealOne(type, content);
  }

  private sealOne(type: number, content: Uint8Array): Uint8Array {
    const seq = this.seq++;
    const mac = this.mac(seq, type, Uint8Array.of(this.version >> 8, this.version & 0xff), content);
    const pad = (CBC_BLOCK - ((content.length + mac.length + 1) % CBC_BLOCK)) % CBC_BLOCK;
    const plain = new Uint8Array(content.length + mac.length + pad + 1);
    plain.set(content, 0);
    plain.set(mac, content.length);
    plain.fill(pad, content.length + mac.length);
    const iv = this.chained ?? randomBytes(CBC_BLOCK);
    const ivOnWire = this.chained ? 0 : CBC_BLOCK;
    const c = createCipheriv(this.cipher, this.key, iv).setAutoPadding(false);
    const body = Buffer.concat([c.update(plain), c.final()]);
    if (this.chained) this.chained = new Uint8Array(body.subarray(body.length - CBC_BLOCK));
    const out = new Uint8Array(5 + ivOnWire + body.length);
    out.set(recordHeader(type, ivOnWire + body.length, this.version), 0);
    out.set(iv.subarray(0, ivOnWire), 5);
    out.set(body, 5 + ivOnWire);
    return out;
  }

  open(record: RawRecord): { type: number; content: Uint8Array } | null {
    const f = record.fragment;
    const macLength = this.macLength;
    // Public facts only: the length is on the wire.
    const minBody = Math.ceil((macLength + 1) / CBC_BLOCK) * CBC_BLOCK;
    const ivOnWire = this.chained ? 0 : CBC_BLOCK;
    if (f.length < ivOnWire + minBody || f.length % CBC_BLOCK !== 0) return null;
    const iv = this.chained ?? f.subarray(0, CBC_BLOCK);
    const d = createDecipheriv(this.cipher, this.key, iv).setAutoPadding(false);
    const plain = Buffer.concat([d.update(f.subarray(ivOnWire)), d.final()]);
    if (this.chained) this.chained = new Uint8Array(f.subarray(f.length - CBC_BLOCK));
    const n = plain.length;
    const padLength = plain[n - 1];
    // bad = 1 when the padding cannot fit or any of its bytes is wrong; the
    // loop always looks at the same window, whatever the padding length.
    let bad = padLength + 1 + macLength > n ? 1 : 0;
    const window = Math.min(256, n);
    for (let i = 1; i < window; i++) {
      const inPadding = ((i - padLength - 1) >>> 31) & 1; // i <= padLength
      bad |= inPadding & (plain[n - 1 - i] === padLength ? 0 : 1);
    }
    const pad = bad ? 0 : padLength;
    const contentLength = n - 1 - pad - macLength;
    const content = plain.subarray(0, contentLength);
    const ours = this.mac(this.seq, record.type, record.header.subarray(1, 3), content);
    // The dummy: HMAC over `pad` more bytes, so content + dummy is the same length either way.
    createHmac(this.macHash, this.macKey).update(plain.subarray(0, pad)).digest();
    const macOk = timingSafeEqual(ours, plain.subarray(contentLength, contentLength + macLength));
    if (bad | (macOk ? 0 : 1)) return null;
    this.seq++;
    if (contentLength > Limits.plaintext) throw new TlsAlert(Alert.recordOverflow, `plaintext of ${contentLength} bytes`);
    return { type: record.type, content: new Uint8Array(plain.buffer, plain.byteOffset, contentLength) };
  }
}

/** The TLS 1.0-1.2 record protection for a suite: AEAD with an implicit IV, or CBC with a MAC key. */
export function protection12(suite: CipherSuite12, key: Uint8Array, iv: Uint8Array, macKey: Uint8Array, version = 0x0303): Protection {
  if (!suite.mac) return new RecordProtection12(suite, key, iv);
  return new RecordProtectionCbc(suite, key, macKey, version, version === 0x0301 ? iv : null);
}

/** One direction's AEAD state: keys and sequence number (RFC 8446 5.2, 5.3). */
export class RecordProtection implements Protection {
  private seq = 0;

  constructor(
    readonly suite: CipherSuite,
    private readonly keys: TrafficKeys,
  ) {}

  get sequence(): number {
    return this.seq;
  }

  /** A full TLSCiphertext record carrying `content` of inner type `type`. */
  seal(type: number, content: Uint8Array): Uint8Array {
    const innerLength = content.length + 1;
    const length = innerLength + this.suite.tagLength;
    const header = recordHeader(ContentType.applicationData, length);
    const cipher = SEALERS[this.suite.cipher](this.keys.key, nonceFor(this.keys.iv, this.seq++));
    cipher.setAAD(header);
    const out = new Uint8Array(5 + length);
    out.set(header, 0);
    let at = 5;
    const a = cipher.update(content);
    out.set(a, at);
    at += a.length;
    const b = cipher.update(Uint8Array.of(type));
    out.set(b, at);
    at += b.length;
    const c = cipher.final();
    out.set(c, at);
    at += c.length;
    out.set(cipher.getAuthTag(), at);
    return out;
  }

  /**
   * Decrypt and strip padding. Returns null when authentication fails, so
   * the caller can decide between bad_record_mac and skipping early data.
   */
  open(record: RawRecord): { type: number; content: Uint8Array } | null {
    const tagLength = this.suite.tagLength;
    if (record.fragment.length < tagLength + 1) return null;
    const body = record.fragment.subarray(0, record.fragment.length - tagLength);
    const tag = record.fragment.subarray(record.fragment.length - tagLength);
    const decipher = OPENERS[this.suite.cipher](this.keys.key, nonceFor(this.keys.iv, this.seq));
    decipher.setAAD(record.header);
    decipher.setAuthTag(tag);
    let inner: Buffer;
    try {
      inner = Buffer.concat([decipher.update(body), decipher.final()]);
    } catch {
      return null;
    }
    this.seq++;
    if (inner.length > Limits.plaintext + 1) {
      throw new TlsAlert(Alert.recordOverflow, `inner plaintext of ${inner.length} bytes`);
    }
    // The content type is the last non-zero byte; zeros after it are padding.
    let end = inner.length - 1;
    while (end >= 0 && inner[end] === 0) end--;
    if (end < 0) throw new TlsAlert(Alert.unexpectedMessage, 'record with no content type (all padding)');
    return { type: inner[end], content: new Uint8Array(inner.buffer, inner.byteOffset, end) };
  }
}

export interface HandshakeMessage {
  type: number;
  body: Uint8Array;
  /** The whole message with its 4-byte header: what goes into the transcript. */
  raw: Uint8Array;
}

/** Reassembles handshake messages from the handshake-content records. */
export class HandshakeJoiner {
  private q = new ByteQueue();

  /** True when bytes of an unfinished message are waiting. */
  get pending(): boolean {
    return this.q.length > 0;
  }

  push(fragment: Uint8Array): void {
    this.q.push(fragment);
  }

  next(): HandshakeMessage | null {
    if (this.q.length < 4) return null;
    const length = (this.q.at(1) << 16) | (this.q.at(2) << 8) | this.q.at(3);
    if (length > Limits.handshakeMessage) {
      throw new TlsAlert(Alert.decodeError, `handshake message of ${length} bytes is over our limit`);
    }
    if (this.q.length < 4 + length) return null;
    const raw = this.q.take(4 + length);
    return { type: raw[0], body: raw.subarray(4), raw };
  }
}
