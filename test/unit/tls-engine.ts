// The engine driven by hand-built records: what a real client library will
// not send (KeyUpdate, stray ChangeCipherSpec, malformed hellos, 0-RTT
// records, hostile bytes), with the alert each must produce.

import { ml_kem768 } from '@noble/post-quantum/ml-kem.js';
import t, { type Test } from 'tap';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { ByteReader, ByteWriter } from '../../lib/bytes';
import type { EngineConfig, EngineEvent, ServerEngine } from '../../tls/api';
import { parseClientHello } from '../../tls/clienthello';
import { createServerEngine, type EngineOptions } from '../../tls/engine';
import { finishedVerifyData, KeySchedule, nextTrafficSecret, trafficKeys, Transcript } from '../../tls/keyschedule';
import { plaintextRecord, type HandshakeMessage } from '../../tls/record';
import { RecordProtection } from '../../tls/protection13';
import type { AwaitingCertificate, AwaitingSignature, Connection, State } from '../../tls/state';
import { HELLO_RETRY_REQUEST_RANDOM, suiteByCode, type CipherSuite } from '../../tls/tables';
import { fatalOf, records } from '../lib/engine-harness';
import { hybridClientShare, x25519ClientShare } from '../lib/hybridshare';

const cfg: EngineConfig = {
  suites: [0x1301, 0x1302, 0x1303],
  groups: [0x001d, 0x0017, 0x0018, 0x0019],
  serverPreference: true,
  minVersion: 0x0304,
  maxVersion: 0x0304,
};

// ---------------------------------------------------------------- building ClientHellos

type Ext = [number, Uint8Array];

function ext(type: number, body: Uint8Array): Ext {
  return [type, body];
}
const u16s = (lenBytes: 1 | 2, xs: number[]) => {
  const inner = new ByteWriter();
  for (const x of xs) inner.u16(x);
  return new ByteWriter().vector(lenBytes, inner.finish()).finish();
};

function x25519Pair() {
  const { privateKey, publicKey } = generateKeyPairSync('x25519');
  const raw = new Uint8Array(Buffer.from(publicKey.export({ format: 'jwk' }).x!, 'base64url'));
  return { privateKey, raw };
}

function keyShareExt(entries: [number, Uint8Array][]): Ext {
  const list = new ByteWriter();
  for (const [g, k] of entries) list.u16(g).vector(2, k);
  return ext(51, new ByteWriter().vector(2, list.finish()).finish());
}

function sniExt(name: string): Ext {
  const entry = new ByteWriter().u8(0).vector(2, Buffer.from(name)).finish();
  return ext(0, new ByteWriter().vector(2, entry).finish());
}

function defaultExtensions(share: Uint8Array, group = 0x001d): Ext[] {
  return [
    sniExt('example.org'),
    ext(43, u16s(1, [0x0304, 0x0303])),
    ext(10, u16s(2, [0x001d, 0x0017, 0x0018])),
    ext(13, u16s(2, [0x0807, 0x0403, 0x0804])),
    keyShareExt([[group, share]]),
  ];
}

interface HelloOptions {
  version?: number;
  random?: Uint8Array;
  sessionId?: Uint8Array;
  suites?: number[];
  compression?: number[];
  extensions?: Ext[];
}

function clientHello(o: HelloOptions): Uint8Array {
  const exts = new ByteWriter();
  for (const [type, body] of o.extensions ?? []) exts.u16(type).vector(2, body);
  const body = new ByteWriter()
    .u16(o.version ?? 0x0303)
    .bytes(o.random ?? new Uint8Array(32).fill(7))
    .vector(1, o.sessionId ?? new Uint8Array(0))
    .bytes(u16s(2, o.suites ?? [0x1301, 0x1302, 0x1303]))
    .vector(1, Uint8Array.from(o.compression ?? [0]))
    .vector(2, exts.finish())
    .finish();
  return new ByteWriter().u8(1).vector(3, body).finish();
}


/** Feed a ClientHello record; return the events and the alert code sent, if any. */
function helloResult(ch: Uint8Array, config = cfg) {
  const engine = createServerEngine(config);
  const events = engine.feed(plaintextRecord(22, ch));
  const out = engine.takeOutput();
  return { engine, events, alert: fatalOf(events), out };
}

// ---------------------------------------------------------------- a minimal client

/**
 * Just enough of a TLS 1.3 client to reach application data with x25519,
 * built on our own key schedule (the Node e2e test checks that against
 * OpenSSL; here the point is driving the engine into corners).
 */
class MiniClient {
  readonly engine: ServerEngine;
  readonly events: EngineEvent[] = [];
  suite!: CipherSuite;
  private transcript!: Transcript;
  private schedule!: KeySchedule;
  private readHs!: RecordProtection;
  writeHs!: RecordProtection;
  private clientHsSecret!: Uint8Array;
  readApp!: RecordProtection;
  writeApp!: RecordProtection;
  readAppSecret!: Uint8Array;
  writeAppSecret!: Uint8Array;
  private ch: Uint8Array;
  maxRecord = 0;
  flight: Uint8Array = new Uint8Array(0);

  /** hybrid 'share': X25519MLKEM768 listed and its share sent in place of X25519's; 'listed': listed first, X25519's share only. */
  private readonly x25519 = x25519ClientShare();
  private readonly hybrid = hybridClientShare(this.x25519);
  /** The group of the ServerHello's key_share. */
  group = 0;

  constructor(config = cfg, extraExtensions: Ext[] = [], sessionId = new Uint8Array(0), tuning?: EngineOptions, hybrid: 'share' | 'listed' | false = false) {
    this.engine = createServerEngine(config, tuning);
    const share: [number, Uint8Array] = hybrid === 'share' ? [0x11ec, this.hybrid.publicKey] : [0x001d, this.x25519.publicKey];
    const base = hybrid
      ? [...defaultExtensions(this.x25519.publicKey).filter(([ty]) => ty !== 10 && ty !== 51), ext(10, u16s(2, [0x11ec, 0x001d])), keyShareExt([share])]
      : defaultExtensions(this.x25519.publicKey);
    this.ch = clientHello({ sessionId, extensions: [...base, ...extraExtensions] });
  }

