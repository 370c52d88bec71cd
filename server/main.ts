// tlswrapper-server: listens itself and, for each connection, is what the
// entry process is under a super-server, with one difference: the
// connection's netproc and keyproc were started, warmed and (netproc) jailed
// before the client came (server/spares.ts), so no Node start-up lies on the
// connection's path. One process set serves one connection, as before.
import { certSourceProblem } from '../src/certcheck';
import { resolve } from 'node:path';
import type { Server as NetServer, Socket } from 'node:net';
import { ensureJailDir, jailIdsForUser } from '../jail/jail';
import { EXIT_OK, EXIT_USAGE } from '../lib/exitcodes';
import { createLogger, errText, fatalExit, printable, type Logger } from '../lib/log';
import { lookupUser, type ProgUser } from '../lib/progrun';
import type { Children } from '../src/connection';
import { engineOrExit, jailSpecs, launch, type Engine } from '../src/launch';
import { ClientAuthState, readAnchorFile } from '../src/peer';
import { normaliseIp, REMOVED_WITH_PROXY, TCP_VARIABLES } from '../src/prog';
import { Supervisor, type Outcome } from '../src/supervisor';
import { Admission } from './admission';
import { listen } from './listener';
import { parseServerOptions, UsageError, USAGE, type ServerOptions } from './options';
import { SparePool, type StartSet } from './spares';

const PROGRAM = 'tlswrapper-server';
/** Sets tried for one connection before it is given up (each failure is a set that died as it was taken). */
const HANDOVER_ATTEMPTS = 3;

/**
 * What a super-server would have said about the connection means nothing
 * here (we may ourselves run under one): prog learns its addresses from the
 * socket.
 */
const SUPER_SERVER_VARIABLES = [...TCP_VARIABLES, ...REMOVED_WITH_PROXY, 'TCPLOCALHOST', 'TCPLOCALADDR', 'TCPCONCURRENCY'];

function configure(argv: string[]): { o: ServerOptions; log: Logger } {
  try {
    const o = parseServerOptions(argv);
    return { o, log: createLogger(o.tlswrapper.verbosity, undefined, PROGRAM) };
  } catch (e) {
    const log = createLogger(argv.includes('-q') ? 0 : 1, undefined, PROGRAM);
    if (!(e instanceof UsageError)) throw e;
    return fatalExit(log, `${e.message} (usage: ${USAGE})`, EXIT_USAGE);
  }
}

interface Prepared {
  engine: Engine;
  user?: ProgUser | undefined;
  clientAuth?: ClientAuthState | undefined;
}

/** Everything checked once, before the first process set starts. */
function prepare(o: ServerOptions, log: Logger): Prepared {
  const opts = o.tlswrapper;
  const engine = engineOrExit(opts, log);
  const badSource = certSourceProblem(opts.certs);
  if (badSource) fatalExit(log, badSource, EXIT_USAGE);
  try {
    if (process.getuid?.() !== 0) throw new Error('must run as root: each connection\'s processes are jailed (chroot, their own uid) and keyproc reads the keys');
    const clientAuth = opts.anchorFile ? new ClientAuthState(opts.anchorFile, readAnchorFile(opts.anchorFile)) : undefined;
    // Loaded now, not on the first connection's path.
    clientAuth?.load();
    ensureJailDir(resolve(opts.jailDir));
    // -j: checked now, so a typo stops the server, not every connection.
    if (opts.jailUser) jailIdsForUser(opts.jailUser);
    const user = opts.user ? lookupUser(opts.user) : undefined;
    for (const name of SUPER_SERVER_VARIABLES) delete process.env[name];
    return { engine, user, clientAuth };
  } catch (e) {
    return fatalExit(log, errText(e));
  }
}

/** A spare set: its own jail ids (random, or -j's), the rest as tlswrapper would start it, waiting for its connection. */
function startSet(o: ServerOptions, p: Prepared): StartSet {
  return (rehearse) => launch(o.tlswrapper, p.engine, jailSpecs(o.tlswrapper), p.clientAuth, { network: 'handoff', rehearse });
}

/** The one line a connection leaves at -v. */
function summary(peer: string, outcome: Outcome): string {
  const h = outcome.handshake;
  const tls = h ? `${h.serverName ? `sni=${printable(h.serverName)} ` : ''}${h.version} ${h.cipher} ${h.group}` : 'no handshake';
  return `${peer}: ${tls}, status ${outcome.status}`;
}

class Server {
  private readonly live = new Set<Supervisor>();
  private stopping = false;
  private serial = 0;
  private readonly admission: Admission;
  private readonly pool: SparePool;

  constructor(
    private readonly o: ServerOptions,
    private readonly p: Prepared,
    private readonly log: Logger,
  ) {
    this.admission = new Admission(o.maxConnections, o.maxPerIp, (socket, ip) => void this.run(socket, ip));
    this.pool = new SparePool(o.spares, startSet(o, p), log);
  }

