// tlswrapper-alias -a: read the client's alias line, then append it to the
// alias file under a lock.
//
// Reading: one byte at a time from fd 0, up to and including the newline, so
// whatever the client sent after its alias line is still unread in the pipe
// when prog starts with the same fd 0. Each 1-byte read runs in libuv's
// thread pool (fs.read), so a timer can end the wait; the process then exits
// with the read still pending, which is fine as nothing reads after it.
//
// Locking: `<file>.lock`, created with O_CREAT|O_EXCL (atomic: at most one
// process creates it), held only while we re-read the file, check it and
// append one line (milliseconds; never while waiting for the client), then
// unlinked. Node has no flock(2); O_EXCL needs nothing else and is exact on a
// local file system. The cost: a lock left by a process killed with SIGKILL in
// those milliseconds stays; we then give up after LOCK_WAIT_MS with a message
// naming it instead of guessing it stale (breaking a lock by age is racy:
// two waiters can each break and both hold it). SIGTERM/INT/HUP cannot leave
// it: main's handlers run only between synchronous sections, and the whole
// locked section is synchronous.
import * as fs from 'node:fs';
import { ALIAS_MAX, aliasLine, parseAliasFile } from './parse';

export const LOCK_WAIT_MS = 5000;

export type LineResult = { ok: true; line: string } | { ok: false; error: string };

/** One line from `fd`: at most `max` bytes before the newline (a CR before it is dropped). */
export function readLine(fd: number, timeoutMs: number, max = ALIAS_MAX): Promise<LineResult> {
  return new Promise((resolve) => {
    const bytes: number[] = [];
    const one = Buffer.alloc(1);
    let done = false;
    const finish = (r: LineResult) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      resolve(r);
    };
    const timer = setTimeout(() => finish({ ok: false, error: `no alias line within ${timeoutMs / 1000} s` }), timeoutMs);
    const next = (): void => {
      fs.read(fd, one, 0, 1, null, (err, n) => {
        if (done) return;
        if (err) {
          const code = (err as NodeJS.ErrnoException).code;
          if (code === 'EAGAIN' || code === 'EWOULDBLOCK' || code === 'EINTR') { setTimeout(next, 10); return; }
          finish({ ok: false, error: `cannot read the alias line: ${err.message}` });
          return;
        }
        if (n === 0) { finish({ ok: false, error: 'end of input before the alias line ended' }); return; }
        if (one[0] === 0x0a) {
          if (bytes.length > 0 && bytes[bytes.length - 1] === 0x0d) bytes.pop();
          finish(bytes.length > max ? { ok: false, error: 'alias line too long' } : { ok: true, line: Buffer.from(bytes).toString('latin1') });
          return;
        }
        bytes.push(one[0]);
        // max bytes, maybe a CR, then the newline: anything longer is refused without reading on.
        if (bytes.length > max + 1) { finish({ ok: false, error: 'alias line too long' }); return; }
        next();
      });
    };
    next();
  });
}

const sleepSync = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

/** Run `fn` holding `<file>.lock` (see above); throws if the lock stays taken for waitMs. */
export function withLock<T>(file: string, fn: () => T, waitMs = LOCK_WAIT_MS): T {
  const lock = `${file}.lock`;
  const deadline = Date.now() + waitMs;
  let fd: number;
  for (;;) {
    try {
      fd = fs.openSync(lock, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL, 0o600);
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      if (Date.now() >= deadline) throw new Error(`${lock} is still there after ${waitMs / 1000} s (remove it if no tlswrapper-alias is running)`);
      sleepSync(5 + Math.floor(Math.random() * 10));
    }
  }
  try {
    fs.writeSync(fd, `${process.pid}\n`);
    return fn();
  } finally {
    fs.closeSync(fd);
    fs.unlinkSync(lock);
  }
}

export type AppendResult = { ok: true } | { ok: false; error: string; taken?: boolean };

/**
 * Under the lock: re-read the file (another registration may have landed
 * since we looked), refuse a broken file, an alias taken or a hash already
 * registered, then append the line with one write() on an O_APPEND fd.
 */
export function appendAlias(file: string, hash: string, alias: string): AppendResult {
  return withLock(file, (): AppendResult => {
    let text = '';
    try {
      text = fs.readFileSync(file, 'latin1');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
    const parsed = parseAliasFile(text);
    if (!parsed.ok) return { ok: false, error: `${file}: ${parsed.error}` };
    if (parsed.table.byAlias.has(alias)) return { ok: false, error: `alias ${alias} is taken`, taken: true };
    const had = parsed.table.byHash.get(hash);
    if (had !== undefined) return { ok: false, error: `certificate registered meanwhile as ${had}` };
    // A last line without its newline gets one first, in the same write.
    const line = (text !== '' && !text.endsWith('\n') ? '\n' : '') + aliasLine(hash, alias);
    const fd = fs.openSync(file, fs.constants.O_WRONLY | fs.constants.O_APPEND | fs.constants.O_CREAT, 0o644);
    try {
      const buf = Buffer.from(line, 'latin1');
      const n = fs.writeSync(fd, buf);
      if (n !== buf.length) throw new Error(`short write to ${file} (${n} of ${buf.length} bytes)`);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    return { ok: true };
  });
}
