// The PROXY protocol header parser: v1 text, v2 binary, strict, incremental.
import t from 'tap';
import { parseProxyHeader, parseV1, parseV2, V1_MAX, V2_MAX_LENGTH, V2_SIGNATURE, type ProxyParse } from '../../wire/proxyheader';

const ascii = (s: string) => Uint8Array.from(Buffer.from(s, 'latin1'));
const cat = (...parts: (Uint8Array | number[])[]) => Uint8Array.from(Buffer.concat(parts.map((p) => Buffer.from(p as Uint8Array))));
const u16 = (n: number) => [n >> 8, n & 255];

function v2(cmd: number, fam: number, body: Uint8Array | number[], declared = body.length): Uint8Array {
  return cat(V2_SIGNATURE, [0x20 | cmd, fam, ...u16(declared)], body);
}
const v2tcp4 = (extra: number[] = []) =>
  v2(1, 0x11, [192, 0, 2, 1, 198, 51, 100, 7, ...u16(56324), ...u16(443), ...extra]);
const ip6 = (last: number) => [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, last];
const v2tcp6 = () => v2(1, 0x21, [...ip6(1), ...ip6(2), ...u16(1), ...u16(65535)]);

const isError = (r: ProxyParse) => r.kind === 'error';

t.test('v1 TCP4, TCP6, UNKNOWN', async (t) => {
  const h4 = 'PROXY TCP4 192.0.2.1 198.51.100.7 56324 443\r\n';
  t.same(parseV1(ascii(h4)), { kind: 'done', length: h4.length, addresses: { remoteAddress: '192.0.2.1', remotePort: 56324, localAddress: '198.51.100.7', localPort: 443 } }, 'source is remote, destination local');
  const h6 = 'PROXY TCP6 2001:db8::1 ::ffff:10.0.0.1 1 65535\r\n';
  t.same(parseV1(ascii(h6)), { kind: 'done', length: h6.length, addresses: { remoteAddress: '2001:db8::1', remotePort: 1, localAddress: '::ffff:10.0.0.1', localPort: 65535 } });
  t.same(parseV1(ascii('PROXY UNKNOWN\r\n')), { kind: 'done', length: 15, addresses: null });
  t.same(parseV1(ascii('PROXY UNKNOWN ffff::1 ffff::2 1 2\r\n')), { kind: 'done', length: 35, addresses: null }, 'UNKNOWN: the rest of the line is ignored');
});

t.test('v1: what follows the header is not consumed', async (t) => {
  const h = 'PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\n';
  const r = parseV1(cat(ascii(h), [0x16, 0x03, 0x01]));
  t.equal(r.kind, 'done');
  if (r.kind === 'done') t.equal(r.length, h.length);
});

t.test('v1: every truncation asks for more', async (t) => {
  const h = ascii('PROXY TCP4 192.0.2.1 198.51.100.7 56324 443\r\n');
  for (let n = 0; n < h.length; n++) t.same(parseV1(h.subarray(0, n)), { kind: 'more' }, `${n} bytes`);
});

t.test('v1: longest header is 107 bytes; longer is refused', async (t) => {
  const max6 = 'PROXY TCP6 ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535\r\n';
  t.equal(max6.length, 104);
  t.equal(parseV1(ascii(max6)).kind, 'done');
  const unknown107 = `PROXY UNKNOWN ${'x'.repeat(V1_MAX - 16)}\r\n`;
  t.equal(unknown107.length, 107);
  t.equal(parseV1(ascii(unknown107)).kind, 'done', '107 bytes with CRLF');
  t.ok(isError(parseV1(ascii(`PROXY UNKNOWN ${'x'.repeat(V1_MAX - 15)}\r\n`))), '108 bytes');
  t.ok(isError(parseV1(ascii(`PROXY UNKNOWN ${'x'.repeat(200)}`))), 'no CRLF within 107 bytes');
  t.ok(isError(parseV1(ascii(`PROXY UNKNOWN ${'x'.repeat(V1_MAX - 15)}\r`))), 'CR at byte 107');
});

