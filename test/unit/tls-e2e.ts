// End to end: Node's own TLS client (OpenSSL) against our engine, connected
// through an in-memory Duplex, with a test signer standing in for keyproc.
// Every suite × group × key type, HelloRetryRequest, close_notify both ways,
// and megabytes in both directions.

import t from 'tap';
import { execFileSync } from 'node:child_process';
import { createPrivateKey, constants, sign, X509Certificate, type KeyObject } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Duplex } from 'node:stream';
import { connect, type TLSSocket } from 'node:tls';
import type { EngineConfig, EngineEvent, HandshakeInfo, ServerEngine } from '../../netproc/tls/api';
import { createServerEngine } from '../../netproc/tls/engine';
import { serverCertificateVerifyContent } from '../../netproc/tls/messages';

interface TestKey {
  name: string;
  scheme: number;
  key: KeyObject;
  certPem: string;
  certDer: Uint8Array;
}

const dir = mkdtempSync(join(tmpdir(), 'tls-e2e-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

function makeKey(name: string, newkey: string[], scheme: number): TestKey {
  const keyFile = join(dir, `${name}.key`);
  const certFile = join(dir, `${name}.crt`);
  execFileSync(
    'openssl',
    ['req', '-x509', ...newkey, '-keyout', keyFile, '-out', certFile, '-days', '2', '-nodes',
      '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost'],
    { stdio: 'ignore' },
  );
  const certPem = readFileSync(certFile, 'utf8');
  return {
    name,
    scheme,
    key: createPrivateKey(readFileSync(keyFile)),
    certPem,
    certDer: new Uint8Array(new X509Certificate(certPem).raw),
  };
}

const KEYS: TestKey[] = [
  makeKey('rsa2048', ['-newkey', 'rsa:2048'], 0x0804),
  makeKey('p256', ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256'], 0x0403),
  makeKey('p384', ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-384'], 0x0503),
  makeKey('ed25519', ['-newkey', 'ed25519'], 0x0807),
];

/** What keyproc does for SIGN13, done in-process for the test. */
function signCertificateVerify(key: TestKey, transcriptHash: Uint8Array): Uint8Array {
  const content = serverCertificateVerifyContent(transcriptHash);
  switch (key.scheme) {
    case 0x0804:
      return sign('sha256', content, { key: key.key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 });
    case 0x0403:
      return sign('sha256', content, { key: key.key, dsaEncoding: 'der' });
    case 0x0503:
      return sign('sha384', content, { key: key.key, dsaEncoding: 'der' });
    case 0x0807:
      return sign(null, content, key.key);
    default:
      throw new Error(`no signer for ${key.scheme}`);
  }
}

export const defaultConfig: EngineConfig = {
  suites: [0x1303, 0x1302, 0x1301],
  groups: [0x001d, 0x0017, 0x0018, 0x0019],
  serverPreference: true,
  minVersion: 0x0304,
  maxVersion: 0x0304,
};

interface Server {
  duplex: Duplex;
  engine: ServerEngine;
  info: Promise<HandshakeInfo>;
  received: () => number;
  fatal: EngineEvent[];
  requested: { serverName: string | null; schemes: number[] }[];
}

/**
 * The glue: bytes from the client go to feed(); certificate and signature
 * requests are answered asynchronously like keyproc would; application data
 * is echoed back; close_notify is answered with ours.
 */
function serve(key: TestKey, cfg: EngineConfig = defaultConfig, echo = true): Server {
  const engine = createServerEngine(cfg);
  let receivedBytes = 0;
  const fatal: EngineEvent[] = [];
  const requested: Server['requested'] = [];
  let resolveInfo!: (i: HandshakeInfo) => void;
  let rejectInfo!: (e: Error) => void;
  const info = new Promise<HandshakeInfo>((res, rej) => {
    resolveInfo = res;
    rejectInfo = rej;
  });
  info.catch(() => {});
  let ended = false;
  const flush = () => {
    const out = engine.takeOutput();
    if (out.length > 0 && !ended) duplex.push(Buffer.from(out));
  };
  const handle = (events: EngineEvent[]) => {
    for (const e of events) {
      switch (e.type) {
        case 'needCertificate':
          requested.push({ serverName: e.serverName, schemes: e.signatureSchemes });
          setImmediate(() => handle(engine.provideCertificate([key.certDer], key.scheme)));
          break;
        case 'needSignature':
          setImmediate(() => handle(engine.provideSignature(signCertificateVerify(key, e.transcriptHash))));
          break;
        case 'handshakeDone':
          resolveInfo(e.info);
          break;
        case 'appData':
          receivedBytes += e.data.length;
          if (echo) engine.sendAppData(e.data);
          break;
        case 'peerClosed':
          engine.close();
          flush();
          ended = true;
          duplex.push(null);
          break;
        case 'fatal':
          fatal.push(e);
          rejectInfo(new Error(e.message));
          break;
      }
    }
    flush();
  };
  const duplex = new Duplex({
    read() {},
    write(chunk: Buffer, _enc, cb) {
      handle(engine.feed(chunk));
      cb();
    },
  });
  return { duplex, engine, info, received: () => receivedBytes, fatal, requested };
}

function clientOver(server: Server, key: TestKey, opts: Record<string, unknown> = {}): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    const socket = connect({
      socket: server.duplex,
      servername: 'localhost',
      ca: key.certPem,
      minVersion: 'TLSv1.3',
      ...opts,
    });
    socket.once('secureConnect', () => resolve(socket));
    socket.once('error', reject);
  });
}

/** Write data, read back the echo of the same length. */
function roundTrip(socket: TLSSocket, data: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let n = 0;
    const onData = (c: Buffer) => {
      chunks.push(c);
      n += c.length;
      if (n >= data.length) {
        socket.off('data', onData);
        resolve(Buffer.concat(chunks));
      }
    };
    socket.on('data', onData);
    socket.once('error', reject);
    socket.write(data);
  });
}

