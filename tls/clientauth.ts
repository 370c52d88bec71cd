// Client certificate authentication, the server's side: our CertificateRequest
// (RFC 8446 4.3.2; RFC 5246 7.4.4), the client's Certificate (RFC 8446 4.4.2;
// RFC 5246 7.4.6) and its CertificateVerify (RFC 8446 4.4.3; RFC 5246 7.4.8,
// RFC 4346 7.4.8 for TLS 1.0/1.1; RFC 8422 for ECDSA and EdDSA). The states in
// engine.ts and handshake12.ts call these; the chain itself is judged by
// ClientAuth.verifyChain (peercert/), and all we keep of its verdict is the
// leaf's public key, which the CertificateVerify must then prove.

import type { KeyObject } from 'node:crypto';
import { ByteReader, ByteWriter, DecodeError } from '../lib/bytes';
import type { ClientAuth } from './api';
import { ClientCertificateAlert, fatalAlertCode } from './errors';
import { handshakeMessage } from './messages';
import { SCHEMES_BELOW_TLS12, signatureSchemeByCode } from './registry';
import { verifyByScheme } from './signature';
import { Alert, ClientCertificateType, ExtensionType, HandshakeType, Limits, ProtocolVersion } from './tables';

const MAX_CLIENT_CHAIN = Limits.clientChain;

/** A client whose chain verifyChain accepted; its CertificateVerify is still to come. */
export interface ClientIdentity {
  /** DER, leaf first, as the client sent it. */
  chain: Uint8Array[];
  /** The leaf's key, from verifyChain's verdict. */
  publicKey: KeyObject;
}

/**
 * The schemes we verify, in the order we offer them; what each means (key
 * type, curve, versions) is the registry's. rsa_pkcs1_* is listed although
 * TLS 1.3 forbids it in a CertificateVerify: without signature_algorithms_cert
 * our list also says which signatures the client's chain may carry (RFC 8446
 * 4.2.3). Nothing with SHA-1.
 */
export const CLIENT_SIGNATURE_SCHEMES: readonly number[] = [
  0x0403, // ecdsa_secp256r1_sha256
  0x0503, // ecdsa_secp384r1_sha384
  0x0603, // ecdsa_secp521r1_sha512
  0x0807, // ed25519
  0x0804, // rsa_pss_rsae_sha256
  0x0805, // rsa_pss_rsae_sha384
  0x0806, // rsa_pss_rsae_sha512
  0x0809, // rsa_pss_pss_sha256
  0x080a, // rsa_pss_pss_sha384
  0x080b, // rsa_pss_pss_sha512
  0x0401, // rsa_pkcs1_sha256
  0x0501, // rsa_pkcs1_sha384
  0x0601, // rsa_pkcs1_sha512
];

/**
 * Whether a client key may sign with `scheme` in TLS 1.2 or 1.3
 * (illegal_parameter when not): one we offer, for the key's type, allowed in
 * the version, and in TLS 1.3 on the curve an ECDSA scheme names.
 */
export function schemeFitsKey(scheme: number, key: KeyObject, version: number): boolean {
  const known = signatureSchemeByCode(scheme);
  if (!known || !CLIENT_SIGNATURE_SCHEMES.includes(scheme) || known.keyType !== key.asymmetricKeyType) return false;
  if (!known.versions.includes(version)) return false;
  // TLS 1.2 lets any curve sign with any ECDSA scheme.
  return version < ProtocolVersion.tls13 || known.curve === null || known.curve === key.asymmetricKeyDetails?.namedCurve;
}

/**
 * TLS 1.0/1.1 have no scheme in CertificateVerify: the key type fixes it
 * (RFC 4346 7.4.8). RSA signs MD5(m) ‖ SHA-1(m) with PKCS#1 v1.5 and no
 * DigestInfo (rsa_md5sha1), ECDSA signs SHA-1(m) (RFC 4492 5.8, ecdsa_sha1).
 * EdDSA needs signature_algorithms: not here.
 */
function schemeBelowTls12(key: KeyObject): number | undefined {
  return SCHEMES_BELOW_TLS12.find((s) => signatureSchemeByCode(s)?.keyType === key.asymmetricKeyType);
}

