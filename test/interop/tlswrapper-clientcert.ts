// -a: client certificates end to end, through the real binary under tcpserver,
// with each real client (openssl s_client, gnutls-cli, Node tls) in TLS 1.3
// and 1.2. A good certificate (from the RSA CA, the ECDSA CA, or through an
// intermediate the client sends after its leaf) runs prog with
// SSL_CLIENT_VERIFY=SUCCESS and the leaf's SHA-256; an expired one, one from
// a CA not in the anchor file, one whose EKU allows only serverAuth, and none
// at all each get their alert, no prog output, and one log line with the
// reason at -v. The anchor file holds only the two roots, so the intermediate
// case succeeds only if the client's intermediate was used.
// Not the full cross product: every certificate kind with at least one client
// per version, every client with a success and a failure in each version.
import t, { type Test } from 'tap';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tls from 'node:tls';
import { leafCert } from '../lib/certs';
import { clientCA, clientCert, combinedAnchorFile, type ClientCert } from '../lib/clientcerts';
import { gnutlsClient, nodeTlsConnect, opensslClient, progs, type ClientResult, type TlsVersion } from '../lib/clients';
import { hasStackTrace, runDirect } from '../lib/direct';
import { ours } from '../lib/ours';
import { describe, waitFor } from '../lib/sh';
import { ENTRY_POINTS, serve, superServerMissing, type SuperServer } from '../lib/superserver';

t.setTimeout(120000);
const skip = superServerMissing('tcpserver') ?? false;
const server = leafCert('p256', ['localhost']);

// Both trusted client CAs (RSA, then ECDSA) in one -a file.
const anchors = combinedAnchorFile();
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tlswrapper-clientcert-'));
process.on('exit', () => fs.rmSync(tmp, { recursive: true, force: true }));

type Kind = 'rsa' | 'ecdsa' | 'intermediate' | 'expired' | 'other-ca' | 'server-eku' | 'none';
interface Client { cert: ClientCert; cn: string; subject: string; inter?: string | undefined }
function make(cn: string, o: Parameters<typeof clientCert>[0]): Client {
  const cert = clientCert({ ...o, subject: `/C=CZ/O=Example/CN=${cn}` });
  return { cert, cn, subject: `C=CZ, O=Example, CN=${cn}`, inter: o?.intermediate ? clientCA(o.ca ?? 'ecdsa').interCert : undefined };
}
const certs: Record<Exclude<Kind, 'none'>, Client> = {
  rsa: make('alice-rsa', { keyType: 'rsa2048', ca: 'rsa' }),
  ecdsa: make('alice-ec', { keyType: 'p256', ca: 'ecdsa' }),
  intermediate: make('alice-inter', { keyType: 'p256', ca: 'rsa', intermediate: true }),
  expired: make('alice-expired', { keyType: 'p256', ca: 'ecdsa', expired: true }),
  'other-ca': make('mallory', { keyType: 'p256', ca: 'other' }),
  'server-eku': make('alice-server', { keyType: 'rsa2048', ca: 'rsa', eku: 'serverAuth' }),
};

/**
 * What each failure looks like: the alert by OpenSSL's name, number and
 * gnutls' name, and the reason the log line gives after "TLS alert N sent: NAME: ".
 */
interface Failure { alert: string; number: number; gnutls: string; reason: RegExp }
const FAIL: Record<Exclude<Kind, 'rsa' | 'ecdsa' | 'intermediate'>, (v: TlsVersion) => Failure> = {
  none: (v) => (v === '1.3' ? { alert: 'certificate required', number: 116, gnutls: 'Certificate is required', reason: /client sent no certificate/ }
    : { alert: 'handshake failure', number: 40, gnutls: 'Handshake failed', reason: /client sent no certificate/ }),
  expired: () => ({ alert: 'certificate expired', number: 45, gnutls: 'Certificate is expired', reason: /"C=CZ, O=Example, CN=alice-expired".*expired/ }),
  'other-ca': () => ({ alert: 'unknown ca', number: 48, gnutls: 'CA is unknown',
    reason: /client certificate "C=CZ, O=Example, CN=mallory" has issuer "O=tlswrapper tests, CN=Client Root other", which is neither a trusted anchor nor in the chain/ }),
  'server-eku': () => ({ alert: 'unsupported certificate', number: 43, gnutls: '', reason: /"C=CZ, O=Example, CN=alice-server".*clientAuth/ }),
};

const sha256 = (der: Buffer) => createHash('sha256').update(der).digest('hex');
/** The first certificate of a PEM file, DER (read here, not taken from the helper). */
function leafDer(file: string): Buffer {
  const m = /-----BEGIN CERTIFICATE-----([\s\S]*?)-----END CERTIFICATE-----/.exec(fs.readFileSync(file, 'utf8'));
  return Buffer.from(m![1].replace(/\s+/g, ''), 'base64');
}