function endAndWait(socket: TLSSocket): Promise<void> {
  return new Promise((resolve) => {
    socket.once('end', () => resolve());
    socket.resume();
    socket.end();
  });
}

const SUITES: [number, string][] = [
  [0x1303, 'TLS_CHACHA20_POLY1305_SHA256'],
  [0x1302, 'TLS_AES_256_GCM_SHA384'],
  [0x1301, 'TLS_AES_128_GCM_SHA256'],
];
const GROUPS: [string, string][] = [
  ['X25519', 'x25519'],
  ['P-256', 'secp256r1'],
  ['P-384', 'secp384r1'],
];

t.test('every suite × group × key type', async (t) => {
  for (const key of KEYS) {
    for (const [suiteCode, suiteName] of SUITES) {
      for (const [curve, groupName] of GROUPS) {
        const server = serve(key, { ...defaultConfig, suites: [suiteCode] });
        const socket = await clientOver(server, key, { ecdhCurve: curve });
        const info = await server.info;
        t.same(info, { version: 'TLSv1.3', cipher: suiteName, group: groupName, serverName: 'localhost' }, `${key.name} ${suiteName} ${groupName}`);
        t.equal(socket.getCipher().standardName, suiteName);
        const msg = Buffer.from(`hello ${key.name} ${suiteName} ${groupName}`);
        t.same(await roundTrip(socket, msg), msg);
        await endAndWait(socket);
        t.same(server.fatal, []);
      }
    }
  }
});

t.test('HelloRetryRequest when the first key share is for a group we do not take', async (t) => {
  const key = KEYS[1];
  // OpenSSL sends a share only for the first curve: X448, which we lack.
  const server = serve(key);
  const socket = await clientOver(server, key, { ecdhCurve: 'X448:P-256' });
  const info = await server.info;
  t.equal(info.group, 'secp256r1');
  const msg = Buffer.from('after retry');
  t.same(await roundTrip(socket, msg), msg);
  await endAndWait(socket);
});

