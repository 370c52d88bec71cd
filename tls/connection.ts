// The connection core of the sans-I/O TLS server engine: the record layer
// (deframing, protection in each direction, ChangeCipherSpec and early-data
// rules, alerts), the keys, the output queue and the events for the glue.
// The handshake itself is not here: it is the State the core holds, each
// step's handle(msg) returning the next (firstflight.ts, handshake13.ts,
// handshake12.ts). States that wait for keyproc take no input: records
// arriving meanwhile stay queued in the deframer and are processed once the
// glue answers.

import { randomBytes } from 'node:crypto';
import { DecodeError } from '../lib/bytes';
import type { ClientAuth, EngineConfig, EngineEvent, HandshakeInfo, ServerEngine } from './api';
import { ClientCertificateAlert, fatalAlertCode, TlsAlert } from './errors';
import { newKeyShare, type KeyShare } from './keyexchange';
import { nextTrafficSecret, trafficKeys } from './keyschedule';
import * as msgs from './messages';
import {
  Deframer,
  HandshakeJoiner,
  plaintextRecord,
  type Protection,
  type RawRecord,
} from './record';
import { RecordProtection } from './protection13';
import type { Connection, EngineOptions, State } from './state';
import { Alert, alertName, ContentType, HandshakeType, Limits, ProtocolVersion, type CipherSuite, type NamedGroup } from './tables';

/** Warning alerts we take before calling it a flood. */
const MAX_WARNING_ALERTS = 4;
/**
 * Records that carry nothing, and KeyUpdates, a peer may send in a row
 * without application data between them (BoringSSL's limits; OpenSSL stops
 * at 32 empty records too). tlsfuzzer sends 32 KeyUpdates in a row and
 * expects them answered. Beyond: a flood, unexpected_message.
 */
const MAX_EMPTY_RECORDS = 32;
const MAX_KEY_UPDATES = 32;

/** Early data we skip without being able to read it (RFC 8446 4.2.10), in ciphertext bytes. */
const EARLY_DATA_SKIP_LIMIT = 1 << 16;
/** Input we hold while waiting for keyproc; a client has no reason to send more. */
const MAX_QUEUED_WHILE_WAITING = 1 << 18;
/** We update our sending keys after this many records, far below the AES-GCM limits of RFC 8446 5.5. */
const KEY_UPDATE_AFTER_RECORDS = 1 << 23;

interface Direction {
  protection: Protection;
  /** TLS 1.3: the next generation's keys (KeyUpdate); null in TLS 1.2. */
  next: (() => Direction) | null;
}

function direction(suite: CipherSuite, secret: Uint8Array): Direction {
  return {
    protection: new RecordProtection(suite, trafficKeys(suite, secret)),
    next: () => direction(suite, nextTrafficSecret(suite, secret)),
  };
}

export class TlsServerEngine implements ServerEngine, Connection {
  private state: State;
  private readonly deframer = new Deframer();
  private readonly joiner = new HandshakeJoiner();
  private read: Direction | null = null;
  private write: Direction | null = null;
  private output: Uint8Array[] = [];
  private events: EngineEvent[] = [];
  private sawClientHello = false;
  private ccsReceived = false;
  private ccsSent = false;
  private complete = false;
  /** user_canceled alerts after the handshake, each announcing a close_notify that never came. */
  private warningAlerts = 0;
  /** Most plaintext bytes in one record we send: 2^14, or less under the client's record_size_limit. */
  private maxFragment: number = Limits.plaintext;
  /** Empty application data records, and KeyUpdates, since the last application data. */
  private emptyRecords = 0;
  private keyUpdates = 0;
  private earlyDataBudget = 0;
  /** A fatal alert was sent or received: nothing more happens. */
  private dead = false;
  private peerClosed = false;
  private writeClosed = false;
  /** TLS 1.2 (or below) was negotiated. */
  private tls12 = false;
  /** The version in our plaintext record headers: 0x0303 but in TLS 1.0/1.1. */
  private recordVersion: number = ProtocolVersion.tls12;

