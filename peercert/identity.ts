// Who the client is, from its (verified) leaf certificate.
import * as crypto from 'node:crypto';
import { AsnConvert } from '@peculiar/asn1-schema';
import { Certificate } from '@peculiar/asn1-x509';
import { attributeValues, formatName, OID_COMMON_NAME, OID_EMAIL_ADDRESS } from './names';

export interface PeerIdentity {
  /** SHA-256 of the leaf's DER, 64 lowercase hex digits. */
  sha256: string;
  /**
   * The subject, RDNs in certificate order: `C=CZ, O=Example, CN=alice`.
   * RFC 4514 escaping (`,+"\<>;=`, a leading space or '#', a trailing space
   * take a backslash), and every control or unprintable character as \XX
   * (its UTF-8 bytes), so it holds no control character. Known attribute
   * types by short name (C, ST, L, O, OU, CN, emailAddress, DC, UID,
   * serialNumber...), others as dotted OIDs; a value that is not a string
   * type as #hex of its DER.
   */
  subject: string;
  /**
   * Every commonName value, in order, raw; null for one that is no string or
   * holds a control or other unprintable character (names.ts hasUnprintable:
   * it is there, but unusable as a name and never given to prog).
   */
  commonNames: (string | null)[];
  /** Every emailAddress (PKCS#9) value of the subject, in order; same rule. */
  emailAddresses: (string | null)[];
}

/** The identity of a leaf certificate (DER). Throws if the DER does not parse. */
export function peerIdentity(leafDer: Uint8Array): PeerIdentity {
  const der = Buffer.from(leafDer.buffer, leafDer.byteOffset, leafDer.byteLength);
  const subject = AsnConvert.parse(der, Certificate).tbsCertificate.subject;
  return {
    sha256: crypto.createHash('sha256').update(der).digest('hex'),
    subject: formatName(subject),
    commonNames: attributeValues(subject, OID_COMMON_NAME),
    emailAddresses: attributeValues(subject, OID_EMAIL_ADDRESS),
  };
}
