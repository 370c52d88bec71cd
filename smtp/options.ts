// tlswrapper-smtp's command line, parsed the way tlswrapper parses its own:
// single-letter options that may be bundled (-vv, -qv), an option's argument
// attached (-t60) or the next word, options end at the first word that is not
// an option or at "-"/"--". Then prog and its arguments.

export class UsageError extends Error {}

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

function parseSeconds(option: string, text: string): number {
  if (!/^[0-9]+$/.test(text) || Number(text) < 1 || Number(text) > 86400) {
    throw new UsageError(
      `unable to parse timeout from the string '${text}' (-${option}), timeout must be a number in the range <1,86400>`,
    );
  }
  return Number(text);
}

/** The verbosity reached so far, so a usage error can honour an earlier -q. */
export interface PartialVerbosity {
  verbosity: number;
}

const GREYLIST = 'greylisting (-g, -c, -C) is not implemented yet';

export function parseSmtpOptions(argv: string[], seen: PartialVerbosity = { verbosity: 1 }): SmtpOptions {
  const o: Omit<SmtpOptions, 'prog'> = { verbosity: 1, timeout: DEFAULT_TIMEOUT, rwTimeout: DEFAULT_RW_TIMEOUT };
  let i = 0;
  for (; i < argv.length; i++) {
    const word = argv[i];
    if (word === '-' || word === '--') {
      i++;
      break;
    }
    if (!word.startsWith('-')) break;
    for (let k = 1; k < word.length; k++) {
      const letter = word[k];
      if (WITH_ARGUMENT.has(letter)) {
        let value = word.slice(k + 1);
        if (value === '') {
          if (i + 1 >= argv.length) throw new UsageError(`option -${letter} needs an argument`);
          value = argv[++i];
        }
        switch (letter) {
          case 't':
            o.timeout = parseSeconds(letter, value);
            break;
          case 'T':
            o.rwTimeout = parseSeconds(letter, value);
            break;
          case 'u':
            if (value === '') throw new UsageError('option -u needs a user');
            o.user = value;
            break;
          case 'J':
            if (value === '') throw new UsageError('option -J needs a directory');
            o.jailDir = value;
            break;
          case 'j':
            if (value === '') throw new UsageError('option -j needs a user');
            o.jailUser = value;
            break;
          case 'g':
            throw new UsageError(`option -g: ${GREYLIST}`);
        }
        break;
      }
      if (letter === 'q') o.verbosity = 0;
      else if (letter === 'Q') o.verbosity = 1;
      else if (letter === 'v') o.verbosity++;
      else if (letter === 'c' || letter === 'C') throw new UsageError(`option -${letter}: ${GREYLIST}`);
      else throw new UsageError(`unknown option -${letter}`);
      seen.verbosity = o.verbosity;
    }
  }
  const prog = argv.slice(i);
  if (prog.length < 1 || prog[0] === '') throw new UsageError('missing prog');
  return { ...o, prog };
}