  private readonly keyUpdateAfter: number;
  private readonly randomSource: (length: number) => Uint8Array;
  private readonly keyShareSource: (group: NamedGroup) => KeyShare;
  readonly clientAuth: ClientAuth | null;

  /** `initial` is the state that reads the first ClientHello (firstflight.ts). */
  constructor(
    initial: State,
    readonly cfg: EngineConfig,
    options: EngineOptions = {},
  ) {
    this.state = initial;
    this.keyUpdateAfter = options.keyUpdateAfterRecords ?? KEY_UPDATE_AFTER_RECORDS;
    this.clientAuth = options.clientAuth ?? null;
    this.randomSource = options.random ?? randomBytes;
    this.keyShareSource = options.keyShare ?? newKeyShare;
  }

  get finished(): boolean {
    return this.dead || this.writeClosed;
  }

  // ------------------------------------------------------------ public API

  feed(data: Uint8Array): EngineEvent[] {
    if (this.dead || this.peerClosed) return [];
    return this.guard(() => {
      this.deframer.push(data);
      if (this.state.awaits !== 'message' && this.deframer.buffered > MAX_QUEUED_WHILE_WAITING) {
        throw new TlsAlert(Alert.unexpectedMessage, 'too much input during the handshake');
      }
      this.pump();
    });
  }

  provideCertificate(chain: Uint8Array[], scheme: number): EngineEvent[] {
    return this.guard(() => {
      const s = this.state;
      if (s.awaits !== 'certificate') throw new TlsAlert(Alert.internalError, `provideCertificate in ${s.name}`);
      this.state = s.provideCertificate(this, chain, scheme);
      this.pump();
    });
  }

  refuseCertificate(alert: number): EngineEvent[] {
    return this.guard(() => {
      const s = this.state;
      if (s.awaits !== 'certificate') throw new TlsAlert(Alert.internalError, `refuseCertificate in ${s.name}`);
      // keyproc's code goes out as a fatal alert; anything that is not one becomes internal_error.
      throw new TlsAlert(fatalAlertCode(alert), 'no certificate for this client');
    });
  }

  abort(message: string, alert: number = Alert.internalError): EngineEvent[] {
    return this.guard(() => {
      throw new TlsAlert(fatalAlertCode(alert), message);
    });
  }

  provideSignature(signature: Uint8Array): EngineEvent[] {
    return this.guard(() => {
      const s = this.state;
      if (s.awaits !== 'signature') throw new TlsAlert(Alert.internalError, `provideSignature in ${s.name}`);
      this.state = s.provideSignature(this, signature);
      this.pump();
    });
  }

  sendAppData(data: Uint8Array): void {
    if (this.dead || this.writeClosed) return; // the connection is over; the glue learns it from events
    if (!this.complete || !this.write) throw new Error('sendAppData before handshakeDone');
    for (let at = 0; at < data.length; at += this.maxFragment) {
      if (this.write.next && this.write.protection.sequence >= this.keyUpdateAfter) this.updateWriteKeys();
      this.output.push(this.write.protection.seal(ContentType.applicationData, data.subarray(at, at + this.maxFragment)));
    }
  }

  close(): void {
    if (this.dead || this.writeClosed) return;
    this.sendAlert(Alert.closeNotify);
    this.writeClosed = true;
  }

  takeOutput(): Uint8Array {
    if (this.output.length === 0) return new Uint8Array(0);
    const parts = this.output;
    this.output = [];
    if (parts.length === 1) return parts[0];
    return Buffer.concat(parts);
  }

  // ------------------------------------------------------------ Connection (for states)

  emit(e: EngineEvent): void {
    this.events.push(e);
  }

