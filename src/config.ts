// What the entry hands each child process, as JSON in argv[2]. The children
// take nothing from their environment (the entry clears it), so this is all
// they know.
import type { EngineConfig } from '../netproc/tls/api';
import type { JailSpec } from '../jail/jail';
import type { KeyprocConfig } from '../keyproc/config';
import type { StartTls } from './options';

export type { JailSpec, KeyprocConfig };

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
  /** Delayed encryption (src/starttls.ts): 'no', or the protocol prog speaks on its control descriptors. */
  startTls: StartTls;
}

export function readChildConfig<T>(): T {
  const text = process.argv[2];
  if (!text) throw new Error('missing configuration argument');
  return JSON.parse(text) as T;
}
