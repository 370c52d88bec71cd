// Scheme tables per version (TLS 1.3, 1.2, 1.1, 1.0), the choice among what
// the client offered, key class filtering, and that every (key, scheme) pair
// in the tables signs something a plain crypto.verify / publicDecrypt accepts.
import t from 'tap';
import * as crypto from 'node:crypto';
import { ProtocolVersion, RSA_MD5SHA1, signatureSchemeByCode, type KeyClass } from '../../tls/registry';
import { signByScheme, verifyByScheme } from '../../tls/signature';
import {
  KEY_SCHEMES,
  LAST_RESORT,
  chooseScheme,
  classAllowed,
  keyClassOf,
  schemesForKey,
  versionSupported,
} from '../../keyproc/schemes';
import { selectChain, type Loaded } from '../../keyproc/select';

const gen = (type: string, opts: object = {}) => crypto.generateKeyPairSync(type as 'ec', opts as crypto.ECKeyPairOptions<'pem', 'pem'>) as unknown as crypto.KeyPairKeyObjectResult;
const keys = {
  rsa: gen('rsa', { modulusLength: 2048 }).privateKey,
  p256: gen('ec', { namedCurve: 'P-256' }).privateKey,
  p384: gen('ec', { namedCurve: 'P-384' }).privateKey,
  p521: gen('ec', { namedCurve: 'P-521' }).privateKey,
  k256: gen('ec', { namedCurve: 'secp256k1' }).privateKey,
  ed25519: gen('ed25519').privateKey,
  ed448: gen('ed448').privateKey,
};
const { tls10: TLS10, tls11: TLS11, tls12: TLS12, tls13: TLS13 } = ProtocolVersion;
const ALL: KeyClass[] = ['ec', 'ed25519', 'rsa'];
const hex = (n: number | undefined) => (n === undefined ? 'none' : '0x' + n.toString(16).padStart(4, '0'));

t.test('versions: 1.0 to 1.3, nothing else', async (t) => {
  for (const v of [TLS10, TLS11, TLS12, TLS13]) t.ok(versionSupported(v), hex(v));
  for (const v of [0x0300, 0x0305, 0x0000, 0x7f1c, 0xfefd]) t.notOk(versionSupported(v), `${hex(v)} refused`);
  t.equal(chooseScheme(keys.rsa, 0x0300, [0x0401, 0x0201]), undefined, 'SSL 3.0: nothing');
});

t.test('TLS 1.2 schemes per key', async (t) => {
  t.same(schemesForKey(keys.rsa, TLS12), [0x0804, 0x0805, 0x0806, 0x0401, 0x0501, 0x0601, 0x0201]);
  for (const k of ['p256', 'p384', 'p521'] as const) t.same(schemesForKey(keys[k], TLS12), [0x0403, 0x0503, 0x0603, 0x0203], `${k}: any ECDSA hash`);
  t.same(schemesForKey(keys.ed25519, TLS12), [0x0807]);
  t.same(schemesForKey(keys.ed448, TLS12), [0x0808]);
  t.same(schemesForKey(keys.k256, TLS12), [], 'secp256k1: not one of our curves');
  t.notOk(schemesForKey(keys.rsa, TLS12).includes(RSA_MD5SHA1), 'no md5sha1 in 1.2');
});

t.test('TLS 1.2 RSA: the client order, SHA-1 only as a last resort', async (t) => {
  const cases: [number[], number | undefined, string][] = [
    [[0x0401], 0x0401, 'only pkcs1 offered: pkcs1'],
    [[0x0601, 0x0501], 0x0601, 'pkcs1 in the client order'],
    [[0x0401, 0x0804], 0x0401, 'pkcs1 before PSS when the client lists it first'],
    [[0x0804, 0x0401], 0x0804, 'PSS when the client lists it first'],
    [[0x0403, 0x0806, 0x0401], 0x0806, 'ECDSA skipped for an RSA key'],
    [[0x0201, 0x0601], 0x0601, 'rsa_pkcs1_sha1 first in the list, still not chosen'],
    [[0x0203, 0x0201, 0x0403], 0x0201, 'rsa_pkcs1_sha1 when nothing better fits'],
    [[0x0201, 0x0203], 0x0201, "RFC 5246's default list (no signature_algorithms)"],
    [[0x0809, 0x080a, 0x0201], 0x0201, 'rsa_pss_pss_* is not for an rsaEncryption key'],
    [[RSA_MD5SHA1], undefined, 'the 1.0/1.1 pseudo-scheme is never negotiated in 1.2'],
    [[0x0403, 0x0807], undefined, 'nothing RSA'],
    [[], undefined, 'empty list'],
  ];
  for (const [offered, want, what] of cases) t.equal(hex(chooseScheme(keys.rsa, TLS12, offered)), hex(want), `${what}: ${offered.map(hex)}`);
});

