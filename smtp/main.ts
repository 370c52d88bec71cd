// tlswrapper-smtp [options] prog: STARTTLS for an inetd-style SMTP server
// (prog) that knows nothing of TLS, run as the prog of `tlswrapper -n`:
//
//   tcpserver 0 25 tlswrapper -n -f cert.pem tlswrapper-smtp -u smtpd prog
//
// Order of events:
//   1. fds 5 and 6: STARTTLS is possible only if both were inherited
//      (tlswrapper -n's control and acknowledgement pipes, wire/starttls.ts)
//   2. options; -u's user looked up; as root: the jail dir and ids decided
//   3. warm up what the jail forbids; wrap fds 0, 1 and 6 (paused)
//   4. start prog on two pipes, as -u's user if given, with fds 5 and 6
//      closed; with STARTTLS, also the spawner of the instance for TLS (a
//      shell, as -u's user, that waits on its stdin for the TLS facts and
//      only then execs prog with them in its environment; see spawner.ts)
//   5. jail (root: chroot + random or -j ids + rlimits 0; not root: rlimits
//      only), before a byte is read from the client
//   6. SMTP, one command at a time: prog's greeting, then each client line to
//      prog and prog's reply back; EHLO replies gain STARTTLS, STARTTLS is
//      ours (prog never sees it): its 220 goes to the client, then 0x01 on
//      fd 5; the ack and the facts come on fd 6 while stdin is dropped (the
//      plaintext the client pipelined), up to its EOF. The pre-TLS instance
//      gets QUIT; the spawner gets the facts and becomes prog; its banner is
//      swallowed, and the client's EHLO over TLS goes to it. DATA's body goes
//      through untouched.
//
// Why a spawner: the jail (NPROC 0, chroot) allows no new process, and the
// jail comes before any client byte is read. Deferring the jail until after
// TLS would leave this process, root, parsing a plaintext session unjailed
// for as long as the client likes. So both processes exist before the jail;
// the second runs no code of prog until it has the facts, and reads nothing
// but the facts we write (its stdin is our pipe, not the client).
// Exit: prog's exit status; 111 on a timeout, a broken pipe or a signal.
import { companionJail, enterCompanionJail, prepareForJail, type JailSpec } from '../jail/jail';
import { optionsOrExit } from '../lib/getopt';
import { inputStream, outputStream } from '../lib/stdiostreams';
import { PROG_ACK_FD, PROG_CONTROL_FD } from '../wire/starttls';
import { createLogger, errText, fatalExit, runMain } from '../lib/log';
import { lookupUser, type ProgUser } from '../lib/progrun';
import { ackSocket, inheritable, inheritedControl } from './control';
import { parseSmtpOptions, USAGE } from './options';
import { Session } from './session';
import { progCommand, startPaused } from './spawner';

const PROGRAM = 'tlswrapper-smtp';

async function main(): Promise<void> {
  // 1. First of all, before Node opens anything else: fds 5 and 6.
  const control = [inheritedControl(PROG_CONTROL_FD, 'write'), inheritedControl(PROG_ACK_FD, 'read')];
  const startTls = control[0] && control[1];

  const o = optionsOrExit(PROGRAM, USAGE, (seen) => parseSmtpOptions(process.argv.slice(2), seen));
  const log = createLogger(o.verbosity, undefined, PROGRAM);
  const fail = (message: string): never => fatalExit(log, message);
  setTimeout(() => fail(`session timeout (${o.timeout} seconds)`), o.timeout * 1000).unref();
  if (!startTls) {
    log.debug(
      control[0] || control[1]
        ? `only fd ${control[0] ? PROG_CONTROL_FD : PROG_ACK_FD} of tlswrapper's control pipes is open: no STARTTLS`
        : `fds ${PROG_CONTROL_FD} and ${PROG_ACK_FD} are not open (tlswrapper without -n?): no STARTTLS`,
    );
  }

  // 2. Users and the jail, decided while files can still be read.
  let user: ProgUser | undefined;
  if (o.user !== undefined) {
    try {
      user = lookupUser(o.user);
    } catch (e) {
      fail(errText(e));
    }
  }
  let spec: JailSpec | null = null;
  try {
    const jail = companionJail(o.jailDir, o.jailUser);
    spec = jail.spec;
    if (jail.why) log.info(`${jail.why}; only the rlimits (no new files, no processes) after starting prog`);
  } catch (e) {
    fail(`unable to create jail: ${errText(e)}`);
  }

  // 3. Everything the jail will forbid.
  try {
    await prepareForJail();
  } catch (e) {
    fail(`unable to create jail: ${errText(e)}`);
  }
  const stdin = inputStream();
  const stdout = outputStream();
  stdin.pause();
  const ack = startTls ? ackSocket() : null;

  // 4. prog.
  const cmd = progCommand(o, user, inheritable(PROG_CONTROL_FD) || inheritable(PROG_ACK_FD));
  log.tracing(`running '${o.prog.join(' ')}'${user ? ` as ${user.name}` : ''}`);
  const prog = await startPaused(cmd, o.prog[0], fail);
  // The instance for TLS, as far as a process can go without the facts: now, since the jail allows no new process.
  const spawner = startTls ? await startPaused(progCommand(o, user, true, true), '/bin/sh', fail) : null;

  // 5. Jail, before any byte is read.
  let jailed: string;
  try {
    jailed = enterCompanionJail(spec);
  } catch (e) {
    return fail(`unable to create jail: ${errText(e)}`);
  }
  log.debug(jailed);

  // 6. SMTP.
  await new Session(o, log, stdin, stdout, prog, ack, spawner).run();
}

runMain(PROGRAM, main);
