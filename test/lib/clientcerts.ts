// Client certificates for -a (TLS client authentication), made with the
// openssl CLI, in the same per-process temp dir as certs.ts.
//
//   const c = clientCert({ keyType: 'p256', ca: 'rsa', intermediate: true });
//   spawn('bin/tlswrapper', ['-a', c.anchorFile, '-f', server.pem, 'prog'])
//   openssl s_client -cert c.chainFile -key c.keyFile ...   // or node: cert/key PEMs
//   c.leafDer, c.chainDer                                   // for peercert unit tests
//
// CAs: 'rsa' (RSA 2048 root) and 'ecdsa' (P-256 root), each with an
// intermediate (pathlen 0) and a "not a CA" intermediate (basicConstraints
// CA:FALSE, for negative tests); 'other' (P-256 root) is a CA nobody trusts.
// Leaves are signed with `openssl ca` and explicit start/end dates, so they
// can lie entirely in the past or in the future (openssl 3.0's `x509 -req`
// cannot backdate).
//
// Everything is cached per process (same options, same files) and removed
// when the process exits.
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { certsDir } from './certs';
import { runSync } from './sh';

export type ClientKeyType = 'rsa2048' | 'p256' | 'ed25519';
export type ClientCaName = 'rsa' | 'ecdsa' | 'other';

export interface ClientCA {
  name: ClientCaName;
  /** The root, PEM: the anchor file for -a. */
  caCert: string;
  caKey: string;
  /** Intermediate CA signed by the root (CA:TRUE, pathlen:0, keyCertSign). */
  interCert: string;
  interKey: string;
  /** An "intermediate" signed by the root that is not a CA (CA:FALSE, keyUsage keyCertSign). */
  notCaCert: string;
  notCaKey: string;
}

export interface ClientCertOptions {
  /** The leaf's key (default 'p256'). */
  keyType?: ClientKeyType;
  /** Which CA signs it (default 'ecdsa'). Ignored with selfSigned. */
  ca?: ClientCaName;
  /** Signed by the CA's intermediate, which goes into chainFile/chainDer (default false: by the root). */
  intermediate?: boolean;
  /** Signed by the CA's non-CA "intermediate" (basicConstraints CA:FALSE), which goes into the chain. */
  intermediateNotCA?: boolean;
  /** Self-signed leaf (its own anchorFile is the certificate itself), for pinning. */
  selfSigned?: boolean;
  /** openssl -subj, UTF-8 allowed (default '/CN=client'). */
  subject?: string;
  /** Validity entirely in the past (ended a day ago). */
  expired?: boolean;
  /** Validity entirely in the future (starts in a day). */
  notYetValid?: boolean;
  /** extendedKeyUsage (default 'clientAuth'; 'none': no extension). */
  eku?: 'clientAuth' | 'serverAuth' | 'none';
  /** keyUsage value for openssl (default 'critical,digitalSignature'; 'none': no extension). */
  keyUsage?: string;
  /** Digest the issuer signs with (default sha256; ignored for Ed25519 signers). */
  digest?: 'sha256' | 'sha1';
  /** Validity in days when neither expired nor notYetValid (default 30). */
  days?: number;
}

export interface ClientCert {
  /** Private key, PKCS#8 PEM. */
  keyFile: string;
  /** Leaf alone, PEM. */
  certFile: string;
  /** Leaf, then the intermediate if any (PEM): what the client sends. */
  chainFile: string;
  /** Key then chain in one PEM file. */
  combinedFile: string;
  /** The anchor file that trusts this certificate: its CA's root (or itself, when self-signed). */
  anchorFile: string;
  leafDer: Buffer;
  /** DER of what the client sends: leaf, then the intermediate if any. */
  chainDer: Buffer[];
  /** SHA-256 of the leaf's DER, lowercase hex. */
  leafSha256: string;
}

function genKey(type: ClientKeyType, file: string): void {
  const args: Record<ClientKeyType, string[]> = {
    rsa2048: ['-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048'],
    p256: ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-pkeyopt', 'ec_param_enc:named_curve'],
    ed25519: ['-algorithm', 'ED25519'],
  };
  runSync(['openssl', 'genpkey', ...args[type], '-out', file]);
}

