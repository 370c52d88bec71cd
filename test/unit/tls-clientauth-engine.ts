// Client certificates against the engine driven by hand-built clients: what a
// real client library will not send (a corrupted or ill-chosen
// CertificateVerify, a skipped one, odd Certificate messages), with the
// alert each must produce, and the CertificateRequest bytes. The clients are
// minimal, built on the engine's own key schedules, but sign with real keys
// and certificates from the openssl CLI; each has a passing case too, so a
// broken client would show.

import t from 'tap';
import { createHash, createPublicKey, diffieHellman, generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import { ByteReader, ByteWriter } from '../../lib/bytes';
import type { ClientAuth, EngineConfig, EngineEvent, ServerEngine } from '../../tls/api';
import { clientCertificateVerifyContent, CLIENT_SIGNATURE_SCHEMES } from '../../tls/clientauth';
import { createServerEngine } from '../../tls/engine';
import { finishedVerifyData, KeySchedule, trafficKeys, Transcript } from '../../tls/keyschedule';
import { finishedVerifyData12, keyBlock12, masterSecret12 } from '../../tls/keyschedule12';
import * as msgs from '../../tls/messages';
import { plaintextRecord } from '../../tls/record';
import { protection12 } from '../../tls/protection12';
import { RecordProtection } from '../../tls/protection13';
import { suite12ByCode, suiteByCode, type CipherSuite } from '../../tls/tables';
import { caVerifier, fatalOf, makeClientPki, makeEngineKey, records, refusingVerifier, signScheme } from '../lib/engine-harness';

const pki = makeClientPki();
const serverKey = makeEngineKey('p256');
const { rsa2048, p256, p384, ed25519 } = pki.issued;

const cfg: EngineConfig = {
  suites: [0x1301],
  suites12: [0xc02b, 0xc009],
  groups: [0x001d],
  serverPreference: true,
  minVersion: 0x0301,
  maxVersion: 0x0304,
};

const u16s = (lenBytes: 1 | 2, xs: number[]) => {
  const inner = new ByteWriter();
  for (const x of xs) inner.u16(x);
  return new ByteWriter().vector(lenBytes, inner.finish()).finish();
};
const concat = (...parts: Uint8Array[]) => new Uint8Array(Buffer.concat(parts));

function clientHello(version: number, suites: number[], extensions: [number, Uint8Array][]): Uint8Array {
  const exts = new ByteWriter();
  for (const [type, body] of extensions) exts.u16(type).vector(2, body);
  const body = new ByteWriter()
    .u16(version)
    .bytes(new Uint8Array(randomBytes(32)))
    .vector(1, new Uint8Array(0))
    .bytes(u16s(2, suites))
    .vector(1, Uint8Array.of(0))
    .vector(2, exts.finish())
    .finish();
  return msgs.handshakeMessage(1, body);
}

/** Whole handshake messages (header included) from a byte stream. */
function splitMessages(stream: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const r = new ByteReader(stream); r.remaining > 0; ) {
    const type = r.u8();
    out.push(msgs.handshakeMessage(type, r.vector(3)));
  }
  return out;
}

function x25519() {
  const kp = generateKeyPairSync('x25519');
  return { privateKey: kp.privateKey, raw: new Uint8Array(Buffer.from(kp.publicKey.export({ format: 'jwk' }).x!, 'base64url')) };
}

function agree(privateKey: KeyObject, peer: Uint8Array): Uint8Array {
  const publicKey = createPublicKey({ key: { kty: 'OKP', crv: 'X25519', x: Buffer.from(peer).toString('base64url') }, format: 'jwk' });
  return new Uint8Array(diffieHellman({ privateKey, publicKey }));
}

/** Parsed extensions of a message body's extension block. */
function extensionsOf(block: Uint8Array): Map<number, Uint8Array> {
  const m = new Map<number, Uint8Array>();
  for (const r = new ByteReader(block); r.remaining > 0; ) m.set(r.u16(), r.vector(2));
  return m;
}

