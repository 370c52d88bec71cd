// Starting one connection's keyproc and netproc, the same way for the entry
// (the connection is fds 0/1) and for tlswrapper-server (a spare set that
// gets its connection later): the TLS settings from the options, a jail for
// each (random ids, or -j's), and, with -a, the anchors netproc waits for
// before it jails itself.
import { resolve } from 'node:path';
import { jailIdsForUser, randomJailIds, type JailSpec } from '../jail/jail';
import { EXIT_USAGE } from '../lib/exitcodes';
import { fatalExit, type Logger } from '../lib/log';
import { CtlMsg, encodeAnchors, MAX_CTL_FRAME } from '../wire/ctl';
import { encodeFrame } from '../wire/frame';
import { engineConfig } from './algorithms';
import { startChildren, type Children } from './connection';
import { UsageError, type Options } from './options';
import type { ClientAuthState } from './peer';

export type Engine = ReturnType<typeof engineConfig>;

/** The TLS settings netproc gets; a usage error (exit 100) for a bad combination of options. */
export function engineOrExit(opts: Options, log: Logger): Engine {
  try {
    return engineConfig(opts);
  } catch (e) {
    if (e instanceof UsageError) fatalExit(log, e.message, EXIT_USAGE);
    throw e;
  }
}

/** keyproc's jail, then netproc's: -j's ids for both, else two random ones. Throws for an unknown -j user. */
export function jailSpecs(opts: Options): JailSpec[] {
  const ids = opts.jailUser ? [jailIdsForUser(opts.jailUser), jailIdsForUser(opts.jailUser)] : randomJailIds(2);
  return ids.map((id) => ({ ...id, dir: resolve(opts.jailDir) }));
}

/**
 * Where the connection comes from: fds 0/1, under a super-server, with when
 * it began (-T counts from then); or later over the IPC channel, to a spare
 * set, which may rehearse while it waits (netproc/warmup.ts, keyproc/warmup.ts).
 */
export type Network = { network: 'fds'; began: number } | { network: 'handoff'; rehearse: boolean };

/** keyproc and netproc for one connection, and (-a) the anchors to netproc. */
export function launch(opts: Options, engine: Engine, jails: JailSpec[], clientAuth: ClientAuthState | undefined, how: Network): Children {
  const rehearse = how.network === 'handoff' && how.rehearse;
  const children = startChildren(
    { certs: opts.certs, jail: jails[0], verbosity: opts.verbosity, ...(rehearse ? { rehearse } : {}) },
    {
      engine,
      jail: jails[1],
      verbosity: opts.verbosity,
      handshakeTimeout: opts.handshakeTimeout,
      timeout: opts.timeout,
      proxyVersion: opts.proxyVersion,
      clientAuth: clientAuth !== undefined,
      startTls: opts.startTls,
      network: how.network,
      ...(how.network === 'fds' ? { began: how.began } : {}),
      ...(rehearse ? { rehearse } : {}),
    },
  );
  if (clientAuth) children.ctl.write(encodeFrame(CtlMsg.ANCHORS, encodeAnchors(clientAuth.ders), MAX_CTL_FRAME));
  return children;
}
