// Trust anchors (-a FILE): the certificates a client's chain must lead to.
import * as x509 from '@peculiar/x509';
import { type Cert, errorLine, parseCert } from './parse';

/** A problem with the anchor file, as one line for the user. */
export class AnchorError extends Error {
  override name = 'AnchorError';
}

export interface Anchors {
  /** DER subject Name of each anchor, for TLS certificate_authorities. */
  readonly names: Uint8Array[];
  /** Each anchor's DER, to pass to another process. */
  readonly ders: Uint8Array[];
}

/** The parsed anchors behind an Anchors object (made by parseAnchors/anchorsFromDer). */
const parsed = new WeakMap<Anchors, Cert[]>();

/** The anchors' parsed certificates; parses `ders` for an Anchors object made elsewhere. */
export function anchorCerts(anchors: Anchors): Cert[] {
  const have = parsed.get(anchors);
  if (have) return have;
  const certs = anchors.ders.map((d) => parseCert(d));
  parsed.set(anchors, certs);
  return certs;
}

/** Anchors from DER certificates (as netproc receives them over a pipe). */
export function anchorsFromDer(ders: Uint8Array[]): Anchors {
  if (ders.length === 0) throw new AnchorError('no certificate in anchor file');
  const certs = ders.map((der, i) => {
    try {
      return parseCert(der);
    } catch (e) {
      throw new AnchorError(`certificate ${i + 1} in anchor file does not parse: ${errorLine(e)}`);
    }
  });
  const anchors: Anchors = Object.freeze({
    names: certs.map((c) => Uint8Array.from(c.subjectDer)),
    ders: certs.map((c) => Uint8Array.from(c.der)),
  });
  parsed.set(anchors, certs);
  return anchors;
}

/** Anchors from PEM text: every CERTIFICATE block, in order; anything else in the text is ignored. */
export function parseAnchors(pem: string): Anchors {
  let blocks;
  try {
    blocks = x509.PemConverter.decodeWithHeaders(pem);
  } catch (e) {
    throw new AnchorError(`anchor file does not parse as PEM: ${errorLine(e)}`);
  }
  const ders = blocks.filter((b) => b.type === 'CERTIFICATE').map((b) => new Uint8Array(b.rawData));
  return anchorsFromDer(ders);
}
