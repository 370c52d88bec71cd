// A child process's configuration: JSON its parent writes on a pipe and
// closes, read to the end before anything else. Not on the command line:
// any local user can read a process's argv (ps), and the configuration names
// the jail's ids and the key files.
import { Socket } from 'node:net';

/** Far above any real configuration (a -d list, -a anchors travel elsewhere). */
export const MAX_CONFIG = 1 << 20;

/** The text on fd until its end; the descriptor is closed afterwards. */
export function readConfigPipe(fd: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = new Socket({ fd, readable: true, writable: false });
    const chunks: Buffer[] = [];
    let size = 0;
    s.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_CONFIG) {
        s.destroy();
        reject(new Error(`configuration over ${MAX_CONFIG} bytes`));
      } else chunks.push(chunk);
    });
    s.on('end', () => {
      s.destroy();
      resolve(Buffer.concat(chunks).toString('utf8'));
    });
    s.on('error', (e) => reject(e));
  });
}
