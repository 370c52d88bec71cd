// tlswrapper-tcp's command line, parsed the way tlswrapper parses its own
// (lib/getopt.ts, lib/companionopts.ts). Then exactly host and port.
import { JAIL_OPTIONS, parseWithTable, seconds, VERBOSITY_OPTIONS, withArgument, type OptionTable } from '../lib/companionopts';
import { UsageError, type PartialVerbosity } from '../lib/getopt';

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

function parseProxyVersion(direction: string, option: string, text: string): 0 | 1 | 2 {
  if (text === '0' || text === '1' || text === '2') return Number(text) as 0 | 1 | 2;
  throw new UsageError(
    `unable to parse ${direction} proxy-protocol version from the string '${text}' (-${option}, available: 0, 1, 2)`,
  );
}

type Building = Omit<TcpOptions, 'host' | 'port'>;

const OPTIONS: OptionTable<Building> = {
  ...VERBOSITY_OPTIONS,
  t: seconds((o, s) => (o.timeout = s)),
  T: seconds((o, s) => (o.connectTimeout = s)),
  p: withArgument((o, value, letter) => (o.proxyIn = parseProxyVersion('incoming', letter, value))),
  P: withArgument((o, value, letter) => (o.proxyOut = parseProxyVersion('outgoing', letter, value))),
  ...JAIL_OPTIONS,
};

export function parseTcpOptions(argv: string[], seen: PartialVerbosity = { verbosity: 1 }): TcpOptions {
  const o: Building = {
    verbosity: 1,
    timeout: DEFAULT_TIMEOUT,
    connectTimeout: DEFAULT_CONNECT_TIMEOUT,
    proxyIn: 0,
    proxyOut: 0,
  };
  const rest = parseWithTable(argv, OPTIONS, o, seen);
  if (rest.length < 1 || rest[0] === '') throw new UsageError('missing host');
  if (rest.length < 2) throw new UsageError('missing port');
  if (rest.length > 2) throw new UsageError(`unexpected argument '${rest[2]}' after host and port`);
  const [host, portText] = rest;
  if (!/^[1-9][0-9]{0,4}$/.test(portText) || Number(portText) > 65535) {
    throw new UsageError(`unable to parse TCP port (a number 1 - 65535) from the string '${portText}'`);
  }
  return { ...o, host, port: Number(portText) };
}
