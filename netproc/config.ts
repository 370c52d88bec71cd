// netproc's configuration, as the entry hands it over: JSON in the first
// frame on the ctl pipe (CONFIG, netproc/intake.ts).
// netproc takes nothing from its environment (the entry clears it), so this
// is all it knows. (keyproc's is keyproc/config.ts.)
import type { JailSpec } from '../jail/jail';
import type { EngineConfig } from '../tls/api';
import type { StartTls } from '../wire/starttls';

export interface NetprocConfig {
  engine: EngineConfig;
  jail: JailSpec;
  verbosity: number;
  /** Seconds until the handshake must be done (-T). */
  handshakeTimeout: number;
  /** Seconds of network silence that end the connection (-t). */
  timeout: number;
  /** -p: read a PROXY protocol header of this version before the ClientHello; 0: none. */
  proxyVersion: 0 | 1 | 2;
  /** -a: the entry sends the anchors (CtlMsg.ANCHORS) on fd 3 first; netproc asks clients for certificates. */
  clientAuth: boolean;
  /** Delayed encryption (wire/starttls.ts): 'no', or the protocol prog speaks on its control descriptors. */
  startTls: StartTls;
  /**
   * 'fds': the connection is fds 0/1 (under a super-server). 'handoff': a
   * spare set of tlswrapper-server: jail first, then receive the socket over
   * the IPC channel (netproc-handoff.ts).
   */
  network: 'fds' | 'handoff';
  /**
   * 'fds': when the connection began (the entry's start), ms since the
   * epoch: -T counts from it, however late netproc itself got going.
   * ('handoff': it comes with the connection.)
   */
  began?: number;
  /**
   * A spare set started while no client waits: rehearse a handshake before
   * the jail (netproc/warmup.ts), keyproc its signing (keyproc/warmup.ts).
   */
  rehearse?: boolean;
}

export function parseNetprocConfig(payload: Uint8Array): NetprocConfig {
  const config = JSON.parse(Buffer.from(payload).toString('utf8')) as NetprocConfig;
  if (!config || typeof config !== 'object' || !config.engine || !config.jail) throw new Error('configuration without engine or jail');
  return config;
}
