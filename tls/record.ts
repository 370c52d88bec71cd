// The record layer: cutting the byte stream into records (with the size
// limits of RFC 8446 5.1/5.2) and reassembly of handshake messages that span
// records (or share one). Protecting records is protection13.ts (TLS 1.3) and
// protection12.ts (TLS 1.0-1.2), on the AEADs of aead.ts.

import { TlsAlert } from './errors';
import { Alert, ContentType, Limits } from './tables';

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
      // Let go of the spent chunk at once: the queue rarely empties while data
      // flows (records straddle reads), and a 64 KiB read kept here until the
      // array is compacted would hold up to 1024 of them.
      this.chunks[this.first] = EMPTY;
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

/** What the engine needs of one direction's record protection, whatever the version. */
export interface Protection {
  readonly sequence: number;
  seal(type: number, content: Uint8Array): Uint8Array;
  /** null when authentication fails. */
  open(record: RawRecord): { type: number; content: Uint8Array } | null;
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
