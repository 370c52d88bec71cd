// Choosing version, suite and group from a parsed ClientHello. Pure, so the
// rules (and the alert each refusal raises) can be tested without a handshake.

import type { EngineConfig } from './api';
import type { ClientHello, KeyShareEntry } from './clienthello';
import { TlsAlert } from './errors';
import { Alert, ExtensionType, groupByCode, ProtocolVersion, SignalingSuite, suite12ByCode, suiteByCode, versionByCode, type CipherSuite, type NamedGroup } from './tables';

export type Selection =
  /** The client sent a usable key share: go on with a ServerHello. */
  | { kind: 'accept'; suite: CipherSuite; group: NamedGroup; share: KeyShareEntry }
  /** A common group exists but the client sent no share for it: HelloRetryRequest. */
  | { kind: 'retry'; suite: CipherSuite; group: NamedGroup };

/** TLS 1.2 is on: the version range covers it and there is a 1.2 suite to serve. */
export function tls12Enabled(cfg: EngineConfig): boolean {
  return (cfg.suites12?.length ?? 0) > 0 && cfg.minVersion <= ProtocolVersion.tls12 && cfg.maxVersion >= ProtocolVersion.tls12;
}

export function tls13Enabled(cfg: EngineConfig): boolean {
  return cfg.minVersion <= ProtocolVersion.tls13 && cfg.maxVersion >= ProtocolVersion.tls13;
}

/** The pre-1.3 versions we speak under this config, best first: 1.2, then 1.1 and 1.0 only when -m asks. */
export function legacyVersions(cfg: EngineConfig): number[] {
  const suites = cfg.suites12 ?? [];
  if (suites.length === 0) return [];
  // 1.1 and 1.0 need a suite they can use (SHA-1 CBC): without one, such a client gets protocol_version.
  const belowOk = suites.some((c) => suite12ByCode(c)?.legacyOk);
  return [ProtocolVersion.tls12, ProtocolVersion.tls11, ProtocolVersion.tls10].filter(
    (v) => cfg.minVersion <= v && v <= cfg.maxVersion && (v === ProtocolVersion.tls12 || belowOk),
  );
}

/** The highest version the client announces: supported_versions (GREASE ignored) or legacy_version. */
export function clientMaxVersion(ch: ClientHello): number {
  if (!ch.supportedVersions) return ch.legacyVersion;
  const known = ch.supportedVersions.filter((v) => v >= 0x0300 && v <= ProtocolVersion.tls13);
  return known.length > 0 ? Math.max(...known) : 0;
}

/**
 * The version to speak: TLS 1.3 whenever both sides can, else the best of
 * TLS 1.2 (1.1, 1.0) both sides can. Anything else is answered as TLS 1.3 so that checkTls13
 * raises the refusal (protocol_version and friends) as it always has.
 * A TLS_FALLBACK_SCSV from a client below our best version is refused first
 * (RFC 7507 3).
 */
export function negotiateVersion(cfg: EngineConfig, ch: ClientHello): number {
  // RFC 8446 D.5: a ClientHello.legacy_version of 0x0300 (SSL 3.0) or less is refused outright.
  if (ch.legacyVersion <= 0x0300) throw new TlsAlert(Alert.protocolVersion, `ClientHello legacy_version 0x${ch.legacyVersion.toString(16).padStart(4, '0')}`);
  const legacy = legacyVersions(cfg);
  const ours = tls13Enabled(cfg) ? ProtocolVersion.tls13 : legacy.length > 0 ? legacy[0] : cfg.maxVersion;
  const theirs = clientMaxVersion(ch);
  if (ch.cipherSuites.includes(SignalingSuite.fallback) && theirs < ours) {
    throw new TlsAlert(Alert.inappropriateFallback, 'TLS_FALLBACK_SCSV from a client below our highest version');
  }
  if (tls13Enabled(cfg) && ch.supportedVersions?.includes(ProtocolVersion.tls13)) return ProtocolVersion.tls13;
  for (const v of legacy) {
    const offered = ch.supportedVersions ? ch.supportedVersions.includes(v) : ch.legacyVersion >= v;
    if (offered) return v;
  }
  // An old client below our minimum: say so (checkTls13 would blame a missing TLS 1.3).
  if (theirs !== 0 && theirs < cfg.minVersion && theirs < ProtocolVersion.tls13) {
    const name = (v: number) => versionByCode(v)?.name ?? `0x${v.toString(16).padStart(4, '0')}`;
    throw new TlsAlert(Alert.protocolVersion, `client offers ${name(theirs)} at most, below our minimum ${name(cfg.minVersion)} (-m)`);
  }
  return ProtocolVersion.tls13;
}

export function selectSuite(cfg: EngineConfig, offered: number[]): CipherSuite {
  // Server preference: walk our list; client preference: walk theirs.
  const [order, other] = cfg.serverPreference ? [cfg.suites, offered] : [offered, cfg.suites];
  for (const code of order) {
    const suite = suiteByCode(code);
    if (suite && other.includes(code)) return suite;
  }
  throw new TlsAlert(Alert.handshakeFailure, 'no cipher suite in common');
}

