// Every descriptor netproc will ever use, wrapped before the jail (after it,
// nothing new can be opened). The numbers are the entry's wiring
// (wire/netprocfds.ts, wire/starttls.ts).
import { Socket, type SocketConstructorOpts } from 'node:net';
import { NetprocFd } from '../wire/netprocfds';
import { START_TLS_FDS, type StartTls } from '../wire/starttls';

export interface NetprocFds {
  netIn: Socket; // fd 0: the client, read side
  netOut: Socket; // fd 1: the client, write side (often the same socket as fd 0)
  ctl: Socket; // fd 3: to and from the entry
  toKey: Socket; // fd 4
  fromKey: Socket; // fd 5
  progIn: Socket; // fd 6: prog's stdin
  progOut: Socket; // fd 7: prog's stdout
  /** Delayed encryption's descriptors (wire/starttls.ts); absent without it. */
  startTls?: StartTlsFds | undefined;
}

export type StartTlsFds =
  /** -n: fd 8 prog's control pipe (prog writes), fd 9 its acknowledgement pipe. */
  | { kind: 'n'; control: Socket; ack: Socket }
  /** --ucspi-tls: fd 8 SSLCTLFD (both ways), fd 9 SSLREADFD (to prog), fd 10 SSLWRITEFD (from prog). */
  | { kind: 'ucspi'; control: Socket; tlsIn: Socket; tlsOut: Socket };

function startTlsFds(mode: StartTls): StartTlsFds | undefined {
  switch (mode) {
    case 'no':
      return undefined;
    case 'n': {
      const [control, ack] = START_TLS_FDS.n.netproc;
      return { kind: 'n', control: wrap(control, true), ack: wrap(ack, false) };
    }
    case 'ucspi': {
      const [control, tlsIn, tlsOut] = START_TLS_FDS.ucspi.netproc;
      return { kind: 'ucspi', control: wrap(control, true, true), tlsIn: wrap(tlsIn, false), tlsOut: wrap(tlsOut, true) };
    }
  }
}

function wrap(fd: number, readable: boolean, writable = !readable): Socket {
  // allowHalfOpen: an EOF in one direction must not close the other; each
  // direction is ended on purpose by the data path.
  // Nothing is read until the data path asks for it, and never before the
  // jail: pauseOnCreate keeps the handle from reading at all (a later pause()
  // would come after Node had already started reading into its buffer).
  const s = new Socket({ fd, readable, writable, allowHalfOpen: true, pauseOnCreate: readable } as SocketConstructorOpts);
  if (readable) s.pause();
  return s;
}

/** Every descriptor but the connection's. */
export type LocalFds = Omit<NetprocFds, 'netIn' | 'netOut'>;

/** The connection as a super-server gives it: fds 0 and 1. */
export function openNetworkFds(): Pick<NetprocFds, 'netIn' | 'netOut'> {
  return { netIn: wrap(NetprocFd.netIn, true), netOut: wrap(NetprocFd.netOut, false) };
}

/** fd 3, to and from the entry: the configuration comes on it first (netproc/intake.ts). */
export function openCtl(): Socket {
  return wrap(NetprocFd.ctl, true, true);
}

export function openLocalFds(ctl: Socket, startTls: StartTls = 'no'): LocalFds {
  return {
    startTls: startTlsFds(startTls),
    ctl, // after the intake, read only to notice the entry going away
    toKey: wrap(NetprocFd.toKey, false),
    fromKey: wrap(NetprocFd.fromKey, true),
    progIn: wrap(NetprocFd.progIn, false),
    progOut: wrap(NetprocFd.progOut, true),
  };
}
