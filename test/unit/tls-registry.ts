// The registry of code points (tls/registry.ts) and sign/verify by scheme
// (tls/signature.ts): the rows agree with each other, every scheme keyproc's
// policy may pick is one the engine takes for that version, the schemes we
// ask clients for are ones we can verify, and every scheme row signs and
// verifies with a real key of its kind.
import t from 'tap';
import * as crypto from 'node:crypto';
import { KEY_SCHEMES, keyKind } from '../../keyproc/schemes';
import { CLIENT_SIGNATURE_SCHEMES } from '../../tls/clientauth';
import { PROTOCOL_NAMES } from '../../tls/api';
import {
  CIPHER_SUITES_12,
  groupByCurve,
  KEY_CLASSES_BY_AUTH,
  keyClassOfScheme,
  NAMED_GROUPS,
  PROTOCOL_VERSIONS,
  ProtocolVersion,
  RSA_MD5SHA1,
  SCHEMES_BELOW_TLS12,
  SIGNATURE_SCHEMES,
  signatureSchemeByCode,
  versionByCode,
  versionByOptionName,
  type SignatureScheme,
} from '../../tls/registry';
import { minRsaModulusBytes, signByScheme, verifyByScheme } from '../../tls/signature';

const { tls10, tls11, tls12, tls13 } = ProtocolVersion;
const hex = (n: number) => '0x' + n.toString(16).padStart(4, '0');

const gen = (type: string, opts: object = {}) =>
  (crypto.generateKeyPairSync as (type: string, opts: object) => crypto.KeyPairKeyObjectResult)(type, opts);
const KEYS = {
  rsa: gen('rsa', { modulusLength: 2048 }),
  rsaPss: gen('rsa-pss', { modulusLength: 2048 }),
  p256: gen('ec', { namedCurve: 'P-256' }),
  p384: gen('ec', { namedCurve: 'P-384' }),
  p521: gen('ec', { namedCurve: 'P-521' }),
  ed25519: gen('ed25519'),
  ed448: gen('ed448'),
};
const ALL_KEYS = Object.values(KEYS);

/** The keys that may sign with a scheme row: its key type and, when it names one, its curve. */
function keysFor(s: SignatureScheme): crypto.KeyPairKeyObjectResult[] {
  return ALL_KEYS.filter(
    (k) => k.privateKey.asymmetricKeyType === s.keyType && (s.curve === null || k.privateKey.asymmetricKeyDetails?.namedCurve === s.curve),
  );
}

t.test('versions: one row each, the names derived from them', async (t) => {
  t.same(PROTOCOL_NAMES, ['TLSv1.3', 'TLSv1.2', 'TLSv1.1', 'TLSv1'], 'newest first, as OpenSSL names them');
  for (const [option, code] of [['tls10', tls10], ['tls11', tls11], ['tls12', tls12], ['tls13', tls13]] as const) {
    t.equal(versionByOptionName(option)?.code, code, option);
    t.equal(versionByCode(code)?.optionName, option);
  }
  for (const bad of ['TLS12', 'ssl3', 'tls1', 'toString', '__proto__', '']) t.equal(versionByOptionName(bad), undefined, `'${bad}' is no version`);
  t.equal(new Set(PROTOCOL_VERSIONS.map((v) => v.code)).size, PROTOCOL_VERSIONS.length);
});

t.test('named groups: each NIST curve maps back to its group', async (t) => {
  for (const g of NAMED_GROUPS) if (g.curve) t.equal(groupByCurve(g.curve), g, g.name);
  t.equal(groupByCurve('secp256k1'), undefined);
});

