// tlswrapper-smtp's log lines on stderr: "tlswrapper-smtp: level: message".
// -q 0 (nothing), -Q 1 (default: fatal errors, usage, warnings), -v 2 (info),
// -vv 3 (debug), -vvv 4 (tracing).
import { writeSync } from 'node:fs';

const levels = { usage: 1, fatal: 1, warning: 1, info: 2, debug: 3, tracing: 4 } as const;
export type SmtpLevel = keyof typeof levels;
export type SmtpLogger = Record<SmtpLevel, (message: string) => void>;

export const PROGRAM = 'tlswrapper-smtp';

export function createSmtpLogger(verbosity: number): SmtpLogger {
  const logger = {} as SmtpLogger;
  for (const level of Object.keys(levels) as SmtpLevel[]) {
    logger[level] =
      verbosity >= levels[level]
        ? (message) => {
            // Synchronous: the line must be out before a process.exit() that follows.
            try {
              writeSync(2, `${PROGRAM}: ${level}: ${message}\n`);
            } catch {
              // stderr gone: nowhere left to say it
            }
          }
        : () => {};
  }
  return logger;
}
