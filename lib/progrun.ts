// Starting a program of the operator's (prog, tlswrapper-smtp's server): as
// a user from the passwd file, with that user's login variables, and without
// the settings that only configure us.
import { existsSync } from 'node:fs';
import * as posix from 'posix';

export interface ProgUser {
  name: string;
  uid: number;
  gid: number;
  home: string;
  shell: string;
}

/**
 * A user prog may run as: a passwd entry whose uid and gid are both non-zero
 * (tlswrapper refuses privileged accounts the same way). -u is resolved
 * before anything starts, so a typo fails fast; -U after the handshake.
 */
export function lookupUser(name: string): ProgUser {
  let pw: posix.Passwd;
  try {
    pw = posix.getpwnam(name);
  } catch {
    throw new Error(`unable to find user '${name}'`);
  }
  if (pw.uid === 0 || pw.gid === 0) throw new Error(`refusing privileged account '${name}' with uid = ${pw.uid}, gid = ${pw.gid}`);
  return { name: pw.name, uid: pw.uid, gid: pw.gid, home: pw.dir, shell: pw.shell };
}

/**
 * util-linux's setpriv sets uid, gid and the user's supplementary groups
 * (initgroups) and then execs prog: Node cannot exec, and libuv's own uid/gid
 * switch drops supplementary groups. Where setpriv is missing, prog still runs
 * as the user, without the supplementary groups.
 */
const SETPRIV = ['/usr/bin/setpriv', '/bin/setpriv'].find((p) => existsSync(p));

/**
 * How to run argv as user: behind setpriv (uid, gid, supplementary groups),
 * or, without setpriv, with ids for spawn (no supplementary groups).
 */
export function asUser(argv: string[], user?: ProgUser): { argv: string[]; ids?: { uid: number; gid: number } } {
  if (!user) return { argv };
  if (!SETPRIV) return { argv, ids: { uid: user.uid, gid: user.gid } };
  return { argv: [SETPRIV, '--reuid', String(user.uid), '--regid', String(user.gid), '--init-groups', '--', ...argv] };
}

/** The login variables of user's passwd entry, as tlswrapper sets them. */
export function userVariables(user: ProgUser): Record<'HOME' | 'SHELL' | 'USER' | 'LOGNAME', string> {
  return { HOME: user.home, SHELL: user.shell, USER: user.name, LOGNAME: user.name };
}

/**
 * Variables that configure us and mean nothing to prog: NODE_OPTIONS is
 * tlswrapper's own Node command line (a prog written in Node gets its own).
 * Other NODE_* describe the machine, not us, and pass on like the rest. What
 * the super-server set (TCPREMOTEADDR, REMOTE_ADDR, TCPREMOTEHOST, ...) stays.
 */
export const REMOVED_VARIABLES = ['NODE_OPTIONS'] as const;
