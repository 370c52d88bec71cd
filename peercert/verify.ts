// Judging a client's certificate chain (-a), synchronously, inside the jail.
//
// Rules (for the man page):
//  - The chain is as the client sent it: the first certificate is the
//    client's own (the leaf), the others are intermediates in any order.
//    More than 10 certificates, or one that does not parse: bad_certificate.
//  - A leaf identical (byte for byte) to an anchor is trusted: this pins a
//    self-signed client certificate. Its dates are still checked.
//  - Otherwise a path is built from the leaf to an anchor. A certificate's
//    issuer is an anchor or a supplied intermediate whose subject name equals
//    (as DER) the certificate's issuer name and whose public key verifies the
//    certificate's signature; anchors are tried first; at most 10
//    certificates, none twice. No such path: unknown_ca. An issuer with the
//    right name but no signature that verifies: bad_certificate.
//  - Anchors are trusted as given: their own dates, extensions and
//    self-signature are not checked (as webpki and BearSSL do).
//  - Each other certificate on the path (leaf and intermediates):
//    - must be valid now (notBefore <= now <= notAfter), else
//      certificate_expired ("expired or not currently valid", RFC 5246);
//    - must not be signed with MD5 or SHA-1, else bad_certificate;
//    - must have no critical extension other than basicConstraints,
//      keyUsage, extKeyUsage, subjectAltName, subjectKeyIdentifier,
//      authorityKeyIdentifier and certificatePolicies, else
//      unsupported_certificate (nameConstraints are not implemented, so a
//      critical one is refused); an extension twice: bad_certificate;
//    - extKeyUsage, if present, must include clientAuth or
//      anyExtendedKeyUsage, else unsupported_certificate.
//  - The leaf's keyUsage, if present, must include digitalSignature, else
//    unsupported_certificate.
//  - An intermediate must have basicConstraints with cA true, its
//    pathLenConstraint (if any) must allow the intermediates below it, and
//    its keyUsage (if present) must include keyCertSign; else bad_certificate.
//  - When several paths exist, the first that passes every check wins; when
//    none passes, the first failure is reported.
// The verdict's reason is one line of printable ASCII for a log.
import type { KeyObject } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import type { ChainVerdict } from '../tls/api';
import { Alert, Limits } from '../tls/tables';
import { type Anchors, anchorCerts } from './anchors';
import { asciiSafe } from './names';
import { type Cert, errorLine, parseCert } from './parse';

/** Most certificates accepted in a chain, and on a path (the anchor not counted). */
export const MAX_CHAIN = Limits.clientChain;
/** Bound on the path search (steps), whatever the client sends. */
const SEARCH_BUDGET = 1000;

const OID = {
  basicConstraints: '2.5.29.19',
  keyUsage: '2.5.29.15',
  extKeyUsage: '2.5.29.37',
  subjectAltName: '2.5.29.17',
  subjectKeyIdentifier: '2.5.29.14',
  authorityKeyIdentifier: '2.5.29.35',
  certificatePolicies: '2.5.29.32',
  nameConstraints: '2.5.29.30',
  clientAuth: '1.3.6.1.5.5.7.3.2',
  anyExtendedKeyUsage: '2.5.29.37.0',
} as const;

const KNOWN_CRITICAL = new Set<string>([
  OID.basicConstraints, OID.keyUsage, OID.extKeyUsage, OID.subjectAltName,
  OID.subjectKeyIdentifier, OID.authorityKeyIdentifier, OID.certificatePolicies,
]);

/** Signature algorithms with MD2, MD4, MD5 or SHA-1. */
const WEAK_SIGNATURE_OIDS = new Set<string>([
  '1.2.840.113549.1.1.2', // md2WithRSAEncryption
  '1.2.840.113549.1.1.3', // md4WithRSAEncryption
  '1.2.840.113549.1.1.4', // md5WithRSAEncryption
  '1.2.840.113549.1.1.5', // sha1WithRSAEncryption
  '1.3.14.3.2.29', // sha1WithRSASignature (OIW)
  '1.2.840.10045.4.1', // ecdsa-with-SHA1
  '1.2.840.10040.4.3', // dsa-with-sha1
]);

