// One connection after the jail: the engine in the middle, the network on one
// side, keyproc during the handshake, prog's pipes after it. Each direction has
// backpressure: a full destination pauses its source, so buffers stay bounded.
// With delayed encryption a plaintext phase (cleartext.ts) comes first.
import type { Socket } from 'node:net';
import type { PeerIdentity } from '../peercert';
import { EXIT_FAILURE, EXIT_OK } from '../lib/exitcodes';
import type { Logger } from '../lib/log';
import { CtlMsg, encodeConnected, encodeHandshakeDone, MAX_CTL_FRAME, type ProxyAddresses, type SocketAddresses } from '../wire/ctl';
import { encodeFrame } from '../wire/frame';
import { encodeFacts, tlsFacts } from '../wire/facts';
import { Cleartext, tlsPhasePipes, type SwitchRequest } from './cleartext';
import type { NetprocFds } from './fds';
import { KeyClient, type KeyAnswer } from './keyclient';
import { parseProxyHeader } from '../wire/proxyheader';
import { validateServerName } from '../lib/hostname';
import { printable } from '../lib/log';
import type { EngineEvent, HandshakeInfo, ServerEngine } from '../tls/api';
import { Alert } from '../tls/tables';
import { GarbageBudget } from './garbage';


export interface SessionTimeouts {
  handshakeSeconds: number;
  idleSeconds: number;
  /** When the connection began (the entry's start, the server's accept), ms since the epoch: -T counts from it. */
  began: number;
}

export interface SessionOptions {
  /** -p: read a PROXY header of this version first; 0: none. */
  proxyVersion?: 0 | 1 | 2;
  /** With -a: the client certificate's identity, for the facts delayed encryption reports. */
  identify?: ((leafDer: Uint8Array) => PeerIdentity) | undefined;
}

/** getsockname/getpeername on the client socket, for prog's TCP* variables; null if fd 0 is no TCP socket. */
function socketAddresses(s: Socket): SocketAddresses | null {
  const { localAddress, localPort, remoteAddress, remotePort } = s;
  if (!localAddress || !localPort || !remoteAddress || !remotePort) return null;
  return { localAddress, localPort, remoteAddress, remotePort };
}

export class Session {
  private readonly key: KeyClient;
  private readonly garbage = new GarbageBudget();
  private handshakeDone = false;
  private inboundDone = false; // prog's stdin is closed (or broken)
  private outboundDone = false; // close_notify queued, network write side ending
  private exiting = false;
  private handshakeTimer?: NodeJS.Timeout;
  private idleTimer?: NodeJS.Timeout;
  /** Delayed encryption: the plaintext phase while it lasts. */
  private cleartext: Cleartext | null = null;
  /** Where the TLS facts go once the handshake is done (delayed encryption), else null. */
  private factsTo: Socket | null = null;
  /** Decrypted data waits while the facts wait for prog's plaintext to be written. */
  private holdAppData = false;
  private heldAppData: Uint8Array[] = [];
  private endAfterHold = false;
  private toProg: Socket;
  private fromProg: Socket;
  private readonly proxyVersion: 0 | 1 | 2;
  /** -p: the PROXY header is still to come (bytes so far in proxyBytes). */
  private proxyPending: boolean;
  private proxyBytes: Buffer = Buffer.alloc(0);
  private proxy: ProxyAddresses | null = null;
  /** The client sent close_notify (so its TCP close is no news). */
  private closeNotifySeen = false;
  /** The client's SNI name as checked (lib/hostname.ts), or null without one. */
  private serverName: string | null = null;

  constructor(
    private readonly fds: NetprocFds,
    private readonly engine: ServerEngine,
    private readonly log: Logger,
    private readonly timeouts: SessionTimeouts,
    private readonly options: SessionOptions = {},
  ) {
    this.proxyVersion = options.proxyVersion ?? 0;
    this.proxyPending = this.proxyVersion !== 0;
    this.key = new KeyClient(fds.toKey, fds.fromKey, (a) => this.onKeyAnswer(a), (m) => this.keyprocFailed(m));
    ({ toProg: this.toProg, fromProg: this.fromProg } = tlsPhasePipes(fds));
    this.touch();
    this.wireNetwork();
    fds.ctl.on('end', () => this.fail('the entry process went away'));
    fds.ctl.on('error', () => this.fail('the entry process went away'));
    fds.ctl.resume();
    // -T counts from when the connection began (timeouts.began) through the
    // PROXY header (-p: a trickled header is ended at -T) and the handshake.
    // (With delayed encryption the handshake gets its own -T from prog's request.)
    if (this.proxyPending) this.handshakeTimer = setTimeout(() => this.fail('timeout waiting for the PROXY header'), this.msUntilHandshakeDeadline(timeouts.began));
    else this.connected();
    fds.netIn.resume();
  }

