// The first flight: the client's first ClientHello (and, after our
// HelloRetryRequest, its second) is parsed, the version negotiated, and the
// handshake handed on to TLS 1.3 (handshake13.ts) or to TLS 1.2 and below
// (handshake12.ts). Every connection starts here.

import { parseClientHello, type ClientHello } from './clienthello';
import { startTls12 } from './handshake12';
import { startHandshake } from './handshake13';
import { Transcript } from './keyschedule';
import * as msgs from './messages';
import type { HandshakeMessage } from './record';
import { checkSecondClientHello, negotiateVersion, select } from './selection';
import { unexpected, type Connection, type ReadingState, type State } from './state';
import { HandshakeType, ProtocolVersion, type CipherSuite, type NamedGroup } from './tables';

export class ExpectClientHello implements ReadingState {
  readonly name = 'ExpectClientHello';
  readonly awaits = 'message';

  handle(conn: Connection, msg: HandshakeMessage): State {
    if (msg.type !== HandshakeType.clientHello) unexpected(this, msg);
    const ch = parseClientHello(msg.body);
    const version = negotiateVersion(conn.cfg, ch);
    if (version !== ProtocolVersion.tls13) return startTls12(conn, ch, msg.raw, version);
    const choice = select(conn.cfg, ch);
    if (choice.kind === 'retry') {
      // The transcript restarts from message_hash(ClientHello1) (RFC 8446 4.4.1).
      const transcript = Transcript.afterRetry(choice.suite.hash, msg.raw);
      const hrr = msgs.helloRetryRequest(ch.sessionId, choice.suite.code, choice.group.code);
      transcript.add(hrr);
      conn.sendHandshake(hrr);
      if (ch.sessionId.length > 0) conn.sendCompatCcs();
      conn.skipEarlyData(ch.earlyData);
      return new ExpectSecondClientHello(ch, choice.suite, choice.group, transcript);
    }
    const transcript = new Transcript(choice.suite.hash);
    transcript.add(msg.raw);
    return startHandshake(conn, ch, transcript, choice.suite, choice.group, choice.share);
  }
}

class ExpectSecondClientHello implements ReadingState {
  readonly name = 'ExpectSecondClientHello';
  readonly awaits = 'message';

  constructor(
    private readonly first: ClientHello,
    private readonly suite: CipherSuite,
    private readonly group: NamedGroup,
    private readonly transcript: Transcript,
  ) {}

  handle(conn: Connection, msg: HandshakeMessage): State {
    if (msg.type !== HandshakeType.clientHello) unexpected(this, msg);
    const ch = parseClientHello(msg.body);
    const share = checkSecondClientHello(conn.cfg, this.first, ch, this.suite, this.group);
    this.transcript.add(msg.raw);
    return startHandshake(conn, ch, this.transcript, this.suite, this.group, share);
  }
}

