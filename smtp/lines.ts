// Reading a stream line by line with a timeout, for the client (stdin) and
// for prog's replies, and a small reader for the acknowledgement and facts
// on fd 6. Bytes stay here, where STARTTLS can still discard them, until a
// line is asked for; the stream is paused while enough is buffered.
import type { Readable } from 'node:stream';

/** Buffered beyond this, the stream is paused until lines are taken. */
const HIGH_WATER = 64 * 1024;

export type LineResult =
  /** One line including its LF (or the bytes before EOF, without one). */
  | { kind: 'line'; line: Buffer }
  | { kind: 'eof' }
  | { kind: 'timeout' }
  | { kind: 'toolong' }
  | { kind: 'error'; message: string };

export class LineReader {
  private buf: Buffer = Buffer.alloc(0);
  private ended = false;
  private error: string | null = null;
  private wake: (() => void) | null = null;
  /** STARTTLS: while taking what the stream buffered, its 'data' events are dropped. */
  private discarding = false;
  /** STARTTLS with facts: everything the stream delivers is dropped (and counted) until keep(). */
  private dropping = false;
  private droppedBytes = 0;

  constructor(private readonly stream: Readable) {
    stream.on('data', (chunk: Buffer) => {
      if (this.discarding) return;
      if (this.dropping) {
        this.droppedBytes += chunk.length;
        return;
      }
      this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
      if (this.buf.length > HIGH_WATER) stream.pause();
      this.notify();
    });
    stream.on('end', () => {
      this.ended = true;
      this.notify();
    });
    stream.on('error', (e: NodeJS.ErrnoException) => {
      this.error = e.code ?? e.message;
      this.ended = true;
      this.notify();
    });
  }

  private endWaiters: (() => void)[] = [];

  private notify(): void {
    if (this.ended) for (const f of this.endWaiters.splice(0)) f();
    const w = this.wake;
    this.wake = null;
    w?.();
  }

  get atEof(): boolean {
    return this.ended && this.buf.length === 0;
  }

  /**
   * The next line, waiting at most timeoutMs for each chunk (an idle timer,
   * like a read timeout: a client that keeps sending is never cut off
   * mid-line). A line longer than max bytes is 'toolong'.
   */
  async line(max: number, timeoutMs: number): Promise<LineResult> {
    for (;;) {
      const lf = this.buf.indexOf(0x0a);
      if (lf >= 0) {
        if (lf + 1 > max) return { kind: 'toolong' };
        const line = this.buf.subarray(0, lf + 1);
        this.buf = this.buf.subarray(lf + 1);
        return { kind: 'line', line };
      }
      if (this.buf.length > max) return { kind: 'toolong' };
      if (this.ended) {
        if (this.error && this.buf.length === 0) return { kind: 'error', message: this.error };
        if (this.buf.length === 0) return { kind: 'eof' };
        const line = this.buf;
        this.buf = Buffer.alloc(0);
        return { kind: 'line', line };
      }
      this.stream.resume();
      const got = await new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => {
          this.wake = null;
          resolve(false);
        }, timeoutMs);
        this.wake = () => {
          clearTimeout(timer);
          resolve(true);
        };
      });
      if (!got) return { kind: 'timeout' };
    }
  }

  /** Resolves when the stream has ended (EOF or error), whatever is still buffered. */
  whenEnded(): Promise<void> {
    if (this.ended) return Promise.resolve();
    // One promise for every caller: asked once per command, it must not pile up.
    this.endPromise ??= new Promise((resolve) => this.endWaiters.push(resolve));
    return this.endPromise;
  }

  private endPromise: Promise<void> | undefined;

  /** Stop reading from the stream (what it already read stays with it). */
  pause(): void {
    this.stream.pause();
  }

  /** Drop everything buffered here and in the stream itself; the byte count. The stream is left paused. */
  discard(): number {
    return this.discardBytes().length;
  }

  /** As discard(), the bytes themselves. */
  discardBytes(): Buffer {
    const parts = [this.buf];
    this.buf = Buffer.alloc(0);
    this.stream.pause();
    this.discarding = true;
    try {
      for (let c: Buffer | null; (c = this.stream.read() as Buffer | null) !== null; ) parts.push(c);
    } finally {
      this.discarding = false;
    }
    return Buffer.concat(parts);
  }

  /** Drop what is buffered and everything the stream delivers from now on, reading on, until keep(). */
  dropFromNow(): void {
    this.droppedBytes = this.buf.length;
    this.buf = Buffer.alloc(0);
    this.dropping = true;
    this.stream.resume();
  }

  /** Stop dropping: what comes from now on is kept. The bytes dropped since dropFromNow(). */
  keep(): number {
    this.dropping = false;
    return this.droppedBytes;
  }

  /** Everything buffered, taken (prog's unsolicited last words). */
  take(): Buffer {
    const b = this.buf;
    this.buf = Buffer.alloc(0);
    return b;
  }
}
