// Run bin/tlswrapper the way a super-server does, but from the test itself, so
// its exit status and stderr are ours to check: a real TCP connection on
// 127.0.0.1, the accepted socket handed to tlswrapper as fd 0 and 1, and the
// client end returned to the test.
import { spawn, type ChildProcess } from 'node:child_process';
import * as net from 'node:net';
import { ours } from './ours';

export interface DirectRun {
  /** The client end of the TCP connection: write raw bytes, or wrap it with tls.connect({socket}). */
  client: net.Socket;
  child: ChildProcess;
  /** Resolves when tlswrapper and everything holding its stderr has exited. */
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null; ms: number }>;
  stderr(): string;
  /** Port of the connection's server side (for /proc searches by socket, if needed). */
  port: number;
}

export function runDirect(args: string[], opts: { env?: NodeJS.ProcessEnv; deadlineMs?: number } = {}): Promise<DirectRun> {
  return new Promise((resolve, reject) => {
    // pauseOnConnect: the test process must not read a byte meant for tlswrapper.
    const server = net.createServer({ pauseOnConnect: true });
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as net.AddressInfo).port;
      const client = net.connect(port, '127.0.0.1');
      client.on('error', () => {});
      server.once('connection', (sock) => {
        server.close();
        const started = Date.now();
        const [command, ...argv] = ours(args);
        const child = spawn(command, argv, {
          stdio: [sock, sock, 'pipe'],
          env: opts.env ?? process.env,
          detached: true,
        });
        sock.destroy(); // tlswrapper has its own copy now
        let stderr = '';
        child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
        const deadline = setTimeout(() => {
          try {
            process.kill(-child.pid!, 'SIGKILL');
          } catch {
            // already gone
          }
        }, opts.deadlineMs ?? 60000);
        const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null; ms: number }>((res) =>
          child.on('close', (code, signal) => {
            clearTimeout(deadline);
            res({ code, signal, ms: Date.now() - started });
          }),
        );
        resolve({ client, child, exit, stderr: () => stderr, port });
      });
    });
  });
}

/** A stack trace or an uncaught-error dump in stderr: never acceptable output. */
export function hasStackTrace(stderr: string): boolean {
  return /^\s+at .+\(.+:\d+:\d+\)$/m.test(stderr) || /node:internal|Uncaught|TypeError|RangeError|ReferenceError/.test(stderr);
}
