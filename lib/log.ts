// One log line per event on stderr, in tlswrapper's shape: "tlswrapper: level: message".
// Verbosity follows tlswrapper's options: -q 0, -Q 1 (default), -v 2, -vv 3, -vvv 4.
// Levels: fatal and usage print from 1, info/warning about the TLS connection
// from 2, debug from 3, tracing from 4; nothing prints at 0.

import { writeSync } from 'node:fs';
import { EXIT_FAILURE } from './exitcodes';

export const Verbosity = { QUIET: 0, NORMAL: 1, VERBOSE: 2, DEBUG: 3, TRACE: 4 } as const;

const levels = {
  usage: 1,
  fatal: 1,
  error: 2,
  warning: 2,
  info: 2,
  debug: 3,
  tracing: 4,
} as const;

export type Level = keyof typeof levels;

export type Logger = Record<Level, (message: string) => void>;

/**
 * `program`: the companion programs (tlswrapper-tcp, ...) log under their own name.
 * `role` names the process (netproc, keyproc) so a reader can tell which of a
 * connection's processes said it; the entry process logs without one.
 */
export function createLogger(verbosity: number, role?: string, program = 'tlswrapper'): Logger {
  const prefix = role ? `${program}: ${role}: ` : `${program}: `;
  const logger = {} as Logger;
  for (const level of Object.keys(levels) as Level[]) {
    logger[level] =
      verbosity >= levels[level]
        ? (message) => {
            // Synchronous so a line is never lost when the process exits right after.
            try {
              writeSync(2, `${prefix}${level}: ${message}\n`);
            } catch {
              // stderr gone: nothing sensible left to do with a log line
            }
          }
        : () => {};
  }
  return logger;
}

/** What went wrong, in one line: an Error's message, anything else thrown as a string. */
export function errText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** Any untrusted string (a host name, a peer's line) made safe for one log line. */
export function printable(s: string, max = 300): string {
  const cut = s.length > max ? s.slice(0, max) : s;
  let out = '';
  for (const ch of cut) {
    const c = ch.charCodeAt(0);
    out += c >= 0x20 && c < 0x7f && ch !== '\\' && ch !== "'" ? ch : `\\x${c.toString(16).padStart(2, '0')}`;
  }
  return s.length > max ? out + '...' : out;
}

/** Give up: the reason as a fatal line (if the verbosity shows it), then exit with code. */
export function fatalExit(log: Logger, message: string, code: number = EXIT_FAILURE): never {
  log.fatal(message);
  process.exit(code);
}

/**
 * Run a companion program's main; whatever escapes it (a bug) still ends in
 * one fatal line, whatever the verbosity, and exit 111, never a stack trace.
 */
export function runMain(program: string, main: () => Promise<void>): void {
  main().catch((e) => fatalExit(createLogger(Verbosity.NORMAL, undefined, program), errText(e)));
}
