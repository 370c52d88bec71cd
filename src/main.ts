// The entry process: parse options, start keyproc and netproc, start prog once
// netproc reports a finished handshake, then wait for all of them and exit
// with prog's status. It never reads a private key and parses no network bytes
// but, with -a, the client chain netproc reports (checked again, src/peer.ts).
import type { ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';
import { engineConfig } from './algorithms';
import type { JailSpec } from '../jail/jail';
import { startChildren } from './connection';
import { inheritedFd } from '../lib/inheritedfds';
import { EXIT_FAILURE, EXIT_USAGE } from '../lib/exitcodes';
import { createLogger, errText, type Logger } from '../lib/log';
import { parseOptions, UsageError, USAGE, type Options } from './options';
import { checkReportedChain, ClientAuthState, readAnchorFile, userFromCertificate } from './peer';
import { lookupUser, type ProgUser } from '../lib/progrun';
import { progEnvironment, startProg } from './prog';
import { CtlMsg, decodeConnected, decodeHandshakeDone, encodeAnchors, MAX_CTL_FRAME, type HandshakeReport } from '../wire/ctl';
import { encodeFrame, FrameReader, type Frame } from '../wire/frame';
import { PROG_ACK_FD, PROG_CONTROL_FD, START_TLS_FDS } from '../wire/starttls';
import type { PeerIdentity } from '../peercert';
import { ensureJailDir, jailIdsForUser, randomJailIds } from '../jail/jail';

function configure(argv: string[]): { opts: Options; log: Logger } {
  try {
    const opts = parseOptions(argv);
    return { opts, log: createLogger(opts.verbosity) };
  } catch (e) {
    const log = createLogger(argv.includes('-q') ? 0 : 1);
    if (!(e instanceof UsageError)) throw e;
    log.fatal(`${e.message} (usage: ${USAGE})`);
    process.exit(EXIT_USAGE);
  }
}

function main(): void {
  const { opts, log } = configure(process.argv.slice(2));
  const die = (code: number, message: string): never => {
    log.fatal(message);
    process.exit(code);
  };

  let engine;
  try {
    engine = engineConfig(opts);
  } catch (e) {
    if (e instanceof UsageError) die(EXIT_USAGE, e.message);
    throw e;
  }

  let jails: JailSpec[];
  let user: ProgUser | undefined;
  let clientAuth: ClientAuthState | undefined;
  try {
    // The anchors first: a bad -a file stops everything before any process starts.
    if (opts.anchorFile) clientAuth = new ClientAuthState(opts.anchorFile, readAnchorFile(opts.anchorFile));
    ensureJailDir(resolve(opts.jailDir));
    const ids = opts.jailUser ? [jailIdsForUser(opts.jailUser), jailIdsForUser(opts.jailUser)] : randomJailIds(2);
    jails = ids.map((id) => ({ ...id, dir: resolve(opts.jailDir) }));
    if (opts.user) user = lookupUser(opts.user);
    if (opts.startTls === 'n') refuseOpenControlFds();
  } catch (e) {
    return die(EXIT_FAILURE, errText(e));
  }

  const children = startChildren(
    { certs: opts.certs, jail: jails[0], verbosity: opts.verbosity },
    {
      engine,
      jail: jails[1],
      verbosity: opts.verbosity,
      handshakeTimeout: opts.handshakeTimeout,
      timeout: opts.timeout,
      proxyVersion: opts.proxyVersion,
      clientAuth: clientAuth !== undefined,
      startTls: opts.startTls,
    },
  );
  // netproc waits for them before it jails itself.
  if (clientAuth) children.ctl.write(encodeFrame(CtlMsg.ANCHORS, encodeAnchors(clientAuth.ders), MAX_CTL_FRAME));
  supervise(opts, log, children, user, clientAuth);
}

/**
 * -n: prog takes fds 5 and 6 for tlswrapper's control pipes; if we inherited
 * them open, something else (an outer tlswrapper -n) owns them. tlswrapper
 * refuses the same way.
 */
function refuseOpenControlFds(): void {
  for (const fd of [PROG_CONTROL_FD, PROG_ACK_FD]) {
    if (inheritedFd(fd)) throw new Error(`unable to create the control pipe on fd ${fd}: fd ${fd} is already open`);
  }
}

/** The client's identity (with -a) and the user prog runs as (-u, or -U from that identity). Throws with the reason. */
function whoIsThere(opts: Options, info: HandshakeReport, user: ProgUser | undefined, clientAuth: ClientAuthState | undefined): { identity: PeerIdentity | null; user?: ProgUser } {
  if (!clientAuth) {
    if (info.peerCertificates) throw new Error('netproc reported a client certificate nobody asked for');
    return { identity: null, user };
  }
  const identity = checkReportedChain(clientAuth, info.peerCertificates);
  if (!opts.userFrom) return { identity, user };
  return { identity, user: lookupUser(userFromCertificate(identity, opts.userFrom)) };
}

function supervise(opts: Options, log: Logger, c: ReturnType<typeof startChildren>, user?: ProgUser, clientAuth?: ClientAuthState): void {
  let prog: ChildProcess | undefined;
  let status = EXIT_FAILURE; // until prog has run and exited
  const running = new Set<ChildProcess>();

  const finishWhenIdle = () => {
    if (running.size === 0) process.exit(status);
  };
  // 'exit', not 'close': 'close' also waits for every pipe the child was
  // started with, and the entry holds prog's pipes without reading them.
  const watch = (
    child: ChildProcess,
    name: string,
    onExit?: (code: number | null, signal: NodeJS.Signals | null) => void,
    alsoWaitFor: Promise<void> = Promise.resolve(),
  ) => {
    running.add(child);
    child.on('error', (e) => {
      log.fatal(`unable to run ${name}: ${e.message}`);
      if (child.pid === undefined) {
        // Never started, so no 'exit' will come; the connection has no point left.
        killAll();
        child.emit('exit', null, null);
      }
    });
    child.on('exit', (code, signal) => {
      void alsoWaitFor.then(() => {
        running.delete(child);
        log.debug(`${name} exited with ${signal ? `signal ${signal}` : `status ${code}`}`);
        onExit?.(code, signal);
        finishWhenIdle();
      });
    });
  };
  function killAll(signal: NodeJS.Signals = 'SIGTERM') {
    for (const child of running) child.kill(signal);
  }
  // Should the loop ever run dry with the status unset, exit with it, never a silent 0.
  process.on('beforeExit', () => process.exit(status));

  // Belt and braces: netproc enforces -T itself; this catches a netproc that hangs.
  const handshakeDeadline = setTimeout(() => {
    log.debug('handshake timeout');
    killAll('SIGKILL');
  }, (opts.handshakeTimeout + 2) * 1000);

  // netproc's last control message may still be in flight when its exit is seen.
  const ctlClosed = new Promise<void>((resolve) => c.ctl.on('close', () => resolve()));
  watch(c.keyproc, 'keyproc', undefined, c.logsDone);
  watch(c.netproc, 'netproc', () => {
    if (!prog) {
      // No handshake, no prog: nothing else should live on.
      clearTimeout(handshakeDeadline);
      killAll();
      c.progIn.destroy();
      c.progOut.destroy();
    }
  }, Promise.all([ctlClosed, c.logsDone]).then(() => {}));

  const runProg = (env: NodeJS.ProcessEnv, as?: ProgUser) => {
    prog = startProg(opts.prog, [c.progIn, c.progOut, ...c.progControl], env, as);
    for (const s of [c.progIn, c.progOut, ...c.progControl]) s.destroy();
    watch(prog, 'prog', (code, signal) => {
      if (signal) log.fatal(`child process killed by signal ${signal}`);
      status = signal || code === null ? EXIT_FAILURE : code;
    });
  };
  const delayed = opts.startTls !== 'no';
  let handshakeSeen = false;

  // Without delayed encryption: HANDSHAKE_DONE starts prog. With it: CONNECTED
  // starts prog at once, in plaintext, and HANDSHAKE_DONE comes when (if) prog
  // asks for TLS.
  const onFrame = (frame: Frame) => {
    if (frame.type === CtlMsg.CONNECTED && delayed && !prog) {
      const report = decodeConnected(frame.payload);
      // netproc times the handshake from the moment prog asks for it.
      clearTimeout(handshakeDeadline);
      log.debug('connected: prog starts before TLS');
      return runProg({ ...progEnvironment(process.env, report, user), ...START_TLS_FDS[opts.startTls].env }, user);
    }
    if (frame.type !== CtlMsg.HANDSHAKE_DONE || handshakeSeen || (prog !== undefined) !== delayed) throw new Error(`unexpected control message ${frame.type}`);
    handshakeSeen = true;
    const info = decodeHandshakeDone(frame.payload);
    clearTimeout(handshakeDeadline);
    log.info(`handshake done: ${info.version} ${info.cipher} ${info.group}${info.serverName ? ` sni=${info.serverName}` : ''}`);
    let who: ReturnType<typeof whoIsThere>;
    try {
      who = whoIsThere(opts, info, user, clientAuth);
    } catch (e) {
      log.fatal(errText(e));
      // prog running already (delayed encryption): it must not go on with this connection.
      if (delayed) return killAll('SIGKILL');
      // No prog: closing its pipes lets netproc end the TLS connection cleanly.
      c.progIn.destroy();
      c.progOut.destroy();
      return;
    }
    if (who.identity) log.info(`client certificate: ${who.identity.subject} SHA256:${who.identity.sha256}${who.user && opts.userFrom ? ` user=${who.user.name}` : ''}`);
    if (!delayed) runProg(progEnvironment(process.env, info, who.user, who.identity), who.user);
  };

  const frames = new FrameReader(MAX_CTL_FRAME);
  c.ctl.on('data', (chunk: Buffer) => {
    try {
      for (const frame of frames.push(chunk)) onFrame(frame);
    } catch (e) {
      log.fatal(`netproc broke the control protocol: ${errText(e)}`);
      killAll('SIGKILL');
    }
  });
  c.ctl.on('error', () => {});

  // -a: parse the anchors while netproc and keyproc start (the checks wait for it anyway).
  if (clientAuth) {
    setImmediate(() => {
      try {
        clientAuth.load();
      } catch (e) {
        log.fatal(errText(e));
        killAll('SIGKILL');
      }
    });
  }

  for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) {
    process.on(signal, () => {
      log.debug(`got ${signal}`);
      killAll();
    });
  }
}

main();
