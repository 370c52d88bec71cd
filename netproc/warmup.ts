// A spare set of tlswrapper-server, before its client: use every crypto
// primitive once and rehearse a whole handshake, so what a client will need
// is compiled and allocated before it waits.
//
// Under a super-server none of this runs: the client is already waiting, and
// a netproc uses one group and one AEAD of the many warmed here (warming all
// took ~20 ms of its ~140 ms per connection, most of it P-521). None of them
// needs a file or a thread after the jail: Node 20 loads OpenSSL's config and
// providers at process start. Measured under strace, each primitive first
// used after chroot, setuid and the jail's rlimits: no open(), no clone().
// The matrix tests (test/interop/tlswrapper-matrix.ts) run every suite and
// group cold through the jailed netproc.
import { createCipheriv, createDecipheriv, createECDH, createHash, createHmac, createPublicKey, diffieHellman, generateKeyPairSync, randomBytes } from 'node:crypto';
import { THROWAWAY_SCHEME, throwawayCert } from '../lib/throwawaycert';
import { newKeyShare } from '../tls/keyexchange';
import { CIPHER_SUITES, groupByCode, NAMED_GROUPS, ProtocolVersion, type NamedGroup } from '../tls/registry';
import type { EngineConfig } from '../tls/api';
import { rehearseHandshake13 } from '../tls/rehearsal';
import { signByScheme } from '../tls/signature';

const AEADS: [string, number][] = [
  ['aes-128-gcm', 16],
  ['aes-256-gcm', 32],
  ['chacha20-poly1305', 32],
];
const CURVES = ['prime256v1', 'secp384r1', 'secp521r1'];
const HASHES = ['sha256', 'sha384', 'sha512'];

/** Every AEAD, curve and hash once (a spare set's time, not a client's). */
export function warmUpCrypto(): void {
  for (const [name, keyLength] of AEADS) {
    const key = randomBytes(keyLength);
    const iv = randomBytes(12);
    const c = createCipheriv(name as 'aes-128-gcm', key, iv, { authTagLength: 16 });
    const sealed = Buffer.concat([c.update(Buffer.alloc(16)), c.final()]);
    const d = createDecipheriv(name as 'aes-128-gcm', key, iv, { authTagLength: 16 });
    d.setAuthTag(c.getAuthTag());
    Buffer.concat([d.update(sealed), d.final()]);
  }
  for (const curve of CURVES) {
    const a = createECDH(curve);
    const b = createECDH(curve);
    a.generateKeys();
    a.computeSecret(b.generateKeys());
  }
  for (const okp of ['x25519', 'x448'] as const) {
    const x = generateKeyPairSync(okp as 'x25519');
    const y = generateKeyPairSync(okp as 'x25519');
    // Peers' X25519 and X448 keys are imported as JWK (faster than DER).
    const peer = createPublicKey({ key: y.publicKey.export({ format: 'jwk' }), format: 'jwk' });
    diffieHellman({ privateKey: x.privateKey, publicKey: peer });
  }
  for (const hash of HASHES) {
    createHmac(hash, 'k').update('m').digest();
    createHash(hash).update('m').digest();
  }
}

/**
 * A spare set's netproc, before its client: one whole TLS 1.3 handshake with
 * our engine (tls/rehearsal.ts), with a throwaway certificate signed here in
 * keyproc's stead (lib/throwawaycert.ts). V8 compiles a function the first
 * time it runs: rehearsed, the client's handshake finds them compiled
 * (tlswrapper-server on 2 cores: 24 -> 16 ms to the handshake's end).
 * Returns what went wrong, or null.
 */
export function rehearseHandshake(config: EngineConfig): string | null {
  try {
    // ML-KEM is JavaScript: its first encapsulation in a process costs ~15-25 ms
    // of compiling. Clients that do not offer the hybrid never pay for it under
    // a super-server; a spare set pays it here, before its client.
    const hybrid = groupByCode(0x11ec);
    if (hybrid && config.groups.includes(hybrid.code)) rehearseHybrid(hybrid);
    const throwaway = throwawayCert();
    rehearseHandshake13(config, {
      chain: [throwaway.cert],
      scheme: THROWAWAY_SCHEME,
      sign: (content) => signByScheme(throwaway.key, THROWAWAY_SCHEME, content),
    });
    return null;
  } catch (e) {
    return (e as Error).message;
  }
}

/**
 * One X25519MLKEM768 exchange. The client's encapsulation key can be all
 * zeros (every coefficient below q, so FIPS 203's check passes): no key
 * generation to pay for, only the encapsulation a client will need.
 */
function rehearseHybrid(hybrid: NamedGroup): void {
  const x = Buffer.from(generateKeyPairSync('x25519').publicKey.export({ format: 'jwk' }).x!, 'base64url');
  const share = new Uint8Array(hybrid.publicKeyLength);
  share.set(x, share.length - x.length);
  newKeyShare(hybrid).agree(share);
}

/** Every TLS 1.3 suite and group we know: what the build rehearses. */
const EVERYTHING: EngineConfig = {
  suites: CIPHER_SUITES.map((s) => s.code),
  suites12: [],
  groups: NAMED_GROUPS.map((g) => g.code),
  serverPreference: true,
  minVersion: ProtocolVersion.tls13,
  maxVersion: ProtocolVersion.tls13,
};

/**
 * For the build (build.mjs), not for a connection: a spare set's warm-up and
 * rehearsal, run before netproc's V8 code cache is written, so the cache
 * holds the engine's code compiled (V8 caches a lazily compiled function
 * only if it ran before the cache was made). A netproc under a super-server
 * has no time to rehearse; with the cache it need not.
 */
export function rehearseForCodeCache(): void {
  warmUpCrypto();
  const failed = rehearseHandshake(EVERYTHING);
  if (failed) throw new Error(`handshake rehearsal: ${failed}`);
}