  feed(b: Uint8Array): EngineEvent[] {
    const ev = this.engine.feed(b);
    this.events.push(...ev);
    return ev;
  }

  /** ClientHello in; stops at needCertificate (the engine sends nothing before keyproc's answer). */
  hello(extraRecords: Uint8Array[] = []): EngineEvent[] {
    return this.feed(concat(plaintextRecord(22, this.ch), ...extraRecords));
  }

  /** The ServerHello and the handshake keys; returns the records after it, opened. */
  private readServerHello(out: Uint8Array): Uint8Array[] {
    const recs = records(out);
    const shRec = recs.find((r) => r.type === 22)!;
    const sh = shRec.fragment;
    const r = new ByteReader(sh.subarray(4));
    r.u16();
    r.bytesOf(32);
    r.vector(1);
    this.suite = suiteByCode(r.u16())!;
    r.u8();
    const exts = new ByteReader(r.vector(2));
    let peer: Uint8Array | null = null;
    while (exts.remaining) {
      const type = exts.u16();
      const body = new ByteReader(exts.vector(2));
      if (type === 51) {
        this.group = body.u16();
        peer = body.vector(2);
      }
    }
    const shared = this.group === 0x11ec ? this.hybrid.agree(peer!) : this.x25519.agree(peer!);
    this.transcript = new Transcript(this.suite.hash);
    this.transcript.add(this.ch);
    this.transcript.add(sh);
    this.schedule = new KeySchedule(this.suite);
    const hs = this.schedule.handshake(shared, this.transcript.current());
    this.clientHsSecret = hs.clientHandshakeTraffic;
    this.readHs = new RecordProtection(this.suite, trafficKeys(this.suite, hs.serverHandshakeTraffic));
    this.writeHs = new RecordProtection(this.suite, trafficKeys(this.suite, hs.clientHandshakeTraffic));
    // The rest of the output (EncryptedExtensions, Certificate) is under handshake keys.
    const opened: Uint8Array[] = [];
    for (const rec of recs) {
      if (rec.type !== 23) continue;
      this.maxRecord = Math.max(this.maxRecord, rec.fragment.length);
      opened.push(this.readHs.open(rec)!.content);
    }
    return opened;
  }

  /** Certificate, signature, server Finished; the client's Finished unless told otherwise. */
  /** beforeFinished: records to send first, made once the handshake keys are known. */
  finish(opts: { badFinished?: boolean; beforeFinished?: () => Uint8Array[]; chain?: Uint8Array[] } = {}): EngineEvent[] {
    const ev = [...this.engine.provideCertificate(opts.chain ?? [Uint8Array.of(0x30, 0)], 0x0807)];
    const flight = this.readServerHello(this.engine.takeOutput());
    ev.push(...this.engine.provideSignature(new Uint8Array(64).fill(1)));
    this.events.push(...ev);
    for (const rec of records(this.engine.takeOutput())) {
      this.maxRecord = Math.max(this.maxRecord, rec.fragment.length);
      // A fatal alert after our Finished comes under application keys: skip it.
      const o = this.readHs.open(rec);
      if (o) flight.push(o.content);
    }
    // Handshake messages may span records: hash the joined stream.
    this.transcript.add(concat(...flight));
    this.flight = concat(...flight);
    const th = this.transcript.current();
    const app = this.schedule.application(th);
    const verify = finishedVerifyData(this.suite, this.clientHsSecret, th);
    if (opts.badFinished) verify[0] ^= 1;
    const fin = new ByteWriter().u8(20).vector(3, verify).finish();
    this.readAppSecret = app.serverApplicationTraffic;
    this.writeAppSecret = app.clientApplicationTraffic;
    this.readApp = new RecordProtection(this.suite, trafficKeys(this.suite, app.serverApplicationTraffic));
    this.writeApp = new RecordProtection(this.suite, trafficKeys(this.suite, app.clientApplicationTraffic));
    ev.push(...this.feed(concat(...(opts.beforeFinished?.() ?? []), this.writeHs.seal(22, fin))));
    return ev;
  }

  /** Open everything the server sent under its application keys. */
  readAll(): { type: number; content: Uint8Array }[] {
    return records(this.engine.takeOutput()).map((r) => this.readApp.open(r)!);
  }
}

function concat(...parts: Uint8Array[]): Uint8Array {
  return new Uint8Array(Buffer.concat(parts));
}

function connected(t: Test, config = cfg) {
  const c = new MiniClient(config);
  c.hello();
  const ev = c.finish();
  t.ok(ev.some((e) => e.type === 'handshakeDone'), 'handshake done');
  return c;
}

// ---------------------------------------------------------------- tests

t.test('mini client completes a handshake and exchanges data', async (t) => {
  const c = connected(t);
  const ev = c.feed(c.writeApp.seal(23, Buffer.from('ping')));
  t.same(ev, [{ type: 'appData', data: new Uint8Array(Buffer.from('ping')) }]);
  c.engine.sendAppData(Buffer.from('pong'));
  const got = c.readAll();
  t.equal(got.length, 1);
  t.equal(Buffer.from(got[0].content).toString(), 'pong');
});

t.test('ClientHello split over many records and fed byte by byte', async (t) => {
  const kp = x25519Pair();
  const ch = clientHello({ extensions: defaultExtensions(kp.raw) });
  // One record per 7 bytes of the message...
  const pieces: Uint8Array[] = [];
  for (let i = 0; i < ch.length; i += 7) pieces.push(plaintextRecord(22, ch.subarray(i, i + 7)));
  const all = concat(...pieces);
  // ... and the stream fed one byte per call.
  const engine = createServerEngine(cfg);
  const events: EngineEvent[] = [];
  for (const b of all) events.push(...engine.feed(Uint8Array.of(b)));
  t.match(events, [{ type: 'needCertificate', serverName: 'example.org', signatureSchemes: [0x0807, 0x0403, 0x0804] }]);
});