/** Whether we could check any CertificateVerify this key makes in this version. */
function keyUsable(key: KeyObject, version: number): boolean {
  if (version < ProtocolVersion.tls12) return schemeBelowTls12(key) !== undefined;
  return CLIENT_SIGNATURE_SCHEMES.some((s) => schemeFitsKey(s, key, version));
}

// ---------------------------------------------------------------- CertificateRequest

function schemeList(): Uint8Array {
  const w = new ByteWriter();
  for (const s of CLIENT_SIGNATURE_SCHEMES) w.u16(s);
  return new ByteWriter().vector(2, w.finish()).finish();
}

/**
 * The anchors' names as a DistinguishedName list body (each <1..2^16-1>), or
 * null when there are none or they would take more than `room` bytes: a
 * client does without the hint, it cannot do without the message.
 */
function authorityNames(authorities: Uint8Array[], room: number): Uint8Array | null {
  const w = new ByteWriter();
  let size = 0;
  for (const name of authorities) {
    if (name.length === 0 || name.length > 0xffff) continue;
    size += 2 + name.length;
    if (size > room) return null;
    w.vector(2, name);
  }
  return size > 0 ? w.finish() : null;
}

/** TLS 1.3 CertificateRequest: empty context, signature_algorithms, certificate_authorities when it fits. */
export function certificateRequest13(authorities: Uint8Array[]): Uint8Array {
  const sigAlgs = schemeList();
  const ext = new ByteWriter().u16(ExtensionType.signatureAlgorithms).vector(2, sigAlgs);
  // The whole extensions block is <2..2^16-1>: the names get what the other extension and the headers leave.
  const names = authorityNames(authorities, 0xffff - (4 + sigAlgs.length) - 4 - 2);
  if (names) ext.u16(ExtensionType.certificateAuthorities).vector(2, new ByteWriter().vector(2, names).finish());
  const body = new ByteWriter()
    .vector(1, new Uint8Array(0)) // certificate_request_context: empty outside post-handshake auth
    .vector(2, ext.finish())
    .finish();
  return handshakeMessage(HandshakeType.certificateRequest, body);
}

/**
 * TLS 1.2 (1.1, 1.0) CertificateRequest: rsa_sign and ecdsa_sign (which also
 * covers Ed25519, RFC 8422 5.5), the schemes (TLS 1.2 only; the field does not
 * exist before), the anchors' names (an empty list when they do not fit).
 */
export function certificateRequest12(version: number, authorities: Uint8Array[]): Uint8Array {
  const w = new ByteWriter().vector(1, Uint8Array.of(ClientCertificateType.rsaSign, ClientCertificateType.ecdsaSign));
  if (version >= ProtocolVersion.tls12) w.bytes(schemeList());
  w.vector(2, authorityNames(authorities, 0xffff) ?? new Uint8Array(0));
  return handshakeMessage(HandshakeType.certificateRequest, w.finish());
}

// ---------------------------------------------------------------- the client's Certificate

function tooMany(): never {
  throw new ClientCertificateAlert(Alert.badCertificate, `client sent more than ${MAX_CLIENT_CHAIN} certificates`);
}

/** TLS 1.3 Certificate from the client: the chain, possibly empty. */
export function parseClientCertificate13(body: Uint8Array): Uint8Array[] {
  const r = new ByteReader(body);
  const context = r.vector(1);
  const list = new ByteReader(r.vector(3));
  r.end();
  // We sent an empty certificate_request_context; the answer must echo it.
  if (context.length !== 0) throw new ClientCertificateAlert(Alert.illegalParameter, 'client Certificate with a request context we did not send');
  const chain: Uint8Array[] = [];
  while (list.remaining > 0) {
    if (chain.length === MAX_CLIENT_CHAIN) tooMany();
    const cert = list.vector(3);
    const extensions = list.vector(2);
    if (cert.length === 0) throw new DecodeError('client Certificate: empty cert_data');
    // Only extensions we asked for may appear here (RFC 8446 4.4.2), and we asked for none.
    if (extensions.length !== 0) throw new ClientCertificateAlert(Alert.unsupportedExtension, 'client Certificate entry with extensions');
    chain.push(new Uint8Array(cert)); // a copy: it outlives the record buffers (peerCertificates)
  }
  return chain;
}

