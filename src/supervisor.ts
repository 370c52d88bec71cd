// One connection's supervision once its keyproc and netproc run: follow
// netproc's control messages, start prog when they say so, and wait for every
// child; then finish with prog's status (111 if prog never ran or did not
// exit normally). The entry exits with it; tlswrapper-server logs it.
//
// Without delayed encryption: HANDSHAKE_DONE starts prog. With it: CONNECTED
// starts prog at once, in plaintext, and HANDSHAKE_DONE comes when (if) prog
// asks for TLS.
import type { ChildProcess } from 'node:child_process';
import { EXIT_FAILURE } from '../lib/exitcodes';
import { errText, type Logger } from '../lib/log';
import { lookupUser, type ProgUser } from '../lib/progrun';
import type { PeerIdentity } from '../peercert';
import { CtlMsg, decodeConnected, decodeHandshakeDone, MAX_CTL_FRAME, type ConnectionReport, type HandshakeReport } from '../wire/ctl';
import { FrameReader, type Frame } from '../wire/frame';
import { START_TLS_FDS } from '../wire/starttls';
import type { Children } from './connection';
import type { Options } from './options';
import { checkReportedChain, userFromCertificate, type ClientAuthState } from './peer';
import { progEnvironment, startProg } from './prog';

type ExitHandler = (code: number | null, signal: NodeJS.Signals | null) => void;

/** What the connection came to, for whoever started it. */
export interface Outcome {
  status: number;
  /** The handshake's facts, when there was one. */
  handshake: HandshakeReport | null;
}

/** The client's identity (with -a) and the user prog runs as (-u, or -U from that identity). Throws with the reason. */
function whoIsThere(opts: Options, info: HandshakeReport, user: ProgUser | undefined, clientAuth: ClientAuthState | undefined): { identity: PeerIdentity | null; user?: ProgUser | undefined } {
  if (!clientAuth) {
    if (info.peerCertificates) throw new Error('netproc reported a client certificate nobody asked for');
    return { identity: null, user };
  }
  const identity = checkReportedChain(clientAuth, info.peerCertificates);
  if (!opts.userFrom) return { identity, user };
  return { identity, user: lookupUser(userFromCertificate(identity, opts.userFrom)) };
}

/** After -T the entry gives netproc this long to end the connection itself (with its own log line) before it kills it. */
const BACKSTOP_GRACE_MS = 500;

export interface SupervisorOptions {
  /** false: the caller logs the outcome's handshake itself (one line per connection). */
  reportHandshake: boolean;
  /** When the connection began (the entry's start, the server's accept), ms since the epoch: -T counts from it. */
  began: number;
  /** Called once the handshake is done, after prog was started (or refused). */
  onHandshake?: () => void;
}

export class Supervisor {
  private prog: ChildProcess | undefined;
  private status = EXIT_FAILURE; // until prog has run and exited
  private readonly running = new Set<ChildProcess>();
  private readonly delayed: boolean;
  private handshakeSeen = false;
  private handshakeDeadline: NodeJS.Timeout | undefined;
  private handshake: HandshakeReport | null = null;
  /** netproc or keyproc was killed by a signal: the connection failed, whatever prog says. */
  private ownFailure = false;
  /** We are ending the children ourselves: their deaths by our signal are no news. */
  private killing = false;

  constructor(
    private readonly opts: Options,
    private readonly log: Logger,
    private readonly c: Children,
    private readonly finish: (outcome: Outcome) => void,
    private readonly user: ProgUser | undefined,
    private readonly clientAuth: ClientAuthState | undefined,
    private readonly options: SupervisorOptions,
  ) {
    this.delayed = opts.startTls !== 'no';
  }

  /** The exit status so far: prog's once it exited, 111 until then, and 111 if one of our own processes was killed. */
  get exitStatus(): number {
    return this.ownFailure ? EXIT_FAILURE : this.status;
  }

  start(): void {
    // Belt and braces: netproc enforces -T itself, from the same moment; this
    // catches a netproc that hangs, or that has not even started by then.
    const deadline = this.options.began + this.opts.handshakeTimeout * 1000 + BACKSTOP_GRACE_MS;
    this.handshakeDeadline = setTimeout(() => {
      this.log.info('handshake timeout');
      this.killAll('SIGKILL');
    }, Math.max(0, deadline - Date.now()));
    this.watchChildren();
    this.readControl();
    this.loadAnchorsSoon();
  }

  /** Asked to stop (a signal to the entry, a server's second SIGTERM): every process of the connection ends. */
  stop(signal: NodeJS.Signals = 'SIGTERM'): void {
    this.killAll(signal);
  }

  private watchChildren(): void {
    const c = this.c;
    // netproc's last control message may still be in flight when its exit is seen.
    // (A server's set may reach us with it closed already: its netproc died as the set was taken.)
    const ctlClosed = c.ctl.closed ? Promise.resolve() : new Promise<void>((resolve) => c.ctl.on('close', () => resolve()));
    this.watch(c.keyproc, 'keyproc', (_code, signal) => this.onOwnExit('keyproc', signal), c.logsDone);
    this.watch(c.netproc, 'netproc', (_code, signal) => {
      this.onOwnExit('netproc', signal);
      this.onNetprocExit();
    }, Promise.all([ctlClosed, c.logsDone]).then(() => {}));
  }