function u16List(body: Uint8Array): number[] {
  const r = new ByteReader(body);
  const out: number[] = [];
  while (r.remaining > 0) out.push(r.u16());
  return out;
}

function nameList(body: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const r = new ByteReader(body); r.remaining > 0; ) out.push(new Uint8Array(r.vector(2)));
  return out;
}

// ---------------------------------------------------------------- TLS 1.3

/** A client's message, built when its turn comes, from the transcript hash so far. */
type Step13 = (transcriptHash: Uint8Array) => Uint8Array;

class Client13 {
  readonly engine: ServerEngine;
  readonly events: EngineEvent[] = [];
  /** The server's handshake messages after ServerHello, whole. */
  serverMessages: Uint8Array[] = [];
  private suite!: CipherSuite;
  private transcript!: Transcript;
  private writeHs!: RecordProtection;
  private clientHsSecret!: Uint8Array;

  constructor(clientAuth?: ClientAuth) {
    this.engine = createServerEngine(cfg, clientAuth ? { clientAuth } : {});
    const kp = x25519();
    const ch = clientHello(0x0303, [0x1301], [
      [43, u16s(1, [0x0304])],
      [10, u16s(2, [0x001d])],
      [13, u16s(2, [0x0403])],
      [51, new ByteWriter().vector(2, new ByteWriter().u16(0x001d).vector(2, kp.raw).finish()).finish()],
    ]);
    this.events.push(...this.engine.feed(plaintextRecord(22, ch)));
    this.events.push(...this.engine.provideCertificate([serverKey.certDer], 0x0403));
    this.events.push(...this.engine.provideSignature(new Uint8Array(70).fill(1))); // we do not check the server here
    const recs = records(this.engine.takeOutput());
    const sh = recs[0].fragment;
    const r = new ByteReader(sh.subarray(4));
    r.bytesOf(2 + 32);
    r.vector(1);
    this.suite = suiteByCode(r.u16())!;
    r.u8();
    const share = new ByteReader(extensionsOf(r.vector(2)).get(51)!);
    share.u16();
    const shared = agree(kp.privateKey, share.vector(2));
    this.transcript = new Transcript(this.suite.hash);
    this.transcript.add(ch);
    this.transcript.add(sh);
    const hs = new KeySchedule(this.suite).handshake(shared, this.transcript.current());
    this.clientHsSecret = hs.clientHandshakeTraffic;
    this.writeHs = new RecordProtection(this.suite, trafficKeys(this.suite, hs.clientHandshakeTraffic));
    const readHs = new RecordProtection(this.suite, trafficKeys(this.suite, hs.serverHandshakeTraffic));
    this.serverMessages = splitMessages(concat(...recs.slice(1).map((rec) => readHs.open(rec)!.content)));
    for (const m of this.serverMessages) this.transcript.add(m);
  }

  /** Our CertificateRequest's body, or undefined. */
  certificateRequest(): Uint8Array | undefined {
    return this.serverMessages.find((m) => m[0] === 13)?.subarray(4);
  }

  /**
   * Send the steps, each sealed under the handshake keys, then our Finished:
   * over everything before it (good), one bit off (bad), over the transcript
   * as it was before the steps (stale), or none.
   */
  send(steps: Step13[], finished: 'good' | 'bad' | 'stale' | 'none' = 'good'): EngineEvent[] {
    const out: Uint8Array[] = [];
    const beforeSteps = this.transcript.current();
    for (const step of steps) {
      const m = step(this.transcript.current());
      this.transcript.add(m);
      out.push(this.writeHs.seal(22, m));
    }
    if (finished !== 'none') {
      const vd = finishedVerifyData(this.suite, this.clientHsSecret, finished === 'stale' ? beforeSteps : this.transcript.current());
      if (finished === 'bad') vd[0] ^= 1;
      out.push(this.writeHs.seal(22, msgs.finished(vd)));
    }
    const ev = this.engine.feed(concat(...out));
    this.events.push(...ev);
    return ev;
  }
}

const cert13 = (...chain: Uint8Array[]): Step13 => () => msgs.certificate(chain);