t.test('v1: refused', async (t) => {
  const bad: [string, string][] = [
    ['a ClientHello', '\x16\x03\x01\x00\xc8\x01'],
    ['lowercase', 'proxy TCP4 1.2.3.4 5.6.7.8 1 2\r\n'],
    ['no space after PROXY', 'PROXYTCP4 1.2.3.4 5.6.7.8 1 2\r\n'],
    ['a v2 header', '\r\n\r\n\0\r\nQUIT\n'],
    ['TCP5', 'PROXY TCP5 1.2.3.4 5.6.7.8 1 2\r\n'],
    ['UDP4', 'PROXY UDP4 1.2.3.4 5.6.7.8 1 2\r\n'],
    ['TCP4 with IPv6', 'PROXY TCP4 ::1 ::2 1 2\r\n'],
    ['TCP6 with IPv4', 'PROXY TCP6 1.2.3.4 5.6.7.8 1 2\r\n'],
    ['octet 256', 'PROXY TCP4 1.2.3.256 5.6.7.8 1 2\r\n'],
    ['leading zero in octet', 'PROXY TCP4 1.2.3.04 5.6.7.8 1 2\r\n'],
    ['three octets', 'PROXY TCP4 1.2.3 5.6.7.8 1 2\r\n'],
    ['IPv6 with zone', 'PROXY TCP6 fe80::1%eth0 ::2 1 2\r\n'],
    ['IPv6 in brackets', 'PROXY TCP6 [::1] ::2 1 2\r\n'],
    ['host name', 'PROXY TCP4 localhost 5.6.7.8 1 2\r\n'],
    ['non-numeric port', 'PROXY TCP4 1.2.3.4 5.6.7.8 http 2\r\n'],
    ['signed port', 'PROXY TCP4 1.2.3.4 5.6.7.8 +1 2\r\n'],
    ['hex port', 'PROXY TCP4 1.2.3.4 5.6.7.8 0x10 2\r\n'],
    ['port 0', 'PROXY TCP4 1.2.3.4 5.6.7.8 0 2\r\n'],
    ['port 65536', 'PROXY TCP4 1.2.3.4 5.6.7.8 1 65536\r\n'],
    ['port with a leading zero', 'PROXY TCP4 1.2.3.4 5.6.7.8 01 2\r\n'],
    ['missing port', 'PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n'],
    ['trailing garbage before CRLF', 'PROXY TCP4 1.2.3.4 5.6.7.8 1 2 x\r\n'],
    ['trailing space before CRLF', 'PROXY TCP4 1.2.3.4 5.6.7.8 1 2 \r\n'],
    ['two spaces', 'PROXY TCP4  1.2.3.4 5.6.7.8 1 2\r\n'],
    ['tab', 'PROXY TCP4\t1.2.3.4 5.6.7.8 1 2\r\n'],
    ['LF alone', 'PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n'],
    ['CR then garbage', 'PROXY TCP4 1.2.3.4 5.6.7.8 1 2\rX'],
    ['NUL inside', 'PROXY TCP4 1.2.3.4\x005.6.7.8 1 2\r\n'],
    ['8-bit byte', 'PROXY TCP4 1.2.3.4 5.6.7.8 1 2\xff\r\n'],
    ['empty protocol', 'PROXY \r\n'],
  ];
  for (const [name, s] of bad) {
    const r = parseV1(ascii(s));
    t.equal(r.kind, 'error', name);
    if (r.kind === 'error') t.match(r.error, /^PROXY header: v1: /, `${name}: one short reason`);
  }
});