  // 'exit', not 'close': 'close' also waits for every pipe the child was
  // started with, and the entry holds prog's pipes without reading them.
  private watch(child: ChildProcess, name: string, onExit?: ExitHandler, alsoWaitFor: Promise<void> = Promise.resolve()): void {
    this.running.add(child);
    child.on('error', (e) => {
      this.log.fatal(`unable to run ${name}: ${e.message}`);
      if (child.pid === undefined) {
        // Never started, so no 'exit' will come; the connection has no point left.
        this.killAll();
        child.emit('exit', null, null);
      }
    });
    child.on('exit', (code, signal) => {
      void alsoWaitFor.then(() => {
        this.running.delete(child);
        this.log.debug(`${name} exited with ${signal ? `signal ${signal}` : `status ${code}`}`);
        onExit?.(code, signal);
        this.finishWhenIdle();
      });
    });
    // Node reports an exit once, to the listeners there were then: a child of
    // a server's spare set can die while the set is handed its connection,
    // before this listener exists. Without this the connection would never
    // finish (and hold its -c place for good).
    if (child.exitCode !== null || child.signalCode !== null) setImmediate(() => child.emit('exit', child.exitCode, child.signalCode));
  }

  private finishWhenIdle(): void {
    if (this.running.size === 0) this.finish({ status: this.exitStatus, handshake: this.handshake });
  }

  private killAll(signal: NodeJS.Signals = 'SIGTERM'): void {
    this.killing = true;
    for (const child of this.running) child.kill(signal);
  }

  /**
   * One of our own processes ended. Killed by a signal we did not send (kill
   * -9, a crash): the connection failed, exit 111 whatever prog returns, and
   * one line at the default verbosity says so. A non-zero status is the
   * process's own verdict on the connection (a handshake that failed, a
   * timeout), logged by it; prog's status still stands when prog ran (as
   * delayed encryption documents).
   */
  private onOwnExit(name: string, signal: NodeJS.Signals | null): void {
    if (!signal) return;
    this.ownFailure = true;
    if (!this.killing) this.log.fatal(`${name} was killed by signal ${signal}`);
  }

  /** prog will not run: the entry lets go of its pipes. */
  private closeProgPipes(): void {
    this.c.progIn.destroy();
    this.c.progOut.destroy();
  }

  private onNetprocExit(): void {
    if (this.prog) return;
    // No handshake, no prog: nothing else should live on.
    clearTimeout(this.handshakeDeadline);
    this.killAll();
    this.closeProgPipes();
  }

  private readControl(): void {
    const frames = new FrameReader(MAX_CTL_FRAME);
    this.c.ctl.on('data', (chunk: Buffer) => {
      try {
        for (const frame of frames.push(chunk)) this.onFrame(frame);
      } catch (e) {
        this.log.fatal(`netproc broke the control protocol: ${errText(e)}`);
        this.killAll('SIGKILL');
      }
    });
    this.c.ctl.on('error', () => {});
  }

  /** A control message from netproc; throws on one the protocol does not allow here. */
  private onFrame(frame: Frame): void {
    if (frame.type === CtlMsg.CONNECTED && this.delayed && !this.prog) return this.onConnected(decodeConnected(frame.payload));
    if (frame.type !== CtlMsg.HANDSHAKE_DONE || this.handshakeSeen || (this.prog !== undefined) !== this.delayed) throw new Error(`unexpected control message ${frame.type}`);
    this.handshakeSeen = true;
    this.onHandshakeDone(decodeHandshakeDone(frame.payload));
  }

  /** Delayed encryption: prog starts before TLS. */
  private onConnected(report: ConnectionReport): void {
    // netproc times the handshake from the moment prog asks for it.
    clearTimeout(this.handshakeDeadline);
    this.log.debug('connected: prog starts before TLS');
    this.startProg({ ...progEnvironment(process.env, report, this.user), ...START_TLS_FDS[this.opts.startTls].env }, this.user);
  }

  private onHandshakeDone(info: HandshakeReport): void {
    try {
      this.afterHandshake(info);
    } finally {
      // After prog: the client's first bytes need prog more than anything else needs the CPU.
      this.options.onHandshake?.();
    }
  }

  private afterHandshake(info: HandshakeReport): void {
    clearTimeout(this.handshakeDeadline);
    this.handshake = info;
    const done = `handshake done: ${info.version} ${info.cipher} ${info.group}${info.serverName ? ` sni=${info.serverName}` : ''}`;
    if (this.options.reportHandshake) this.log.info(done);
    else this.log.debug(done);
    let who: ReturnType<typeof whoIsThere>;
    try {
      who = whoIsThere(this.opts, info, this.user, this.clientAuth);
    } catch (e) {
      this.log.fatal(errText(e));
      // prog running already (delayed encryption): it must not go on with this connection.
      if (this.delayed) return this.killAll('SIGKILL');
      // No prog: closing its pipes lets netproc end the TLS connection cleanly.
      this.closeProgPipes();
      return;
    }
    if (who.identity) this.log.info(`client certificate: ${who.identity.subject} SHA256:${who.identity.sha256}${who.user && this.opts.userFrom ? ` user=${who.user.name}` : ''}`);
    if (!this.delayed) this.startProg(progEnvironment(process.env, info, who.user, who.identity), who.user);
  }

  private startProg(env: NodeJS.ProcessEnv, as?: ProgUser): void {
    const c = this.c;
    const prog = startProg(this.opts.prog, [c.progIn, c.progOut, ...c.progControl], env, as);
    this.prog = prog;
    for (const s of [c.progIn, c.progOut, ...c.progControl]) s.destroy();
    this.watch(prog, 'prog', (code, signal) => {
      if (signal) this.log.fatal(`child process killed by signal ${signal}`);
      this.status = signal || code === null ? EXIT_FAILURE : code;
    });
  }

  /** -a: parse the anchors while netproc and keyproc start (the checks wait for it anyway). */
  private loadAnchorsSoon(): void {
    const clientAuth = this.clientAuth;
    if (!clientAuth) return;
    setImmediate(() => {
      try {
        clientAuth.load();
      } catch (e) {
        this.log.fatal(errText(e));
        this.killAll('SIGKILL');
      }
    });
  }
}
