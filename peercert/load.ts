// How a process gets peercert: as a bundle of its own, dist/peercert.js,
// loaded only with -a. peercert (and @peculiar/x509 in it) costs ~26 ms to
// load (~48 without its V8 code cache) that a connection without client
// certificates should not pay. This file is not part of that bundle: it is
// what netproc and the entry hold to load it.
import { requireBundle } from '../lib/bundle';

export type Peercert = typeof import('./index');

export function loadPeercert(): Peercert {
  return requireBundle<Peercert>('peercert');
}