t.test('KeyUpdate from the client', async (t) => {
  t.test('update_requested: we answer with ours and rekey', async (t) => {
    const c = connected(t);
    c.feed(c.writeApp.seal(22, Uint8Array.of(24, 0, 0, 1, 1)));
    // The engine's answer comes under the old keys...
    const [answer] = c.readAll();
    t.same([...answer.content], [24, 0, 0, 1, 0], 'KeyUpdate(update_not_requested)');
    // ... and it now reads with the client's next keys.
    const nextWrite = new RecordProtection(c.suite, trafficKeys(c.suite, nextTrafficSecret(c.suite, c.writeAppSecret)));
    t.same(c.feed(nextWrite.seal(23, Buffer.from('after'))), [{ type: 'appData', data: new Uint8Array(Buffer.from('after')) }]);
    // Its data comes under its next keys.
    c.engine.sendAppData(Buffer.from('server after'));
    const nextRead = new RecordProtection(c.suite, trafficKeys(c.suite, nextTrafficSecret(c.suite, c.readAppSecret)));
    const [rec] = records(c.engine.takeOutput());
    t.equal(Buffer.from(nextRead.open(rec)!.content).toString(), 'server after');
  });
  t.test('update_not_requested: no answer', async (t) => {
    const c = connected(t);
    t.same(c.feed(c.writeApp.seal(22, Uint8Array.of(24, 0, 0, 1, 0))), []);
    t.equal(c.engine.takeOutput().length, 0);
  });
  t.test('bad request value', async (t) => {
    const c = connected(t);
    t.equal(fatalOf(c.feed(c.writeApp.seal(22, Uint8Array.of(24, 0, 0, 1, 2)))), 47);
  });
  t.test('KeyUpdate not ending its record', async (t) => {
    const c = connected(t);
    t.equal(fatalOf(c.feed(c.writeApp.seal(22, Uint8Array.of(24, 0, 0, 1, 0, 24, 0)))), 10);
  });
});

t.test('floods after the handshake: 32 KeyUpdates or empty records in a row are taken, the 33rd is unexpected_message; application data starts the count again', async (t) => {
  t.test('KeyUpdate', async (t) => {
    const c = connected(t);
    let secret = c.writeAppSecret;
    let w = c.writeApp;
    // Each KeyUpdate moves the client's sending keys on (RFC 8446 4.6.3).
    const keyUpdate = () => {
      const ev = c.feed(w.seal(22, Uint8Array.of(24, 0, 0, 1, 0)));
      secret = nextTrafficSecret(c.suite, secret);
      w = new RecordProtection(c.suite, trafficKeys(c.suite, secret));
      return ev;
    };
    const run = (n: number) => Array.from({ length: n }, keyUpdate).flat();
    t.same(run(32), [], '32 KeyUpdates in a row: taken (tlsfuzzer sends that many)');
    t.same(c.feed(w.seal(23, Buffer.from('x'))), [{ type: 'appData', data: new Uint8Array(Buffer.from('x')) }], 'application data');
    t.same(run(32), [], 'then 32 more: taken');
    t.equal(fatalOf(keyUpdate()), 10, 'the 33rd in a row: unexpected_message');
  });
  t.test('empty application data records', async (t) => {
    const c = connected(t);
    const empty = () => c.feed(c.writeApp.seal(23, new Uint8Array(0)));
    t.same(Array.from({ length: 32 }, empty).flat(), [], '32 empty records: taken (RFC 8446 5.1 allows them)');
    t.same(c.feed(c.writeApp.seal(23, Buffer.from('x'))), [{ type: 'appData', data: new Uint8Array(Buffer.from('x')) }], 'application data');
    t.same(Array.from({ length: 32 }, empty).flat(), [], 'then 32 more: taken');
    t.equal(fatalOf(empty()), 10, 'the 33rd in a row: unexpected_message');
  });
});

t.test('post-handshake messages other than KeyUpdate', async (t) => {
  const c = connected(t);
  t.equal(fatalOf(c.feed(c.writeApp.seal(22, Uint8Array.of(4, 0, 0, 0)))), 10);
  t.ok(c.engine.finished);
});

t.test('ChangeCipherSpec rules', async (t) => {
  const ccs = plaintextRecord(20, Uint8Array.of(1));
  t.test('one dummy after ClientHello is fine, even queued while waiting', async (t) => {
    const c = new MiniClient();
    c.hello([ccs]);
    const ev = c.finish();
    t.ok(ev.some((e) => e.type === 'handshakeDone'));
  });
  t.test('a second one', async (t) => {
    const c = new MiniClient();
    c.hello([ccs]);
    t.equal(fatalOf(c.finish({ beforeFinished: () => [ccs] })), 10);
  });
  t.test('a malformed one', async (t) => {
    const c = new MiniClient();
    c.hello([plaintextRecord(20, Uint8Array.of(2))]);
    t.equal(fatalOf(c.finish()), 10);
  });
  t.test('before the ClientHello', async (t) => {
    const engine = createServerEngine(cfg);
    t.equal(fatalOf(engine.feed(ccs)), 10);
  });
  t.test('after the handshake', async (t) => {
    const c = connected(t);
    t.equal(fatalOf(c.feed(ccs)), 10);
  });
  t.test('encrypted', async (t) => {
    const c = new MiniClient();
    c.hello();
    t.equal(fatalOf(c.finish({ beforeFinished: () => [c.writeHs.seal(20, Uint8Array.of(1))] })), 10);
  });
});

