// tlswrapper-smtp's command line, parsed the way tlswrapper parses its own
// (lib/getopt.ts, lib/companionopts.ts). Then prog and its arguments.
import { flag, JAIL_OPTIONS, nonEmpty, parseWithTable, seconds, VERBOSITY_OPTIONS, withArgument, type OptionTable } from '../lib/companionopts';
import { UsageError, type PartialVerbosity } from '../lib/getopt';

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

const GREYLIST = 'greylisting (-g, -c, -C) is not implemented yet';

const notImplemented = (letter: string): never => {
  throw new UsageError(`option -${letter}: ${GREYLIST}`);
};

type Building = Omit<SmtpOptions, 'prog'>;

const OPTIONS: OptionTable<Building> = {
  ...VERBOSITY_OPTIONS,
  t: seconds((o, s) => (o.timeout = s)),
  T: seconds((o, s) => (o.rwTimeout = s)),
  u: nonEmpty('a user', (o, user) => (o.user = user)),
  ...JAIL_OPTIONS,
  g: withArgument((_o, _value, letter) => notImplemented(letter)),
  c: flag((_o, letter) => notImplemented(letter)),
  C: flag((_o, letter) => notImplemented(letter)),
};

export function parseSmtpOptions(argv: string[], seen: PartialVerbosity = { verbosity: 1 }): SmtpOptions {
  const o: Building = { verbosity: 1, timeout: DEFAULT_TIMEOUT, rwTimeout: DEFAULT_RW_TIMEOUT };
  const prog = parseWithTable(argv, OPTIONS, o, seen);
  if (prog.length < 1 || prog[0] === '') throw new UsageError('missing prog');
  return { ...o, prog };
}
