// A TLS 1.3 client over a real socket that does what no ordinary client
// does on demand: send KeyUpdates, empty records, anything, as fast as it
// likes, and stop reading. Built from the engine's own pieces (key schedule,
// record protection) and the rehearsal's ClientHello (tls/rehearsal.ts); it
// checks nothing of the server's certificate. For hostile-peer tests of the
// real binary.
import { once } from 'node:events';
import * as net from 'node:net';
import type { KeyShare } from '../../tls/keyexchange';
import { finishedVerifyData, KeySchedule, nextTrafficSecret, trafficKeys, Transcript } from '../../tls/keyschedule';
import { finished } from '../../tls/messages';
import { RecordProtection } from '../../tls/protection13';
import { Deframer, HandshakeJoiner, plaintextRecord, type HandshakeMessage } from '../../tls/record';
import { clientHello, serverShare } from '../../tls/rehearsal';
import { ContentType, HandshakeType, suiteByCode, type CipherSuite } from '../../tls/tables';
import { hybridClientShare, X25519, X25519MLKEM768, x25519ClientShare } from './hybridshare';

const SUITE = 0x1301;

/** The client's key exchange: X25519, or X25519MLKEM768 (test/lib/hybridshare.ts). */
function clientKeyExchange(group: 'x25519' | 'X25519MLKEM768'): { code: number; share: KeyShare } {
  return group === 'x25519' ? { code: X25519, share: x25519ClientShare() } : { code: X25519MLKEM768, share: hybridClientShare() };
}
const SCHEMES = [0x0403, 0x0503, 0x0804, 0x0805, 0x0807];

export class RawTls13Client {
  private readonly deframer = new Deframer();
  private readonly joiner = new HandshakeJoiner();
  private readonly suite: CipherSuite = suiteByCode(SUITE)!;
  private fromServer: RecordProtection | null = null;
  private writeSecret: Uint8Array = new Uint8Array(0);
  private toServer: RecordProtection | null = null;
  private readonly closed: Promise<void>;
  /** record() waiting for more bytes. */
  private wake: (() => void) | null = null;

  private constructor(readonly socket: net.Socket) {
    // Not events.once: it would reject on the 'error' (ECONNRESET) a close may come with.
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
    socket.on('error', () => {});
    socket.on('data', (chunk: Buffer) => {
      this.deframer.push(new Uint8Array(chunk));
      this.wake?.();
    });
  }

  /** Connects and completes a handshake; rejects on anything unexpected or after timeoutMs. */
  static async connect(port: number, timeoutMs: number, group: 'x25519' | 'X25519MLKEM768' = 'x25519'): Promise<RawTls13Client> {
    const socket = net.connect(port, '127.0.0.1');
    // Its Finished and first record are two writes: with Nagle on, the second
    // waited for the server's delayed ACK (~40 ms more per connection through
    // tlswrapper-server, hidden under a super-server by prog's start). curl and
    // browsers set TCP_NODELAY too; Node's own client writes both at once.
    socket.setNoDelay(true);
    const c = new RawTls13Client(socket);
    const timer = setTimeout(() => socket.destroy(new Error(`no handshake within ${timeoutMs} ms`)), timeoutMs);
    try {
      await once(socket, 'connect');
      await c.handshake(group);
      return c;
    } finally {
      clearTimeout(timer);
    }
  }

  private async handshake(group: 'x25519' | 'X25519MLKEM768'): Promise<void> {
    const kx = clientKeyExchange(group);
    const transcript = new Transcript(this.suite.hash);
    const schedule = new KeySchedule(this.suite);
    const hello = clientHello(SUITE, kx.code, kx.share.publicKey, SCHEMES);
    transcript.add(hello);
    this.socket.write(plaintextRecord(ContentType.handshake, hello, 0x0301));
    const serverHello = await this.message(HandshakeType.serverHello);
    transcript.add(serverHello.raw);
    const secrets = schedule.handshake(kx.share.agree(serverShare(serverHello.body)), transcript.current());
    this.fromServer = new RecordProtection(this.suite, trafficKeys(this.suite, secrets.serverHandshakeTraffic));
    for (const type of [HandshakeType.encryptedExtensions, HandshakeType.certificate, HandshakeType.certificateVerify, HandshakeType.finished]) {
      transcript.add((await this.message(type)).raw);
    }
    const application = schedule.application(transcript.current());
    const verifyData = finishedVerifyData(this.suite, secrets.clientHandshakeTraffic, transcript.current());
    const handshakeKeys = new RecordProtection(this.suite, trafficKeys(this.suite, secrets.clientHandshakeTraffic));
    this.socket.write(handshakeKeys.seal(ContentType.handshake, finished(verifyData)));
    this.fromServer = new RecordProtection(this.suite, trafficKeys(this.suite, application.serverApplicationTraffic));
    this.writeSecret = application.clientApplicationTraffic;
    this.toServer = new RecordProtection(this.suite, trafficKeys(this.suite, this.writeSecret));
  }

  /** One protected record of this inner type; false when the socket's buffer is full (Node's write()). */
  send(type: number, content: Uint8Array): boolean {
    return this.socket.write(this.toServer!.seal(type, content));
  }

  /** KeyUpdate (RFC 8446 4.6.3); our sending keys move on after it. */
  keyUpdate(requested: boolean): boolean {
    const room = this.send(ContentType.handshake, Uint8Array.of(HandshakeType.keyUpdate, 0, 0, 1, requested ? 1 : 0));
    this.writeSecret = nextTrafficSecret(this.suite, this.writeSecret);
    this.toServer = new RecordProtection(this.suite, trafficKeys(this.suite, this.writeSecret));
    return room;
  }

  /** Stop reading: what the server sends stays in the kernel's buffers. */
  stopReading(): void {
    this.socket.removeAllListeners('data');
    this.socket.pause();
  }

  /** Resolves once the server has closed the connection (or it broke). */
  whenClosed(): Promise<void> {
    return this.closed;
  }

  /** The next server record, decrypted once keys are set (change_cipher_spec skipped). */
  async record(): Promise<{ type: number; content: Uint8Array }> {
    for (;;) {
      const r = this.deframer.next();
      if (r) {
        if (r.type === ContentType.changeCipherSpec) continue;
        if (!this.fromServer) return { type: r.type, content: r.fragment };
        const opened = this.fromServer.open(r);
        if (!opened) throw new Error('a server record does not decrypt');
        return opened;
      }
      await Promise.race([
        new Promise<void>((resolve) => (this.wake = resolve)),
        this.closed.then(() => { throw new Error('closed by the server'); }),
      ]);
      this.wake = null;
    }
  }

  private async message(type: number): Promise<HandshakeMessage> {
    for (;;) {
      const m = this.joiner.next();
      if (m) {
        if (m.type !== type) throw new Error(`expected handshake message ${type}, got ${m.type}`);
        return m;
      }
      const r = await this.record();
      if (r.type === ContentType.alert) throw new Error(`alert ${r.content[1]} from the server`);
      if (r.type !== ContentType.handshake) throw new Error(`expected a handshake record, got type ${r.type}`);
      this.joiner.push(r.content);
    }
  }
}
