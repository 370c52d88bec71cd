// Bounds-checked reading and writing of the big-endian, length-prefixed
// structures that TLS and our own RPC use. Every read checks the remaining
// length first, so a short or lying input throws DecodeError, never reads
// past the end.

export class DecodeError extends Error {}

export class ByteReader {
  private at = 0;

  constructor(private readonly bytes: Uint8Array) {}

  get remaining(): number {
    return this.bytes.length - this.at;
  }

  get offset(): number {
    return this.at;
  }

  private need(n: number): void {
    if (n > this.remaining) throw new DecodeError(`need ${n} bytes, have ${this.remaining}`);
  }

  u8(): number {
    this.need(1);
    return this.bytes[this.at++];
  }

  u16(): number {
    this.need(2);
    const v = (this.bytes[this.at] << 8) | this.bytes[this.at + 1];
    this.at += 2;
    return v;
  }

  u24(): number {
    this.need(3);
    const v = (this.bytes[this.at] << 16) | (this.bytes[this.at + 1] << 8) | this.bytes[this.at + 2];
    this.at += 3;
    return v;
  }

  u32(): number {
    this.need(4);
    const v = new DataView(this.bytes.buffer, this.bytes.byteOffset + this.at, 4).getUint32(0);
    this.at += 4;
    return v;
  }

  bytesOf(n: number): Uint8Array {
    this.need(n);
    const v = this.bytes.subarray(this.at, this.at + n);
    this.at += n;
    return v;
  }

  /** A vector with a 1-, 2- or 3-byte length prefix. */
  vector(lengthBytes: 1 | 2 | 3): Uint8Array {
    const n = lengthBytes === 1 ? this.u8() : lengthBytes === 2 ? this.u16() : this.u24();
    return this.bytesOf(n);
  }

  rest(): Uint8Array {
    return this.bytesOf(this.remaining);
  }

  /** Throws unless every byte was consumed: trailing bytes are a decode error in TLS. */
  end(): void {
    if (this.remaining !== 0) throw new DecodeError(`${this.remaining} trailing bytes`);
  }
}

export class ByteWriter {
  private parts: Uint8Array[] = [];
  private size = 0;

  u8(v: number): this {
    return this.bytes(Uint8Array.of(v & 0xff));
  }

  u16(v: number): this {
    return this.bytes(Uint8Array.of((v >> 8) & 0xff, v & 0xff));
  }

  u24(v: number): this {
    return this.bytes(Uint8Array.of((v >> 16) & 0xff, (v >> 8) & 0xff, v & 0xff));
  }

  u32(v: number): this {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setUint32(0, v >>> 0);
    return this.bytes(b);
  }

  bytes(b: Uint8Array): this {
    this.parts.push(b);
    this.size += b.length;
    return this;
  }

  /** A vector with a 1-, 2- or 3-byte length prefix; throws if it does not fit. */
  vector(lengthBytes: 1 | 2 | 3, b: Uint8Array): this {
    const max = 2 ** (8 * lengthBytes) - 1;
    if (b.length > max) throw new RangeError(`vector of ${b.length} bytes over ${max}`);
    if (lengthBytes === 1) this.u8(b.length);
    else if (lengthBytes === 2) this.u16(b.length);
    else this.u24(b.length);
    return this.bytes(b);
  }

  finish(): Uint8Array {
    const out = new Uint8Array(this.size);
    let at = 0;
    for (const p of this.parts) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  }
}

export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  const w = new ByteWriter();
  for (const p of parts) w.bytes(p);
  return w.finish();
}
