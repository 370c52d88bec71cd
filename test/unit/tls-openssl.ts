// `openssl s_client` against the engine over loopback TCP: a second, separate
// client implementation, and the only easy way to get a real client to send
// KeyUpdate (s_client's "K" command).

import t from 'tap';
import { CONFIG13, listenEngine, makeEngineKey, sClient as runSClient } from '../lib/engine-harness';

const key = makeEngineKey('rsa2048');
const cfg = CONFIG13;

/** Run s_client, feeding it stdin lines one at a time, each after the previous echo showed up. */
function sClient(port: number, args: string[], lines: string[]) {
  // Commands produce no echo: move on after a pause.
  return runSClient({ port, caFile: key.certFile, version: '-tls1_3', args, lines, commandPauseMs: { K: 300, k: 300 } });
}

t.test('s_client: handshake, echo, KeyUpdate both kinds, close', async (t) => {
  const { server, port, infos, fatals } = await listenEngine(cfg, key);
  t.teardown(() => server.close());
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
    const { server, port, infos, fatals } = await listenEngine(cfg, key);
    t.teardown(() => server.close());
    const { out, code } = await sClient(port, ['-ciphersuites', suite, '-groups', groups], ['ping']);
    t.equal(code, 0);
    t.match(out, /ping\n/);
    t.same(fatals, []);
    t.same(infos[0], { version: 'TLSv1.3', cipher: suite, group: groupName, serverName: 'localhost', peerCertificates: null });
  });
}
