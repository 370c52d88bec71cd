// tlswrapper-tcp's command line, parsed the way tlswrapper parses its own:
// single-letter options that may be bundled (-vv, -qv), an option's argument
// attached (-t60) or the next word, options end at the first word that is not
// an option or at "-"/"--". Then exactly host and port.

export class UsageError extends Error {}

export const USAGE = 'tlswrapper-tcp [options] host port';
export const DEFAULT_TIMEOUT = 3600;
export const DEFAULT_CONNECT_TIMEOUT = 10;

export interface TcpOptions {
  /** -q 0, -Q 1 (default), each -v one more. */
  verbosity: number;
  /** -t: idle (network) timeout, seconds. */
  timeout: number;
  /** -T: connect timeout, seconds, for all of host's addresses together. */
  connectTimeout: number;
  /** -p: PROXY header expected first on stdin (0: none). */
  proxyIn: 0 | 1 | 2;
  /** -P: PROXY header sent first to the backend (0: none). */
  proxyOut: 0 | 1 | 2;
  /** -J: chroot directory (unset: the default, see main.ts). */
  jailDir?: string;
  /** -j: jail user (unset: a random uid/gid). */
  jailUser?: string;
  host: string;
  port: number;
}

const WITH_ARGUMENT = new Set(['t', 'T', 'p', 'P', 'J', 'j']);

function parseSeconds(option: string, text: string): number {
  if (!/^[0-9]+$/.test(text) || Number(text) < 1 || Number(text) > 86400) {
    throw new UsageError(
      `unable to parse timeout from the string '${text}' (-${option}), timeout must be a number in the range <1,86400>`,
    );
  }
  return Number(text);
}

function parseProxyVersion(direction: string, option: string, text: string): 0 | 1 | 2 {
  if (text === '0' || text === '1' || text === '2') return Number(text) as 0 | 1 | 2;
  throw new UsageError(
    `unable to parse ${direction} proxy-protocol version from the string '${text}' (-${option}, available: 0, 1, 2)`,
  );
}

/** The verbosity reached so far, so a usage error can honour an earlier -q. */
export interface PartialVerbosity {
  verbosity: number;
}

export function parseTcpOptions(argv: string[], seen: PartialVerbosity = { verbosity: 1 }): TcpOptions {
  const o: Omit<TcpOptions, 'host' | 'port'> = {
    verbosity: 1,
    timeout: DEFAULT_TIMEOUT,
    connectTimeout: DEFAULT_CONNECT_TIMEOUT,
    proxyIn: 0,
    proxyOut: 0,
  };
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
            o.connectTimeout = parseSeconds(letter, value);
            break;
          case 'p':
            o.proxyIn = parseProxyVersion('incoming', letter, value);
            break;
          case 'P':
            o.proxyOut = parseProxyVersion('outgoing', letter, value);
            break;
          case 'J':
            if (value === '') throw new UsageError('option -J needs a directory');
            o.jailDir = value;
            break;
          case 'j':
            if (value === '') throw new UsageError('option -j needs a user');
            o.jailUser = value;
            break;
        }
        break;
      }
      if (letter === 'q') o.verbosity = 0;
      else if (letter === 'Q') o.verbosity = 1;
      else if (letter === 'v') o.verbosity++;
      else throw new UsageError(`unknown option -${letter}`);
      seen.verbosity = o.verbosity;
    }
  }
  const rest = argv.slice(i);
  if (rest.length < 1 || rest[0] === '') throw new UsageError('missing host');
  if (rest.length < 2) throw new UsageError('missing port');
  if (rest.length > 2) throw new UsageError(`unexpected argument '${rest[2]}' after host and port`);
  const [host, portText] = rest;
  if (!/^[1-9][0-9]{0,4}$/.test(portText) || Number(portText) > 65535) {
    throw new UsageError(`unable to parse TCP port (a number 1 - 65535) from the string '${portText}'`);
  }
  return { ...o, host, port: Number(portText) };
}
