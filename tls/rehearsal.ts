// A scripted TLS 1.3 client, just enough to take a fresh engine through a
// whole handshake and one record of application data each way, in memory.
// tlswrapper-server's spare netproc runs it before it is handed a client
// (netproc/warmup.ts): V8 compiles a function the first time it runs, and
// the handshake runs hundreds of them. The client is built from the
// engine's own pieces (key exchange, key schedule, record protection), so
// nothing more is loaded for it. It checks little: any surprise is thrown,
// and the caller only logs it.
import { ByteReader, ByteWriter } from '../lib/bytes';
import type { EngineConfig, EngineEvent } from './api';
import { createServerEngine } from './engine';
import { newKeyShare } from './keyexchange';
import { finishedVerifyData, KeySchedule, trafficKeys, Transcript } from './keyschedule';
import { finished, handshakeMessage, serverCertificateVerifyContent } from './messages';
import { RecordProtection } from './protection13';
import { Deframer, HandshakeJoiner, plaintextRecord, type HandshakeMessage } from './record';
import { ContentType, ExtensionType, groupByCode, HandshakeType, ProtocolVersion, suiteByCode, type CipherSuite } from './tables';

/** What keyproc would do: the chain, and signatures in one scheme. */
export interface RehearsalSigner {
  chain: Uint8Array[];
  scheme: number;
  sign(content: Uint8Array): Uint8Array;
}

const X25519 = 0x001d;

function extensions(list: [number, Uint8Array][]): Uint8Array {
  const w = new ByteWriter();
  for (const [type, body] of list) w.u16(type).vector(2, body);
  return w.finish();
}

/** A TLS 1.3 ClientHello offering one suite, one group with its key share, and these signature schemes. */
export function clientHello(suite: number, group: number, share: Uint8Array, schemes: readonly number[]): Uint8Array {
  const schemeList = new ByteWriter();
  for (const s of schemes) schemeList.u16(s);
  const body = new ByteWriter()
    .u16(ProtocolVersion.tls12)
    .bytes(new Uint8Array(32).fill(1)) // random
    .vector(1, new Uint8Array(32).fill(2)) // legacy_session_id, as browsers send one
    .vector(2, new ByteWriter().u16(suite).finish())
    .vector(1, Uint8Array.of(0))
    .vector(2, extensions([
      [ExtensionType.supportedVersions, new ByteWriter().vector(1, new ByteWriter().u16(ProtocolVersion.tls13).finish()).finish()],
      [ExtensionType.supportedGroups, new ByteWriter().vector(2, new ByteWriter().u16(group).finish()).finish()],
      [ExtensionType.keyShare, new ByteWriter().vector(2, new ByteWriter().u16(group).vector(2, share).finish()).finish()],
      [ExtensionType.signatureAlgorithms, new ByteWriter().vector(2, schemeList.finish()).finish()],
    ]))
    .finish();
  return handshakeMessage(HandshakeType.clientHello, body);
}

/** The server's key_share from its ServerHello body. */
export function serverShare(body: Uint8Array): Uint8Array {
  const r = new ByteReader(body);
  r.u16();
  r.bytesOf(32);
  r.vector(1);
  r.u16();
  r.u8();
  const ext = new ByteReader(r.vector(2));
  while (ext.remaining > 0) {
    const type = ext.u16();
    const data = new ByteReader(ext.vector(2));
    if (type === ExtensionType.keyShare) {
      data.u16();
      return data.vector(2);
    }
  }
  throw new Error('no key_share in the ServerHello');
}

class ScriptedClient {
  private readonly deframer = new Deframer();
  private readonly joiner = new HandshakeJoiner();
  private readonly transcript: Transcript;
  private readonly schedule: KeySchedule;
  private readonly engine;
  private readonly group: number;
  private readonly share;
  private fromServer: RecordProtection | null = null;
  private events: EngineEvent[] = [];

  constructor(
    config: EngineConfig,
    private readonly suite: CipherSuite,
    private readonly signer: RehearsalSigner,
  ) {
    this.engine = createServerEngine(config);
    this.group = config.groups.includes(X25519) ? X25519 : config.groups[0];
    const group = groupByCode(this.group);
    if (!group) throw new Error(`unknown group ${this.group}`);
    this.share = newKeyShare(group);
    this.transcript = new Transcript(suite.hash);
    this.schedule = new KeySchedule(suite);
  }