  random(length: number): Uint8Array {
    // A copy: states write into it (TLS 1.2's downgrade sentinel), and a
    // source may hand out a shared buffer.
    const bytes = new Uint8Array(this.randomSource(length));
    if (bytes.length !== length) throw new Error(`random source gave ${bytes.length} bytes, not ${length}`);
    return bytes;
  }

  newKeyShare(group: NamedGroup): KeyShare {
    return this.keyShareSource(group);
  }

  sendHandshake(message: Uint8Array): void {
    // Messages over 2^14 (a long chain), or over the client's record_size_limit, are split across records.
    for (let at = 0; at < message.length; at += this.maxFragment) {
      this.sendRecord(ContentType.handshake, message.subarray(at, at + this.maxFragment));
    }
  }

  limitRecords(maxPlaintext: number): void {
    this.maxFragment = Math.max(1, Math.min(Limits.plaintext, maxPlaintext));
  }

  sendCompatCcs(): void {
    if (this.ccsSent) return;
    this.ccsSent = true;
    // Always in the clear, whatever keys are in place (RFC 8446 5).
    this.output.push(plaintextRecord(ContentType.changeCipherSpec, Uint8Array.of(1)));
  }

  requireRecordBoundary(what: string): void {
    if (this.joiner.pending) throw new TlsAlert(Alert.unexpectedMessage, `${what} did not end its record before a key change`);
  }

  setReadSecret(suite: CipherSuite, secret: Uint8Array): void {
    this.read = direction(suite, secret);
  }

  setWriteSecret(suite: CipherSuite, secret: Uint8Array): void {
    this.write = direction(suite, secret);
  }

  skipEarlyData(skip: boolean): void {
    this.earlyDataBudget = skip ? EARLY_DATA_SKIP_LIMIT : 0;
  }

  handshakeComplete(info: HandshakeInfo): void {
    this.complete = true;
    this.earlyDataBudget = 0;
    this.emit({ type: 'handshakeDone', info });
  }

  peerKeyUpdate(updateRequested: boolean): void {
    if (++this.keyUpdates > MAX_KEY_UPDATES) throw new TlsAlert(Alert.unexpectedMessage, `more than ${MAX_KEY_UPDATES} KeyUpdates without application data`);
    const r = this.read;
    if (!r?.next) throw new TlsAlert(Alert.internalError, 'KeyUpdate without keys');
    this.read = r.next();
    // After close_notify we send nothing more, not even a KeyUpdate.
    if (updateRequested && !this.writeClosed) this.updateWriteKeys();
  }

  enterTls12(version: number): void {
    this.tls12 = true;
    this.recordVersion = version;
    this.deframer.maxLength = Limits.ciphertext12;
  }

  setReadProtection(p: Protection): void {
    this.read = { protection: p, next: null };
  }

  setWriteProtection(p: Protection): void {
    this.write = { protection: p, next: null };
  }

  sendChangeCipherSpec(): void {
    this.sendRecord(ContentType.changeCipherSpec, Uint8Array.of(1));
  }

  sendWarning(code: number): void {
    if (this.writeClosed) return;
    this.sendRecord(ContentType.alert, Uint8Array.of(1, code));
  }

  // ------------------------------------------------------------ internals

  private updateWriteKeys(): void {
    const w = this.write;
    if (!w?.next) throw new TlsAlert(Alert.internalError, 'KeyUpdate without keys');
    this.sendHandshake(msgs.keyUpdate(msgs.KeyUpdateRequest.notRequested));
    this.write = w.next();
  }

  private sendRecord(type: number, content: Uint8Array): void {
    this.output.push(this.write ? this.write.protection.seal(type, content) : plaintextRecord(type, content, this.recordVersion));
  }

  private sendAlert(code: number): void {
    // close_notify and user_canceled are warnings; everything else is fatal.
    const level = code === Alert.closeNotify || code === Alert.userCanceled ? 1 : 2;
    this.sendRecord(ContentType.alert, Uint8Array.of(level, code));
  }

