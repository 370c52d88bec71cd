// A certificate Name as one line of text (RFC 4514 escaping, certificate
// order) and the values of its attributes. Names come parsed by
// @peculiar/asn1-x509; this file only prints them.
import type { Name } from '@peculiar/asn1-x509';

/** Short names for the attribute types we print by name; others print as dotted OIDs. */
const SHORT_NAMES = new Map<string, string>([
  ['2.5.4.6', 'C'],
  ['2.5.4.8', 'ST'],
  ['2.5.4.7', 'L'],
  ['2.5.4.9', 'street'],
  ['2.5.4.10', 'O'],
  ['2.5.4.11', 'OU'],
  ['2.5.4.3', 'CN'],
  ['2.5.4.4', 'SN'],
  ['2.5.4.42', 'GN'],
  ['2.5.4.43', 'initials'],
  ['2.5.4.44', 'generationQualifier'],
  ['2.5.4.12', 'title'],
  ['2.5.4.5', 'serialNumber'],
  ['2.5.4.17', 'postalCode'],
  ['2.5.4.15', 'businessCategory'],
  ['2.5.4.46', 'dnQualifier'],
  ['2.5.4.65', 'pseudonym'],
  ['2.5.4.97', 'organizationIdentifier'],
  ['1.2.840.113549.1.9.1', 'emailAddress'],
  ['0.9.2342.19200300.100.1.25', 'DC'],
  ['0.9.2342.19200300.100.1.1', 'UID'],
]);

export const OID_COMMON_NAME = '2.5.4.3';
export const OID_EMAIL_ADDRESS = '1.2.840.113549.1.9.1';

/** One attribute: its type (dotted OID) and value; `text` null when the value is not one of the string types. */
export interface NameAttribute {
  type: string;
  text: string | null;
  /** The value's DER, hex, when `text` is null. */
  hex: string;
}

/** The attributes of a Name, RDN by RDN, in certificate order. */
export function nameAttributes(name: Name): NameAttribute[][] {
  return name.map((rdn) => rdn.map((atv) => {
    const v = atv.value;
    const any = v.anyValue;
    if (any !== undefined) return { type: atv.type, text: null, hex: Buffer.from(any).toString('hex') };
    // Exactly one of the string choices is set; '' is a valid (empty) value.
    const text = v.utf8String ?? v.printableString ?? v.ia5String ?? v.bmpString ?? v.universalString ?? v.teletexString ?? '';
    return { type: atv.type, text, hex: '' };
  }));
}

// Control, format, private-use, unassigned, surrogate and line/paragraph separator code points.
const UNPRINTABLE = /[\p{Cc}\p{Cf}\p{Co}\p{Cn}\p{Cs}\p{Zl}\p{Zp}]/u;

/**
 * Does the string hold a character that must never reach a log or prog's
 * environment raw: a control (C0, DEL, C1), a format character (U+202E
 * RIGHT-TO-LEFT OVERRIDE...), a line or paragraph separator (U+2028, U+2029),
 * a private-use, unassigned or surrogate code point? The subject shows such
 * characters as \XX; a commonName or emailAddress holding one is unusable.
 */
export function hasUnprintable(s: string): boolean {
  return UNPRINTABLE.test(s);
}

const hexBytes = (s: string) => Array.from(Buffer.from(s, 'utf8'), (b) => '\\' + b.toString(16).toUpperCase().padStart(2, '0')).join('');

/** RFC 4514 value escaping, plus every unprintable character as \XX (its UTF-8 bytes). */
export function escapeValue(v: string): string {
  const chars = Array.from(v);
  return chars.map((c, i) => {
    if (/[,+"\\<>;=]/.test(c)) return '\\' + c;
    if (UNPRINTABLE.test(c)) return hexBytes(c);
    if ((c === ' ' && (i === 0 || i === chars.length - 1)) || (c === '#' && i === 0)) return '\\' + c;
    return c;
  }).join('');
}

/** `C=CZ, O=Example, CN=alice`: RDNs in certificate order, multi-valued RDNs joined by '+'. */
export function formatName(name: Name): string {
  return nameAttributes(name).map((rdn) => rdn.map((a) => {
    const type = SHORT_NAMES.get(a.type) ?? a.type;
    return `${type}=${a.text === null ? '#' + a.hex : escapeValue(a.text)}`;
  }).join('+')).join(', ');
}

/**
 * Every value of attributes of this type, in order: the raw string, or null
 * for one that is no string or holds an unprintable character (it still
 * counts): the same rule as the subject's escaping.
 */
export function attributeValues(name: Name, type: string): (string | null)[] {
  const out: (string | null)[] = [];
  for (const rdn of nameAttributes(name)) {
    for (const a of rdn) if (a.type === type) out.push(a.text !== null && !hasUnprintable(a.text) ? a.text : null);
  }
  return out;
}

/** Printable ASCII only, for a log line: anything else as \XX (UTF-8 bytes); at most `max` characters. */
export function asciiSafe(s: string, max = 120): string {
  let out = s.replace(/[^\x20-\x7e]/gu, hexBytes);
  if (out.length > max) out = out.slice(0, max - 3) + '...';
  return out;
}
