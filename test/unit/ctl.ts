// The entry decodes netproc's handshake report as untrusted input.
import t from 'tap';
import { decodeHandshakeDone, encodeHandshakeDone } from '../../src/rpc/ctl';

const good = { version: 'TLSv1.2', cipher: 'ECDHE-RSA-AES128-GCM-SHA256', group: 'x25519', serverName: 'a.test' } as const;
const raw = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));

t.test('round trip, every protocol name', async (t) => {
  for (const version of ['TLSv1.3', 'TLSv1.2', 'TLSv1.1', 'TLSv1'] as const) {
    t.same(decodeHandshakeDone(encodeHandshakeDone({ ...good, version })), { ...good, version });
  }
  t.same(decodeHandshakeDone(encodeHandshakeDone({ ...good, serverName: null })).serverName, null);
});

t.test('anything else is refused', async (t) => {
  const bad: [string, Uint8Array][] = [
    ['unknown version', raw({ ...good, version: 'SSLv3' })],
    ['version not a string', raw({ ...good, version: 3 })],
    ['cipher with a newline (would forge a log line or an env value)', raw({ ...good, cipher: 'A\nB' })],
    ['empty group', raw({ ...good, group: '' })],
    ['server name with a space', raw({ ...good, serverName: 'a b' })],
    ['server name of 254 bytes', raw({ ...good, serverName: 'a'.repeat(254) })],
    ['not JSON', new TextEncoder().encode('{')],
  ];
  for (const [name, payload] of bad) t.throws(() => decodeHandshakeDone(payload), name);
});
