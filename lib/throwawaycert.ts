// A throwaway P-256 key and a self-signed certificate for it, made in memory:
// what a process uses to run its own code paths once before it jails itself
// (netproc/warmup.ts), so the first real connection does not pay for cold
// code. The key signs nothing but that rehearsal and is never written out.
//
// The certificate is the smallest X.509 a TLS client parses (RFC 5280 4.1,
// version 1: no extensions): serial, ecdsa-with-SHA256, CN=tlswrapper
// warm-up as issuer and subject, a validity, the key.
import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto';

export interface ThrowawayCert {
  key: KeyObject;
  /** DER. */
  cert: Buffer;
  /** The same, PEM: what Node's tls client takes as a trust anchor. */
  certPem: string;
}

/** ecdsa_secp256r1_sha256, the TLS signature scheme this key signs with. */
export const THROWAWAY_SCHEME = 0x0403;

function tlv(tag: number, ...parts: Uint8Array[]): Buffer {
  const body = Buffer.concat(parts);
  const n = body.length;
  // Everything here is far below 64 KiB.
  const length = n < 0x80 ? [n] : n < 0x100 ? [0x81, n] : [0x82, n >> 8, n & 0xff];
  return Buffer.concat([Uint8Array.of(tag, ...length), body]);
}

const SEQUENCE = 0x30;
const SET = 0x31;
const ECDSA_WITH_SHA256 = tlv(SEQUENCE, tlv(0x06, Uint8Array.of(0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02)));
const NAME = tlv(SEQUENCE, tlv(SET, tlv(SEQUENCE, tlv(0x06, Uint8Array.of(0x55, 0x04, 0x03)), tlv(0x0c, Buffer.from('tlswrapper warm-up')))));
const VALIDITY = tlv(SEQUENCE, tlv(0x17, Buffer.from('250101000000Z')), tlv(0x17, Buffer.from('491231235959Z')));

export function throwawayCert(): ThrowawayCert {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const spki = publicKey.export({ type: 'spki', format: 'der' });
  const tbs = tlv(SEQUENCE, tlv(0x02, Uint8Array.of(1)), ECDSA_WITH_SHA256, NAME, VALIDITY, NAME, spki);
  const signature = sign('sha256', tbs, privateKey);
  const cert = tlv(SEQUENCE, tbs, ECDSA_WITH_SHA256, tlv(0x03, Uint8Array.of(0), signature));
  const base64 = cert.toString('base64').replace(/.{64}/g, '$&\n');
  return { key: privateKey, cert, certPem: `-----BEGIN CERTIFICATE-----\n${base64}\n-----END CERTIFICATE-----\n` };
}