  run(): void {
    const hello = clientHello(this.suite.code, this.group, this.share.publicKey, [this.signer.scheme]);
    this.transcript.add(hello);
    this.feed(plaintextRecord(ContentType.handshake, hello, 0x0301));
    const serverHello = this.nextMessage(HandshakeType.serverHello);
    this.transcript.add(serverHello.raw);
    const secrets = this.schedule.handshake(this.share.agree(serverShare(serverHello.body)), this.transcript.current());
    this.fromServer = new RecordProtection(this.suite, trafficKeys(this.suite, secrets.serverHandshakeTraffic));
    for (const type of [HandshakeType.encryptedExtensions, HandshakeType.certificate, HandshakeType.certificateVerify, HandshakeType.finished]) {
      this.transcript.add(this.nextMessage(type).raw);
    }
    const application = this.schedule.application(this.transcript.current());
    const verifyData = finishedVerifyData(this.suite, secrets.clientHandshakeTraffic, this.transcript.current());
    const toServerHandshake = new RecordProtection(this.suite, trafficKeys(this.suite, secrets.clientHandshakeTraffic));
    this.feed(toServerHandshake.seal(ContentType.handshake, finished(verifyData)));
    this.expect('handshakeDone');
    const toServer = new RecordProtection(this.suite, trafficKeys(this.suite, application.clientApplicationTraffic));
    this.fromServer = new RecordProtection(this.suite, trafficKeys(this.suite, application.serverApplicationTraffic));
    this.feed(toServer.seal(ContentType.applicationData, Uint8Array.of(0x78)));
    const data = this.expect('appData');
    this.engine.sendAppData(data.data);
    this.deframer.push(this.engine.takeOutput());
    const echo = this.openNext();
    if (echo.type !== ContentType.applicationData || echo.content.length !== 1) throw new Error('no echo');
  }

  /** Bytes to the engine, answering what it asks of keyproc; what it sends is kept for reading. */
  private feed(bytes: Uint8Array): void {
    const queue = this.engine.feed(bytes);
    while (queue.length > 0) {
      const ev = queue.shift()!;
      if (ev.type === 'needCertificate') queue.push(...this.engine.provideCertificate(this.signer.chain, this.signer.scheme));
      else if (ev.type === 'needSignature') queue.push(...this.engine.provideSignature(this.signer.sign(serverCertificateVerifyContent(ev.transcriptHash))));
      else if (ev.type === 'fatal') throw new Error(`the engine ended the rehearsal: ${ev.message}`);
      else this.events.push(ev);
    }
    this.deframer.push(this.engine.takeOutput());
  }

  private expect<T extends EngineEvent['type']>(type: T): Extract<EngineEvent, { type: T }> {
    const ev = this.events.shift();
    if (ev?.type !== type) throw new Error(`expected ${type}, got ${ev?.type ?? 'nothing'}`);
    return ev as Extract<EngineEvent, { type: T }>;
  }

  /** The next record's content: opened once the server encrypts, change_cipher_spec skipped. */
  private openNext(): { type: number; content: Uint8Array } {
    for (;;) {
      const record = this.deframer.next();
      if (!record) throw new Error('the engine sent less than expected');
      if (record.type === ContentType.changeCipherSpec) continue;
      if (!this.fromServer) return { type: record.type, content: record.fragment };
      const opened = this.fromServer.open(record);
      if (!opened) throw new Error('a record of the engine does not open');
      return opened;
    }
  }

  private nextMessage(type: number): HandshakeMessage {
    for (;;) {
      const message = this.joiner.next();
      if (message) {
        if (message.type !== type) throw new Error(`expected handshake message ${type}, got ${message.type}`);
        return message;
      }
      const record = this.openNext();
      if (record.type !== ContentType.handshake) throw new Error(`expected a handshake record, got type ${record.type}`);
      this.joiner.push(record.content);
    }
  }
}

/**
 * One TLS 1.3 handshake and an echoed byte against a fresh engine of this
 * configuration, with its first suite. Throws what went wrong; does nothing
 * when the configuration has no TLS 1.3.
 */
export function rehearseHandshake13(config: EngineConfig, signer: RehearsalSigner): void {
  if (config.maxVersion < ProtocolVersion.tls13 || config.suites.length === 0) return;
  const suite = suiteByCode(config.suites[0]);
  if (!suite) throw new Error(`unknown suite ${config.suites[0]}`);
  new ScriptedClient(config, suite, signer).run();
}
