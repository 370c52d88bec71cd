// System errors in words, as tlswrapper says them ("file does not exist"),
// not as errno names: log lines are read by people.

const WORDS: Readonly<Record<string, string>> = {
  ENOENT: 'file does not exist',
  EACCES: 'access denied',
  EPERM: 'permission denied',
  ENOTDIR: 'not a directory',
  EISDIR: 'is a directory',
  ELOOP: 'too many levels of symbolic links',
  ENAMETOOLONG: 'file name too long',
  EMFILE: 'too many open files',
  ENFILE: 'too many open files in the system',
  EIO: 'input/output error',
  ENXIO: 'no such device or address',
  ENODEV: 'no such device',
  EAGAIN: 'temporary failure',
  ENOMEM: 'out of memory',
  EFBIG: 'file too large',
  ENOSPC: 'no space left on device',
  EROFS: 'read-only file system',
  EPIPE: 'broken pipe',
  ECONNRESET: 'connection reset',
};

/** The words for an errno name (e.g. 'ENOENT'); an unknown name is returned as it is. */
export function errnoWords(code: string): string {
  return WORDS[code] ?? code;
}

/** An error's errno in words when it has one, else its message. */
export function systemErrorText(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  if (err && typeof err.code === 'string' && /^E[A-Z0-9]+$/.test(err.code)) return errnoWords(err.code);
  return err instanceof Error ? err.message : String(e);
}
