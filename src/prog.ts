// Running prog: as the -u (or -U) user if given, with the connection's facts
// in its environment, its stdin/stdout the entry's ends of netproc's pipes.
import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import { isIP, type Socket } from 'node:net';
import { asUser, REMOVED_VARIABLES, userVariables, type ProgUser } from '../lib/progrun';
import type { PeerIdentity } from '../peercert';
import type { HandshakeReport, ProxyAddresses, SocketAddresses } from '../wire/ctl';
import { tlsFacts, TLS_VARIABLES } from '../wire/facts';
import { PROG_CONTROL_FD } from '../wire/starttls';

/** prog's connection variables (tcpserver's names). */
export interface TcpVariables {
  PROTO: 'TCP';
  TCPLOCALIP: string;
  TCPLOCALPORT: string;
  TCPREMOTEIP: string;
  TCPREMOTEPORT: string;
}

/**
 * An IP literal as prog sees it: IPv6 compressed, lowercase, no brackets;
 * IPv4-mapped IPv6 (::ffff:1.2.3.4) as plain IPv4. null if not an IP literal
 * (zones included: prog gets no %ifname).
 */
export function normaliseIp(raw: string | undefined): string | null {
  if (raw === undefined) return null;
  const bracketed = raw.startsWith('[') && raw.endsWith(']');
  const ip = bracketed ? raw.slice(1, -1) : raw;
  if (!/^[0-9A-Fa-f.:]{2,45}$/.test(ip)) return null;
  const kind = isIP(ip);
  if (bracketed && kind !== 6) return null;
  switch (kind) {
    case 4: return ip.split('.').map((b) => String(Number(b))).join('.');
    case 6: {
      let canon: string;
      try { canon = new URL(`http://[${ip}]/`).hostname.slice(1, -1); } catch { return null; }
      const mapped = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(canon);
      if (!mapped) return canon;
      const hi = parseInt(mapped[1], 16);
      const lo = parseInt(mapped[2], 16);
      return [hi >> 8, hi & 255, lo >> 8, lo & 255].join('.');
    }
    default: return null;
  }
}

/** A port 1..65535 in decimal without leading zeros, or null. */
export function normalisePort(raw: string | number | undefined): string | null {
  const s = typeof raw === 'number' ? String(raw) : raw;
  if (s === undefined || !/^[1-9][0-9]{0,4}$/.test(s) || Number(s) > 65535) return null;
  return s;
}

/** "ip:port" as busybox tcpsvd sets it ("[ip6]:port" for IPv6), split, or null. */
function splitAddr(raw: string | undefined): [string, string] | null {
  if (raw === undefined) return null;
  const m = /^\[([^\]]*)\]:([^:]*)$/.exec(raw) ?? /^(.*):([^:]*)$/.exec(raw);
  return m ? [m[1], m[2]] : null;
}

/** The four values normalised, or null if any of them is missing or invalid. */
function complete(localIp: string | undefined, localPort: string | number | undefined,
  remoteIp: string | undefined, remotePort: string | number | undefined): TcpVariables | null {
  const li = normaliseIp(localIp);
  const lp = normalisePort(localPort);
  const ri = normaliseIp(remoteIp);
  const rp = normalisePort(remotePort);
  if (li === null || lp === null || ri === null || rp === null) return null;
  return { PROTO: 'TCP', TCPLOCALIP: li, TCPLOCALPORT: lp, TCPREMOTEIP: ri, TCPREMOTEPORT: rp };
}

const fromFacts = (s: SocketAddresses | null | undefined): TcpVariables | null =>
  s ? complete(s.localAddress, s.localPort, s.remoteAddress, s.remotePort) : null;

/**
 * prog's PROTO and TCP* variables from the first source that is complete and
 * valid: a PROXY header's addresses (-p), tcpserver's
 * TCP*IP/TCP*PORT, busybox tcpsvd's TCPLOCALADDR/TCPREMOTEADDR, systemd's
 * REMOTE_ADDR/REMOTE_PORT with the local side from the socket, the socket.
 * null when there is none (fd 0 not a TCP socket and nothing inherited).
 */
export function tcpVariables(env: NodeJS.ProcessEnv, socket: SocketAddresses | null, proxy: ProxyAddresses | null = null): TcpVariables | null {
  const local = splitAddr(env.TCPLOCALADDR);
  const remote = splitAddr(env.TCPREMOTEADDR);
  return fromFacts(proxy)
    ?? complete(env.TCPLOCALIP, env.TCPLOCALPORT, env.TCPREMOTEIP, env.TCPREMOTEPORT)
    ?? (local && remote ? complete(local[0], local[1], remote[0], remote[1]) : null)
    ?? (socket ? complete(socket.localAddress, socket.localPort, env.REMOTE_ADDR, env.REMOTE_PORT) : null)
    ?? fromFacts(socket);
}

/** The connection variables we set (tcpserver's names), from a confirmed source only. */
export const TCP_VARIABLES = ['PROTO', 'TCPLOCALIP', 'TCPLOCALPORT', 'TCPREMOTEIP', 'TCPREMOTEPORT'] as const;

/**
 * With a PROXY header's addresses, what the super-server says about the
 * remote side describes the proxy, not the client: these go.
 */
export const REMOVED_WITH_PROXY = ['TCPREMOTEHOST', 'TCPREMOTEINFO', 'TCPREMOTEADDR', 'REMOTE_ADDR', 'REMOTE_PORT'] as const;

/**
 * prog's environment. info: the handshake's facts, or only the addresses when
 * prog starts before the handshake (delayed encryption): then no TLS variable
 * is set and none is inherited (prog learns them on its control descriptor).
 */
export function progEnvironment(
  base: NodeJS.ProcessEnv,
  info: HandshakeReport | Pick<HandshakeReport, 'socket' | 'proxy'>,
  user?: ProgUser,
  peer: PeerIdentity | null = null,
): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...base };
  // Node's own settings would reach prog only by accident of us being Node.
  for (const name of REMOVED_VARIABLES) delete env[name];
  if (info.proxy) for (const name of REMOVED_WITH_PROXY) delete env[name];
  const tcp = tcpVariables(base, info.socket, info.proxy);
  // Never an inherited value that no source confirmed.
  for (const name of TCP_VARIABLES) delete env[name];
  if (tcp) Object.assign(env, tcp);
  // Only what this connection says: nothing inherited.
  for (const name of TLS_VARIABLES) delete env[name];
  if ('version' in info) Object.assign(env, tlsFacts(info, peer));
  if (user) Object.assign(env, userVariables(user));
  return env;
}

/**
 * fds: prog's stdin, stdout, then (delayed encryption) its control
 * descriptors from fd 5 up; fds 3 and 4 stay as prog inherits them.
 */

export function startProg(argv: string[], fds: Socket[], env: NodeJS.ProcessEnv, user?: ProgUser): ChildProcess {
  const [stdin, stdout, ...control] = fds;
  // stdio[i] becomes prog's fd i: the control descriptors start at PROG_CONTROL_FD.
  const gap = Array<'ignore'>(PROG_CONTROL_FD - 3).fill('ignore');
  const stdio: StdioOptions = [stdin, stdout, 'inherit', ...(control.length > 0 ? [...gap, ...control] : [])];
  const run = asUser(argv, user);
  return spawn(run.argv[0], run.argv.slice(1), { stdio, env, ...run.ids });
}
