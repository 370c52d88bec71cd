// The TLS 1.3 server handshake (RFC 8446 4), as state objects in the manner
// of rustls; the first ClientHello is read in firstflight.ts, which calls
// startHandshake once TLS 1.3 is chosen:
//
//   startHandshake: key exchange → needCertificate (nothing sent yet)
//   AwaitCertificate → ServerHello, EncryptedExtensions, [CertificateRequest], Certificate → needSignature
//   AwaitSignature   → CertificateVerify, Finished
//   [ExpectClientCertificate → ExpectClientCertificateVerify →]
//   ExpectFinished → Traffic (KeyUpdate only)
//
// The bracketed steps are client authentication (Connection.clientAuth set).

import { timingSafeEqual } from 'node:crypto';
import type { ClientAuth } from './api';
import {
  acceptClientChain,
  certificateRequest13,
  checkClientCertificateVerify13,
  parseClientCertificate13,
  type ClientIdentity,
} from './clientauth';
import type { ClientHello, KeyShareEntry } from './clienthello';
import { TlsAlert } from './errors';
import { finishedVerifyData, KeySchedule, Transcript, type HandshakeSecrets } from './keyschedule';
import * as msgs from './messages';
import type { HandshakeMessage } from './record';
import { unexpected, type AwaitingCertificate, type AwaitingSignature, type Connection, type ReadingState, type State } from './state';
import { Alert, HandshakeType, ProtocolVersion, signatureSchemeByCode, type CipherSuite, type NamedGroup } from './tables';

/** What the handshake states carry from step to step after the ServerHello. */
interface Handshake {
  suite: CipherSuite;
  group: NamedGroup;
  serverName: string | null;
  signatureSchemes: number[];
  transcript: Transcript;
  schedule: KeySchedule;
  secrets: HandshakeSecrets;
  /** With client authentication, once its chain was accepted. */
  client: ClientIdentity | null;
}

function nameOf(bytes: Uint8Array | null): string | null {
  // latin1: one char per byte, so every byte (a NUL, a slash) stays visible to the name checks.
  return bytes ? Buffer.from(bytes).toString('latin1') : null;
}

/** What the ClientHello settled, waiting for keyproc before anything is sent. */
interface Hello {
  ch: ClientHello;
  transcript: Transcript;
  suite: CipherSuite;
  group: NamedGroup;
  /** Our key share and the (EC)DHE secret, computed while keyproc works. */
  publicKey: Uint8Array;
  shared: Uint8Array;
  serverName: string | null;
  signatureSchemes: number[];
}

/**
 * Ask keyproc for the certificate first, and send nothing yet: a client
 * whose signature_algorithms no certificate of ours can serve gets a
 * plaintext handshake_failure instead of a ServerHello and then an
 * encrypted one (tlsfuzzer; OpenSSL decides before its ServerHello too).
 * The key exchange is done now, so a bad key share fails before keyproc
 * is asked anything.
 */
export function startHandshake(
  conn: Connection,
  ch: ClientHello,
  transcript: Transcript,
  suite: CipherSuite,
  group: NamedGroup,
  peerShare: KeyShareEntry,
): State {
  const share = conn.newKeyShare(group);
  const shared = share.agree(peerShare.keyExchange);
  const hello: Hello = { ch, transcript, suite, group, publicKey: share.publicKey, shared, serverName: nameOf(ch.serverName), signatureSchemes: ch.signatureSchemes ?? [] };
  conn.emit({ type: 'needCertificate', version: 0x0304, serverName: hello.serverName, signatureSchemes: hello.signatureSchemes, keyClasses: ['ec', 'ed25519', 'rsa'], curves: [] });
  return new AwaitCertificate(hello);
}

/** ServerHello, handshake keys, EncryptedExtensions, [CertificateRequest]. */
function sendServerHello(conn: Connection, h: Hello): Handshake {
  const { ch, transcript, suite } = h;
  const sh = msgs.serverHello(conn.random(32), ch.sessionId, suite.code, h.group.code, h.publicKey);
  transcript.add(sh);
  conn.sendHandshake(sh);
  if (ch.sessionId.length > 0) conn.sendCompatCcs();

  const schedule = new KeySchedule(suite);
  const secrets = schedule.handshake(h.shared, transcript.current());
  conn.requireRecordBoundary('ClientHello');
  conn.setWriteSecret(suite, secrets.serverHandshakeTraffic);
  conn.setReadSecret(suite, secrets.clientHandshakeTraffic);
  // RFC 8449: the client's limit counts the inner content type; it holds for every protected record from here on.
  if (ch.recordSizeLimit !== null) conn.limitRecords(ch.recordSizeLimit - 1);
  // We never accept 0-RTT (no resumption), so a client that tried it gets
  // its early records skipped rather than an error.
  conn.skipEarlyData(ch.earlyData);

  const ee = msgs.encryptedExtensions(ch.serverName !== null, ch.recordSizeLimit !== null);
  transcript.add(ee);
  conn.sendHandshake(ee);
  if (conn.clientAuth) {
    const cr = certificateRequest13(conn.clientAuth.authorities);
    transcript.add(cr);
    conn.sendHandshake(cr);
  }
  return { suite, group: h.group, serverName: h.serverName, signatureSchemes: h.signatureSchemes, transcript, schedule, secrets, client: null };
}

/** Waiting for provideCertificate (keyproc's SELECT answer); nothing sent yet. */
class AwaitCertificate implements AwaitingCertificate {
  readonly name = 'AwaitCertificate';
  readonly awaits = 'certificate';

  constructor(private readonly hello: Hello) {}

