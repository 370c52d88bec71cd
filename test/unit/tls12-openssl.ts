// `openssl s_client -tls1_2` against the engine over loopback TCP: every TLS
// 1.2 suite (AEAD and CBC) with RSA and ECDSA keys across the groups, and s_client's
// renegotiation command ("R"), which we refuse.

import t from 'tap';
import { execFileSync, spawn } from 'node:child_process';
import { constants, createHash, createPrivateKey, privateEncrypt, sign, X509Certificate, type KeyObject } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EngineConfig, EngineEvent, HandshakeInfo } from '../../netproc/tls/api';
import { createServerEngine } from '../../netproc/tls/engine';
import { serverKeyExchange12Content } from '../../netproc/tls/messages';
import { CIPHER_SUITES_12 } from '../../netproc/tls/tables';

const dir = mkdtempSync(join(tmpdir(), 'tls12-openssl-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

interface TestKey {
  auth: 'rsa' | 'ecdsa';
  key: KeyObject;
  certFile: string;
  certDer: Uint8Array;
  scheme: number;
}

function makeKey(name: string, newkey: string[], auth: TestKey['auth'], scheme: number): TestKey {
  const keyFile = join(dir, `${name}.key`);
  const certFile = join(dir, `${name}.crt`);
  execFileSync(
    'openssl',
    ['req', '-x509', ...newkey, '-keyout', keyFile, '-out', certFile, '-days', '2', '-nodes',
      '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost'],
    { stdio: 'ignore' },
  );
  return { auth, key: createPrivateKey(readFileSync(keyFile)), certFile, certDer: new Uint8Array(new X509Certificate(readFileSync(certFile)).raw), scheme };
}

const KEYS = [
  makeKey('rsa', ['-newkey', 'rsa:2048'], 'rsa', 0x0804),
  makeKey('p256', ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256'], 'ecdsa', 0x0403),
];

const base: EngineConfig = {
  suites: [0x1303, 0x1302, 0x1301],
  suites12: CIPHER_SUITES_12.map((s) => s.code),
  groups: [0x001d, 0x0017, 0x0018, 0x0019],
  serverPreference: true,
  minVersion: 0x0303,
  maxVersion: 0x0304,
};

function signSke(k: TestKey, content: Uint8Array, legacy: boolean): Uint8Array {
  if (legacy && k.auth === 'rsa') {
    const digest = Buffer.concat([createHash('md5').update(content).digest(), createHash('sha1').update(content).digest()]);
    return privateEncrypt({ key: k.key, padding: constants.RSA_PKCS1_PADDING }, digest);
  }
  if (legacy) return sign('sha1', content, { key: k.key, dsaEncoding: 'der' });
  if (k.scheme === 0x0804) return sign('sha256', content, { key: k.key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 });
  return sign('sha256', content, { key: k.key, dsaEncoding: 'der' });
}

function listen(k: TestKey, config: EngineConfig, infos: HandshakeInfo[], fatals: EngineEvent[]): Promise<Server> {
  const server = createServer((sock: Socket) => {
    const engine = createServerEngine(config);
    let legacy = false;
    const flush = () => {
      const out = engine.takeOutput();
      if (out.length > 0 && !sock.destroyed) sock.write(out);
    };
    const handle = (events: EngineEvent[]) => {
      for (const e of events) {
        if (e.type === 'needCertificate') {
          legacy = e.version < 0x0303;
          const scheme = legacy ? (k.auth === 'rsa' ? 0xff01 : 0x0203) : k.scheme;
          setImmediate(() => handle(engine.provideCertificate([k.certDer], scheme)));
        }
        if (e.type === 'needSignature12') {
          const sig = signSke(k, serverKeyExchange12Content(e.clientRandom, e.serverRandom, e.group, e.publicKey), legacy);
          setImmediate(() => handle(engine.provideSignature(sig)));
        }
        if (e.type === 'handshakeDone') infos.push(e.info);
        if (e.type === 'appData') engine.sendAppData(e.data);
        if (e.type === 'peerClosed') {
          engine.close();
          flush();
          sock.end();
        }
        if (e.type === 'fatal') {
          fatals.push(e);
          flush();
          sock.end();
        }
      }
      flush();
    };
    sock.on('data', (b: Buffer) => handle(engine.feed(b)));
    sock.on('error', () => {});
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

/** Run s_client -tls1_2; write each line after the handshake (or the previous echo), then close stdin. */
function sClient(port: number, k: TestKey, args: string[], lines: string[], version = '-tls1_2'): Promise<{ out: string; code: number | null }> {
  return new Promise((resolve) => {
    const p = spawn('openssl', [
      's_client', '-connect', `127.0.0.1:${port}`, version, '-servername', 'localhost',
      '-CAfile', k.certFile, '-verify_return_error', ...args,
    ]);
    let out = '';
    let next = 0;
    const step = () => {
      if (next >= lines.length) {
        setTimeout(() => p.stdin.end(), 300);
        return;
      }
      const line = lines[next++];
      p.stdin.write(`${line}\n`);
      if (line === 'R') setTimeout(step, 500);
    };
    p.stdout.on('data', (b: Buffer) => {
      const before = out;
      out += b.toString();
      if (!before.includes('Verify return code: 0') && out.includes('Verify return code: 0')) setTimeout(step, 100);
      else if (next > 0 && out.split(`${lines[next - 1]}\n`).length > before.split(`${lines[next - 1]}\n`).length) step();
    });
    p.stderr.on('data', (b: Buffer) => (out += b.toString()));
    const timer = setTimeout(() => p.kill(), 20000);
    p.on('close', (code) => {
      clearTimeout(timer);
      resolve({ out, code });
    });
  });
}

const GROUPS: [string, number, string][] = [
  ['X25519', 0x001d, 'x25519'],
  ['P-256', 0x0017, 'secp256r1'],
  ['P-384', 0x0018, 'secp384r1'],
  ['P-521', 0x0019, 'secp521r1'],
];

for (const suite of CIPHER_SUITES_12) {
  const k = KEYS.find((x) => x.auth === suite.auth)!;
  t.test(`s_client -tls1_2 ${suite.name}`, async (t) => {
    for (const [curve, code, groupName] of GROUPS) {
      const infos: HandshakeInfo[] = [];
      const fatals: EngineEvent[] = [];
      // The ECDSA certificate is on P-256: the client must list that curve too (RFC 8422 5.1).
      const server = await listen(k, { ...base, groups: [code] }, infos, fatals);
      const port = (server.address() as AddressInfo).port;
      const groups = curve === 'P-256' ? curve : `${curve}:P-256`;
      const { out, code: exit } = await sClient(port, k, ['-cipher', suite.name, '-groups', groups], ['ping']);
      server.close();
      t.equal(exit, 0, `${groupName}: s_client exit code`);
      t.match(out, /ping\n/);
      t.match(out, /Extended master secret: yes/);
      t.match(out, /Secure Renegotiation IS supported/);
      t.same(fatals, []);
      t.same(infos[0], { version: 'TLSv1.2', cipher: suite.name, group: groupName, serverName: 'localhost' });
    }
  });
}

t.test('s_client R (renegotiate): refused, no second handshake', async (t) => {
  const k = KEYS[1];
  const infos: HandshakeInfo[] = [];
  const fatals: EngineEvent[] = [];
  const server = await listen(k, base, infos, fatals);
  t.teardown(() => server.close());
  const port = (server.address() as AddressInfo).port;
  const { out } = await sClient(port, k, [], ['before', 'R']);
  t.match(out, /before\n/);
  t.match(out, /RENEGOTIATING/);
  t.equal(infos.length, 1, 'one handshake only');
  t.same(fatals.filter((e) => e.type === 'fatal' && !e.received), [], 'no fatal alert from us');
  t.comment(`client side: ${out.split('\n').filter((l) => /alert|error|renegotiat/i.test(l)).join(' | ')}`);
});

for (const [flag, name] of [['-tls1_1', 'TLSv1.1'], ['-tls1', 'TLSv1']] as const) {
  t.test(`s_client ${flag}: the SHA-1 CBC suites when minVersion allows`, async (t) => {
    for (const suite of CIPHER_SUITES_12.filter((s) => s.legacyOk)) {
      const k = KEYS.find((x) => x.auth === suite.auth)!;
      const infos: HandshakeInfo[] = [];
      const fatals: EngineEvent[] = [];
      const server = await listen(k, { ...base, minVersion: 0x0301 }, infos, fatals);
      const port = (server.address() as AddressInfo).port;
      const { out, code } = await sClient(port, k, ['-cipher', `${suite.name}@SECLEVEL=0`], ['ping', 'pong'], flag);
      server.close();
      t.equal(code, 0, `${suite.name}: s_client exit code`);
      t.match(out, /ping\n/);
      t.match(out, /pong\n/);
      t.same(fatals, []);
      t.same(infos[0], { version: name, cipher: suite.name, group: 'x25519', serverName: 'localhost' });
    }
  });
}
