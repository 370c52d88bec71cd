// One connection's processes, wired as docs/design.md ("Processes and descriptors") draws them:
//
//   netproc  stdio: [socket, socket, log pipe, ctl (its configuration first), rpc to keyproc, rpc from keyproc, prog stdin, prog stdout]
//   keyproc  stdio: [rpc in (netproc writes), rpc out (netproc reads), log pipe, its configuration]
//   prog     stdio: [the other end of netproc's fd 6, of fd 7, stderr]
//
// With delayed encryption netproc has more, and prog gets their other ends
// (wire/starttls.ts names them): -n fds 8, 9 -> prog's 5, 6; --ucspi-tls
// fds 8, 9, 10 -> prog's 5, 6, 7.
//
// Node gives a child a duplicate of any stream passed in its stdio, so two
// children end up joined by a socketpair with no process copying between them.
// The entry keeps its own ends only until the second child has them.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, writeSync } from 'node:fs';
import type { Socket } from 'node:net';
import { join } from 'node:path';
import type { KeyprocConfig } from '../keyproc/config';
import type { NetprocConfig } from '../netproc/config';
import { CtlMsg, MAX_CTL_FRAME } from '../wire/ctl';
import { encodeFrame } from '../wire/frame';
import { NetprocFd } from '../wire/netprocfds';
import { START_TLS_FDS } from '../wire/starttls';

export interface Children {
  keyproc: ChildProcess;
  netproc: ChildProcess;
  ctl: Socket;
  /** The entry's ends of prog's pipes, handed to prog once the handshake is done. */
  progIn: Socket;
  progOut: Socket;
  /** Delayed encryption: the entry's ends of the control pipes, prog's fds from 5 up. */
  progControl: Socket[];
  /** Resolves once keyproc and netproc have closed their stderr (every log line relayed). */
  logsDone: Promise<void>;
}

/**
 * Node's own flags for each process: netproc collects its garbage as data
 * flows (netproc/garbage.ts). The build reads them too (from the entry's
 * bundle): a V8 code cache is only taken by a process with the V8 flags it
 * was made with (build.mjs, lib/bundle.ts).
 */
export const NODE_FLAGS: Record<string, string[]> = { 'netproc.js': ['--expose-gc', '--max-semi-space-size=1'] };

/**
 * A Node child: its configuration goes on a pipe (below), not on its command
 * line, where any local user could read it. An empty environment:
 * NODE_OPTIONS and friends must not reach the jailed processes.
 */
function startNode(script: string, stdio: Parameters<typeof spawn>[2]['stdio']): ChildProcess {
  return spawn(process.execPath, [...(NODE_FLAGS[script] ?? []), join(__dirname, script)], { stdio, env: {} });
}

/**
 * Node starts reading every pipe it makes for a child's fd above 0. Our ends of
 * prog's pipes must not: any byte read here would be lost to prog.
 */
function stopReading(s: Socket): void {
  const handle = (s as unknown as { _handle?: { readStop(): number; reading: boolean } })._handle;
  if (handle) {
    handle.reading = false;
    handle.readStop();
  }
}

/**
 * prog's control descriptors must be blocking, as any program expects its
 * inherited descriptors to be (libuv makes only a child's fds 0-2 blocking).
 * The flag belongs to the open file, shared with our own end, which we only
 * hold until prog has it.
 */
function makeBlocking(s: Socket): void {
  const handle = (s as unknown as { _handle?: { setBlocking(on: boolean): number } })._handle;
  if (!handle || handle.setBlocking(true) !== 0) throw new Error('unable to make a control pipe blocking');
}

/** fd 0/1 now belong to netproc; the entry must not keep the connection open. */
function releaseNetworkFds(): void {
  for (const fd of [0, 1]) {
    closeSync(fd);
    if (openSync('/dev/null', fd === 0 ? 'r' : 'w') !== fd) throw new Error('unable to reopen fd ' + fd + ' on /dev/null');
  }
}

export function startChildren(keyConfig: KeyprocConfig, netConfig: NetprocConfig): Children {
  // All of this runs in one tick: no event-loop turn lets the entry read from
  // a pipe it is only holding for another process.
  // netproc first: under a super-server the client is already waiting, and
  // netproc is the longer way to its first move (start, jail, read the
  // ClientHello); keyproc has until the name arrives.
  // stderr through the entry: a jailed process has RLIMIT_FSIZE 0, so it could
  // not write its log lines to a regular file (tcpserver ... 2>>log).
  const control = START_TLS_FDS[netConfig.startTls];
  const handoff = netConfig.network === 'handoff';
  // Under a super-server the connection is our fds 0/1; a spare set of
  // tlswrapper-server gets it later over the IPC channel (wire/handoff.ts).
  const network = handoff ? (['ignore', 'ignore'] as const) : [0, 1];
  // fds 4 and 5, to and from keyproc: socket pairs whose other ends become keyproc's fds 0 and 1.
  const netproc = startNode('netproc.js', [
    ...network, 'pipe', 'pipe', 'pipe', 'pipe', 'pipe', 'pipe', ...control.netproc.map(() => 'pipe' as const), ...(handoff ? ['ipc' as const] : []),
  ]);
  const pipes = netproc.stdio as unknown as Socket[];
  const [toKey, fromKey] = [pipes[NetprocFd.toKey], pipes[NetprocFd.fromKey]];
  stopReading(toKey);
  stopReading(fromKey);
  // keyproc's fd 3: its configuration, to the end (lib/configpipe.ts).
  const keyproc = startNode('keyproc.js', [toKey, fromKey, 'pipe', 'pipe']);
  toKey.destroy();
  fromKey.destroy();
  const configPipe = keyproc.stdio[3] as Socket;
  // A keyproc that dies early resets the pipe: its death is the supervisor's
  // business (src/supervisor.ts), not an unhandled 'error' here. Our end is
  // closed once the configuration is written (end() alone would keep it:
  // we never read it, so we never see its EOF).
  configPipe.on('error', () => configPipe.destroy());
  stopReading(configPipe);
  configPipe.end(JSON.stringify(keyConfig), () => configPipe.destroy());
  // netproc's configuration: the first frame on its ctl pipe (netproc/intake.ts).
  // A netproc that dies before reading it resets the pipe: its death is seen
  // elsewhere (the supervisor, a spare set's watch), never as an unhandled 'error'.
  pipes[NetprocFd.ctl].on('error', () => {});
  pipes[NetprocFd.ctl].write(encodeFrame(CtlMsg.CONFIG, Buffer.from(JSON.stringify(netConfig)), MAX_CTL_FRAME));
  const [progIn, progOut] = [pipes[NetprocFd.progIn], pipes[NetprocFd.progOut]];
  const progControl = control.netproc.map((fd) => pipes[fd]);
  for (const s of [progIn, progOut, ...progControl]) stopReading(s);
  for (const s of progControl) makeBlocking(s);
  if (!handoff) releaseNetworkFds();
  return {
    keyproc,
    netproc,
    ctl: pipes[NetprocFd.ctl],
    progIn,
    progOut,
    progControl,
    logsDone: Promise.all([relayLog(keyproc.stderr as Socket), relayLog(netproc.stderr as Socket)]).then(() => {}),
  };
}

/** Copy a child's log lines to our stderr; resolves when the child closed its end. */
function relayLog(from: Socket): Promise<void> {
  return new Promise((resolve) => {
    from.on('data', (chunk: Buffer) => {
      try {
        writeSync(2, chunk);
      } catch {
        // our stderr is gone: the lines have nowhere to go
      }
    });
    from.on('close', () => resolve());
  });
}