t.test('signature scheme rows agree with themselves', async (t) => {
  t.equal(new Set(SIGNATURE_SCHEMES.map((s) => s.code)).size, SIGNATURE_SCHEMES.length, 'codes unique');
  t.equal(new Set(SIGNATURE_SCHEMES.map((s) => s.name)).size, SIGNATURE_SCHEMES.length, 'names unique');
  for (const s of SIGNATURE_SCHEMES) {
    const what = `${s.name} (${hex(s.code)})`;
    t.equal(signatureSchemeByCode(s.code), s, `${what}: found by code`);
    t.equal(s.tls13, s.versions.includes(tls13), `${what}: tls13 is versions having TLS 1.3`);
    t.ok(s.versions.length > 0 && s.versions.every((v) => versionByCode(v) !== undefined), `${what}: versions are ours`);
    t.equal(s.saltLength, s.kind === 'rsa-pss' ? s.hashLength : null, `${what}: PSS salt as long as the hash`);
    t.equal(s.hash === null, s.kind === 'eddsa', `${what}: only EdDSA has no separate hash`);
    if (s.curve !== null) {
      t.equal(s.kind, 'ecdsa', `${what}: only ECDSA names a curve`);
      t.ok(groupByCurve(s.curve), `${what}: its curve is one of our groups`);
    }
    if (s.kind === 'ecdsa' && s.tls13) t.not(s.curve, null, `${what}: TLS 1.3 ECDSA binds a curve`);
    if (s.tls13) t.notOk(s.kind === 'rsa-pkcs1' || s.hash === 'sha1', `${what}: no PKCS#1 v1.5, no SHA-1 in TLS 1.3`);
    t.equal(keyClassOfScheme(s.code), s.keyClass);
  }
  t.equal(signatureSchemeByCode(RSA_MD5SHA1)?.name, 'rsa_md5sha1');
  t.same(
    SIGNATURE_SCHEMES.filter((s) => s.versions.includes(tls11)).map((s) => s.code).sort(),
    [...SCHEMES_BELOW_TLS12].sort(),
    'the schemes below TLS 1.2 are the rows for TLS 1.1',
  );
});

t.test('every scheme keyproc may pick is one the engine takes, for that version', async (t) => {
  t.same([...KEY_SCHEMES.keys()].sort(), [tls10, tls11, tls12, tls13].sort(), 'keyproc signs for our four versions');
  for (const [version, table] of KEY_SCHEMES) {
    for (const [kind, schemes] of Object.entries(table.keys)) {
      for (const code of schemes) {
        const s = signatureSchemeByCode(code);
        const what = `${versionByCode(version)?.name} ${kind} ${hex(code)}`;
        if (!t.ok(s, `${what}: in the registry`) || !s) continue;
        t.ok(s.versions.includes(version), `${what}: the registry allows it in this version`);
        const [keyType, curve] = kind.split(':');
        t.equal(s.keyType, keyType, `${what}: signs with this kind of key`);
        if (version === tls13) {
          // engine.ts takes keyproc's TLS 1.3 choice only if the registry says TLS 1.3.
          t.ok(s.tls13, `${what}: the TLS 1.3 engine accepts it`);
          if (s.curve !== null) t.equal(s.curve, curve, `${what}: the curve TLS 1.3 binds it to`);
        } else {
          // handshake12.ts matches the scheme's key class to a candidate suite's authentication.
          const auths = [...new Set(CIPHER_SUITES_12.map((c) => c.auth))];
          t.ok(auths.some((a) => (KEY_CLASSES_BY_AUTH[a] as readonly string[]).includes(s.keyClass)), `${what}: some TLS 1.2 suite takes its key class`);
        }
        // Below TLS 1.2 the engine offers keyproc exactly SCHEMES_BELOW_TLS12.
        if (version < tls12) t.ok((SCHEMES_BELOW_TLS12 as readonly number[]).includes(code), `${what}: one the engine offers below TLS 1.2`);
      }
    }
  }
});

t.test('the schemes we ask clients for are ones we verify', async (t) => {
  for (const code of CLIENT_SIGNATURE_SCHEMES) {
    const s = signatureSchemeByCode(code);
    if (!t.ok(s, `${hex(code)}: in the registry`) || !s) continue;
    t.ok(s.versions.includes(tls12), `${s.name}: usable in TLS 1.2`);
    t.not(s.hash, 'sha1', `${s.name}: no SHA-1`);
    t.ok(keysFor(s).length > 0, `${s.name}: a test key exists for it`);
  }
});

