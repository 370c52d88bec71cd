// Every descriptor netproc will ever use, wrapped before the jail (after it,
// nothing new can be opened). The numbers are the entry's wiring
// (src/connection.ts).
import { Socket } from 'node:net';

export interface NetprocFds {
  netIn: Socket; // fd 0: the client, read side
  netOut: Socket; // fd 1: the client, write side (often the same socket as fd 0)
  ctl: Socket; // fd 3: to and from the entry
  toKey: Socket; // fd 4
  fromKey: Socket; // fd 5
  progIn: Socket; // fd 6: prog's stdin
  progOut: Socket; // fd 7: prog's stdout
}

function wrap(fd: number, readable: boolean, writable = !readable): Socket {
  // allowHalfOpen: an EOF in one direction must not close the other; each
  // direction is ended on purpose by the data path.
  const s = new Socket({ fd, readable, writable, allowHalfOpen: true });
  // Nothing is read until the data path asks for it (and never before the jail).
  if (readable) s.pause();
  return s;
}

export function openFds(): NetprocFds {
  return {
    netIn: wrap(0, true),
    netOut: wrap(1, false),
    ctl: wrap(3, true, true), // read only to notice the entry going away
    toKey: wrap(4, false),
    fromKey: wrap(5, true),
    progIn: wrap(6, false),
    progOut: wrap(7, true),
  };
}