const fail = (alert: number, reason: string): ChainVerdict => ({ ok: false, alert, reason: asciiSafe(reason, 300) });

const isoSeconds = (d: Date) => d.toISOString().replace(/\.\d{3}Z$/, 'Z');

function role(i: number): string {
  return i === 0 ? 'client certificate' : 'intermediate';
}

function weakSignature(c: Cert): string | null {
  const oid = c.asn.signatureAlgorithm.algorithm;
  if (WEAK_SIGNATURE_OIDS.has(oid)) return oid;
  let hash: string | undefined;
  try {
    hash = c.x.signatureAlgorithm.hash?.name; // RSASSA-PSS carries its hash in parameters
  } catch {
    return null; // an algorithm the library does not name: node:crypto has verified it
  }
  return hash && /^(SHA-1|MD5)$/i.test(hash) ? hash : null;
}

function ext<T extends x509.Extension>(c: Cert, cls: abstract new (...args: never[]) => T): T | null {
  for (const e of c.extensions) if (e instanceof cls) return e;
  return null;
}

/** The checks on one non-anchor certificate at position i of the path (0: the leaf). */
function checkCert(c: Cert, i: number, now: Date): ChainVerdict | null {
  const who = `${role(i)} "${c.label}"`;
  const seen = new Set<string>();
  for (const e of c.extensions) {
    if (seen.has(e.type)) return fail(Alert.badCertificate, `${who} has extension ${e.type} twice`);
    seen.add(e.type);
    if (!e.critical || KNOWN_CRITICAL.has(e.type)) continue;
    if (e.type === OID.nameConstraints) {
      return fail(Alert.unsupportedCertificate, `${who} has critical nameConstraints, which are not implemented`);
    }
    return fail(Alert.unsupportedCertificate, `${who} has unknown critical extension ${e.type}`);
  }
  const weak = weakSignature(c);
  if (weak) return fail(Alert.badCertificate, `${who} is signed with a weak algorithm (${weak})`);
  if (i > 0) {
    const bc = ext(c, x509.BasicConstraintsExtension);
    if (!bc || !bc.ca) return fail(Alert.badCertificate, `${who} is not a CA (no basicConstraints cA)`);
    if (bc.pathLength !== undefined && i - 1 > bc.pathLength) {
      return fail(Alert.badCertificate, `${who} allows ${bc.pathLength} intermediates below it, the path has ${i - 1}`);
    }
    const ku = ext(c, x509.KeyUsagesExtension);
    if (ku && !(ku.usages & x509.KeyUsageFlags.keyCertSign)) {
      return fail(Alert.badCertificate, `${who} keyUsage lacks keyCertSign`);
    }
  } else {
    const ku = ext(c, x509.KeyUsagesExtension);
    if (ku && !(ku.usages & x509.KeyUsageFlags.digitalSignature)) {
      return fail(Alert.unsupportedCertificate, `${who} keyUsage lacks digitalSignature`);
    }
  }
  const eku = ext(c, x509.ExtendedKeyUsageExtension);
  if (eku && !eku.usages.some((u) => u === OID.clientAuth || u === OID.anyExtendedKeyUsage)) {
    return fail(Alert.unsupportedCertificate, `${who} extendedKeyUsage does not allow clientAuth`);
  }
  return checkDates(c, i, now);
}

function checkDates(c: Cert, i: number, now: Date): ChainVerdict | null {
  const t = now.getTime();
  if (t < c.x.notBefore.getTime()) {
    return fail(Alert.certificateExpired, `${role(i)} "${c.label}" is not valid before ${isoSeconds(c.x.notBefore)}`);
  }
  if (t > c.x.notAfter.getTime()) {
    return fail(Alert.certificateExpired, `${role(i)} "${c.label}" expired on ${isoSeconds(c.x.notAfter)}`);
  }
  return null;
}

/**
 * Judge a client's chain (DER, leaf first, as sent) against the anchors.
 * Never throws: a failure of the code itself is an internal_error verdict.
 */
export function verifyChain(chain: Uint8Array[], anchors: Anchors, now: Date = new Date()): ChainVerdict {
  try {
    return judge(chain, anchors, now);
  } catch (e) {
    return fail(Alert.internalError, `client certificate check failed: ${errorLine(e)}`);
  }
}