const serial = () => '0x' + crypto.randomBytes(8).toString('hex').replace(/^./, '1');
const mkdir = (prefix: string) => {
  const d = fs.mkdtempSync(path.join(certsDir(), prefix));
  fs.chmodSync(d, 0o755);
  return d;
};

/** DER of each CERTIFICATE block of a PEM file. */
export function pemCertsDer(file: string): Buffer[] {
  const text = fs.readFileSync(file, 'utf8');
  const out: Buffer[] = [];
  for (const m of text.matchAll(/-----BEGIN CERTIFICATE-----([\s\S]*?)-----END CERTIFICATE-----/g)) {
    out.push(Buffer.from(m[1].replace(/\s+/g, ''), 'base64'));
  }
  return out;
}

const cas = new Map<ClientCaName, ClientCA>();
/** A client CA: root, intermediate, non-CA intermediate; made once per process. */
export function clientCA(name: ClientCaName): ClientCA {
  const have = cas.get(name);
  if (have) return have;
  const d = mkdir(`client-ca-${name}-`);
  const keyType: ClientKeyType = name === 'rsa' ? 'rsa2048' : 'p256';
  const caKey = path.join(d, 'ca.key'); const caCert = path.join(d, 'ca.pem');
  genKey(keyType, caKey);
  runSync(['openssl', 'req', '-x509', '-new', '-key', caKey, '-sha256', '-days', '3650',
    '-subj', `/O=tlswrapper tests/CN=Client Root ${name}`, '-set_serial', serial(),
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
    '-out', caCert]);
  const sub = (file: string, cn: string, ext: string): [string, string] => {
    const key = path.join(d, `${file}.key`); const cert = path.join(d, `${file}.pem`);
    const csr = path.join(d, `${file}.csr`); const extFile = path.join(d, `${file}.ext`);
    genKey(keyType, key);
    runSync(['openssl', 'req', '-new', '-key', key, '-sha256', '-subj', `/O=tlswrapper tests/CN=${cn}`, '-out', csr]);
    fs.writeFileSync(extFile, ext);
    runSync(['openssl', 'x509', '-req', '-in', csr, '-CA', caCert, '-CAkey', caKey, '-sha256',
      '-set_serial', serial(), '-days', '3650', '-extfile', extFile, '-out', cert]);
    return [cert, key];
  };
  const [interCert, interKey] = sub('inter', `Client Intermediate ${name}`,
    'basicConstraints=critical,CA:TRUE,pathlen:0\nkeyUsage=critical,keyCertSign,cRLSign\n' +
    'subjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n');
  const [notCaCert, notCaKey] = sub('notca', `Client Not A CA ${name}`,
    'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyCertSign\n' +
    'subjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n');
  const ca: ClientCA = { name, caCert, caKey, interCert, interKey, notCaCert, notCaKey };
  cas.set(name, ca);
  return ca;
}

/** The anchor file (root PEM) of one client CA. */
export function clientAnchorFile(name: ClientCaName = 'ecdsa'): string {
  return clientCA(name).caCert;
}

let combined: string | undefined;
/** One anchor file with both trusted client CAs ('rsa' then 'ecdsa'), some text around them. */
export function combinedAnchorFile(): string {
  if (combined) return combined;
  const file = path.join(mkdir('client-anchors-'), 'anchors.pem');
  fs.writeFileSync(file, 'RSA client CA\n' + fs.readFileSync(clientAnchorFile('rsa'), 'utf8') +
    '\nECDSA client CA\n' + fs.readFileSync(clientAnchorFile('ecdsa'), 'utf8'));
  combined = file;
  return file;
}

/** openssl ca date: YYYYMMDDHHMMSSZ. */
const caDate = (ms: number) => new Date(ms).toISOString().replace(/[-:T]/g, '').replace(/\.\d{3}Z$/, 'Z');