t.test('HelloRetryRequest with a group our config prefers', async (t) => {
  const key = KEYS[0];
  const server = serve(key, { ...defaultConfig, groups: [0x0018] });
  const socket = await clientOver(server, key, { ecdhCurve: 'X25519:P-384' });
  t.equal((await server.info).group, 'secp384r1');
  await endAndWait(socket);
});

t.test('client order when serverPreference is off', async (t) => {
  const key = KEYS[1];
  const server = serve(key, { ...defaultConfig, serverPreference: false });
  const socket = await clientOver(server, key, { ciphers: 'TLS_AES_128_GCM_SHA256:TLS_CHACHA20_POLY1305_SHA256' });
  t.equal((await server.info).cipher, 'TLS_AES_128_GCM_SHA256');
  await endAndWait(socket);
});

t.test('no SNI: serverName is null', async (t) => {
  const key = KEYS[1];
  const server = serve(key);
  const socket = await clientOver(server, key, { servername: '', rejectUnauthorized: false });
  t.equal((await server.info).serverName, null);
  t.equal(server.requested[0].serverName, null);
  t.ok(server.requested[0].schemes.includes(0x0403));
  await endAndWait(socket);
});

t.test('megabytes both ways', async (t) => {
  const key = KEYS[0];
  const server = serve(key);
  const socket = await clientOver(server, key);
  await server.info;
  const big = Buffer.alloc(4 * 1024 * 1024 + 123);
  for (let i = 0; i < big.length; i++) big[i] = (i * 7 + (i >> 12)) & 0xff;
  const back = await roundTrip(socket, big);
  t.equal(back.length, big.length);
  t.ok(back.equals(big), 'echo matches');
  t.equal(server.received(), big.length);
  await endAndWait(socket);
});

t.test('server closes first: the client sees end', async (t) => {
  const key = KEYS[1];
  const server = serve(key, defaultConfig, false);
  const socket = await clientOver(server, key);
  await server.info;
  const ended = new Promise<void>((resolve) => socket.once('end', () => resolve()));
  server.engine.sendAppData(Buffer.from('bye'));
  server.engine.close();
  server.duplex.push(Buffer.from(server.engine.takeOutput()));
  const got: Buffer[] = [];
  socket.on('data', (c: Buffer) => got.push(c));
  await ended;
  t.equal(Buffer.concat(got).toString(), 'bye');
  t.ok(server.engine.finished);
  socket.destroy();
});

t.test('certificate refused: the client gets the alert', async (t) => {
  const key = KEYS[1];
  const engine = createServerEngine(defaultConfig);
  const duplex = new Duplex({
    read() {},
    write(chunk: Buffer, _enc, cb) {
      const events = engine.feed(chunk);
      for (const e of events) {
        if (e.type === 'needCertificate') {
          const ev = engine.refuseCertificate(112);
          t.match(ev, [{ type: 'fatal', alert: 112, received: false }]);
        }
      }
      const out = engine.takeOutput();
      if (out.length) duplex.push(Buffer.from(out));
      cb();
    },
  });
  const err = await new Promise<Error>((resolve) => {
    const s = connect({ socket: duplex, servername: 'localhost', ca: key.certPem, minVersion: 'TLSv1.3' });
    s.once('error', resolve);
  });
  t.match(err.message, /unrecognized name|alert/i);
});

t.test('a TLS 1.2-only client gets protocol_version', async (t) => {
  const key = KEYS[1];
  const server = serve(key);
  const err = await new Promise<Error>((resolve) => {
    const s = connect({ socket: server.duplex, servername: 'localhost', ca: key.certPem, maxVersion: 'TLSv1.2' });
    s.once('error', resolve);
  });
  t.match(err.message, /protocol version/i);
  t.match(server.fatal, [{ type: 'fatal', alert: 70, received: false }]);
});
