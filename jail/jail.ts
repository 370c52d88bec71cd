// Dropping privileges the way docs/design.md ("The jail") describes it, as measured on Node 20:
//   prepareForJail()  (load code, touch stderr, start the libuv threadpool)
//   enterJail(spec)   chroot -> setgroups -> setgid -> rlimits -> setuid -> verify -> SIGUSR1
// Every step is checked; a failing step throws JailError naming the step, and
// the caller logs one line and exits 111. There is no partial success: a
// process that could not finish enterJail() must not go on.
//
// Helpers for the entry process (root, before anything starts):
//   ensureJailDir(dir), randomJailIds(n), jailIdsForUser(name).
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';

/** The subset of the `posix` native addon we use (it ships no types). */
interface Posix {
  chroot(dir: string): void;
  setrlimit(resource: string, limits: { soft: number | null; hard: number | null }): void;
  getrlimit(resource: string): { soft: number | null; hard: number | null };
  getpwnam(user: string | number): { name: string; uid: number; gid: number };
}

// Loaded at module load time, so the addon is in memory before any chroot.
// eslint-disable-next-line @typescript-eslint/no-var-requires
const posix: Posix = require('posix');

/** The jail every program of ours uses unless -J names another (tlswrapper's own default). */
export const DEFAULT_JAIL_DIR = '/var/lib/tlswrapper/empty';

export interface JailSpec {
  uid: number;
  gid: number;
  dir: string;
}

/**
 * A jailed process that is still to be handed its connection (a spare
 * netproc of tlswrapper-server) needs room for exactly one more descriptor:
 * the socket it receives. RLIMIT_NOFILE then stays at the lowest free
 * descriptor number plus one, so the kernel can place that one socket and
 * nothing else; closeLastSlot() lowers it to 0 once the socket is in.
 */
export interface JailOptions {
  oneSlotLeft?: boolean;
  /**
   * The companions (tlswrapper-tcp, -smtp) log to their own stderr, which a
   * super-server may have pointed at a regular file (2>>log). Then
   * RLIMIT_FSIZE is left as it is, so the log survives the jail: no new
   * file can be opened anyway (RLIMIT_NOFILE 0), only the inherited ones
   * grow. With any other stderr (a pipe, a tty) the limit is 0 as always.
   */
  keepLogFile?: boolean;
}

/** Whether fd 2 is a regular file (see JailOptions.keepLogFile). */
export function stderrIsRegularFile(): boolean {
  try {
    return fs.fstatSync(2).isFile();
  } catch {
    return false;
  }
}

export interface JailIds {
  uid: number;
  gid: number;
}

export class JailError extends Error {
  constructor(
    readonly step: string,
    detail: string,
  ) {
    super(`jail: ${step}: ${detail}`);
  }
}

/** Resources set to {soft: 0, hard: 0}: no new fds, no forks/threads, no file growth, no core dumps. */
export const JAIL_RLIMITS = ['nofile', 'nproc', 'fsize', 'core'] as const;

/**
 * A jailed process's memory ceiling (RLIMIT_DATA: its heap, private writable
 * mappings and thread stacks), so that a bug that makes one grow ends that
 * connection (V8 aborts on a failed allocation) and not the machine in swap.
 * Measured on Node 20: netproc ~84 MiB of it at rest (most of it thread
 * stacks), ~100 MiB after 100 MiB echoed; keyproc less. Node's address space
 * (RLIMIT_AS) is mostly reservations of V8's and is not limited.
 */
export const JAIL_DATA_LIMIT = 256 * 1024 * 1024;

/** First id of the range used for random jail ids (as upstream tlswrapper: 141500000 + ...). */
export const JAIL_ID_BASE = 141_500_000;
/** Size of the random range above JAIL_ID_BASE; the top stays far below 2^32 - 1 ((uid_t)-1). */
export const JAIL_ID_SPAN = 1_000_000_000;

function errText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

function step<T>(name: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof JailError) throw e;
    throw new JailError(name, errText(e));
  }
}

function validId(n: unknown): n is number {
  return typeof n === 'number' && Number.isInteger(n) && n > 0 && n < 0xffffffff;
}

