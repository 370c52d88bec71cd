// /proc inspection: the processes of one connection, their ids, root, limits,
// peak memory, and a search of their memory for secret bytes.
//
// Linux only; needs root (CAP_SYS_PTRACE) to read other users' /proc/PID/mem.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';

export interface Stat {
  pid: number;
  comm: string;
  state: string;
  ppid: number;
  pgrp: number;
  session: number;
}

/** /proc/PID/stat, or null when the process is gone. */
export function readStat(pid: number): Stat | null {
  let s: string;
  try { s = fs.readFileSync(`/proc/${pid}/stat`, 'utf8'); } catch { return null; }
  // comm is in parentheses and may itself hold spaces or ')'.
  const open = s.indexOf('('); const close = s.lastIndexOf(')');
  const rest = s.slice(close + 2).split(' ');
  return {
    pid, comm: s.slice(open + 1, close), state: rest[0],
    ppid: Number(rest[1]), pgrp: Number(rest[2]), session: Number(rest[3]),
  };
}

/** Every pid now in /proc. */
export function listPids(): number[] {
  return fs.readdirSync('/proc').filter((n) => /^\d+$/.test(n)).map(Number);
}

/** Snapshot of all processes' stat lines. */
export function allStats(): Stat[] {
  const out: Stat[] = [];
  for (const pid of listPids()) { const st = readStat(pid); if (st) out.push(st); }
  return out;
}

/** Direct children of pid (by ppid). */
export function children(pid: number, stats: Stat[] = allStats()): number[] {
  return stats.filter((s) => s.ppid === pid).map((s) => s.pid).sort((a, b) => a - b);
}

/** All descendants of pid, breadth first (not including pid). */
export function descendants(pid: number, stats: Stat[] = allStats()): number[] {
  const out: number[] = []; const queue = [pid];
  while (queue.length) {
    const p = queue.shift()!;
    for (const c of children(p, stats)) { out.push(c); queue.push(c); }
  }
  return out;
}

/** /proc/PID/status as key → value text ("Uid" → "0\t0\t0\t0"). Empty when gone. */
export function readStatus(pid: number): Record<string, string> {
  let s: string;
  try { s = fs.readFileSync(`/proc/${pid}/status`, 'utf8'); } catch { return {}; }
  const out: Record<string, string> = {};
  for (const line of s.split('\n')) {
    const i = line.indexOf(':');
    if (i > 0) out[line.slice(0, i)] = line.slice(i + 1).trim();
  }
  return out;
}

const ids = (v: string | undefined) => (v ? v.split(/\s+/).map(Number) : []);

export interface ProcInfo extends Stat {
  /** [real, effective, saved, filesystem] */
  uid: number[];
  gid: number[];
  groups: number[];
  /** Target of /proc/PID/root ("/" when not chrooted), null if unreadable. */
  root: string | null;
  /** Target of /proc/PID/exe, null if unreadable. */
  exe: string | null;
  cmdline: string[];
  /** Peak and current resident set size in kB (VmHWM, VmRSS). */
  vmHWM: number;
  vmRSS: number;
  /** NoNewPrivs, Seccomp fields, CapEff as text. */
  noNewPrivs: string | undefined;
  capEff: string | undefined;
  threads: number;
}

export function procRoot(pid: number): string | null {
  try { return fs.readlinkSync(`/proc/${pid}/root`); } catch { return null; }
}

export function cmdline(pid: number): string[] {
  try {
    const s = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    return s.split('\0').filter((x, i, a) => !(i === a.length - 1 && x === ''));
  } catch { return []; }
}

/** Everything above about one process, or null when it is gone. */
export function procInfo(pid: number): ProcInfo | null {
  const st = readStat(pid);
  if (!st) return null;
  const status = readStatus(pid);
  let exe: string | null = null;
  try { exe = fs.readlinkSync(`/proc/${pid}/exe`); } catch { /* kernel thread or gone */ }
  const kb = (k: string) => Number((status[k] ?? '0').split(/\s+/)[0]) || 0;
  return {
    ...st,
    uid: ids(status.Uid), gid: ids(status.Gid), groups: ids(status.Groups),
    root: procRoot(pid), exe, cmdline: cmdline(pid),
    vmHWM: kb('VmHWM'), vmRSS: kb('VmRSS'),
    noNewPrivs: status.NoNewPrivs, capEff: status.CapEff, threads: Number(status.Threads ?? 0),
  };
}

export interface Limit { soft: number; hard: number; units: string }
/**
 * /proc/PID/limits keyed by the resource name as printed ("Max open files",
 * "Max processes", "Max file size", "Max core file size", ...). "unlimited" → Infinity.
 */