  /** Runs fn; any failure becomes a queued alert and a 'fatal' event. Returns the events. */
  private guard(fn: () => void): EngineEvent[] {
    // After a fatal alert, late keyproc answers (or input) change nothing.
    if (this.dead) return [];
    try {
      fn();
    } catch (e) {
      this.fail(e);
    }
    const events = this.events;
    this.events = [];
    return events;
  }

  private fail(e: unknown): void {
    const alert = e instanceof TlsAlert ? e.alert : e instanceof DecodeError ? Alert.decodeError : Alert.internalError;
    const message =
      e instanceof TlsAlert ? e.message : e instanceof Error ? `${alertName(alert)}: ${e.message}` : alertName(alert);
    if (!this.dead && !this.writeClosed) {
      try {
        this.sendAlert(alert);
      } catch {
        // Nothing sensible is left to send; the fatal event still goes out.
      }
    }
    this.dead = true;
    this.emit({ type: 'fatal', alert, received: false, message, ...(e instanceof ClientCertificateAlert ? { clientCertificate: true } : {}) });
  }

  /** Process queued records until input runs out or a state waits for the glue. */
  private pump(): void {
    while (!this.dead && !this.peerClosed && this.state.awaits === 'message') {
      const record = this.deframer.next();
      if (!record) return;
      this.handleRecord(record);
    }
  }

  private handleRecord(record: RawRecord): void {
    if (record.type === ContentType.changeCipherSpec) return this.handleCcs(record.fragment);

    let type = record.type;
    let content = record.fragment;
    if (this.tls12 && this.read) {
      // TLS 1.2 protects every record type under its own outer type.
      const opened = this.read.protection.open(record);
      if (!opened) throw new TlsAlert(Alert.badRecordMac, 'record does not decrypt');
      content = opened.content;
    } else if (this.read && type === ContentType.applicationData) {
      const opened = this.read.protection.open(record);
      if (!opened) {
        if (this.earlyDataBudget > 0 && this.earlyDataBudget >= record.fragment.length) {
          this.earlyDataBudget -= record.fragment.length;
          return;
        }
        throw new TlsAlert(Alert.badRecordMac, 'record does not decrypt');
      }
      this.earlyDataBudget = 0; // the first record under our keys ends the early data
      type = opened.type;
      content = opened.content;
    } else if (this.read && !(type === ContentType.alert && !this.complete)) {
      // A client that could not read our ServerHello may answer with a
      // plaintext alert; nothing else may come unprotected once keys are set.
      throw new TlsAlert(Alert.unexpectedMessage, `unprotected record of type ${type} after the keys changed`);
    } else if (!this.read) {
      if (type === ContentType.applicationData) {
        // Only 0-RTT data before our HelloRetryRequest's second ClientHello can be here.
        if (this.sawClientHello && this.earlyDataBudget > 0 && this.earlyDataBudget >= content.length) {
          this.earlyDataBudget -= content.length;
          return;
        }
        throw new TlsAlert(Alert.unexpectedMessage, 'application data before the handshake');
      }
      if (content.length > Limits.plaintext) throw new TlsAlert(Alert.recordOverflow, 'plaintext record over 2^14');
    }

    if (this.joiner.pending && type !== ContentType.handshake) {
      throw new TlsAlert(Alert.unexpectedMessage, 'record interleaved with a fragmented handshake message');
    }
    switch (type) {
      case ContentType.handshake:
        return this.handleHandshake(content);
      case ContentType.alert:
        return this.handleAlert(content);
      case ContentType.applicationData:
        return this.handleAppData(content);
      default:
        // An encrypted ChangeCipherSpec or an unknown inner type.
        throw new TlsAlert(Alert.unexpectedMessage, `record of content type ${type}`);
    }
  }

