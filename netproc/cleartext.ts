// Delayed encryption, the plaintext phase (wire/starttls.ts has the protocols):
// bytes pass between the client and prog unencrypted until prog asks for TLS
// on its control descriptor. At that moment the boundary is fixed: what prog
// wrote before the command goes out in plaintext, and what the client sent
// that prog has not been given yet is dropped (a client may not send anything
// after its STARTTLS before the TLS handshake; bytes it pipelined anyway must
// never reach prog as if they had come over TLS: the CVE-2011-0411 class).
import { writeSync } from 'node:fs';
import type { Socket } from 'node:net';
import type { Logger } from '../lib/log';
import { StartTlsCommand } from '../wire/starttls';
import type { NetprocFds, StartTlsFds } from './fds';
import { NetprocFd } from '../wire/netprocfds';

/** What prog asked for. */
export interface SwitchRequest {
  /** Send the TLS facts (VAR=value\0...\0\0) on the control/ack descriptor after the handshake. */
  facts: boolean;
  /** Network bytes that came after prog's final plaintext reply went out: the start of TLS. */
  early: Buffer[];
}

export interface CleartextEvents {
  /** Network bytes went one way or the other (the idle timer). */
  touch(): void;
  /** TLS starts now: the network is paused, prog's plaintext is flushed, the -n acknowledgement sent. */
  startTls(request: SwitchRequest): void;
  /** Both directions ended in plaintext: the connection is over. */
  finished(): void;
  fail(message: string): void;
}

/** Network bytes we hold for prog beyond this: stop reading the network until prog catches up. */
const HIGH_WATER = 64 * 1024;
/**
 * How long network bytes that look like a TLS handshake record wait, after
 * prog's latest output, for prog's command before they go to prog as
 * plaintext: prog writes its final reply and then its command, and a prompt
 * client's ClientHello can reach us between the two.
 */
const TLS_LOOKALIKE_HOLD_MS = 1000;
/** prog's stdin pipe was full: try again after this long. */
const PIPE_FULL_RETRY_MS = 10;

/** A network chunk on its way to prog. */
interface Held {
  chunk: Buffer;
  /** How many chunks of prog's output had gone to the network when it arrived. */
  outputsSeen: number;
  /** May go to prog now. */
  ready: boolean;
}
/** Debian's older -n protocol: the final reply on fd 5 is one line, not a stream. */
const MAX_FINAL_REPLY = 4096;

export class Cleartext {
  /**
   * Network bytes not yet handed to prog. When TLS starts, those that came
   * before prog's final reply went out are dropped (pipelined), the rest go
   * to the TLS engine.
   */
  private held: Held[] = [];
  private heldBytes = 0;
  private outputs = 0;
  /** A full pipe to prog: the next try. */
  private retry: NodeJS.Timeout | null = null;
  private networkEnded = false;
  private progInEnded = false;
  private progOutEnded = false;
  private switching = false;
  private commandSeen = false;
  /** Debian's older -n protocol: the final plaintext reply, collected up to EOF on fd 5. */
  private finalReply: Buffer[] | null = null;

  constructor(
    private readonly fds: NetprocFds,
    private readonly control: StartTlsFds,
    private readonly log: Logger,
    private readonly on: CleartextEvents,
  ) {}

  get active(): boolean {
    return !this.switching;
  }

  start(): void {
    const { progOut, netOut } = this.fds;
    progOut.on('data', this.onProgData);
    progOut.on('end', this.onProgEnd);
    progOut.on('error', this.onProgEnd);
    netOut.on('drain', this.onNetDrain);
    this.control.control.on('data', this.onControl);
    this.control.control.on('end', this.onControlEnd);
    this.control.control.on('error', this.onControlEnd);
    progOut.resume();
    this.control.control.resume();
  }

