// tlswrapper-tcp's command line, parsed the way tlswrapper parses its own
// (lib/getopt.ts). Then exactly host and port.
import { getopt, parseSeconds, UsageError, type PartialVerbosity } from '../lib/getopt';

export { UsageError };

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

function parseProxyVersion(direction: string, option: string, text: string): 0 | 1 | 2 {
  if (text === '0' || text === '1' || text === '2') return Number(text) as 0 | 1 | 2;
  throw new UsageError(
    `unable to parse ${direction} proxy-protocol version from the string '${text}' (-${option}, available: 0, 1, 2)`,
  );
}

export function parseTcpOptions(argv: string[], seen: PartialVerbosity = { verbosity: 1 }): TcpOptions {
  const o: Omit<TcpOptions, 'host' | 'port'> = {
    verbosity: 1,
    timeout: DEFAULT_TIMEOUT,
    connectTimeout: DEFAULT_CONNECT_TIMEOUT,
    proxyIn: 0,
    proxyOut: 0,
  };
  const rest = getopt(argv, {
    withArgument: WITH_ARGUMENT,
    flag: (letter) => {
      if (letter === 'q') o.verbosity = 0;
      else if (letter === 'Q') o.verbosity = 1;
      else if (letter === 'v') o.verbosity++;
      else throw new UsageError(`unknown option -${letter}`);
      seen.verbosity = o.verbosity;
    },
    argument: (letter, value) => {
      switch (letter) {
        case 't':
          o.timeout = parseSeconds(letter, value);
          return;
        case 'T':
          o.connectTimeout = parseSeconds(letter, value);
          return;
        case 'p':
          o.proxyIn = parseProxyVersion('incoming', letter, value);
          return;
        case 'P':
          o.proxyOut = parseProxyVersion('outgoing', letter, value);
          return;
        case 'J':
          if (value === '') throw new UsageError('option -J needs a directory');
          o.jailDir = value;
          return;
        case 'j':
          if (value === '') throw new UsageError('option -j needs a user');
          o.jailUser = value;
          return;
      }
    },
  });
  if (rest.length < 1 || rest[0] === '') throw new UsageError('missing host');
  if (rest.length < 2) throw new UsageError('missing port');
  if (rest.length > 2) throw new UsageError(`unexpected argument '${rest[2]}' after host and port`);
  const [host, portText] = rest;
  if (!/^[1-9][0-9]{0,4}$/.test(portText) || Number(portText) > 65535) {
    throw new UsageError(`unable to parse TCP port (a number 1 - 65535) from the string '${portText}'`);
  }
  return { ...o, host, port: Number(portText) };
}