/** CertificateVerify with a real signature by `key` under `scheme`; `corrupt` flips a bit of the signed content. */
const verify13 = (key: KeyObject, scheme: number, corrupt = false): Step13 => (th) => {
  const content = clientCertificateVerifyContent(th);
  if (corrupt) content[content.length - 1] ^= 1;
  return msgs.certificateVerify(scheme, signScheme(key, scheme, content));
};

const done = (events: EngineEvent[]) => events.find((e) => e.type === 'handshakeDone');

t.test('TLS 1.3: CertificateRequest after EncryptedExtensions: empty context, our schemes, the anchor', async (t) => {
  const c = new Client13(caVerifier(pki));
  t.same(c.serverMessages.map((m) => m[0]), [8, 13, 11, 15, 20], 'EE, CertificateRequest, Certificate, CertificateVerify, Finished');
  const r = new ByteReader(c.certificateRequest()!);
  t.equal(r.vector(1).length, 0, 'certificate_request_context empty');
  const ext = extensionsOf(r.vector(2));
  r.end();
  t.same([...ext.keys()], [13, 47]);
  const sigAlgs = new ByteReader(ext.get(13)!);
  t.same(u16List(sigAlgs.vector(2)), [0x0403, 0x0503, 0x0603, 0x0807, 0x0804, 0x0805, 0x0806, 0x0809, 0x080a, 0x080b, 0x0401, 0x0501, 0x0601]);
  t.same(CLIENT_SIGNATURE_SCHEMES.includes(0x0201) || CLIENT_SIGNATURE_SCHEMES.includes(0x0203), false, 'no SHA-1');
  const cas = new ByteReader(ext.get(47)!);
  t.same(nameList(cas.vector(2)), [pki.caSubject], 'certificate_authorities: the CA subject');
  t.match(new TextDecoder('latin1').decode(pki.caSubject), /Test Client CA/);
});

t.test('TLS 1.3: without clientAuth, no CertificateRequest and the Finished follows the server Finished', async (t) => {
  const c = new Client13();
  t.same(c.serverMessages.map((m) => m[0]), [8, 11, 15, 20]);
  const info = done(c.send([]));
  t.match(info, { info: { peerCertificates: null } });
});

t.test('TLS 1.3: good CertificateVerify from each key type completes; the chain is reported', async (t) => {
  for (const [cert, scheme] of [[rsa2048, 0x0804], [rsa2048, 0x0805], [p256, 0x0403], [p384, 0x0503], [ed25519, 0x0807]] as const) {
    const c = new Client13(caVerifier(pki));
    const ev = c.send([cert13(cert.certDer), verify13(cert.key, scheme)]);
    t.same(fatalOf(ev), undefined, `${cert.name} 0x${scheme.toString(16)}: no alert`);
    const d = done(ev);
    t.ok(d && d.type === 'handshakeDone' && Buffer.from(d.info.peerCertificates![0]).equals(Buffer.from(cert.certDer)), `${cert.name}: peerCertificates`);
  }
});

t.test('TLS 1.3: the client CertificateVerify is checked', async (t) => {
  const cases: [string, Step13[], number][] = [
    ['signature over the wrong content: decrypt_error', [cert13(p256.certDer), verify13(p256.key, 0x0403, true)], 51],
    ['RSA, corrupted: decrypt_error', [cert13(rsa2048.certDer), verify13(rsa2048.key, 0x0804, true)], 51],
    ['Ed25519, corrupted: decrypt_error', [cert13(ed25519.certDer), verify13(ed25519.key, 0x0807, true)], 51],
    ['rsa_pkcs1_sha256 (offered for chains, not allowed in a 1.3 CertificateVerify): illegal_parameter', [cert13(rsa2048.certDer), verify13(rsa2048.key, 0x0401)], 47],
    ['rsa_pkcs1_sha1 (not offered): illegal_parameter', [cert13(rsa2048.certDer), verify13(rsa2048.key, 0x0201)], 47],
    ['ecdsa_secp384r1_sha384 with a P-256 key: illegal_parameter', [cert13(p256.certDer), verify13(p256.key, 0x0503)], 47],
    ['ecdsa_secp256r1_sha256 with an Ed25519 key: illegal_parameter', [cert13(ed25519.certDer), verify13(p256.key, 0x0403)], 47],
    ['signed by another key: decrypt_error', [cert13(rsa2048.certDer), verify13(generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey, 0x0804)], 51],
    ['no CertificateVerify, straight to Finished: unexpected_message', [cert13(p256.certDer)], 10],
  ];
  for (const [what, steps, alert] of cases) {
    const c = new Client13(caVerifier(pki));
    const ev = c.send(steps);
    t.equal(fatalOf(ev), alert, what);
    t.equal(done(c.events), undefined, `${what}: no handshakeDone`);
  }
});

