// X25519MLKEM768 (draft-ietf-tls-ecdhe-mlkem): ML-KEM-768 against FIPS 203
// known answers, and our server side of the hybrid against a client built
// here from the same primitives (the client decapsulates, we encapsulate).
import t from 'tap';
import { ml_kem768 } from '@noble/post-quantum/ml-kem.js';
import { createHash } from 'node:crypto';
import { newKeyShare } from '../../tls/keyexchange';
import { groupByCode, groupByOptionName } from '../../tls/registry';
import { TlsAlert } from '../../tls/errors';
import { chooseGroup } from '../../tls/selection12';
import { CONFIG12 } from '../lib/engine-harness';
import { hybridClientShare } from '../lib/hybridshare';

const HYBRID = groupByCode(0x11ec)!;

t.test('ML-KEM-768: FIPS 203 accumulated vectors (C2SP CCTV format, 100 rounds)', async (t) => {
  // Inputs from one SHAKE-128 stream of the empty string; every output goes
  // into a second SHAKE-128, whose first 32 bytes are the known answer (the
  // 100-round figure Go's crypto/mlkem tests against).
  const rounds = 100;
  const perRound = 64 + 32 + 1088;
  const stream = createHash('shake128', { outputLength: rounds * perRound }).update('').digest();
  const out = createHash('shake128', { outputLength: 32 });
  let at = 0;
  const take = (n: number) => stream.subarray(at, (at += n));
  let mismatches = 0;
  for (let i = 0; i < rounds; i++) {
    const { publicKey, secretKey } = ml_kem768.keygen(take(64)); // d || z
    out.update(publicKey);
    const { cipherText, sharedSecret } = ml_kem768.encapsulate(publicKey, take(32));
    out.update(cipherText);
    out.update(sharedSecret);
    if (!Buffer.from(ml_kem768.decapsulate(cipherText, secretKey)).equals(Buffer.from(sharedSecret))) mismatches++;
    // A ciphertext nobody made: implicit rejection gives a pseudo-random key, never an error.
    out.update(ml_kem768.decapsulate(take(1088), secretKey));
  }
  t.equal(mismatches, 0, 'decapsulation gives back every encapsulated key');
  t.equal(out.digest('hex'), '1114b1b6699ed191734fa339376afa7e285c9e6acf6ff0177d346696ce564415');
});

t.test('the registry: code point 0x11ec, TLS 1.3 only, -e name', async (t) => {
  t.equal(HYBRID.name, 'X25519MLKEM768');
  t.equal(HYBRID.publicKeyLength, 1216, "the client's share: 1184 + 32");
  t.equal(HYBRID.tls13Only, true);
  t.equal(groupByOptionName('x25519mlkem768'), HYBRID, '-e x25519mlkem768 (any case)');
});

t.test('server side: ciphertext then X25519 key; the secret is ML-KEM then X25519', async (t) => {
  const client = hybridClientShare();
  const ours = newKeyShare(HYBRID);
  t.throws(() => ours.publicKey, /only after agree/, 'no share before the peer\'s');
  const secret = ours.agree(client.publicKey);
  t.equal(ours.publicKey.length, 1088 + 32, 'our share: 1088 + 32 bytes');
  t.equal(secret.length, 64);
  t.same(Buffer.from(secret), Buffer.from(client.agree(ours.publicKey)), 'the client derives the same 64 bytes');
  const again = newKeyShare(HYBRID);
  again.agree(client.publicKey);
  t.not(Buffer.from(again.publicKey).toString('hex'), Buffer.from(ours.publicKey).toString('hex'), 'fresh randomness each time');
});

t.test('a malformed client share is illegal_parameter', async (t) => {
  const good = hybridClientShare().publicKey;
  const alertOf = (share: Uint8Array): number | string => {
    try {
      newKeyShare(HYBRID).agree(share);
      return 'accepted';
    } catch (e) {
      return e instanceof TlsAlert ? e.alert : `not an alert: ${(e as Error).message}`;
    }
  };
  t.equal(alertOf(good.subarray(0, 1215)), 47, 'one byte short');
  t.equal(alertOf(new Uint8Array([...good, 0])), 47, 'one byte long');
  // FIPS 203 7.2: every 12-bit coefficient of the key must be below q = 3329.
  const badModulus = good.slice();
  badModulus[0] = 0xff;
  badModulus[1] |= 0x0f;
  t.equal(alertOf(badModulus), 47, 'an encapsulation key coefficient of 4095');
  const zeroX = good.slice();
  zeroX.fill(0, 1184);
  t.equal(alertOf(zeroX), 47, 'an X25519 key giving a zero secret');
});

t.test('never in TLS 1.2: the ECDHE group comes from the rest', async (t) => {
  const cfg = { ...CONFIG12, groups: [0x11ec, 0x001d, 0x0017] };
  t.equal(chooseGroup(cfg, [0x11ec, 0x0017])?.name, 'secp256r1');
  t.equal(chooseGroup(cfg, [0x11ec]), undefined, 'nothing else offered: no group');
});
