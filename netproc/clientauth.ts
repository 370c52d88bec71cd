// -a in netproc: the anchors come from the entry on the ctl pipe (after the
// configuration, netproc/intake.ts), before the jail, with the peercert bundle loaded beside them; after the jail the
// engine judges client chains with them and nothing more is loaded.
import type { PeerIdentity } from '../peercert';
import { loadPeercert } from '../peercert/load';
import { CtlMsg, decodeAnchors } from '../wire/ctl';
import type { CtlIntake } from './intake';
import type { ClientAuth } from '../tls/api';

/**
 * Everything client authentication needs, loaded and exercised before the
 * jail: the engine's ClientAuth, and identify for the facts that delayed
 * encryption hands prog.
 */
export async function prepareClientAuth(intake: CtlIntake): Promise<{ clientAuth: ClientAuth; identify: (leafDer: Uint8Array) => PeerIdentity }> {
  const ders = decodeAnchors(await intake.next(CtlMsg.ANCHORS, 'anchors'));
  const peercert = loadPeercert();
  const anchors = peercert.anchorsFromDer(ders);
  peercert.warmUp(anchors);
  return {
    clientAuth: { authorities: anchors.names, verifyChain: (chain) => peercert.verifyChain(chain, anchors) },
    identify: (leafDer) => peercert.peerIdentity(leafDer),
  };
}