export function readLimits(pid: number): Record<string, Limit> {
  let s: string;
  try { s = fs.readFileSync(`/proc/${pid}/limits`, 'utf8'); } catch { return {}; }
  const out: Record<string, Limit> = {};
  for (const line of s.split('\n').slice(1)) {
    const m = /^(.+?)\s{2,}(\S+)\s+(\S+)\s*(\S*)\s*$/.exec(line);
    if (!m) continue;
    const num = (v: string) => (v === 'unlimited' ? Infinity : Number(v));
    out[m[1].trim()] = { soft: num(m[2]), hard: num(m[3]), units: m[4] };
  }
  return out;
}

/** Open file descriptors of pid: fd number → link target ("socket:[123]", "pipe:[45]", "/dev/null"). */
export function openFds(pid: number): Record<number, string> {
  const out: Record<number, string> = {};
  let names: string[];
  try { names = fs.readdirSync(`/proc/${pid}/fd`); } catch { return out; }
  for (const n of names) {
    try { out[Number(n)] = fs.readlinkSync(`/proc/${pid}/fd/${n}`); } catch { /* closed meanwhile */ }
  }
  return out;
}

export interface Connection {
  /** The super-server's child for this connection (the program it exec'd: our entry). */
  pid: number;
  /** That process and all its descendants. */
  procs: ProcInfo[];
}

/**
 * The connections a super-server is serving now: one per child of its pid,
 * each with the child's whole process tree.
 */
export function connections(superServerPid: number): Connection[] {
  const stats = allStats();
  return children(superServerPid, stats).map((pid) => ({
    pid,
    procs: [pid, ...descendants(pid, stats)].map(procInfo).filter((p): p is ProcInfo => p !== null),
  }));
}

/**
 * Inode of the server side of a TCP connection on loopback: the socket whose
 * local port is `serverPort` and remote port is `clientPort` (IPv4 or IPv6).
 */
export function serverSocketInode(serverPort: number, clientPort: number): number | null {
  const hex = (p: number) => p.toString(16).toUpperCase().padStart(4, '0');
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let s = '';
    try { s = fs.readFileSync(file, 'utf8'); } catch { continue; }
    for (const line of s.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 10) continue;
      if (f[1].endsWith(`:${hex(serverPort)}`) && f[2].endsWith(`:${hex(clientPort)}`)) return Number(f[9]);
    }
  }
  return null;
}

/**
 * The one connection (of those a super-server serves) that holds the server
 * side of the client socket whose local port is `clientPort` — to pick one
 * connection's processes while others are still open or exiting.
 * Pass the TLS client's `socket.localPort`.
 */
export function connectionForClient(superServerPid: number, serverPort: number, clientPort: number): Connection | null {
  const inode = serverSocketInode(serverPort, clientPort);
  if (inode === null) return null;
  const target = `socket:[${inode}]`;
  for (const c of connections(superServerPid)) {
    if (c.procs.some((p) => Object.values(openFds(p.pid)).includes(target))) return c;
  }
  return null;
}

/** Sum of peak RSS (VmHWM, kB) over a set of processes. */
export function sumHWM(procs: ProcInfo[]): number {
  return procs.reduce((a, p) => a + p.vmHWM, 0);
}

export interface MapEntry {
  start: number;
  end: number;
  perms: string;
  offset: number;
  path: string;
}

export function readMaps(pid: number): MapEntry[] {
  let s: string;
  try { s = fs.readFileSync(`/proc/${pid}/maps`, 'utf8'); } catch { return []; }
  const out: MapEntry[] = [];
  for (const line of s.split('\n')) {
    const m = /^([0-9a-f]+)-([0-9a-f]+)\s+(\S+)\s+([0-9a-f]+)\s+\S+\s+\d+\s*(.*)$/.exec(line);
    if (!m) continue;
    out.push({ start: parseInt(m[1], 16), end: parseInt(m[2], 16), perms: m[3], offset: parseInt(m[4], 16), path: m[5] });
  }
  return out;
}

export interface MemHit {
  /** Index of the needle in the list given. */
  needle: number;
  address: number;
  region: string;
}

export interface MemSearch {
  hits: MemHit[];
  /** Bytes actually read. A search that read 0 bytes proves nothing: check it. */
  bytesRead: number;
  regionsRead: number;
  regionsSkipped: number;
}

/**
 * Search the readable memory of pid for any of `needles`. Regions that can't be
 * read (vvar, vsyscall, guard pages, a process that exited) are skipped and counted.
 * Reads in 1 MiB chunks with overlap so needles across a chunk edge are found.
 */
