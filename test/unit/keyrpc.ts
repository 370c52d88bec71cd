// The netproc <-> keyproc codecs (wire/keyrpc.ts): round trips, and the
// decoders against hostile payloads (keyproc decodes everything netproc sends
// as untrusted input).
import t from 'tap';
import {
  KEY_CLASS_BITS,
  decodeChain,
  decodeFail,
  decodeSelect,
  decodeSign12,
  decodeSign13,
  encodeChain,
  encodeFail,
  encodeSelect,
  encodeSign12,
  encodeSign13,
  type SelectRequest,
} from '../../wire/keyrpc';
import type { KeyClass } from '../../tls/api';

const u16 = (n: number) => [n >> 8, n & 0xff];
/** A SELECT payload by hand: version, name, schemes, class bytes, curves (bytes). */
function rawSelect(version: number, name: number[], schemes: number[], classes: number[], curves: number[] = []): Buffer {
  return Buffer.from([...u16(version), name.length, ...name, ...u16(schemes.length), ...schemes, classes.length, ...classes, ...u16(curves.length), ...curves]);
}

t.test('SELECT round trip', async (t) => {
  const cases: SelectRequest[] = [
    { version: 0x0304, serverName: '', schemes: [0x0403, 0x0804], keyClasses: ['ec', 'ed25519', 'rsa'], curves: [] },
    { version: 0x0303, serverName: 'host.example', schemes: [0x0201, 0x0203], keyClasses: ['rsa'], curves: [0x001d, 0x0017] },
    { version: 0x0303, serverName: 'a', schemes: [], keyClasses: ['rsa', 'ec', 'ed25519'], curves: [] },
    { version: 0x0301, serverName: 'x\0y\xff', schemes: [0xff01], keyClasses: ['ed25519', 'ec'], curves: [0x0018] },
    { version: 0x0302, serverName: 'n'.repeat(255), schemes: Array.from({ length: 1000 }, (_, i) => i), keyClasses: ['ec'], curves: [] },
  ];
  for (const r of cases) t.same(decodeSelect(encodeSelect(r)), r, `${r.version.toString(16)} ${JSON.stringify(r.serverName).slice(0, 20)} ${r.keyClasses}`);
  t.equal(
    Buffer.from(encodeSelect({ version: 0x0303, serverName: 'ab', schemes: [0x0401], keyClasses: ['rsa', 'ec'], curves: [0x0017] })).toString('hex'),
    '0303' + '026162' + '00020401' + '020201' + '00020017',
    'wire format: u16 version, <1> name, <2> schemes, <1> class bits in order, <2> curves',
  );
  t.same(decodeSelect(rawSelect(0x0303, [], [], [KEY_CLASS_BITS.ed25519])).keyClasses, ['ed25519']);
});

t.test('SELECT: hostile payloads', async (t) => {
  const bad: [string, Buffer, RegExp | undefined][] = [
    ['empty', Buffer.alloc(0), undefined],
    ['version only', Buffer.from([3, 3]), undefined],
    ['no class vector', Buffer.from([3, 3, 0, 0, 0]), undefined],
    ['no key class', rawSelect(0x0303, [], [], []), /no key class/],
    ['class bit 0', rawSelect(0x0303, [], [], [0]), /bad key class 0/],
    ['class bit 3 (ec|rsa as one byte)', rawSelect(0x0303, [], [], [3]), /bad key class 3/],
    ['class bit 8', rawSelect(0x0303, [], [], [8]), /bad key class 8/],
    ['class 0xff', rawSelect(0x0303, [], [], [0xff]), /bad key class/],
    ['duplicate class', rawSelect(0x0303, [], [], [2, 1, 2]), /bad key class 2/],
    ['odd scheme list', rawSelect(0x0303, [], [4, 3, 8], [1]), /odd/],
    ['odd curve list', rawSelect(0x0303, [], [], [1], [0, 0x17, 0]), /odd/],
    ['no curve vector', rawSelect(0x0303, [], [], [1]).subarray(0, -2), undefined],
    ['class vector longer than the payload', Buffer.concat([rawSelect(0x0303, [], [], [1]).subarray(0, -4), Buffer.of(5, 1)]), undefined],
    ['trailing byte', Buffer.concat([rawSelect(0x0303, [], [], [1]), Buffer.of(0)]), undefined],
    ['name length past the end', Buffer.from([3, 3, 200, 0x61]), undefined],
  ];
  for (const [what, payload, re] of bad) re ? t.throws(() => decodeSelect(payload), re, what) : t.throws(() => decodeSelect(payload), what);
  const classes = Object.keys(KEY_CLASS_BITS) as KeyClass[];
  // Every one-byte class list: the three known bits decode, nothing else does.
  for (let b = 0; b < 256; b++) {
    const p = rawSelect(0x0303, [], [], [b]);
    const known = classes.find((c) => KEY_CLASS_BITS[c] === b);
    if (known) t.same(decodeSelect(p).keyClasses, [known]);
    else t.throws(() => decodeSelect(p), `class byte ${b}`);
  }
});