  private handleCcs(content: Uint8Array): void {
    if (this.tls12) {
      // TLS 1.2: exactly one, unencrypted, right after ClientKeyExchange (RFC 5246 7.1).
      if (content.length !== 1 || content[0] !== 1) throw new TlsAlert(Alert.unexpectedMessage, 'malformed ChangeCipherSpec');
      if (this.joiner.pending) throw new TlsAlert(Alert.unexpectedMessage, 'ChangeCipherSpec inside a handshake message');
      const s = this.state;
      if (s.awaits !== 'message' || !s.changeCipherSpec || this.read) throw new TlsAlert(Alert.unexpectedMessage, `ChangeCipherSpec in state ${s.name}`);
      this.state = s.changeCipherSpec(this);
      return;
    }
    // One dummy CCS may come between the first ClientHello and the client
    // Finished (RFC 8446 5, D.4); it is never encrypted and never counted.
    if (!this.sawClientHello || this.complete) throw new TlsAlert(Alert.unexpectedMessage, 'ChangeCipherSpec outside the handshake');
    if (content.length !== 1 || content[0] !== 1) throw new TlsAlert(Alert.unexpectedMessage, 'malformed ChangeCipherSpec');
    if (this.ccsReceived) throw new TlsAlert(Alert.unexpectedMessage, 'second ChangeCipherSpec');
    if (this.joiner.pending) throw new TlsAlert(Alert.unexpectedMessage, 'ChangeCipherSpec inside a handshake message');
    this.ccsReceived = true;
  }

  private handleHandshake(content: Uint8Array): void {
    if (content.length === 0) throw new TlsAlert(Alert.unexpectedMessage, 'empty handshake record');
    this.joiner.push(content);
    for (;;) {
      const s = this.state;
      if (this.dead || s.awaits !== 'message') return;
      const msg = this.joiner.next();
      if (!msg) return;
      if (msg.type === HandshakeType.clientHello) this.sawClientHello = true;
      this.state = s.handle(this, msg);
    }
  }

  private handleAlert(content: Uint8Array): void {
    // RFC 8446 5.1: zero-length alert fragments must not be sent; 5.4: such a record is unexpected_message.
    if (content.length === 0 && !this.tls12) throw new TlsAlert(Alert.unexpectedMessage, 'empty alert record');
    if (content.length !== 2) throw new TlsAlert(Alert.decodeError, 'alert record is not 2 bytes');
    const code = content[1];
    // Before the handshake is done a close_notify or user_canceled means the
    // client gives up (RFC 8446 6.1): the connection ends now, not at -T.
    if (!this.complete && (code === Alert.closeNotify || code === Alert.userCanceled)) {
      this.dead = true;
      this.emit({ type: 'fatal', alert: code, received: true, message: `peer sent ${alertName(code)} during the handshake` });
      return;
    }
    if (code === Alert.closeNotify) {
      this.peerClosed = true;
      this.emit({ type: 'peerClosed' });
      return;
    }
    // user_canceled is a warning announcing a close_notify (RFC 8446 6.1); a
    // peer that keeps sending it is flooding us (OpenSSL stops at 5 too).
    if (code === Alert.userCanceled) {
      if (++this.warningAlerts > MAX_WARNING_ALERTS) throw new TlsAlert(Alert.unexpectedMessage, 'too many warning alerts');
      return;
    }
    this.dead = true;
    this.emit({ type: 'fatal', alert: code, received: true, message: `peer sent ${alertName(code)}` });
  }

  private handleAppData(content: Uint8Array): void {
    if (!this.complete) throw new TlsAlert(Alert.unexpectedMessage, 'application data before the handshake is complete');
    if (content.length === 0) {
      if (++this.emptyRecords > MAX_EMPTY_RECORDS) throw new TlsAlert(Alert.unexpectedMessage, `more than ${MAX_EMPTY_RECORDS} empty records in a row`);
      return;
    }
    this.emptyRecords = 0;
    this.keyUpdates = 0;
    this.emit({ type: 'appData', data: content });
  }
}
