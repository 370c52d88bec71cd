// The TLS facts prog learns: as environment variables when prog starts after
// the handshake, or as `VAR=value\0...\0\0` on a control descriptor when it
// started before (delayed encryption: -n, --ucspi-tls). One list for both;
// the encoder is netproc's, the decoder tlswrapper-smtp's.
import type { PeerIdentity } from '../peercert';
import type { HandshakeInfo } from '../tls/api';
import { printable } from '../lib/log';

/** The variables that describe the client's certificate (s6-tlsd's names); removed from prog's environment without one. */
export const PEER_VARIABLES = ['SSL_CLIENT_VERIFY', 'SSL_PEER_CERT_HASH', 'SSL_PEER_CERT_SUBJECT', 'SSL_PEER_CERT_CN', 'SHA256'] as const;

/** The client certificate's facts (tlsFacts puts them with the rest). */
export function peerVariables(identity: PeerIdentity | null): Partial<Record<(typeof PEER_VARIABLES)[number], string>> {
  if (!identity) return { SSL_CLIENT_VERIFY: 'NONE' };
  const cn = identity.commonNames.at(-1); // the most specific one, when there are several
  return {
    SSL_CLIENT_VERIFY: 'SUCCESS',
    SSL_PEER_CERT_HASH: `SHA256:${identity.sha256}`,
    SSL_PEER_CERT_SUBJECT: identity.subject,
    ...(typeof cn === 'string' ? { SSL_PEER_CERT_CN: cn } : {}),
    SHA256: identity.sha256,
  };
}

/** Every variable tlsFacts may set; all of them are removed from an inherited environment first. */
export const TLS_VARIABLES = ['SSL_PROTOCOL', 'SSL_CIPHER', 'SSL_TLS_SNI_SERVERNAME', ...PEER_VARIABLES] as const;

export type TlsFacts = Partial<Record<(typeof TLS_VARIABLES)[number], string>>;

export function tlsFacts(info: Pick<HandshakeInfo, 'version' | 'cipher' | 'serverName'>, peer: PeerIdentity | null): TlsFacts {
  return {
    SSL_PROTOCOL: info.version,
    SSL_CIPHER: info.cipher,
    ...(info.serverName !== null ? { SSL_TLS_SNI_SERVERNAME: info.serverName } : {}),
    ...peerVariables(peer),
  };
}

/** `VAR=value\0` for each fact, then one more `\0` (values never hold a NUL: names and escaped subjects). */
export function encodeFacts(facts: TlsFacts): Uint8Array {
  const text = Object.entries(facts).map(([name, value]) => `${name}=${value}\0`).join('') + '\0';
  return new TextEncoder().encode(text);
}

/** The facts on a control descriptor: at most this many bytes. */
export const MAX_FACTS = 64 * 1024;
/** The only names a fact may have: they become a program's environment, so nothing like PATH or LD_PRELOAD. */
const FACT_NAMES: ReadonlySet<string> = new Set(TLS_VARIABLES);

/**
 * What follows the ack on fd 6: `NAME=value\0` for each fact, then one more
 * \0. Names [A-Z0-9_]+, each once; values without NUL (they cannot have one).
 * The facts, or why they are not.
 */
export function decodeFacts(data: Buffer): [string, Buffer][] | string {
  if (data.length === 0) return 'no facts (did the handshake fail?)';
  if (data.length > MAX_FACTS) return `facts exceed ${MAX_FACTS} bytes`;
  if (data[data.length - 1] !== 0) return 'facts not terminated by an empty entry';
  const body = data.subarray(0, data.length - 1);
  const facts: [string, Buffer][] = [];
  const seen = new Set<string>();
  for (let pos = 0; pos < body.length; ) {
    const nul = body.indexOf(0, pos);
    if (nul < 0) return 'facts not terminated by an empty entry';
    const entry = body.subarray(pos, nul);
    if (entry.length === 0) return 'an empty entry before the end of the facts';
    const eq = entry.indexOf(0x3d);
    const name = (eq < 0 ? entry : entry.subarray(0, eq)).toString('latin1');
    if (eq < 0 || !FACT_NAMES.has(name)) return `bad fact '${printable(entry.toString('latin1'))}'`;
    if (seen.has(name)) return `fact ${name} twice`;
    seen.add(name);
    facts.push([name, Buffer.from(entry.subarray(eq + 1))]);
    pos = nul + 1;
  }
  return facts;
}
