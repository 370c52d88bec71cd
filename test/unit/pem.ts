// PEM parsing, scheme selection and signatures, on key+chain files made by
// openssl (so the parser sees real-world encodings: PKCS#8, PKCS#1, SEC1 with
// an EC PARAMETERS block in front).
import t from 'tap';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { decodeBase64, parseKeyAndChain, pemBlocks, PemError } from '../../lib/pem';
import { chooseScheme, schemesForKey, keyKind } from '../../keyproc/schemes';
import { ProtocolVersion, signatureSchemeByCode, type KeyClass } from '../../tls/registry';
import { signByScheme, verifyByScheme } from '../../tls/signature';
import { selectChain } from '../../keyproc/select';
import { certificateVerifyContent13 } from '../../keyproc/content';
const TLS13 = ProtocolVersion.tls13;
const ALL: KeyClass[] = ['ec', 'ed25519', 'rsa'];

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'keyproc-pem-'));
t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));

function openssl(...args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
}

const KEYGEN: Record<string, string[]> = {
  rsa: ['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048'],
  rsatrad: ['genrsa', '-traditional', '2048'],
  p256: ['ecparam', '-name', 'prime256v1', '-genkey'],
  p384: ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-384'],
  p521: ['ecparam', '-name', 'secp521r1', '-genkey', '-noout'],
  ed25519: ['genpkey', '-algorithm', 'ed25519'],
};

openssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-subj', '/CN=test ca', '-days', '2');

/** key + leaf (signed by the test CA) + CA cert, as tlswrapper's PEM files hold them. */
function makePem(kind: string): string {
  const gen = KEYGEN[kind];
  openssl(...(gen[0] === 'genrsa' ? ['genrsa', '-traditional', '-out', `${kind}.key`, '2048'] : [...gen, '-out', `${kind}.key`]));
  openssl('req', '-new', '-key', `${kind}.key`, '-subj', `/CN=${kind}.example`, '-out', `${kind}.csr`);
  openssl('x509', '-req', '-in', `${kind}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '2', '-out', `${kind}.crt`);
  const file = path.join(dir, `${kind}.pem`);
  fs.writeFileSync(file, Buffer.concat(['key', 'crt'].map((e) => fs.readFileSync(path.join(dir, `${kind}.${e}`))).concat(fs.readFileSync(path.join(dir, 'ca.crt')))));
  return file;
}

const files: Record<string, string> = {};
for (const kind of Object.keys(KEYGEN)) files[kind] = makePem(kind);

function der(file: string): Buffer[] {
  return pemBlocks(fs.readFileSync(file, 'latin1'))
    .filter((b) => b.label === 'CERTIFICATE')
    .map((b) => b.der);
}

const EXPECT: Record<string, { cls: string; schemes: number[] }> = {
  rsa: { cls: 'rsa', schemes: [0x0804, 0x0805, 0x0806] },
  rsatrad: { cls: 'rsa', schemes: [0x0804, 0x0805, 0x0806] },
  p256: { cls: 'ec:prime256v1', schemes: [0x0403] },
  p384: { cls: 'ec:secp384r1', schemes: [0x0503] },
  p521: { cls: 'ec:secp521r1', schemes: [0x0603] },
  ed25519: { cls: 'ed25519', schemes: [0x0807] },
};

t.test('each key type parses, chain in file order, leaf matches, signs and verifies', async (t) => {
  const caDer = new crypto.X509Certificate(fs.readFileSync(path.join(dir, 'ca.crt'))).raw;
  for (const [kind, want] of Object.entries(EXPECT)) {
    const kc = parseKeyAndChain(fs.readFileSync(files[kind]));
    t.equal(keyKind(kc.key), want.cls, `${kind}: key kind`);
    t.equal(kc.chain.length, 2, `${kind}: leaf + CA`);
    t.same(kc.chain, der(files[kind]), `${kind}: chain DER is the file's certificates in order`);
    t.ok(kc.chain[1].equals(caDer), `${kind}: second is the CA`);
    t.same(schemesForKey(kc.key, TLS13), want.schemes, `${kind}: TLS 1.3 schemes`);
    const leaf = new crypto.X509Certificate(kc.chain[0]);
    for (const scheme of want.schemes) {
      for (const hashLen of [32, 48]) {
        const content = certificateVerifyContent13(crypto.randomBytes(hashLen));
        const sig = signByScheme(kc.key, scheme, content);
        t.ok(verifyByScheme(leaf.publicKey, scheme, content, sig), `${kind}: ${signatureSchemeByCode(scheme)!.name} verifies with the leaf (hash ${hashLen})`);
        // Independent check with plain crypto.verify, not our helper.
        const info = signatureSchemeByCode(scheme)!;
        const opts =
          info.kind === 'rsa-pss'
            ? { key: leaf.publicKey, padding: crypto.constants.RSA_PKCS1_PSS_PADDING, saltLength: info.hashLength }
            : info.kind === 'ecdsa'
              ? { key: leaf.publicKey, dsaEncoding: 'der' as const }
              : leaf.publicKey;
        t.ok(crypto.verify(info.hash, content, opts, sig), `${kind}: crypto.verify agrees`);
        const other = certificateVerifyContent13(crypto.randomBytes(hashLen));
        t.notOk(verifyByScheme(leaf.publicKey, scheme, other, sig), `${kind}: signature does not verify other content`);
      }
    }
  }
});