function envOf(text: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const line of text.split('\n')) {
    const i = line.indexOf('=');
    if (i > 0) m.set(line.slice(0, i), line.slice(i + 1));
  }
  return m;
}

/** prog's output for a good certificate: the client-certificate variables exact. */
function checkSuccess(t: Test, what: string, data: string, c: Client, version: TlsVersion): void {
  const env = envOf(data);
  const hex = sha256(leafDer(c.cert.certFile));
  t.equal(env.get('SSL_CLIENT_VERIFY'), 'SUCCESS', `${what}: SSL_CLIENT_VERIFY`, { output: data });
  t.equal(env.get('SSL_PEER_CERT_HASH'), `SHA256:${hex}`, `${what}: SSL_PEER_CERT_HASH is the leaf's`);
  t.equal(env.get('SHA256'), hex, `${what}: SHA256`);
  t.equal(env.get('SSL_PEER_CERT_CN'), c.cn, `${what}: SSL_PEER_CERT_CN`);
  t.equal(env.get('SSL_PEER_CERT_SUBJECT'), c.subject, `${what}: SSL_PEER_CERT_SUBJECT`);
  t.equal(env.get('SSL_PROTOCOL'), `TLSv${version}`, `${what}: SSL_PROTOCOL`);
}

interface Case { client: 'openssl' | 'gnutls' | 'node'; version: TlsVersion; kind: Kind }
const CASES: Case[] = [
  { client: 'openssl', version: '1.3', kind: 'rsa' },
  { client: 'openssl', version: '1.3', kind: 'other-ca' },
  { client: 'openssl', version: '1.3', kind: 'none' },
  { client: 'gnutls', version: '1.3', kind: 'ecdsa' },
  { client: 'gnutls', version: '1.3', kind: 'expired' },
  { client: 'node', version: '1.3', kind: 'intermediate' },
  { client: 'node', version: '1.3', kind: 'none' },
  { client: 'node', version: '1.3', kind: 'server-eku' },
  { client: 'openssl', version: '1.2', kind: 'intermediate' },
  { client: 'openssl', version: '1.2', kind: 'expired' },
  { client: 'gnutls', version: '1.2', kind: 'rsa' },
  { client: 'gnutls', version: '1.2', kind: 'other-ca' },
  { client: 'gnutls', version: '1.2', kind: 'none' },
  { client: 'node', version: '1.2', kind: 'ecdsa' },
  { client: 'node', version: '1.2', kind: 'none' },
  { client: 'node', version: '1.2', kind: 'server-eku' },
];

const pem = (f: string) => fs.readFileSync(f, 'utf8');

async function runCase(t: Test, s: SuperServer, k: Case): Promise<void> {
  const what = `${k.client} TLS ${k.version}, ${k.kind}`;
  const c = k.kind === 'none' ? null : certs[k.kind];
  const before = s.output().length;
  if (k.client === 'node') {
    const cert = c ? pem(c.cert.chainFile) : undefined;
    let data = '';
    let err: (Error & { code?: string }) | null = null;
    try {
      const n = await nodeTlsConnect({ port: s.port, caFile: server.caCert, tls: k.version, cert, key: c ? pem(c.cert.keyFile) : undefined });
      data = (await n.readToClose()).toString();
      err = n.error();
    } catch (e) {
      err = e as Error & { code?: string };
    }
    if (k.kind === 'rsa' || k.kind === 'ecdsa' || k.kind === 'intermediate') {
      t.equal(err, null, `${what}: no error`);
      checkSuccess(t, what, data, c!, k.version);
    } else {
      const f = FAIL[k.kind](k.version);
      t.equal(data, '', `${what}: no prog output`);
      const code = `ERR_SSL_${k.version === '1.3' && f.number === 116 ? 'TLSV13' : f.number === 48 ? 'TLSV1' : 'SSLV3'}_ALERT_${f.alert.toUpperCase().replace(/ /g, '_')}`;
      t.equal(err?.code, code, `${what}: node names the alert`, err ? { message: err.message } : {});
      await logLine(t, s, before, what, f);
    }
    return;
  }
  let r: ClientResult;
  if (k.client === 'openssl') {
    // -cert takes the leaf alone; the intermediate goes in -cert_chain.
    r = await opensslClient({ port: s.port, caFile: server.caCert, tls: k.version, certFile: c?.cert.certFile, keyFile: c?.cert.keyFile, chainFile: c?.inter });
  } else {
    r = await gnutlsClient({ port: s.port, caFile: server.caCert, tls: k.version, certFile: c?.cert.chainFile, keyFile: c?.cert.keyFile });
  }
  if (k.kind === 'rsa' || k.kind === 'ecdsa' || k.kind === 'intermediate') {
    t.equal(r.code, 0, `${what}: exit 0`, { client: describe(r) });
    checkSuccess(t, what, r.data, c!, k.version);
  } else {
    const f = FAIL[k.kind](k.version);
    t.equal(r.data, '', `${what}: no prog output`);
    t.not(r.code, 0, `${what}: the client fails`, { client: describe(r) });
    if (k.client === 'openssl') {
      t.match(r.err, new RegExp(`alert ${f.alert}:.*:SSL alert number ${f.number}\n`), `${what}: s_client shows the alert`, { client: describe(r) });
    } else {
      t.match(r.err, `*** Received alert [${f.number}]: ${f.gnutls}\n`, `${what}: gnutls-cli shows the alert`, { client: describe(r) });
    }
    await logLine(t, s, before, what, f);
  }
}

