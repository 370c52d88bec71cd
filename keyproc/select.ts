// Choosing the chain: candidates in configured order, the first whose key is
// of a class the version's suites allow and can sign with a scheme the client
// offered wins. SELECT's class order does not reorder candidates: as with
// tlswrapper's -f/-d, the configuration's order decides.
import type * as crypto from 'node:crypto';
import type { KeyClass } from '../tls/registry';
import { chooseScheme, classAllowed, curveAllowed } from './schemes';

export interface Loaded {
  path: string;
  key: crypto.KeyObject;
  chain: Buffer[];
}

export interface Selection<T extends Loaded = Loaded> {
  candidate: T;
  scheme: number;
}

/**
 * Walks `candidates` lazily (the iterable may parse on demand and throw: the
 * error propagates, a broken file is a configuration error), returning the
 * first fit or undefined. `keyClasses` matters below TLS 1.3 only.
 */
export function selectChain<T extends Loaded>(
  candidates: Iterable<T>,
  version: number,
  offered: readonly number[],
  keyClasses: readonly KeyClass[],
  curves: readonly number[] = [],
): Selection<T> | undefined {
  for (const candidate of candidates) {
    if (!classAllowed(candidate.key, version, keyClasses)) continue;
    if (!curveAllowed(candidate.key, curves)) continue;
    const scheme = chooseScheme(candidate.key, version, offered);
    if (scheme !== undefined) return { candidate, scheme };
  }
  return undefined;
}