t.test('TLS 1.3: the client Finished covers the CertificateVerify', async (t) => {
  const c = new Client13(caVerifier(pki));
  t.equal(fatalOf(c.send([cert13(p256.certDer), verify13(p256.key, 0x0403)], 'bad')), 51, 'a Finished off by one bit: decrypt_error');
  const d = new Client13(caVerifier(pki));
  t.equal(fatalOf(d.send([cert13(p256.certDer), verify13(p256.key, 0x0403)], 'stale')), 51, 'a Finished over the transcript through the server Finished only: decrypt_error');
  const e = new Client13(caVerifier(pki));
  const ev = e.send([cert13(p256.certDer), verify13(p256.key, 0x0403)], 'none');
  t.same(fatalOf(ev), undefined, 'Certificate and CertificateVerify accepted');
  t.equal(done(ev), undefined, 'no handshakeDone before the Finished');
});

t.test("TLS 1.3: the client's Certificate message", async (t) => {
  const entry = (der: Uint8Array, ext = new Uint8Array(0)) => new ByteWriter().vector(3, der).vector(2, ext).finish();
  const certMsg = (context: Uint8Array, entries: Uint8Array[]) => () =>
    msgs.handshakeMessage(11, new ByteWriter().vector(1, context).vector(3, concat(...entries)).finish());
  const cases: [string, Step13, number][] = [
    ['empty list: certificate_required', certMsg(new Uint8Array(0), []), 116],
    ['a request context we did not send: illegal_parameter', certMsg(Uint8Array.of(1), [entry(p256.certDer)]), 47],
    ['an entry with an extension: unsupported_extension', certMsg(new Uint8Array(0), [entry(p256.certDer, Uint8Array.of(0, 5, 0, 0))]), 110],
    ['11 certificates: bad_certificate', certMsg(new Uint8Array(0), Array.from({ length: 11 }, () => entry(p256.certDer))), 42],
    ['an empty cert_data: decode_error', certMsg(new Uint8Array(0), [entry(new Uint8Array(0))]), 50],
    ['a length past the end: decode_error', () => msgs.handshakeMessage(11, Uint8Array.of(0, 0, 0, 9, 0, 0, 5)), 50],
    ['not issued by the CA: unknown_ca from the verifier', cert13(pki.stranger.certDer), 48],
  ];
  for (const [what, step, alert] of cases) {
    const c = new Client13(caVerifier(pki));
    t.equal(fatalOf(c.send([step], 'none')), alert, what);
  }
  // Ten is fine: the verifier gets all of them, leaf first.
  const seen: Uint8Array[][] = [];
  const c = new Client13(caVerifier(pki, seen));
  const ev = c.send([cert13(...Array.from({ length: 10 }, () => p256.certDer)), verify13(p256.key, 0x0403)]);
  t.ok(done(ev), 'ten certificates accepted');
  t.equal(seen[0].length, 10);
});

