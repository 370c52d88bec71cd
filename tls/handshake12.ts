// The TLS 1.2 server handshake (RFC 5246 7.3, RFC 8422 ECDHE, RFC 7627
// extended master secret, RFC 5746 renegotiation_info), as state objects in
// the manner of handshake13.ts:
//
//   ExpectClientHello (firstflight.ts, shared) → needCertificate
//   AwaitCertificate12 → needSignature12
//   AwaitSignature12   → ServerHello, Certificate, ServerKeyExchange,
//                        [CertificateRequest,] ServerHelloDone
//   [ExpectClientCertificate12 →] ExpectClientKeyExchange12
//   [→ ExpectClientCertificateVerify12] → ExpectChangeCipherSpec12
//   → ExpectFinished12 → ChangeCipherSpec, Finished → Traffic12
//
// The bracketed steps are client authentication (Connection.clientAuth set).
//
// Only ECDHE, with AEAD or CBC (MAC-then-encrypt) suites; no resumption
// (empty session id, no tickets), no compression, no renegotiation. TLS 1.1
// and 1.0 (RFC 4346, 2246) run the same states when -m allows them: SHA-1
// CBC suites only, the MD5+SHA-1 PRF, no scheme in ServerKeyExchange.

import { timingSafeEqual } from 'node:crypto';
import { ByteReader, DecodeError } from '../lib/bytes';
import type { ClientAuth, HandshakeInfo } from './api';
import {
  acceptClientChain,
  certificateRequest12,
  checkClientCertificateVerify12,
  parseClientCertificate12,
  type ClientIdentity,
} from './clientauth';
import type { ClientHello } from './clienthello';
import { unexpected, type AwaitingCertificate, type AwaitingSignature, type Connection, type ReadingState, type State } from './state';
import { TlsAlert } from './errors';
import type { KeyShare } from './keyexchange';
import { finishedVerifyData12, keyBlock12, masterSecret12, Transcript12, type KeyBlock12, type PrfHash } from './keyschedule12';
import * as msgs from './messages';
import { protection12 } from './protection12';
import type { HandshakeMessage } from './record';
import { legacyVersions, tls13Enabled } from './selection';
import { chooseGroup, chooseSuites, keyClassesOf } from './selection12';
import {
  Alert,
  DOWNGRADE_TLS11,
  DOWNGRADE_TLS12,
  ExtensionType,
  HandshakeType,
  KEY_CLASSES_BY_AUTH,
  keyClassOfScheme,
  ProtocolVersion,
  SCHEMES_BELOW_TLS12,
  SignalingSuite,
  signatureSchemeByCode,
  type CipherSuite12,
  type NamedGroup,
} from './tables';

/** RFC 5246 7.4.1.4.1: without signature_algorithms, SHA-1 with the key's algorithm. */
export const DEFAULT_SCHEMES_12 = [0x0201, 0x0203] as const;

/** ClientHellos after the handshake we answer with no_renegotiation before giving up on the client. */
const MAX_RENEGOTIATION_ATTEMPTS = 4;

const VERSION_NAMES: Record<number, HandshakeInfo['version']> = { 0x0303: 'TLSv1.2', 0x0302: 'TLSv1.1', 0x0301: 'TLSv1' };

/** What the TLS 1.2 states carry from step to step. */
interface Hello12 {
  /** 0x0303, or 0x0302/0x0301 when -m allows them. */
  version: number;
  clientRandom: Uint8Array;
  serverRandom: Uint8Array;
  /** Suites we could use, best first; the certificate decides among them. */
  candidates: CipherSuite12[];
  group: NamedGroup;
  schemes: number[];
  ems: boolean;
  secureRenegotiation: boolean;
  pointFormats: boolean;
  serverName: string | null;
  transcript: Transcript12;
  /** With client authentication, once its chain was accepted. */
  client: ClientIdentity | null;
}

function prfHashOf(h: Hello12, suite: CipherSuite12): PrfHash {
  return h.version >= ProtocolVersion.tls12 ? suite.hash : 'md5sha1';
}

