// Run a command with a deadline and collect what it printed.
//
// Every child is started in its own process group (detached) so a timeout can
// kill it together with anything it forked; nothing is left behind.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

export interface RunOptions {
  /** Bytes written to stdin. */
  input?: string | Buffer | undefined;
  /**
   * Keep stdin open after `input` until stdout matches this (a string, a
   * RegExp, or a byte count), then close stdin. Without it, stdin is closed
   * right after `input` is written.
   */
  until?: string | RegExp | number | undefined;
  /**
   * Once `until` has matched and stdin is closed, wait this long for the
   * child to exit, then kill it (reported as timedOut, with graceExpired).
   * Only after a match: without `until` the child reads until the server
   * closes, and only timeoutMs bounds it. Default: the rest of timeoutMs.
   */
  graceMs?: number;
  /** Hard deadline: the process group is killed after this. Default 20000. */
  timeoutMs?: number;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

export interface RunResult {
  argv: string[];
  /** Exit code, or null when killed by a signal. */
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: Buffer;
  stderr: Buffer;
  /** True when a deadline killed the child: the hard one, or the grace after `until` matched (graceExpired). */
  timedOut: boolean;
  /** True when the child was killed because it did not exit within graceMs after `until` matched. */
  graceExpired: boolean;
  /** True when `until` matched. */
  matched: boolean;
  ms: number;
  /** stdout/stderr as utf8 text. */
  out: string;
  err: string;
}

/** One-line description of a result for assertion messages. */
export function describe(r: RunResult): string {
  const tail = (s: string) => (s.length > 1500 ? '…' + s.slice(-1500) : s);
  return `${r.argv.join(' ')} → code=${r.code} signal=${r.signal} timedOut=${r.timedOut}${r.graceExpired ? ' (no exit within the grace after its input ended)' : ''} ` +
    `(${r.ms} ms)\n--- stdout ---\n${tail(r.out)}\n--- stderr ---\n${tail(r.err)}`;
}

/** Send a signal to a whole process group, ignoring "no such process". */
export function killGroup(pgid: number, sig: NodeJS.Signals = 'SIGKILL'): void {
  try { process.kill(-pgid, sig); } catch { /* gone */ }
}

function matches(buf: Buffer, until: string | RegExp | number): boolean {
  if (typeof until === 'number') return buf.length >= until;
  if (typeof until === 'string') return buf.includes(until);
  return until.test(buf.toString('latin1'));
}

/** Run argv, feed it input, wait for it to end (or kill it at the deadline). */
export function run(argv: string[], opts: RunOptions = {}): Promise<RunResult> {
  const timeoutMs = opts.timeoutMs ?? 20000;
  const started = Date.now();
  return new Promise((resolve) => {
    let child: ChildProcess;
    try {
      child = spawn(argv[0], argv.slice(1), {
        cwd: opts.cwd, env: opts.env ?? process.env,
        stdio: ['pipe', 'pipe', 'pipe'], detached: true,
      });
    } catch (e) {
      const err = String(e);
      resolve({ argv, code: 127, signal: null, stdout: Buffer.alloc(0), stderr: Buffer.from(err),
        timedOut: false, graceExpired: false, matched: false, ms: 0, out: '', err });
      return;
    }
    const out: Buffer[] = []; const errb: Buffer[] = [];
    let outLen = 0;
    let timedOut = false; let graceExpired = false; let matched = false; let stdinClosed = false;
    let grace: NodeJS.Timeout | undefined;
    const closeStdin = () => {
      if (stdinClosed) return;
      stdinClosed = true;
      child.stdin?.end();
      if (matched && opts.graceMs !== undefined) {
        grace = setTimeout(() => { timedOut = true; graceExpired = true; if (child.pid) killGroup(child.pid); }, opts.graceMs);
      }
    };
    child.stdin?.on('error', () => { /* child closed its stdin: fine */ });
    child.stdout?.on('data', (d: Buffer) => {
      out.push(d); outLen += d.length;
      if (opts.until !== undefined && !matched && matches(Buffer.concat(out, outLen), opts.until)) {
        matched = true; closeStdin();
      }
    });
    child.stderr?.on('data', (d: Buffer) => errb.push(d));
    const deadline = setTimeout(() => { timedOut = true; if (child.pid) killGroup(child.pid); }, timeoutMs);
    let spawnError: Error | undefined;
    child.on('error', (e) => { spawnError = e; });
    child.on('close', (code, signal) => {
      clearTimeout(deadline); if (grace) clearTimeout(grace);
      // Anything the child left in its group goes too.
      if (child.pid) killGroup(child.pid);
      const stdout = Buffer.concat(out);
      let stderr = Buffer.concat(errb);
      if (spawnError) stderr = Buffer.concat([stderr, Buffer.from(String(spawnError))]);
      resolve({ argv, code: spawnError ? 127 : code, signal, stdout, stderr, timedOut, graceExpired, matched,
        ms: Date.now() - started, out: stdout.toString('utf8'), err: stderr.toString('utf8') });
    });
    if (opts.input !== undefined) child.stdin?.write(opts.input);
    if (opts.until === undefined) closeStdin();
  });
}

/** Synchronous run for set-up steps (certificate generation, etc). Throws on failure. */
export function runSync(argv: string[], opts: { input?: string | Buffer; cwd?: string; timeoutMs?: number } = {}): string {
  const r = spawnSync(argv[0], argv.slice(1), {
    input: opts.input, cwd: opts.cwd, timeout: opts.timeoutMs ?? 60000, encoding: 'utf8',
  });
  if (r.error || r.status !== 0) {
    throw new Error(`${argv.join(' ')} failed (status ${r.status}, ${r.error ?? ''}):\n${r.stderr}`);
  }
  return r.stdout;
}

/** Full path of an executable on PATH (or an absolute path that is executable), else null. */
export function which(cmd: string): string | null {
  const candidates = cmd.includes('/') ? [cmd]
    : (process.env.PATH ?? '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin')
      .split(':').filter(Boolean).map((d) => path.join(d, cmd));
  for (const c of candidates) {
    try { fs.accessSync(c, fs.constants.X_OK); if (fs.statSync(c).isFile()) return c; } catch { /* next */ }
  }
  return null;
}

/** Whether the system Perl can load a module (e.g. swaks --tls needs Net::SSLeay). */
export function perlHas(module: string): boolean {
  if (!which('perl')) return false;
  return spawnSync('perl', [`-M${module}`, '-e', '1'], { stdio: 'ignore' }).status === 0;
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Poll `fn` until it returns a truthy value or the deadline passes (then returns the last value). */
export async function waitFor<T>(fn: () => T | Promise<T>, timeoutMs = 5000, stepMs = 25): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v || Date.now() >= end) return v;
    await sleep(stepMs);
  }
}

/**
 * Repository root (the folder holding package.json), found from this file;
 * bench/run.mjs runs a bundle of these helpers from a temporary folder and
 * names the repository in TLSWRAPPER_REPO.
 */
export const repoRoot: string = process.env.TLSWRAPPER_REPO ?? path.resolve(__dirname, '..', '..');
