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
import type * as net from 'node:net';
import type { Readable, Writable } from 'node:stream';
import { companionJail, enterCompanionJail, prepareForJail, type JailSpec } from '../jail/jail';
import { parseProxyHeader } from '../wire/proxyheader';
import { optionsOrExit } from '../lib/getopt';
import { inputStream, outputStream } from '../lib/stdiostreams';
import { createLogger, errText, fatalExit, runMain, type Logger } from '../lib/log';
import { connectAny, resolve } from './backend';
import { parseTcpOptions, USAGE, type TcpOptions } from './options';
import { addressesFromEnv, proxyHeader, type ProxyAddresses } from './proxy';
import { relay } from './relay';

const PROGRAM = 'tlswrapper-tcp';

/** 1. The jail, decided while files can still be read: its spec as root, else null (rlimits only). */
function decideJail(o: TcpOptions, log: Logger): JailSpec | null {
  try {
    const jail = companionJail(o.jailDir, o.jailUser);
    if (jail.why) log.info(`${jail.why}; only the rlimits (no new files or sockets, no processes, no file growth) after connecting`);
    return jail.spec;
  } catch (e) {
    return fatalExit(log, `unable to create jail: ${errText(e)}`);
  }
}

/** 3. Everything the jail will forbid, done now. */
async function prepare(log: Logger): Promise<void> {
  try {
    await prepareForJail();
  } catch (e) {
    fatalExit(log, `unable to create jail: ${errText(e)}`);
  }
}

/** 5. Jail, before any byte is read. */
function jail(spec: JailSpec | null, log: Logger): void {
  let jailed: string;
  try {
    jailed = enterCompanionJail(spec);
  } catch (e) {
    return fatalExit(log, `unable to create jail: ${errText(e)}`);
  }
  log.debug(jailed);
}

/** -t's timer, one for both directions (restarted by every chunk read), and any stream's error: each ends us. */
function idleTimeoutAndErrors(o: TcpOptions, target: string, stdin: Readable, stdout: Writable, backend: net.Socket, log: Logger): NodeJS.Timeout {
  const idle = setTimeout(() => fatalExit(log, `network timeout: nothing received for ${o.timeout} seconds`), o.timeout * 1000);
  backend.on('error', (e: NodeJS.ErrnoException) => fatalExit(log, `connection to ${target} failed: ${e.code ?? e.message}`));
  stdin.on('error', (e: NodeJS.ErrnoException) => fatalExit(log, `unable to read from standard input: ${e.code ?? e.message}`));
  stdout.on('error', (e: NodeJS.ErrnoException) => fatalExit(log, `unable to write to standard output: ${e.code ?? e.message}`));
  return idle;
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

/**
 * 6. (-p) the incoming PROXY header, read off stdin; (-P) ours, sent to the
 * backend, with the client's addresses from -p or else from the environment;
 * then what stdin had past the incoming header.
 */
async function proxyHeaders(o: TcpOptions, stdin: Readable, backend: net.Socket, idle: NodeJS.Timeout, log: Logger): Promise<void> {
  const envAddresses = addressesFromEnv(process.env);
  let first: Buffer | null = null;
  let peer: ProxyAddresses | null = null;
  if (o.proxyIn) {
    const got = await readProxyHeader(stdin, o.proxyIn);
    if (typeof got === 'string') fatalExit(log, `unable to receive incoming proxy-protocol v${o.proxyIn} string: ${got}`);
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
}

async function main(): Promise<void> {
  const o = optionsOrExit(PROGRAM, USAGE, (seen) => parseTcpOptions(process.argv.slice(2), seen));
  const log = createLogger(o.verbosity, undefined, PROGRAM);
  const target = `${o.host}:${o.port}`;

  const spec = decideJail(o, log);
  // 2. DNS, before the jail and never again.
  const addresses = await resolve(o.host, log);
  await prepare(log);
  const stdin = inputStream();
  const stdout = outputStream();

  // 4. Connect.
  const backend = await connectAny(addresses, o.port, o.connectTimeout * 1000, log);
  if (typeof backend === 'string') fatalExit(log, `unable to connect to ${target}: ${backend}`);

  jail(spec, log);
  log.debug(`connected to [${backend.remoteAddress}]:${backend.remotePort}`);
  log.info(`connected to ${target}`);

  const idle = idleTimeoutAndErrors(o, target, stdin, stdout, backend, log);
  await proxyHeaders(o, stdin, backend, idle, log);
  // 7. Both directions.
  relay(stdin, stdout, backend, idle, log);
}

runMain(PROGRAM, main);