/** The ClientHello chose TLS 1.2 (or 1.1, 1.0): check what it needs, ask for a certificate. */
export function startTls12(conn: Connection, ch: ClientHello, rawClientHello: Uint8Array, version: number): State {
  conn.enterTls12(version);
  if (!ch.compressionMethods.includes(0)) {
    throw new TlsAlert(Alert.illegalParameter, 'compression_methods without null');
  }
  // RFC 5746 3.6: an initial handshake carries an empty renegotiated_connection.
  const ri = ch.extensions.get(ExtensionType.renegotiationInfo);
  if (ri !== undefined && !(ri.length === 1 && ri[0] === 0)) {
    throw new TlsAlert(Alert.handshakeFailure, 'renegotiation_info is not empty in an initial handshake');
  }
  const secureRenegotiation = ri !== undefined || ch.cipherSuites.includes(SignalingSuite.emptyRenegotiationInfo);

  // RFC 8422 5.1.2: uncompressed points are mandatory.
  const pf = ch.extensions.get(ExtensionType.ecPointFormats);
  if (pf !== undefined) {
    const r = new ByteReader(pf);
    const formats = r.vector(1);
    r.end();
    if (formats.length === 0) throw new DecodeError('ec_point_formats: empty list');
    if (!formats.includes(0)) throw new TlsAlert(Alert.illegalParameter, 'ec_point_formats without uncompressed');
  }

  const emsBody = ch.extensions.get(ExtensionType.extendedMasterSecret);
  if (emsBody !== undefined && emsBody.length !== 0) throw new DecodeError('extended_master_secret: not empty');

  const group = chooseGroup(conn.cfg, ch.supportedGroups);
  if (!group) throw new TlsAlert(Alert.handshakeFailure, 'no key exchange group in common');
  const candidates = chooseSuites(conn.cfg, ch.cipherSuites, version);
  if (candidates.length === 0) throw new TlsAlert(Alert.handshakeFailure, 'no TLS 1.2 cipher suite in common');

  const serverRandom = conn.random(32);
  // RFC 8446 4.1.3: a server that could have done better says so.
  if (version === ProtocolVersion.tls12 && tls13Enabled(conn.cfg)) serverRandom.set(DOWNGRADE_TLS12, 24);
  if (version < ProtocolVersion.tls12 && (tls13Enabled(conn.cfg) || legacyVersions(conn.cfg)[0] === ProtocolVersion.tls12)) {
    serverRandom.set(DOWNGRADE_TLS11, 24);
  }

  const transcript = new Transcript12();
  transcript.add(rawClientHello);
  const hello: Hello12 = {
    version,
    clientRandom: ch.random,
    serverRandom,
    candidates,
    group,
    // Below 1.2 there is no signature_algorithms: our pseudo-schemes name what the key type implies.
    schemes: version < ProtocolVersion.tls12 ? [...SCHEMES_BELOW_TLS12] : (ch.signatureSchemes ?? [...DEFAULT_SCHEMES_12]),
    ems: emsBody !== undefined,
    secureRenegotiation,
    pointFormats: pf !== undefined,
    serverName: ch.serverName ? Buffer.from(ch.serverName).toString('latin1') : null,
    transcript,
    client: null,
  };
  conn.emit({
    type: 'needCertificate',
    version,
    serverName: hello.serverName,
    signatureSchemes: hello.schemes,
    keyClasses: keyClassesOf(candidates, version),
    curves: ch.supportedGroups ?? [],
  });
  return new AwaitCertificate12(hello);
}

/** Waiting for keyproc's SELECT answer; the scheme's key type picks the suite. */
class AwaitCertificate12 implements AwaitingCertificate {
  readonly name = 'AwaitCertificate12';
  readonly awaits = 'certificate';

  constructor(private readonly hello: Hello12) {}

  provideCertificate(conn: Connection, chain: Uint8Array[], scheme: number): State {
    const h = this.hello;
    if (chain.length === 0 || chain.some((c) => c.length === 0)) {
      throw new TlsAlert(Alert.internalError, 'empty certificate chain from keyproc');
    }
    if (!signatureSchemeByCode(scheme) || !h.schemes.includes(scheme)) {
      throw new TlsAlert(Alert.internalError, `keyproc chose signature scheme ${scheme} the client did not offer`);
    }
    const keyClass = keyClassOfScheme(scheme);
    const suite = h.candidates.find((s) => keyClass !== undefined && (KEY_CLASSES_BY_AUTH[s.auth] as readonly string[]).includes(keyClass));
    if (!suite) throw new TlsAlert(Alert.internalError, `keyproc's key (scheme ${scheme}) fits none of the candidate suites`);
    const share = conn.newKeyShare(h.group);
    conn.emit({
      type: 'needSignature12',
      clientRandom: h.clientRandom,
      serverRandom: h.serverRandom,
      group: h.group.code,
      publicKey: share.publicKey,
    });
    return new AwaitSignature12(h, suite, chain, scheme, share);
  }
}