t.test('v2 TCP4, TCP6, LOCAL, UNSPEC, TLVs', async (t) => {
  const h4 = v2tcp4();
  t.same(parseV2(h4), { kind: 'done', length: 28, addresses: { remoteAddress: '192.0.2.1', remotePort: 56324, localAddress: '198.51.100.7', localPort: 443 } });
  const h6 = v2tcp6();
  const r6 = parseV2(h6);
  t.same(r6, { kind: 'done', length: 52, addresses: { remoteAddress: '2001:db8:0:0:0:0:0:1', remotePort: 1, localAddress: '2001:db8:0:0:0:0:0:2', localPort: 65535 } });
  t.same(parseV2(v2(0, 0x00, [])), { kind: 'done', length: 16, addresses: null }, 'LOCAL');
  t.same(parseV2(v2(0, 0x11, [1, 2, 3, 4, 5, 6, 7, 8, 0, 1, 0, 2])), { kind: 'done', length: 28, addresses: null }, 'LOCAL: addresses ignored');
  t.same(parseV2(v2(1, 0x00, [])), { kind: 'done', length: 16, addresses: null }, 'PROXY with UNSPEC');
  const tlvs = [0x01, ...u16(2), 0x68, 0x32, 0x04, ...u16(0), 0xe0, ...u16(3), 1, 2, 3];
  const withTlv = v2tcp4(tlvs);
  const r = parseV2(cat(withTlv, [0x16, 0x03, 0x01]));
  t.equal(r.kind, 'done');
  if (r.kind === 'done') {
    t.equal(r.length, 28 + tlvs.length, 'TLVs skipped, the bytes after them left');
    t.equal(r.addresses?.remoteAddress, '192.0.2.1');
  }
});

t.test('v2: every truncation asks for more', async (t) => {
  for (const h of [v2tcp4(), v2tcp6(), v2tcp4([0x04, 0, 1, 9])]) {
    for (let n = 0; n < h.length; n++) t.same(parseV2(h.subarray(0, n)), { kind: 'more' }, `${n} of ${h.length} bytes`);
  }
});

t.test('v2: refused', async (t) => {
  const h = v2tcp4();
  const with_ = (at: number, value: number) => { const c = Uint8Array.from(h); c[at] = value; return c; };
  const bad: [string, Uint8Array][] = [
    ['a ClientHello', Uint8Array.of(0x16, 0x03, 0x01, 0x00, 0xc8, 0x01)],
    ['a v1 header', ascii('PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\n')],
    ...Array.from({ length: 12 }, (_, i) => [`signature byte ${i} wrong`, with_(i, h[i] ^ 0x40)] as [string, Uint8Array]),
    ['signature cut then wrong', Uint8Array.of(0x0d, 0x0a, 0x0d, 0x0a, 0x01)],
    ['version 1', with_(12, 0x11)],
    ['version 3', with_(12, 0x31)],
    ['command 2', with_(12, 0x22)],
    ['command 15', with_(12, 0x2f)],
    ['UDP over IPv4', with_(13, 0x12)],
    ['UDP over IPv6', v2(1, 0x22, new Array(36).fill(1))],
    ['unix stream', v2(1, 0x31, new Array(216).fill(0))],
    ['family 4', with_(13, 0x41)],
    ['TCP4 with 11 address bytes', v2(1, 0x11, new Array(11).fill(1))],
    ['TCP6 with the TCP4 length', v2(1, 0x21, new Array(12).fill(1))],
    ['source port 0', v2(1, 0x11, [1, 2, 3, 4, 5, 6, 7, 8, 0, 0, 0, 2])],
    ['destination port 0', v2(1, 0x11, [1, 2, 3, 4, 5, 6, 7, 8, 0, 1, 0, 0])],
    ['over-long', cat(V2_SIGNATURE, [0x21, 0x11, ...u16(V2_MAX_LENGTH + 1)])],
    ['length 65535', cat(V2_SIGNATURE, [0x21, 0x11, 0xff, 0xff])],
  ];
  for (const [name, b] of bad) {
    const r = parseV2(b);
    t.equal(r.kind, 'error', name);
    if (r.kind === 'error') t.match(r.error, /^PROXY header: v2: /, `${name}: one short reason`);
  }
  t.equal(parseV2(v2(0, 0x00, new Array(V2_MAX_LENGTH).fill(0))).kind, 'done', 'the longest accepted length');
});

t.test('parseProxyHeader picks the version; each refuses the other', async (t) => {
  t.equal(parseProxyHeader(1, ascii('PROXY UNKNOWN\r\n')).kind, 'done');
  t.equal(parseProxyHeader(2, ascii('PROXY UNKNOWN\r\n')).kind, 'error');
  t.equal(parseProxyHeader(2, v2tcp4()).kind, 'done');
  t.equal(parseProxyHeader(1, v2tcp4()).kind, 'error');
  t.same(parseProxyHeader(1, new Uint8Array(0)), { kind: 'more' });
  t.same(parseProxyHeader(2, new Uint8Array(0)), { kind: 'more' });
});
