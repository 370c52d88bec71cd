// What every handshake state shares (firstflight.ts, handshake13.ts,
// handshake12.ts): the State each step is, the Connection it may act on, and
// the one answer to a message a state does not expect.
import type { ClientAuth, EngineConfig, EngineEvent, HandshakeInfo } from './api';
import { TlsAlert } from './errors';
import type { KeyShare } from './keyexchange';
import type { HandshakeMessage, Protection } from './record';
import { Alert, type CipherSuite, type NamedGroup } from './tables';

/** What createServerEngine takes besides the EngineConfig. */
export interface EngineOptions {
  /**
   * Client certificates: with it we send CertificateRequest and require a
   * chain verifyChain accepts plus a CertificateVerify that proves its key;
   * without it nothing on the wire changes.
   */
  clientAuth?: ClientAuth | undefined;
  /** Not configuration, a knob tests turn down: send our own KeyUpdate once this many records went out under one key. */
  keyUpdateAfterRecords?: number;
  /**
   * Not configuration either: where the server random comes from (default
   * crypto.randomBytes). With random and keyShare fixed a handshake replays
   * byte for byte, as a test against a published trace needs.
   */
  random?: (length: number) => Uint8Array;
  /** Where our ephemeral (EC)DHE key shares come from (default newKeyShare). */
  keyShare?: (group: NamedGroup) => KeyShare;
}

/** What a state may do to the connection. */
export interface Connection {
  readonly cfg: EngineConfig;
  /** Client certificates are asked for (and required) when set. */
  readonly clientAuth: ClientAuth | null;
  emit(e: EngineEvent): void;
  /** `length` fresh random bytes (EngineOptions.random). */
  random(length: number): Uint8Array;
  /** A fresh ephemeral key share in this group (EngineOptions.keyShare). */
  newKeyShare(group: NamedGroup): KeyShare;
  sendHandshake(message: Uint8Array): void;
  /** The peer's record_size_limit: the most plaintext bytes we put in one protected record from now on. */
  limitRecords(maxPlaintext: number): void;
  /** The middlebox-compatibility ChangeCipherSpec, at most once per connection. */
  sendCompatCcs(): void;
  /** Keys change after this message: it must have ended its record (RFC 8446 5.1). */
  requireRecordBoundary(what: string): void;
  setReadSecret(suite: CipherSuite, secret: Uint8Array): void;
  setWriteSecret(suite: CipherSuite, secret: Uint8Array): void;
  /** Whether to skip undecryptable (or, before keys, any) application_data records: the client's rejected 0-RTT. */
  skipEarlyData(skip: boolean): void;
  handshakeComplete(info: HandshakeInfo): void;
  /** Answer to a KeyUpdate: rekey receiving; when asked, send ours and rekey sending. */
  peerKeyUpdate(updateRequested: boolean): void;

  // TLS 1.2
  /** TLS 1.2 (or 1.1, 1.0) was negotiated: record version and limits, ChangeCipherSpec rules change. */
  enterTls12(version: number): void;
  setReadProtection(p: Protection): void;
  setWriteProtection(p: Protection): void;
  /** The real ChangeCipherSpec of TLS 1.2, under the current (null) write state. */
  sendChangeCipherSpec(): void;
  /** A warning-level alert; the connection goes on. */
  sendWarning(code: number): void;
}

/**
 * A handshake step. Exactly one of three kinds, told apart by `awaits`: a
 * state reads the client's messages, or it waits for keyproc's certificate,
 * or for keyproc's signature. The core must check which kind it holds before
 * handing a keyproc answer on, so a signature cannot reach a state that waits
 * for a certificate (or a message reach a waiting state) without a type error.
 */
export type State = ReadingState | AwaitingCertificate | AwaitingSignature;

/** Reads the client's handshake messages. */
export interface ReadingState {
  readonly name: string;
  readonly awaits: 'message';
  handle(conn: Connection, msg: HandshakeMessage): State;
  /** TLS 1.2: present on the one state where the client's ChangeCipherSpec belongs. */
  changeCipherSpec?(conn: Connection): State;
}

/** Waits for keyproc's SELECT answer (needCertificate); no input is processed meanwhile. */
export interface AwaitingCertificate {
  readonly name: string;
  readonly awaits: 'certificate';
  provideCertificate(conn: Connection, chain: Uint8Array[], scheme: number): State;
}

/** Waits for keyproc's signature (needSignature, needSignature12); no input is processed meanwhile. */
export interface AwaitingSignature {
  readonly name: string;
  readonly awaits: 'signature';
  provideSignature(conn: Connection, signature: Uint8Array): State;
}

export function unexpected(state: ReadingState, msg: HandshakeMessage): never {
  throw new TlsAlert(Alert.unexpectedMessage, `handshake message ${msg.type} in state ${state.name}`);
}
