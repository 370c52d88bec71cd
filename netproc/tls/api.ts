// The contract between the sans-I/O TLS engine and the netproc glue around it.
// The engine never touches a socket, a pipe or a key: bytes go in through
// feed(), bytes to send come out of takeOutput(), and everything else the
// glue must act on comes back as events from each call.

export interface EngineConfig {
  /** TLS 1.3 cipher suite codes (0x1301...), server preference first. */
  suites: number[];
  /** Named group codes we accept (0x001d x25519, 0x0017 secp256r1, ...). */
  groups: number[];
  /** -s (true, default): our suite order wins; -S: the client's order wins. */
  serverPreference: boolean;
  /** Lowest and highest version enabled, as wire codes (0x0303, 0x0304). */
  minVersion: number;
  maxVersion: number;
}

export interface HandshakeInfo {
  version: 'TLSv1.3' | 'TLSv1.2';
  /** OpenSSL/IANA-style name, e.g. TLS_AES_128_GCM_SHA256. */
  cipher: string;
  /** Group name, e.g. x25519. */
  group: string;
  /** SNI host name, or null when the client sent none. */
  serverName: string | null;
}

export type EngineEvent =
  /** Ask keyproc for a chain; the engine waits until provideCertificate/refuseCertificate. */
  | { type: 'needCertificate'; serverName: string | null; signatureSchemes: number[] }
  /** Ask keyproc for the one signature; the engine waits until provideSignature. */
  | { type: 'needSignature'; transcriptHash: Uint8Array }
  | { type: 'handshakeDone'; info: HandshakeInfo }
  /** Decrypted application data for prog. */
  | { type: 'appData'; data: Uint8Array }
  /** The peer sent close_notify: no more appData will come. */
  | { type: 'peerClosed' }
  /**
   * The connection is over: an alert (if any) has been queued in the output.
   * `alert` is the code we sent (or received, when `received` is true).
   */
  | { type: 'fatal'; alert: number; received: boolean; message: string };

export interface ServerEngine {
  feed(data: Uint8Array): EngineEvent[];
  provideCertificate(chain: Uint8Array[], scheme: number): EngineEvent[];
  refuseCertificate(alert: number): EngineEvent[];
  provideSignature(signature: Uint8Array): EngineEvent[];
  /** Encrypt application data (split into records as needed). Only after handshakeDone. */
  sendAppData(data: Uint8Array): void;
  /** Queue close_notify; nothing more may be sent after it. */
  close(): void;
  /** Bytes to write to the network, in order; empty when there is nothing. */
  takeOutput(): Uint8Array;
  /** True once a fatal alert was sent or received, or close() was called. */
  readonly finished: boolean;
}