t.test('TLS 1.2 ECDSA: any curve signs any ECDSA scheme, SHA-1 last', async (t) => {
  t.equal(chooseScheme(keys.p384, TLS12, [0x0403]), 0x0403, 'P-384 key signs ecdsa_secp256r1_sha256');
  t.equal(chooseScheme(keys.p256, TLS12, [0x0603, 0x0403]), 0x0603, 'P-256 key signs ecdsa_secp521r1_sha512 (client order)');
  t.equal(chooseScheme(keys.p521, TLS12, [0x0503]), 0x0503);
  t.equal(chooseScheme(keys.p256, TLS12, [0x0203, 0x0503]), 0x0503, 'ecdsa_sha1 first in the list, still last');
  t.equal(chooseScheme(keys.p256, TLS12, [0x0201, 0x0203]), 0x0203, 'default list: ecdsa_sha1');
  t.equal(chooseScheme(keys.p256, TLS12, [0x0804, 0x0401, 0x0807]), undefined);
  t.equal(chooseScheme(keys.p256, TLS13, [0x0603, 0x0403]), 0x0403, 'TLS 1.3 unchanged: the curve fixes the hash');
  t.equal(chooseScheme(keys.p384, TLS13, [0x0403]), undefined);
});

t.test('TLS 1.2 EdDSA', async (t) => {
  t.equal(chooseScheme(keys.ed25519, TLS12, [0x0403, 0x0807]), 0x0807);
  t.equal(chooseScheme(keys.ed25519, TLS12, [0x0403, 0x0203, 0x0201]), undefined, 'not without 0x0807');
  t.equal(chooseScheme(keys.ed448, TLS12, [0x0807, 0x0808]), 0x0808);
});

t.test('TLS 1.0/1.1: the version fixes the scheme, the offered list is ignored', async (t) => {
  for (const v of [TLS10, TLS11]) {
    for (const offered of [[], [0x0804, 0x0401], [RSA_MD5SHA1]]) {
      t.equal(hex(chooseScheme(keys.rsa, v, offered)), hex(RSA_MD5SHA1), `${hex(v)} RSA with ${offered.map(hex)}: rsa_md5sha1`);
      for (const k of ['p256', 'p384', 'p521'] as const) t.equal(hex(chooseScheme(keys[k], v, offered)), '0x0203', `${hex(v)} ${k}: ecdsa_sha1`);
      t.equal(chooseScheme(keys.ed25519, v, [...offered, 0x0807]), undefined, `${hex(v)}: Ed25519 refused`);
      t.equal(chooseScheme(keys.ed448, v, [...offered, 0x0808]), undefined, `${hex(v)}: Ed448 refused`);
    }
    t.same(schemesForKey(keys.rsa, v), [RSA_MD5SHA1]);
    t.same(schemesForKey(keys.ed25519, v), []);
  }
});

t.test('RSA modulus sizes: a scheme is offered only if its encoding fits', async (t) => {
  const rsa1024 = gen('rsa', { modulusLength: 1024 }).privateKey;
  // PSS-SHA512 needs 2*64+2 = 130 bytes > 128; PKCS#1 SHA-512 needs 19+64+11 = 94.
  t.same(schemesForKey(rsa1024, TLS12), [0x0804, 0x0805, 0x0401, 0x0501, 0x0601, 0x0201]);
  t.same(schemesForKey(rsa1024, TLS13), [0x0804, 0x0805]);
  const rsa512 = gen('rsa', { modulusLength: 512 }).privateKey;
  // 64 bytes: PSS-SHA256 needs 66, PKCS#1 SHA-256 62, SHA-384 78, SHA-1 46, MD5||SHA1 47.
  t.same(schemesForKey(rsa512, TLS12), [0x0401, 0x0201]);
  t.same(schemesForKey(rsa512, TLS10), [RSA_MD5SHA1]);
  t.equal(chooseScheme(rsa512, TLS12, [0x0804, 0x0501, 0x0401]), 0x0401);
  // And what is offered really signs.
  for (const s of [...schemesForKey(rsa1024, TLS12), ...schemesForKey(rsa512, TLS12), RSA_MD5SHA1]) {
    const k = schemesForKey(rsa512, TLS12).includes(s) || s === RSA_MD5SHA1 ? rsa512 : rsa1024;
    const sig = signByScheme(k, s, Buffer.from('x'));
    t.ok(verifyByScheme(crypto.createPublicKey(k), s, Buffer.from('x'), sig), `${signatureSchemeByCode(s)!.name} with ${k.asymmetricKeyDetails!.modulusLength} bits`);
  }
});

