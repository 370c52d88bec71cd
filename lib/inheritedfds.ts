// Which descriptors a process inherited, as /proc tells it. The close-on-exec
// flag cannot tell: Node marks every inherited descriptor close-on-exec at
// start-up (uv_disable_stdio_inheritance) and opens its own, often fds 3 to 9:
// epoll and eventfd (anon_inode:) and pipes whose both ends it holds.
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

/** fd's link target and fdinfo flags (octal in /proc), or null if it is not open. */
export function fdFacts(fd: number): { target: string; flags: number } | null {
  try {
    const target = readlinkSync(`/proc/self/fd/${fd}`);
    const info = readFileSync(`/proc/self/fdinfo/${fd}`, 'latin1');
    const flags = /^flags:\s*([0-7]+)$/m.exec(info);
    return { target, flags: flags ? parseInt(flags[1], 8) : 0 };
  } catch {
    return null;
  }
}

/** Another descriptor of ours is on the same pipe or socket as fd. */
export function otherEndHeld(fd: number, target: string): boolean {
  let fds: string[];
  try {
    fds = readdirSync('/proc/self/fd');
  } catch {
    return false;
  }
  return fds.some((n) => Number(n) !== fd && fdFacts(Number(n))?.target === target);
}

/** fd was open when we started, not one Node opened for itself. */
export function inheritedFd(fd: number): boolean {
  const f = fdFacts(fd);
  if (!f || f.target.startsWith('anon_inode:')) return false;
  return !(/^pipe:\[\d+\]$/.test(f.target) && otherEndHeld(fd, f.target));
}
