// Client certificates with real clients: Node's tls client over an in-memory
// duplex and `openssl s_client -cert -key` over loopback, against the engine
// with EngineOptions.clientAuth. Certificates come from the openssl CLI (a
// P-256 CA issuing RSA 2048, P-256, P-384 and Ed25519 client certificates);
// the chain is judged by a small test verifier (X509Certificate.checkIssued).
// What a real client will not send (bad CertificateVerify, odd messages) is
// in tls-clientauth-engine.ts.

import t from 'tap';
import { connect, type ConnectionOptions, type TLSSocket } from 'node:tls';
import type { ClientAuth, EngineConfig, EngineEvent } from '../../tls/api';
import {
  caVerifier,
  clientOver,
  CONFIG12,
  endAndWait,
  listenEngine,
  makeClientPki,
  makeEngineKey,
  refusingVerifier,
  roundTrip,
  sClient,
  serveDuplex,
  type ClientCert,
} from '../lib/engine-harness';

const pki = makeClientPki();
const serverKey = makeEngineKey('p256');
const rsaServerKey = makeEngineKey('rsa2048');

const VERSIONS = [
  ['TLSv1.3', 0x0304],
  ['TLSv1.2', 0x0303],
] as const;

const withCert = (c: ClientCert): ConnectionOptions => ({ key: c.keyPem, cert: c.certPem });

// ---------------------------------------------------------------- Node's tls client

for (const [version] of VERSIONS) {
  for (const name of ['rsa2048', 'p256', 'p384', 'ed25519'] as const) {
    t.test(`Node ${version}, ${name} client certificate: accepted, chain reported, data flows`, async (t) => {
      const seen: Uint8Array[][] = [];
      const server = serveDuplex(CONFIG12, serverKey, { engine: { clientAuth: caVerifier(pki, seen) } });
      const client = pki.issued[name];
      const socket = await clientOver(server, serverKey, { ...withCert(client), minVersion: version, maxVersion: version });
      const info = await server.info;
      t.equal(info.version, version);
      t.same(info.peerCertificates, [client.certDer], 'peerCertificates: the DER the client sent');
      t.same(seen, [[client.certDer]], 'verifyChain saw the chain once');
      const echo = await roundTrip(socket, Buffer.from('hello with a certificate'));
      t.equal(echo.toString(), 'hello with a certificate');
      await endAndWait(socket);
      t.same(server.fatal, []);
    });
  }
}

/** Connect and wait for the client's error (in TLS 1.3 it comes after secureConnect: the client finishes first). */
function clientError(cfg: EngineConfig, clientAuth: ClientAuth, opts: ConnectionOptions) {
  const server = serveDuplex(cfg, serverKey, { engine: { clientAuth }, endOnFatal: true });
  const error = new Promise<string>((resolve) => {
    const socket: TLSSocket = connect({ socket: server.duplex, servername: 'localhost', ca: serverKey.certPem, ...opts });
    socket.on('secureConnect', () => socket.resume());
    socket.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
    socket.on('close', () => resolve('closed without an error'));
  });
  return { server, error };
}

const fatalAlerts = (events: EngineEvent[]) => events.map((e) => (e.type === 'fatal' ? e.alert : -1));

t.test('Node without a client certificate: certificate_required (116) in TLS 1.3, handshake_failure (40) in 1.2', async (t) => {
  for (const [version, alert, code] of [
    ['TLSv1.3', 116, 'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED'],
    ['TLSv1.2', 40, 'ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE'],
  ] as const) {
    const { server, error } = clientError(CONFIG12, caVerifier(pki), { minVersion: version, maxVersion: version });
    t.equal(await error, code, `${version}: the client hears the alert`);
    t.same(fatalAlerts(server.fatal), [alert], `${version}: the engine's fatal event`);
  }
});