t.test('key classes as SELECT names them', async (t) => {
  t.equal(keyClassOf(keys.rsa), 'rsa');
  for (const k of ['p256', 'p384', 'p521', 'k256'] as const) t.equal(keyClassOf(keys[k]), 'ec', k);
  t.equal(keyClassOf(keys.ed25519), 'ed25519');
  t.equal(keyClassOf(keys.ed448), 'ed25519', 'EdDSA: one class');
  t.equal(keyClassOf(gen('x25519').privateKey), undefined, 'X25519 cannot sign');
  t.equal(keyClassOf(gen('dsa', { modulusLength: 2048, divisorLength: 256 }).privateKey), undefined);
  t.ok(classAllowed(keys.p256, TLS13, ['rsa']), 'TLS 1.3 ignores the classes');
  t.notOk(classAllowed(keys.p256, TLS12, ['rsa']));
  t.notOk(classAllowed(keys.ed25519, TLS12, ['ec', 'rsa']));
  t.ok(classAllowed(keys.ed25519, TLS12, ['ed25519']));
  t.notOk(classAllowed(keys.rsa, TLS10, ['ec']));
  t.notOk(classAllowed(keys.rsa, 0x0300, ALL), 'unknown version: nothing');
});

t.test('selection: config order, each candidate filtered by class and scheme', async (t) => {
  const c = (name: keyof typeof keys): Loaded => ({ path: name, key: keys[name], chain: [] });
  const pick = (cands: Loaded[], version: number, offered: number[], classes: KeyClass[]) => {
    const s = selectChain(cands, version, offered, classes);
    return s && `${s.candidate.path} ${hex(s.scheme)}`;
  };
  const offered = [0x0403, 0x0804, 0x0401, 0x0807, 0x0201, 0x0203];
  t.equal(pick([c('p256'), c('rsa')], TLS12, offered, ['rsa']), 'rsa 0x0804', "1.2, keyClasses ['rsa']: the ECDSA first candidate is skipped");
  t.equal(pick([c('p256')], TLS12, offered, ['rsa']), undefined, '... and with no RSA candidate: nothing');
  t.equal(pick([c('p256'), c('rsa')], TLS12, offered, ['rsa', 'ec']), 'p256 0x0403', 'class order does not reorder candidates: config order wins');
  t.equal(pick([c('rsa'), c('p256')], TLS12, offered, ['ec']), 'p256 0x0403');
  t.equal(pick([c('ed25519'), c('p384')], TLS12, offered, ['ec']), 'p384 0x0403', "'ec' does not admit EdDSA");
  t.equal(pick([c('ed25519'), c('p384')], TLS12, offered, ['ed25519', 'ec']), 'ed25519 0x0807');
  t.equal(pick([c('p256'), c('rsa')], TLS12, [0x0804], ALL), 'rsa 0x0804', 'class fits, scheme does not: next candidate');
  t.equal(pick([c('p256'), c('rsa')], TLS13, [0x0804, 0x0403], ['rsa']), 'p256 0x0403', 'TLS 1.3: classes ignored');
  t.equal(pick([c('ed25519'), c('rsa')], TLS10, [], ['ec', 'ed25519', 'rsa']), 'rsa 0xff01', 'TLS 1.0: Ed25519 skipped');
  t.equal(pick([c('rsa'), c('p256')], TLS11, [], ['ec']), 'p256 0x0203');
  t.equal(pick([c('ed25519')], TLS11, [], ['ed25519']), undefined);
});

