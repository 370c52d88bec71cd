// prog's two instances and how they start: the one before TLS, on two pipes,
// and the spawner of the one for TLS (a shell that waits for the facts and
// then execs prog with them), both as -u's user and without tlswrapper's
// control pipes. Both start before the jail, which allows no new process.
import { spawn, type ChildProcess } from 'node:child_process';
import { errText } from '../lib/log';
import { asUser, REMOVED_VARIABLES, userVariables, type ProgUser } from '../lib/progrun';
import { PROG_ACK_FD, PROG_CONTROL_FD } from '../wire/starttls';
import type { SmtpOptions } from './options';

/** A shell's redirections that close tlswrapper's control pipes for the command it execs. */
const CLOSE_CONTROL_FDS = `${PROG_CONTROL_FD}>&- ${PROG_ACK_FD}>&-`;

/**
 * /bin/sh -c SPAWNER spawner prog args...: one NAME=value line per fact (the
 * value escaped for printf %b: \0ooo), then an empty line, then exec prog
 * with the facts exported and fds 5 and 6 closed. `read` takes a pipe byte by
 * byte, so prog gets the rest of the pipe, the SMTP session, untouched. EOF
 * before the empty line (no TLS after all): exit 0, prog never runs. The x
 * keeps $(...) from eating a value's trailing newlines.
 */
const SPAWNER = [
  'while IFS= read -r fact; do',
  `  if [ -z "$fact" ]; then exec "$@" ${CLOSE_CONTROL_FDS}; fi`,
  '  v=$(printf "%bx" "${fact#*=}") || exit 111',
  '  export "${fact%%=*}=${v%x}" || exit 111',
  'done',
  'exit 0',
].join('\n');

/** The facts as SPAWNER reads them. */
export function spawnerInput(facts: [string, Buffer][]): Buffer {
  const lines = facts.map(([name, value]) => {
    let v = '';
    for (const b of value) v += (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a) || b === 0x2e || b === 0x5f || b === 0x2d ? String.fromCharCode(b) : `\\0${b.toString(8).padStart(3, '0')}`;
    return `${name}=${v}\n`;
  });
  return Buffer.from(`${lines.join('')}\n`, 'latin1');
}

/**
 * prog's argv and environment: -u through setpriv, fds 5 and 6 closed by a
 * shell when we hold them; spawner: prog behind SPAWNER (which closes them).
 */
export function progCommand(o: SmtpOptions, user: ProgUser | undefined, closeControl: boolean, spawner = false): { argv: string[]; env: NodeJS.ProcessEnv; ids?: { uid: number; gid: number } } {
  let argv = o.prog;
  // prog must not get fds 5 and 6: it could ask for TLS behind our back, or
  // read the facts meant for us. Node 20 makes inherited descriptors
  // close-on-exec at start-up; should one be inheritable all the same, a
  // shell closes it (Node cannot close a descriptor in a child). SPAWNER
  // closes them itself.
  if (spawner) argv = ['/bin/sh', '-c', SPAWNER, 'tlswrapper-smtp-spawner', ...argv];
  else if (closeControl) argv = ['/bin/sh', '-c', `exec "$@" ${CLOSE_CONTROL_FDS}`, 'sh', ...argv];
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of REMOVED_VARIABLES) delete env[name];
  if (user) Object.assign(env, userVariables(user));
  return { ...asUser(argv, user), env };
}

/**
 * cmd started with its stdin and stdout ours (stdout paused); `what` names it
 * in the fatal message should it not start, die ends us then.
 */
export async function startPaused(cmd: ReturnType<typeof progCommand>, what: string, die: (message: string) => never): Promise<ChildProcess> {
  let child: ChildProcess;
  try {
    child = spawn(cmd.argv[0], cmd.argv.slice(1), { stdio: ['pipe', 'pipe', 'inherit'], env: cmd.env, ...(cmd.ids ?? {}) });
  } catch (e) {
    return die(`unable to run ${what}: ${errText(e)}`);
  }
  child.once('error', (e: NodeJS.ErrnoException) => die(`unable to run ${what}: ${e.code ?? e.message}`));
  if (child.pid === undefined) await new Promise(() => {}); // the 'error' above ends us
  child.stdout!.pause();
  return child;
}
