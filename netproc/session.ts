// One connection after the jail: the engine in the middle, the network on one
// side, keyproc during the handshake, prog's pipes after it. Each direction has
// backpressure: a full destination pauses its source, so buffers stay bounded.
import type { Socket } from 'node:net';
import { EXIT_FAILURE, EXIT_OK } from '../src/exitcodes';
import type { Logger } from '../src/log';
import { CtlMsg, encodeHandshakeDone, MAX_CTL_FRAME, type ProxyAddresses, type SocketAddresses } from '../src/rpc/ctl';
import { encodeFrame } from '../src/rpc/frame';
import type { NetprocFds } from './fds';
import { KeyClient, type KeyAnswer } from './keyclient';
import { parseProxyHeader } from './proxyheader';
import { printable, validateServerName } from '../keyproc/name';
import type { EngineEvent, ServerEngine } from './tls/api';
import { Alert } from './tls/tables';


export interface SessionTimeouts {
  handshakeSeconds: number;
  idleSeconds: number;
}

/** getsockname/getpeername on the client socket, for prog's TCP* variables; null if fd 0 is no TCP socket. */
function socketAddresses(s: Socket): SocketAddresses | null {
  const { localAddress, localPort, remoteAddress, remotePort } = s;
  if (!localAddress || !localPort || !remoteAddress || !remotePort) return null;
  return { localAddress, localPort, remoteAddress, remotePort };
}

export class Session {
  private readonly key: KeyClient;
  private handshakeDone = false;
  private inboundDone = false; // prog's stdin is closed (or broken)
  private outboundDone = false; // close_notify queued, network write side ending
  private exiting = false;
  private readonly handshakeTimer: NodeJS.Timeout;
  private idleTimer?: NodeJS.Timeout;
  /** -p: the PROXY header is still to come (bytes so far in proxyBytes). */
  private proxyPending: boolean;
  private proxyBytes: Buffer = Buffer.alloc(0);
  private proxy: ProxyAddresses | null = null;

  constructor(
    private readonly fds: NetprocFds,
    private readonly engine: ServerEngine,
    private readonly log: Logger,
    private readonly timeouts: SessionTimeouts,
    private readonly proxyVersion: 0 | 1 | 2 = 0,
  ) {
    this.proxyPending = proxyVersion !== 0;
    this.key = new KeyClient(fds.toKey, fds.fromKey, (a) => this.onKeyAnswer(a), (m) => this.fail(m));
    this.handshakeTimer = setTimeout(() => this.fail('handshake timeout'), timeouts.handshakeSeconds * 1000);
    this.touch();
    this.wireNetwork();
    this.wireProg();
    fds.ctl.on('end', () => this.fail('the entry process went away'));
    fds.ctl.on('error', () => this.fail('the entry process went away'));
    fds.ctl.resume();
    fds.netIn.resume();
  }

  private wireNetwork(): void {
    const { netIn, netOut, progIn } = this.fds;
    netIn.on('data', (chunk: Buffer) => {
      this.touch();
      if (this.proxyPending) this.readProxyHeader(chunk);
      else this.handle(this.engine.feed(chunk));
    });
    netIn.on('end', () => {
      if (!this.handshakeDone) return this.fail('client closed the connection during the handshake');
      this.log.debug('client closed the connection without close_notify');
      this.endProgIn();
    });
    netIn.on('error', (e) => this.fail(`network: ${e.message}`));
    netOut.on('error', (e) => this.fail(`network: ${e.message}`));
    progIn.on('drain', () => netIn.resume());
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
    if (rest.length > 0) this.handle(this.engine.feed(rest));
  }

  private wireProg(): void {
    const { progIn, progOut, netOut } = this.fds;
    progOut.on('data', (chunk: Buffer) => {
      this.engine.sendAppData(chunk);
      if (!this.flush()) progOut.pause();
    });
    netOut.on('drain', () => {
      if (this.handshakeDone && !this.outboundDone) progOut.resume();
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
          this.key.select({ version: ev.version, serverName: ev.serverName ?? '', schemes: ev.signatureSchemes, keyClasses: ev.keyClasses, curves: ev.curves });
          break;
        }
        case 'needSignature':
          this.key.sign13(ev.transcriptHash);
          break;
        case 'needSignature12':
          this.key.sign12(ev);
          break;
        case 'handshakeDone':
          clearTimeout(this.handshakeTimer);
          this.handshakeDone = true;
          this.key.close();
          this.fds.ctl.write(encodeFrame(CtlMsg.HANDSHAKE_DONE, encodeHandshakeDone(ev.info, socketAddresses(this.fds.netIn), this.proxy), MAX_CTL_FRAME));
          this.fds.progOut.resume();
          break;
        case 'appData':
          if (!this.inboundDone && !this.fds.progIn.write(ev.data)) this.fds.netIn.pause();
          break;
        case 'peerClosed':
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
    return this.fds.netOut.write(out);
  }

  private endProgIn(): void {
    if (this.inboundDone) return;
    this.inboundDone = true;
    this.fds.progIn.end();
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
    this.fds.progOut.pause();
    this.fds.netIn.pause();
    // end() flushes what is queued, then shuts the write side down.
    const leave = () => process.exit(code);
    this.fds.netOut.end(leave);
    // A client that stops reading must not keep us alive.
    setTimeout(leave, 2000).unref();
  }
}