t.test('middlebox compatibility: a session id gets echoed and one CCS sent', async (t) => {
  const c = new MiniClient(cfg, [], new Uint8Array(32).fill(9));
  c.feed(plaintextRecord(22, (c as unknown as { ch: Uint8Array }).ch));
  t.equal(c.engine.takeOutput().length, 0, 'nothing before keyproc\'s answer');
  c.engine.provideCertificate([Uint8Array.of(0x30, 0)], 0x0807);
  const recs = records(c.engine.takeOutput());
  t.same(recs.map((r) => r.type).slice(0, 3), [22, 20, 23]);
  t.same([...recs[1].fragment], [1]);
  const sh = recs[0].fragment;
  t.same([...sh.subarray(4 + 2 + 32, 4 + 2 + 32 + 33)], [32, ...new Array(32).fill(9)]);
});

t.test('bad client Finished: decrypt_error', async (t) => {
  const c = new MiniClient();
  c.hello();
  t.equal(fatalOf(c.finish({ badFinished: true })), 51);
});

t.test('garbage under handshake keys: bad_record_mac (input queued while waiting)', async (t) => {
  const c = new MiniClient();
  const junk = concat(Uint8Array.of(23, 3, 3, 0, 40), randomBytes(40));
  const ev = c.hello([junk]);
  t.match(ev, [{ type: 'needCertificate' }], 'nothing happens while waiting');
  const ev2 = c.engine.provideCertificate([Uint8Array.of(0x30, 0)], 0x0807);
  t.match(ev2, [{ type: 'needSignature' }]);
  t.equal(fatalOf(c.engine.provideSignature(new Uint8Array(64))), 20);
});

t.test('records: padding, empty application data, all-zero inner plaintext', async (t) => {
  const c = connected(t);
  t.same(c.feed(c.writeApp.seal(23, new Uint8Array(0))), [], 'zero-length application data');
  // Padding: content ‖ type ‖ zeros. seal() appends the type, so hand-build it.
  const padded = concat(Buffer.from('padded'), Uint8Array.of(23), new Uint8Array(100));
  const rp = c.writeApp as unknown as { seal(type: number, content: Uint8Array): Uint8Array };
  // seal(0, x) appends a zero "type": the engine sees x ‖ 0, i.e. more padding.
  t.same(c.feed(rp.seal(0, padded)), [{ type: 'appData', data: new Uint8Array(Buffer.from('padded')) }]);
  t.equal(fatalOf(c.feed(rp.seal(0, new Uint8Array(10)))), 10, 'all zeros');
});

t.test('close_notify and received alerts', async (t) => {
  const c = connected(t);
  t.same(c.feed(c.writeApp.seal(21, Uint8Array.of(1, 0))), [{ type: 'peerClosed' }]);
  t.same(c.feed(c.writeApp.seal(23, Buffer.from('late'))), [], 'nothing after close_notify');
  t.notOk(c.engine.finished);
  c.engine.close();
  t.ok(c.engine.finished);
  const [alert] = c.readAll();
  t.same([alert.type, ...alert.content], [21, 1, 0]);

  const d = connected(t);
  t.match(d.feed(d.writeApp.seal(21, Uint8Array.of(2, 40))), [{ type: 'fatal', alert: 40, received: true }]);
  t.ok(d.engine.finished);
  t.equal(d.engine.takeOutput().length, 0, 'no alert sent back');
});

t.test('sendAppData splits into records of at most 2^14', async (t) => {
  const c = connected(t);
  c.engine.sendAppData(new Uint8Array(40000).fill(3));
  const got = c.readAll();
  t.same(got.map((r) => r.content.length), [16384, 16384, 7232]);
});

t.test('X25519MLKEM768: preferred when its share comes, never asked for when an X25519 share came', async (t) => {
  const hybridCfg = { ...cfg, groups: [0x11ec, 0x001d, 0x0017] };
  const c = new MiniClient(hybridCfg, [], new Uint8Array(0), undefined, 'share');
  c.hello();
  t.ok(c.finish().some((e) => e.type === 'handshakeDone'), 'a whole handshake: the client derives the same secrets');
  t.equal(c.group, 0x11ec, 'ServerHello key_share: X25519MLKEM768');
  t.match(c.events.find((e) => e.type === 'handshakeDone'), { info: { group: 'X25519MLKEM768' } }, 'the facts name the group');
  c.engine.sendAppData(Buffer.from('post-quantum'));
  t.equal(Buffer.from(c.readAll()[0].content).toString(), 'post-quantum', 'data flows');

  // A client that supports the hybrid but sent an X25519 share only: X25519 at once, no HelloRetryRequest.
  const classical = new MiniClient(hybridCfg, [], new Uint8Array(0), undefined, 'listed');
  classical.hello();
  t.ok(classical.finish().some((e) => e.type === 'handshakeDone'));
  t.equal(classical.group, 0x001d, 'X25519');

  const kp = x25519Pair();
  const bad = new Uint8Array([...ml_kem768.keygen().publicKey, ...kp.raw]);
  bad[0] = 0xff;
  bad[1] |= 0x0f;
  const exts = [...defaultExtensions(kp.raw).filter(([ty]) => ty !== 10 && ty !== 51), ext(10, u16s(2, [0x11ec])), keyShareExt([[0x11ec, bad]])];
  const e = createServerEngine(hybridCfg);
  t.equal(fatalOf(e.feed(plaintextRecord(22, clientHello({ extensions: exts })))), 47, 'an encapsulation key out of range: illegal_parameter');
});

