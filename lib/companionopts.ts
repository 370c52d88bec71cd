// The companion programs' command lines (tlswrapper-tcp, -smtp, -alias) as
// tables: each program lists its letters, which take an argument, and what
// each does to the options being built; lib/getopt.ts does the parsing, so
// bundling, attached arguments and "--" behave as in tlswrapper itself.
import { getopt, parseSeconds, UsageError, type PartialVerbosity } from './getopt';

export { UsageError };

/** One single-letter option. */
export interface CompanionOption<R> {
  /** The option takes an argument (attached, -Jdir, or the next word). */
  takesArgument: boolean;
  /** Apply it to the options being built ('' for a flag); throw UsageError to refuse. */
  set(o: R, value: string, letter: string): void;
}

export type OptionTable<R> = Readonly<Record<string, CompanionOption<R>>>;

/** An option without an argument. */
export function flag<R>(set: (o: R, letter: string) => void): CompanionOption<R> {
  return { takesArgument: false, set: (o, _value, letter) => set(o, letter) };
}

/** An option with an argument. */
export function withArgument<R>(set: (o: R, value: string, letter: string) => void): CompanionOption<R> {
  return { takesArgument: true, set };
}

/** An option whose argument must not be empty: "option -X needs <what>" when it is. */
export function nonEmpty<R>(what: string, set: (o: R, value: string) => void): CompanionOption<R> {
  return withArgument((o, value, letter) => {
    if (value === '') throw new UsageError(`option -${letter} needs ${what}`);
    set(o, value);
  });
}

/** A timeout in whole seconds (getopt.ts parseSeconds, with its message). */
export function seconds<R>(set: (o: R, seconds: number) => void): CompanionOption<R> {
  return withArgument((o, value, letter) => set(o, parseSeconds(letter, value)));
}

/** -q 0, -Q 1 (the default), each -v one more: tlswrapper's own verbosity options. */
export const VERBOSITY_OPTIONS: OptionTable<PartialVerbosity> = {
  q: flag((o) => (o.verbosity = 0)),
  Q: flag((o) => (o.verbosity = 1)),
  v: flag((o) => o.verbosity++),
};

/** -J dir, -j user: the jail of a companion program that jails itself (jail/jail.ts companionJail). */
export const JAIL_OPTIONS: OptionTable<{ jailDir?: string; jailUser?: string }> = {
  J: nonEmpty('a directory', (o, dir) => (o.jailDir = dir)),
  j: nonEmpty('a user', (o, user) => (o.jailUser = user)),
};

/**
 * Apply argv's options from the table to o, in order; returns the operands.
 * A letter not in the table: "unknown option -X". seen follows o's verbosity
 * so that a usage error after -q stays quiet (getopt.ts optionsOrExit).
 */
export function parseWithTable<R extends PartialVerbosity>(argv: string[], table: OptionTable<R>, o: R, seen?: PartialVerbosity): string[] {
  const apply = (letter: string, value: string) => {
    table[letter].set(o, value, letter);
    if (seen) seen.verbosity = o.verbosity;
  };
  const known = (letter: string) => Object.prototype.hasOwnProperty.call(table, letter);
  return getopt(argv, {
    withArgument: new Set(Object.keys(table).filter((letter) => table[letter].takesArgument)),
    flag: (letter) => {
      if (!known(letter)) throw new UsageError(`unknown option -${letter}`);
      apply(letter, '');
    },
    argument: apply,
  });
}