/** Checks the ClientHello is a TLS 1.3 one we can answer at all. */
export function checkTls13(cfg: EngineConfig, ch: ClientHello): void {
  if (!ch.supportedVersions) {
    throw new TlsAlert(Alert.protocolVersion, 'client does not offer TLS 1.3 (no supported_versions)');
  }
  const tls13 = ProtocolVersion.tls13;
  if (!ch.supportedVersions.includes(tls13) || cfg.maxVersion < tls13 || cfg.minVersion > tls13) {
    throw new TlsAlert(Alert.protocolVersion, 'no protocol version in common');
  }
  // Certificate authentication needs signature_algorithms (RFC 8446 4.2.3, 9.2).
  if (!ch.signatureSchemes) throw new TlsAlert(Alert.missingExtension, 'no signature_algorithms');
  // Without PSK, (EC)DHE is the only key exchange: both extensions are required.
  if (!ch.supportedGroups) throw new TlsAlert(Alert.missingExtension, 'no supported_groups');
  if (!ch.keyShares) throw new TlsAlert(Alert.missingExtension, 'no key_share');
  for (const share of ch.keyShares) {
    if (!ch.supportedGroups.includes(share.group)) {
      throw new TlsAlert(Alert.illegalParameter, 'key_share for a group not in supported_groups');
    }
  }
}

export function select(cfg: EngineConfig, ch: ClientHello): Selection {
  checkTls13(cfg, ch);
  const suite = selectSuite(cfg, ch.cipherSuites);
  const shares = ch.keyShares ?? [];
  const supported = ch.supportedGroups ?? [];
  // Our group order, but a share the client already sent beats a better
  // group that would cost a HelloRetryRequest round trip.
  for (const code of cfg.groups) {
    const group = groupByCode(code);
    const share = shares.find((s) => s.group === code);
    if (group && share) return { kind: 'accept', suite, group, share };
  }
  for (const code of cfg.groups) {
    const group = groupByCode(code);
    if (group && supported.includes(code)) return { kind: 'retry', suite, group };
  }
  throw new TlsAlert(Alert.handshakeFailure, 'no key exchange group in common');
}

/**
 * The second ClientHello must be the first one with the key share we asked
 * for (RFC 8446 4.1.2); we check what our choices depend on.
 */
export function checkSecondClientHello(
  cfg: EngineConfig,
  first: ClientHello,
  second: ClientHello,
  suite: CipherSuite,
  group: NamedGroup,
): KeyShareEntry {
  checkTls13(cfg, second);
  const sameSession =
    first.sessionId.length === second.sessionId.length && first.sessionId.every((b, i) => b === second.sessionId[i]);
  if (!sameSession) throw new TlsAlert(Alert.illegalParameter, 'second ClientHello changed legacy_session_id');
  if (!second.cipherSuites.includes(suite.code)) {
    throw new TlsAlert(Alert.illegalParameter, 'second ClientHello dropped the suite of the HelloRetryRequest');
  }
  const shares = second.keyShares ?? [];
  if (shares.length !== 1 || shares[0].group !== group.code) {
    throw new TlsAlert(Alert.illegalParameter, 'second ClientHello key_share is not the one requested');
  }
  if (second.earlyData) throw new TlsAlert(Alert.illegalParameter, 'early_data after HelloRetryRequest');
  if (second.hasCookie) throw new TlsAlert(Alert.illegalParameter, 'second ClientHello has a cookie we never sent');
  const changed = changedAfterRetry(first, second);
  if (changed) throw new TlsAlert(Alert.illegalParameter, `second ClientHello changed ${changed}`);
  return shares[0];
}

/**
 * RFC 8446 4.1.2: the second ClientHello is the first, but for key_share,
 * early_data (dropped), cookie (added when the HelloRetryRequest had one:
 * ours never does), pre_shared_key (its ages and binders) and padding.
 * Anything else, the extensions' order included, is a different hello: a
 * different name, say, would switch the certificate mid-handshake.
 */
const MAY_CHANGE_AFTER_RETRY: ReadonlySet<number> = new Set([ExtensionType.keyShare, ExtensionType.preSharedKey, ExtensionType.padding]);
const MAY_DROP_AFTER_RETRY: ReadonlySet<number> = new Set([ExtensionType.earlyData, ExtensionType.padding]);

/** What the second ClientHello changed that it may not, or null. */
function changedAfterRetry(first: ClientHello, second: ClientHello): string | null {
  if (!sameList(first.cipherSuites, second.cipherSuites)) return 'cipher_suites';
  if (!sameBytes(first.compressionMethods, second.compressionMethods)) return 'legacy_compression_methods';
  const kept = [...first.extensions.keys()].filter((type) => !MAY_DROP_AFTER_RETRY.has(type));
  const sent = [...second.extensions.keys()].filter((type) => type !== ExtensionType.padding);
  if (!sameList(kept, sent)) return 'its extensions or their order';
  const differs = sent.find((type) => !MAY_CHANGE_AFTER_RETRY.has(type) && !sameBytes(first.extensions.get(type) ?? null, second.extensions.get(type) ?? null));
  return differs === undefined ? null : `extension ${differs}`;
}

function sameList(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

function sameBytes(a: Uint8Array | null, b: Uint8Array | null): boolean {
  if (a === null || b === null) return a === b;
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
