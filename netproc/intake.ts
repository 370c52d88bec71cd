// What the entry sends netproc first on the ctl pipe (wire/ctl.ts), before
// the jail: CONFIG, then, with -a, ANCHORS. Frames are taken in order; both
// may come in one read. After the intake the pipe is paused and left to the
// session, which reads it only to notice the entry going away.
import type { Socket } from 'node:net';
import { MAX_CTL_FRAME } from '../wire/ctl';
import { FrameReader, type Frame } from '../wire/frame';

export class CtlIntake {
  private readonly reader = new FrameReader(MAX_CTL_FRAME);
  private readonly frames: Frame[] = [];
  private waiter: ((error: Error | null) => void) | null = null;
  private failure: Error | null = null;

  constructor(private readonly ctl: Socket) {
    ctl.on('data', this.onData);
    ctl.on('end', this.onEnd);
    ctl.resume();
  }

  /** The next frame's payload; rejects if it is of another type or the pipe ends first. */
  async next(type: number, what: string): Promise<Uint8Array> {
    while (this.frames.length === 0 && !this.failure) await new Promise<Error | null>((resolve) => (this.waiter = resolve));
    const frame = this.frames.shift();
    if (!frame) throw this.failure ?? new Error(`no ${what}`);
    if (frame.type !== type) throw new Error(`unexpected control message ${frame.type} where the ${what} belongs`);
    return frame.payload;
  }

  /** The intake is over: nothing more is read here, and nothing may be left over. */
  close(): void {
    this.ctl.pause();
    this.ctl.removeListener('data', this.onData);
    this.ctl.removeListener('end', this.onEnd);
    if (this.frames.length > 0 || this.reader.pending > 0) throw new Error('unexpected control message before the connection');
  }

  private readonly onData = (chunk: Buffer): void => {
    try {
      this.frames.push(...this.reader.push(chunk));
    } catch (e) {
      this.failure = e as Error;
    }
    this.wake();
  };

  private readonly onEnd = (): void => {
    this.failure ??= new Error('the entry closed the control pipe');
    this.wake();
  };

  private wake(): void {
    const w = this.waiter;
    this.waiter = null;
    w?.(this.failure);
  }
}