t.test('TLS 1.3: a verifier refusal, a key we cannot check', async (t) => {
  const c = new Client13(refusingVerifier(46, 'policy says no'));
  const ev = c.send([cert13(p256.certDer)], 'none');
  t.equal(fatalOf(ev), 46, 'certificate_unknown from the verifier');
  t.match(ev.find((e) => e.type === 'fatal'), { message: /policy says no/ });
  const ed448: ClientAuth = { authorities: [], verifyChain: () => ({ ok: true, publicKey: generateKeyPairSync('ed448').publicKey }) };
  t.equal(fatalOf(new Client13(ed448).send([cert13(p256.certDer)], 'none')), 43, 'an Ed448 key: unsupported_certificate');
  const secp256k1: ClientAuth = { authorities: [], verifyChain: () => ({ ok: true, publicKey: generateKeyPairSync('ec', { namedCurve: 'secp256k1' }).publicKey }) };
  t.equal(fatalOf(new Client13(secp256k1).send([cert13(p256.certDer)], 'none')), 43, 'a curve no 1.3 scheme names: unsupported_certificate');
  const thrower: ClientAuth = { authorities: [], verifyChain: () => { throw new Error('verifier bug'); } };
  t.equal(fatalOf(new Client13(thrower).send([cert13(p256.certDer)], 'none')), 80, 'a throwing verifier: internal_error');
});

// ---------------------------------------------------------------- TLS 1.2 and below

class Client12 {
  readonly engine: ServerEngine;
  readonly events: EngineEvent[] = [];
  readonly serverMessages: Uint8Array[];
  private readonly transcript: Uint8Array[] = [];
  private readonly kp = x25519();
  private readonly clientRandom: Uint8Array;
  private readonly serverRandom: Uint8Array;
  private readonly serverPoint: Uint8Array;

  constructor(
    readonly version: number,
    clientAuth?: ClientAuth,
  ) {
    this.engine = createServerEngine(cfg, clientAuth ? { clientAuth } : {});
    const exts: [number, Uint8Array][] = [
      [10, u16s(2, [0x001d])],
      [11, Uint8Array.of(1, 0)],
      [23, new Uint8Array(0)],
      [0xff01, Uint8Array.of(0)],
    ];
    if (version === 0x0303) exts.push([13, u16s(2, [0x0403])]);
    const ch = clientHello(version, version === 0x0303 ? [0xc02b] : [0xc009], exts);
    this.clientRandom = ch.subarray(6, 38);
    this.transcript.push(ch);
    this.events.push(...this.engine.feed(plaintextRecord(22, ch, version)));
    this.events.push(...this.engine.provideCertificate([serverKey.certDer], version === 0x0303 ? 0x0403 : 0x0203));
    this.events.push(...this.engine.provideSignature(new Uint8Array(70).fill(1)));
    this.serverMessages = splitMessages(concat(...records(this.engine.takeOutput()).map((r) => r.fragment)));
    this.transcript.push(...this.serverMessages);
    this.serverRandom = this.serverMessages[0].subarray(6, 38);
    const ske = new ByteReader(this.serverMessages[2].subarray(4));
    ske.bytesOf(3);
    this.serverPoint = ske.vector(1);
  }

  certificateRequest(): Uint8Array | undefined {
    return this.serverMessages.find((m) => m[0] === 13)?.subarray(4);
  }

  clientKeyExchange(): Uint8Array {
    return msgs.handshakeMessage(16, new ByteWriter().vector(1, this.kp.raw).finish());
  }

  /** CertificateVerify by `key`: TLS 1.2 with `scheme`, below with the key type's legacy signature (0xff01 / 0x0203). */
  certificateVerify(key: KeyObject, scheme: number, corrupt = false): Uint8Array {
    const content = concat(...this.transcript);
    if (corrupt) content[0] ^= 1;
    const sig = signScheme(key, scheme, content);
    const body = new ByteWriter();
    if (this.version === 0x0303) body.u16(scheme);
    return msgs.handshakeMessage(15, body.vector(2, sig).finish());
  }

  /** Feed handshake messages (each its own plaintext record); built lazily so each sees the transcript before it. */
  send(...steps: (() => Uint8Array)[]): EngineEvent[] {
    const ev: EngineEvent[] = [];
    for (const step of steps) {
      const m = step();
      this.transcript.push(m);
      ev.push(...this.engine.feed(plaintextRecord(22, m, this.version)));
    }
    this.events.push(...ev);
    return ev;
  }

