// Where connections come from: a socket tlswrapper-server listens on itself
// (HOST PORT; 0 is every IPv4 address, :: every address, as tcpserver and
// tcpsvd read them), or the listening socket systemd passed (Accept=no:
// LISTEN_PID is us, LISTEN_FDS >= 1, the socket is fd 3). Accepted sockets
// arrive paused: the server never reads a byte of them, netproc does.
import * as net from 'node:net';

/** systemd's first passed descriptor (sd_listen_fds(3)). */
const SD_LISTEN_FDS_START = 3;

export interface Listening {
  server: net.Server;
  /** What the log says we listen on. */
  where: string;
}

/** The socket systemd passed us, if it passed one to this very process; the variables are removed either way (prog must not see them). */
function systemdSocket(env: NodeJS.ProcessEnv): number | null {
  const pid = env.LISTEN_PID;
  const fds = env.LISTEN_FDS;
  delete env.LISTEN_PID;
  delete env.LISTEN_FDS;
  delete env.LISTEN_FDNAMES;
  if (pid === undefined || fds === undefined) return null;
  if (Number(pid) !== process.pid || !/^[1-9][0-9]*$/.test(fds)) return null;
  return SD_LISTEN_FDS_START;
}

export function hostAddress(host: string): string {
  return host === '0' ? '0.0.0.0' : host;
}

export function listen(host: string, port: number, onConnection: (socket: net.Socket) => void): Promise<Listening> {
  // noDelay: TCP_NODELAY on each accepted socket, as tcpserver -D (the man
  // page's equivalent command line). With Nagle's algorithm a small record
  // written while an earlier one is unacknowledged waits for the client's
  // delayed ACK (up to 40 ms on Linux).
  const server = net.createServer({ pauseOnConnect: true, allowHalfOpen: true, noDelay: true }, onConnection);
  const fd = systemdSocket(process.env);
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    const done = (where: string) => {
      server.off('error', reject);
      resolve({ server, where });
    };
    if (fd !== null) server.listen({ fd }, () => done(`the socket systemd passed (fd ${fd})`));
    else {
      const address = hostAddress(host);
      server.listen({ host: address, port, backlog: 511 }, () => done(`${address.includes(':') ? `[${address}]` : address}:${port}`));
    }
  });
}
