// TLS 1.2 (and 1.1, 1.0) choices from the ClientHello, as pure functions:
// the suites we could use, the ECDHE group, and the certificate key types
// those suites allow (what needCertificate asks keyproc for). The TLS 1.3
// choices are in selection.ts.

import type { EngineConfig, KeyClass } from './api';
import { groupByCode, KEY_CLASSES_BY_AUTH, ProtocolVersion, suite12ByCode, type CipherSuite12, type NamedGroup } from './tables';

/** Suites both sides allow at this version, best first (ours or the client's order, as -s/-S say). */
export function chooseSuites(cfg: EngineConfig, offered: number[], version: number): CipherSuite12[] {
  // AEADs and the SHA-2 MACs are TLS 1.2 only.
  const ours = (cfg.suites12 ?? []).filter((c) => version >= ProtocolVersion.tls12 || suite12ByCode(c)?.legacyOk);
  const order = cfg.serverPreference ? ours : offered.filter((c) => ours.includes(c));
  const out: CipherSuite12[] = [];
  for (const code of order) {
    const suite = suite12ByCode(code);
    if (suite && offered.includes(code) && !out.includes(suite)) out.push(suite);
  }
  return out;
}

/** Our most preferred group the client supports. */
export function chooseGroup(cfg: EngineConfig, supported: number[] | null): NamedGroup | undefined {
  // Without supported_groups (RFC 8422 4) we assume only secp256r1.
  const theirs = supported ?? [0x0017];
  for (const code of cfg.groups) {
    const group = groupByCode(code);
    if (group && !group.tls13Only && theirs.includes(code)) return group;
  }
  return undefined;
}

/** The certificate key types the candidate suites can use, in the suites' order. */
export function keyClassesOf(candidates: CipherSuite12[], version: number): KeyClass[] {
  const out: KeyClass[] = [];
  for (const s of candidates) {
    for (const k of KEY_CLASSES_BY_AUTH[s.auth]) {
      // EdDSA in TLS needs signature_algorithms, so TLS 1.2 (RFC 8422 5.1.3).
      if (k === 'ed25519' && version < ProtocolVersion.tls12) continue;
      if (!out.includes(k)) out.push(k);
    }
  }
  return out;
}
