// Reaching the backend: host's addresses (the only DNS lookup tlswrapper-tcp
// makes, before the jail) and a connection to the first that answers within
// -T (before the jail too: a socket is a new fd).
import * as dns from 'node:dns';
import * as net from 'node:net';
import { errText, fatalExit, type Logger } from '../lib/log';

/** As upstream: at most this many of host's addresses are tried. */
const MAX_ADDRESSES = 8;

/** host's addresses, in the resolver's order; an IP literal as it is. */
export async function resolve(host: string, log: Logger): Promise<string[]> {
  if (net.isIP(host)) return [host];
  let found: dns.LookupAddress[];
  try {
    found = await dns.promises.lookup(host, { all: true, verbatim: true });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    fatalExit(log, `unable to resolve host '${host}'${code === 'ENOTFOUND' ? ': name does not exist' : `: ${code ?? errText(e)}`}`);
  }
  const addresses = [...new Set(found.map((a) => a.address))].slice(0, MAX_ADDRESSES);
  if (addresses.length === 0) fatalExit(log, `unable to resolve host '${host}': no address`);
  for (const a of addresses) log.debug(`${host}: ${a}`);
  return addresses;
}

/** A paused socket to the first address that answers, or the last reason none did. */
export async function connectAny(addresses: string[], port: number, timeoutMs: number, log: Logger): Promise<net.Socket | string> {
  const deadline = Date.now() + timeoutMs;
  let reason = 'no address';
  for (let i = 0; i < addresses.length; i++) {
    // The time left is shared among the addresses not tried yet.
    const slice = Math.max(1, Math.floor((deadline - Date.now()) / (addresses.length - i)));
    const result = await new Promise<net.Socket | string>((done) => {
      const sock = new net.Socket({ allowHalfOpen: true });
      // Paused before it connects: Node then starts no read of its own.
      sock.pause();
      const timer = setTimeout(() => {
        sock.destroy();
        done('connection timed out');
      }, slice);
      sock.once('error', (e: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        sock.destroy();
        done(e.code === 'ECONNREFUSED' ? 'connection refused' : (e.code ?? e.message));
      });
      sock.once('connect', () => {
        clearTimeout(timer);
        sock.removeAllListeners('error');
        done(sock);
      });
      sock.connect({ host: addresses[i], port });
    });
    if (typeof result !== 'string') return result;
    reason = result;
    log.debug(`unable to connect to [${addresses[i]}]:${port}: ${reason}`);
    if (Date.now() >= deadline) break;
  }
  return reason;
}