  /** The connection proper begins (after a PROXY header, if any): TLS at once, or plaintext first. */
  private connected(): void {
    // The header is in; the handshake's own timer (or the plaintext phase) takes over.
    clearTimeout(this.handshakeTimer);
    const control = this.fds.startTls;
    if (!control) return this.startTls();
    // prog starts now, so the entry needs the addresses now.
    this.fds.ctl.write(encodeFrame(CtlMsg.CONNECTED, encodeConnected(socketAddresses(this.fds.netIn), this.proxy), MAX_CTL_FRAME));
    this.cleartext = new Cleartext(this.fds, control, this.log, {
      touch: () => this.touch(),
      startTls: (request) => this.startTls(request),
      finished: () => this.exit(EXIT_OK),
      fail: (message) => this.fail(message),
    });
    this.cleartext.start();
  }

  private startTls(request?: SwitchRequest): void {
    clearTimeout(this.handshakeTimer);
    this.handshakeTimer = setTimeout(() => this.fail('handshake timeout'), this.msUntilHandshakeDeadline(request ? Date.now() : this.timeouts.began));
    this.wireProg();
    if (request) {
      this.log.debug(`prog asked for TLS${request.facts ? ' and the facts' : ''}`);
      this.cleartext = null;
      this.factsTo = request.facts ? tlsPhasePipes(this.fds).facts : null;
      // A prompt client's ClientHello may already be here.
      for (const chunk of request.early) this.handle(this.engine.feed(chunk));
      this.gateInbound();
    }
  }

  private wireNetwork(): void {
    const { netIn, netOut } = this.fds;
    netIn.on('data', (chunk: Buffer) => {
      this.touch();
      this.garbage.moved(chunk.length);
      if (this.proxyPending) this.readProxyHeader(chunk);
      else if (this.cleartext) this.cleartext.fromNetwork(chunk);
      else this.handle(this.engine.feed(chunk));
    });
    netIn.on('end', () => {
      if (this.cleartext) return this.cleartext.networkEnd();
      if (!this.handshakeDone) return this.fail('client closed the connection during the handshake');
      this.log.debug(this.closeNotifySeen ? 'client closed the connection after its close_notify' : 'client closed the connection without close_notify');
      this.endProgIn();
    });
    netIn.on('error', (e) => this.fail(`network: ${e.message}`));
    netOut.on('error', (e) => this.fail(`network: ${e.message}`));
  }

  /**
   * -p: collect the PROXY header (under the handshake timeout; the parser
   * bounds it to 107 or 16+512 bytes), then hand what follows it to the engine.
   * Nothing reaches the engine before the header is complete and valid.
   */
  private readProxyHeader(chunk: Buffer): void {
    if (this.exiting) return;
    this.proxyBytes = this.proxyBytes.length === 0 ? chunk : Buffer.concat([this.proxyBytes, chunk]);
    const r = parseProxyHeader(this.proxyVersion as 1 | 2, this.proxyBytes);
    if (r.kind === 'more') return;
    if (r.kind === 'error') return this.fail(r.error);
    this.proxyPending = false;
    this.proxy = r.addresses;
    const rest = this.proxyBytes.subarray(r.length);
    this.proxyBytes = Buffer.alloc(0);
    this.connected();
    if (rest.length === 0) return;
    if (this.cleartext) this.cleartext.fromNetwork(rest);
    else this.handle(this.engine.feed(rest));
  }

