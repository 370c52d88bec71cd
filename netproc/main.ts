// netproc: the only process that reads network bytes. It takes its
// configuration from the entry (fd 3), jails itself, then runs the TLS
// engine between the client, keyproc and prog.
import { enterJail, prepareForJail } from '../jail/jail';
import { parseNetprocConfig, type NetprocConfig } from './config';
import { createLogger } from '../lib/log';
import { prepareClientAuth } from './clientauth';
import { openCtl, openLocalFds, openNetworkFds } from './fds';
import { CtlIntake } from './intake';
import { CtlMsg } from '../wire/ctl';
import { receiveConnection } from './handoff';
import { EXIT_FAILURE } from '../lib/exitcodes';
import { Session } from './session';
import { createServerEngine } from '../tls/engine';
import { collectAll } from './garbage';
import { rehearseHandshake, warmUpCrypto } from './warmup';

async function main(): Promise<void> {
  const ctl = openCtl();
  const intake = new CtlIntake(ctl);
  let config: NetprocConfig;
  try {
    config = parseNetprocConfig(await intake.next(CtlMsg.CONFIG, 'configuration'));
  } catch (e) {
    createLogger(1, 'netproc').fatal(`bad configuration: ${(e as Error).message}`);
    process.exit(EXIT_FAILURE);
  }
  const log = createLogger(config.verbosity, 'netproc');
  try {
    // A spare set of tlswrapper-server that nobody waits for yet has time to
    // spare before its client; under a super-server the client is waiting.
    if (config.rehearse) {
      warmUpCrypto();
      const failed = rehearseHandshake(config.engine);
      if (failed) log.debug(`handshake rehearsal: ${failed}`);
      collectAll();
    }
    await prepareForJail();
    const local = openLocalFds(ctl, config.startTls);
    // Under a super-server the connection is already there: wrap it before the jail.
    const network = config.network === 'fds' ? openNetworkFds() : null;
    const auth = config.clientAuth ? await prepareClientAuth(intake) : undefined;
    intake.close();
    enterJail(config.jail, { oneSlotLeft: network === null });
    const { began, ...connection } = network ? { ...network, began: config.began ?? Date.now() } : await receiveConnection();
    const fds = { ...local, ...connection };
    const engine = createServerEngine(config.engine, { clientAuth: auth?.clientAuth });
    const timeouts = { handshakeSeconds: config.handshakeTimeout, idleSeconds: config.timeout, began };
    new Session(fds, engine, log, timeouts, { proxyVersion: config.proxyVersion, identify: auth?.identify });
  } catch (e) {
    log.fatal(`unable to start: ${(e as Error).message}`);
    process.exit(EXIT_FAILURE);
  }
}

// Run by dist/netproc.js, which loads this bundle with its code cache (build.mjs).
export { main };
export { rehearseForCodeCache } from './warmup';