  provideCertificate(conn: Connection, chain: Uint8Array[], scheme: number): State {
    if (chain.length === 0 || chain.some((c) => c.length === 0)) {
      throw new TlsAlert(Alert.internalError, 'empty certificate chain from keyproc');
    }
    const known = signatureSchemeByCode(scheme);
    if (!known?.tls13 || !this.hello.signatureSchemes.includes(scheme)) {
      throw new TlsAlert(Alert.internalError, `keyproc chose signature scheme ${scheme} the client did not offer`);
    }
    const hs = sendServerHello(conn, this.hello);
    const cert = msgs.certificate(chain);
    hs.transcript.add(cert);
    conn.sendHandshake(cert);
    conn.emit({ type: 'needSignature', transcriptHash: hs.transcript.current() });
    return new AwaitSignature(hs, scheme);
  }
}

/** Waiting for provideSignature (keyproc's SIGN13 answer). */
class AwaitSignature implements AwaitingSignature {
  readonly name = 'AwaitSignature';
  readonly awaits = 'signature';

  constructor(
    private readonly hs: Handshake,
    private readonly scheme: number,
  ) {}

  provideSignature(conn: Connection, signature: Uint8Array): State {
    const { hs } = this;
    if (signature.length === 0) throw new TlsAlert(Alert.internalError, 'empty signature from keyproc');
    const cv = msgs.certificateVerify(this.scheme, signature);
    hs.transcript.add(cv);
    conn.sendHandshake(cv);

    const fin = msgs.finished(finishedVerifyData(hs.suite, hs.secrets.serverHandshakeTraffic, hs.transcript.current()));
    hs.transcript.add(fin);
    conn.sendHandshake(fin);

    // The application secrets hang on the transcript up to our Finished; the
    // client's Finished on the transcript up to its last message before it.
    const app = hs.schedule.application(hs.transcript.current());
    conn.setWriteSecret(hs.suite, app.serverApplicationTraffic);
    if (conn.clientAuth) return new ExpectClientCertificate(hs, conn.clientAuth, app.clientApplicationTraffic);
    return new ExpectFinished(hs, app.clientApplicationTraffic);
  }
}

/** Client authentication: the client's chain, under its handshake keys, before its Finished. */
class ExpectClientCertificate implements ReadingState {
  readonly name = 'ExpectClientCertificate';
  readonly awaits = 'message';

  constructor(
    private readonly hs: Handshake,
    private readonly auth: ClientAuth,
    private readonly clientTraffic: Uint8Array,
  ) {}

  handle(_conn: Connection, msg: HandshakeMessage): State {
    if (msg.type !== HandshakeType.certificate) unexpected(this, msg);
    const chain = parseClientCertificate13(msg.body);
    this.hs.client = acceptClientChain(this.auth, chain, ProtocolVersion.tls13);
    this.hs.transcript.add(msg.raw);
    return new ExpectClientCertificateVerify(this.hs, this.hs.client, this.clientTraffic);
  }
}

/** The client proves it holds the leaf's key: a signature over the transcript through its Certificate. */
class ExpectClientCertificateVerify implements ReadingState {
  readonly name = 'ExpectClientCertificateVerify';
  readonly awaits = 'message';

  constructor(
    private readonly hs: Handshake,
    private readonly client: ClientIdentity,
    private readonly clientTraffic: Uint8Array,
  ) {}

  handle(_conn: Connection, msg: HandshakeMessage): State {
    if (msg.type !== HandshakeType.certificateVerify) unexpected(this, msg);
    checkClientCertificateVerify13(this.client, msg.body, this.hs.transcript.current());
    this.hs.transcript.add(msg.raw);
    return new ExpectFinished(this.hs, this.clientTraffic);
  }
}

class ExpectFinished implements ReadingState {
  readonly name = 'ExpectFinished';
  readonly awaits = 'message';

  constructor(
    private readonly hs: Handshake,
    private readonly clientTraffic: Uint8Array,
  ) {}

  handle(conn: Connection, msg: HandshakeMessage): State {
    if (msg.type !== HandshakeType.finished) unexpected(this, msg);
    // Over the transcript through our Finished, or through the client's CertificateVerify.
    const expected = finishedVerifyData(this.hs.suite, this.hs.secrets.clientHandshakeTraffic, this.hs.transcript.current());
    if (msg.body.length !== expected.length) throw new TlsAlert(Alert.decodeError, 'Finished of wrong length');
    if (!timingSafeEqual(msg.body, expected)) throw new TlsAlert(Alert.decryptError, 'client Finished does not verify');
    conn.requireRecordBoundary('Finished');
    conn.setReadSecret(this.hs.suite, this.clientTraffic);
    conn.handshakeComplete({
      version: 'TLSv1.3',
      cipher: this.hs.suite.name,
      group: this.hs.group.name,
      serverName: this.hs.serverName,
      peerCertificates: this.hs.client?.chain ?? null,
    });
    return new Traffic();
  }
}

/** After the handshake the only handshake message a client may send is KeyUpdate. */
class Traffic implements ReadingState {
  readonly name = 'Traffic';
  readonly awaits = 'message';

  handle(conn: Connection, msg: HandshakeMessage): State {
    if (msg.type !== HandshakeType.keyUpdate) unexpected(this, msg);
    if (msg.body.length !== 1) throw new TlsAlert(Alert.decodeError, 'KeyUpdate of wrong length');
    const request = msg.body[0];
    if (request !== msgs.KeyUpdateRequest.notRequested && request !== msgs.KeyUpdateRequest.requested) {
      throw new TlsAlert(Alert.illegalParameter, `KeyUpdate request ${request}`);
    }
    conn.requireRecordBoundary('KeyUpdate');
    conn.peerKeyUpdate(request === msgs.KeyUpdateRequest.requested);
    return this;
  }
}
