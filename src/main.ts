// The entry process: parse options, start keyproc and netproc, start prog once
// netproc reports a finished handshake, then wait for all of them and exit
// with prog's status. It never reads a private key and parses no network bytes
// but, with -a, the client chain netproc reports (checked again, src/peer.ts).
import { resolve } from 'node:path';
import { ensureJailDir, type JailSpec } from '../jail/jail';
import { engineOrExit, jailSpecs, launch } from './launch';
import { inheritedFd } from '../lib/inheritedfds';
import { fstatSync } from 'node:fs';
import { isatty } from 'node:tty';
import { EXIT_FAILURE, EXIT_USAGE } from '../lib/exitcodes';
import { createLogger, errText, fatalExit, type Logger } from '../lib/log';
import { parseOptions, UsageError, USAGE, type Options } from './options';
import { ClientAuthState, readAnchorFile } from './peer';
import { lookupUser, type ProgUser } from '../lib/progrun';
import { PROG_ACK_FD, PROG_CONTROL_FD } from '../wire/starttls';
import { Supervisor } from './supervisor';
import { certSourceProblem } from './certcheck';

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
    const jails = jailSpecs(opts);
    const user = opts.user ? lookupUser(opts.user) : undefined;
    if (opts.startTls === 'n') refuseOpenControlFds();
    return { jails, user, clientAuth };
  } catch (e) {
    return fatalExit(log, errText(e));
  }
}

function main(): void {
  const { opts, log } = configure(process.argv.slice(2));
  const badSource = certSourceProblem(opts.certs);
  if (badSource) fatalExit(log, badSource, EXIT_USAGE);
  const misuse = misuseProblem();
  if (misuse) fatalExit(log, misuse.message, misuse.status);
  const engine = engineOrExit(opts, log);
  const prepared = prepare(opts, log);
  // The super-server accepted the connection just before it started us: -T counts from our start.
  const began = Math.floor(performance.timeOrigin);
  const children = launch(opts, engine, prepared.jails, prepared.clientAuth, { network: 'fds', began });
  const supervisor = new Supervisor(opts, log, children, ({ status }) => process.exit(status), prepared.user, prepared.clientAuth, { reportHandshake: true, began });
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
 * Run by hand, tlswrapper would otherwise fail deep inside a child with
 * words only its author knows: say what it needs instead. The connection
 * must be a socket (or a pipe) on fds 0 and 1, and only root can jail.
 */
function misuseProblem(): { message: string; status: number } | null {
  for (const fd of [0, 1]) {
    let kind = 'closed';
    try {
      const st = fstatSync(fd);
      if (st.isSocket() || st.isFIFO()) continue;
      kind = isatty(fd) ? 'a terminal' : st.isFile() ? 'a regular file' : st.isCharacterDevice() || st.isBlockDevice() ? 'a device' : 'a directory';
    } catch {
      // closed
    }
    return {
      message: `fd ${fd} is ${kind}, not the client's connection: tlswrapper is run by a super-server (tcpserver, busybox tcpsvd, inetd, systemd Accept=yes) with the client's socket on fds 0 and 1`,
      status: EXIT_USAGE,
    };
  }
  if (process.getuid?.() !== 0) {
    return { message: 'unable to create jail (not root: the network and key processes chroot to the jail directory and take their own uid, which needs root)', status: EXIT_FAILURE };
  }
  return null;
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

// Run by dist/entry.js, which loads this bundle with its code cache (build.mjs).
export { main };
// For the build, which makes netproc's code cache under netproc's flags.
export { NODE_FLAGS } from './connection';