function judge(chain: Uint8Array[], anchors: Anchors, now: Date): ChainVerdict {
  if (chain.length === 0) return fail(Alert.certificateRequired, 'no client certificate');
  if (chain.length > MAX_CHAIN) {
    return fail(Alert.badCertificate, `client sent ${chain.length} certificates, at most ${MAX_CHAIN} are accepted`);
  }
  const certs: Cert[] = [];
  for (let i = 0; i < chain.length; i++) {
    try {
      certs.push(parseCert(chain[i]));
    } catch (e) {
      return fail(Alert.badCertificate, `${i === 0 ? 'client certificate' : `certificate ${i + 1} of the client's chain`} does not parse: ${errorLine(e)}`);
    }
  }
  const trusted = anchorCerts(anchors);
  const leaf = certs[0];
  const success = (): ChainVerdict => ({ ok: true, publicKey: leaf.node.publicKey as KeyObject });

  if (trusted.some((a) => a.der.equals(leaf.der))) return checkDates(leaf, 0, now) ?? success();

  // Signature checks, each pair at most once (k: child index, issuer index; anchors as -1 - j).
  const sigs = new Map<string, boolean>();
  const signs = (ci: number, child: Cert, ii: number, issuer: Cert): boolean => {
    const key = `${ci}/${ii}`;
    let ok = sigs.get(key);
    if (ok === undefined) {
      try {
        ok = child.node.verify(issuer.node.publicKey);
      } catch {
        ok = false;
      }
      sigs.set(key, ok);
    }
    return ok;
  };

  // What the search saw: the first path that failed a check, the first
  // certificate whose issuer's name matched but no signature verified, the
  // deepest certificate whose issuer is nowhere.
  const seen = {
    budget: SEARCH_BUDGET,
    firstFailure: null as ChainVerdict | null,
    badSignature: null as ChainVerdict | null,
    deadEnd: null as { depth: number; cert: Cert } | null,
  };
  const path: { cert: Cert; index: number }[] = [{ cert: leaf, index: 0 }];
  const used = new Set<number>([0]);

  const validate = (): ChainVerdict | null => {
    for (let i = 0; i < path.length; i++) {
      const v = checkCert(path[i].cert, i, now);
      if (v) return v;
    }
    return null;
  };

  const search = (): boolean => {
    if (--seen.budget < 0) return false;
    const { cert: cur, index: ci } = path[path.length - 1];
    // An issuer of the right name was found; one of them verified the signature.
    let named = false;
    let signed = false;
    for (let j = 0; j < trusted.length; j++) {
      const a = trusted[j];
      if (!a.subjectDer.equals(cur.issuerDer)) continue;
      named = true;
      if (!signs(ci, cur, -1 - j, a)) continue;
      signed = true;
      const v = validate();
      if (!v) return true;
      seen.firstFailure ??= v;
    }
    if (path.length < MAX_CHAIN) {
      for (let k = 1; k < certs.length; k++) {
        const c = certs[k];
        if (used.has(k) || !c.subjectDer.equals(cur.issuerDer)) continue;
        named = true;
        if (!signs(ci, cur, k, c)) continue;
        signed = true;
        used.add(k);
        path.push({ cert: c, index: k });
        const found = search();
        path.pop();
        used.delete(k);
        if (found) return true;
      }
    }
    if (named && !signed) {
      seen.badSignature ??= fail(Alert.badCertificate,
        `the signature of ${role(path.length - 1)} "${cur.label}" does not verify with any issuer of that name`);
    } else if (!named && (!seen.deadEnd || path.length > seen.deadEnd.depth)) {
      seen.deadEnd = { depth: path.length, cert: cur };
    }
    return false;
  };

  if (search()) return success();
  if (seen.firstFailure) return seen.firstFailure;
  if (seen.badSignature) return seen.badSignature;
  if (seen.budget < 0) return fail(Alert.badCertificate, 'client chain too complex to search');
  const end = seen.deadEnd ?? { depth: 1, cert: leaf };
  return fail(Alert.unknownCa,
    `${role(end.depth - 1)} "${end.cert.label}" has issuer "${end.cert.issuerLabel}", which is neither a trusted anchor nor in the chain`);
}
