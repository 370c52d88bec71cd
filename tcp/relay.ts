// The last step of tlswrapper-tcp: bytes both ways between the client
// (stdin/stdout) and the backend until both directions have ended.
import * as fs from 'node:fs';
import * as net from 'node:net';
import type { Readable, Writable } from 'node:stream';
import { EXIT_OK } from '../lib/exitcodes';
import type { Logger } from '../lib/log';

/**
 * pipe() gives backpressure (a full backend pauses stdin, a full stdout
 * pauses the backend) and passes each EOF on. Every chunk read restarts idle
 * (-t); exit 0 once both EOFs are through.
 */
export function relay(stdin: Readable, stdout: Writable, backend: net.Socket, idle: NodeJS.Timeout, log: Logger): void {
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
