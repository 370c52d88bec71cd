// peercert/: anchors, chain verdicts and identities, on certificates made by
// the openssl CLI (test/lib/clientcerts.ts).
import t, { type Test } from 'tap';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { AnchorError, anchorsFromDer, parseAnchors, peerIdentity, verifyChain, warmUp, type Anchors } from '../../peercert';
import { escapeValue } from '../../peercert/names';
import { Alert } from '../../tls/tables';
import type { ChainVerdict } from '../../tls/api';
import { certsDir } from '../lib/certs';
import { clientAnchorFile, clientCA, clientCert, combinedAnchorFile, pemCertsDer } from '../lib/clientcerts';

const anchorsOf = (file: string) => parseAnchors(fs.readFileSync(file, 'utf8'));
const ECDSA = () => anchorsOf(clientAnchorFile('ecdsa'));
const RSA = () => anchorsOf(clientAnchorFile('rsa'));
const BOTH = () => anchorsOf(combinedAnchorFile());

function refused(t: Test, v: ChainVerdict, alert: number, reasonHas: RegExp | string, what: string): void {
  t.same(v.ok ? { ok: true } : { ok: false, alert: v.alert }, { ok: false, alert }, `${what}: alert ${alert}`);
  if (!v.ok) {
    t.match(v.reason, reasonHas, `${what}: reason`);
    t.match(v.reason, /^[\x20-\x7e]{1,300}$/, `${what}: reason is one printable ASCII line`);
  }
}

function accepted(t: Test, v: ChainVerdict, keyFile: string, what: string): void {
  t.equal(v.ok, true, `${what}: ok${v.ok ? '' : ` (${v.reason})`}`);
  if (!v.ok) return;
  const expected = crypto.createPublicKey(fs.readFileSync(keyFile, 'utf8'));
  t.equal(v.publicKey.asymmetricKeyType, expected.asymmetricKeyType, `${what}: key type`);
  t.ok(v.publicKey.equals(expected), `${what}: the leaf's public key`);
}

const pemOf = (der: Buffer) => `-----BEGIN CERTIFICATE-----\n${der.toString('base64').replace(/.{64}/g, '$&\n')}\n-----END CERTIFICATE-----\n`;

t.test('parseAnchors', async (t) => {
  const rsa = pemCertsDer(clientAnchorFile('rsa'))[0];
  const ecdsa = pemCertsDer(clientAnchorFile('ecdsa'))[0];
  const one = ECDSA();
  t.equal(one.ders.length, 1);
  t.ok(Buffer.from(one.ders[0]).equals(ecdsa), 'the anchor as given');
  t.equal(one.names.length, 1);
  t.equal(one.names[0][0], 0x30, 'a Name is a SEQUENCE');
  t.ok(ecdsa.indexOf(Buffer.from(one.names[0])) > 0, 'the subject Name is in the certificate');

  const two = BOTH(); // text around and between the blocks
  t.equal(two.ders.length, 2);
  t.ok(Buffer.from(two.ders[0]).equals(rsa) && Buffer.from(two.ders[1]).equals(ecdsa), 'both, in file order');
  t.notOk(Buffer.from(two.names[0]).equals(Buffer.from(two.names[1])), 'names differ');
  t.ok(Buffer.from(two.names[1]).equals(Buffer.from(one.names[0])), 'same name for the same anchor');

  const key = fs.readFileSync(clientCert().keyFile, 'utf8');
  t.equal(parseAnchors(`${key}junk\n${pemOf(ecdsa)}more junk`).ders.length, 1, 'a key block and junk are ignored');

  t.throws(() => parseAnchors(''), new AnchorError('no certificate in anchor file'));
  t.throws(() => parseAnchors(`just text\n${key}`), new AnchorError('no certificate in anchor file'), 'a key is no certificate');
  const broken = Buffer.from(ecdsa); broken[5] ^= 0xff;
  t.throws(() => parseAnchors(pemOf(rsa) + pemOf(broken.subarray(0, 100))),
    { name: 'AnchorError', message: /^certificate 2 in anchor file does not parse: / });
  let err: unknown;
  try { parseAnchors('x'); } catch (e) { err = e; }
  t.ok(err instanceof AnchorError && err instanceof Error, 'an AnchorError');

  const fromDer = anchorsFromDer([rsa, ecdsa]);
  t.same(fromDer.names.map((n) => Buffer.from(n).toString('hex')), two.names.map((n) => Buffer.from(n).toString('hex')), 'anchorsFromDer: same names');
  t.throws(() => anchorsFromDer([]), new AnchorError('no certificate in anchor file'));
  t.throws(() => anchorsFromDer([ecdsa, Buffer.from('nonsense')]), { message: /^certificate 2 in anchor file does not parse/ });
});

