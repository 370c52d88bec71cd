// prog's environment, exact and complete: under each real super-server
// (tcpserver, busybox tcpsvd, systemd-socket-activate), with -a and a client
// certificate and without -a, and behind PROXY v1 and v2 headers, prog
// (print-env.sh) sees exactly the super-server's own variables, what was
// passed in, and ours: PROTO, TCP{LOCAL,REMOTE}{IP,PORT}, SSL_PROTOCOL,
// SSL_CIPHER, SSL_TLS_SNI_SERVERNAME (unset without SNI), SSL_CLIENT_VERIFY
// (SUCCESS with -a, NONE without) and, with -a, SSL_PEER_CERT_HASH, SHA256,
// SSL_PEER_CERT_SUBJECT, SSL_PEER_CERT_CN. Inherited copies of our variables
// never reach prog.
import t, { type Test } from 'tap';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { leafCert } from '../lib/certs';
import { clientCert, combinedAnchorFile } from '../lib/clientcerts';
import { nodeTlsConnect, progs, tlsAfterRawBytes, type TlsVersion } from '../lib/clients';
import { hasStackTrace } from '../lib/direct';
import { NO_TAP_LOADER, TLSWRAPPER } from '../lib/ours';
import { ENTRY_POINTS, SUPER_SERVERS, serve, superServerMissing, type SuperServer, type SuperServerKind } from '../lib/superserver';

t.setTimeout(120000);
const server = leafCert('p256', ['localhost', 'env.test']);
const anchors = combinedAnchorFile();
const client = clientCert({ ca: 'rsa', keyType: 'p256', intermediate: true, subject: '/C=CZ/O=Example/CN=alice' });
const pem = (f: string) => fs.readFileSync(f, 'utf8');
const ca = pem(server.caCert);
const cert = pem(client.chainFile);
const key = pem(client.keyFile);

/** SHA-256 of the first certificate in the client's PEM file, computed here. */
const HEX = createHash('sha256').update(Buffer.from(/-----BEGIN CERTIFICATE-----([\s\S]*?)-----END/.exec(cert)![1].replace(/\s+/g, ''), 'base64')).digest('hex');
const PEER = {
  SSL_CLIENT_VERIFY: 'SUCCESS', SSL_PEER_CERT_HASH: `SHA256:${HEX}`, SHA256: HEX,
  SSL_PEER_CERT_SUBJECT: 'C=CZ, O=Example, CN=alice', SSL_PEER_CERT_CN: 'alice',
};
const CIPHER: Record<TlsVersion, string> = { '1.3': 'TLS_CHACHA20_POLY1305_SHA256', '1.2': 'ECDHE-ECDSA-CHACHA20-POLY1305' };

/** The super-server's environment: nothing but PATH, so prog's is all accounted for. */
const ENV = { PATH: '/usr/bin:/bin' };
/** Passed in between super-server and tlswrapper: one of the rest, and spoofed copies of ours. */
const INHERITED = ['FOO=bar baz', 'SSL_CLIENT_VERIFY=SUCCESS', 'SSL_PEER_CERT_HASH=SHA256:00', 'SHA256=00',
  'SSL_PEER_CERT_SUBJECT=CN=root', 'SSL_PEER_CERT_CN=root', 'SSL_PROTOCOL=SSLv3', 'SSL_TLS_SNI_SERVERNAME=spoofed'];

function argv(args: string[]): string[] {
  return [...NO_TAP_LOADER, ...INHERITED, TLSWRAPPER, ...args, '-f', server.pem, progs.env];
}

/**
 * prog's environment as print-env.sh showed it, less tap's own bookkeeping:
 * tap's process-info hook adds _TAPJS_PROCESSINFO_* to every process a test
 * starts (the super-server here), whatever env says.
 */
function envOf(text: string): Record<string, string> {
  const m: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const i = line.indexOf('=');
    if (i > 0 && !line.startsWith('_TAPJS_PROCESSINFO_')) m[line.slice(0, i)] = line.slice(i + 1);
  }
  return m;
}

