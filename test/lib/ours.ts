// Our tlswrapper (bin/tlswrapper) as tests start it.
//
// Tap's process-info hook re-adds NODE_OPTIONS (its loader) to every child
// spawned from a test process, whatever `env` says, and a node process that
// inherits it (our entry, netproc, keyproc) loads tap's hooks, which then try
// to write under .tap/ from inside the jail. `/usr/bin/env -u NODE_OPTIONS`
// as the first word drops it after the hook ran:
//
//   serve(t, 'tcpserver', ours(['-v', '-f', pem, 'cat']))
import * as path from 'node:path';
import { repoRoot } from './sh';

/** bin/tlswrapper (absolute). */
export const TLSWRAPPER = path.join(repoRoot, 'bin', 'tlswrapper');
/** Prefix for any argv that starts node from a test. */
export const NO_TAP_LOADER = ['/usr/bin/env', '-u', 'NODE_OPTIONS'];
/** argv that runs our bin/tlswrapper with `args`, without tap's loader. */
export function ours(args: string[]): string[] {
  return [...NO_TAP_LOADER, TLSWRAPPER, ...args];
}