t.test('HelloRetryRequest', async (t) => {
  const kp = x25519Pair();
  const p256cfg = { ...cfg, groups: [0x0017] };
  const first = clientHello({ sessionId: new Uint8Array(32).fill(1), extensions: defaultExtensions(kp.raw) });
  const engine = createServerEngine(p256cfg);
  t.same(engine.feed(plaintextRecord(22, first)), []);
  const recs = records(engine.takeOutput());
  t.same(recs.map((r) => r.type), [22, 20], 'HRR then the compatibility CCS');
  const hrr = recs[0].fragment;
  t.same([...hrr.subarray(6, 38)], [...HELLO_RETRY_REQUEST_RANDOM]);
  t.ok(Buffer.from(hrr).includes(Buffer.from([0x00, 0x33, 0x00, 0x02, 0x00, 0x17])), 'key_share names secp256r1');

  const ecdh = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const point = new Uint8Array(ecdh.publicKey.export({ format: 'der', type: 'spki' }).subarray(-65));
  const second = (group: number, key: Uint8Array, sessionId = new Uint8Array(32).fill(1)) =>
    clientHello({ sessionId, extensions: defaultExtensions(key, group) });

  t.test('a right second ClientHello', async (t) => {
    const e = createServerEngine(p256cfg);
    e.feed(plaintextRecord(22, first));
    t.match(e.feed(plaintextRecord(22, second(0x0017, point))), [{ type: 'needCertificate' }]);
  });
  t.test('the wrong group again', async (t) => {
    const e = createServerEngine(p256cfg);
    e.feed(plaintextRecord(22, first));
    t.equal(fatalOf(e.feed(plaintextRecord(22, second(0x001d, kp.raw)))), 47);
  });
  t.test('a changed session id', async (t) => {
    const e = createServerEngine(p256cfg);
    e.feed(plaintextRecord(22, first));
    t.equal(fatalOf(e.feed(plaintextRecord(22, second(0x0017, point, new Uint8Array(0))))), 47);
  });
  // RFC 8446 4.1.2: only key_share, early_data, cookie (when sent) and padding may change.
  t.test('a changed server_name', async (t) => {
    const e = createServerEngine(p256cfg);
    e.feed(plaintextRecord(22, first));
    const exts = [sniExt('other.example'), ...defaultExtensions(point, 0x0017).filter(([ty]) => ty !== 0)];
    t.equal(fatalOf(e.feed(plaintextRecord(22, clientHello({ sessionId: new Uint8Array(32).fill(1), extensions: exts })))), 47);
  });
  t.test('a cookie we never sent', async (t) => {
    const e = createServerEngine(p256cfg);
    e.feed(plaintextRecord(22, first));
    const exts = [...defaultExtensions(point, 0x0017), ext(44, new ByteWriter().vector(2, Uint8Array.of(1, 2, 3)).finish())];
    t.equal(fatalOf(e.feed(plaintextRecord(22, clientHello({ sessionId: new Uint8Array(32).fill(1), extensions: exts })))), 47);
  });
  // Everything else stays as it was, order included (tlsfuzzer's test-tls13-shuffled-extentions, test-record-size-limit).
  const sid = new Uint8Array(32).fill(1);
  const retried = (exts: Ext[], suites?: number[]) => {
    const e = createServerEngine(p256cfg);
    e.feed(plaintextRecord(22, first));
    return e.feed(plaintextRecord(22, clientHello({ sessionId: sid, extensions: exts, ...(suites ? { suites } : {}) })));
  };
  t.test('the same extensions in another order', async (t) => {
    t.equal(fatalOf(retried([...defaultExtensions(point, 0x0017)].reverse())), 47);
  });
  t.test('an extension added, changed or dropped', async (t) => {
    const base = defaultExtensions(point, 0x0017);
    t.equal(fatalOf(retried([...base, ext(28, Uint8Array.of(0x40, 0x00))])), 47, 'record_size_limit added');
    t.equal(fatalOf(retried(base.map(([ty, b]) => (ty === 13 ? ext(13, u16s(2, [0x0403])) : ext(ty, b))))), 47, 'signature_algorithms changed');
    t.equal(fatalOf(retried(base.filter(([ty]) => ty !== 0))), 47, 'server_name dropped');
  });
  t.test('another cipher suite list', async (t) => {
    t.equal(fatalOf(retried(defaultExtensions(point, 0x0017), [0x1301, 0x1302])), 47);
  });
  t.test('padding may come, go or change', async (t) => {
    t.match(retried([...defaultExtensions(point, 0x0017), ext(21, new Uint8Array(100))]), [{ type: 'needCertificate' }]);
  });
  t.test('an invalid point', async (t) => {
    const e = createServerEngine(p256cfg);
    e.feed(plaintextRecord(22, first));
    const bad = new Uint8Array(65).fill(5);
    bad[0] = 4;
    t.equal(fatalOf(e.feed(plaintextRecord(22, second(0x0017, bad)))), 47);
  });
});

t.test('0-RTT: early data records are skipped', async (t) => {
  const c = new MiniClient(cfg, [ext(42, new Uint8Array(0))]);
  const early = concat(Uint8Array.of(23, 3, 3, 0, 100), randomBytes(100));
  c.hello([early, early]);
  const ev = c.finish();
  t.ok(ev.some((e) => e.type === 'handshakeDone'));
  t.same(c.events.filter((e) => e.type === 'fatal'), []);
});

