// `openssl s_client -tls1_2` against the engine over loopback TCP: every TLS
// 1.2 suite (AEAD and CBC) with RSA and ECDSA keys across the groups, and s_client's
// renegotiation command ("R"), which we refuse.

import t from 'tap';
import type { EngineConfig } from '../../tls/api';
import { CIPHER_SUITES_12 } from '../../tls/tables';
import { CONFIG12, listenEngine, makeEngineKey, sClient as runSClient, type EngineKey } from '../lib/engine-harness';

const KEYS = [makeEngineKey('rsa2048'), makeEngineKey('p256')];

const base = CONFIG12;

/** The engine on loopback: the key's usual scheme, or below TLS 1.2 RSA's MD5+SHA-1 (0xff01) and ECDSA's SHA-1. */
function listen(k: EngineKey, config: EngineConfig) {
  return listenEngine(config, k, { scheme: (e) => (e.version < 0x0303 ? (k.auth === 'rsa' ? 0xff01 : 0x0203) : k.scheme) });
}

/** Run s_client -tls1_2; write each line after the handshake (or the previous echo), then close stdin. */
function sClient(port: number, k: EngineKey, args: string[], lines: string[], version = '-tls1_2') {
  return runSClient({ port, caFile: k.certFile, version, args, lines, commandPauseMs: { R: 500 }, endDelayMs: 300 });
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
      // The ECDSA certificate is on P-256: the client must list that curve too (RFC 8422 5.1).
      const { server, port, infos, fatals } = await listen(k, { ...base, groups: [code] });
      const groups = curve === 'P-256' ? curve : `${curve}:P-256`;
      const { out, code: exit } = await sClient(port, k, ['-cipher', suite.name, '-groups', groups], ['ping']);
      server.close();
      t.equal(exit, 0, `${groupName}: s_client exit code`);
      t.match(out, /ping\n/);
      t.match(out, /Extended master secret: yes/);
      t.match(out, /Secure Renegotiation IS supported/);
      t.same(fatals, []);
      t.same(infos[0], { version: 'TLSv1.2', cipher: suite.name, group: groupName, serverName: 'localhost', peerCertificates: null });
    }
  });
}

t.test('s_client R (renegotiate): refused, no second handshake', async (t) => {
  const k = KEYS[1];
  const { server, port, infos, fatals } = await listen(k, base);
  t.teardown(() => server.close());
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
      const { server, port, infos, fatals } = await listen(k, { ...base, minVersion: 0x0301 });
      const { out, code } = await sClient(port, k, ['-cipher', `${suite.name}@SECLEVEL=0`], ['ping', 'pong'], flag);
      server.close();
      t.equal(code, 0, `${suite.name}: s_client exit code`);
      t.match(out, /ping\n/);
      t.match(out, /pong\n/);
      t.same(fatals, []);
      t.same(infos[0], { version: name, cipher: suite.name, group: 'x25519', serverName: 'localhost', peerCertificates: null });
    }
  });
}
