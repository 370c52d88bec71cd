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

const BEGIN = /-----BEGIN ([A-Z0-9 ]{1,64})-----/g;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** Every PEM block in the text, in order. Throws PemError on a broken block. */
export function pemBlocks(text: string): PemBlock[] {
  const blocks: PemBlock[] = [];
  BEGIN.lastIndex = 0;
  for (;;) {
    const m = BEGIN.exec(text);
    if (!m) break;
    const label = m[1];
    const endMarker = `-----END ${label}-----`;
    const bodyStart = m.index + m[0].length;
    const end = text.indexOf(endMarker, bodyStart);
    if (end < 0) throw new PemError(`no END line for '${label}'`);
    const body = text.slice(bodyStart, end);
    if (body.includes(':')) throw new PemError(`'${label}' has headers (encrypted PEM is not supported)`);
    const b64 = body.replace(/[\r\n\t ]/g, '');
    if (!BASE64.test(b64) || b64.length % 4 !== 0) throw new PemError(`'${label}' is not valid base64`);
    const der = Buffer.from(b64, 'base64');
    if (der.length === 0) throw new PemError(`'${label}' is empty`);
    blocks.push({ label, der });
    BEGIN.lastIndex = end + endMarker.length;
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
  const text = Buffer.from(bytes).toString('latin1');
  const blocks = pemBlocks(text);
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
    // Best effort: the DER copy of the key need not outlive the KeyObject.
    for (const b of blocks) if (b.label !== 'CERTIFICATE') b.der.fill(0);
  }
}
