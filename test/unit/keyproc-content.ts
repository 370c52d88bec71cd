// The bytes keyproc signs: TLS 1.2 (and 1.0/1.1) ServerKeyExchange content,
// byte-exact, and refused for anything but our five groups with a point of
// the right length and format.
import t from 'tap';
import { serverKeyExchangeContent12, GROUPS12 } from '../../keyproc/content';
import { serverKeyExchange12Content } from '../../tls/messages';

const seq = (from: number, n: number) => Buffer.from(Array.from({ length: n }, (_, i) => (from + i) & 0xff));
const clientRandom = seq(0x00, 32);
const serverRandom = seq(0x20, 32);

t.test('byte-exact content for each group', async (t) => {
  const randoms = '000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f' + '202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f';
  const cases: [number, Buffer, string][] = [
    [0x001d, Buffer.alloc(32, 0xaa), '03001d20' + 'aa'.repeat(32)],
    [0x0017, Buffer.concat([Buffer.of(4), Buffer.alloc(64, 0x11)]), '03001741' + '04' + '11'.repeat(64)],
    [0x0018, Buffer.concat([Buffer.of(4), Buffer.alloc(96, 0x22)]), '03001861' + '04' + '22'.repeat(96)],
    [0x0019, Buffer.concat([Buffer.of(4), Buffer.alloc(132, 0x33)]), '03001985' + '04' + '33'.repeat(132)],
    [0x001e, Buffer.alloc(56, 0x44), '03001e38' + '44'.repeat(56)],
  ];
  for (const [group, publicKey, params] of cases) {
    const c = serverKeyExchangeContent12({ clientRandom, serverRandom, group, publicKey });
    t.equal(c.toString('hex'), randoms + params, `group 0x${group.toString(16)}`);
    t.equal(c.length, 64 + 4 + publicKey.length);
    // Same bytes as netproc's ServerKeyExchange builder puts before the signature.
    t.equal(Buffer.from(serverKeyExchange12Content(clientRandom, serverRandom, group, publicKey)).toString('hex'), c.toString('hex'), 'netproc agrees');
  }
  t.same([...GROUPS12.keys()], [0x001d, 0x0017, 0x0018, 0x0019, 0x001e]);
});

t.test('refused: randoms, groups, point lengths and formats', async (t) => {
  const p256 = Buffer.concat([Buffer.of(4), Buffer.alloc(64, 1)]);
  const bad: [string, Parameters<typeof serverKeyExchangeContent12>[0], RegExp][] = [
    ['client random 31', { clientRandom: seq(0, 31), serverRandom, group: 0x17, publicKey: p256 }, /client random of 31/],
    ['server random 33', { clientRandom, serverRandom: seq(0, 33), group: 0x17, publicKey: p256 }, /server random of 33/],
    ['x448 with 32 bytes', { clientRandom, serverRandom, group: 0x001e, publicKey: Buffer.alloc(32) }, /x448 public key of 32 bytes, not 56/],
    ['ffdhe2048', { clientRandom, serverRandom, group: 0x0100, publicKey: Buffer.alloc(256) }, /unknown group/],
    ['group 0', { clientRandom, serverRandom, group: 0, publicKey: Buffer.alloc(32) }, /unknown group/],
    ['x25519 with 31 bytes', { clientRandom, serverRandom, group: 0x1d, publicKey: Buffer.alloc(31) }, /x25519 public key of 31 bytes, not 32/],
    ['x25519 with 33 bytes', { clientRandom, serverRandom, group: 0x1d, publicKey: Buffer.alloc(33) }, /not 32/],
    ['x25519 empty', { clientRandom, serverRandom, group: 0x1d, publicKey: Buffer.alloc(0) }, /not 32/],
    ['P-256 point of P-384 length', { clientRandom, serverRandom, group: 0x17, publicKey: Buffer.concat([Buffer.of(4), Buffer.alloc(96)]) }, /secp256r1 public key of 97 bytes, not 65/],
    ['P-256 compressed', { clientRandom, serverRandom, group: 0x17, publicKey: Buffer.concat([Buffer.of(2), Buffer.alloc(32)]) }, /not 65/],
    ['P-256 65 bytes not starting 0x04', { clientRandom, serverRandom, group: 0x17, publicKey: Buffer.concat([Buffer.of(2), Buffer.alloc(64)]) }, /not an uncompressed point/],
    ['P-384 96 bytes', { clientRandom, serverRandom, group: 0x18, publicKey: Buffer.alloc(96, 4) }, /not 97/],
    ['P-384 starting 0x00', { clientRandom, serverRandom, group: 0x18, publicKey: Buffer.alloc(97) }, /uncompressed/],
    ['P-521 132 bytes', { clientRandom, serverRandom, group: 0x19, publicKey: Buffer.alloc(132, 4) }, /not 133/],
    ['P-521 starting 0x06 (hybrid)', { clientRandom, serverRandom, group: 0x19, publicKey: Buffer.concat([Buffer.of(6), Buffer.alloc(132)]) }, /uncompressed/],
  ];
  for (const [what, p, re] of bad) t.throws(() => serverKeyExchangeContent12(p), re, what);
});