  async start(): Promise<void> {
    this.pool.start();
    try {
      const { server, where } = await listen(this.o.host, this.o.port, (socket) => this.arrive(socket));
      this.listening = server;
      this.log.info(`listening on ${where}, ${this.o.spares} spare process sets, at most ${this.o.maxConnections} connections`);
    } catch (e) {
      this.pool.close();
      fatalExit(this.log, `unable to listen on ${this.o.host} ${this.o.port}: ${errText(e)}`);
    }
    this.handleSignals();
  }

  private listening: NetServer | undefined;
  /** -T counts from accept, however long a connection then waits for its place (-c) or a process set. */
  private readonly acceptedAt = new WeakMap<Socket, number>();

  private arrive(socket: Socket): void {
    this.acceptedAt.set(socket, Date.now());
    socket.on('error', () => {});
    if (this.stopping) {
      this.log.debug(`${socket.remoteAddress}: closed: the server is stopping`);
      socket.destroy();
      return;
    }
    const verdict = this.admission.arrive(socket);
    if (verdict === 'refuse-ip') this.log.warning(`${socket.remoteAddress}: too many connections from this address (-C ${this.o.maxPerIp})`);
    if (verdict === 'refuse-full') this.log.warning(`${socket.remoteAddress}: too many connections waiting`);
    if (verdict === 'refuse-ip' || verdict === 'refuse-full') socket.destroy();
  }

  private async run(socket: Socket, ip: string): Promise<void> {
    // An IPv4 client of a :: listener is shown as IPv4, as prog's TCPREMOTEIP shows it.
    const ip4or6 = normaliseIp(socket.remoteAddress) ?? '?';
    const peer = `${ip4or6.includes(':') ? `[${ip4or6}]` : ip4or6}:${socket.remotePort}`;
    const id = ++this.serial;
    const log = createLogger(this.o.tlswrapper.verbosity, `#${id}`, PROGRAM);
    const began = this.acceptedAt.get(socket) ?? Date.now();
    let children: Children;
    try {
      children = await this.handOver(socket, began, log, peer);
    } catch (e) {
      log.warning(`${peer}: unable to hand the connection to a process set: ${errText(e)}`);
      socket.destroy();
      this.admission.leave(ip);
      return this.maybeDone();
    }
    log.debug(`${peer}: connection handed to netproc ${children.netproc.pid}`);
    const supervisor = new Supervisor(this.o.tlswrapper, log, children, (outcome) => {
      this.live.delete(supervisor);
      log.info(summary(peer, outcome));
      this.admission.leave(ip);
      this.maybeDone();
    }, this.p.user, this.p.clientAuth, { reportHandshake: false, began, onHandshake: () => this.pool.refill() });
    this.live.add(supervisor);
    supervisor.start();
  }

  /**
   * A ready set's netproc gets the socket. A set whose netproc died just
   * before (its end not seen yet) fails to take it while the socket is still
   * ours: that set is ended and another one is tried.
   */
  private async handOver(socket: Socket, began: number, log: Logger, peer: string): Promise<Children> {
    for (let attempt = 1; ; attempt++) {
      const children = await this.pool.take();
      try {
        await SparePool.handOver(children, socket, began);
        return children;
      } catch (e) {
        SparePool.discard(children);
        // The client may have gone meanwhile.
        if (socket.destroyed || attempt >= HANDOVER_ATTEMPTS) throw e;
        log.debug(`${peer}: netproc ${children.netproc.pid} could not take the connection (${errText(e)}), trying another set`);
      }
    }
  }

  /** Stopping and nothing left running: done. */
  private maybeDone(): void {
    if (this.stopping && this.live.size === 0 && this.admission.counts.active === 0) {
      this.log.info('stopped');
      process.exit(EXIT_OK);
    }
  }

  private handleSignals(): void {
    for (const signal of ['SIGTERM', 'SIGINT'] as const) {
      process.on(signal, () => {
        if (!this.stopping) {
          this.stopping = true;
          this.log.info(`got ${signal}: no new connections; ${this.live.size} still running (a second signal ends them)`);
          this.listening?.close();
          this.pool.close();
          this.admission.dropWaiting();
          return this.maybeDone();
        }
        this.log.info(`got ${signal} again: ending ${this.live.size} connections`);
        for (const s of this.live) s.stop('SIGKILL');
      });
    }
    // Certificates need no reload: keyproc reads the PEM files for each connection.
    process.on('SIGHUP', () => this.log.info('got SIGHUP: nothing to reload (each connection reads its certificate afresh)'));
  }
}

function main(): void {
  const { o, log } = configure(process.argv.slice(2));
  const p = prepare(o, log);
  // A bug in one connection's handling must not end every other connection.
  process.on('uncaughtException', (e) => log.fatal(`internal error (the server goes on): ${errText(e)}`));
  void new Server(o, p, log).start();
}

main();

