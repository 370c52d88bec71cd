// TLS 1.3 record protection (RFC 8446 5.2, 5.3): the inner content type,
// padding, one AEAD per direction with its sequence number.
import { OPENERS, SEALERS, nonceFor } from './aead';
import { TlsAlert } from './errors';
import type { TrafficKeys } from './keyschedule';
import { recordHeader, type Protection, type RawRecord } from './record';
import { Alert, ContentType, Limits, type CipherSuite } from './tables';

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