/** Waiting for keyproc's SIGN12 answer; then our whole first flight goes out. */
class AwaitSignature12 implements AwaitingSignature {
  readonly name = 'AwaitSignature12';
  readonly awaits = 'signature';

  constructor(
    private readonly hello: Hello12,
    private readonly suite: CipherSuite12,
    private readonly chain: Uint8Array[],
    private readonly scheme: number,
    private readonly share: KeyShare,
  ) {}

  provideSignature(conn: Connection, signature: Uint8Array): State {
    const h = this.hello;
    if (signature.length === 0) throw new TlsAlert(Alert.internalError, 'empty signature from keyproc');
    const ext: [number, Uint8Array][] = [];
    if (h.secureRenegotiation) ext.push([ExtensionType.renegotiationInfo, Uint8Array.of(0)]);
    if (h.ems) ext.push([ExtensionType.extendedMasterSecret, new Uint8Array(0)]);
    if (h.pointFormats) ext.push([ExtensionType.ecPointFormats, Uint8Array.of(1, 0)]);
    if (h.serverName !== null) ext.push([ExtensionType.serverName, new Uint8Array(0)]);
    const flight = [
      msgs.serverHello12(h.serverRandom, this.suite.code, ext, h.version),
      msgs.certificate12(this.chain),
      msgs.serverKeyExchange12(h.group.code, this.share.publicKey, h.version >= ProtocolVersion.tls12 ? this.scheme : null, signature),
      ...(conn.clientAuth ? [certificateRequest12(h.version, conn.clientAuth.authorities)] : []),
      msgs.serverHelloDone(),
    ];
    for (const m of flight) {
      h.transcript.add(m);
      conn.sendHandshake(m);
    }
    if (conn.clientAuth) return new ExpectClientCertificate12(h, this.suite, this.share, conn.clientAuth);
    return new ExpectClientKeyExchange12(h, this.suite, this.share);
  }
}

/** Client authentication: the client's chain comes first in its flight (RFC 5246 7.4.6). */
class ExpectClientCertificate12 implements ReadingState {
  readonly name = 'ExpectClientCertificate12';
  readonly awaits = 'message';

  constructor(
    private readonly hello: Hello12,
    private readonly suite: CipherSuite12,
    private readonly share: KeyShare,
    private readonly auth: ClientAuth,
  ) {}

  handle(_conn: Connection, msg: HandshakeMessage): State {
    if (msg.type !== HandshakeType.certificate) unexpected(this, msg);
    const h = this.hello;
    h.client = acceptClientChain(this.auth, parseClientCertificate12(msg.body), h.version);
    h.transcript.add(msg.raw);
    return new ExpectClientKeyExchange12(h, this.suite, this.share);
  }
}

class ExpectClientKeyExchange12 implements ReadingState {
  readonly name = 'ExpectClientKeyExchange12';
  readonly awaits = 'message';

  constructor(
    private readonly hello: Hello12,
    private readonly suite: CipherSuite12,
    private readonly share: KeyShare,
  ) {}

  handle(_conn: Connection, msg: HandshakeMessage): State {
    if (msg.type !== HandshakeType.clientKeyExchange) unexpected(this, msg);
    const h = this.hello;
    const r = new ByteReader(msg.body);
    const point = r.vector(1);
    r.end();
    if (point.length === 0) throw new DecodeError('ClientKeyExchange: empty point');
    const preMaster = this.share.agree(point);
    h.transcript.add(msg.raw);
    const hash = prfHashOf(h, this.suite);
    const master = h.ems
      ? masterSecret12(hash, preMaster, { sessionHash: h.transcript.hash(hash) })
      : masterSecret12(hash, preMaster, { clientRandom: h.clientRandom, serverRandom: h.serverRandom });
    preMaster.fill(0);
    const keys = keyBlock12(this.suite, master, h.clientRandom, h.serverRandom, h.version);
    if (h.client) return new ExpectClientCertificateVerify12(h, h.client, this.suite, master, keys);
    return new ExpectChangeCipherSpec12(h, this.suite, master, keys);
  }
}

