// netproc -> entry control messages on netproc's fd 3. The entry treats the
// content as untrusted: it checks every field before acting on it, and the
// facts only ever describe netproc's own connection.
import { PROTOCOL_NAMES, type HandshakeInfo } from '../../netproc/tls/api';

export const CtlMsg = {
  HANDSHAKE_DONE: 1,
} as const;

export function encodeHandshakeDone(info: HandshakeInfo): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(info));
}

const PRINTABLE = /^[\x21-\x7e]{1,253}$/;

export function decodeHandshakeDone(payload: Uint8Array): HandshakeInfo {
  const v = JSON.parse(Buffer.from(payload).toString('utf8')) as Record<string, unknown>;
  const text = (key: string): string => {
    const x = v[key];
    if (typeof x !== 'string' || !PRINTABLE.test(x)) throw new RangeError(`bad ${key} in handshake report`);
    return x;
  };
  const version = PROTOCOL_NAMES.find((name) => name === v.version);
  if (!version) throw new RangeError('bad version in handshake report');
  const serverName = v.serverName === null ? null : text('serverName');
  return { version, cipher: text('cipher'), group: text('group'), serverName };
}