/** What the super-server itself adds, beyond PROTO and TCP{LOCAL,REMOTE}{IP,PORT}. */
function superServerOwn(kind: SuperServerKind, localPort: number, remotePort: number): Record<string, string> {
  switch (kind) {
    case 'tcpserver': return { TCPLOCALHOST: '0' }; // -l0; -H -R: no remote host or info
    case 'tcpsvd': return { TCPLOCALADDR: `127.0.0.1:${localPort}`, TCPREMOTEADDR: `127.0.0.1:${remotePort}` };
    case 'systemd-socket-activate': return {};
    case 'tlswrapper-server': return {};
  }
}

async function envVia(t: Test, s: SuperServer, version: TlsVersion, sni: string | null, withCert: boolean): Promise<{ env: Record<string, string>; port: number }> {
  const n = await nodeTlsConnect({ port: s.port, ca: sni ? ca : undefined, servername: sni ?? '', tls: version,
    cert: withCert ? cert : undefined, key: withCert ? key : undefined });
  const port = n.socket.localPort!;
  const env = envOf((await n.readToClose()).toString());
  t.equal(n.error(), null, `TLS ${version}: no error after the handshake`);
  return { env, port };
}

for (const kind of [...SUPER_SERVERS, 'tlswrapper-server'] as const) {
  t.test(`${kind}: prog's environment, exact`, { skip: superServerMissing(kind) ?? false }, async (t) => {
    const withA = await serve(t, kind, argv(['-a', anchors]), { env: ENV, cwd: '/' });
    const withoutA = await serve(t, kind, argv([]), { env: ENV, cwd: '/' });
    const common = (s: SuperServer, port: number, version: TlsVersion) => ({
      ...ENV, PWD: '/', FOO: 'bar baz', ...superServerOwn(kind, s.port, port),
      PROTO: 'TCP', TCPLOCALIP: '127.0.0.1', TCPLOCALPORT: String(s.port), TCPREMOTEIP: '127.0.0.1', TCPREMOTEPORT: String(port),
      SSL_PROTOCOL: `TLSv${version}`, SSL_CIPHER: CIPHER[version],
    });
    for (const [version, sni] of [['1.3', 'env.test'], ['1.2', null]] as const) {
      const { env, port } = await envVia(t, withA, version, sni, true);
      t.same(env, { ...common(withA, port, version), ...(sni ? { SSL_TLS_SNI_SERVERNAME: sni } : {}), ...PEER },
        `-a, TLS ${version}, ${sni ? 'SNI' : 'no SNI'}: exactly this`);
    }
    const { env, port } = await envVia(t, withoutA, '1.3', 'localhost', false);
    t.same(env, { ...common(withoutA, port, '1.3'), SSL_TLS_SNI_SERVERNAME: 'localhost', SSL_CLIENT_VERIFY: 'NONE' },
      'without -a: SSL_CLIENT_VERIFY=NONE and no certificate variables');
    t.notOk(hasStackTrace(withA.output() + withoutA.output()), 'no stack trace');
  });
}

// ---------------------------------------------------------------- PROXY headers

const SIG = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);
const u16 = (n: number) => [n >> 8, n & 255];
function v2(src: number[], dst: number[], sport: number, dport: number): Buffer {
  const body = [...src, ...dst, ...u16(sport), ...u16(dport)];
  return Buffer.from([...SIG, 0x21, src.length === 4 ? 0x11 : 0x21, ...u16(body.length), ...body]);
}

/** TCP, the header, then Node tls with the client certificate over the same socket; prog's environment. */
async function viaProxy(port: number, header: Buffer): Promise<Record<string, string>> {
  return envOf(await tlsAfterRawBytes(port, [header], { ca, servername: 'localhost', cert, key }));
}