t.test('verifyChain: leaves of both CAs, every key type', async (t) => {
  for (const ca of ['rsa', 'ecdsa'] as const) {
    for (const keyType of ['rsa2048', 'p256', 'ed25519'] as const) {
      const c = clientCert({ ca, keyType });
      const what = `${keyType} leaf of the ${ca} CA`;
      accepted(t, verifyChain(c.chainDer, anchorsOf(c.anchorFile)), c.keyFile, what);
      accepted(t, verifyChain(c.chainDer, BOTH()), c.keyFile, `${what}, both anchors`);
      const wrong = ca === 'rsa' ? ECDSA() : RSA();
      refused(t, verifyChain(c.chainDer, wrong), Alert.unknownCa, /has issuer "O=tlswrapper tests, CN=Client Root/, `${what}, other anchor`);
    }
  }
});

t.test('verifyChain: intermediates', async (t) => {
  for (const ca of ['rsa', 'ecdsa'] as const) {
    const c = clientCert({ ca, intermediate: true });
    t.equal(c.chainDer.length, 2);
    accepted(t, verifyChain(c.chainDer, BOTH()), c.keyFile, `${ca}: in order`);
    const root = pemCertsDer(clientCA(ca).caCert)[0];
    accepted(t, verifyChain([c.leafDer, root, c.chainDer[1]], BOTH()), c.keyFile, `${ca}: root too, unordered`);
    refused(t, verifyChain([c.leafDer], BOTH()), Alert.unknownCa,
      `client certificate "CN=client" has issuer "O=tlswrapper tests, CN=Client Intermediate ${ca}"`, `${ca}: intermediate missing`);
    // The intermediate verifies the leaf, but its own issuer is no anchor: unknown_ca, not a bad signature.
    const otherRoot = anchorsOf(clientCA(ca === 'rsa' ? 'ecdsa' : 'rsa').caCert);
    refused(t, verifyChain(c.chainDer, otherRoot), Alert.unknownCa,
      `intermediate "O=tlswrapper tests, CN=Client Intermediate ${ca}" has issuer "O=tlswrapper tests, CN=Client Root ${ca}", which is neither a trusted anchor nor in the chain`, `${ca}: intermediate's root not trusted`);
  }
  // Reversed: the leaf must come first; intermediates in any order after it.
  const c = clientCert({ intermediate: true });
  const other = clientCert({ ca: 'rsa', intermediate: true });
  accepted(t, verifyChain([c.leafDer, other.chainDer[1], c.chainDer[1]], BOTH()), c.keyFile, 'an unrelated intermediate first');
  refused(t, verifyChain([c.chainDer[1], c.leafDer], BOTH()), Alert.unsupportedCertificate, /intermediate|keyUsage/,
    'reversed: the intermediate taken as the leaf');
});

t.test('verifyChain: untrusted CA', async (t) => {
  const c = clientCert({ ca: 'other' });
  refused(t, verifyChain(c.chainDer, BOTH()), Alert.unknownCa, 'has issuer "O=tlswrapper tests, CN=Client Root other"', 'other CA');
  accepted(t, verifyChain(c.chainDer, anchorsOf(c.anchorFile)), c.keyFile, 'other CA, trusted');
});

t.test('verifyChain: dates', async (t) => {
  const expired = clientCert({ expired: true, subject: '/CN=alice' });
  refused(t, verifyChain(expired.chainDer, ECDSA()), Alert.certificateExpired,
    /^client certificate "CN=alice" expired on \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/, 'expired');
  const future = clientCert({ notYetValid: true, ca: 'rsa', intermediate: true });
  refused(t, verifyChain(future.chainDer, RSA()), Alert.certificateExpired, /is not valid before/, 'not yet valid');
  const good = clientCert();
  const end = new Date(execFileSync('openssl', ['x509', '-in', good.certFile, '-noout', '-enddate'], { encoding: 'utf8' }).trim().replace(/^notAfter=/, ''));
  accepted(t, verifyChain(good.chainDer, ECDSA(), new Date(end.getTime() - 1000)), good.keyFile, 'a second before notAfter');
  refused(t, verifyChain(good.chainDer, ECDSA(), new Date(end.getTime() + 1000)), Alert.certificateExpired, 'expired on', 'a second after notAfter');
  // The intermediate's dates count too (3650 days from now).
  const inter = clientCert({ intermediate: true, days: 5000 });
  refused(t, verifyChain(inter.chainDer, ECDSA(), new Date(Date.now() + 4000 * 86400_000)), Alert.certificateExpired,
    /^intermediate "O=tlswrapper tests, CN=Client Intermediate ecdsa" expired on/, 'intermediate expired');
});

t.test('verifyChain: key usages', async (t) => {
  const server = clientCert({ eku: 'serverAuth' });
  refused(t, verifyChain(server.chainDer, ECDSA()), Alert.unsupportedCertificate, 'extendedKeyUsage does not allow clientAuth', 'serverAuth only');
  accepted(t, verifyChain(clientCert({ eku: 'none' }).chainDer, ECDSA()), clientCert({ eku: 'none' }).keyFile, 'no EKU');
  const enc = clientCert({ keyType: 'rsa2048', keyUsage: 'critical,keyEncipherment' });
  refused(t, verifyChain(enc.chainDer, ECDSA()), Alert.unsupportedCertificate, 'keyUsage lacks digitalSignature', 'no digitalSignature');
  const noKu = clientCert({ keyUsage: 'none' });
  accepted(t, verifyChain(noKu.chainDer, ECDSA()), noKu.keyFile, 'no keyUsage');
});

t.test('verifyChain: an intermediate that is not a CA', async (t) => {
  const c = clientCert({ intermediateNotCA: true });
  t.equal(c.chainDer.length, 2);
  refused(t, verifyChain(c.chainDer, ECDSA()), Alert.badCertificate,
    'intermediate "O=tlswrapper tests, CN=Client Not A CA ecdsa" is not a CA', 'CA:FALSE intermediate');
});

// A certificate signed by `signer` with the given extensions (openssl x509 -req), for the odd cases.
function signed(name: string, signer: { cert: string; key: string }, ext: string): { cert: string; key: string; der: Buffer } {
  const dir = fs.mkdtempSync(path.join(certsDir(), 'odd-'));
  const key = path.join(dir, 'k.pem'); const csr = path.join(dir, 'c.csr'); const extFile = path.join(dir, 'ext');
  const cert = path.join(dir, 'c.pem');
  execFileSync('openssl', ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', key]);
  execFileSync('openssl', ['req', '-new', '-key', key, '-subj', `/CN=${name}`, '-out', csr]);
  fs.writeFileSync(extFile, ext);
  execFileSync('openssl', ['x509', '-req', '-in', csr, '-CA', signer.cert, '-CAkey', signer.key, '-sha256',
    '-days', '30', '-extfile', extFile, '-out', cert], { stdio: 'pipe' });
  return { cert, key, der: pemCertsDer(cert)[0] };
}
const CA_EXT = 'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign\n';
const LEAF_EXT = 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n';

t.test('verifyChain: pathLenConstraint, keyCertSign, critical extensions', async (t) => {
  const ca = clientCA('ecdsa');
  const a = ECDSA();
  const root = { cert: ca.caCert, key: ca.caKey };
  const inter = { cert: ca.interCert, key: ca.interKey }; // pathlen:0
  const interDer = pemCertsDer(ca.interCert)[0];
  // root -> inter (pathlen 0) -> second -> leaf: one intermediate too many below inter.
  const second = signed('second', inter, CA_EXT);
  const deep = signed('deep', second, LEAF_EXT);
  refused(t, verifyChain([deep.der, second.der, interDer], a), Alert.badCertificate,
    'intermediate "O=tlswrapper tests, CN=Client Intermediate ecdsa" allows 0 intermediates below it, the path has 1', 'pathlen 0 exceeded');
  // The same shape under a root without pathlen passes.
  const free = signed('free', root, CA_EXT);
  const second2 = signed('second2', free, CA_EXT);
  const deep2 = signed('deep2', second2, LEAF_EXT);
  accepted(t, verifyChain([deep2.der, free.der, second2.der], a), deep2.key, 'two intermediates without pathlen');

  const noSign = signed('no keyCertSign', root, 'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,digitalSignature\n');
  const under = signed('under', noSign, LEAF_EXT);
  refused(t, verifyChain([under.der, noSign.der], a), Alert.badCertificate, 'keyUsage lacks keyCertSign', 'CA without keyCertSign');

  const nc = signed('constrained', root, CA_EXT + 'nameConstraints=critical,permitted;DNS:example.com\n');
  const ncLeaf = signed('constrained leaf', nc, LEAF_EXT);
  refused(t, verifyChain([ncLeaf.der, nc.der], a), Alert.unsupportedCertificate, 'critical nameConstraints, which are not implemented', 'nameConstraints');
  const ncSoft = signed('soft', root, CA_EXT + 'nameConstraints=permitted;DNS:example.com\n');
  const ncSoftLeaf = signed('soft leaf', ncSoft, LEAF_EXT);
  accepted(t, verifyChain([ncSoftLeaf.der, ncSoft.der], a), ncSoftLeaf.key, 'non-critical nameConstraints are ignored');

  const odd = signed('odd', root, LEAF_EXT + '1.2.3.4=critical,ASN1:NULL\n');
  refused(t, verifyChain([odd.der], a), Alert.unsupportedCertificate, 'unknown critical extension 1.2.3.4', 'unknown critical extension');
  const oddSoft = signed('odd soft', root, LEAF_EXT + '1.2.3.4=ASN1:NULL\n');
  accepted(t, verifyChain([oddSoft.der], a), oddSoft.key, 'unknown non-critical extension');
});

t.test('verifyChain: signatures', async (t) => {
  const c = clientCert({ ca: 'rsa' });
  const tampered = Buffer.from(c.leafDer);
  tampered[tampered.length - 1] ^= 0x01; // the last byte of the RSA signature
  t.doesNotThrow(() => peerIdentity(tampered), 'still parses');
  refused(t, verifyChain([tampered], RSA()), Alert.badCertificate, 'does not verify', 'flipped signature bit');
  accepted(t, verifyChain(c.chainDer, RSA()), c.keyFile, 'untampered');

  const sha1 = clientCert({ ca: 'rsa', digest: 'sha1' });
  refused(t, verifyChain(sha1.chainDer, RSA()), Alert.badCertificate, 'weak algorithm', 'SHA-1 signature');
});

t.test('verifyChain: malformed input', async (t) => {
  const a = ECDSA();
  refused(t, verifyChain([Buffer.from('garbage that is no DER')], a), Alert.badCertificate, 'client certificate does not parse', 'garbage');
  refused(t, verifyChain([Buffer.alloc(0)], a), Alert.badCertificate, 'does not parse', 'empty DER');
  const c = clientCert({ intermediate: true });
  refused(t, verifyChain([c.leafDer, Buffer.from([0x30, 0x03, 0x02, 0x01, 0x00])], a), Alert.badCertificate,
    "certificate 2 of the client's chain does not parse", 'garbage intermediate');
  const eleven = [c.leafDer, ...Array.from({ length: 10 }, () => c.chainDer[1])];
  refused(t, verifyChain(eleven, a), Alert.badCertificate, 'client sent 11 certificates, at most 10', '11 certificates');
  accepted(t, verifyChain(eleven.slice(0, 10), a), c.keyFile, '10 certificates (the intermediate 9 times)');
  refused(t, verifyChain([], a), Alert.certificateRequired, 'no client certificate', 'empty chain');
});

t.test('verifyChain: a pinned self-signed leaf', async (t) => {
  const c = clientCert({ selfSigned: true, keyType: 'ed25519', subject: '/CN=pinned' });
  t.equal(c.anchorFile, c.certFile);
  accepted(t, verifyChain(c.chainDer, anchorsOf(c.anchorFile)), c.keyFile, 'pinned');
  const withCAs = parseAnchors(fs.readFileSync(combinedAnchorFile(), 'utf8') + fs.readFileSync(c.certFile, 'utf8'));
  accepted(t, verifyChain(c.chainDer, withCAs), c.keyFile, 'pinned among CAs');
  refused(t, verifyChain(c.chainDer, BOTH()), Alert.unknownCa, 'has issuer "CN=pinned"', 'not pinned');
  refused(t, verifyChain(c.chainDer, withCAs, new Date(Date.now() + 60 * 86400_000)), Alert.certificateExpired, 'expired on', 'pinned, dates still checked');
});

t.test('verifyChain: Anchors made elsewhere, and warmUp', async (t) => {
  const c = clientCert();
  const plain: Anchors = { names: [], ders: [pemCertsDer(clientAnchorFile('ecdsa'))[0]] };
  accepted(t, verifyChain(c.chainDer, plain), c.keyFile, 'a plain object');
  const broken: Anchors = { names: [], ders: [Buffer.from('no')] };
  refused(t, verifyChain(c.chainDer, broken), Alert.internalError, 'check failed', 'never throws');
  const a = BOTH();
  t.doesNotThrow(() => warmUp(a));
  accepted(t, verifyChain(c.chainDer, a), c.keyFile, 'after warmUp');
});

t.test('peerIdentity', async (t) => {
  const c = clientCert({ subject: '/C=CZ/O=Example, Inc/CN=Žluťoučký kůň/emailAddress=alice@example.com' });
  const der = execFileSync('openssl', ['x509', '-in', c.certFile, '-outform', 'der']);
  const sum = execFileSync('sha256sum', { input: der, encoding: 'utf8' }).split(' ')[0];
  const id = peerIdentity(c.leafDer);
  t.equal(id.sha256, sum, 'sha256 as sha256sum');
  t.match(id.sha256, /^[0-9a-f]{64}$/);
  t.equal(id.subject, 'C=CZ, O=Example\\, Inc, CN=Žluťoučký kůň, emailAddress=alice@example.com');
  t.same(id.commonNames, ['Žluťoučký kůň']);
  t.same(id.emailAddresses, ['alice@example.com']);

  // A multi-valued RDN (a DER SET: CN sorts before UID), and every character RFC 4514 escapes.
  const multi = peerIdentity(clientCert({ subject: '/DC=org/DC=example/CN=a\\+b+UID=u1/CN= x#;"<>\\\\ /OU=1.2.3' }).leafDer);
  t.equal(multi.subject, 'DC=org, DC=example, CN=a\\+b+UID=u1, CN=\\ x#\\;\\"\\<\\>\\\\\\ , OU=1.2.3');
  t.same(multi.commonNames, ['a+b', ' x#;"<>\\ ']);
  t.same(multi.emailAddresses, []);
});

t.test('peerIdentity: control characters', async (t) => {
  // openssl -subj cannot carry a control character; a config file can.
  const dir = fs.mkdtempSync(path.join(certsDir(), 'ctl-'));
  const key = path.join(dir, 'k.pem'); const cert = path.join(dir, 'c.pem'); const cnf = path.join(dir, 'req.cnf');
  execFileSync('openssl', ['genpkey', '-algorithm', 'ED25519', '-out', key]);
  fs.writeFileSync(cnf, '[req]\ndistinguished_name = dn\nprompt = no\nutf8 = yes\nstring_mask = utf8only\n[dn]\nCN = bad\x01name\n1.CN = \\#good\n');
  execFileSync('openssl', ['req', '-x509', '-new', '-key', key, '-config', cnf, '-days', '1', '-out', cert], { stdio: 'pipe' });
  const id = peerIdentity(pemCertsDer(cert)[0]);
  t.equal(id.subject, 'CN=bad\\01name, CN=\\#good');
  t.same(id.commonNames, [null, '#good'], 'the value with a control character is there, unusable');
  t.notMatch(id.subject, /[\x00-\x1f\x7f]/);
});

t.test('escapeValue', async (t) => {
  t.equal(escapeValue(''), '');
  t.equal(escapeValue(' a b '), '\\ a b\\ ');
  t.equal(escapeValue(' '), '\\ ');
  t.equal(escapeValue('#x#'), '\\#x#');
  t.equal(escapeValue('a=b,c+d;e<f>g"h\\i'), 'a\\=b\\,c\\+d\\;e\\<f\\>g\\"h\\\\i');
  t.equal(escapeValue('a\nb\x00\x7f\u0085\u202e'), 'a\\0Ab\\00\\7F\\C2\\85\\E2\\80\\AE');
  t.equal(escapeValue('Žluť'), 'Žluť');
});