  /** The TLS phase's plaintext pipes: prog's stdin/stdout, or (--ucspi-tls) SSLREADFD/SSLWRITEFD. */
  private wireProg(): void {
    const { netOut } = this.fds;
    const [progIn, progOut] = [this.toProg, this.fromProg];
    progIn.on('drain', () => this.gateInbound());
    progOut.on('data', (chunk: Buffer) => {
      this.garbage.moved(chunk.length);
      this.engine.sendAppData(chunk);
      if (!this.flush()) progOut.pause();
    });
    netOut.on('drain', () => {
      if (this.handshakeDone && !this.outboundDone) progOut.resume();
      this.gateInbound();
    });
    progOut.on('end', () => this.endOutbound());
    progOut.on('error', () => this.endOutbound());
    progIn.on('error', (e) => {
      // prog stopped reading (exited): what the client sends has nowhere to go.
      this.log.debug(`prog's stdin: ${e.message}`);
      this.inboundDone = true;
      this.fds.netIn.pause();
      this.maybeExit();
    });
  }

  private handle(events: EngineEvent[]): void {
    for (const ev of events) {
      switch (ev.type) {
        case 'needCertificate': {
          // keyproc checks the name again; this only spares it names that can't be hosts.
          const name = validateServerName(ev.serverName ?? '');
          if (!name.ok) {
            this.log.debug(`SNI name '${printable(ev.serverName ?? '')}' refused: ${name.reason}`);
            this.handle(this.engine.refuseCertificate(Alert.unrecognizedName));
            return;
          }
          // prog is told the name keyproc looked up: lowercase, without a trailing dot.
          this.serverName = ev.serverName === null ? null : name.name;
          this.key.select({ version: ev.version, serverName: ev.serverName ?? '', schemes: ev.signatureSchemes, keyClasses: ev.keyClasses, curves: ev.curves });
          break;
        }
        case 'needSignature':
          this.key.sign13(ev.transcriptHash);
          break;
        case 'needSignature12':
          this.key.sign12(ev);
          break;
        case 'handshakeDone': {
          clearTimeout(this.handshakeTimer);
          this.handshakeDone = true;
          this.key.close();
          const info = { ...ev.info, serverName: this.serverName };
          this.fds.ctl.write(encodeFrame(CtlMsg.HANDSHAKE_DONE, encodeHandshakeDone(info, socketAddresses(this.fds.netIn), this.proxy), MAX_CTL_FRAME));
          this.sendFacts(info);
          this.fromProg.resume();
          break;
        }
        case 'appData':
          this.deliver(ev.data);
          break;
        case 'peerClosed':
          this.closeNotifySeen = true;
          this.endProgIn();
          break;
        case 'fatal': {
          this.flush();
          const message = `TLS alert ${ev.alert} ${ev.received ? 'received' : 'sent'}: ${ev.message}`;
          // A refused client certificate is the operator's business (-v); other broken handshakes are noise (-vv).
          return this.fail(message, ev.clientCertificate === true);
        }
      }
    }
    this.flush();
  }

  /**
   * Delayed encryption: prog, running since before TLS, learns the facts on
   * its control (-n: ack) descriptor if it asked; that descriptor ends here,
   * before any decrypted byte reaches prog.
   */
  private sendFacts(info: HandshakeInfo): void {
    const c = this.fds.startTls;
    if (!c) return;
    const end = c.kind === 'ucspi' ? c.control : c.ack;
    if (!this.factsTo) {
      if (c.kind === 'ucspi') end.end();
      return;
    }
    const leaf = info.peerCertificates?.[0];
    let peer = null;
    try {
      peer = leaf && this.options.identify ? this.options.identify(leaf) : null;
    } catch (e) {
      // verifyChain parsed this leaf already; a failure here is ours, not the client's.
      return this.fail(`unable to name the client certificate: ${(e as Error).message}`);
    }
    const facts = encodeFacts(tlsFacts(info, peer));
    // Plaintext still on its way into prog's stdin (-n) lands before the facts
    // end: a prog that discards stdin until then drops exactly the plaintext.
    this.holdAppData = true;
    this.toProg.write(new Uint8Array(0), () => {
      end.end(facts);
      this.holdAppData = false;
      for (const data of this.heldAppData.splice(0)) this.deliver(data);
      if (this.endAfterHold) this.endProgIn();
      else this.gateInbound();
    });
  }

