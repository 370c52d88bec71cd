// Real super-servers on 127.0.0.1 running a program per connection, as in
// production: tcpserver (ucspi-tcp), busybox tcpsvd, systemd-socket-activate.
//
//   const s = await serve(t, 'tcpserver', ['bin/tlswrapper', '-f', pem, 'cat']);
//   ... connect to 127.0.0.1:s.port ...        (stopped by t.teardown)
//
// Finding busybox with tcpsvd (Debian's /bin/busybox has no tcpsvd applet):
//   1. $TLSWRAPPER_TEST_BUSYBOX, a busybox binary that has tcpsvd;
//   2. /usr/local/lib/tlswrapper-test/busybox (where .ci/run builds it with
//      test/tools/busybox-tcpsvd.sh);
//   3. `busybox` on PATH, if it has tcpsvd.
// Build it by hand with: sh test/tools/busybox-tcpsvd.sh /usr/local/lib/tlswrapper-test
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import { allStats, descendants } from './procs';
import * as path from 'node:path';
import { killGroup, repoRoot, sleep, which } from './sh';

export type SuperServerKind = 'tcpserver' | 'tcpsvd' | 'systemd-socket-activate' | 'tlswrapper-server';
/** The real super-servers (any program runs under them). */
export const SUPER_SERVERS: readonly SuperServerKind[] = ['tcpserver', 'tcpsvd', 'systemd-socket-activate'];
/**
 * The ways a client reaches our tlswrapper: under a super-server, or through
 * tlswrapper-server, which takes the same options (argv must run our
 * bin/tlswrapper; superServerArgv turns it into a tlswrapper-server line).
 */
export const ENTRY_POINTS: readonly SuperServerKind[] = ['tcpserver', 'tlswrapper-server'];
/** bin/tlswrapper-server (absolute). */
export const TLSWRAPPER_SERVER = path.join(repoRoot, 'bin', 'tlswrapper-server');

export const DEFAULT_BUSYBOX_DIR = '/usr/local/lib/tlswrapper-test';

function hasTcpsvd(bin: string): boolean {
  try {
    const r = spawnSync(bin, ['tcpsvd'], { encoding: 'utf8', timeout: 5000 });
    const text = `${r.stdout}${r.stderr}`;
    return !r.error && !/applet not found/.test(text) && /tcpsvd/i.test(text);
  } catch { return false; }
}

let busyboxCache: string | null | undefined;
/** Path of a busybox that has the tcpsvd applet, or null. */
export function busyboxPath(): string | null {
  if (busyboxCache !== undefined) return busyboxCache;
  const candidates = [process.env.TLSWRAPPER_TEST_BUSYBOX, `${DEFAULT_BUSYBOX_DIR}/busybox`, which('busybox')]
    .filter((x): x is string => !!x);
  busyboxCache = candidates.find((c) => fs.existsSync(c) && hasTcpsvd(c)) ?? null;
  return busyboxCache;
}

/** null when `kind` can run here, else the reason it can't (for t.skip). */
export function superServerMissing(kind: SuperServerKind): string | null {
  switch (kind) {
    case 'tcpserver': return which('tcpserver') ? null : 'tcpserver not installed (apt-get install ucspi-tcp)';
    case 'tcpsvd': return busyboxPath() ? null
      : 'no busybox with tcpsvd (set TLSWRAPPER_TEST_BUSYBOX or run test/tools/busybox-tcpsvd.sh /usr/local/lib/tlswrapper-test)';
    case 'systemd-socket-activate': return which('systemd-socket-activate') ? null : 'systemd-socket-activate not installed (apt-get install systemd)';
    case 'tlswrapper-server': return fs.existsSync(path.join(repoRoot, 'dist', 'server.js')) ? null : 'dist/server.js not built (npm run build)';
  }
}

/** A port that was free a moment ago on host (bind port 0, read it, close). */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, host, () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/**
 * True when some socket listens on host:port (read from /proc/net/tcp, so no
 * probe connection is made: a probe would make the super-server start a
 * program for it).
 */
export function isListening(port: number, host = '127.0.0.1'): boolean {
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  // IPv6: only the wildcard (::) is told apart here, as all zeros in /proc/net/tcp6.
  const v6 = host.includes(':');
  const hexHost = v6 ? '0'.repeat(32) : host.split('.').reverse().map((b) => Number(b).toString(16).toUpperCase().padStart(2, '0')).join('');
  for (const file of [v6 ? '/proc/net/tcp6' : '/proc/net/tcp']) {
    let s = '';
    try { s = fs.readFileSync(file, 'utf8'); } catch { continue; }
    for (const line of s.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 4) continue;
      const [addr, p] = f[1].split(':');
      if (p === hexPort && f[3] === '0A' && (addr === hexHost || /^0+$/.test(addr))) return true;
    }
  }
  return false;
}

export interface SuperServerOptions {
  host?: string;
  /** Fixed port; default: a free one (retried if taken meanwhile). */
  port?: number;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** How long to wait for the listener. Default 10000 ms. */
  startTimeoutMs?: number;
  /** Max concurrent connections (tcpserver -c, tcpsvd -c). Default 100. */
  maxConnections?: number;
}

export interface SuperServer {
  kind: SuperServerKind;
  host: string;
  port: number;
  /** pid of the super-server itself; connections are its children (see procs.connections). */
  pid: number;
  argv: string[];
  proc: ChildProcess;
  /** What the super-server and the programs it ran wrote to stderr (and stdout) so far. */
  output(): string;
  /** Kill the super-server, every connection it started, and wait until all are gone. */
  stop(): Promise<void>;
}