export function searchMemory(pid: number, needles: Buffer[], opts: { maxHits?: number } = {}): MemSearch {
  const res: MemSearch = { hits: [], bytesRead: 0, regionsRead: 0, regionsSkipped: 0 };
  const live = needles.filter((n) => n.length > 0);
  if (live.length === 0) return res;
  const overlap = Math.max(...live.map((n) => n.length)) - 1;
  const maxHits = opts.maxHits ?? 100;
  let fd: number;
  try { fd = fs.openSync(`/proc/${pid}/mem`, 'r'); } catch { return res; }
  try {
    const CHUNK = 1 << 20;
    const buf = Buffer.alloc(CHUNK + overlap);
    for (const r of readMaps(pid)) {
      if (!r.perms.startsWith('r') || r.path === '[vvar]' || r.path === '[vsyscall]' || r.path === '[vvar_vclock]') {
        res.regionsSkipped++; continue;
      }
      let ok = false;
      let carry = 0; // bytes at the start of buf kept from the previous chunk
      for (let pos = r.start; pos < r.end;) {
        const want = Math.min(CHUNK, r.end - pos);
        let n: number;
        try { n = fs.readSync(fd, buf, carry, want, pos); } catch { break; }
        if (n <= 0) break;
        ok = true;
        res.bytesRead += n;
        const view = buf.subarray(0, carry + n);
        for (let i = 0; i < needles.length; i++) {
          const nd = needles[i];
          if (nd.length === 0) continue;
          let at = view.indexOf(nd);
          while (at >= 0) {
            // A hit lying wholly inside the carried-over part was already reported.
            if (at + nd.length > carry) {
              res.hits.push({ needle: i, address: pos - carry + at, region: `${r.perms} ${r.path}` });
              if (res.hits.length >= maxHits) return res;
            }
            at = view.indexOf(nd, at + 1);
          }
        }
        pos += n;
        const keep = Math.min(overlap, view.length);
        view.copy(buf, 0, view.length - keep);
        carry = keep;
      }
      if (ok) res.regionsRead++; else res.regionsSkipped++;
    }
  } finally {
    fs.closeSync(fd);
  }
  return res;
}

/** Proportional set size (kB) from /proc/PID/smaps_rollup: shared pages (the Node binary) split among their users. */
export function pssKB(pid: number): number {
  try {
    const m = /^Pss:\s+(\d+) kB$/m.exec(fs.readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

/**
 * One connection of tlswrapper-server: its netproc (the server's child that
 * holds the client's socket) and the processes that are neither a netproc
 * nor a keyproc waiting as root (prog and what it started; the connection's
 * keyproc once jailed). The spare sets and the server itself are not counted.
 */
export function serverConnectionForClient(serverPid: number, serverPort: number, clientPort: number): Connection | null {
  const inode = serverSocketInode(serverPort, clientPort);
  if (inode === null) return null;
  const target = `socket:[${inode}]`;
  const procs = descendants(serverPid).map(procInfo).filter((p): p is ProcInfo => p !== null);
  const netproc = procs.find((p) => Object.values(openFds(p.pid)).includes(target));
  if (!netproc) return null;
  const isNode = (p: ProcInfo, script: string) => p.cmdline.some((w) => w.endsWith(`/dist/${script}`));
  const others = procs.filter((p) => !isNode(p, 'netproc.js') && !(isNode(p, 'keyproc.js') && p.uid[0] === 0));
  return { pid: netproc.pid, procs: [netproc, ...others] };
}

/**
 * Whether another process's socket (its fd) has TCP_NODELAY: read from a
 * duplicate of it that pidfd_getfd(2) (Linux 5.6, root) gives Debian's
 * python3, since Node has no getsockopt.
 */
export function tcpNoDelay(pid: number, fd: number): boolean {
  const py = [
    'import ctypes, os, socket, sys',
    'libc = ctypes.CDLL(None, use_errno=True)',
    'pidfd = os.pidfd_open(int(sys.argv[1]))',
    'fd = libc.syscall(438, pidfd, int(sys.argv[2]), 0)  # pidfd_getfd',
    "if fd < 0: raise OSError(ctypes.get_errno(), 'pidfd_getfd')",
    'print(socket.socket(fileno=fd).getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))',
  ].join('\n');
  const out = execFileSync('/usr/bin/python3', ['-c', py, String(pid), String(fd)], { encoding: 'utf8', timeout: 20_000 });
  return out.trim() !== '0';
}
