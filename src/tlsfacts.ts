// The TLS facts prog learns: as environment variables when prog starts after
// the handshake, or as `VAR=value\0...\0\0` on a control descriptor when it
// started before (delayed encryption: -n, --ucspi-tls). One list for both.
import type { PeerIdentity } from '../peercert';
import type { HandshakeInfo } from '../netproc/tls/api';
import { PEER_VARIABLES, peerVariables } from './peer';

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
