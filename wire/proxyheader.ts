// The PROXY protocol header (v1 text, v2 binary) a load balancer sends before
// the ClientHello. A strict, pure parser over the bytes read so far: it says
// "need more", "done: the header is this many bytes, with these addresses",
// or why the bytes are no PROXY header. Nothing here trusts a length it did
// not check against the buffer first.
import { isIP } from 'node:net';
import type { ProxyAddresses } from './ctl';

export type { ProxyAddresses };

export type ProxyParse =
  | { kind: 'more' }
  | { kind: 'done'; length: number; addresses: ProxyAddresses | null }
  | { kind: 'error'; error: string };

/** v1: "PROXY " ... "\r\n", at most 107 bytes with the CRLF. */
export const V1_MAX = 107;
/** v2: the 12-byte signature. */
export const V2_SIGNATURE = Uint8Array.of(0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a);
/** v2: the most address + TLV bytes we accept after the 16-byte fixed part. */
export const V2_MAX_LENGTH = 512;

const V1_PREFIX = Uint8Array.from(Buffer.from('PROXY ', 'latin1'));

const more = (): ProxyParse => ({ kind: 'more' });
const error = (e: string): ProxyParse => ({ kind: 'error', error: `PROXY header: ${e}` });

/** Whether buf starts with (as much of) prefix (as buf has). */
function matchesPrefix(buf: Uint8Array, prefix: Uint8Array): boolean {
  const n = Math.min(buf.length, prefix.length);
  for (let i = 0; i < n; i++) if (buf[i] !== prefix[i]) return false;
  return true;
}

/** A port in decimal, 1..65535, no leading zeros; null otherwise. */
export function parsePort(s: string): number | null {
  if (!/^[1-9][0-9]{0,4}$/.test(s)) return null;
  const n = Number(s);
  return n <= 65535 ? n : null;
}

/** Dotted-quad IPv4, each part 0..255 without leading zeros; null otherwise. */
export function parseIpv4(s: string): string | null {
  const part = '(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])';
  return new RegExp(`^${part}(?:\\.${part}){3}$`).test(s) ? s : null;
}

/** An IPv6 literal (no brackets, no zone); null otherwise. */
export function parseIpv6(s: string): string | null {
  return /^[0-9A-Fa-f:.]{2,45}$/.test(s) && isIP(s) === 6 ? s : null;
}

/** v1 header at the start of buf. */
export function parseV1(buf: Uint8Array): ProxyParse {
  if (!matchesPrefix(buf, V1_PREFIX)) return error('v1: bad signature');
  let end = -1;
  for (let i = 0; i < Math.min(buf.length, V1_MAX); i++) {
    const c = buf[i];
    if (c === 0x0d) {
      end = i;
      break;
    }
    if (c < 0x20 || c > 0x7e) return error('v1: bad character');
  }
  if (end < 0) return buf.length >= V1_MAX ? error('v1: too long') : more();
  if (end + 2 > V1_MAX) return error('v1: too long');
  if (end + 1 >= buf.length) return more();
  if (buf[end + 1] !== 0x0a) return error('v1: CR without LF');
  const length = end + 2;
  const fields = Buffer.from(buf.subarray(0, end)).toString('latin1').split(' ');
  if (fields[1] === 'UNKNOWN') return { kind: 'done', length, addresses: null };
  if (fields.length !== 6) return error('v1: wrong number of fields');
  const [, proto, src, dst, sport, dport] = fields;
  const ip = proto === 'TCP4' ? parseIpv4 : proto === 'TCP6' ? parseIpv6 : null;
  if (!ip) return error('v1: unknown protocol');
  const remoteAddress = ip(src);
  const localAddress = ip(dst);
  if (remoteAddress === null || localAddress === null) return error('v1: bad address');
  const remotePort = parsePort(sport);
  const localPort = parsePort(dport);
  if (remotePort === null || localPort === null) return error('v1: bad port');
  return { kind: 'done', length, addresses: { localAddress, localPort, remoteAddress, remotePort } };
}

function ipv4At(b: Uint8Array, at: number): string {
  return `${b[at]}.${b[at + 1]}.${b[at + 2]}.${b[at + 3]}`;
}

function ipv6At(b: Uint8Array, at: number): string {
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((b[at + i] << 8) | b[at + i + 1]).toString(16));
  return groups.join(':');
}

const u16At = (b: Uint8Array, at: number): number => (b[at] << 8) | b[at + 1];

/** v2 header at the start of buf. */
export function parseV2(buf: Uint8Array): ProxyParse {
  if (!matchesPrefix(buf, V2_SIGNATURE)) return error('v2: bad signature');
  if (buf.length < 16) return more();
  const verCmd = buf[12];
  if (verCmd >> 4 !== 2) return error('v2: bad version');
  const command = verCmd & 0x0f;
  if (command > 1) return error('v2: bad command');
  const famProto = buf[13];
  const declared = u16At(buf, 14);
  if (declared > V2_MAX_LENGTH) return error('v2: too long');
  const length = 16 + declared;
  if (buf.length < length) return more();
  if (command === 0) return { kind: 'done', length, addresses: null }; // LOCAL: the proxy's own connection
  switch (famProto) {
    case 0x00: // UNSPEC
      return { kind: 'done', length, addresses: null };
    case 0x11: // TCP over IPv4: src, dst, sport, dport
      if (declared < 12) return error('v2: addresses truncated');
      return checkedV2(length, ipv4At(buf, 16), ipv4At(buf, 20), u16At(buf, 24), u16At(buf, 26));
    case 0x21: // TCP over IPv6
      if (declared < 36) return error('v2: addresses truncated');
      return checkedV2(length, ipv6At(buf, 16), ipv6At(buf, 32), u16At(buf, 48), u16At(buf, 50));
    default:
      return error('v2: unsupported address family or protocol');
  }
}

function checkedV2(length: number, remoteAddress: string, localAddress: string, remotePort: number, localPort: number): ProxyParse {
  if (remotePort === 0 || localPort === 0) return error('v2: bad port');
  return { kind: 'done', length, addresses: { localAddress, localPort, remoteAddress, remotePort } };
}

/** The header of the given version (-p) at the start of buf. */
export function parseProxyHeader(version: 1 | 2, buf: Uint8Array): ProxyParse {
  return version === 1 ? parseV1(buf) : parseV2(buf);
}
