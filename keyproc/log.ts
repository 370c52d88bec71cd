// Tiny local logger until the shared src/log.ts exists: one line per message on
// fd 2, written synchronously (no stream object needed inside the jail) and
// never throwing: with stderr on a regular file, RLIMIT_FSIZE=0 makes every
// write after the jail fail with EFBIG, and a lost log line must not kill us.
import * as fs from 'node:fs';

export const Level = { fatal: 1, info: 2, debug: 3, tracing: 4 } as const;
export type LevelName = keyof typeof Level;

let verbosity = 1;

export function setVerbosity(v: number): void {
  verbosity = v;
}

export function log(level: LevelName, message: string): void {
  if (verbosity < Level[level]) return;
  const line = `tlswrapper: keyproc: ${level}: ${message.replace(/[\r\n]/g, ' ')}\n`;
  try {
    fs.writeSync(2, line);
  } catch {
    // nowhere left to report it
  }
}
