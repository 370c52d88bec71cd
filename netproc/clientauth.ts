// -a in netproc: the anchors come from the entry on the ctl pipe, before the
// jail, with the peercert bundle loaded beside them; after the jail the
// engine judges client chains with them and nothing more is loaded.
import type { Socket } from 'node:net';
import type { PeerIdentity } from '../peercert';
import { loadPeercert } from '../peercert/load';
import { CtlMsg, decodeAnchors, MAX_CTL_FRAME } from '../wire/ctl';
import { FrameReader } from '../wire/frame';
import type { ClientAuth } from '../tls/api';

/** The one ANCHORS frame the entry writes first on the ctl pipe. */
function receiveAnchors(ctl: Socket): Promise<Uint8Array[]> {
  return new Promise((resolve, reject) => {
    const frames = new FrameReader(MAX_CTL_FRAME);
    const done = (error: Error | null, ders?: Uint8Array[]) => {
      ctl.pause();
      ctl.removeListener('data', onData);
      ctl.removeListener('end', onEnd);
      if (error) reject(error);
      else resolve(ders as Uint8Array[]);
    };
    const onData = (chunk: Buffer) => {
      try {
        const [frame] = frames.push(chunk);
        if (!frame) return;
        if (frame.type !== CtlMsg.ANCHORS || frames.pending > 0) throw new Error(`unexpected control message ${frame.type}`);
        done(null, decodeAnchors(frame.payload));
      } catch (e) {
        done(e as Error);
      }
    };
    const onEnd = () => done(new Error('the entry closed the control pipe before the anchors'));
    ctl.on('data', onData);
    ctl.on('end', onEnd);
    ctl.resume();
  });
}

/**
 * Everything client authentication needs, loaded and exercised before the
 * jail: the engine's ClientAuth, and identify for the facts that delayed
 * encryption hands prog.
 */
export async function prepareClientAuth(ctl: Socket): Promise<{ clientAuth: ClientAuth; identify: (leafDer: Uint8Array) => PeerIdentity }> {
  const ders = await receiveAnchors(ctl);
  const peercert = loadPeercert();
  const anchors = peercert.anchorsFromDer(ders);
  peercert.warmUp(anchors);
  return {
    clientAuth: { authorities: anchors.names, verifyChain: (chain) => peercert.verifyChain(chain, anchors) },
    identify: (leafDer) => peercert.peerIdentity(leafDer),
  };
}
