// tlswrapper-server's command line: its own options (how many connections,
// how many spare process sets), HOST and PORT, then a whole tlswrapper
// command line (src/options.ts parses it: every option means what it means
// to tlswrapper).
import { getopt, UsageError } from '../lib/getopt';
import { parseOptions, type Options } from '../src/options';

export { UsageError };

export const USAGE = 'tlswrapper-server [ -c limit ] [ -C perip ] [ -w spares ] host port [tlswrapper options] prog';

export interface ServerOptions {
  /** -c: connections at once; past it new connections wait unread (server/admission.ts) until one ends. */
  maxConnections: number;
  /** -C: connections at once from one client IP address (0: no limit); past it a new one is closed at once. */
  maxPerIp: number;
  /** -w: process sets kept ready (started, warmed, jailed), waiting for a connection. */
  spares: number;
  host: string;
  port: number;
  /** The tlswrapper options and prog, as tlswrapper would take them. */
  tlswrapper: Options;
}

export const DEFAULTS = { maxConnections: 40, maxPerIp: 0, spares: 2 } as const;

const LIMITS: Record<'c' | 'C' | 'w', { name: string; min: number; max: number }> = {
  c: { name: 'connection limit', min: 1, max: 10000 },
  C: { name: 'per-IP connection limit', min: 0, max: 10000 },
  w: { name: 'number of spare process sets', min: 1, max: 100 },
};

function count(letter: 'c' | 'C' | 'w', text: string): number {
  const { name, min, max } = LIMITS[letter];
  if (!/^[0-9]+$/.test(text) || Number(text) < min || Number(text) > max) {
    throw new UsageError(`unable to parse ${name} from the string '${text}' (-${letter}), must be a number in the range <${min},${max}>`);
  }
  return Number(text);
}

function port(text: string | undefined): number {
  if (text === undefined) throw new UsageError('missing port');
  if (!/^[0-9]+$/.test(text) || Number(text) < 1 || Number(text) > 65535) throw new UsageError(`unable to parse port from the string '${text}'`);
  return Number(text);
}

export function parseServerOptions(argv: string[]): ServerOptions {
  const own: { maxConnections: number; maxPerIp: number; spares: number } = { ...DEFAULTS };
  const rest = getopt(argv, {
    withArgument: new Set(['c', 'C', 'w']),
    flag: (letter) => {
      throw new UsageError(`unknown option -${letter} (tlswrapper's options come after host and port)`);
    },
    argument: (letter, value) => {
      const n = count(letter as 'c' | 'C' | 'w', value);
      if (letter === 'c') own.maxConnections = n;
      else if (letter === 'C') own.maxPerIp = n;
      else own.spares = n;
    },
  });
  const [host, portText, ...tlswrapperArgv] = rest;
  if (host === undefined) throw new UsageError('missing host');
  return { ...own, host, port: port(portText), tlswrapper: parseOptions(tlswrapperArgv) };
}