/**
 * Everything that needs a resource we will not have inside the jail: run it
 * before enterJail(), with all code already loaded (the processes are single
 * bundles, so there is no lazy require left to hit the filesystem).
 */
export async function prepareForJail(): Promise<void> {
  // The stderr stream object wraps fd 2; create it now (tty/pipe/file probing).
  void process.stderr;
  // Start the libuv threadpool: its threads cannot be created after
  // RLIMIT_NPROC=0, and the first async call would abort the process.
  await new Promise<void>((resolve, reject) =>
    crypto.randomBytes(1, (err) => (err ? reject(new JailError('threadpool', errText(err))) : resolve())),
  );
  // Warm OpenSSL: seed the RNG and touch the algorithms keyproc/netproc use,
  // so any lazy provider/config loading happens while files can still be opened.
  crypto.randomBytes(16);
  crypto.createHash('sha256').update('x').digest();
  crypto.createHmac('sha384', 'k').update('x').digest();
}

/**
 * chroot into spec.dir and become spec.uid/spec.gid with no supplementary
 * groups and zero limits. Throws JailError naming the failed step.
 */
export function enterJail(spec: JailSpec, options: JailOptions = {}): void {
  if (!spec || !validId(spec.uid)) throw new JailError('spec', `bad uid ${spec?.uid}`);
  if (!validId(spec.gid)) throw new JailError('spec', `bad gid ${spec.gid}`);
  if (typeof spec.dir !== 'string' || !path.isAbsolute(spec.dir) || spec.dir.includes('\0'))
    throw new JailError('spec', `jail directory must be an absolute path`);
  if (typeof process.getuid !== 'function' || process.getuid() !== 0 || process.geteuid!() !== 0)
    throw new JailError('spec', 'must start as root');

  // Counted before the chroot, while /dev/null is still there.
  const nofile = options.oneSlotLeft ? step('nofile', () => lowestFreeFd() + 1) : 0;

  // 4. chroot: posix.chroot does chdir(dir) then chroot(dir).
  const before = step('chroot', () => fs.statSync(spec.dir));
  step('chroot', () => posix.chroot(spec.dir));
  step('chdir', () => {
    // Node caches process.cwd() until process.chdir() is called, so chdir('/')
    // (a no-op inside the new root) also makes the check below ask the kernel.
    process.chdir('/');
    const cwd = process.cwd();
    if (cwd !== '/') throw new Error(`cwd is '${cwd}' after chroot, not '/'`);
    // '/' must now be the jail directory itself (same device and inode).
    const root = fs.statSync('/');
    if (root.dev !== before.dev || root.ino !== before.ino) throw new Error(`'/' is not '${spec.dir}' after chroot`);
  });

  // 5. groups first, while we are still root; numeric ids (no /etc/group inside).
  step('setgroups', () => process.setgroups!([]));
  step('setgid', () => process.setgid!(spec.gid));

  // 6. limits, while still root (lowering the hard limit is allowed anyway).
  setZeroLimits(nofile, options.keepLogFile === true && stderrIsRegularFile());
  setLimit('data', JAIL_DATA_LIMIT);

  // 7. setuid last: as root it sets real, effective and saved uid.
  step('setuid', () => process.setuid!(spec.uid));

  step('verify', () => {
    const uid = process.getuid!();
    const euid = process.geteuid!();
    const gid = process.getgid!();
    const egid = process.getegid!();
    if (uid !== spec.uid || euid !== spec.uid) throw new Error(`uid ${uid}/${euid}, expected ${spec.uid}`);
    if (gid !== spec.gid || egid !== spec.gid) throw new Error(`gid ${gid}/${egid}, expected ${spec.gid}`);
    // Node's getgroups() adds the egid when it is not in the list; anything else is a leftover group.
    const groups = process.getgroups!();
    if (groups.some((g) => g !== spec.gid)) throw new Error(`supplementary groups left: ${groups.join(',')}`);
    // The saved uid must be gone too: getting root back has to fail.
    let regained = false;
    try {
      process.setuid!(0);
      regained = true;
    } catch {
      // expected: EPERM
    }
    if (regained) throw new Error('setuid(0) succeeded after dropping privileges');
  });

  // 8. Without a listener, SIGUSR1 makes Node start its inspector thread, which
  // cannot be created under RLIMIT_NPROC=0 and aborts the process.
  step('sigusr1', ignoreSigusr1);
}