  /** ChangeCipherSpec and our Finished (extended master secret: session hash through ClientKeyExchange). */
  finish(): EngineEvent[] {
    const suite = suite12ByCode(this.version === 0x0303 ? 0xc02b : 0xc009)!;
    const prf = this.version === 0x0303 ? suite.hash : 'md5sha1';
    const hashOf = (ms: Uint8Array[]) =>
      prf === 'md5sha1'
        ? concat(createHash('md5').update(concat(...ms)).digest(), createHash('sha1').update(concat(...ms)).digest())
        : new Uint8Array(createHash(prf).update(concat(...ms)).digest());
    const throughCke = this.transcript.slice(0, this.transcript.findIndex((m) => m[0] === 16) + 1);
    const master = masterSecret12(prf, agree(this.kp.privateKey, this.serverPoint), { sessionHash: hashOf(throughCke) });
    const kb = keyBlock12(suite, master, this.clientRandom, this.serverRandom, this.version);
    const write = protection12(suite, kb.clientKey, kb.clientIv, kb.clientMac, this.version);
    const fin = msgs.finished(finishedVerifyData12(prf, master, 'client', hashOf(this.transcript)));
    const ev = this.engine.feed(concat(plaintextRecord(20, Uint8Array.of(1), this.version), write.seal(22, fin)));
    this.events.push(...ev);
    return ev;
  }
}

t.test('TLS 1.2/1.1/1.0: CertificateRequest before ServerHelloDone: rsa_sign, ecdsa_sign, schemes (1.2 only), the anchor', async (t) => {
  for (const version of [0x0303, 0x0302, 0x0301]) {
    const c = new Client12(version, caVerifier(pki));
    t.same(c.serverMessages.map((m) => m[0]), [2, 11, 12, 13, 14], `${version.toString(16)}: SH, Certificate, SKE, CertificateRequest, SHD`);
    const r = new ByteReader(c.certificateRequest()!);
    t.same([...r.vector(1)], [1, 64]);
    if (version === 0x0303) t.same(u16List(r.vector(2)), [...CLIENT_SIGNATURE_SCHEMES]);
    t.same(nameList(r.vector(2)), [pki.caSubject]);
    r.end();
  }
  t.same(new Client12(0x0303).serverMessages.map((m) => m[0]), [2, 11, 12, 14], 'without clientAuth: no CertificateRequest');
});

t.test('TLS 1.2: good CertificateVerify from each key type completes with the chain', async (t) => {
  for (const [cert, scheme] of [[rsa2048, 0x0401], [rsa2048, 0x0804], [rsa2048, 0x0805], [p256, 0x0403], [p256, 0x0503], [p384, 0x0503], [ed25519, 0x0807]] as const) {
    const c = new Client12(0x0303, caVerifier(pki));
    const ev = c.send(() => msgs.certificate12([cert.certDer]), () => c.clientKeyExchange(), () => c.certificateVerify(cert.key, scheme));
    t.same(fatalOf(ev), undefined, `${cert.name} 0x${scheme.toString(16)}: CertificateVerify accepted`);
    const d = done(c.finish());
    t.ok(d && d.type === 'handshakeDone' && Buffer.from(d.info.peerCertificates![0]).equals(Buffer.from(cert.certDer)), `${cert.name}: Finished verifies, peerCertificates`);
  }
});

