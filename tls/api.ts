// The contract between the sans-I/O TLS engine and the netproc glue around it.
// The engine never touches a socket, a pipe or a key: bytes go in through
// feed(), bytes to send come out of takeOutput(), and everything else the
// glue must act on comes back as events from each call.
import type { KeyObject } from 'node:crypto';
import { PROTOCOL_VERSIONS, type KeyClass, type VersionInfo } from './registry';

export type { KeyClass };

export interface EngineConfig {
  /** TLS 1.3 cipher suite codes (0x1301...), server preference first. */
  suites: number[];
  /**
   * TLS 1.2 (and 1.0/1.1) cipher suite codes, server preference first, ECDSA
   * and RSA variants of each -c name side by side (0xcca9, 0xcca8, ...).
   * Optional until the TLS 1.2 engine lands: absent means none.
   */
  suites12?: number[];
  /** Named group codes we accept (0x001d x25519, 0x0017 secp256r1, ...). */
  groups: number[];
  /** -s (true, default): our suite order wins; -S: the client's order wins. */
  serverPreference: boolean;
  /** Lowest and highest version enabled, as wire codes (0x0303, 0x0304). */
  minVersion: number;
  maxVersion: number;
}

/** Protocol names as OpenSSL prints them (and SSL_PROTOCOL carries them), newest first: the registry's. */
export const PROTOCOL_NAMES: readonly VersionInfo['name'][] = PROTOCOL_VERSIONS.map((v) => v.name);

export interface HandshakeInfo {
  version: VersionInfo['name'];
  /** OpenSSL/IANA-style name, e.g. TLS_AES_128_GCM_SHA256. */
  cipher: string;
  /** Group name, e.g. x25519. */
  group: string;
  /** SNI host name, or null when the client sent none. */
  serverName: string | null;
  /**
   * With client authentication: the client's certificate chain as it sent it
   * (DER, leaf first), verified by ClientAuth.verifyChain and proven by its
   * CertificateVerify. null without client authentication.
   */
  peerCertificates: Uint8Array[] | null;
}

/** The outcome of checking a client's chain: its leaf's public key, or the alert to send and why. */
export type ChainVerdict = { ok: true; publicKey: KeyObject } | { ok: false; alert: number; reason: string };

/**
 * Client certificates (-a). The engine sends CertificateRequest, requires a
 * certificate, checks the client's CertificateVerify with the public key
 * verifyChain returns; the chain itself is judged by verifyChain (peercert/),
 * synchronously, inside the jail.
 */
export interface ClientAuth {
  /** DER-encoded subject Names of the trust anchors, for certificate_authorities. */
  authorities: Uint8Array[];
  /** Judge the client's chain (DER, leaf first, as sent; never empty). Must not throw. */
  verifyChain(chain: Uint8Array[]): ChainVerdict;
}

export type EngineEvent =
  /**
   * Ask keyproc for a chain; the engine waits until provideCertificate/refuseCertificate.
   * `version` is the negotiated one (0x0304, 0x0303, ...); `keyClasses` the key
   * types the candidate suites allow, best first (TLS 1.3: all). `curves`: the
   * client's supported_groups, which in TLS 1.2 and below also bound an ECDSA
   * certificate's curve (RFC 8422 5.1); empty means no such bound (TLS 1.3, or
   * a client that sent none).
   */
  | { type: 'needCertificate'; version: number; serverName: string | null; signatureSchemes: number[]; keyClasses: KeyClass[]; curves: number[] }
  /** TLS 1.3: ask keyproc for the CertificateVerify signature over this transcript hash. */
  | { type: 'needSignature'; transcriptHash: Uint8Array }
  /**
   * TLS 1.2 and below: ask keyproc for the ServerKeyExchange signature; keyproc
   * builds client_random | server_random | ServerECDHParams(group, publicKey) itself.
   */
  | { type: 'needSignature12'; clientRandom: Uint8Array; serverRandom: Uint8Array; group: number; publicKey: Uint8Array }
  | { type: 'handshakeDone'; info: HandshakeInfo }
  /** Decrypted application data for prog. */
  | { type: 'appData'; data: Uint8Array }
  /** The peer sent close_notify: no more appData will come. */
  | { type: 'peerClosed' }
  /**
   * The connection is over: an alert (if any) has been queued in the output.
   * `alert` is the code we sent (or received, when `received` is true);
   * `clientCertificate`: the client's certificate was the reason.
   */
  | { type: 'fatal'; alert: number; received: boolean; message: string; clientCertificate?: boolean };

export interface ServerEngine {
  feed(data: Uint8Array): EngineEvent[];
  provideCertificate(chain: Uint8Array[], scheme: number): EngineEvent[];
  refuseCertificate(alert: number): EngineEvent[];
  provideSignature(signature: Uint8Array): EngineEvent[];
  /** Our side failed (keyproc died, say): a fatal alert goes out (internal_error unless told), then the fatal event. */
  abort(message: string, alert?: number): EngineEvent[];
  /** Encrypt application data (split into records as needed). Only after handshakeDone. */
  sendAppData(data: Uint8Array): void;
  /** Queue close_notify; nothing more may be sent after it. */
  close(): void;
  /** Bytes to write to the network, in order; empty when there is nothing. */
  takeOutput(): Uint8Array;
  /** True once a fatal alert was sent or received, or close() was called. */
  readonly finished: boolean;
}
