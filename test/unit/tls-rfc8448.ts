// RFC 8448 section 3 ("Simple 1-RTT Handshake") as test vectors: the ECDHE
// secret, every secret of the key schedule, traffic keys, both Finished
// values, and the protected records of the trace (sealed and opened); then
// the real engine (createServerEngine) replaying the trace's server side with
// the trace's random, key share, certificate and signature.

import t from 'tap';
import { createPrivateKey, createPublicKey, diffieHellman, type KeyObject } from 'node:crypto';
import type { EngineConfig, EngineEvent } from '../../tls/api';
import { parseClientHello } from '../../tls/clienthello';
import { createServerEngine } from '../../tls/engine';
import type { KeyShare } from '../../tls/keyexchange';
import {
  finishedVerifyData,
  hashOf,
  KeySchedule,
  trafficKeys,
  Transcript,
} from '../../tls/keyschedule';
import { serverHello } from '../../tls/messages';
import { Deframer, type RawRecord } from '../../tls/record';
import { RecordProtection } from '../../tls/protection13';
import { select } from '../../tls/selection';
import { suiteByCode } from '../../tls/tables';

const hex = (s: string) => new Uint8Array(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
const toHex = (b: Uint8Array) => Buffer.from(b).toString('hex');

// Values from RFC 8448 section 3.
const V = {
  clientPrivate: '49af42ba7f7994852d713ef2784bcbcaa7911de26adc5642cb634540e7ea5005',
  clientPublic: '99381de560e4bd43d23d8e435a7dbafeb3c06e51c13cae4d5413691e529aaf2c',
  serverPrivate: 'b1580eeadf6dd589b8ef4f2d5652578cc810e9980191ec8d058308cea216a21e',
  serverPublic: 'c9828876112095fe66762bdbf7c672e156d6cc253b833df1dd69b1b04e751f0f',
  /** The header of the record that carries the ClientHello. */
  clientHelloRecordHeader: '16030100c4',
  clientHello:
    '010000c00303cb34ecb1e78163ba1c38c6dacb196a6dffa21a8d9912ec18a2ef6283024dece7000006130113031302010000910000000b' +
    '0009000006736572766572ff01000100000a00140012001d0017001800190100010101020103010400230000003300260024001d0020' +
    '99381de560e4bd43d23d8e435a7dbafeb3c06e51c13cae4d5413691e529aaf2c002b0003020304000d0020001e04030503060302030804' +
    '0805080604010501060102010402050206020202002d00020101001c00024001',
  serverRandom: 'a6af06a4121860dc5e6e60249cd34c95930c8ac5cb1434dac155772ed3e26928',
  serverHelloRecordHeader: '160303005a',
  serverHello:
    '020000560303a6af06a4121860dc5e6e60249cd34c95930c8ac5cb1434dac155772ed3e2692800130100002e00330024001d0020c982887611' +
    '2095fe66762bdbf7c672e156d6cc253b833df1dd69b1b04e751f0f002b00020304',
  sharedSecret: '8bd4054fb55b9d63fdfbacf9f04b9f0d35e6d63f537563efd46272900f89492d',
  earlySecret: '33ad0a1c607ec03b09e6cd9893680ce210adf300aa1f2660e1b22e10f170f92a',
  helloHash: '860c06edc07858ee8e78f0e7428c58edd6b43f2ca3e6e95f02ed063cf0e1cad8',
  handshakeSecret: '1dc826e93606aa6fdc0aadc12f741b01046aa6b99f691ed221a9f0ca043fbeac',
  clientHsTraffic: 'b3eddb126e067f35a780b3abf45e2d8f3b1a950738f52e9600746a0e27a55a21',
  serverHsTraffic: 'b67b7d690cc16c4e75e54213cb2d37b4e9c912bcded9105d42befd59d391ad38',
  masterSecret: '18df06843d13a08bf2a449844c5f8a478001bc4d4c627984d5a41da8d0402919',
  serverHsKey: '3fce516009c21727d0f2e4e86ee403bc',
  serverHsIv: '5d313eb2671276ee13000b30',
  clientHsKey: 'dbfaa693d1762c5b666af5d950258d01',
  clientHsIv: '5bd3c71b836e0b76bb73265f',
  encryptedExtensions: '080000240022000a00140012001d00170018001901000101010201030104001c0002400100000000',
  certificate:
    '0b0001b9000001b50001b0308201ac30820115a003020102020102300d06092a864886f70d01010b0500300e310c300a06035504031303727361' +
    '301e170d3136303733303031323335395a170d3236303733303031323335395a300e310c300a0603550403130372736130819f300d06092a86' +
    '4886f70d010101050003818d0030818902818100b4bb498f8279303d980836399b36c6988c0c68de55e1bdb826d3901a2461eafd2de49a91d0' +
    '15abbc9a95137ace6c1af19eaa6af98c7ced43120998e187a80ee0ccb0524b1b018c3e0b63264d449a6d38e22a5fda430846748030530ef046' +
    '1c8ca9d9efbfae8ea6d1d03e2bd193eff0ab9a8002c47428a6d35a8d88d79f7f1e3f0203010001a31a301830090603551d1304023000300b06' +
    '03551d0f0404030205a0300d06092a864886f70d01010b05000381810085aad2a0e5b9276b908c65f73a7267170618a54c5f8a7b337d2df7a5' +
    '94365417f2eae8f8a58c8f8172f9319cf36b7fd6c55b80f21a03015156726096fd335e5e67f2dbf102702e608ccae6bec1fc63a42a99be5c3e' +
    'b7107c3c54e9b9eb2bd5203b1c3b84e0a8b2f759409ba3eac9d91d402dcc0cc8f8961229ac9187b42b4de10000',
  certificateVerify:
    '0f000084080400805a747c5d88fa9bd2e55ab085a61015b7211f824cd484145ab3ff52f1fda8477b0b7abc90db78e2d33a5c141a078653fa6b' +
    'ef780c5ea248eeaaa785c4f394cab6d30bbe8d4859ee511f602957b15411ac027671459e46445c9ea58c181e818e95b8c3fb0bf3278409d3be' +
    '152a3da5043e063dda65cdf5aea20d53dfacd42f74f3',
  serverFinished: '140000209b9b141d906337fbd2cbdce71df4deda4ab42c309572cb7fffee5454b78f0718',
  serverFlightRecord:
    '17030302a2d1ff334a56f5bff6594a07cc87b580233f500f45e489e7f33af35edf7869fcf40aa40aa2b8ea73f848a7ca07612ef9f945cb960b' +
    '4068905123ea78b111b429ba9191cd05d2a389280f526134aadc7fc78c4b729df828b5ecf7b13bd9aefb0e57f271585b8ea9bb355c7c790207' +
    '16cfb9b1183ef3ab20e37d57a6b9d7477609aee6e122a4cf51427325250c7d0e509289444c9b3a648f1d71035d2ed65b0e3cdd0cbae8bf2d0b' +
    '227812cbb360987255cc744110c453baa4fcd610928d809810e4b7ed1a8fd991f06aa6248204797e36a6a73b70a2559c09ead686945ba246ab' +
    '66e5edd8044b4c6de3fcf2a89441ac66272fd8fb330ef8190579b3684596c960bd596eea520a56a8d650f563aad27409960dca63d3e688611e' +
    'a5e22f4415cf9538d51a200c27034272968a264ed6540c84838d89f72c24461aad6d26f59ecaba9acbbb317b66d902f4f292a36ac1b639c637' +
    'ce343117b659622245317b49eeda0c6258f100d7d961ffb138647e92ea330faeea6dfa31c7a84dc3bd7e1b7a6c7178af36879018e3f252107f' +
    '243d243dc7339d5684c8b0378bf30244da8c87c843f5e56eb4c5e8280a2b48052cf93b16499a66db7cca71e4599426f7d461e66f99882bd89f' +
    'c50800becca62d6c74116dbd2972fda1fa80f85df881edbe5a37668936b335583b599186dc5c6918a396fa48a181d6b6fa4f9d62d513afbb99' +
    '2f2b992f67f8afe67f76913fa388cb5630c8ca01e0c65d11c66a1e2ac4c85977b7c7a6999bbf10dc35ae69f5515614636c0b9b68c19ed2e31c' +
    '0b3b66763038ebba42f3b38edc0399f3a9f23faa63978c317fc9fa66a73f60f0504de93b5b845e275592c12335ee340bbc4fddd502784016e4' +
    'b3be7ef04dda49f4b440a30cb5d2af939828fd4ae3794e44f94df5a631ede42c1719bfdabf0253fe5175be898e750edc53370d2b',
  clientApTraffic: '9e40646ce79a7f9dc05af8889bce6552875afa0b06df0087f792ebb7c17504a5',
  serverApTraffic: 'a11af9f05531f856ad47116b45a950328204b4f44bfb6b3a4b4f1f3fcb631643',
  serverApKey: '9f02283b6c9c07efc26bb9f2ac92e356',
  serverApIv: 'cf782b88dd83549aadf1e984',
  clientApKey: '17422dda596ed5d9acd890e3c63f5051',
  clientApIv: '5b78923dee08579033e523d9',
  clientFinished: '14000020a8ec436d677634ae525ac1fcebe11a039ec17694fac6e98527b642f2edd5ce61',
  clientFinishedRecord:
    '170303003575ec4dc238cce60b298044a71e219c56cc77b0517fe9b93c7a4bfc44d87f38f80338ac98fc46deb384bd1caeacab6867d726c40546',
  appPayload: '000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f3031',
  clientDataRecord:
    '1703030043a23f7054b62c94d0affafe8228ba55cbefacea42f914aa66bcab3f2b9819a8a5b46b395bd54a9a20441e2b62974e1f5a6292a2977014bd1e3deae63aeebb21694915e4',
  serverDataRecord:
    '17030300432e937e11ef4ac740e538ad36005fc4a46932fc3225d05f82aa1b36e30efaf97d90e6dffc602dcb501a59a8fcc49c4bf2e5f0a21c0047c2abf332540dd032e167c2955d',
  clientAlertRecord: '1703030013c9872760655666b74d7ff1153efd6db6d0b0e3',
  serverAlertRecord: '1703030013b58fd67166ebf599d24720cfbe7efa7a8864a9',
};

const suite = suiteByCode(0x1301)!;

function record(hexRecord: string) {
  const d = new Deframer();
  d.push(hex(hexRecord));
  const r = d.next();
  if (!r) throw new Error('incomplete record');
  return r;
}

t.test('x25519 shared secret', async (t) => {
  const b64 = (s: string) => Buffer.from(s, 'hex').toString('base64url');
  const privateKey = createPrivateKey({
    key: { kty: 'OKP', crv: 'X25519', d: b64(V.clientPrivate), x: b64(V.clientPublic) },
    format: 'jwk',
  });
  const publicKey = createPublicKey({ key: { kty: 'OKP', crv: 'X25519', x: b64(V.serverPublic) }, format: 'jwk' });
  t.equal(diffieHellman({ privateKey, publicKey }).toString('hex'), V.sharedSecret);
});

t.test('ClientHello parses and selects what the trace did', async (t) => {
  const body = hex(V.clientHello).subarray(4);
  const ch = parseClientHello(body);
  t.same(ch.cipherSuites, [0x1301, 0x1303, 0x1302]);
  t.equal(Buffer.from(ch.serverName!).toString(), 'server');
  t.same(ch.supportedVersions, [0x0304]);
  t.same(ch.supportedGroups, [0x1d, 0x17, 0x18, 0x19, 0x100, 0x101, 0x102, 0x103, 0x104]);
  t.equal(ch.keyShares!.length, 1);
  t.equal(toHex(ch.keyShares![0].keyExchange), V.clientPublic);
  t.ok(ch.signatureSchemes!.includes(0x0804));
  t.equal(ch.earlyData, false);
  const choice = select(
    { suites: [0x1301], groups: [0x1d], serverPreference: true, minVersion: 0x0304, maxVersion: 0x0304 },
    ch,
  );
  t.equal(choice.kind, 'accept');
  t.equal(choice.suite.code, 0x1301);
  t.equal(choice.group.name, 'x25519');
});

t.test('ServerHello builder reproduces the trace', async (t) => {
  const sh = serverHello(hex(V.serverRandom), new Uint8Array(0), 0x1301, 0x1d, hex(V.serverPublic));
  t.equal(toHex(sh), V.serverHello);
});

t.test('key schedule', async (t) => {
  const transcript = new Transcript('sha256');
  transcript.add(hex(V.clientHello));
  transcript.add(hex(V.serverHello));
  const helloHash = transcript.current();
  t.equal(toHex(helloHash), V.helloHash, 'transcript hash CH..SH');

  const ks = new KeySchedule(suite);
  t.equal(toHex(ks.earlySecret()), V.earlySecret, 'early secret');
  const hs = ks.handshake(hex(V.sharedSecret), helloHash);
  t.equal(toHex(hs.handshakeSecret), V.handshakeSecret, 'handshake secret');
  t.equal(toHex(hs.clientHandshakeTraffic), V.clientHsTraffic, 'client handshake traffic secret');
  t.equal(toHex(hs.serverHandshakeTraffic), V.serverHsTraffic, 'server handshake traffic secret');

  const sk = trafficKeys(suite, hs.serverHandshakeTraffic);
  t.equal(toHex(sk.key), V.serverHsKey);
  t.equal(toHex(sk.iv), V.serverHsIv);
  const ck = trafficKeys(suite, hs.clientHandshakeTraffic);
  t.equal(toHex(ck.key), V.clientHsKey);
  t.equal(toHex(ck.iv), V.clientHsIv);

  transcript.add(hex(V.encryptedExtensions));
  transcript.add(hex(V.certificate));
  transcript.add(hex(V.certificateVerify));
  const serverVerify = finishedVerifyData(suite, hs.serverHandshakeTraffic, transcript.current());
  t.equal('14000020' + toHex(serverVerify), V.serverFinished, 'server Finished');
  transcript.add(hex(V.serverFinished));

  const upToServerFinished = transcript.current();
  const app = ks.application(upToServerFinished);
  t.equal(toHex(app.masterSecret), V.masterSecret, 'master secret');
  t.equal(toHex(app.clientApplicationTraffic), V.clientApTraffic, 'client application traffic secret');
  t.equal(toHex(app.serverApplicationTraffic), V.serverApTraffic, 'server application traffic secret');
  const clientVerify = finishedVerifyData(suite, hs.clientHandshakeTraffic, upToServerFinished);
  t.equal('14000020' + toHex(clientVerify), V.clientFinished, 'client Finished');

  const sak = trafficKeys(suite, app.serverApplicationTraffic);
  t.equal(toHex(sak.key), V.serverApKey);
  t.equal(toHex(sak.iv), V.serverApIv);
  const cak = trafficKeys(suite, app.clientApplicationTraffic);
  t.equal(toHex(cak.key), V.clientApKey);
  t.equal(toHex(cak.iv), V.clientApIv);
});

t.test('record protection', async (t) => {
  const keys = (k: string, iv: string) => ({ key: hex(k), iv: hex(iv) });

  // The server's encrypted flight: one record, sequence 0.
  const flight = V.encryptedExtensions + V.certificate + V.certificateVerify + V.serverFinished;
  const serverHs = new RecordProtection(suite, keys(V.serverHsKey, V.serverHsIv));
  t.equal(toHex(serverHs.seal(22, hex(flight))), V.serverFlightRecord, 'seal server flight');
  const serverHsReader = new RecordProtection(suite, keys(V.serverHsKey, V.serverHsIv));
  const opened = serverHsReader.open(record(V.serverFlightRecord));
  t.equal(opened?.type, 22);
  t.equal(toHex(opened!.content), flight, 'open server flight');

  const clientHs = new RecordProtection(suite, keys(V.clientHsKey, V.clientHsIv));
  const fin = clientHs.open(record(V.clientFinishedRecord));
  t.equal(fin?.type, 22);
  t.equal(toHex(fin!.content), V.clientFinished, 'open client Finished');

  // Application data, then the alert at sequence 1, each direction.
  const clientAp = new RecordProtection(suite, keys(V.clientApKey, V.clientApIv));
  const data = clientAp.open(record(V.clientDataRecord));
  t.equal(data?.type, 23);
  t.equal(toHex(data!.content), V.appPayload);
  const alert = clientAp.open(record(V.clientAlertRecord));
  t.equal(alert?.type, 21);
  t.equal(toHex(alert!.content), '0100');

  // In the trace the server's first application-key record (sequence 0) is
  // a NewSessionTicket; seal a stand-in to move to sequence 1.
  const serverAp = new RecordProtection(suite, keys(V.serverApKey, V.serverApIv));
  serverAp.seal(22, new Uint8Array(10));
  t.equal(toHex(serverAp.seal(23, hex(V.appPayload))), V.serverDataRecord, 'seal server data');
  t.equal(toHex(serverAp.seal(21, hex('0100'))), V.serverAlertRecord, 'seal server alert');
  t.equal(serverAp.sequence, 3);

  // A flipped bit fails authentication (null: the caller raises bad_record_mac).
  const bad = hex(V.clientDataRecord);
  bad[10] ^= 1;
  const fresh = new RecordProtection(suite, keys(V.clientApKey, V.clientApIv));
  t.equal(fresh.open(record(toHex(bad))), null);
  // ... and does not advance the sequence: the real record still opens.
  t.ok(fresh.open(record(V.clientDataRecord)));
});

t.test('hash of empty input, for the "derived" step', async (t) => {
  t.equal(toHex(hashOf('sha256', new Uint8Array(0))), 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
});

// ---------------------------------------------------------------- the engine replaying the trace

const b64u = (b: Uint8Array | string) => (typeof b === 'string' ? Buffer.from(b, 'hex') : Buffer.from(b)).toString('base64url');

/** The trace's server key share: its x25519 private key, fed to the engine through EngineOptions.keyShare. */
function traceServerShare(): KeyShare {
  const privateKey: KeyObject = createPrivateKey({
    key: { kty: 'OKP', crv: 'X25519', d: b64u(V.serverPrivate), x: b64u(V.serverPublic) },
    format: 'jwk',
  });
  return {
    publicKey: new Uint8Array(Buffer.from(createPublicKey(privateKey).export({ format: 'jwk' }).x!, 'base64url')),
    agree(peer) {
      const publicKey = createPublicKey({ key: { kty: 'OKP', crv: 'X25519', x: b64u(peer) }, format: 'jwk' });
      return new Uint8Array(diffieHellman({ privateKey, publicKey }));
    },
  };
}

const REPLAY_CONFIG: EngineConfig = {
  suites: [0x1301, 0x1303, 0x1302],
  groups: [0x001d, 0x0017],
  serverPreference: true,
  minVersion: 0x0304,
  maxVersion: 0x0304,
};

/** The DER certificate inside the trace's Certificate message (context 0, list length, entry length). */
const traceCertificateDer = () => hex(V.certificate).subarray(4 + 1 + 3 + 3, -2);
/** The scheme and the RSA-PSS signature inside the trace's CertificateVerify. */
const traceSignature = () => ({ scheme: 0x0804, signature: hex(V.certificateVerify).subarray(4 + 2 + 2) });

function allRecords(bytes: Uint8Array): RawRecord[] {
  const d = new Deframer();
  d.push(bytes);
  const out: RawRecord[] = [];
  for (let r = d.next(); r; r = d.next()) out.push(r);
  return out;
}
const wire = (r: RawRecord) => toHex(r.header) + toHex(r.fragment);

/**
 * The server side of the trace through createServerEngine: the trace's
 * ClientHello record in, the trace's server random and x25519 key through
 * EngineOptions, keyproc's answers from the trace's Certificate and
 * CertificateVerify. Returns every event and record, step by step.
 */
function replay(random = hex(V.serverRandom)) {
  const engine = createServerEngine(REPLAY_CONFIG, {
    random: (n) => random.subarray(0, n),
    keyShare: (group) => {
      if (group.code !== 0x001d) throw new Error(`the trace has no ${group.name} share`);
      return traceServerShare();
    },
  });
  const helloEvents = engine.feed(hex(V.clientHelloRecordHeader + V.clientHello));
  // Nothing goes out before keyproc's chain: the ServerHello waits for it.
  const beforeKeyproc = allRecords(engine.takeOutput());
  const certEvents = engine.provideCertificate([traceCertificateDer()], traceSignature().scheme);
  const [sh, ee, ...certRecords] = allRecords(engine.takeOutput());
  const helloRecords = [sh, ee];
  const sigEvents = engine.provideSignature(traceSignature().signature);
  const sigRecords = allRecords(engine.takeOutput());
  return { engine, helloEvents, beforeKeyproc, helloRecords, certEvents, certRecords, sigEvents, sigRecords };
}

t.test('the engine replays the server side of the trace', async (t) => {
  const share = traceServerShare();
  t.equal(toHex(share.publicKey), V.serverPublic, "the trace's server private key gives its public key");
  t.equal(toHex(share.agree(hex(V.clientPublic))), V.sharedSecret, '... and its shared secret');

  const r = replay();
  t.match(r.helloEvents, [{ type: 'needCertificate', version: 0x0304, serverName: 'server', curves: [] }]);
  t.equal(r.helloEvents.length, 1);

  // The ServerHello record: the trace's bytes exactly. The session id is
  // empty, so no middlebox-compatibility ChangeCipherSpec follows it.
  t.equal(r.beforeKeyproc.length, 0, 'nothing is sent before keyproc answers');
  t.ok(r.helloRecords.every((rec) => rec !== undefined), 'then the ServerHello, and EncryptedExtensions under handshake keys');
  t.equal(wire(r.helloRecords[0]), V.serverHelloRecordHeader + V.serverHello, 'ServerHello record as in the trace');

  // Where the engine and the trace part ways: the trace's server packs its
  // whole encrypted flight into one record, we send one record per message;
  // and its EncryptedExtensions also carries supported_groups, which we do
  // not send. Everything after that message
  // hashes a different transcript (so the Finished values differ), but the
  // handshake keys come before it: each of our records is exactly what the
  // trace's server handshake key and IV make of our message at its sequence.
  const sealer = new RecordProtection(suite, { key: hex(V.serverHsKey), iv: hex(V.serverHsIv) });
  const opener = new RecordProtection(suite, { key: hex(V.serverHsKey), iv: hex(V.serverHsIv) });
  const encrypted = [r.helloRecords[1], ...r.certRecords, ...r.sigRecords];
  t.equal(encrypted.length, 4, 'EncryptedExtensions, Certificate, CertificateVerify, Finished');
  const messages = encrypted.map((rec, i) => {
    const opened = opener.open(rec);
    if (!opened) throw new Error(`record ${i} does not open under the trace's server handshake key`);
    t.equal(opened.type, 22, `record ${i}: handshake`);
    t.equal(wire(rec), toHex(sealer.seal(22, opened.content)), `record ${i}: the trace's key and IV at sequence ${i}`);
    return opened.content;
  });
  const [ee, cert, cv, fin] = messages;

  // The trace's EncryptedExtensions without supported_groups (000a...): the
  // empty server_name, and record_size_limit 16385 (001c 0002 4001) in answer
  // to the trace client's own (RFC 8449).
  t.equal(toHex(ee), '0800000c000a' + '00000000' + '001c00024001', 'EncryptedExtensions: the empty server_name and record_size_limit');

  // Certificate and CertificateVerify: the trace's bytes, as they sit in the
  // trace's own flight record.
  const traceFlight = new RecordProtection(suite, { key: hex(V.serverHsKey), iv: hex(V.serverHsIv) }).open(record(V.serverFlightRecord))!.content;
  const eeLength = hex(V.encryptedExtensions).length;
  t.equal(toHex(cert), toHex(traceFlight.subarray(eeLength, eeLength + cert.length)), "Certificate: the trace's bytes");
  t.equal(toHex(cv), toHex(traceFlight.subarray(eeLength + cert.length, eeLength + cert.length + cv.length)), "CertificateVerify: the trace's bytes");
  t.equal(toHex(cert), V.certificate);
  t.equal(toHex(cv), V.certificateVerify);

  // What keyproc was asked to sign, and the server Finished: over our transcript.
  const transcript = new Transcript('sha256');
  for (const m of [hex(V.clientHello), hex(V.serverHello), ee, cert]) transcript.add(m);
  t.same(r.certEvents, [{ type: 'needSignature', transcriptHash: transcript.current() }], 'needSignature over CH..Certificate');
  t.same(r.sigEvents, []);
  transcript.add(cv);
  const serverVerify = finishedVerifyData(suite, hex(V.serverHsTraffic), transcript.current());
  t.equal(toHex(fin), '14000020' + toHex(serverVerify), "server Finished under the trace's server handshake secret");
  transcript.add(fin);

  // The client's Finished under the trace's client handshake key completes it;
  // application data then flows under keys from the trace's key schedule.
  const clientVerify = finishedVerifyData(suite, hex(V.clientHsTraffic), transcript.current());
  const clientHs = new RecordProtection(suite, { key: hex(V.clientHsKey), iv: hex(V.clientHsIv) });
  const done = r.engine.feed(clientHs.seal(22, hex('14000020' + toHex(clientVerify))));
  t.same(done, [
    {
      type: 'handshakeDone',
      info: { version: 'TLSv1.3', cipher: 'TLS_AES_128_GCM_SHA256', group: 'x25519', serverName: 'server', peerCertificates: null },
    },
  ] satisfies EngineEvent[]);
  const schedule = new KeySchedule(suite);
  const hs = schedule.handshake(hex(V.sharedSecret), hex(V.helloHash));
  t.equal(toHex(hs.serverHandshakeTraffic), V.serverHsTraffic);
  const app = schedule.application(transcript.current());
  const clientAp = new RecordProtection(suite, trafficKeys(suite, app.clientApplicationTraffic));
  t.same(r.engine.feed(clientAp.seal(23, hex(V.appPayload))), [{ type: 'appData', data: hex(V.appPayload) }]);
  r.engine.sendAppData(hex(V.appPayload));
  const serverAp = new RecordProtection(suite, trafficKeys(suite, app.serverApplicationTraffic));
  const reply = allRecords(r.engine.takeOutput()).map((rec) => serverAp.open(rec));
  t.same(reply.map((o) => o && { type: o.type, data: toHex(o.content) }), [{ type: 23, data: V.appPayload }]);
});

t.test('the replay has teeth: one other byte of server random changes every record', async (t) => {
  const random = hex(V.serverRandom);
  random[7] ^= 0x01;
  const r = replay(random);
  t.not(wire(r.helloRecords[0]), V.serverHelloRecordHeader + V.serverHello, 'ServerHello differs');
  const opener = new RecordProtection(suite, { key: hex(V.serverHsKey), iv: hex(V.serverHsIv) });
  t.equal(opener.open(r.helloRecords[1]), null, "EncryptedExtensions no longer opens under the trace's handshake key");
});
