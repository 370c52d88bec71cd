// A young-generation GC every so many bytes moved. Node gives every read from
// a socket or pipe a fresh buffer, and every record decrypted or encrypted
// makes another; they are freed only by a GC, and V8 starts one for such
// memory (outside its own heap) only after tens of MiB. Between GCs the
// malloc heap grows to hold them and does not shrink again: echoing 50 MiB
// left netproc at ~55 MiB PSS. A minor GC every 512 KiB kept it at ~23 MiB
// with no loss of throughput (bench/, the echo phase; 128 KiB cost
// throughput, 2 MiB left ~35 MiB).
//
// gc() is V8's --expose-gc function (src/connection.ts starts netproc with
// the flag); V8 makes it a property that cannot be deleted. Without the flag
// (netproc started by hand) there is no budget, only Node's own GCs.

type Collect = (options: { type: 'minor' | 'major' }) => void;

const collect = (globalThis as { gc?: Collect }).gc;

export const GC_EVERY_BYTES = 512 * 1024;

export class GarbageBudget {
  private left: number;

  constructor(private readonly every: number = GC_EVERY_BYTES) {
    this.left = every;
  }

  /** n more bytes moved; a minor GC once the budget is spent (a no-op without --expose-gc). */
  moved(n: number): void {
    this.left -= n;
    if (this.left > 0) return;
    this.left = this.every;
    collect?.({ type: 'minor' });
  }
}

/** A full GC now: the garbage of the warm-up goes before the process waits for its connection. */
export function collectAll(): void {
  collect?.({ type: 'major' });
}