/**
 * The client proves it holds the leaf's key: a signature over every handshake
 * message so far. It comes before the client's ChangeCipherSpec, so a client
 * that skips it meets the engine's "ChangeCipherSpec in state" check:
 * unexpected_message.
 */
class ExpectClientCertificateVerify12 implements ReadingState {
  readonly name = 'ExpectClientCertificateVerify12';
  readonly awaits = 'message';

  constructor(
    private readonly hello: Hello12,
    private readonly client: ClientIdentity,
    private readonly suite: CipherSuite12,
    private readonly master: Uint8Array,
    private readonly keys: KeyBlock12,
  ) {}

  handle(_conn: Connection, msg: HandshakeMessage): State {
    if (msg.type !== HandshakeType.certificateVerify) unexpected(this, msg);
    const h = this.hello;
    checkClientCertificateVerify12(this.client, msg.body, h.version, h.transcript.messages());
    // In the transcript for the Finished messages; the EMS session hash stopped at ClientKeyExchange.
    h.transcript.add(msg.raw);
    return new ExpectChangeCipherSpec12(h, this.suite, this.master, this.keys);
  }
}

class ExpectChangeCipherSpec12 implements ReadingState {
  readonly name = 'ExpectChangeCipherSpec12';
  readonly awaits = 'message';

  constructor(
    private readonly hello: Hello12,
    private readonly suite: CipherSuite12,
    private readonly master: Uint8Array,
    private readonly keys: KeyBlock12,
  ) {}

  handle(_conn: Connection, msg: HandshakeMessage): State {
    return unexpected(this, msg);
  }

  changeCipherSpec(conn: Connection): State {
    conn.setReadProtection(protection12(this.suite, this.keys.clientKey, this.keys.clientIv, this.keys.clientMac, this.hello.version));
    return new ExpectFinished12(this.hello, this.suite, this.master, this.keys);
  }
}

class ExpectFinished12 implements ReadingState {
  readonly name = 'ExpectFinished12';
  readonly awaits = 'message';

  constructor(
    private readonly hello: Hello12,
    private readonly suite: CipherSuite12,
    private readonly master: Uint8Array,
    private readonly keys: KeyBlock12,
  ) {}

  handle(conn: Connection, msg: HandshakeMessage): State {
    if (msg.type !== HandshakeType.finished) unexpected(this, msg);
    const h = this.hello;
    const hash = prfHashOf(h, this.suite);
    const expected = finishedVerifyData12(hash, this.master, 'client', h.transcript.hash(hash));
    if (msg.body.length !== expected.length) throw new TlsAlert(Alert.decodeError, 'Finished of wrong length');
    if (!timingSafeEqual(msg.body, expected)) throw new TlsAlert(Alert.decryptError, 'client Finished does not verify');
    h.transcript.add(msg.raw);
    const ours = msgs.finished(finishedVerifyData12(hash, this.master, 'server', h.transcript.hash(hash)));
    conn.sendChangeCipherSpec();
    conn.setWriteProtection(protection12(this.suite, this.keys.serverKey, this.keys.serverIv, this.keys.serverMac, h.version));
    conn.sendHandshake(ours);
    this.master.fill(0);
    conn.handshakeComplete({
      version: VERSION_NAMES[h.version],
      cipher: this.suite.name,
      group: h.group.name,
      serverName: h.serverName,
      peerCertificates: h.client?.chain ?? null,
    });
    return new Traffic12();
  }
}

/**
 * After the handshake: no renegotiation, ever. A ClientHello gets the
 * no_renegotiation warning (RFC 5246 7.2.2, RFC 5746 4.2) and is ignored, so a
 * client that merely asks keeps its connection; one that keeps asking is cut
 * off. Anything else (a HelloRequest is for clients) is unexpected.
 */
class Traffic12 implements ReadingState {
  readonly name = 'Traffic12';
  readonly awaits = 'message';
  private attempts = 0;

  handle(conn: Connection, msg: HandshakeMessage): State {
    if (msg.type !== HandshakeType.clientHello) unexpected(this, msg);
    if (++this.attempts > MAX_RENEGOTIATION_ATTEMPTS) {
      throw new TlsAlert(Alert.unexpectedMessage, 'repeated renegotiation attempts');
    }
    conn.sendWarning(Alert.noRenegotiation);
    return this;
  }
}