t.test('every scheme row signs and verifies with a real key', async (t) => {
  const data = crypto.randomBytes(200);
  const other = Buffer.concat([data, Buffer.of(0)]);
  for (const s of SIGNATURE_SCHEMES) {
    const keys = keysFor(s);
    t.ok(keys.length > 0, `${s.name}: has test keys`);
    for (const k of keys) {
      const what = `${s.name} with ${keyKind(k.privateKey)}`;
      const sig = signByScheme(k.privateKey, s.code, data);
      t.ok(verifyByScheme(k.publicKey, s.code, data, sig), `${what}: verifies`);
      t.notOk(verifyByScheme(k.publicKey, s.code, other, sig), `${what}: not over other data`);
      const bent = Buffer.from(sig);
      bent[bent.length >> 1] ^= 0x01;
      t.notOk(verifyByScheme(k.publicKey, s.code, data, bent), `${what}: not with a bit flipped`);
      t.notOk(verifyByScheme(k.publicKey, s.code, data, Buffer.alloc(0)), `${what}: an empty signature is false, not an exception`);
      const stranger = gen(k.privateKey.asymmetricKeyType!, k.privateKey.asymmetricKeyType === 'ec'
        ? { namedCurve: k.privateKey.asymmetricKeyDetails!.namedCurve }
        : k.privateKey.asymmetricKeyType!.startsWith('rsa') ? { modulusLength: 1024 } : {});
      t.notOk(verifyByScheme(stranger.publicKey, s.code, data, sig), `${what}: not with another key`);
    }
  }
});

t.test('the signatures are what the scheme says, checked with plain node:crypto', async (t) => {
  const data = crypto.randomBytes(100);
  const { publicKey, privateKey } = KEYS.rsa;
  const pss = signByScheme(privateKey, 0x0805, data);
  t.ok(crypto.verify('sha384', data, { key: publicKey, padding: crypto.constants.RSA_PKCS1_PSS_PADDING, saltLength: 48 }, pss), 'rsa_pss_rsae_sha384: salt 48');
  t.notOk(crypto.verify('sha384', data, { key: publicKey, padding: crypto.constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 }, pss), '... and not 32');
  const md5sha1 = crypto.publicDecrypt({ key: publicKey, padding: crypto.constants.RSA_PKCS1_PADDING }, signByScheme(privateKey, RSA_MD5SHA1, data));
  t.same(md5sha1, Buffer.concat([crypto.createHash('md5').update(data).digest(), crypto.createHash('sha1').update(data).digest()]), 'rsa_md5sha1: MD5 ‖ SHA-1, no DigestInfo');
  const ecdsa = signByScheme(KEYS.p384.privateKey, 0x0503, data);
  t.equal(ecdsa[0], 0x30, 'ECDSA: a DER SEQUENCE, not r ‖ s');
  t.ok(crypto.verify('sha384', data, { key: KEYS.p384.publicKey, dsaEncoding: 'der' }, ecdsa));
});

t.test('unknown schemes throw; RSA moduli per scheme', async (t) => {
  t.throws(() => signByScheme(KEYS.rsa.privateKey, 0x0101, Buffer.of(1)), /unknown signature scheme 0x0101/);
  t.throws(() => verifyByScheme(KEYS.rsa.publicKey, 0x0101, Buffer.of(1), Buffer.of(1)), /unknown signature scheme/);
  // EMSA-PSS: 2 * hash + 2; EMSA-PKCS1-v1_5: DigestInfo + hash + 11; MD5 ‖ SHA-1: 36 + 11.
  const want: [number, number][] = [[0x0804, 66], [0x0806, 130], [0x0401, 62], [0x0601, 94], [0x0201, 46], [RSA_MD5SHA1, 47], [0x0403, 0], [0x0807, 0]];
  for (const [code, bytes] of want) t.equal(minRsaModulusBytes(code), bytes, hex(code));
});
