// fd 0 and fd 1 for the companion programs (tlswrapper-tcp, -smtp, -alias):
// as streams made before the jail and reading nothing until asked, or
// written synchronously.
// Node's process.stdin/stdout would make a shared pipe non-blocking for
// whoever else holds it, and write synchronously.
import * as fs from 'node:fs';
import * as net from 'node:net';
import type { Readable, Writable } from 'node:stream';

/** fd 0: a pipe or socket as a paused net.Socket; a file or tty via fs. */
export function inputStream(): Readable {
  const st = fs.fstatSync(0);
  if (st.isFIFO() || st.isSocket()) {
    // pauseOnCreate: nothing is read before the jail.
    return new net.Socket({ fd: 0, readable: true, writable: false, allowHalfOpen: true, pauseOnCreate: true } as net.SocketConstructorOpts);
  }
  return fs.createReadStream('', { fd: 0, autoClose: false });
}

/** fd 1: a pipe or socket as a net.Socket; a file or tty via fs. */
export function outputStream(): Writable {
  const st = fs.fstatSync(1);
  if (st.isFIFO() || st.isSocket()) return new net.Socket({ fd: 1, readable: false, writable: true });
  return fs.createWriteStream('', { fd: 1, autoClose: false });
}

/**
 * Write all of data to fd synchronously, waiting out EAGAIN (a pipe we share
 * with prog may be non-blocking) for at most ~15 s. Throws when fd is gone.
 */
export function writeAllSync(fd: number, data: Uint8Array): void {
  let off = 0;
  const pause = new Int32Array(new SharedArrayBuffer(4));
  for (let tries = 0; off < data.length; ) {
    try {
      off += fs.writeSync(fd, data, off);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if ((code !== 'EAGAIN' && code !== 'EINTR') || ++tries > 15000) throw e;
      Atomics.wait(pause, 0, 0, 1);
    }
  }
}