const ip6 = (last: number) => [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, last];
const proxySkip = superServerMissing('tcpserver') ?? false;
for (const [version, header, addrs] of [
  ['1', Buffer.from('PROXY TCP4 192.0.2.10 198.51.100.20 40001 443\r\n'),
    { TCPLOCALIP: '198.51.100.20', TCPLOCALPORT: '443', TCPREMOTEIP: '192.0.2.10', TCPREMOTEPORT: '40001' }],
  ['2', v2(ip6(5), ip6(6), 50000, 8443),
    { TCPLOCALIP: '2001:db8::6', TCPLOCALPORT: '8443', TCPREMOTEIP: '2001:db8::5', TCPREMOTEPORT: '50000' }],
] as const) {
  for (const kind of ENTRY_POINTS) {
    t.test(`-p ${version} -a through ${kind}: prog's environment, exact`, { skip: superServerMissing(kind) ?? proxySkip }, async (t: Test) => {
      const s = await serve(t, kind, argv(['-p', version, '-a', anchors]), { env: ENV, cwd: '/' });
      const env = await viaProxy(s.port, header);
      t.same(env, {
        ...ENV, PWD: '/', FOO: 'bar baz', ...(kind === 'tcpserver' ? { TCPLOCALHOST: '0' } : {}), PROTO: 'TCP', ...addrs,
        SSL_PROTOCOL: 'TLSv1.3', SSL_CIPHER: CIPHER['1.3'], SSL_TLS_SNI_SERVERNAME: 'localhost', ...PEER,
      }, 'the header\'s addresses, the certificate\'s variables, nothing else');
      t.notOk(hasStackTrace(s.output()), 'no stack trace');
    });
  }
}

// SSL_PEER_CERT_SUBJECT in RFC 4514 form (special characters escaped, a
// multi-valued RDN joined with '+', control characters as \XX) and
// SSL_PEER_CERT_CN, the last commonName; a commonName with a control
// character is never given raw (peercert leaves it out: no SSL_PEER_CERT_CN).
t.test('subject escaping and the commonName', { skip: proxySkip }, async (t) => {
  const s = await serve(t, 'tcpserver', argv(['-a', anchors]), { env: ENV, cwd: '/' });
  for (const [subject, want] of [
    ['/O=A\\, B/CN=x+UID=y', { SSL_PEER_CERT_SUBJECT: 'O=A\\, B, CN=x+UID=y', SSL_PEER_CERT_CN: 'x' }],
    ['/CN=first/OU=#hash/CN=q"uote;semi<gt>', { SSL_PEER_CERT_SUBJECT: 'CN=first, OU=\\#hash, CN=q\\"uote\\;semi\\<gt\\>', SSL_PEER_CERT_CN: 'q"uote;semi<gt>' }],
    ['/CN=tab\there', { SSL_PEER_CERT_SUBJECT: 'CN=tab\\09here' }],
    // Issue 12: the same rule for the commonName as for the subject: no raw
    // right-to-left override or line separator reaches prog.
    ['/CN=abc\u202egnp.exe', { SSL_PEER_CERT_SUBJECT: 'CN=abc\\E2\\80\\AEgnp.exe' }],
    ['/CN=line\u2028two', { SSL_PEER_CERT_SUBJECT: 'CN=line\\E2\\80\\A8two' }],
  ] as const) {
    const c = clientCert({ ca: 'ecdsa', subject });
    const n = await nodeTlsConnect({ port: s.port, ca, tls: '1.3', cert: pem(c.chainFile), key: pem(c.keyFile) });
    const env = envOf((await n.readToClose()).toString());
    t.same(Object.fromEntries(Object.entries(env).filter(([k]) => k.startsWith('SSL_PEER_CERT_') && k !== 'SSL_PEER_CERT_HASH')), want, subject.replace(/[^\x20-\x7e]/gu, (c) => `\\u{${c.codePointAt(0)!.toString(16)}}`));
  }
});

// Issue 12: prog is told the name keyproc looked up (lowercase, no trailing
// dot), not the client's spelling of it.
t.test('SSL_TLS_SNI_SERVERNAME is the name as looked up: Env.Test. gives env.test', { skip: proxySkip }, async (t) => {
  const s = await serve(t, 'tcpserver', argv([]), { env: ENV, cwd: '/' });
  const n = await nodeTlsConnect({ port: s.port, servername: 'Env.Test.', tls: '1.3' });
  const env = envOf((await n.readToClose()).toString());
  t.equal(env.SSL_TLS_SNI_SERVERNAME, 'env.test');
  t.notOk(hasStackTrace(s.output()), 'no stack trace');
});
