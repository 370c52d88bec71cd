// The sans-I/O TLS server engine: bytes in through feed(), bytes out of
// takeOutput(), keyproc's work asked for and answered through events (api.ts).
// Each handshake step is a small state object whose handle(msg) returns the
// next state, in the manner of rustls.
//
// Files: connection.ts (the connection core: record layer, keys, output,
// events), state.ts (what every state shares), firstflight.ts (the
// ClientHello, version negotiation), handshake13.ts (the TLS 1.3 states),
// handshake12.ts (the TLS 1.2, 1.1 and 1.0 states), tables.ts (codes, suites,
// groups, schemes, alerts; the code points themselves in registry.ts),
// record.ts (deframer, handshake reassembly), protection13.ts and
// protection12.ts (record protection, on aead.ts), keyschedule.ts (HKDF, key schedule, transcript),
// keyschedule12.ts (PRF, key block), keyexchange.ts (x25519 / NIST ECDHE),
// clienthello.ts (parser), selection.ts (version/suite/group choice, HRR
// checks), selection12.ts (the TLS 1.2 suite/group/key-type choice),
// messages.ts (server message builders), errors.ts (TlsAlert),
// clientauth.ts (client certificates: CertificateRequest, the client's
// Certificate and CertificateVerify), signature.ts (sign and verify by scheme).

import type { EngineConfig, ServerEngine } from './api';
import { TlsServerEngine } from './connection';
import { ExpectClientHello } from './firstflight';
import type { EngineOptions } from './state';

export type { EngineOptions };

export function createServerEngine(cfg: EngineConfig, options?: EngineOptions): ServerEngine {
  return new TlsServerEngine(new ExpectClientHello(), cfg, options);
}
