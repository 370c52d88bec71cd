// Running prog: as the -u user if given, with the connection's facts in its
// environment, its stdin/stdout the entry's ends of netproc's pipes.
import { spawn, type ChildProcess } from 'node:child_process';
import type { Socket } from 'node:net';
import * as posix from 'posix';
import type { HandshakeInfo } from '../netproc/tls/api';

export interface ProgUser {
  name: string;
  uid: number;
  gid: number;
  home: string;
  shell: string;
}

/** Resolve -u user before anything starts, so a typo fails fast. */
export function lookupUser(name: string): ProgUser {
  let pw: posix.Passwd;
  try {
    pw = posix.getpwnam(name);
  } catch {
    throw new Error(`unable to find user '${name}'`);
  }
  return { name: pw.name, uid: pw.uid, gid: pw.gid, home: pw.dir, shell: pw.shell };
}

export function progEnvironment(base: NodeJS.ProcessEnv, info: HandshakeInfo, user?: ProgUser): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...base };
  // Node's own settings would reach prog only by accident of us being Node.
  delete env.NODE_OPTIONS;
  env.SSL_PROTOCOL = info.version;
  env.SSL_CIPHER = info.cipher;
  if (info.serverName !== null) env.SSL_TLS_SNI_SERVERNAME = info.serverName;
  else delete env.SSL_TLS_SNI_SERVERNAME;
  if (user) {
    env.HOME = user.home;
    env.SHELL = user.shell;
    env.USER = user.name;
    env.LOGNAME = user.name;
  }
  return env;
}

export function startProg(argv: string[], stdin: Socket, stdout: Socket, env: NodeJS.ProcessEnv, user?: ProgUser): ChildProcess {
  return spawn(argv[0], argv.slice(1), {
    stdio: [stdin, stdout, 'inherit'],
    env,
    // libuv drops supplementary groups when it changes ids.
    ...(user ? { uid: user.uid, gid: user.gid } : {}),
  });
}