t.test('Node with a certificate no anchor issued: the verifier says unknown_ca (48), the client hears it', async (t) => {
  for (const [version] of VERSIONS) {
    const { server, error } = clientError(CONFIG12, caVerifier(pki), { ...withCert(pki.stranger), minVersion: version, maxVersion: version });
    t.equal(await error, 'ERR_SSL_TLSV1_ALERT_UNKNOWN_CA', version);
    t.same(fatalAlerts(server.fatal), [48]);
    t.match((server.fatal[0] as { message: string }).message, /CN=stranger is not issued by the test CA/, 'the reason is in the fatal message');
  }
});

t.test("a verifier's own alert goes out as it is; a non-alert becomes internal_error", async (t) => {
  for (const [version] of VERSIONS) {
    const expired = clientError(CONFIG12, refusingVerifier(45, 'expired yesterday'), { ...withCert(pki.issued.p256), minVersion: version, maxVersion: version });
    t.equal(await expired.error, 'ERR_SSL_SSLV3_ALERT_CERTIFICATE_EXPIRED', `${version}: certificate_expired`);
    t.same(fatalAlerts(expired.server.fatal), [45]);
    const revoked = clientError(CONFIG12, refusingVerifier(44, 'revoked'), { ...withCert(pki.issued.rsa2048), minVersion: version, maxVersion: version });
    t.equal(await revoked.error, 'ERR_SSL_SSLV3_ALERT_CERTIFICATE_REVOKED', `${version}: certificate_revoked`);
    const odd = clientError(CONFIG12, refusingVerifier(0, 'close_notify is no refusal'), { ...withCert(pki.issued.rsa2048), minVersion: version, maxVersion: version });
    t.equal(await odd.error, 'ERR_SSL_TLSV1_ALERT_INTERNAL_ERROR', `${version}: internal_error`);
  }
});

t.test('without clientAuth a client certificate is never asked for', async (t) => {
  for (const [version] of VERSIONS) {
    const server = serveDuplex(CONFIG12, serverKey);
    const socket = await clientOver(server, serverKey, { ...withCert(pki.issued.p256), minVersion: version, maxVersion: version });
    const info = await server.info;
    t.equal(info.peerCertificates, null, `${version}: no peer certificates`);
    t.equal((await roundTrip(socket, Buffer.from('x'))).toString(), 'x');
    await endAndWait(socket);
  }
});

// ---------------------------------------------------------------- openssl s_client

async function sClientRun(clientAuth: ClientAuth | undefined, version: string, args: string[], cfg: EngineConfig = CONFIG12, key = serverKey) {
  const scheme = (e: { version: number }) => (e.version < 0x0303 ? (key.auth === 'rsa' ? 0xff01 : 0x0203) : key.scheme);
  const { server, port, infos, fatals } = await listenEngine(cfg, key, { engine: clientAuth ? { clientAuth } : {}, scheme });
  const { out, code } = await sClient({ port, caFile: key.certFile, version, args, lines: ['ping'], endDelayMs: 200 });
  server.close();
  return { out, code, infos, fatals };
}

const REQUESTED_SCHEMES =
  'Requested Signature Algorithms: ECDSA+SHA256:ECDSA+SHA384:ECDSA+SHA512:ed25519:RSA-PSS+SHA256:RSA-PSS+SHA384:RSA-PSS+SHA512:' +
  'rsa_pss_pss_sha256:rsa_pss_pss_sha384:rsa_pss_pss_sha512:RSA+SHA256:RSA+SHA384:RSA+SHA512\n';

