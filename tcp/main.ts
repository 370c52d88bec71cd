// tlswrapper-tcp [options] host port: the prog tlswrapper runs to reach a
// plaintext TCP service. stdin goes to host:port, host:port's answer to stdout.
//
// Order of events, each step needing less than the one before:
//   1. options; as root: check/create the jail dir and pick the jail ids
//   2. resolve host (all addresses; none for an IP literal): the only DNS code
//      that ever runs, and it runs before the jail
//   3. warm up what the jail forbids (threadpool, stderr), wrap fd 0 and 1
//   4. connect, trying the addresses in order within -T (a socket is an fd:
//      it must exist before RLIMIT_NOFILE is 0)
//   5. jail at once, before a byte is read from the backend or from stdin:
//      root: chroot + random or -j uid/gid + rlimits 0 (jail/jail.ts);
//      not root (tlswrapper -u user): the rlimits only
//   6. (-p) read the incoming PROXY header from stdin; (-P) send ours
//   7. move bytes both ways with backpressure, half-close, -t idle timeout.
import * as dns from 'node:dns';
import * as fs from 'node:fs';
import * as net from 'node:net';
import type { Readable } from 'node:stream';
import { companionJail, enterJail, enterLimitsOnly, prepareForJail, type JailSpec } from '../jail/jail';
import { parseProxyHeader } from '../wire/proxyheader';
import { EXIT_FAILURE, EXIT_OK } from '../lib/exitcodes';
import { optionsOrExit } from '../lib/getopt';
import { inputStream, outputStream } from '../lib/stdiostreams';
import { createLogger, errText, type Logger } from '../lib/log';

const PROGRAM = 'tlswrapper-tcp';
import { parseTcpOptions, USAGE } from './options';
import { addressesFromEnv, proxyHeader, type ProxyAddresses } from './proxy';

/** As upstream: at most this many of host's addresses are tried. */
const MAX_ADDRESSES = 8;

function die(log: Logger, message: string, code = EXIT_FAILURE): never {
  log.fatal(message);
  process.exit(code);
}

/** host's addresses, in the resolver's order; an IP literal as it is. */
async function resolve(host: string, log: Logger): Promise<string[]> {
  if (net.isIP(host)) return [host];
  let found: dns.LookupAddress[];
  try {
    found = await dns.promises.lookup(host, { all: true, verbatim: true });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    die(log, `unable to resolve host '${host}'${code === 'ENOTFOUND' ? ': name does not exist' : `: ${code ?? errText(e)}`}`);
  }
  const addresses = [...new Set(found.map((a) => a.address))].slice(0, MAX_ADDRESSES);
  if (addresses.length === 0) die(log, `unable to resolve host '${host}': no address`);
  for (const a of addresses) log.debug(`${host}: ${a}`);
  return addresses;
}