t.test('signed content is RFC 8446 4.4.3', async (t) => {
  const hash = Buffer.alloc(32, 0xab);
  const c = certificateVerifyContent13(hash);
  t.equal(c.length, 64 + 33 + 1 + 32);
  t.ok(c.subarray(0, 64).equals(Buffer.alloc(64, 0x20)));
  t.equal(c.subarray(64, 97).toString('latin1'), 'TLS 1.3, server CertificateVerify');
  t.equal(c[97], 0);
  t.ok(c.subarray(98).equals(hash));
  t.throws(() => certificateVerifyContent13(Buffer.alloc(20)));
});

t.test('PKCS#1 v1.5 and ECDSA with the wrong hash are never chosen in TLS 1.3', async (t) => {
  const rsa = parseKeyAndChain(fs.readFileSync(files.rsa)).key;
  const p256 = parseKeyAndChain(fs.readFileSync(files.p256)).key;
  t.equal(chooseScheme(rsa, TLS13, [0x0401, 0x0501, 0x0601, 0x0201]), undefined, 'rsa_pkcs1_* refused');
  t.equal(chooseScheme(rsa, TLS13, [0x0806, 0x0804]), 0x0806, "client's order among PSS schemes");
  t.equal(chooseScheme(rsa, TLS13, [0x0809, 0x0805]), 0x0805, 'rsa_pss_pss_* skipped for an rsaEncryption key');
  t.equal(chooseScheme(p256, TLS13, [0x0503, 0x0603]), undefined, 'P-256 only signs with SHA-256 in 1.3');
  t.equal(chooseScheme(p256, TLS13, [0x0807, 0x0403]), 0x0403);
  t.same(schemesForKey(rsa, 0x9999), []);
});

t.test('RSA keys too small for PSS-SHA512 do not offer it', async (t) => {
  const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 1024 });
  // EMSA-PSS with salt = hLen needs a 2*hLen+2 byte modulus: 128 bytes < 130 for SHA-512.
  t.same(schemesForKey(privateKey, TLS13), [0x0804, 0x0805]);
  t.equal(chooseScheme(privateKey, TLS13, [0x0806, 0x0805]), 0x0805);
});