for (const [flag, version] of [['-tls1_3', 'TLSv1.3'], ['-tls1_2', 'TLSv1.2']] as const) {
  t.test(`s_client ${flag} -cert -key: RSA, P-256, Ed25519 client certificates`, async (t) => {
    for (const name of ['rsa2048', 'p256', 'ed25519'] as const) {
      const c = pki.issued[name];
      const { out, code, infos, fatals } = await sClientRun(caVerifier(pki), flag, ['-cert', c.certFile, '-key', c.keyFile]);
      t.equal(code, 0, `${name}: exit code`);
      t.match(out, /ping\n/, `${name}: echo`);
      t.match(out, /Acceptable client certificate CA names\nCN = Test Client CA\n/, `${name}: certificate_authorities names the anchor`);
      t.ok(out.includes(REQUESTED_SCHEMES), `${name}: the schemes we can verify`);
      if (version === 'TLSv1.2') t.match(out, /Client Certificate Types: RSA sign, ECDSA sign\n/);
      t.same(fatals, []);
      t.equal(infos[0]?.version, version);
      t.same(infos[0]?.peerCertificates, [c.certDer], `${name}: peerCertificates`);
    }
  });
}

for (const [flag, version] of [['-tls1_1', 'TLSv1.1'], ['-tls1', 'TLSv1']] as const) {
  t.test(`s_client ${flag} -cert -key: RSA (MD5+SHA-1) and ECDSA (SHA-1) CertificateVerify`, async (t) => {
    const legacy = { ...CONFIG12, minVersion: 0x0301 };
    for (const [name, key] of [['rsa2048', rsaServerKey], ['p256', serverKey], ['rsa2048', serverKey], ['p256', rsaServerKey]] as const) {
      const c = pki.issued[name];
      const { out, code, infos, fatals } = await sClientRun(caVerifier(pki), flag, ['-cert', c.certFile, '-key', c.keyFile, '-cipher', 'DEFAULT:@SECLEVEL=0'], legacy, key);
      const what = `${name} client, ${key.name} server`;
      t.equal(code, 0, `${what}: exit code`);
      t.match(out, /ping\n/, `${what}: echo`);
      t.match(out, /Client Certificate Types: RSA sign, ECDSA sign\n/);
      t.notMatch(out, /Requested Signature Algorithms/, 'no supported_signature_algorithms before TLS 1.2');
      t.same(fatals, []);
      t.equal(infos[0]?.version, version);
      t.same(infos[0]?.peerCertificates, [c.certDer], `${what}: peerCertificates`);
    }
  });
}

t.test('s_client without -cert: certificate_required in TLS 1.3, handshake_failure in 1.2', async (t) => {
  for (const [flag, alert, text] of [['-tls1_3', 116, /certificate required/], ['-tls1_2', 40, /handshake failure/]] as const) {
    const { out, infos, fatals } = await sClientRun(caVerifier(pki), flag, []);
    t.same(infos, [], `${flag}: no handshake`);
    t.same(fatalAlerts(fatals), [alert], `${flag}: the engine's alert`);
    t.match(out, text, `${flag}: s_client reports it`);
  }
});

t.test('s_client against an engine without clientAuth: no CertificateRequest', async (t) => {
  for (const flag of ['-tls1_3', '-tls1_2']) {
    const c = pki.issued.p256;
    const { out, code, infos } = await sClientRun(undefined, flag, ['-cert', c.certFile, '-key', c.keyFile]);
    t.equal(code, 0);
    t.match(out, /No client certificate CA names sent\n/, flag);
    t.notMatch(out, /Requested Signature Algorithms/, flag);
    t.equal(infos[0]?.peerCertificates, null);
  }
});

t.test('certificate_authorities is left out (1.3) or empty (1.2) when the names would not fit', async (t) => {
  // 300 names of ~250 bytes: far over 2^16 bytes.
  const big = Array.from({ length: 300 }, (_, i) => new Uint8Array(250).fill(i & 0xff));
  const auth: ClientAuth = { ...caVerifier(pki), authorities: [...big, pki.caSubject] };
  for (const flag of ['-tls1_3', '-tls1_2']) {
    const c = pki.issued.p256;
    const { out, code, infos } = await sClientRun(auth, flag, ['-cert', c.certFile, '-key', c.keyFile]);
    t.equal(code, 0, `${flag}: still completes`);
    t.match(out, /No client certificate CA names sent\n/, flag);
    t.same(infos[0]?.peerCertificates, [c.certDer]);
  }
});
