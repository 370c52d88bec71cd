// `openssl s_client` against the engine over loopback TCP: a second, separate
// client implementation, and the only easy way to get a real client to send
// KeyUpdate (s_client's "K" command).

import t from 'tap';
import { execFileSync, spawn } from 'node:child_process';
import { constants, createPrivateKey, sign, X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EngineConfig, EngineEvent, HandshakeInfo } from '../../netproc/tls/api';
import { createServerEngine } from '../../netproc/tls/engine';
import { serverCertificateVerifyContent } from '../../netproc/tls/messages';

const dir = mkdtempSync(join(tmpdir(), 'tls-openssl-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

const keyFile = join(dir, 'rsa.key');
const certFile = join(dir, 'rsa.crt');
execFileSync(
  'openssl',
  ['req', '-x509', '-newkey', 'rsa:2048', '-keyout', keyFile, '-out', certFile, '-days', '2', '-nodes',
    '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost'],
  { stdio: 'ignore' },
);
const key = createPrivateKey(readFileSync(keyFile));
const certDer = new Uint8Array(new X509Certificate(readFileSync(certFile)).raw);

const cfg: EngineConfig = {
  suites: [0x1303, 0x1302, 0x1301],
  groups: [0x001d, 0x0017, 0x0018, 0x0019],
  serverPreference: true,
  minVersion: 0x0304,
  maxVersion: 0x0304,
};

/** A loopback server whose connections are pumped through an engine that echoes. */
function listen(config: EngineConfig, infos: HandshakeInfo[], fatals: EngineEvent[]): Promise<Server> {
  const server = createServer((sock: Socket) => {
    const engine = createServerEngine(config);
    const flush = () => {
      const out = engine.takeOutput();
      if (out.length > 0 && !sock.destroyed) sock.write(out);
    };
    const handle = (events: EngineEvent[]) => {
      for (const e of events) {
        if (e.type === 'needCertificate') setImmediate(() => handle(engine.provideCertificate([certDer], 0x0804)));
        if (e.type === 'needSignature') {
          const sig = sign('sha256', serverCertificateVerifyContent(e.transcriptHash), {
            key,
            padding: constants.RSA_PKCS1_PSS_PADDING,
            saltLength: 32,
          });
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

/** Run s_client, feeding it stdin lines one at a time, each after the previous echo showed up. */
function sClient(port: number, args: string[], lines: string[]): Promise<{ out: string; code: number | null }> {
  return new Promise((resolve) => {
    const p = spawn('openssl', [
      's_client', '-connect', `127.0.0.1:${port}`, '-tls1_3', '-servername', 'localhost',
      '-CAfile', certFile, '-verify_return_error', ...args,
    ]);
    let out = '';
    let next = 0;
    const step = () => {
      if (next >= lines.length) {
        p.stdin.end();
        return;
      }
      const line = lines[next++];
      p.stdin.write(`${line}\n`);
      // Commands produce no echo: move on after a pause.
      if (line === 'K' || line === 'k') setTimeout(step, 300);
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

t.test('s_client: handshake, echo, KeyUpdate both kinds, close', async (t) => {
  const infos: HandshakeInfo[] = [];
  const fatals: EngineEvent[] = [];
  const server = await listen(cfg, infos, fatals);
  t.teardown(() => server.close());
  const port = (server.address() as AddressInfo).port;
  const { out, code } = await sClient(port, [], ['hello-one', 'K', 'after-requested-update', 'k', 'after-plain-update']);
  t.equal(code, 0, 's_client exit code');
  t.match(out, /KEYUPDATE/);
  t.match(out, /hello-one\n/);
  t.match(out, /after-requested-update\n/);
  t.match(out, /after-plain-update\n/);
  t.same(fatals, []);
  t.equal(infos[0]?.cipher, 'TLS_CHACHA20_POLY1305_SHA256');
});

const combos: [string, string, string][] = [
  ['TLS_AES_128_GCM_SHA256', 'P-256', 'secp256r1'],
  ['TLS_AES_256_GCM_SHA384', 'P-384', 'secp384r1'],
  ['TLS_CHACHA20_POLY1305_SHA256', 'P-521', 'secp521r1'],
  ['TLS_AES_128_GCM_SHA256', 'X448:X25519', 'x25519'], // HelloRetryRequest: first share is X448
];
for (const [suite, groups, groupName] of combos) {
  t.test(`s_client ${suite} ${groups}`, async (t) => {
    const infos: HandshakeInfo[] = [];
    const fatals: EngineEvent[] = [];
    const server = await listen(cfg, infos, fatals);
    t.teardown(() => server.close());
    const port = (server.address() as AddressInfo).port;
    const { out, code } = await sClient(port, ['-ciphersuites', suite, '-groups', groups], ['ping']);
    t.equal(code, 0);
    t.match(out, /ping\n/);
    t.same(fatals, []);
    t.same(infos[0], { version: 'TLSv1.3', cipher: suite, group: groupName, serverName: 'localhost' });
  });
}