t.test('selection walks candidates in order, first fit wins', async (t) => {
  const load = (kind: string) => ({ path: kind, ...parseKeyAndChain(fs.readFileSync(files[kind])) });
  const cands = [load('p256'), load('rsa'), load('ed25519')];
  t.equal(selectChain(cands, TLS13, [0x0804, 0x0403], ALL)?.candidate.path, 'p256', 'the first candidate that fits, not the client order');
  t.equal(selectChain(cands, TLS13, [0x0805], ALL)?.candidate.path, 'rsa');
  t.same(selectChain(cands, TLS13, [0x0807, 0x0805], ALL), { candidate: cands[1], scheme: 0x0805 }, 'rsa comes before ed25519');
  t.equal(selectChain(cands, TLS13, [0x0603], ALL), undefined);
  t.equal(selectChain(cands, TLS13, [], ALL), undefined);
  let parsed = 0;
  function* lazy() {
    for (const c of cands) {
      parsed++;
      yield c;
    }
  }
  selectChain(lazy(), TLS13, [0x0403], ALL);
  t.equal(parsed, 1, 'stops at the first fit (later files are not parsed)');
});

t.test('bad files', async (t) => {
  const read = (k: string) => fs.readFileSync(files[k], 'latin1');
  const keyOf = (k: string) => fs.readFileSync(path.join(dir, `${k}.key`), 'latin1');
  const crtOf = (k: string) => fs.readFileSync(path.join(dir, `${k}.crt`), 'latin1');
  const cases: [string, string, RegExp][] = [
    ['key/cert mismatch', keyOf('p256') + crtOf('p384'), /does not match/],
    ['rsa key with ec cert', keyOf('rsa') + crtOf('p256'), /does not match/],
    ['CA cert first', keyOf('p256') + fs.readFileSync(path.join(dir, 'ca.crt'), 'latin1') + crtOf('p256'), /does not match/],
    ['no key', crtOf('p256'), /no private key/],
    ['no cert', keyOf('p256'), /no certificate/],
    ['two keys', keyOf('p256') + keyOf('p384') + crtOf('p256'), /more than one/],
    ['garbage', 'hello world\n', /no private key/],
    ['empty', '', /no private key/],
    ['bad base64', '-----BEGIN PRIVATE KEY-----\n!!!!\n-----END PRIVATE KEY-----\n', /base64/],
    ['no END', keyOf('p256').replace(/-----END[^\n]*/, ''), /no END/],
    ['garbage key DER', '-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n' + crtOf('p256'), /unable to parse/],
    ['garbage cert DER', keyOf('p256') + '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n', /certificate/],
    ['truncated cert', keyOf('p256') + crtOf('p256').replace(/\n[A-Za-z0-9+/=]+\n-----END/, '\n-----END'), /certificate|base64/],
    ['encrypted key', '-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n' + crtOf('p256'), /encrypted/],
    ['legacy encrypted', '-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,00\n\nAAAA\n-----END RSA PRIVATE KEY-----\n', /headers/],
    ['binary noise', crypto.randomBytes(4096).toString('latin1'), /./],
  ];
  for (const [what, text, re] of cases) {
    t.throws(() => parseKeyAndChain(Buffer.from(text, 'latin1')), re, what);
    try {
      parseKeyAndChain(Buffer.from(text, 'latin1'));
    } catch (e) {
      t.ok(e instanceof PemError, `${what}: a PemError, not a crash (${(e as Error).message})`);
    }
  }
  t.ok(parseKeyAndChain(Buffer.from(read('p256').replace(/\n/g, '\r\n'), 'latin1')), 'CRLF line ends are fine');
});

t.test('decodeBase64: the bytes of base64 text, with line breaks, straight into a Buffer; anything else is refused', async (t) => {
  for (let n = 0; n < 70; n++) {
    const data = crypto.randomBytes(n);
    const wrapped = Buffer.from(data.toString('base64').replace(/.{64}/g, '$&\r\n') + '\n', 'latin1');
    t.same(decodeBase64(wrapped, 0, wrapped.length), data, `${n} bytes`);
  }
  const bytes = (s: string) => Buffer.from(s, 'latin1');
  t.same(decodeBase64(bytes('xxQUJDxx'), 2, 6), Buffer.from('ABC'), 'only the range given');
  for (const bad of ['QUJD=', 'QU=D', 'QUJ', 'QUJD====', 'QU*D', 'QUJD\0', 'Q=JD', 'QQ===']) t.equal(decodeBase64(bytes(bad), 0, bad.length), null, JSON.stringify(bad));
});
