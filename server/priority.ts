// Spare sets start at a low CPU priority: starting two Node processes takes
// more CPU than a whole handshake, and a live connection must not wait for a
// spare set that nobody needs yet. A set is raised back to the server's own
// priority when a connection takes it, or waits for it.
//
// Linux keeps a nice value per thread: a child inherits the value of the
// thread that forked it, and raising a process means raising each of its
// threads (/proc/PID/task). The server runs as root, so it may lower a
// value as well as raise it.
import { readdirSync } from 'node:fs';
import { getPriority, setPriority } from 'node:os';

/** How much lower than the server a spare set runs (19 is the lowest). */
const SPARE_NICE = 10;
const LOWEST = 19;

/** The server's own nice value, as it was started (systemd's Nice=, say). */
const own = getPriority();

/** Runs start() (which forks) with the calling thread lowered, so what it forks starts lowered. */
export function startLowered<T>(start: () => T): T {
  setPriority(Math.min(own + SPARE_NICE, LOWEST));
  try {
    return start();
  } finally {
    setPriority(own);
  }
}

/** Every thread of these processes back at the server's priority; a process or thread gone meanwhile is skipped. */
export function raise(pids: readonly (number | undefined)[]): void {
  for (const pid of pids) {
    if (pid === undefined) continue;
    let tids: string[];
    try {
      tids = readdirSync(`/proc/${pid}/task`);
    } catch {
      continue;
    }
    for (const tid of tids) {
      try {
        setPriority(Number(tid), own);
      } catch {
        // the thread ended
      }
    }
  }
}