/** The one log line for this connection's failure: the alert by number and name, and the reason. */
async function logLine(t: Test, s: SuperServer, before: number, what: string, f: Failure): Promise<void> {
  const head = `tlswrapper: netproc: info: TLS alert ${f.number} sent: ${TLS_NAME[f.number]}: `;
  const lines = () => s.output().slice(before).split('\n').filter((l) => l.startsWith(head));
  await waitFor(() => lines().length > 0, 3000);
  t.equal(lines().length, 1, `${what}: one log line for the alert`, { output: s.output().slice(before) });
  t.match(lines()[0]?.slice(head.length), f.reason, `${what}: the log line says why`);
}
const TLS_NAME: Record<number, string> = { 40: 'handshake_failure', 43: 'unsupported_certificate', 45: 'certificate_expired', 48: 'unknown_ca', 116: 'certificate_required' };

for (const kind of ENTRY_POINTS) t.test(`each client, each version, each kind of client certificate through ${kind}`, { skip }, async (t) => {
  const s = await serve(t, kind, ours(['-v', '-a', anchors, '-f', server.pem, progs.env]));
  for (const k of CASES) await runCase(t, s, k);
  t.notOk(hasStackTrace(s.output()), 'no stack trace');
});

// The man page (CLIENT CERTIFICATES): "Each failure is logged with its reason at -v."
t.test('-v: the client certificate of a handshake, and a refused one with its reason', { skip }, async (t) => {
  const s = await serve(t, 'tcpserver', ours(['-v', '-a', anchors, '-f', server.pem, progs.env]));
  const good = certs.ecdsa;
  const ok = await gnutlsClient({ port: s.port, caFile: server.caCert, tls: '1.3', certFile: good.cert.chainFile, keyFile: good.cert.keyFile });
  t.equal(envOf(ok.data).get('SSL_CLIENT_VERIFY'), 'SUCCESS', 'prog ran', { client: describe(ok) });
  await waitFor(() => /client certificate/.test(s.output()), 2000);
  t.match(s.output(), `\ntlswrapper: info: client certificate: ${good.subject} SHA256:${sha256(leafDer(good.cert.certFile))}\n`,
    'the info line names the subject and the leaf\'s SHA-256', { output: s.output() });
  const c = certs['other-ca'].cert;
  const r = await opensslClient({ port: s.port, caFile: server.caCert, tls: '1.3', certFile: c.certFile, keyFile: c.keyFile });
  t.match(r.err, /alert unknown ca/, 'the client got unknown_ca');
  await waitFor(() => /mallory/.test(s.output()), 3000);
  t.match(s.output(), /\ntlswrapper: netproc: info: TLS alert 48 sent: unknown_ca: client certificate "C=CZ, O=Example, CN=mallory" has issuer /,
    'a log line with the reason at -v', { output: s.output() });
  t.notMatch(s.output(), /debug/, 'nothing at debug level', { output: s.output() });
});

t.test('a failed client certificate: prog never runs, exit 111', async (t) => {
  for (const version of ['1.3', '1.2'] as const) {
    const marker = path.join(tmp, `ran-${version}`);
    const run = await runDirect(['-v', '-a', anchors, '-f', server.pem, 'sh', '-c', `touch ${marker}; cat`], { deadlineMs: 20000 });
    const s = tls.connect({ socket: run.client, ca: pem(server.caCert), servername: 'localhost', minVersion: `TLSv${version}`, maxVersion: `TLSv${version}`,
      cert: pem(certs['other-ca'].cert.chainFile), key: pem(certs['other-ca'].cert.keyFile) });
    const err = await new Promise<Error & { code?: string }>((resolve) => s.on('error', resolve));
    const exit = await run.exit;
    t.equal(err.code, 'ERR_SSL_TLSV1_ALERT_UNKNOWN_CA', `TLS ${version}: unknown_ca`);
    t.equal(exit.code, 111, `TLS ${version}: exit 111 (${run.stderr().trim()})`);
    t.notOk(fs.existsSync(marker), `TLS ${version}: prog never ran`);
    t.match(run.stderr(), /^tlswrapper: netproc: info: TLS alert 48 sent: unknown_ca: client certificate "C=CZ, O=Example, CN=mallory" /m, 'the reason, at -v');
    t.notMatch(run.stderr(), /handshake done/, 'no handshake-done line');
    t.notOk(hasStackTrace(run.stderr()), 'no stack trace');
    s.destroy();
  }
});
