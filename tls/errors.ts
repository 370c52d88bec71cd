// One error type for everything the peer did wrong: it carries the alert we
// must send. The engine catches it at its public boundary and turns it into a
// queued alert plus a 'fatal' event; nothing below the engine sends alerts.

import { Alert, alertName } from './tables';

export class TlsAlert extends Error {
  constructor(
    readonly alert: number,
    message: string,
  ) {
    super(`${alertName(alert)}: ${message}`);
  }
}

/**
 * The client's certificate (or its CertificateVerify) is why the connection
 * ends: an operator wants to see these at -v, unlike a scanner's broken
 * handshakes.
 */
export class ClientCertificateAlert extends TlsAlert {}

/**
 * An alert code someone else chose (keyproc, verifyChain), as we may send it
 * fatally: close_notify, user_canceled and non-codes become internal_error.
 */
export function fatalAlertCode(code: number): number {
  return Number.isInteger(code) && code > 0 && code < 256 && code !== Alert.userCanceled ? code : Alert.internalError;
}
