// Who gets a process set, tcpserver's and tcpsvd's way: at most -c
// connections at once, at most -C from one client address. Past -c a new
// connection waits unread, as it would in the kernel's backlog, until one
// ends (Node cannot stop accepting without closing the listening socket);
// past -C it is closed at once. At most WAITING_MAX wait.
import type { Socket } from 'node:net';

export const WAITING_MAX = 511;

export type Verdict = 'run' | 'wait' | 'refuse-ip' | 'refuse-full';

export class Admission {
  private active = 0;
  private readonly perIp = new Map<string, number>();
  private readonly waiting: { socket: Socket; ip: string; gaveUp: () => void }[] = [];

  constructor(
    private readonly maxConnections: number,
    /** 0: no limit. */
    private readonly maxPerIp: number,
    private readonly run: (socket: Socket, ip: string) => void,
  ) {}

  get counts(): { active: number; waiting: number } {
    return { active: this.active, waiting: this.waiting.length };
  }

  /** A new connection: run it, let it wait, or refuse it. */
  arrive(socket: Socket): Verdict {
    const ip = socket.remoteAddress ?? '';
    const fromIp = (this.perIp.get(ip) ?? 0) + this.waiting.filter((w) => w.ip === ip).length;
    if (this.maxPerIp > 0 && fromIp >= this.maxPerIp) return 'refuse-ip';
    if (this.active < this.maxConnections) {
      this.start(socket, ip);
      return 'run';
    }
    if (this.waiting.length >= WAITING_MAX) return 'refuse-full';
    // A client that gives up while waiting frees its place.
    const gaveUp = () => {
      const i = this.waiting.findIndex((w) => w.socket === socket);
      if (i >= 0) this.waiting.splice(i, 1);
    };
    socket.once('close', gaveUp);
    this.waiting.push({ socket, ip, gaveUp });
    return 'wait';
  }

  /** A connection that ran has ended: the next waiting one runs. */
  leave(ip: string): void {
    this.active--;
    const left = (this.perIp.get(ip) ?? 1) - 1;
    if (left > 0) this.perIp.set(ip, left);
    else this.perIp.delete(ip);
    const next = this.waiting.shift();
    if (next) {
      next.socket.off('close', next.gaveUp);
      this.start(next.socket, next.ip);
    }
  }

  /** The server stops: nothing waiting will run. */
  dropWaiting(): void {
    for (const w of this.waiting.splice(0)) w.socket.destroy();
  }

  private start(socket: Socket, ip: string): void {
    this.active++;
    this.perIp.set(ip, (this.perIp.get(ip) ?? 0) + 1);
    this.run(socket, ip);
  }
}