  /**
   * Network bytes while in plaintext. They wait one turn of the event loop
   * (a command prog has already written is read first), or, when they came
   * after prog's latest output and look like a TLS handshake record, up to
   * TLS_LOOKALIKE_HOLD_MS.
   */
  fromNetwork(chunk: Buffer): void {
    this.on.touch();
    const held: Held = { chunk, outputsSeen: this.outputs, ready: false };
    this.held.push(held);
    this.heldBytes += chunk.length;
    if (this.heldBytes > HIGH_WATER) this.fds.netIn.pause();
    const release = () => {
      held.ready = true;
      this.writeToProg();
    };
    if (chunk[0] === 0x16 && chunk[1] === 0x03) setTimeout(release, TLS_LOOKALIKE_HOLD_MS).unref();
    else setImmediate(release);
  }

  networkEnd(): void {
    this.networkEnded = true;
    this.writeToProg();
  }

  // ---------------------------------------------------------------- net -> prog

  /**
   * Write held chunks to prog's stdin, in order, with non-blocking write(2)s
   * made here, never queued in libuv. A queued write cannot be taken back: if
   * the switch came while one waited for room in a full pipe, it would land
   * after prog had emptied its stdin following the acknowledgement, and the
   * client's pipelined bytes would reach prog as if they came over TLS. So
   * what does not fit stays held (the switch sorts it), and a full pipe is
   * tried again shortly: nothing tells us when prog reads.
   */
  private writeToProg(): void {
    if (this.retry || this.switching || this.progInEnded) return;
    for (;;) {
      const head = this.held[0];
      if (!head) {
        if (this.networkEnded) this.endProgIn();
        return;
      }
      if (!head.ready) return;
      let written: number;
      try {
        written = writeSync(NetprocFd.progIn, head.chunk);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'EAGAIN') {
          this.retry = setTimeout(() => {
            this.retry = null;
            this.writeToProg();
          }, PIPE_FULL_RETRY_MS);
          return;
        }
        // prog closed its stdin: what the client sends has nowhere to go.
        this.log.debug(`prog's stdin: ${(e as Error).message}`);
        this.progInEnded = true;
        this.fds.netIn.pause();
        return this.maybeFinished();
      }
      this.heldBytes -= written;
      if (written < head.chunk.length) head.chunk = head.chunk.subarray(written);
      else this.held.shift();
      if (this.heldBytes <= HIGH_WATER) this.fds.netIn.resume();
    }
  }

  private endProgIn(): void {
    this.progInEnded = true;
    this.fds.progIn.end();
    this.maybeFinished();
  }

  // ---------------------------------------------------------------- prog -> net

  private readonly onProgData = (chunk: Buffer) => {
    this.on.touch();
    this.outputs++;
    if (!this.fds.netOut.write(chunk)) this.fds.progOut.pause();
  };

  private readonly onNetDrain = () => {
    if (!this.switching) this.fds.progOut.resume();
  };

  private readonly onProgEnd = () => {
    if (this.switching || this.progOutEnded) return;
    this.progOutEnded = true;
    this.fds.netOut.end();
    this.maybeFinished();
  };

  private maybeFinished(): void {
    if (!this.switching && this.progInEnded && this.progOutEnded) this.on.finished();
  }

  // ---------------------------------------------------------------- control

  private readonly onControl = (chunk: Buffer) => {
    if (this.switching) return;
    if (this.finalReply) {
      this.collectFinalReply(chunk);
      return;
    }
    if (this.commandSeen || chunk.length === 0) return;
    this.commandSeen = true;
    const command = chunk[0];
    if (this.control.kind === 'ucspi') {
      if (command === StartTlsCommand.ucspiStart || command === StartTlsCommand.ucspiStartWithFacts) {
        return this.switchToTls(command === StartTlsCommand.ucspiStartWithFacts);
      }
      return this.on.fail(`prog sent UCSPI-TLS command 0x${command.toString(16).padStart(2, '0')} (not y or Y)`);
    }
    if (command === StartTlsCommand.start || command === StartTlsCommand.startWithFacts) {
      return this.switchToTls(command === StartTlsCommand.startWithFacts);
    }
    // Debian's older protocol: prog writes its final plaintext reply on fd 5 and closes it.
    this.finalReply = [];
    this.collectFinalReply(chunk);
  };

  private collectFinalReply(chunk: Buffer): void {
    const reply = this.finalReply as Buffer[];
    reply.push(chunk);
    if (reply.reduce((n, b) => n + b.length, 0) > MAX_FINAL_REPLY) this.on.fail(`prog's final reply on fd 5 is over ${MAX_FINAL_REPLY} bytes`);
  }

  private readonly onControlEnd = () => {
    if (this.switching) return;
    if (this.finalReply) return this.switchToTls(false);
    if (this.commandSeen) return;
    // EOF before any command: prog stays in plaintext; the ack/control descriptor has nothing more to say.
    this.log.debug('prog closed its control descriptor: the connection stays in plaintext');
    if (this.control.kind === 'n') this.control.ack.end();
    else this.control.control.end();
  };

  /**
   * Fix the boundary: drop the client's undelivered bytes, let prog's
   * last plaintext (already written when it sent the command) reach the
   * network, then hand over to TLS.
   */
  private switchToTls(facts: boolean): void {
    this.switching = true;
    if (this.retry) clearTimeout(this.retry);
    this.retry = null;
    const { progOut, netOut } = this.fds;
    this.control.control.pause();
    // prog wrote its last reply before the command: by the next turn of the
    // event loop every byte of it that was readable has been read (and sent).
    setImmediate(() => {
      // What prog writes from now on is for TLS (prog waits for the ack, or in
      // Debian's older protocol has said its last plaintext on fd 5).
      progOut.pause();
      progOut.removeListener('data', this.onProgData);
      progOut.removeListener('end', this.onProgEnd);
      progOut.removeListener('error', this.onProgEnd);
      netOut.removeListener('drain', this.onNetDrain);
      if (this.finalReply) {
        netOut.write(Buffer.concat(this.finalReply));
        this.outputs++;
      }
      // The boundary: prog's final reply has gone out. A client may send
      // nothing between its STARTTLS and that reply; what it sent before it
      // (pipelined) is dropped, what came after is TLS.
      this.fds.netIn.pause();
      const pipelined = this.held.filter((h) => h.outputsSeen < this.outputs);
      const early = this.held.filter((h) => h.outputsSeen >= this.outputs).map((h) => h.chunk);
      const dropped = pipelined.reduce((n, h) => n + h.chunk.length, 0);
      if (dropped > 0) this.log.debug(`dropped ${dropped} bytes the client pipelined before TLS`);
      this.held = [];
      this.heldBytes = 0;
      this.acknowledge({ facts, early });
    });
  }

  /** Tell prog (-n), end prog's plaintext descriptors (--ucspi-tls), and start TLS. */
  private acknowledge(request: SwitchRequest): void {
    if (this.control.kind === 'n') {
      // Debian's older protocol has no acknowledgement.
      if (!this.finalReply) this.control.ack.write(Uint8Array.of(0));
      if (!request.facts) this.control.ack.end();
    } else {
      // From now on prog uses SSLREADFD/SSLWRITEFD; its fds 0/1 end here.
      this.fds.progIn.end();
      this.fds.progOut.destroy();
    }
    this.on.startTls(request);
  }
}

/** Where the TLS phase's plaintext goes and comes from, and where the facts go. */
export function tlsPhasePipes(fds: NetprocFds): { toProg: Socket; fromProg: Socket; facts: Socket | null } {
  const c = fds.startTls;
  if (c?.kind === 'ucspi') return { toProg: c.tlsIn, fromProg: c.tlsOut, facts: c.control };
  return { toProg: fds.progIn, fromProg: fds.progOut, facts: c?.kind === 'n' ? c.ack : null };
}
