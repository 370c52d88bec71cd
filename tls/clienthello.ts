// ClientHello parsing (RFC 8446 4.1.2 and the extensions of 4.2). Pure: bytes
// in, a plain object out, or a TlsAlert naming what was wrong. Structure
// errors surface as DecodeError from ByteReader (→ decode_error); semantic
// errors raise the specific alert the RFC asks for.

import { ByteReader, DecodeError } from '../lib/bytes';
import { TlsAlert } from './errors';
import { Alert, ExtensionType } from './tables';

export interface KeyShareEntry {
  group: number;
  keyExchange: Uint8Array;
}

export interface ClientHello {
  legacyVersion: number;
  random: Uint8Array;
  sessionId: Uint8Array;
  cipherSuites: number[];
  /** legacy_compression_methods as sent; must hold null (0). */
  compressionMethods: Uint8Array;
  /** Extension bodies by type, in the order sent. */
  extensions: Map<number, Uint8Array>;
  /** SNI host_name bytes as sent (not case-folded), or null. */
  serverName: Uint8Array | null;
  supportedVersions: number[] | null;
  supportedGroups: number[] | null;
  keyShares: KeyShareEntry[] | null;
  signatureSchemes: number[] | null;
  earlyData: boolean;
  hasCookie: boolean;
  /** record_size_limit (RFC 8449): the largest record the client takes, or null without the extension. */
  recordSizeLimit: number | null;
}

function u16List(body: Uint8Array, lengthBytes: 1 | 2, what: string): number[] {
  const r = new ByteReader(body);
  const v = new ByteReader(r.vector(lengthBytes));
  r.end();
  if (v.remaining === 0 || v.remaining % 2 !== 0) throw new DecodeError(`${what}: bad list length`);
  const out: number[] = [];
  while (v.remaining > 0) out.push(v.u16());
  return out;
}

/** server_name (RFC 6066 3): exactly one host_name entry. */
export function parseServerName(body: Uint8Array): Uint8Array {
  const r = new ByteReader(body);
  const list = new ByteReader(r.vector(2));
  r.end();
  let name: Uint8Array | null = null;
  if (list.remaining === 0) throw new DecodeError('server_name: empty list');
  while (list.remaining > 0) {
    const type = list.u8();
    const value = list.vector(2);
    if (type !== 0) continue; // other name types: none defined, skip
    if (name) throw new TlsAlert(Alert.illegalParameter, 'server_name: two host_name entries');
    name = value;
  }
  if (!name) throw new TlsAlert(Alert.illegalParameter, 'server_name: no host_name entry');
  if (name.length === 0) throw new TlsAlert(Alert.decodeError, 'server_name: empty host_name');
  // Whether the bytes are a plausible host name is policy, not syntax: the
  // glue checks it (and answers unrecognized_name), keyproc checks it again.
  return name;
}

export function parseKeyShares(body: Uint8Array): KeyShareEntry[] {
  const r = new ByteReader(body);
  const v = new ByteReader(r.vector(2));
  r.end();
  const out: KeyShareEntry[] = [];
  const seen = new Set<number>();
  while (v.remaining > 0) {
    const group = v.u16();
    const keyExchange = v.vector(2);
    if (keyExchange.length === 0) throw new DecodeError('key_share: empty key_exchange');
    // RFC 8446 4.2.8: no two shares for the same group.
    if (seen.has(group)) throw new TlsAlert(Alert.illegalParameter, 'key_share: duplicate group');
    seen.add(group);
    out.push({ group, keyExchange });
  }
  return out;
}

export function parseClientHello(body: Uint8Array): ClientHello {
  const r = new ByteReader(body);
  const legacyVersion = r.u16();
  const random = r.bytesOf(32);
  const sessionId = r.vector(1);
  // Out of the vector's range (<0..32>): decode_error (RFC 8446 6.2), as for any length that does not fit.
  if (sessionId.length > 32) throw new DecodeError('legacy_session_id: over 32 bytes');
  const suitesBytes = r.vector(2);
  if (suitesBytes.length === 0 || suitesBytes.length % 2 !== 0) throw new DecodeError('cipher_suites: bad length');
  const cipherSuites: number[] = [];
  for (const sr = new ByteReader(suitesBytes); sr.remaining > 0; ) cipherSuites.push(sr.u16());
  const compression = r.vector(1);
  if (compression.length === 0) throw new DecodeError('legacy_compression_methods: empty');

  const extensions = new Map<number, Uint8Array>();
  // A ClientHello without extensions is a pre-1.3 client: fine to parse, the
  // missing supported_versions then makes selection refuse it.
  if (r.remaining > 0) {
    const er = new ByteReader(r.vector(2));
    while (er.remaining > 0) {
      const type = er.u16();
      const data = er.vector(2);
      if (extensions.has(type)) throw new TlsAlert(Alert.illegalParameter, `duplicate extension ${type}`);
      extensions.set(type, data);
    }
  }
  r.end();

  const get = (t: number) => extensions.get(t);
  const versionsBody = get(ExtensionType.supportedVersions);
  const supportedVersions = versionsBody ? u16List(versionsBody, 1, 'supported_versions') : null;

  // TLS 1.3 requires exactly the null compression method (RFC 8446 4.1.2);
  // for a 1.2 client we never get that far.
  if (supportedVersions?.includes(0x0304) && !(compression.length === 1 && compression[0] === 0)) {
    throw new TlsAlert(Alert.illegalParameter, 'legacy_compression_methods is not [null]');
  }

  // pre_shared_key must be the last extension (RFC 8446 4.2.11).
  if (extensions.has(ExtensionType.preSharedKey)) {
    const order = [...extensions.keys()];
    if (order[order.length - 1] !== ExtensionType.preSharedKey) {
      throw new TlsAlert(Alert.illegalParameter, 'pre_shared_key is not the last extension');
    }
  }

  const sni = get(ExtensionType.serverName);
  const groups = get(ExtensionType.supportedGroups);
  const shares = get(ExtensionType.keyShare);
  const sigs = get(ExtensionType.signatureAlgorithms);
  const earlyData = get(ExtensionType.earlyData);
  if (earlyData && earlyData.length !== 0) throw new DecodeError('early_data: not empty in ClientHello');
  const rsl = get(ExtensionType.recordSizeLimit);
  if (rsl && rsl.length !== 2) throw new DecodeError('record_size_limit: not 2 bytes');
  const recordSizeLimit = rsl ? (rsl[0] << 8) | rsl[1] : null;
  // RFC 8449 4: below 64 is a fatal error.
  if (recordSizeLimit !== null && recordSizeLimit < 64) throw new TlsAlert(Alert.illegalParameter, `record_size_limit ${recordSizeLimit} is below 64`);

  return {
    legacyVersion,
    random,
    sessionId,
    cipherSuites,
    compressionMethods: compression,
    extensions,
    serverName: sni ? parseServerName(sni) : null,
    supportedVersions,
    supportedGroups: groups ? u16List(groups, 2, 'supported_groups') : null,
    keyShares: shares ? parseKeyShares(shares) : null,
    signatureSchemes: sigs ? u16List(sigs, 2, 'signature_algorithms') : null,
    earlyData: earlyData !== undefined,
    hasCookie: extensions.has(ExtensionType.cookie),
    recordSizeLimit,
  };
}