/** The command line that runs argv under kind on host:port. */
export function superServerArgv(kind: SuperServerKind, host: string, port: number, argv: string[], maxConn = 100): string[] {
  switch (kind) {
    // -H no remote host name lookup, -R no remote info (ident), -D no Nagle delay, -l0 local name "0".
    case 'tcpserver': return ['tcpserver', '-HRDl0', '-c', String(maxConn), host, String(port), ...argv];
    case 'tcpsvd': {
      const bb = busyboxPath();
      if (!bb) throw new Error(superServerMissing('tcpsvd')!);
      return [bb, 'tcpsvd', '-c', String(maxConn), host, String(port), ...argv];
    }
    case 'systemd-socket-activate': return ['systemd-socket-activate', '--inetd', '-a', '-l', `${host}:${port}`, ...argv];
    case 'tlswrapper-server': {
      const i = argv.findIndex((word) => word.endsWith('/bin/tlswrapper'));
      if (i < 0) throw new Error(`tlswrapper-server runs our tlswrapper's options only, not ${argv.join(' ')}`);
      return [...argv.slice(0, i), TLSWRAPPER_SERVER, '-c', String(maxConn), host, String(port), ...argv.slice(i + 1)];
    }
  }
}

const live = new Set<SuperServer>();
process.on('exit', () => {
  // Last resort: never leave a listener or a connection behind a crashed test.
  for (const s of live) {
    for (const pid of descendants(s.pid)) { try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ } }
    killGroup(s.pid);
  }
});

function pidAlive(pid: number): boolean {
  try { process.kill(pid, 0); return true; } catch { return false; }
}

async function startOnce(kind: SuperServerKind, argv: string[], port: number, opts: SuperServerOptions): Promise<SuperServer | string> {
  const host = opts.host ?? '127.0.0.1';
  return startListener(kind, superServerArgv(kind, host, port, argv, opts.maxConnections ?? 100), host, port, opts);
}

/**
 * Run a complete super-server command line `full` (which must listen on
 * host:port) and resolve once it listens; a string says why it did not.
 * For command lines given whole, e.g. the ones in examples/.
 */
export async function startListener(kind: SuperServerKind, full: string[], host: string, port: number,
  opts: Pick<SuperServerOptions, 'env' | 'cwd' | 'startTimeoutMs'> = {}): Promise<SuperServer | string> {
  const proc = spawn(full[0], full.slice(1), {
    cwd: opts.cwd, env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'], detached: true,
  });
  let out = '';
  const keep = (d: Buffer) => { out += d.toString('utf8'); if (out.length > 1 << 20) out = out.slice(-(1 << 19)); };
  proc.stdout?.on('data', keep);
  proc.stderr?.on('data', keep);
  let exited = false;
  const exitP = new Promise<void>((r) => proc.on('exit', () => { exited = true; r(); }));
  proc.on('error', (e) => { out += String(e); exited = true; });
  const pid = proc.pid ?? -1;
  const stop = async () => {
    live.delete(server);
    // Collect the whole tree first: children may have left the group.
    const tree = pid > 0 ? descendants(pid) : [];
    if (pid > 0) killGroup(pid, 'SIGTERM');
    for (const p of tree) { try { process.kill(p, 'SIGTERM'); } catch { /* gone */ } }
    const t0 = Date.now();
    while (!exited && Date.now() - t0 < 2000) await sleep(20);
    if (pid > 0) killGroup(pid, 'SIGKILL');
    for (const p of [...tree, ...(pid > 0 ? descendants(pid) : [])]) { try { process.kill(p, 'SIGKILL'); } catch { /* gone */ } }
    await Promise.race([exitP, sleep(2000)]);
    // Wait until nothing of the group or tree is left.
    const t1 = Date.now();
    while (Date.now() - t1 < 3000) {
      const left = allStats().filter((s) => s.state !== 'Z' && (s.pgrp === pid || tree.includes(s.pid)));
      if (left.length === 0) break;
      for (const s of left) { try { process.kill(s.pid, 'SIGKILL'); } catch { /* gone */ } }
      await sleep(20);
    }
  };
  const server: SuperServer = { kind, host, port, pid, argv: full, proc, output: () => out, stop };
  live.add(server);
  const deadline = Date.now() + (opts.startTimeoutMs ?? 10000);
  while (Date.now() < deadline) {
    if (exited || !pidAlive(pid)) {
      await stop();
      return `${full.join(' ')} exited before listening: ${out.trim()}`;
    }
    if (isListening(port, host)) return server;
    await sleep(20);
  }
  await stop();
  return `${full.join(' ')} did not listen on ${host}:${port} within ${opts.startTimeoutMs ?? 10000} ms: ${out.trim()}`;
}

/** Start argv under the super-server `kind` on 127.0.0.1 and a free port; resolves once it listens. */
export async function startSuperServer(kind: SuperServerKind, argv: string[], opts: SuperServerOptions = {}): Promise<SuperServer> {
  const missing = superServerMissing(kind);
  if (missing) throw new Error(missing);
  let last = '';
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = opts.port ?? await freePort(opts.host ?? '127.0.0.1');
    const r = await startOnce(kind, argv, port, opts);
    if (typeof r !== 'string') return r;
    last = r;
    if (opts.port) break;
  }
  throw new Error(last);
}

/** Minimal shape of a tap Test used here (so this file does not depend on tap's types). */
export interface Teardownable { teardown(fn: () => unknown): void }

/** startSuperServer + t.teardown(stop). */
export async function serve(t: Teardownable, kind: SuperServerKind, argv: string[], opts: SuperServerOptions = {}): Promise<SuperServer> {
  const s = await startSuperServer(kind, argv, opts);
  t.teardown(() => s.stop());
  return s;
}
