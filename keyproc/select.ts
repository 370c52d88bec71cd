// Choosing the chain: candidates in configured order, the first whose key can
// sign with a scheme the client offered wins.
import type * as crypto from 'node:crypto';
import { chooseScheme } from './schemes';

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
 * first fit or undefined.
 */
export function selectChain<T extends Loaded>(candidates: Iterable<T>, version: number, offered: readonly number[]): Selection<T> | undefined {
  for (const candidate of candidates) {
    const scheme = chooseScheme(candidate.key, version, offered);
    if (scheme !== undefined) return { candidate, scheme };
  }
  return undefined;
}