t.test('ClientHello refusals and their alerts', async (t) => {
  const kp = x25519Pair();
  const good = defaultExtensions(kp.raw);
  const without = (type: number) => good.filter(([ty]) => ty !== type);
  const cases: [string, Uint8Array, number, EngineConfig?][] = [
    ['TLS 1.2 only (no supported_versions)', clientHello({ extensions: without(43) }), 70],
    ['supported_versions without 1.3', clientHello({ extensions: [...without(43), ext(43, u16s(1, [0x0303]))] }), 70],
    ['no common suite', clientHello({ suites: [0x1304, 0xc02f], extensions: good }), 40],
    ['no common group', clientHello({ extensions: [...without(10).filter(([ty]) => ty !== 51), ext(10, u16s(2, [0x001e])), keyShareExt([[0x001e, new Uint8Array(56)]])] }), 40],
    ['no signature_algorithms', clientHello({ extensions: without(13) }), 109],
    ['no key_share', clientHello({ extensions: without(51) }), 109],
    ['no supported_groups', clientHello({ extensions: without(10) }), 109],
    ['duplicate extension', clientHello({ extensions: [...good, ext(43, u16s(1, [0x0304]))] }), 47],
    ['compression not [0]', clientHello({ compression: [1, 0], extensions: good }), 47],
    // Out of the vector's range: decode_error (tlsfuzzer's record-overflow script).
    ['session id of 33 bytes', clientHello({ sessionId: new Uint8Array(33), extensions: good }), 50],
    ['pre_shared_key not last', clientHello({ extensions: [ext(41, new Uint8Array(4)), ...good] }), 47],
    ['key share for a group not in supported_groups', clientHello({ extensions: [...without(51), keyShareExt([[0x0019, new Uint8Array(133)]])] }), 47],
    ['duplicate key share group', clientHello({ extensions: [...without(51), keyShareExt([[0x001d, kp.raw], [0x001d, kp.raw]])] }), 47],
    ['x25519 share of the wrong length', clientHello({ extensions: [...without(51), keyShareExt([[0x001d, new Uint8Array(31)]])] }), 47],
    ['x25519 share giving a zero secret', clientHello({ extensions: [...without(51), keyShareExt([[0x001d, new Uint8Array(32)]])] }), 47],
    ['SNI host_name empty', clientHello({ extensions: [ext(0, Uint8Array.of(0, 3, 0, 0, 0)), ...without(0)] }), 50],
    ['SNI list empty', clientHello({ extensions: [ext(0, Uint8Array.of(0, 0)), ...without(0)] }), 50],
    ['supported_versions odd length', clientHello({ extensions: [...without(43), ext(43, Uint8Array.of(3, 3, 4, 3))] }), 50],
  ];
  for (const [name, ch, alert, config] of cases) {
    const r = helloResult(ch, config);
    t.equal(r.alert, alert, name);
    // The alert goes out in the clear: level fatal, our code.
    t.same([...r.out], [21, 3, 3, 0, 2, 2, alert], `${name}: plaintext alert record`);
  }
});

t.test('SNI names are passed on byte for byte: whether they are host names is the glue\'s and keyproc\'s policy', async (t) => {
  const kp = x25519Pair();
  for (const name of ['a\nb', 'one.test.', '..', 'x'.repeat(300)]) {
    const e = createServerEngine(cfg);
    const events = e.feed(plaintextRecord(22, clientHello({ extensions: [sniExt(name), ...defaultExtensions(kp.raw).filter(([ty]) => ty !== 0)] })));
    t.match(events, [{ type: 'needCertificate', serverName: name }], JSON.stringify(name).slice(0, 40));
  }
});

t.test('truncated ClientHellos: decode_error', async (t) => {
  const kp = x25519Pair();
  const ch = clientHello({ extensions: defaultExtensions(kp.raw) });
  const body = ch.subarray(4);
  for (const cut of [0, 1, 34, 35, 40, body.length - 1]) {
    const b = body.subarray(0, cut);
    const msg = new ByteWriter().u8(1).vector(3, b).finish();
    t.equal(helloResult(msg).alert, 50, `body cut at ${cut}`);
  }
  // Trailing bytes after the extensions.
  const trailing = new ByteWriter().u8(1).vector(3, concat(body, Uint8Array.of(0))).finish();
  t.equal(helloResult(trailing).alert, 50, 'trailing byte');
  // Direct parser: an extension whose length runs past the end.
  const lying = new Uint8Array(body);
  lying[45] = 0xff; // extensions length (after version, random, empty session id, 3 suites, compression)
  lying[46] = 0xff;
  t.throws(() => parseClientHello(lying), { name: 'Error' });
});

t.test('the ClientHello of a legal size is taken past 64 KiB, and what RFC 8446 refuses gets the alert it names', async (t) => {
  // A valid hello of ~70 KiB (extensions are at most 64 KiB: padding, 21, of
  // 60,000 bytes, and 5,000 cipher suites we do not know), in records of 2^14.
  const suites = [0x1301, ...Array.from({ length: 5000 }, (_, i) => 0xfe00 + (i % 200))];
  const big = clientHello({ suites, extensions: [...defaultExtensions(x25519Pair().raw), ext(21, new Uint8Array(60_000))] });
  const e = createServerEngine(cfg);
  const events: EngineEvent[] = [];
  for (let i = 0; i < big.length; i += 1 << 14) events.push(...e.feed(plaintextRecord(22, big.subarray(i, i + (1 << 14)))));
  t.match(events, [{ type: 'needCertificate' }], `a ClientHello of ${big.length} bytes is handled`);
  // RFC 8446 D.5: legacy_version 0x0300 or less: protocol_version (70).
  for (const version of [0x0300, 0x0200, 0x0002]) {
    const { events: ev } = helloResult(clientHello({ version, extensions: defaultExtensions(x25519Pair().raw) }));
    t.equal(fatalOf(ev), 70, `legacy_version 0x${version.toString(16).padStart(4, '0')}: protocol_version`);
  }
  // RFC 8446 5.1, 5.4: a zero-length alert record is unexpected_message (10), after the handshake too.
  const c = connected(t);
  t.equal(fatalOf(c.feed(c.writeApp.seal(21, new Uint8Array(0)))), 10, 'an empty alert record: unexpected_message');
});