t.test('SIGN12 round trip and hostile payloads', async (t) => {
  const r = { clientRandom: Buffer.alloc(32, 1), serverRandom: Buffer.alloc(32, 2), group: 0x0017, publicKey: Buffer.concat([Buffer.of(4), Buffer.alloc(64, 3)]) };
  const p = Buffer.from(encodeSign12(r));
  t.equal(p.toString('hex'), '01'.repeat(32) + '02'.repeat(32) + '0017' + '41' + '04' + '03'.repeat(64), 'wire format');
  const d = decodeSign12(p);
  t.same([Buffer.from(d.clientRandom), Buffer.from(d.serverRandom), d.group, Buffer.from(d.publicKey)], [r.clientRandom, r.serverRandom, r.group, r.publicKey]);
  const head = Buffer.concat([r.clientRandom, r.serverRandom]);
  const bad: [string, Buffer][] = [
    ['empty', Buffer.alloc(0)],
    ['short client random', Buffer.alloc(31)],
    ['randoms only', head],
    ['randoms 63 bytes + group + point', Buffer.concat([head.subarray(1), Buffer.from([0, 0x1d, 32]), Buffer.alloc(32)])],
    ['no point length', Buffer.concat([head, Buffer.from([0, 0x1d])])],
    ['empty point', Buffer.concat([head, Buffer.from([0, 0x1d, 0])])],
    ['point shorter than its length', Buffer.concat([head, Buffer.from([0, 0x1d, 32]), Buffer.alloc(31)])],
    ['trailing byte', Buffer.concat([p, Buffer.of(0)])],
  ];
  for (const [what, payload] of bad) t.throws(() => decodeSign12(payload), what);
  // What the codec leaves to keyproc: group and point length (keyproc/content.ts refuses these).
  t.equal(decodeSign12(Buffer.concat([head, Buffer.from([0x12, 0x34, 1, 9])])).group, 0x1234, 'unknown group passes the codec');
});

t.test('SIGN13, CHAIN, FAIL', async (t) => {
  for (const n of [32, 48]) t.same(Buffer.from(decodeSign13(encodeSign13(Buffer.alloc(n, 7)))), Buffer.alloc(n, 7));
  for (const n of [0, 20, 33, 64]) t.throws(() => decodeSign13(encodeSign13(Buffer.alloc(n))), `hash of ${n}`);
  t.throws(() => decodeSign13(Buffer.concat([encodeSign13(Buffer.alloc(32)), Buffer.of(0)])));
  const chain = { scheme: 0xff01, chain: [Buffer.from('leaf'), Buffer.from('ca')] };
  const c = decodeChain(encodeChain(chain));
  t.same({ scheme: c.scheme, chain: c.chain.map((x) => Buffer.from(x)) }, chain);
  t.throws(() => decodeChain(Uint8Array.of(4, 3, 0)), /empty chain/);
  t.equal(decodeFail(encodeFail(40)), 40);
  t.throws(() => decodeFail(Uint8Array.of(40, 0)));
});
