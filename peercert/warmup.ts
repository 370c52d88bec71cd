// Run every code path once before the jail, so nothing is loaded lazily after chroot.
import { type Anchors, anchorCerts } from './anchors';
import { peerIdentity } from './identity';
import { verifyChain } from './verify';

/**
 * Parse each anchor and its extensions, check each anchor's self-signature
 * with its own key (one signature check per key type), and judge each anchor
 * as a chain (the pinned path) and a broken chain (the error paths). Results
 * are ignored.
 */
export function warmUp(anchors: Anchors): void {
  const certs = anchorCerts(anchors);
  const keyTypes = new Set<string>();
  for (const a of certs) {
    const key = a.node.publicKey;
    const details = key.asymmetricKeyDetails;
    const kind = `${key.asymmetricKeyType}/${details?.namedCurve ?? ''}/${details?.modulusLength ?? ''}`;
    if (!keyTypes.has(kind)) {
      keyTypes.add(kind);
      try { a.node.verify(key); } catch { /* ignored */ }
    }
    peerIdentity(a.der);
    verifyChain([a.der], anchors);
    verifyChain([a.der, a.der], { names: [], ders: [] });
  }
  verifyChain([new Uint8Array([0x30, 0x03, 0x02, 0x01, 0x00])], anchors);
}
