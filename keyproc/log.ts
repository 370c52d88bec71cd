// keyproc's logging: the shared lib/log.ts ("tlswrapper: keyproc: level: message",
// synchronous writeSync(2), never throwing). Never throwing matters here: with
// stderr on a regular file, RLIMIT_FSIZE=0 makes every write after the jail
// fail with EFBIG, and a lost log line must not kill the process.
import { createLogger, type Logger } from '../lib/log';

export type LevelName = 'fatal' | 'info' | 'debug' | 'tracing';

let logger: Logger = createLogger(1, 'keyproc');

export function setVerbosity(v: number): void {
  logger = createLogger(v, 'keyproc');
}

/** One line: newlines in the message (there should be none) become spaces. */
export function log(level: LevelName, message: string): void {
  logger[level](message.replace(/[\r\n]/g, ' '));
}
