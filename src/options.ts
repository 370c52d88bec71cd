// tlswrapper's command line (lib/getopt.ts parses it the way tlswrapper
// does). Everything after the options is prog and its arguments.

import type { CertSource } from '../keyproc/paths';
import { getopt, parseSeconds, UsageError } from '../lib/getopt';
import { DEFAULT_JAIL_DIR } from '../jail/jail';
import type { StartTls } from '../wire/starttls';

export { UsageError };

export interface Options {
  verbosity: number;
  certs: CertSource[];
  ciphers: string[];
  groups: string[];
  minVersion: string;
  maxVersion: string;
  /** -t: network (idle) timeout, seconds. */
  timeout: number;
  /** -T: handshake timeout, seconds. */
  handshakeTimeout: number;
  serverPreference: boolean;
  jailDir: string;
  jailUser?: string;
  user?: string;
  /** -a: the PEM file of trust anchors for client certificates; unset: no client certificates. */
  anchorFile?: string;
  /** -U: the client certificate's subject attribute that names prog's user. */
  userFrom?: UserAttribute;
  /**
   * Delayed encryption: 'no' (-N, default); 'n' (-n: tlswrapper's control
   * pipes on prog's fds 5 and 6); 'ucspi' (--ucspi-tls: SSLCTLFD, SSLREADFD,
   * SSLWRITEFD as s6-ucspitlsd and sslserver -n give them).
   */
  startTls: StartTls;
  /** -p: the PROXY protocol version (1 or 2) of the header before the ClientHello; 0 without. */
  proxyVersion: 0 | 1 | 2;
  prog: string[];
}

/** Long options (ours: tlswrapper has none), each a flag. */
const LONG_FLAGS: Record<string, (o: Options) => void> = {
  '--ucspi-tls': (o) => {
    o.startTls = 'ucspi';
  },
};

/** The subject attributes -U accepts, as tlswrapper names them. */
export const USER_ATTRIBUTES = ['commonName', 'emailAddress'] as const;
export type UserAttribute = (typeof USER_ATTRIBUTES)[number];

export const DEFAULT_CIPHERS = ['CHACHA20_POLY1305_SHA256', 'AES_256_GCM_SHA384', 'AES_128_GCM_SHA256'];
// X25519MLKEM768 first: a client that offers it (today's browsers) gets a post-quantum key exchange.
export const DEFAULT_GROUPS = ['x25519mlkem768', 'x25519', 'secp256r1'];

const WITH_ARGUMENT = new Set(['f', 'd', 'a', 'c', 'e', 'm', 'M', 't', 'T', 'u', 'U', 'p', 'J', 'j']);

export function parseOptions(argv: string[]): Options {
  const o: Options = {
    verbosity: 1,
    certs: [],
    ciphers: [],
    groups: [],
    minVersion: 'tls12',
    maxVersion: 'tls13',
    timeout: 60,
    handshakeTimeout: 30,
    serverPreference: true,
    jailDir: DEFAULT_JAIL_DIR,
    proxyVersion: 0,
    startTls: 'no',
    prog: [],
  };
  o.prog = getopt(argv, {
    withArgument: WITH_ARGUMENT,
    flag: (letter) => applyFlag(o, letter),
    argument: (letter, value) => applyArgument(o, letter, value),
    long: Object.fromEntries(Object.entries(LONG_FLAGS).map(([word, set]) => [word, () => set(o)])),
  });
  if (o.prog.length === 0) throw new UsageError('missing prog');
  if (o.certs.length === 0) throw new UsageError('missing -f certfile or -d certdir');
  if (o.userFrom && !o.anchorFile) throw new UsageError('option -U requires option -a');
  // tlswrapper would change to the -U user and then fail to change to the -u one.
  if (o.userFrom && o.user) throw new UsageError('options -u and -U exclude each other');
  // With delayed encryption prog starts before any certificate is seen.
  if (o.userFrom && o.startTls !== 'no') throw new UsageError(`option -U can't be used with ${o.startTls === 'n' ? '-n' : '--ucspi-tls'}`);
  if (o.ciphers.length === 0) o.ciphers = [...DEFAULT_CIPHERS];
  if (o.groups.length === 0) o.groups = [...DEFAULT_GROUPS];
  return o;
}

function applyFlag(o: Options, letter: string): void {
  switch (letter) {
    case 'q':
      o.verbosity = 0;
      return;
    case 'Q':
      o.verbosity = 1;
      return;
    case 'v':
      o.verbosity++;
      return;
    case 's':
      o.serverPreference = true;
      return;
    case 'S':
      o.serverPreference = false;
      return;
    case 'n':
      o.startTls = 'n';
      return;
    case 'N':
      o.startTls = 'no';
      return;
  }
  throw new UsageError(`unknown option -${letter}`);
}

function applyArgument(o: Options, letter: string, value: string): void {
  switch (letter) {
    case 'f':
      o.certs.push({ kind: 'file', path: value });
      return;
    case 'd':
      o.certs.push({ kind: 'dir', path: value });
      return;
    case 'c':
      o.ciphers.push(value);
      return;
    case 'e':
      o.groups.push(value);
      return;
    case 'm':
      o.minVersion = value;
      return;
    case 'M':
      o.maxVersion = value;
      return;
    case 't':
      o.timeout = parseSeconds(letter, value);
      return;
    case 'T':
      o.handshakeTimeout = parseSeconds(letter, value);
      return;
    case 'J':
      o.jailDir = value;
      return;
    case 'j':
      o.jailUser = value;
      return;
    case 'u':
      o.user = value;
      return;
    case 'a':
      if (o.anchorFile !== undefined) throw new UsageError('only one -a option supported');
      o.anchorFile = value;
      return;
    case 'U': {
      const attribute = USER_ATTRIBUTES.find((a) => a === value);
      if (!attribute) throw new UsageError(`unable to extract the user from the ASN.1 object '${value}' (available: ${USER_ATTRIBUTES.join(', ')})`);
      o.userFrom = attribute;
      return;
    }
    case 'p':
      if (value !== '1' && value !== '2') {
        throw new UsageError(`unable to parse proxy-protocol version from the string '${value}' (available: 1, 2)`);
      }
      o.proxyVersion = value === '1' ? 1 : 2;
      return;
  }
  throw new UsageError(`unknown option -${letter}`);
}

export const USAGE = 'tlswrapper [options] [ -d certdir ] [ -f certfile ] prog';
