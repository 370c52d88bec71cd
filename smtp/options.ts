// tlswrapper-smtp's command line, parsed the way tlswrapper parses its own
// (lib/getopt.ts). Then prog and its arguments.
import { getopt, parseSeconds, UsageError, type PartialVerbosity } from '../lib/getopt';

export { UsageError };

export const USAGE = 'tlswrapper-smtp [options] prog';
/** -t: the whole SMTP session, seconds (upstream's default). */
export const DEFAULT_TIMEOUT = 600;
/** -T: one read or write, seconds (upstream's default). */
export const DEFAULT_RW_TIMEOUT = 15;

export interface SmtpOptions {
  /** -q 0, -Q 1 (default), each -v one more. */
  verbosity: number;
  /** -t: session timeout, seconds. */
  timeout: number;
  /** -T: read/write timeout, seconds. */
  rwTimeout: number;
  /** -u: run prog as this user. */
  user?: string;
  /** -J: chroot directory (unset: the default, see main.ts). */
  jailDir?: string;
  /** -j: jail user (unset: a random uid/gid). */
  jailUser?: string;
  /** prog and its arguments. */
  prog: string[];
}

const WITH_ARGUMENT = new Set(['t', 'T', 'u', 'J', 'j', 'g']);

const GREYLIST = 'greylisting (-g, -c, -C) is not implemented yet';

export function parseSmtpOptions(argv: string[], seen: PartialVerbosity = { verbosity: 1 }): SmtpOptions {
  const o: Omit<SmtpOptions, 'prog'> = { verbosity: 1, timeout: DEFAULT_TIMEOUT, rwTimeout: DEFAULT_RW_TIMEOUT };
  const prog = getopt(argv, {
    withArgument: WITH_ARGUMENT,
    flag: (letter) => {
      if (letter === 'q') o.verbosity = 0;
      else if (letter === 'Q') o.verbosity = 1;
      else if (letter === 'v') o.verbosity++;
      else if (letter === 'c' || letter === 'C') throw new UsageError(`option -${letter}: ${GREYLIST}`);
      else throw new UsageError(`unknown option -${letter}`);
      seen.verbosity = o.verbosity;
    },
    argument: (letter, value) => {
      switch (letter) {
        case 't':
          o.timeout = parseSeconds(letter, value);
          return;
        case 'T':
          o.rwTimeout = parseSeconds(letter, value);
          return;
        case 'u':
          if (value === '') throw new UsageError('option -u needs a user');
          o.user = value;
          return;
        case 'J':
          if (value === '') throw new UsageError('option -J needs a directory');
          o.jailDir = value;
          return;
        case 'j':
          if (value === '') throw new UsageError('option -j needs a user');
          o.jailUser = value;
          return;
        case 'g':
          throw new UsageError(`option -g: ${GREYLIST}`);
      }
    },
  });
  if (prog.length < 1 || prog[0] === '') throw new UsageError('missing prog');
  return { ...o, prog };
}
