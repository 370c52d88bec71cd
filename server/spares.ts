// The spare process sets: each a keyproc (root, waiting for the host name)
// and a netproc (warmed, jailed, waiting for its socket), wired exactly as
// for one connection under a super-server (src/connection.ts), started
// before any client needs them. A set serves one connection and is never
// used again; a set that dies or misbehaves before it is used is replaced,
// never handed a client.
import type { Socket } from 'node:net';
import type { Children } from '../src/connection';
import type { Logger } from '../lib/log';
import { connectionMessage, HandoffMsg } from '../wire/handoff';
import { raise, startLowered } from './priority';

/**
 * Starts one set (src/launch.ts), each with its own jail ids; rehearse: it
 * has time to warm up (no connection waits for it).
 */
export type StartSet = (rehearse: boolean) => Children;

/**
 * A set taken for a connection is replaced once that connection's handshake
 * is done (refill()), or after this long: starting two Node processes while
 * the handshake runs would slow the very connection the set was kept for.
 */
const REFILL_LATEST_MS = 250;
/** A set that failed before it was ready makes the next start wait this long, doubling up to the maximum. */
const RETRY_FIRST_MS = 250;
const RETRY_MAX_MS = 30_000;
const STOPPING = 'the server is stopping';

class SpareSet {
  ready = false;
  private gone = false;
  private lowered: boolean;

  constructor(
    readonly children: Children,
    private readonly onReady: (s: SpareSet) => void,
    private readonly onLost: (s: SpareSet, why: string) => void,
    lowered: boolean,
  ) {
    this.lowered = lowered;
    const { netproc, keyproc } = children;
    netproc.on('message', (m: unknown) => {
      if (m === HandoffMsg.READY && !this.ready) {
        this.ready = true;
        this.onReady(this);
      } else this.lose(`netproc sent an unexpected message`);
    });
    // A netproc that died may be seen to close its channel before its exit
    // is reported: such a set must not be taken for a connection meanwhile.
    netproc.on('disconnect', () => this.lose('netproc closed its IPC channel'));
    for (const [name, child] of [['netproc', netproc], ['keyproc', keyproc]] as const) {
      child.on('exit', (code, signal) => this.lose(`${name} exited with ${signal ? `signal ${signal}` : `status ${code}`}`));
      child.on('error', (e) => this.lose(`${name}: ${e.message}`));
    }
  }

  /** Dead, broken or killed before its connection: end what is left of it. */
  lose(why: string): void {
    if (this.gone) return;
    this.gone = true;
    this.ready = false;
    endSet(this.children);
    this.onLost(this, why);
  }

  /** Needed now (a connection has it, or waits for it): back at the server's priority. */
  raise(): void {
    if (!this.lowered) return;
    this.lowered = false;
    raise([this.children.netproc.pid, this.children.keyproc.pid]);
  }

  /** The set leaves the pool for good; from now on it is the connection's. */
  takeOut(): Children {
    this.raise();
    this.gone = true;
    const { netproc, keyproc } = this.children;
    netproc.removeAllListeners('message');
    netproc.removeAllListeners('disconnect');
    for (const child of [netproc, keyproc]) {
      child.removeAllListeners('exit');
      child.removeAllListeners('error');
    }
    return this.children;
  }
}

/** A set's processes killed, the server's ends of its sockets closed. */
function endSet(c: Children): void {
  for (const child of [c.netproc, c.keyproc]) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  for (const s of [c.ctl, c.progIn, c.progOut, ...c.progControl]) s.destroy();
}

export class SparePool {
  private readonly sets = new Set<SpareSet>();
  /** Connections waiting for a set to be ready; close() turns them away. */
  private readonly waiting: { resolve: (c: Children) => void; reject: (e: Error) => void }[] = [];
  private retryMs = 0;
  private retryTimer: NodeJS.Timeout | undefined;
  private refillTimer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    private readonly size: number,
    private readonly startSet: StartSet,
    private readonly log: Logger,
  ) {}

  /** Fill the pool (-w is at least 1, so a connection always has a set coming). */
  start(): void {
    this.fill();
  }

  /** A ready set for a connection: at once if one is ready, else when the next one is; rejects once the pool is closed. */
  take(): Promise<Children> {
    if (this.closed) return Promise.reject(new Error(STOPPING));
    const ready = [...this.sets].find((s) => s.ready);
    if (ready) return Promise.resolve(this.use(ready));
    return new Promise((resolve, reject) => {
      this.waiting.push({ resolve, reject });
      for (const s of this.sets) s.raise();
      this.fill();
    });
  }

  /**
   * Hand the socket to a set's netproc; the server's copy of the socket is
   * closed once it is sent. On failure the socket is still the server's.
   *
   * keepOpen, and our copy closed here: without it Node keeps the copy until
   * netproc acknowledges the handle, which a netproc that died meanwhile never
   * does (Node even reports the failed write as a success), so the server
   * would hold the client's connection for good; and a send that fails would
   * take the socket with it.
   */
  static handOver(children: Children, socket: Socket, began: number): Promise<void> {
    return new Promise((resolve, reject) => {
      children.netproc.send(connectionMessage(began), socket, { keepOpen: true }, (e) => {
        if (e) return reject(e);
        socket.destroy();
        resolve();
      });
    });
  }

  /** A set taken for a connection that could not be handed it: nothing of it may stay behind. */
  static discard(children: Children): void {
    endSet(children);
  }

  /** No more sets: end the spare ones; a connection still waiting for one gets none (its socket is closed). */
  close(): void {
    this.closed = true;
    clearTimeout(this.retryTimer);
    clearTimeout(this.refillTimer);
    for (const s of this.sets) s.lose(STOPPING);
    // No set will ever be ready for them: without this they would hold their
    // clients (and keep the server from finishing) until the process ends.
    for (const w of this.waiting.splice(0)) w.reject(new Error(STOPPING));
  }

  /** Start the sets the pool lacks now (a connection's handshake is done: the CPU is free again). */
  refill(): void {
    clearTimeout(this.refillTimer);
    this.refillTimer = undefined;
    this.fill();
  }

  private use(set: SpareSet): Children {
    this.sets.delete(set);
    const children = set.takeOut();
    if (this.waiting.length > 0) this.fill();
    else if (!this.refillTimer) this.refillTimer = setTimeout(() => this.refill(), REFILL_LATEST_MS);
    return children;
  }

  /**
   * Start sets until the pool holds its size plus one for each connection
   * that waits: while nobody waits, at a low priority (server/priority.ts)
   * and with time to rehearse a handshake.
   */
  private fill(): void {
    if (this.closed || this.retryTimer) return;
    const want = this.size + this.waiting.length;
    while (this.sets.size < want) {
      // A set a connection already waits for starts at once, at full priority, without a rehearsal.
      const lowered = this.waiting.length === 0;
      const children = lowered ? startLowered(() => this.startSet(true)) : this.startSet(false);
      this.sets.add(new SpareSet(children, (s) => this.onReady(s), (s, why) => this.onLost(s, why), lowered));
    }
  }

  private onReady(set: SpareSet): void {
    this.retryMs = 0;
    const next = this.waiting.shift();
    if (next) next.resolve(this.use(set));
  }

  private onLost(set: SpareSet, why: string): void {
    this.sets.delete(set);
    if (this.closed) return;
    this.log.warning(`a spare process set ended before its connection: ${why}`);
    // A set that cannot even start (a broken configuration, no memory) must not make a fork loop.
    this.retryMs = Math.min(Math.max(this.retryMs * 2, RETRY_FIRST_MS), RETRY_MAX_MS);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.fill();
    }, this.retryMs);
  }
}
