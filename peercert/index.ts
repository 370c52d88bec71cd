// peercert: judging a TLS client's certificate chain and naming its owner.
// Pure synchronous functions, used by netproc (in its jail: call warmUp
// first) and by the entry process. Bundled alone as dist/peercert.js,
// loaded only with -a.
import 'reflect-metadata'; // before @peculiar/x509: its tsyringe needs it
export { AnchorError, type Anchors, parseAnchors, anchorsFromDer } from './anchors';
export { verifyChain, MAX_CHAIN } from './verify';
export { type PeerIdentity, peerIdentity } from './identity';
export { warmUp, rehearseForCodeCache } from './warmup';