t.test('every table entry signs and verifies, checked without our helpers', async (t) => {
  const content = crypto.randomBytes(141);
  const digest = (h: string) => crypto.createHash(h).update(content).digest();
  const DIGEST_INFO: Record<string, string> = {
    sha1: '3021300906052b0e03021a05000414',
    sha256: '3031300d060960864801650304020105000420',
    sha384: '3041300d060960864801650304020205000430',
    sha512: '3051300d060960864801650304020305000440',
  };
  for (const [version, table] of KEY_SCHEMES) {
    for (const name of Object.keys(keys) as (keyof typeof keys)[]) {
      const key = keys[name];
      const pub = crypto.createPublicKey(key);
      for (const scheme of schemesForKey(key, version)) {
        t.ok(Object.values(table.keys).some((l) => l.includes(scheme)));
        const info = signatureSchemeByCode(scheme)!;
        const sig = signByScheme(key, scheme, content);
        const what = `${hex(version)} ${name} ${info.name}`;
        t.ok(verifyByScheme(pub, scheme, content, sig), `${what}: verifies`);
        t.notOk(verifyByScheme(pub, scheme, Buffer.concat([content, Buffer.of(0)]), sig), `${what}: not over other content`);
        switch (info.kind) {
          case 'ecdsa':
            t.ok(crypto.verify(info.hash, content, { key: pub, dsaEncoding: 'der' }, sig), `${what}: crypto.verify`);
            break;
          case 'rsa-pss':
            t.ok(crypto.verify(info.hash, content, { key: pub, padding: crypto.constants.RSA_PKCS1_PSS_PADDING, saltLength: info.hashLength }, sig), `${what}: crypto.verify`);
            break;
          case 'rsa-pkcs1': {
            const em = crypto.publicDecrypt({ key: pub, padding: crypto.constants.RSA_PKCS1_PADDING }, sig);
            t.equal(em.toString('hex'), DIGEST_INFO[info.hash!] + digest(info.hash!).toString('hex'), `${what}: DigestInfo || hash`);
            break;
          }
          case 'rsa-md5sha1': {
            const em = crypto.publicDecrypt({ key: pub, padding: crypto.constants.RSA_PKCS1_PADDING }, sig);
            t.equal(em.length, 36, `${what}: 36 bytes, no DigestInfo`);
            t.ok(em.equals(Buffer.concat([digest('md5'), digest('sha1')])), `${what}: MD5 || SHA1 of the content`);
            break;
          }
          case 'eddsa':
            t.ok(crypto.verify(null, content, pub, sig), `${what}: crypto.verify`);
            break;
        }
      }
    }
  }
});

t.test('table sanity', async (t) => {
  for (const [version, table] of KEY_SCHEMES)
    for (const [cls, list] of Object.entries(table.keys)) {
      for (const s of list) t.ok(signatureSchemeByCode(s) !== undefined, `${hex(version)} ${cls}: ${hex(s)} is known`);
      t.equal(new Set(list).size, list.length, `${hex(version)} ${cls}: no duplicates`);
      if (version === TLS13) t.notOk(list.some((s) => LAST_RESORT.has(s) || signatureSchemeByCode(s)!.kind === 'rsa-pkcs1'), `${cls}: no SHA-1, no PKCS#1 v1.5 in 1.3`);
    }
  t.equal(signatureSchemeByCode(RSA_MD5SHA1)!.name, 'rsa_md5sha1');
  t.equal(RSA_MD5SHA1, 0xff01);
});

t.test('TLS 1.2: an ECDSA key must be on a curve the client supports (RFC 8422 5.1)', async (t) => {
  const p384: Loaded = { path: 'p384', key: keys.p384, chain: [] };
  const p256: Loaded = { path: 'p256', key: keys.p256, chain: [] };
  const rsa: Loaded = { path: 'rsa', key: keys.rsa, chain: [] };
  const cands = [p384, p256, rsa];
  const ecdsa = [0x0403, 0x0503, 0x0804];
  t.equal(selectChain(cands, TLS12, ecdsa, ALL, [0x001d, 0x0017])?.candidate.path, 'p256', 'P-384 skipped for a client without it');
  t.equal(selectChain(cands, TLS12, ecdsa, ALL, [0x0018])?.candidate.path, 'p384');
  t.equal(selectChain(cands, TLS12, ecdsa, ALL, [0x001d])?.candidate.path, 'rsa', 'no usable curve: the RSA fallback');
  t.equal(selectChain(cands, TLS12, ecdsa, ALL, [])?.candidate.path, 'p384', 'no supported_groups: no bound');
  t.equal(selectChain(cands, TLS13, ecdsa, ALL, [])?.candidate.path, 'p384', 'TLS 1.3: netproc sends no bound');
});