/** A paused socket to the first address that answers, or the last reason none did. */
async function connectAny(addresses: string[], port: number, timeoutMs: number, log: Logger): Promise<net.Socket | string> {
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



/** -p: the incoming PROXY header at the start of stdin; its addresses and the bytes read past it. */
function readProxyHeader(stdin: Readable, version: 1 | 2): Promise<{ addresses: ProxyAddresses | null; rest: Buffer } | string> {
  return new Promise((done) => {
    let buf = Buffer.alloc(0);
    const finish = (r: { addresses: ProxyAddresses | null; rest: Buffer } | string) => {
      stdin.pause();
      stdin.removeListener('data', onData);
      stdin.removeListener('end', onEnd);
      done(r);
    };
    const onData = (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      const p = parseProxyHeader(version, buf);
      if (p.kind === 'error') finish(p.error);
      else if (p.kind === 'done') finish({ addresses: p.addresses, rest: buf.subarray(p.length) });
    };
    const onEnd = () => finish('end of input before the PROXY header was complete');
    stdin.on('data', onData);
    stdin.once('end', onEnd);
    stdin.resume();
  });
}

function describe(a: ProxyAddresses): string {
  const ip = (s: string) => (s.includes(':') ? `[${s}]` : s);
  return `remote=${ip(a.remoteAddress)}:${a.remotePort} local=${ip(a.localAddress)}:${a.localPort}`;
}

async function main(): Promise<void> {
  const o = optionsOrExit(PROGRAM, USAGE, (seen) => parseTcpOptions(process.argv.slice(2), seen));
  const log = createLogger(o.verbosity, undefined, PROGRAM);
  const target = `${o.host}:${o.port}`;

  // 1. The jail, decided while files can still be read.
  let spec: JailSpec | null = null;
  try {
    const jail = companionJail(o.jailDir, o.jailUser);
    spec = jail.spec;
    if (jail.why) log.info(`${jail.why}; only the rlimits (no new files or sockets, no processes, no file growth) after connecting`);
  } catch (e) {
    die(log, `unable to create jail: ${errText(e)}`);
  }
  const envAddresses = addressesFromEnv(process.env);

  // 2. DNS, before the jail and never again.
  const addresses = await resolve(o.host, log);

  // 3. Everything the jail will forbid.
  try {
    await prepareForJail();
  } catch (e) {
    die(log, `unable to create jail: ${errText(e)}`);
  }
  const stdin = inputStream();
  const stdout = outputStream();

  // 4. Connect.
  const backend = await connectAny(addresses, o.port, o.connectTimeout * 1000, log);
  if (typeof backend === 'string') die(log, `unable to connect to ${target}: ${backend}`);

  // 5. Jail, before any byte is read.
  try {
    if (spec) enterJail(spec);
    else enterLimitsOnly();
  } catch (e) {
    die(log, `unable to create jail: ${errText(e)}`);
  }
  if (spec) log.debug(`jailed: uid ${spec.uid}, gid ${spec.gid}, root ${spec.dir}`);
  else log.debug('limited: rlimits nofile, nproc, fsize, core 0');
  log.debug(`connected to [${backend.remoteAddress}]:${backend.remotePort}`);
  log.info(`connected to ${target}`);

  // -t: one timer for both directions, restarted by every chunk read.
  const idle = setTimeout(() => die(log, `network timeout: nothing received for ${o.timeout} seconds`), o.timeout * 1000);
  backend.on('error', (e: NodeJS.ErrnoException) => die(log, `connection to ${target} failed: ${e.code ?? e.message}`));
  stdin.on('error', (e: NodeJS.ErrnoException) => die(log, `unable to read from standard input: ${e.code ?? e.message}`));
  stdout.on('error', (e: NodeJS.ErrnoException) => die(log, `unable to write to standard output: ${e.code ?? e.message}`));

  // 6. PROXY headers.
  let first: Buffer | null = null;
  let peer: ProxyAddresses | null = null;
  if (o.proxyIn) {
    const got = await readProxyHeader(stdin, o.proxyIn);
    if (typeof got === 'string') die(log, `unable to receive incoming proxy-protocol v${o.proxyIn} string: ${got}`);
    idle.refresh();
    peer = got.addresses;
    first = got.rest;
    log.debug(`incoming proxy-protocol v${o.proxyIn} header: ${peer ? describe(peer) : 'no addresses'}`);
  } else if ('addresses' in envAddresses) {
    peer = envAddresses.addresses;
  }
  if (o.proxyOut) {
    if (!peer) {
      const why = o.proxyIn
        ? 'the incoming PROXY header carries no addresses'
        : 'missing' in envAddresses
          ? envAddresses.missing
          : 'no addresses';
      log.warning(`${why}: sending proxy-protocol v${o.proxyOut} ${o.proxyOut === 1 ? 'UNKNOWN' : 'LOCAL'}`);
    }
    const header = proxyHeader(o.proxyOut, peer);
    log.tracing(`outgoing proxy-protocol v${o.proxyOut} header, ${header.length} bytes${peer ? `: ${describe(peer)}` : ''}`);
    backend.write(header);
  }
  if (first && first.length > 0) backend.write(first);

  // 7. Both directions. pipe() gives backpressure (a full backend pauses
  // stdin, a full stdout pauses the backend) and passes each EOF on.
  let toBackendDone = false;
  let toClientDone = false;
  const maybeDone = () => {
    if (!toBackendDone || !toClientDone) return;
    clearTimeout(idle);
    log.debug('finished');
    backend.destroy();
    process.exit(EXIT_OK);
  };
  stdin.on('data', () => idle.refresh());
  backend.on('data', () => idle.refresh());
  // stdin's EOF -> backend.end() (shutdown SHUT_WR); the backend may still answer.
  backend.on('finish', () => {
    log.tracing('standard input closed, EOF sent to the backend');
    toBackendDone = true;
    maybeDone();
  });
  // The backend's EOF -> stdout.end(); stdin may still flow to the backend.
  stdout.on('finish', () => {
    log.tracing('backend closed, EOF sent to standard output');
    // libuv never closes fds 0-2 itself, and a pipe's reader sees EOF only
    // when its last writer is closed: close fd 1 once the stream lets go of it.
    let closed = false;
    const close = () => {
      if (closed) return;
      closed = true;
      try {
        fs.closeSync(1);
      } catch {
        // already closed
      }
      toClientDone = true;
      maybeDone();
    };
    if (stdout instanceof net.Socket) stdout.once('close', close);
    else setImmediate(close);
    stdout.destroy();
  });
  stdin.pipe(backend);
  backend.pipe(stdout);
  backend.resume();
}

main().catch((e) => {
  try {
    fs.writeSync(2, `${PROGRAM}: fatal: ${errText(e)}\n`);
  } catch {
    // nowhere to say it
  }
  process.exit(EXIT_FAILURE);
});
