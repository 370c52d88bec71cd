// One certificate, parsed once: @peculiar/x509 and @peculiar/asn1-x509 for
// its fields, node:crypto's X509Certificate for its public key and for
// checking signatures (synchronously).
import 'reflect-metadata';
import * as crypto from 'node:crypto';
import { AsnConvert } from '@peculiar/asn1-schema';
import { Certificate } from '@peculiar/asn1-x509';
import * as x509 from '@peculiar/x509';
import { asciiSafe, formatName } from './names';

export interface Cert {
  /** The DER as given. */
  der: Buffer;
  /** For the signature check and the public key. */
  node: crypto.X509Certificate;
  /** Fields: names, dates, extensions, signature algorithm. */
  x: x509.X509Certificate;
  asn: Certificate;
  subjectDer: Buffer;
  issuerDer: Buffer;
  extensions: x509.Extension[];
  /** Subject and issuer for a log line: printable ASCII, bounded. */
  label: string;
  issuerLabel: string;
}

/** Parse a DER certificate; throws (with the library's message) if any of the parsers refuses it. */
export function parseCert(der: Uint8Array): Cert {
  const bytes = new Uint8Array(der); // our own copy: the caller's buffer may change
  const buf = Buffer.from(bytes.buffer, 0, bytes.byteLength);
  const asn = AsnConvert.parse(bytes, Certificate);
  const x = new x509.X509Certificate(bytes);
  const node = new crypto.X509Certificate(buf);
  const extensions = x.extensions; // decodes every known extension now, so a broken one fails here
  return {
    der: buf,
    node,
    x,
    asn,
    subjectDer: Buffer.from(AsnConvert.serialize(asn.tbsCertificate.subject)),
    issuerDer: Buffer.from(AsnConvert.serialize(asn.tbsCertificate.issuer)),
    extensions,
    label: asciiSafe(formatName(asn.tbsCertificate.subject), 100),
    issuerLabel: asciiSafe(formatName(asn.tbsCertificate.issuer), 100),
  };
}

/** An error's message as one short printable line. */
export function errorLine(e: unknown): string {
  const m = e instanceof Error ? e.message : String(e);
  return asciiSafe(m.split('\n')[0] ?? '', 100);
}
