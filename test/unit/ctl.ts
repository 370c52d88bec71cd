// The entry decodes netproc's handshake report as untrusted input.
import t from 'tap';
import { decodeAnchors, decodeConnected, decodeHandshakeDone, encodeAnchors, encodeConnected, encodeHandshakeDone } from '../../wire/ctl';

const good = { version: 'TLSv1.2', cipher: 'ECDHE-RSA-AES128-GCM-SHA256', group: 'x25519', serverName: 'a.test', peerCertificates: null } as const;
const sock = { localAddress: '127.0.0.1', localPort: 4433, remoteAddress: '::ffff:10.0.0.2', remotePort: 50000 };
const raw = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));

t.test('round trip, every protocol name', async (t) => {
  for (const version of ['TLSv1.3', 'TLSv1.2', 'TLSv1.1', 'TLSv1'] as const) {
    t.same(decodeHandshakeDone(encodeHandshakeDone({ ...good, version }, sock)), { ...good, version, socket: sock, proxy: null });
  }
  t.same(decodeHandshakeDone(encodeHandshakeDone({ ...good, serverName: null }, sock)).serverName, null);
});

t.test('PROXY header addresses: round trip, checked like the socket', async (t) => {
  const proxy = { localAddress: '192.0.2.1', localPort: 443, remoteAddress: '2001:db8::1', remotePort: 1 };
  t.same(decodeHandshakeDone(encodeHandshakeDone(good, sock, proxy)).proxy, proxy);
  t.equal(decodeHandshakeDone(encodeHandshakeDone(good, sock, null)).proxy, null);
  const bad: [string, unknown][] = [
    ['no proxy field', { ...good, socket: null }],
    ['proxy not an object', { ...good, socket: null, proxy: '1.2.3.4' }],
    ['proxy an array', { ...good, socket: null, proxy: [] }],
    ['proxy remote a host name', { ...good, socket: null, proxy: { ...proxy, remoteAddress: 'evil.example' } }],
    ['proxy local with a newline', { ...good, socket: null, proxy: { ...proxy, localAddress: '1.2.3.4\nX=1' } }],
    ['proxy port 0', { ...good, socket: null, proxy: { ...proxy, remotePort: 0 } }],
    ['proxy port a string', { ...good, socket: null, proxy: { ...proxy, localPort: '443' } }],
    ['proxy port 65536', { ...good, socket: null, proxy: { ...proxy, localPort: 65536 } }],
    ['proxy with fields misnamed (localIp)', { ...good, socket: null, proxy: { localIp: '192.0.2.1', localPort: 443, remoteIp: '2001:db8::1', remotePort: 1 } }],
  ];
  for (const [name, v] of bad) t.throws(() => decodeHandshakeDone(raw(v)), RangeError, name);
});

t.test('socket addresses: null without a TCP socket, IPv6 as is', async (t) => {
  t.equal(decodeHandshakeDone(encodeHandshakeDone(good, null)).socket, null);
  const v6 = { localAddress: '2001:db8::1', localPort: 443, remoteAddress: '::1', remotePort: 65535 };
  t.same(decodeHandshakeDone(encodeHandshakeDone(good, v6)).socket, v6);
});

t.test('anything else is refused', async (t) => {
  const bad: [string, Uint8Array][] = [
    ['unknown version', raw({ ...good, socket: null, version: 'SSLv3' })],
    ['version not a string', raw({ ...good, socket: null, version: 3 })],
    ['cipher with a newline (would forge a log line or an env value)', raw({ ...good, socket: null, cipher: 'A\nB' })],
    ['empty group', raw({ ...good, socket: null, group: '' })],
    ['server name with a space', raw({ ...good, socket: null, serverName: 'a b' })],
    ['server name of 254 bytes', raw({ ...good, socket: null, serverName: 'a'.repeat(254) })],
    ['not JSON', new TextEncoder().encode('{')],
    ['JSON null', raw(null)],
    ['no socket field', raw(good)],
    ['socket not an object', raw({ ...good, socket: '127.0.0.1:1' })],
    ['socket an array', raw({ ...good, socket: [] })],
    ['local address a host name', raw({ ...good, socket: { ...sock, localAddress: 'localhost' } })],
    ['remote address with a newline', raw({ ...good, socket: { ...sock, remoteAddress: '127.0.0.1\n' } })],
    ['remote address in brackets', raw({ ...good, socket: { ...sock, remoteAddress: '[::1]' } })],
    ['remote address with a zone', raw({ ...good, socket: { ...sock, remoteAddress: 'fe80::1%eth0' } })],
    ['remote address missing', raw({ ...good, socket: { ...sock, remoteAddress: undefined } })],
    ['port 0', raw({ ...good, socket: { ...sock, localPort: 0 } })],
    ['port 65536', raw({ ...good, socket: { ...sock, remotePort: 65536 } })],
    ['port not an integer', raw({ ...good, socket: { ...sock, remotePort: 1.5 } })],
    ['port a string', raw({ ...good, socket: { ...sock, localPort: '443' } })],
  ];
  for (const [name, payload] of bad) t.throws(() => decodeHandshakeDone(payload), name);
});

t.test('the client chain: base64 DER, bounded, checked', async (t) => {
  const chain = [Uint8Array.of(0x30, 0x03, 1, 2, 3), new Uint8Array(1000).fill(7)];
  t.same(decodeHandshakeDone(encodeHandshakeDone({ ...good, peerCertificates: chain }, sock)).peerCertificates, chain);
  t.equal(decodeHandshakeDone(encodeHandshakeDone(good, sock)).peerCertificates, null);
  const bad: [string, unknown][] = [
    ['empty list', []],
    ['eleven certificates', Array(11).fill('MAMBAgM=')],
    ['not base64', ['MAMB$gM=']],
    ['empty string', ['']],
    ['a number', [3]],
    ['a string, not a list', 'MAMBAgM='],
    ['base64 with a newline', ['MAMB\nAgM=']],
  ];
  for (const [name, peerCertificates] of bad) t.throws(() => decodeHandshakeDone(raw({ ...good, socket: null, proxy: null, peerCertificates })), RangeError, name);
});

t.test('ANCHORS: the anchors\' DER, each with a u24 length', async (t) => {
  const ders = [Uint8Array.of(0x30, 0x00), new Uint8Array(70000).fill(1)];
  t.same(decodeAnchors(encodeAnchors(ders)), ders);
  t.throws(() => decodeAnchors(new Uint8Array(0)), RangeError, 'none at all');
  t.throws(() => decodeAnchors(Uint8Array.of(0, 0, 5, 1, 2)), /need 5 bytes/, 'a length past the end');
});

t.test('CONNECTED: the addresses alone, checked like HANDSHAKE_DONE\'s', async (t) => {
  const proxy = { localAddress: '192.0.2.1', localPort: 443, remoteAddress: '2001:db8::1', remotePort: 1 };
  t.same(decodeConnected(encodeConnected(sock, proxy)), { socket: sock, proxy });
  t.same(decodeConnected(encodeConnected(null, null)), { socket: null, proxy: null });
  t.throws(() => decodeConnected(raw({ socket: { ...sock, remoteAddress: 'x y' }, proxy: null })), RangeError);
  t.throws(() => decodeConnected(raw({ socket: null })), RangeError, 'proxy missing');
  t.throws(() => decodeConnected(raw([])), RangeError);
});
