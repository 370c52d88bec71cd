// TLS 1.0-1.2 record protection: AEAD suites (RFC 5246 6.2.3.3, RFC 5288,
// RFC 7905) and, with -m tls10/tls11 or CBC suites, MAC-then-encrypt CBC.
import { createCipheriv, createDecipheriv, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { OPENERS, SEALERS, nonceFor, seq64 } from './aead';
import { TlsAlert } from './errors';
import { recordHeader, type Protection, type RawRecord } from './record';
import { Alert, ContentType, Limits, type Aead12, type Cbc12, type CipherSuite12 } from './tables';

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
