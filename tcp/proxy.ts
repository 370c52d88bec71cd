// The outgoing PROXY protocol header (-P 1 / -P 2) that tells the backend who
// the original client is, built from the addresses tlswrapper hands its prog
// (TCPREMOTEIP/TCPREMOTEPORT: the client, TCPLOCALIP/TCPLOCALPORT: where it
// connected to) or from an incoming header (-p). Without complete, valid
// addresses: v1 "PROXY UNKNOWN", v2 the LOCAL command.
import { isIPv4, isIPv6 } from 'node:net';
import { parseIpv4, parseIpv6, parsePort, V2_SIGNATURE, type ProxyAddresses } from '../wire/proxyheader';

export type { ProxyAddresses };

/** "::ffff:a.b.c.d" -> "a.b.c.d"; any other valid IPv4/IPv6 literal as it is; null if invalid. */
function normaliseIp(raw: string | undefined): string | null {
  if (raw === undefined) return null;
  const mapped = /^::ffff:([0-9.]+)$/i.exec(raw);
  if (mapped && parseIpv4(mapped[1])) return mapped[1];
  return parseIpv4(raw) ?? parseIpv6(raw);
}

/**
 * The four TCP* variables, or why they cannot be used (the reason goes into a
 * log line; the header then says UNKNOWN/LOCAL).
 */
export function addressesFromEnv(env: NodeJS.ProcessEnv): { addresses: ProxyAddresses } | { missing: string } {
  const bad: string[] = [];
  const remoteAddress = normaliseIp(env.TCPREMOTEIP);
  if (remoteAddress === null) bad.push('TCPREMOTEIP');
  const remotePort = parsePort(env.TCPREMOTEPORT ?? '');
  if (remotePort === null) bad.push('TCPREMOTEPORT');
  const localAddress = normaliseIp(env.TCPLOCALIP);
  if (localAddress === null) bad.push('TCPLOCALIP');
  const localPort = parsePort(env.TCPLOCALPORT ?? '');
  if (localPort === null) bad.push('TCPLOCALPORT');
  if (remoteAddress === null || remotePort === null || localAddress === null || localPort === null) {
    return { missing: `${bad.join(', ')} missing or invalid` };
  }
  return { addresses: { remoteAddress, remotePort, localAddress, localPort } };
}

/** An IPv4 address as an IPv4-mapped IPv6 one, for a header whose other address is IPv6. */
const asIpv6 = (ip: string): string => (isIPv4(ip) ? `::ffff:${ip}` : ip);

/** 16 bytes of an IPv6 literal (may end in a dotted quad). */
export function ipv6Bytes(ip: string): Buffer {
  if (!isIPv6(ip)) throw new Error(`not an IPv6 address: ${ip}`);
  let text = ip;
  const tail: number[] = [];
  const quad = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (quad) {
    tail.push(...quad[1].split('.').map(Number));
    text = text.slice(0, -quad[1].length) + '0:0';
  }
  const [head, rest] = text.includes('::') ? text.split('::') : [text, undefined];
  const groups = (s: string) => (s === '' ? [] : s.split(':').map((g) => parseInt(g, 16)));
  const h = groups(head);
  const r = rest === undefined ? [] : groups(rest);
  const words = rest === undefined ? h : [...h, ...new Array(8 - h.length - r.length).fill(0), ...r];
  const out = Buffer.alloc(16);
  words.forEach((w, i) => out.writeUInt16BE(w, i * 2));
  if (tail.length) Buffer.from(tail).copy(out, 12);
  return out;
}

function sameFamily(a: ProxyAddresses): { v6: boolean; src: string; dst: string } {
  const v6 = !(isIPv4(a.remoteAddress) && isIPv4(a.localAddress));
  return v6
    ? { v6, src: asIpv6(a.remoteAddress), dst: asIpv6(a.localAddress) }
    : { v6, src: a.remoteAddress, dst: a.localAddress };
}

/** v1: "PROXY TCP4|TCP6 src dst sport dport\r\n", or "PROXY UNKNOWN\r\n" without addresses. */
export function proxyV1(a: ProxyAddresses | null): Buffer {
  if (!a) return Buffer.from('PROXY UNKNOWN\r\n', 'latin1');
  const { v6, src, dst } = sameFamily(a);
  return Buffer.from(`PROXY ${v6 ? 'TCP6' : 'TCP4'} ${src} ${dst} ${a.remotePort} ${a.localPort}\r\n`, 'latin1');
}

/** v2: PROXY command over TCP/IPv4 or TCP/IPv6, or the LOCAL command (no addresses) without them. */
export function proxyV2(a: ProxyAddresses | null): Buffer {
  if (!a) return Buffer.concat([Buffer.from(V2_SIGNATURE), Buffer.from([0x20, 0x00, 0x00, 0x00])]);
  const { v6, src, dst } = sameFamily(a);
  const ip = (s: string) => (v6 ? ipv6Bytes(s) : Buffer.from(s.split('.').map(Number)));
  const ports = Buffer.alloc(4);
  ports.writeUInt16BE(a.remotePort, 0);
  ports.writeUInt16BE(a.localPort, 2);
  const body = Buffer.concat([ip(src), ip(dst), ports]);
  const fixed = Buffer.from([0x21, v6 ? 0x21 : 0x11, body.length >> 8, body.length & 0xff]);
  return Buffer.concat([Buffer.from(V2_SIGNATURE), fixed, body]);
}

export function proxyHeader(version: 1 | 2, a: ProxyAddresses | null): Buffer {
  return version === 1 ? proxyV1(a) : proxyV2(a);
}
