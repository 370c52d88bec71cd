// Framing shared by every pipe between our processes:
//   u32 length (of type + payload, big-endian) | u8 type | payload
// A frame over MAX_FRAME is a protocol violation: the reader throws and the
// process that owns it exits, since a peer that breaks framing is not trusted.

export const MAX_FRAME = 64 * 1024;

export interface Frame {
  type: number;
  payload: Uint8Array;
}

export class FrameError extends Error {}

export function encodeFrame(type: number, payload: Uint8Array = new Uint8Array(0), max = MAX_FRAME): Uint8Array {
  const length = payload.length + 1;
  if (length > max) throw new FrameError(`frame of ${length} bytes is over ${max}`);
  const out = new Uint8Array(4 + length);
  new DataView(out.buffer).setUint32(0, length);
  out[4] = type;
  out.set(payload, 5);
  return out;
}

/** Accumulates bytes from a stream and yields whole frames. */
export class FrameReader {
  private buffer = new Uint8Array(0);

  /** max: the biggest frame this pipe carries (keyproc's RPC: MAX_FRAME; the ctl pipe: more). */
  constructor(private readonly max = MAX_FRAME) {}

  push(chunk: Uint8Array): Frame[] {
    const joined = new Uint8Array(this.buffer.length + chunk.length);
    joined.set(this.buffer);
    joined.set(chunk, this.buffer.length);
    const frames: Frame[] = [];
    let at = 0;
    while (joined.length - at >= 4) {
      const length = new DataView(joined.buffer, joined.byteOffset + at).getUint32(0);
      if (length < 1 || length > this.max) throw new FrameError(`bad frame length ${length}`);
      if (joined.length - at - 4 < length) break;
      frames.push({ type: joined[at + 4], payload: joined.slice(at + 5, at + 4 + length) });
      at += 4 + length;
    }
    this.buffer = joined.slice(at);
    return frames;
  }

  /** Bytes of an unfinished frame; non-zero at EOF means the peer broke off mid-frame. */
  get pending(): number {
    return this.buffer.length;
  }
}
