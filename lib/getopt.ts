// The command line as tlswrapper and its companion programs parse it:
// single-letter options that may be bundled (-vv, -Qv), an option's argument
// either attached (-fcert.pem) or the next word; options end at the first
// word that is not an option, or at "-" / "--" (dropped). What follows is
// the operands (prog and its arguments, or host and port).

import { writeSync } from 'node:fs';
import { EXIT_USAGE } from './exitcodes';

export class UsageError extends Error {}

/** The verbosity reached so far, so a usage error can honour an earlier -q. */
export interface PartialVerbosity {
  verbosity: number;
}

/**
 * A companion program's options, or its usage error as one line,
 * `PROGRAM: fatal: reason (usage: ...)` (nothing after an earlier -q), and
 * exit 100.
 */
export function optionsOrExit<T>(program: string, usage: string, parse: (seen: PartialVerbosity) => T): T {
  const seen = { verbosity: 1 };
  try {
    return parse(seen);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    if (seen.verbosity >= 1) writeSync(2, `${program}: fatal: ${e.message} (usage: ${usage})\n`);
    process.exit(EXIT_USAGE);
  }
}

export interface OptionHandlers {
  /** Letters that take an argument. */
  withArgument: ReadonlySet<string>;
  /** A letter without an argument; throw UsageError for an unknown one. */
  flag(letter: string): void;
  argument(letter: string, value: string): void;
  /** Long options (whole words starting with --), each a flag. */
  long?: Readonly<Record<string, () => void>>;
}

/** Parse the options, calling the handlers in order; returns the operands. */
export function getopt(argv: string[], h: OptionHandlers): string[] {
  let i = 0;
  for (; i < argv.length; i++) {
    const word = argv[i];
    if (word === '-' || word === '--') {
      i++;
      break;
    }
    if (!word.startsWith('-')) break;
    if (word.startsWith('--')) {
      const long = h.long?.[word];
      if (!long) throw new UsageError(`unknown option ${word}`);
      long();
      continue;
    }
    for (let k = 1; k < word.length; k++) {
      const letter = word[k];
      if (!h.withArgument.has(letter)) {
        h.flag(letter);
        continue;
      }
      let value = word.slice(k + 1);
      if (value === '') {
        if (i + 1 >= argv.length) throw new UsageError(`option -${letter} needs an argument`);
        value = argv[++i];
      }
      h.argument(letter, value);
      break;
    }
  }
  return argv.slice(i);
}

/** A timeout option's value: whole seconds, 1 to 86400, in tlswrapper's words when it is not. */
export function parseSeconds(option: string, text: string): number {
  if (!/^[0-9]+$/.test(text) || Number(text) < 1 || Number(text) > 86400) {
    throw new UsageError(
      `unable to parse timeout from the string '${text}' (-${option}), timeout must be a number in the range <1,86400>`,
    );
  }
  return Number(text);
}
