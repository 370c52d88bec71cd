// One error type for everything the peer did wrong: it carries the alert we
// must send. The engine catches it at its public boundary and turns it into a
// queued alert plus a 'fatal' event; nothing below the engine sends alerts.

import { alertName } from './tables';

export class TlsAlert extends Error {
  constructor(
    readonly alert: number,
    message: string,
  ) {
    super(`${alertName(alert)}: ${message}`);
  }
}