t.test('TLS 1.2: the client CertificateVerify is checked', async (t) => {
  type Case = [string, (c: Client12) => (() => Uint8Array)[], number];
  const cases: Case[] = [
    ['P-256, signature over other bytes: decrypt_error', (c) => [() => msgs.certificate12([p256.certDer]), () => c.clientKeyExchange(), () => c.certificateVerify(p256.key, 0x0403, true)], 51],
    ['RSA PKCS#1, corrupted: decrypt_error', (c) => [() => msgs.certificate12([rsa2048.certDer]), () => c.clientKeyExchange(), () => c.certificateVerify(rsa2048.key, 0x0401, true)], 51],
    ['Ed25519, corrupted: decrypt_error', (c) => [() => msgs.certificate12([ed25519.certDer]), () => c.clientKeyExchange(), () => c.certificateVerify(ed25519.key, 0x0807, true)], 51],
    ['rsa_pkcs1_sha1 (not offered): illegal_parameter', (c) => [() => msgs.certificate12([rsa2048.certDer]), () => c.clientKeyExchange(), () => c.certificateVerify(rsa2048.key, 0x0201)], 47],
    ['ecdsa_sha1 (not offered): illegal_parameter', (c) => [() => msgs.certificate12([p256.certDer]), () => c.clientKeyExchange(), () => c.certificateVerify(p256.key, 0x0203)], 47],
    ['rsa_pss_rsae_sha256 for a P-256 key: illegal_parameter', (c) => [() => msgs.certificate12([p256.certDer]), () => c.clientKeyExchange(), () => c.certificateVerify(rsa2048.key, 0x0804)], 47],
    ['ClientKeyExchange without a Certificate: unexpected_message', (c) => [() => c.clientKeyExchange()], 10],
    ['empty certificate list: handshake_failure', () => [() => msgs.certificate12([])], 40],
    ['11 certificates: bad_certificate', () => [() => msgs.certificate12(Array.from({ length: 11 }, () => p256.certDer))], 42],
    ['not issued by the CA: unknown_ca', () => [() => msgs.certificate12([pki.stranger.certDer])], 48],
  ];
  for (const [what, steps, alert] of cases) {
    const c = new Client12(0x0303, caVerifier(pki));
    t.equal(fatalOf(c.send(...steps(c))), alert, what);
    t.equal(done(c.events), undefined);
  }
});

t.test('TLS 1.2: a client that skips its CertificateVerify and sends ChangeCipherSpec: unexpected_message', async (t) => {
  const c = new Client12(0x0303, caVerifier(pki));
  t.same(fatalOf(c.send(() => msgs.certificate12([p256.certDer]), () => c.clientKeyExchange())), undefined);
  t.equal(fatalOf(c.finish()), 10);
});

t.test('TLS 1.1 and 1.0: RSA MD5+SHA-1 without DigestInfo, ECDSA SHA-1', async (t) => {
  for (const version of [0x0302, 0x0301]) {
    for (const [cert, legacy] of [[rsa2048, 0xff01], [p256, 0x0203]] as const) {
      const what = `${version.toString(16)} ${cert.name}`;
      const good = new Client12(version, caVerifier(pki));
      t.same(fatalOf(good.send(() => msgs.certificate12([cert.certDer]), () => good.clientKeyExchange(), () => good.certificateVerify(cert.key, legacy))), undefined, `${what}: accepted`);
      const d = done(good.finish());
      t.ok(d && d.type === 'handshakeDone' && d.info.peerCertificates?.length === 1, `${what}: handshake done`);
      const bad = new Client12(version, caVerifier(pki));
      t.equal(fatalOf(bad.send(() => msgs.certificate12([cert.certDer]), () => bad.clientKeyExchange(), () => bad.certificateVerify(cert.key, legacy, true))), 51, `${what}: corrupted: decrypt_error`);
    }
    // PKCS#1 v1.5 with a DigestInfo (what TLS 1.2 signs) is not the TLS 1.0 signature.
    const c = new Client12(version, caVerifier(pki));
    t.equal(fatalOf(c.send(() => msgs.certificate12([rsa2048.certDer]), () => c.clientKeyExchange(), () => c.certificateVerify(rsa2048.key, 0x0201))), 51, `${version.toString(16)}: a DigestInfo signature: decrypt_error`);
    const ed = new Client12(version, caVerifier(pki));
    t.equal(fatalOf(ed.send(() => msgs.certificate12([ed25519.certDer]))), 43, `${version.toString(16)}: Ed25519 before TLS 1.2: unsupported_certificate`);
  }
});
