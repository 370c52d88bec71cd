// tlswrapper's control pipes (-n, wire/starttls.ts) as tlswrapper-smtp sees
// them: whether they were inherited at all, the STARTTLS request on fd 5, and
// the acknowledgement and the TLS facts on fd 6.
import * as fs from 'node:fs';
import * as net from 'node:net';
import { fdFacts, otherEndHeld } from '../lib/inheritedfds';
import { writeAllSync } from '../lib/stdiostreams';
import { decodeFacts, MAX_FACTS } from '../wire/facts';
import { PROG_ACK_FD, PROG_CONTROL_FD, StartTlsCommand } from '../wire/starttls';

/** O_CLOEXEC in /proc/self/fdinfo's octal flags. */
const O_CLOEXEC = 0o2000000;

/**
 * fd is one of tlswrapper's control pipes we inherited, usable for writing
 * (fd 5) or reading (fd 6). The close-on-exec flag cannot tell: Node marks
 * every inherited descriptor close-on-exec at start-up
 * (uv_disable_stdio_inheritance), and opens its own descriptors, often 4 to 7:
 * pipes whose both ends it holds. So an inherited control pipe is a socket
 * (our tlswrapper's socketpairs) or a pipe whose other end is not ours (C
 * tlswrapper's pipes) with the right direction.
 */
export function inheritedControl(fd: number, direction: 'write' | 'read'): boolean {
  const f = fdFacts(fd);
  if (!f) return false;
  const access = f.flags & 3; // O_RDONLY 0, O_WRONLY 1, O_RDWR 2
  if (/^socket:\[\d+\]$/.test(f.target)) return access === 2;
  if (!/^pipe:\[\d+\]$/.test(f.target)) return false;
  if (access !== (direction === 'write' ? 1 : 0)) return false;
  return !otherEndHeld(fd, f.target);
}

/** fd would reach prog: open and not close-on-exec. */
export function inheritable(fd: number): boolean {
  const f = fdFacts(fd);
  return f !== null && (f.flags & O_CLOEXEC) === 0;
}

/** fd 6 as a paused socket: nothing is read from it before STARTTLS. */
export function ackSocket(): net.Socket {
  const ack = new net.Socket({ fd: PROG_ACK_FD, readable: true, writable: false, allowHalfOpen: true, pauseOnCreate: true } as net.SocketConstructorOpts);
  ack.pause();
  return ack;
}

/** 0x01 on fd 5 (start TLS, then send the facts), and fd 5 closed; throws when it cannot. */
export function askForTlsWithFacts(): void {
  writeAllSync(PROG_CONTROL_FD, Buffer.of(StartTlsCommand.startWithFacts));
  fs.closeSync(PROG_CONTROL_FD);
}

/**
 * The acknowledgement and the facts, read from ack up to its EOF, or why not.
 * lastEntry is called in the read that brings the facts' closing empty entry,
 * which comes just before the first bytes over TLS.
 */
export async function receiveFacts(ack: net.Socket, ms: number, lastEntry: () => void): Promise<[string, Buffer][] | string> {
  const control = await readToEnd(ack, ms, 1 + MAX_FACTS, (b) => {
    // The ack, then \0 alone (no facts) or ending an entry (\0\0): values hold no NUL.
    if (b.length >= 2 && b[b.length - 1] === 0 && (b.length === 2 || b[b.length - 2] === 0)) lastEntry();
  });
  if (typeof control === 'string') return control;
  if (control[0] !== 0x00) return control.length === 0 ? 'no acknowledgement' : `acknowledgement 0x${control[0].toString(16)}, not 0x00`;
  return decodeFacts(control.subarray(1));
}

/** Everything on socket up to its EOF (tlswrapper closed fd 6), or why not: idle for ms, or more than max bytes; sofar sees what came at each read. */
function readToEnd(socket: net.Socket, ms: number, max: number, sofar: (b: Buffer) => void): Promise<Buffer | string> {
  return new Promise((resolve) => {
    const parts: Buffer[] = [];
    let size = 0;
    let timer = setTimeout(() => done(`nothing for ${ms / 1000} seconds`), ms);
    const done = (result: Buffer | string) => {
      clearTimeout(timer);
      socket.removeAllListeners('data');
      socket.destroy();
      resolve(result);
    };
    socket.on('data', (d: Buffer) => {
      parts.push(d);
      size += d.length;
      if (size > max) return done(`more than ${max} bytes`);
      sofar(Buffer.concat(parts));
      clearTimeout(timer);
      timer = setTimeout(() => done(`nothing for ${ms / 1000} seconds`), ms);
    });
    socket.once('end', () => done(Buffer.concat(parts)));
    socket.once('error', (e: NodeJS.ErrnoException) => done(`unable to read: ${e.code ?? e.message}`));
    socket.resume();
  });
}
