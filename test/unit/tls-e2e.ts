// End to end: Node's own TLS client (OpenSSL) against our engine, connected
// through an in-memory Duplex, with a test signer standing in for keyproc.
// Every suite × group × key type, HelloRetryRequest, close_notify both ways,
// and megabytes in both directions.

import t from 'tap';
import { Duplex } from 'node:stream';
import { connect, type ConnectionOptions } from 'node:tls';
import type { EngineConfig } from '../../tls/api';
import { createServerEngine } from '../../tls/engine';
import {
  CONFIG13, clientOver as connectOver, endAndWait, makeEngineKey, roundTrip, serveDuplex, type DuplexEngine, type EngineKey,
} from '../lib/engine-harness';

const KEYS: EngineKey[] = [makeEngineKey('rsa2048'), makeEngineKey('p256'), makeEngineKey('p384'), makeEngineKey('ed25519')];

export const defaultConfig: EngineConfig = CONFIG13;

/** The engine behind an in-memory Duplex, signing with the key's scheme; echo: application data comes back. */
function serve(key: EngineKey, cfg: EngineConfig = defaultConfig, echo = true): DuplexEngine {
  return serveDuplex(cfg, key, { echo });
}

function clientOver(server: DuplexEngine, key: EngineKey, opts: ConnectionOptions = {}) {
  return connectOver(server, key, { minVersion: 'TLSv1.3', ...opts });
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
        t.same(info, { version: 'TLSv1.3', cipher: suiteName, group: groupName, serverName: 'localhost', peerCertificates: null }, `${key.name} ${suiteName} ${groupName}`);
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