  /** Decrypted data for prog, in order, and not before the facts are out. */
  private deliver(data: Uint8Array): void {
    if (this.holdAppData) {
      // Held, and bounded: nothing more is read from the client until the facts are out.
      this.heldAppData.push(data);
      this.gateInbound();
      return;
    }
    if (!this.inboundDone && !this.toProg.write(data)) this.gateInbound();
  }

  /**
   * The client is read only while both ways out have room: prog's stdin
   * (what we decrypt) and the client's socket (what the engine answers:
   * KeyUpdates, alerts, the handshake). A client that sends and never reads
   * is not read either, so nothing piles up here. The plaintext phase of
   * delayed encryption paces itself (cleartext.ts).
   */
  private gateInbound(): void {
    if (this.cleartext) return;
    const held = this.exiting || this.inboundDone || this.holdAppData || this.toProg.writableNeedDrain || this.fds.netOut.writableNeedDrain;
    if (held) this.fds.netIn.pause();
    else this.fds.netIn.resume();
  }

  /**
   * keyproc died or broke its protocol. Before the handshake is done the
   * client is owed an alert (internal_error), as for any failure of ours,
   * not a bare close; after it keyproc has nothing more to do for us.
   */
  private keyprocFailed(message: string): void {
    if (this.handshakeDone) return this.fail(message);
    this.handle(this.engine.abort(message));
    // The engine may already be finished (a fatal alert went out): then this ends us.
    this.fail(message);
  }

  private onKeyAnswer(a: KeyAnswer): void {
    if (a.type === 'chain') this.handle(this.engine.provideCertificate(a.answer.chain, a.answer.scheme));
    else if (a.type === 'fail') this.handle(this.engine.refuseCertificate(a.alert));
    else this.handle(this.engine.provideSignature(a.signature));
  }

  /** Write what the engine has for the network; false when the socket is full. */
  private flush(): boolean {
    const out = this.engine.takeOutput();
    if (out.length === 0) return true;
    this.touch();
    const room = this.fds.netOut.write(out);
    if (!room) this.gateInbound();
    return room;
  }

  private endProgIn(): void {
    if (this.holdAppData) {
      this.endAfterHold = true;
      return;
    }
    if (this.inboundDone) return;
    this.inboundDone = true;
    this.toProg.end();
    this.maybeExit();
  }

  private endOutbound(): void {
    if (this.outboundDone) return;
    this.outboundDone = true;
    if (!this.engine.finished) this.engine.close();
    this.flush();
    this.maybeExit();
  }

  private maybeExit(): void {
    if (this.inboundDone && this.outboundDone) this.exit(EXIT_OK);
  }

  /** -T from `from`: how long is left (0 if it has passed: netproc itself may have started late). */
  private msUntilHandshakeDeadline(from: number): number {
    return Math.max(0, from + this.timeouts.handshakeSeconds * 1000 - Date.now());
  }

  private touch(): void {
    clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => {
      this.log.info('network timeout');
      if (this.handshakeDone) this.endOutboundAndExit();
      else this.fail('network timeout during the handshake');
    }, this.timeouts.idleSeconds * 1000);
  }

  private endOutboundAndExit(): void {
    this.endOutbound();
    this.exit(EXIT_OK);
  }

  /** The connection cannot go on: say why (at the right verbosity) and end it. */
  private fail(message: string, operatorsBusiness = false): void {
    if (this.exiting) return;
    if (this.handshakeDone || operatorsBusiness) this.log.info(message);
    else this.log.debug(message);
    this.exit(this.handshakeDone ? EXIT_OK : EXIT_FAILURE);
  }

  /** Flush the network side, shut it down, then leave. */
  private exit(code: number): void {
    if (this.exiting) return;
    this.exiting = true;
    clearTimeout(this.handshakeTimer);
    clearTimeout(this.idleTimer);
    this.garbage.stop();
    this.fromProg.pause();
    this.fds.netIn.pause();
    // end() flushes what is queued, then shuts the write side down.
    const leave = () => process.exit(code);
    this.fds.netOut.end(leave);
    // A client that stops reading must not keep us alive.
    setTimeout(leave, 2000).unref();
  }
}