const leaves = new Map<string, ClientCert>();
/** A client key and certificate (see ClientCertOptions). */
export function clientCert(opts: ClientCertOptions = {}): ClientCert {
  const cacheKey = JSON.stringify(opts);
  const have = leaves.get(cacheKey);
  if (have) return have;
  const keyType = opts.keyType ?? 'p256';
  const d = mkdir(`client-${keyType}-`);
  const keyFile = path.join(d, 'key.pem'); const certFile = path.join(d, 'cert.pem');
  const chainFile = path.join(d, 'chain.pem'); const combinedFile = path.join(d, 'combined.pem');
  const csr = path.join(d, 'leaf.csr'); const extFile = path.join(d, 'leaf.ext');
  const subject = opts.subject ?? '/CN=client';
  genKey(keyType, keyFile);
  const ext = ['basicConstraints=critical,CA:FALSE', 'subjectKeyIdentifier=hash'];
  const ku = opts.keyUsage ?? 'critical,digitalSignature';
  if (ku !== 'none') ext.push(`keyUsage=${ku}`);
  const eku = opts.eku ?? 'clientAuth';
  if (eku !== 'none') ext.push(`extendedKeyUsage=${eku}`);
  const digest = opts.digest ?? 'sha256';
  const now = Date.now(); const day = 86400_000;
  const [start, end] = opts.expired ? [now - 30 * day, now - day]
    : opts.notYetValid ? [now + day, now + 30 * day]
      : [now - 3600_000, now + Math.max(1, opts.days ?? 30) * day];

  let anchorFile: string;
  let interFile: string | null = null;
  if (opts.selfSigned) {
    if (opts.expired || opts.notYetValid) throw new Error('clientCert: selfSigned cannot be expired or not yet valid');
    runSync(['openssl', 'req', '-x509', '-new', '-utf8', '-key', keyFile, ...(keyType === 'ed25519' ? [] : [`-${digest}`]),
      '-subj', subject, '-set_serial', serial(), '-days', String(Math.max(1, opts.days ?? 30)),
      ...ext.flatMap((e) => ['-addext', e]), '-out', certFile]);
    anchorFile = certFile;
  } else {
    const ca = clientCA(opts.ca ?? 'ecdsa');
    anchorFile = ca.caCert;
    const [signerCert, signerKey] = opts.intermediateNotCA ? [ca.notCaCert, ca.notCaKey]
      : opts.intermediate ? [ca.interCert, ca.interKey] : [ca.caCert, ca.caKey];
    if (opts.intermediate || opts.intermediateNotCA) interFile = signerCert;
    ext.push('authorityKeyIdentifier=keyid');
    fs.writeFileSync(extFile, ext.join('\n') + '\n');
    runSync(['openssl', 'req', '-new', '-utf8', '-key', keyFile, '-subj', subject, '-out', csr]);
    // A throwaway CA database: `openssl ca` is the only 3.0 way to set both dates.
    fs.writeFileSync(path.join(d, 'index.txt'), '');
    fs.writeFileSync(path.join(d, 'serial'), serial().slice(2) + '\n');
    const conf = path.join(d, 'ca.cnf');
    fs.writeFileSync(conf, [
      '[ca]', 'default_ca = ca_here',
      '[ca_here]', `dir = ${d}`, 'database = $dir/index.txt', 'new_certs_dir = $dir', 'serial = $dir/serial',
      `default_md = ${digest}`, 'policy = policy_any', 'unique_subject = no', 'email_in_dn = yes', 'copy_extensions = none',
      '[policy_any]', 'commonName = optional', '',
    ].join('\n'));
    runSync(['openssl', 'ca', '-batch', '-notext', '-preserveDN', '-utf8', '-config', conf, '-cert', signerCert, '-keyfile', signerKey,
      '-startdate', caDate(start), '-enddate', caDate(end), '-extfile', extFile, '-in', csr, '-out', certFile]);
  }
  const leafPem = fs.readFileSync(certFile, 'utf8');
  const chainPems = [leafPem, ...(interFile ? [fs.readFileSync(interFile, 'utf8')] : [])];
  fs.writeFileSync(chainFile, chainPems.join(''));
  fs.writeFileSync(combinedFile, fs.readFileSync(keyFile, 'utf8') + chainPems.join(''), { mode: 0o600 });
  const chainDer = pemCertsDer(chainFile);
  const leafDer = chainDer[0];
  const cert: ClientCert = {
    keyFile, certFile, chainFile, combinedFile, anchorFile, leafDer, chainDer,
    leafSha256: crypto.createHash('sha256').update(leafDer).digest('hex'),
  };
  leaves.set(cacheKey, cert);
  return cert;
}
