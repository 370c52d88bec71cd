// fd 0 and fd 1 as streams for the companion programs (tlswrapper-tcp,
// tlswrapper-smtp), made before the jail and reading nothing until asked.
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
