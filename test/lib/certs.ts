// Real certificates made with the openssl CLI, in a temp dir per test process.
//
//   const ca = testCA();                              // P-256 test root
//   const c = leafCert('ed25519', ['localhost']);     // key + leaf + CA in c.pem
//   spawn('bin/tlswrapper', ['-f', c.pem, 'cat'])     // clients trust c.caCert
//   searchMemory(pid, c.secrets)                      // raw private key bytes
//
// Everything is cached per process (same arguments → same files) and removed
// when the process exits.
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runSync } from './sh';

export type KeyType = 'rsa2048' | 'p256' | 'p384' | 'p521' | 'ed25519';
export const KEY_TYPES: readonly KeyType[] = ['rsa2048', 'p256', 'p384', 'p521', 'ed25519'];

export interface TestCA {
  keyType: KeyType;
  /** Self-signed root, PEM. Give this to clients (-CAfile, --cacert, ca:). */
  caCert: string;
  caKey: string;
  /** Intermediate CA (signed by the root), used for leaves made with `intermediate: true`. */
  interCert: string;
  interKey: string;
}

export interface LeafOptions {
  /** Sign the leaf with an intermediate and put the intermediate in the chain (default false: signed by the root). */
  intermediate?: boolean;
  /** Key encoding in the PEM: 'pkcs8' (BEGIN PRIVATE KEY, default) or 'traditional' (BEGIN RSA/EC PRIVATE KEY). */
  keyFormat?: 'pkcs8' | 'traditional';
  /** Put the root CA certificate at the end of the chain too (default true when no intermediate). */
  includeRoot?: boolean;
  /** Validity in days (at least 1). Default 30. */
  days?: number;
  /** The CA's key type (default 'p256'). */
  caKeyType?: KeyType;
}

export interface LeafCert {
  keyType: KeyType;
  names: string[];
  /** The combined file tlswrapper wants: private key, leaf certificate, then intermediate/CA. */
  pem: string;
  /** The root to trust. */
  caCert: string;
  /** Key alone (PEM), leaf alone (PEM), chain without key (PEM: leaf + intermediate/CA). */
  keyFile: string;
  certFile: string;
  chainFile: string;
  /** PEM text of the key as written in `pem`. */
  keyPem: string;
  /** PKCS#8 DER of the key. */
  keyDer: Buffer;
  /**
   * The raw secret numbers that must never appear outside keyproc: EC private
   * scalar d, Ed25519 seed, RSA d, p and q (big-endian, as in JWK).
   */
  secrets: Buffer[];
  /** SHA-256 of the leaf certificate's DER (for pinning checks). */
  leafSha256: string;
}

let workDir: string | undefined;
/** The per-process temp dir holding every generated file. */
export function certsDir(): string {
  if (!workDir) {
    workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tlswrapper-certs-'));
    // Readable by the jailed/unprivileged users of the program under test
    // only through the paths it is given (it reads the PEM as root anyway).
    fs.chmodSync(workDir, 0o755);
    const dir = workDir;
    process.on('exit', () => { try { fs.rmSync(dir, { recursive: true, force: true }); } catch { /* ignore */ } });
  }
  return workDir;
}

function genKey(type: KeyType, file: string): void {
  const args: Record<KeyType, string[]> = {
    rsa2048: ['-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048'],
    p256: ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-pkeyopt', 'ec_param_enc:named_curve'],
    p384: ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-384', '-pkeyopt', 'ec_param_enc:named_curve'],
    p521: ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-521', '-pkeyopt', 'ec_param_enc:named_curve'],
    ed25519: ['-algorithm', 'ED25519'],
  };
  runSync(['openssl', 'genpkey', ...args[type], '-out', file]);
}

const digestFor = (signer: KeyType) => (signer === 'ed25519' ? [] : ['-sha256']);
const serial = () => '0x' + crypto.randomBytes(8).toString('hex').replace(/^./, '1');

const cas = new Map<KeyType, TestCA>();
/** The test root CA (and an intermediate under it), made once per key type per process. */
export function testCA(keyType: KeyType = 'p256'): TestCA {
  const have = cas.get(keyType);
  if (have) return have;
  const d = path.join(certsDir(), `ca-${keyType}`);
  fs.mkdirSync(d, { recursive: true });
  const caKey = path.join(d, 'ca.key'); const caCert = path.join(d, 'ca.pem');
  genKey(keyType, caKey);
  runSync(['openssl', 'req', '-x509', '-new', '-key', caKey, ...digestFor(keyType), '-days', '3650',
    '-subj', `/O=tlswrapper tests/CN=Test Root ${keyType}`, '-set_serial', serial(),
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
    '-out', caCert]);
  const interKey = path.join(d, 'inter.key'); const interCert = path.join(d, 'inter.pem');
  const interCsr = path.join(d, 'inter.csr'); const ext = path.join(d, 'inter.ext');
  genKey(keyType, interKey);
  runSync(['openssl', 'req', '-new', '-key', interKey, ...digestFor(keyType),
    '-subj', `/O=tlswrapper tests/CN=Test Intermediate ${keyType}`, '-out', interCsr]);
  fs.writeFileSync(ext, 'basicConstraints=critical,CA:TRUE,pathlen:0\nkeyUsage=critical,keyCertSign,cRLSign\n' +
    'subjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n');
  runSync(['openssl', 'x509', '-req', '-in', interCsr, '-CA', caCert, '-CAkey', caKey, ...digestFor(keyType),
    '-set_serial', serial(), '-days', '3650', '-extfile', ext, '-out', interCert]);
  const ca: TestCA = { keyType, caCert, caKey, interCert, interKey };
  cas.set(keyType, ca);
  return ca;
}