t.test('record layer limits and hostile input', async (t) => {
  const feedAlert = (b: Uint8Array) => {
    const e = createServerEngine(cfg);
    const ev = e.feed(b);
    t.ok(e.finished);
    return fatalOf(ev);
  };
  t.equal(feedAlert(Uint8Array.of(22, 3, 1, 0x41, 0x01)), 22, 'record length over 2^14+256');
  t.equal(feedAlert(concat(Uint8Array.of(22, 3, 1, 0x40, 0x01), new Uint8Array(0x4001))), 22, 'plaintext over 2^14');
  t.equal(feedAlert(Uint8Array.of(22, 3, 1, 0, 4, 1, 0x02, 0x01, 0x45)), 50, 'handshake message over 131396 bytes (OpenSSL\'s ClientHello limit)');
  t.equal(feedAlert(Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n')), 10, 'an HTTP request');
  t.equal(feedAlert(Uint8Array.of(22, 2, 0, 0, 4)), 50, 'record version 2.x');
  t.equal(feedAlert(Uint8Array.of(22, 3, 1, 0, 0)), 10, 'empty handshake record');
  t.equal(feedAlert(Uint8Array.of(23, 3, 3, 0, 1, 0)), 10, 'application data first');
  t.equal(feedAlert(concat(plaintextRecord(22, Uint8Array.of(1, 0, 0, 10, 3)), plaintextRecord(21, Uint8Array.of(2, 10)))), 10, 'alert inside a fragmented ClientHello');
  t.equal(feedAlert(plaintextRecord(22, Uint8Array.of(2, 0, 0, 0))), 10, 'a ServerHello first');
  const { engine } = helloResult(Uint8Array.of(2, 0, 0, 0));
  t.same(engine.feed(Uint8Array.of(1, 2, 3)), [], 'nothing after fatal');

  // Random bytes never throw out of feed.
  for (let i = 0; i < 200; i++) {
    const e = createServerEngine(cfg);
    const junk = randomBytes(1 + (i % 50) * 7);
    if (i % 2) junk[0] = 22; // let half of them reach the record layer
    t.doesNotThrow(() => e.feed(junk));
  }
});

t.test('mutated ClientHellos never throw', async (t) => {
  const kp = x25519Pair();
  const ch = clientHello({ extensions: defaultExtensions(kp.raw) });
  let fatal = 0;
  for (let i = 0; i < 500; i++) {
    const m = new Uint8Array(ch);
    for (let k = 0; k < 1 + (i % 4); k++) m[Math.floor(Math.random() * m.length)] = Math.floor(Math.random() * 256);
    const e = createServerEngine(cfg);
    let ev: EngineEvent[] = [];
    t.doesNotThrow(() => {
      ev = e.feed(plaintextRecord(22, m));
    });
    if (fatalOf(ev) !== undefined) fatal++;
  }
  t.ok(fatal > 0);
});

t.test('0-RTT skipping is bounded', async (t) => {
  const c = new MiniClient(cfg, [ext(42, new Uint8Array(0))]);
  const early = concat(Uint8Array.of(23, 0x03, 0x03, 0x40, 0x00), randomBytes(0x4000));
  c.hello([early, early, early, early, early]);
  t.equal(fatalOf(c.finish()), 20, 'past 64 KiB of early data: bad_record_mac');
});

t.test('without early_data in the ClientHello, nothing is skipped', async (t) => {
  const c = new MiniClient();
  c.hello([concat(Uint8Array.of(23, 3, 3, 0, 100), randomBytes(100))]);
  t.equal(fatalOf(c.finish()), 20);
});

t.test('input queued while waiting for keyproc is bounded', async (t) => {
  const c = new MiniClient();
  c.hello();
  const ev = c.feed(new Uint8Array(300 * 1024).fill(23));
  t.equal(fatalOf(ev), 10);
});

t.test('application records fed one byte per call', async (t) => {
  const c = connected(t);
  const rec = c.writeApp.seal(23, new Uint8Array(16384).fill(0x61));
  const got: number[] = [];
  const start = Date.now();
  for (const b of rec) {
    for (const e of c.feed(Uint8Array.of(b))) if (e.type === 'appData') got.push(e.data.length);
  }
  t.same(got, [16384]);
  t.ok(Date.now() - start < 2000, 'no quadratic buffering');
});

t.test('we update our own keys after many records', async (t) => {
  const c = new MiniClient(cfg, [], new Uint8Array(0), { keyUpdateAfterRecords: 3 });
  c.hello();
  c.finish();
  c.engine.sendAppData(new Uint8Array(16384 * 5));
  let reader = c.readApp;
  let secret = c.readAppSecret;
  const seen: string[] = [];
  for (const rec of records(c.engine.takeOutput())) {
    const o = reader.open(rec);
    if (!o) {
      seen.push('undecryptable');
      break;
    }
    if (o.type === 22) {
      t.same([...o.content], [24, 0, 0, 1, 0], 'KeyUpdate(update_not_requested)');
      secret = nextTrafficSecret(c.suite, secret);
      reader = new RecordProtection(c.suite, trafficKeys(c.suite, secret));
      seen.push('ku');
    } else seen.push(String(o.content.length));
  }
  t.same(seen, ['16384', '16384', '16384', 'ku', '16384', '16384']);
});

t.test('late keyproc answers after a fatal alert change nothing', async (t) => {
  const c = new MiniClient();
  c.hello();
  t.equal(fatalOf(c.feed(new Uint8Array(300 * 1024).fill(23))), 10);
  c.engine.takeOutput();
  t.same(c.engine.provideCertificate([Uint8Array.of(0x30, 0)], 0x0807), []);
  t.equal(c.engine.takeOutput().length, 0);
});

t.test('keyproc choices are checked', async (t) => {
  const c = new MiniClient();
  c.hello();
  t.equal(fatalOf(c.engine.provideCertificate([Uint8Array.of(0x30, 0)], 0x0401)), 80, 'PKCS#1 v1.5 is not for TLS 1.3');
  const d = new MiniClient();
  d.hello();
  t.equal(fatalOf(d.engine.provideCertificate([], 0x0807)), 80, 'empty chain');
  const e = new MiniClient();
  e.hello();
  t.equal(fatalOf(e.engine.provideSignature(new Uint8Array(64))), 80, 'signature before certificate');
  const f = new MiniClient();
  f.hello();
  t.match(f.engine.provideCertificate([Uint8Array.of(0x30, 0)], 0x0807), [{ type: 'needSignature' }]);
  t.equal(fatalOf(f.engine.provideCertificate([Uint8Array.of(0x30, 0)], 0x0807)), 80, 'certificate while waiting for a signature');
  const g = new MiniClient();
  g.hello();
  g.engine.provideCertificate([Uint8Array.of(0x30, 0)], 0x0807);
  t.equal(fatalOf(g.engine.refuseCertificate(112)), 80, 'refusal while waiting for a signature');
});

// The states that wait for keyproc are their own types: the core must check
// which kind it holds before handing an answer on. tsc checks these lines.
function wrongKeyprocAnswersDoNotCompile(s: State, c: AwaitingCertificate, g: AwaitingSignature, conn: Connection, msg: HandshakeMessage): void {
  // @ts-expect-error a State must be narrowed (s.awaits) before it takes a signature
  s.provideSignature(conn, new Uint8Array(1));
  // @ts-expect-error a state waiting for a certificate takes no signature
  c.provideSignature(conn, new Uint8Array(1));
  // @ts-expect-error a state waiting for a signature takes no certificate
  g.provideCertificate(conn, [], 0x0807);
  // @ts-expect-error a state waiting for keyproc reads no message
  c.handle(conn, msg);
  if (s.awaits === 'certificate') s.provideCertificate(conn, [], 0x0807);
}
void wrongKeyprocAnswersDoNotCompile;

t.test('record_size_limit (RFC 8449): we answer with ours in EncryptedExtensions and keep every protected record within the client\'s', async (t) => {
  const c = new MiniClient(cfg, [ext(28, Uint8Array.of(1, 0))]);
  c.hello();
  const ev = c.finish({ chain: [new Uint8Array(3000).fill(0x42), Uint8Array.of(0x30, 0)] });
  t.ok(ev.some((e) => e.type === 'handshakeDone'), 'the handshake completes');
  t.ok(c.maxRecord <= 256 + 16, `every protected record holds at most 255 bytes and its content type (largest ciphertext ${c.maxRecord})`);
  const eeLength = (c.flight[1] << 16) | (c.flight[2] << 8) | c.flight[3];
  t.equal(Buffer.from(c.flight.subarray(4, 4 + eeLength)).toString('hex').includes('001c00024001'), true, 'EncryptedExtensions carries record_size_limit 16385');
  c.engine.sendAppData(new Uint8Array(1000).fill(1));
  const recs = records(c.engine.takeOutput());
  t.ok(recs.length >= 4 && recs.every((r) => r.fragment.length <= 256 + 16), `application data too: ${recs.length} records`);
  const plain = new MiniClient();
  plain.hello();
  plain.finish();
  t.notOk(Buffer.from(plain.flight).toString('hex').includes('001c0002'), 'no record_size_limit without the client\'s');
  t.equal(helloResult(clientHello({ extensions: [...defaultExtensions(x25519Pair().raw), ext(28, Uint8Array.of(0, 63))] })).alert, 47, 'a limit below 64: illegal_parameter');
  t.equal(helloResult(clientHello({ extensions: [...defaultExtensions(x25519Pair().raw), ext(28, Uint8Array.of(1, 0, 0))] })).alert, 50, 'a malformed one: decode_error');
});

t.test('a certificate chain over 2^14 spans records', async (t) => {
  const c = new MiniClient();
  c.hello();
  const big = new Uint8Array(40000).fill(0x42);
  const ev = c.finish({ chain: [big, Uint8Array.of(0x30, 0)] });
  t.ok(ev.some((e) => e.type === 'handshakeDone'), 'client Finished over the joined transcript verifies');
  t.ok(c.maxRecord <= 16384 + 256, 'records within limits');
  const at = 4 + ((c.flight[1] << 16) | (c.flight[2] << 8) | c.flight[3]); // after EncryptedExtensions
  t.equal(c.flight[at], 11, 'Certificate after EncryptedExtensions');
  t.equal((c.flight[at + 1] << 16) | (c.flight[at + 2] << 8) | c.flight[at + 3], 1 + 3 + (3 + 40000 + 2) + (3 + 2 + 2));
});

// Issue 12: alerts that were waited out until -T, or taken without bound.
t.test('close_notify or user_canceled before the handshake is done ends it at once', async (t) => {
  for (const code of [0, 90]) {
    const e = createServerEngine(cfg);
    const ev = e.feed(plaintextRecord(21, Uint8Array.of(1, code)));
    t.match(ev, [{ type: 'fatal', alert: code, received: true }], `alert ${code} before the ClientHello: the connection is over`);
    t.equal(e.takeOutput().length, 0, 'nothing sent back');
  }
  const c = new MiniClient();
  c.hello();
  // Input waits while keyproc works (the client has no keys yet: nothing was sent); the alert is read once its answers are in.
  t.same(c.feed(plaintextRecord(21, Uint8Array.of(1, 90))), [], 'queued while keyproc works');
  const ev = [...c.engine.provideCertificate([Uint8Array.of(0x30, 0)], 0x0807), ...c.engine.provideSignature(new Uint8Array(64).fill(1))];
  t.match(ev.filter((e) => e.type === 'fatal'), [{ type: 'fatal', alert: 90, received: true }], 'user_canceled in the middle of the handshake');
});

t.test('user_canceled after the handshake: a few are taken, a flood is unexpected_message', async (t) => {
  const c = connected(t);
  for (let i = 0; i < 4; i++) t.same(c.feed(c.writeApp.seal(21, Uint8Array.of(1, 90))), [], `warning ${i + 1}: taken`);
  t.equal(fatalOf(c.feed(c.writeApp.seal(21, Uint8Array.of(1, 90)))), 10, 'the fifth: unexpected_message');
});