function ignoreSigusr1(): void {
  process.on('SIGUSR1', () => {});
}

function setZeroLimits(nofile = 0, logFileGrows = false): void {
  for (const resource of JAIL_RLIMITS) {
    if (resource === 'fsize' && logFileGrows) continue;
    setLimit(resource, resource === 'nofile' ? nofile : 0);
  }
}

function setLimit(resource: string, value: number): void {
  step(`setrlimit ${resource}`, () => {
    posix.setrlimit(resource, { soft: value, hard: value });
    const got = posix.getrlimit(resource);
    if (got.soft !== value || got.hard !== value) throw new Error(`limit is ${got.soft}/${got.hard}, not ${value}/${value}`);
  });
}

/**
 * The lowest descriptor number not in use: where the next descriptor goes.
 * The kernel gives a new descriptor the lowest free number, so opening one
 * and closing it again tells. (Listing /proc/self/fd would not: the listing
 * holds a descriptor of its own, the lowest free one, and would make that
 * number look taken, leaving two slots instead of one.)
 */
function lowestFreeFd(): number {
  const fd = fs.openSync('/dev/null', 'r');
  fs.closeSync(fd);
  return fd;
}

/** After enterJail(spec, { oneSlotLeft: true }) and the socket's arrival: no new descriptor at all. */
export function closeLastSlot(): void {
  setLimit('nofile', 0);
}

/**
 * What a process that is not root can still do (a companion program run as
 * tlswrapper -u's user): no chroot, no uid change, only the zero limits.
 * Throws JailError naming the failed step.
 */
export function enterLimitsOnly(options: Pick<JailOptions, 'keepLogFile'> = {}): void {
  setZeroLimits(0, options.keepLogFile === true && stderrIsRegularFile());
  step('sigusr1', ignoreSigusr1);
}

/**
 * For the entry process (root), before any child starts. Creates `dir`
 * (mkdir -p; missing parents 0755, the directory itself 0555, all root-owned)
 * or checks the existing one: a real directory (not a symlink), owned by root,
 * not writable by group or other, and EMPTY.
 *
 * Why refuse a non-empty directory: the jail is the processes' whole
 * filesystem view. tlswrapper documents it as "an empty, unwritable directory";
 * anything inside (a device node, a setuid binary, a key someone put there by
 * mistake) would be reachable from a compromised netproc. Refusing costs one
 * readdir and turns a silent weakening into a clear configuration error.
 */
