// A young-generation GC every so many bytes moved. Node gives every read from
// a socket or pipe a fresh buffer, and every record decrypted or encrypted
// makes another; they are freed only by a GC, and V8 starts one for such
// memory (outside its own heap) only after tens of MiB. Between GCs the
// malloc heap grows to hold them and does not shrink again: echoing 50 MiB
// left netproc at ~55 MiB PSS. A minor GC every 512 KiB kept it at ~23 MiB
// with no loss of throughput (bench/, the echo phase; 128 KiB cost
// throughput, 2 MiB left ~35 MiB). When the bytes stop, one full GC
// (GarbageBudget.armQuietTimer).
//
// gc() is V8's --expose-gc function (src/connection.ts starts netproc with
// the flag); V8 makes it a property that cannot be deleted. Without the flag
// (netproc started by hand) there is no budget, only Node's own GCs.

// Node 20's V8 takes gc({ type: 'minor' }) as asked, but gc({ type: 'major' })
// ran a young-generation GC too (the old generation kept its garbage, measured
// with v8.getHeapSpaceStatistics); gc() with no options is the full one.
type Collect = (options?: { type: 'minor' }) => void;

const collect = (globalThis as { gc?: Collect }).gc;

export const GC_EVERY_BYTES = 512 * 1024;
/** A full GC once the connection has been quiet this long after moving data. */
export const QUIET_MS = 1000;
/** ...and only if it moved at least this much since the last full one (a chatty idle peer costs nothing). */
export const QUIET_AFTER_BYTES = 256 * 1024;

export class GarbageBudget {
  private left: number;
  /** Bytes moved since the last full GC. */
  private sinceFull = 0;
  /** Bytes moved when the quiet timer was last armed: no change at its end means quiet. */
  private movedAtArm = 0;
  private movedTotal = 0;
  private quietTimer: NodeJS.Timeout | undefined;

  constructor(private readonly every: number = GC_EVERY_BYTES) {
    this.left = every;
  }

  /** n more bytes moved; a minor GC once the budget is spent (a no-op without --expose-gc). */
  moved(n: number): void {
    this.movedTotal += n;
    this.sinceFull += n;
    if (this.sinceFull >= QUIET_AFTER_BYTES && !this.quietTimer && collect) this.armQuietTimer();
    this.left -= n;
    if (this.left > 0) return;
    this.left = this.every;
    collect?.({ type: 'minor' });
  }

  /**
   * Minor GCs leave what was promoted to the old generation (and the pages V8
   * committed for it) until V8 decides on a full GC, so a netproc that moved
   * much and then waits (a stalled or idle peer) kept several MiB of garbage
   * for as long as it waited. One timer, re-armed only when it fires (not per
   * chunk), runs a full GC once the bytes stop.
   */
  private armQuietTimer(): void {
    this.movedAtArm = this.movedTotal;
    this.quietTimer = setTimeout(() => {
      this.quietTimer = undefined;
      if (this.movedTotal !== this.movedAtArm) return this.armQuietTimer();
      this.sinceFull = 0;
      collectAll();
    }, QUIET_MS);
    this.quietTimer.unref();
  }

  /** The connection is over: no full GC is owed. */
  stop(): void {
    clearTimeout(this.quietTimer);
  }
}

/** A full GC now: the garbage of the warm-up goes before the process waits for its connection. */
export function collectAll(): void {
  collect?.();
}
