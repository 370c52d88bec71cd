// The named groups the interop tests cover, and how each real client names them.

export type Group = 'x25519' | 'secp256r1' | 'secp384r1' | 'secp521r1';
/** Our names (and our -v log's), in our default order. */
export const GROUPS: Group[] = ['x25519', 'secp256r1', 'secp384r1', 'secp521r1'];

/** gnutls-cli's +GROUP-… names (and its "Description" line). */
export const GNUTLS_GROUP: Record<Group, string> = { x25519: 'X25519', secp256r1: 'SECP256R1', secp384r1: 'SECP384R1', secp521r1: 'SECP521R1' };
/** openssl -groups / curl --curves names. */
export const OPENSSL_GROUP: Record<Group, string> = { x25519: 'X25519', secp256r1: 'P-256', secp384r1: 'P-384', secp521r1: 'P-521' };
/** openssl's "Server Temp Key:" text. */
export const OPENSSL_TEMP: Record<Group, string> = {
  x25519: 'X25519, 253 bits', secp256r1: 'ECDH, prime256v1, 256 bits',
  secp384r1: 'ECDH, secp384r1, 384 bits', secp521r1: 'ECDH, secp521r1, 521 bits',
};
/** Node's ecdhCurve and getEphemeralKeyInfo().name. */
export const NODE_GROUP: Record<Group, string> = { x25519: 'X25519', secp256r1: 'prime256v1', secp384r1: 'secp384r1', secp521r1: 'secp521r1' };
