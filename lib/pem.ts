// PEM parsing, run only inside the jail: the bytes were read as root, but a
// bug here must not run with root's rights. One file holds one private key and
// its certificate chain (leaf first), as tlswrapper expects.
import * as crypto from 'node:crypto';
import { errText } from './log';

export class PemError extends Error {}

export interface PemBlock {
  label: string;
  der: Buffer;
}

export interface KeyAndChain {
  key: crypto.KeyObject;
  /** DER certificates in file order; chain[0] is the leaf. */
  chain: Buffer[];
}

const BEGIN = '-----BEGIN ';
const DASHES = '-----';
/** A label is short and plain (RFC 7468 3: printable ASCII). */
const LABEL = /^[A-Z0-9 ]{1,64}$/;

/** base64 digit values by byte; -1: not a digit. */
const DIGIT = new Int8Array(256).fill(-1);
for (const [i, c] of [...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'].entries()) DIGIT[c.charCodeAt(0)] = i;
const isSpace = (b: number) => b === 0x20 || b === 0x09 || b === 0x0a || b === 0x0d;

/**
 * base64 of bytes[start, end), whitespace skipped, straight into a new
 * Buffer: no JS string ever holds the text (a string cannot be wiped, and a
 * key's base64 would stay in keyproc's memory). null if it is not base64.
 */
export function decodeBase64(bytes: Uint8Array, start: number, end: number): Buffer | null {
  let digits = 0;
  let padding = 0;
  for (let i = start; i < end; i++) {
    const b = bytes[i];
    if (isSpace(b)) continue;
    if (b === 0x3d) padding++;
    else if (DIGIT[b] < 0 || padding > 0) return null; // a digit after '=' too
    else digits++;
  }
  if (padding > 2 || (digits + padding) % 4 !== 0) return null;
  const out = Buffer.alloc((digits * 3) >> 2);
  let acc = 0;
  let bits = 0;
  let at = 0;
  for (let i = start; i < end && at < out.length; i++) {
    const v = DIGIT[bytes[i]];
    if (v < 0) continue;
    acc = ((acc << 6) | v) & 0xffffff;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[at++] = (acc >> bits) & 0xff;
    }
  }
  return out;
}

/**
 * Every PEM block, in order. Throws PemError on a broken block. Works on the
 * bytes (a string is taken as latin1): only labels become strings.
 */
export function pemBlocks(input: Uint8Array | string): PemBlock[] {
  const bytes = typeof input === 'string' ? Buffer.from(input, 'latin1') : Buffer.from(input.buffer, input.byteOffset, input.length);
  const blocks: PemBlock[] = [];
  for (let from = 0; ; ) {
    const begin = bytes.indexOf(BEGIN, from, 'latin1');
    if (begin < 0) break;
    const labelStart = begin + BEGIN.length;
    const labelEnd = bytes.indexOf(DASHES, labelStart, 'latin1');
    const label = labelEnd < 0 ? '' : bytes.toString('latin1', labelStart, labelEnd);
    if (!LABEL.test(label)) {
      // Not a BEGIN line after all: look further.
      from = labelStart;
      continue;
    }
    const bodyStart = labelEnd + DASHES.length;
    const endMarker = `-----END ${label}-----`;
    const end = bytes.indexOf(endMarker, bodyStart, 'latin1');
    if (end < 0) throw new PemError(`no END line for '${label}'`);
    const colon = bytes.indexOf(0x3a, bodyStart);
    if (colon >= 0 && colon < end) throw new PemError(`'${label}' has headers (encrypted PEM is not supported)`);
    const der = decodeBase64(bytes, bodyStart, end);
    if (!der) throw new PemError(`'${label}' is not valid base64`);
    if (der.length === 0) throw new PemError(`'${label}' is empty`);
    blocks.push({ label, der });
    from = end + endMarker.length;
  }
  return blocks;
}

const KEY_TYPES: Record<string, 'pkcs8' | 'pkcs1' | 'sec1'> = {
  'PRIVATE KEY': 'pkcs8',
  'RSA PRIVATE KEY': 'pkcs1',
  'EC PRIVATE KEY': 'sec1',
};

/** Labels that may appear and are skipped (openssl ecparam -genkey writes EC PARAMETERS). */
const IGNORED = new Set(['EC PARAMETERS']);

function spki(key: crypto.KeyObject): Buffer {
  return key.export({ type: 'spki', format: 'der' });
}

/**
 * One private key and at least one certificate; the leaf's public key must be
 * the private key's. Throws PemError with a message fit for a fatal log line.
 */
export function parseKeyAndChain(bytes: Uint8Array): KeyAndChain {
  const blocks = pemBlocks(bytes);
  let key: crypto.KeyObject | undefined;
  const chain: Buffer[] = [];
  try {
    for (const b of blocks) {
      if (b.label === 'CERTIFICATE') {
        chain.push(b.der);
      } else if (b.label in KEY_TYPES) {
        if (key) throw new PemError('more than one private key');
        try {
          key = crypto.createPrivateKey({ key: b.der, format: 'der', type: KEY_TYPES[b.label] });
        } catch (e) {
          throw new PemError(`unable to parse the '${b.label}' (${errText(e)})`);
        }
      } else if (b.label === 'ENCRYPTED PRIVATE KEY') {
        throw new PemError('encrypted private keys are not supported');
      } else if (!IGNORED.has(b.label)) {
        // Unknown objects are skipped, as a PEM reader for key+chain files would.
      }
    }
    if (!key) throw new PemError('no private key');
    if (chain.length === 0) throw new PemError('no certificate');
    let leafKey: crypto.KeyObject;
    try {
      for (const der of chain) new crypto.X509Certificate(der);
      leafKey = new crypto.X509Certificate(chain[0]).publicKey;
    } catch (e) {
      throw new PemError(`unable to parse a certificate (${errText(e)})`);
    }
    if (!spki(crypto.createPublicKey(key)).equals(spki(leafKey)))
      throw new PemError("the private key does not match the first certificate's public key");
    return { key, chain };
  } finally {
    // The DER of the key need not outlive the KeyObject (OpenSSL has its own copy).
    for (const b of blocks) if (b.label !== 'CERTIFICATE') b.der.fill(0);
  }
}
