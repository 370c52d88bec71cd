// The entry process: parse options, start keyproc and netproc, start prog once
// netproc reports a finished handshake, then wait for all of them and exit
// with prog's status. It never reads a private key and parses no network bytes
// but, with -a, the client chain netproc reports (checked again, src/peer.ts).
import { resolve } from 'node:path';
import { engineConfig } from './algorithms';
import { ensureJailDir, jailIdsForUser, randomJailIds, type JailSpec } from '../jail/jail';
import { startChildren, type Children } from './connection';
import { inheritedFd } from '../lib/inheritedfds';
import { EXIT_USAGE } from '../lib/exitcodes';
import { createLogger, errText, fatalExit, type Logger } from '../lib/log';
import { parseOptions, UsageError, USAGE, type Options } from './options';
import { ClientAuthState, readAnchorFile } from './peer';
import { lookupUser, type ProgUser } from '../lib/progrun';
import { CtlMsg, encodeAnchors, MAX_CTL_FRAME } from '../wire/ctl';
import { encodeFrame } from '../wire/frame';
import { PROG_ACK_FD, PROG_CONTROL_FD } from '../wire/starttls';
import { Supervisor } from './supervisor';

function configure(argv: string[]): { opts: Options; log: Logger } {
  try {
    const opts = parseOptions(argv);
    return { opts, log: createLogger(opts.verbosity) };
  } catch (e) {
    const log = createLogger(argv.includes('-q') ? 0 : 1);
    if (!(e instanceof UsageError)) throw e;
    return fatalExit(log, `${e.message} (usage: ${USAGE})`, EXIT_USAGE);
  }
}

/** The TLS settings netproc gets; a usage error for a bad combination of options. */
function engineOrExit(opts: Options, log: Logger): ReturnType<typeof engineConfig> {
  try {
    return engineConfig(opts);
  } catch (e) {
    if (e instanceof UsageError) fatalExit(log, e.message, EXIT_USAGE);
    throw e;
  }
}

interface Prepared {
  /** keyproc's, then netproc's. */
  jails: JailSpec[];
  user?: ProgUser | undefined;
  clientAuth?: ClientAuthState | undefined;
}

/** What is checked and decided before any process starts; any failure ends us here. */
function prepare(opts: Options, log: Logger): Prepared {
  try {
    // The anchors first: a bad -a file stops everything before any process starts.
    const clientAuth = opts.anchorFile ? new ClientAuthState(opts.anchorFile, readAnchorFile(opts.anchorFile)) : undefined;
    ensureJailDir(resolve(opts.jailDir));
    const ids = opts.jailUser ? [jailIdsForUser(opts.jailUser), jailIdsForUser(opts.jailUser)] : randomJailIds(2);
    const jails = ids.map((id) => ({ ...id, dir: resolve(opts.jailDir) }));
    const user = opts.user ? lookupUser(opts.user) : undefined;
    if (opts.startTls === 'n') refuseOpenControlFds();
    return { jails, user, clientAuth };
  } catch (e) {
    return fatalExit(log, errText(e));
  }
}

/** keyproc and netproc, and (-a) the anchors to netproc, which waits for them before it jails itself. */
function launch(opts: Options, engine: ReturnType<typeof engineConfig>, { jails, clientAuth }: Prepared): Children {
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
      network: 'fds',
    },
  );
  if (clientAuth) children.ctl.write(encodeFrame(CtlMsg.ANCHORS, encodeAnchors(clientAuth.ders), MAX_CTL_FRAME));
  return children;
}

function main(): void {
  const { opts, log } = configure(process.argv.slice(2));
  const engine = engineOrExit(opts, log);
  const prepared = prepare(opts, log);
  const children = launch(opts, engine, prepared);
  const supervisor = new Supervisor(opts, log, children, ({ status }) => process.exit(status), prepared.user, prepared.clientAuth);
  supervisor.start();
  // Should the loop ever run dry with the status unset, exit with it, never a silent 0.
  process.on('beforeExit', () => process.exit(supervisor.exitStatus));
  for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) {
    process.on(signal, () => {
      log.debug(`got ${signal}`);
      supervisor.stop();
    });
  }
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

main();