export function ensureJailDir(dir: string): void {
  if (typeof dir !== 'string' || dir === '' || dir.includes('\0'))
    throw new Error(`jail directory '${dir}': not a valid path`);
  if (!path.isAbsolute(dir)) throw new Error(`jail directory '${dir}': must be an absolute path`);

  let st: fs.Stats;
  try {
    st = fs.lstatSync(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT')
      throw new Error(`jail directory '${dir}': unable to stat: ${errText(e)}`);
    try {
      const parent = path.dirname(dir);
      fs.mkdirSync(parent, { recursive: true, mode: 0o755 });
      try {
        fs.mkdirSync(dir, { mode: 0o555 });
      } catch (e2) {
        // Another instance may have created it at the same moment: checked below.
        if ((e2 as NodeJS.ErrnoException).code !== 'EEXIST') throw e2;
      }
      st = fs.lstatSync(dir);
      if (st.isDirectory() && st.uid === 0 && (st.mode & 0o7777) !== 0o555) fs.chmodSync(dir, 0o555); // umask
      st = fs.lstatSync(dir);
    } catch (e2) {
      throw new Error(`jail directory '${dir}': unable to create: ${errText(e2)}`);
    }
  }
  if (st.isSymbolicLink()) throw new Error(`jail directory '${dir}': is a symbolic link`);
  if (!st.isDirectory()) throw new Error(`jail directory '${dir}': not a directory`);
  if (st.uid !== 0) throw new Error(`jail directory '${dir}': owned by uid ${st.uid}, not root`);
  if ((st.mode & 0o022) !== 0)
    throw new Error(`jail directory '${dir}': writable by group or other (mode ${(st.mode & 0o7777).toString(8)})`);
  let entries: string[];
  try {
    entries = fs.readdirSync(dir);
  } catch (e) {
    throw new Error(`jail directory '${dir}': unable to list: ${errText(e)}`);
  }
  if (entries.length !== 0) throw new Error(`jail directory '${dir}': not empty`);
}

/**
 * `count` distinct random ids (uid = gid) in [JAIL_ID_BASE, JAIL_ID_BASE + JAIL_ID_SPAN),
 * a range no real account uses. Distinct ids for netproc and keyproc mean
 * neither can signal or ptrace the other.
 */
export function randomJailIds(count: number): JailIds[] {
  if (!Number.isInteger(count) || count < 0 || count > 1000) throw new RangeError(`bad id count ${count}`);
  const seen = new Set<number>();
  const out: JailIds[] = [];
  while (out.length < count) {
    const id = JAIL_ID_BASE + crypto.randomInt(JAIL_ID_SPAN);
    if (seen.has(id)) continue;
    seen.add(id);
    out.push({ uid: id, gid: id });
  }
  return out;
}

/** `-j jailuser`: the user's uid and primary gid; never root's. */
export function jailIdsForUser(name: string): JailIds {
  if (typeof name !== 'string' || name === '' || name.includes('\0'))
    throw new Error(`jail user '${name}': not a valid user name`);
  let pw: { uid: number; gid: number };
  try {
    pw = posix.getpwnam(name);
  } catch (e) {
    throw new Error(`jail user '${name}': unknown user (${errText(e)})`);
  }
  if (pw.uid === 0) throw new Error(`jail user '${name}': has uid 0, refusing to jail as root`);
  if (pw.gid === 0) throw new Error(`jail user '${name}': has gid 0, refusing to jail with group root`);
  if (!validId(pw.uid) || !validId(pw.gid)) throw new Error(`jail user '${name}': bad uid/gid ${pw.uid}/${pw.gid}`);
  return { uid: pw.uid, gid: pw.gid };
}

/**
 * A companion program's jail (tlswrapper-tcp, tlswrapper-smtp): as root, the
 * -J directory (checked or made) with -j's ids or random ones; not root, null
 * (only enterLimitsOnly() is possible) and `why` says what is given up, for a
 * log line. Throws when the directory or the user is unusable.
 */
export function companionJail(dir: string | undefined, user: string | undefined, defaultDir = DEFAULT_JAIL_DIR): { spec: JailSpec | null; why?: string } {
  if (process.getuid?.() !== 0) {
    const given = `${dir ? ` to ${dir}` : ''}`;
    return { spec: null, why: `not running as root (uid ${process.getuid?.()}): no chroot${given} and no uid change${user ? ` to ${user}` : ''}` };
  }
  const jailDir = dir ?? defaultDir;
  ensureJailDir(jailDir);
  const ids = user !== undefined ? jailIdsForUser(user) : randomJailIds(1)[0];
  return { spec: { dir: jailDir, uid: ids.uid, gid: ids.gid } };
}

/**
 * A companion enters companionJail()'s jail, or only the limits without
 * root. Its log lines go to its own stderr, so a log file there keeps
 * growing (JailOptions.keepLogFile). Returns what was done, for a debug
 * line; throws JailError.
 */
export function enterCompanionJail(spec: JailSpec | null): string {
  const logFile = stderrIsRegularFile();
  if (spec) {
    enterJail(spec, { keepLogFile: true });
    return `jailed: uid ${spec.uid}, gid ${spec.gid}, root ${spec.dir}`;
  }
  enterLimitsOnly({ keepLogFile: true });
  return `limited: rlimits nofile, nproc, core 0, fsize ${logFile ? 'kept (stderr is a file)' : '0'}`;
}