/** TLS 1.2 (1.1, 1.0) Certificate from the client: the chain, possibly empty. */
export function parseClientCertificate12(body: Uint8Array): Uint8Array[] {
  const r = new ByteReader(body);
  const list = new ByteReader(r.vector(3));
  r.end();
  const chain: Uint8Array[] = [];
  while (list.remaining > 0) {
    if (chain.length === MAX_CLIENT_CHAIN) tooMany();
    const cert = list.vector(3);
    if (cert.length === 0) throw new DecodeError('client Certificate: empty ASN.1Cert');
    chain.push(new Uint8Array(cert)); // a copy: it outlives the record buffers (peerCertificates)
  }
  return chain;
}

/**
 * Judge the chain: none at all is certificate_required in TLS 1.3 and
 * handshake_failure before (certificate_required does not exist there);
 * verifyChain's refusal goes out as its alert; a key whose signatures we
 * cannot check is unsupported_certificate.
 */
export function acceptClientChain(auth: ClientAuth, chain: Uint8Array[], version: number): ClientIdentity {
  if (chain.length === 0) {
    throw new ClientCertificateAlert(version >= ProtocolVersion.tls13 ? Alert.certificateRequired : Alert.handshakeFailure, 'client sent no certificate');
  }
  const verdict = auth.verifyChain(chain);
  if (!verdict.ok) throw new ClientCertificateAlert(fatalAlertCode(verdict.alert), verdict.reason);
  const key = verdict.publicKey;
  if (key?.type !== 'public') throw new ClientCertificateAlert(Alert.internalError, 'verifyChain gave no public key');
  if (!keyUsable(key, version)) {
    throw new ClientCertificateAlert(Alert.unsupportedCertificate, `client key (${key.asymmetricKeyType}) cannot sign anything we accept`);
  }
  return { chain, publicKey: key };
}

// ---------------------------------------------------------------- the client's CertificateVerify

const CLIENT_CV_CONTEXT = new TextEncoder().encode('TLS 1.3, client CertificateVerify');

/** What a TLS 1.3 client CertificateVerify signs (RFC 8446 4.4.3). */
export function clientCertificateVerifyContent(transcriptHash: Uint8Array): Uint8Array {
  return new ByteWriter().bytes(new Uint8Array(64).fill(0x20)).bytes(CLIENT_CV_CONTEXT).u8(0).bytes(transcriptHash).finish();
}

function checkSchemeSignature(client: ClientIdentity, version: number, scheme: number, content: Uint8Array, signature: Uint8Array): void {
  if (!CLIENT_SIGNATURE_SCHEMES.includes(scheme) || !schemeFitsKey(scheme, client.publicKey, version)) {
    throw new ClientCertificateAlert(Alert.illegalParameter, `client CertificateVerify with scheme 0x${scheme.toString(16)}, not offered or not for its key`);
  }
  if (!verifyByScheme(client.publicKey, scheme, content, signature)) {
    throw new ClientCertificateAlert(Alert.decryptError, 'client CertificateVerify does not verify');
  }
}

/** TLS 1.3: the client's CertificateVerify over the transcript hash through its Certificate. */
export function checkClientCertificateVerify13(client: ClientIdentity, body: Uint8Array, transcriptHash: Uint8Array): void {
  const r = new ByteReader(body);
  const scheme = r.u16();
  const signature = r.vector(2);
  r.end();
  checkSchemeSignature(client, ProtocolVersion.tls13, scheme, clientCertificateVerifyContent(transcriptHash), signature);
}

/** TLS 1.2 and below: the client's CertificateVerify over every handshake message so far (ClientHello .. ClientKeyExchange). */
export function checkClientCertificateVerify12(client: ClientIdentity, body: Uint8Array, version: number, messages: Uint8Array): void {
  const r = new ByteReader(body);
  if (version >= ProtocolVersion.tls12) {
    const scheme = r.u16();
    const signature = r.vector(2);
    r.end();
    return checkSchemeSignature(client, version, scheme, messages, signature);
  }
  const signature = r.vector(2);
  r.end();
  // verifyByScheme: bad padding, a wrong length or bad DER just do not verify.
  const scheme = schemeBelowTls12(client.publicKey);
  if (scheme === undefined || !verifyByScheme(client.publicKey, scheme, messages, signature)) {
    throw new ClientCertificateAlert(Alert.decryptError, 'client CertificateVerify does not verify');
  }
}