function b64url(s: string | undefined): Buffer {
  if (!s) throw new Error('missing JWK field');
  return Buffer.from(s, 'base64url');
}

/** Raw secret numbers of a private key (see LeafCert.secrets). */
export function keySecrets(keyPem: string): Buffer[] {
  const jwk = crypto.createPrivateKey(keyPem).export({ format: 'jwk' });
  if (jwk.kty === 'RSA') return [b64url(jwk.d), b64url(jwk.p), b64url(jwk.q)];
  return [b64url(jwk.d)];
}

const leaves = new Map<string, LeafCert>();
/** A server key and certificate for `names` (DNS subjectAltNames; IPs allowed), signed by the test CA. */
export function leafCert(keyType: KeyType, names: string[] = ['localhost'], opts: LeafOptions = {}): LeafCert {
  const cacheKey = JSON.stringify([keyType, names, opts]);
  const have = leaves.get(cacheKey);
  if (have) return have;
  const ca = testCA(opts.caKeyType ?? 'p256');
  const d = fs.mkdtempSync(path.join(certsDir(), `leaf-${keyType}-`));
  fs.chmodSync(d, 0o755);
  const rawKey = path.join(d, 'raw.key'); const csr = path.join(d, 'leaf.csr'); const ext = path.join(d, 'leaf.ext');
  const keyFile = path.join(d, 'key.pem'); const certFile = path.join(d, 'cert.pem');
  const chainFile = path.join(d, 'chain.pem'); const pem = path.join(d, 'combined.pem');
  genKey(keyType, rawKey);
  if (opts.keyFormat === 'traditional' && keyType !== 'ed25519') {
    runSync(['openssl', 'pkey', '-in', rawKey, '-traditional', '-out', keyFile]);
  } else {
    fs.copyFileSync(rawKey, keyFile);
  }
  fs.rmSync(rawKey);
  const cn = names[0] ?? 'localhost';
  runSync(['openssl', 'req', '-new', '-key', keyFile, ...digestFor(keyType), '-subj', `/CN=${cn}`, '-out', csr]);
  const san = names.map((n) => (/^[0-9.]+$|:/.test(n) ? `IP:${n}` : `DNS:${n}`)).join(',');
  const ku = keyType === 'rsa2048' ? 'digitalSignature,keyEncipherment' : 'digitalSignature';
  fs.writeFileSync(ext, `basicConstraints=critical,CA:FALSE\nkeyUsage=critical,${ku}\nextendedKeyUsage=serverAuth,clientAuth\n` +
    `subjectAltName=${san}\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n`);
  const signerCert = opts.intermediate ? ca.interCert : ca.caCert;
  const signerKey = opts.intermediate ? ca.interKey : ca.caKey;
  const days = opts.days ?? 30;
  const validity = ['-days', String(Math.max(1, days))];
  runSync(['openssl', 'x509', '-req', '-in', csr, '-CA', signerCert, '-CAkey', signerKey,
    ...digestFor(ca.keyType), '-set_serial', serial(), ...validity, '-extfile', ext, '-out', certFile]);
  fs.rmSync(csr); fs.rmSync(ext);
  const keyPem = fs.readFileSync(keyFile, 'utf8');
  const leafPem = fs.readFileSync(certFile, 'utf8');
  const chain = [leafPem];
  if (opts.intermediate) chain.push(fs.readFileSync(ca.interCert, 'utf8'));
  if (opts.includeRoot ?? !opts.intermediate) chain.push(fs.readFileSync(ca.caCert, 'utf8'));
  fs.writeFileSync(chainFile, chain.join(''));
  fs.writeFileSync(pem, keyPem + chain.join(''), { mode: 0o600 });
  const keyDer = crypto.createPrivateKey(keyPem).export({ format: 'der', type: 'pkcs8' }) as Buffer;
  const leafSha256 = new crypto.X509Certificate(leafPem).fingerprint256;
  const leaf: LeafCert = {
    keyType, names, pem, caCert: ca.caCert, keyFile, certFile, chainFile, keyPem, keyDer,
    secrets: keySecrets(keyPem), leafSha256,
  };
  leaves.set(cacheKey, leaf);
  return leaf;
}

/**
 * A directory for `tlswrapper -d DIR`: one combined PEM per host name, the
 * file named after the name (as Debian's tlswrapper looks them up by SNI).
 */
export function certDir(hosts: Array<{ name: string; keyType: KeyType }>): { dir: string; caCert: string; leaves: Record<string, LeafCert> } {
  const dir = fs.mkdtempSync(path.join(certsDir(), 'certdir-'));
  fs.chmodSync(dir, 0o755);
  const out: Record<string, LeafCert> = {};
  for (const h of hosts) {
    const leaf = leafCert(h.keyType, [h.name]);
    fs.copyFileSync(leaf.pem, path.join(dir, h.name));
    out[h.name] = leaf;
  }
  return { dir, caCert: testCA().caCert, leaves: out };
}
