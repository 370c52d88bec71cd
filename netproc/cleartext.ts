// Delayed encryption, the plaintext phase (src/starttls.ts has the protocols):
// bytes pass between the client and prog unencrypted until prog asks for TLS
// on its control descriptor. At that moment the boundary is fixed: what prog
// wrote before the command goes out in plaintext, and what the client sent
// that prog has not been given yet is dropped (a client may not send anything
// after its STARTTLS before the TLS handshake; bytes it pipelined anyway must
// never reach prog as if they had come over TLS: the CVE-2011-0411 class).
import type { Socket } from 'node:net';
import type { Logger } from '../src/log';
import { StartTlsCommand } from '../src/starttls';
import type { NetprocFds, StartTlsFds } from './fds';

/** What prog asked for. */
export interface SwitchRequest {
  /** Send the TLS facts (VAR=value\0...\0\0) on the control/ack descriptor after the handshake. */
  facts: boolean;
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
/** Debian's older -n protocol: the final reply on fd 5 is one line, not a stream. */
const MAX_FINAL_REPLY = 4096;

export class Cleartext {
  /** Network bytes not yet handed to prog: dropped when TLS starts. */
  private toProg: Buffer[] = [];
  private toProgBytes = 0;
  private writing = false;
  /** Called once the write in flight (if any) has reached prog's pipe. */
  private afterWrite: (() => void) | null = null;
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

  /** Network bytes while in plaintext (and, once the switch is decided, pipelined bytes to drop). */
  fromNetwork(chunk: Buffer): void {
    if (this.switching) {
      this.log.debug(`dropped ${chunk.length} bytes the client sent before TLS started`);
      return;
    }
    this.on.touch();
    this.toProg.push(chunk);
    this.toProgBytes += chunk.length;
    if (this.toProgBytes > HIGH_WATER) this.fds.netIn.pause();
    this.writeToProg();
  }

  networkEnd(): void {
    this.networkEnded = true;
    this.writeToProg();
  }

  // ---------------------------------------------------------------- net -> prog

  /** One write in flight: the rest stays here, where the switch can still drop it. */
  private writeToProg(): void {
    if (this.writing || this.switching || this.progInEnded) return;
    const chunk = this.toProg.shift();
    if (!chunk) {
      if (this.networkEnded) this.endProgIn();
      return;
    }
    this.toProgBytes -= chunk.length;
    if (this.toProgBytes <= HIGH_WATER) this.fds.netIn.resume();
    this.writing = true;
    this.fds.progIn.write(chunk, (e) => {
      this.writing = false;
      const after = this.afterWrite;
      this.afterWrite = null;
      if (after) return after();
      if (e) {
        // prog closed its stdin: what the client sends has nowhere to go.
        this.log.debug(`prog's stdin: ${e.message}`);
        this.progInEnded = true;
        this.fds.netIn.pause();
        return this.maybeFinished();
      }
      this.writeToProg();
    });
  }

  private endProgIn(): void {
    this.progInEnded = true;
    this.fds.progIn.end();
    this.maybeFinished();
  }

  // ---------------------------------------------------------------- prog -> net

  private readonly onProgData = (chunk: Buffer) => {
    this.on.touch();
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
        return this.switchToTls({ facts: command === StartTlsCommand.ucspiStartWithFacts });
      }
      return this.on.fail(`prog sent UCSPI-TLS command 0x${command.toString(16).padStart(2, '0')} (not y or Y)`);
    }
    if (command === StartTlsCommand.start || command === StartTlsCommand.startWithFacts) {
      return this.switchToTls({ facts: command === StartTlsCommand.startWithFacts });
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
    if (this.finalReply) return this.switchToTls({ facts: false });
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
  private switchToTls(request: SwitchRequest): void {
    this.switching = true;
    const { netIn, progOut, netOut } = this.fds;
    netIn.pause();
    if (this.toProgBytes > 0) this.log.debug(`dropped ${this.toProgBytes} bytes the client pipelined before TLS`);
    this.toProg = [];
    this.toProgBytes = 0;
    this.control.control.pause();
    // prog wrote its last reply before the command: by the next turn of the
    // event loop every byte of it that was readable has been read. And the
    // acknowledgement must not overtake a plaintext write still in flight:
    // prog drains its stdin after the ack, so all plaintext must be there.
    const whenWritten = (then: () => void) => (this.writing ? (this.afterWrite = then) : then());
    setImmediate(() => {
      // What prog writes from now on is for TLS (prog waits for the ack, or in
      // Debian's older protocol has said its last plaintext on fd 5).
      progOut.pause();
      progOut.removeListener('data', this.onProgData);
      progOut.removeListener('end', this.onProgEnd);
      progOut.removeListener('error', this.onProgEnd);
      netOut.removeListener('drain', this.onNetDrain);
      if (this.finalReply) netOut.write(Buffer.concat(this.finalReply));
      whenWritten(() => this.acknowledge(request));
    });
  }

  /** Every plaintext byte for prog is in its pipe: tell prog, and start TLS. */
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
