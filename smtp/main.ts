// tlswrapper-smtp [options] prog: STARTTLS for an inetd-style SMTP server
// (prog) that knows nothing of TLS, run as the prog of `tlswrapper -n`:
//
//   tcpserver 0 25 tlswrapper -n -f cert.pem tlswrapper-smtp -u smtpd prog
//
// Order of events:
//   1. fds 5 and 6: STARTTLS is possible only if both were inherited
//      (tlswrapper -n's control and acknowledgement pipes, src/starttls.ts)
//   2. options; -u's user looked up; as root: the jail dir and ids decided
//   3. warm up what the jail forbids; wrap fds 0, 1 and 6 (paused)
//   4. start prog on two pipes, as -u's user if given, with fds 5 and 6 closed
//   5. jail (root: chroot + random or -j ids + rlimits 0; not root: rlimits
//      only), before a byte is read from the client
//   6. SMTP, one command at a time: prog's greeting, then each client line to
//      prog and prog's reply back; EHLO replies gain STARTTLS, STARTTLS is
//      ours (prog never sees it): its 220 goes on fd 5 (tlswrapper's older
//      -n protocol, see starttls()), EOF on fd 6 marks the switch, and what
//      the client pipelined is dropped; DATA's body goes through untouched.
// Exit: prog's exit status; 111 on a timeout, a broken pipe or a signal.
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import type { Readable, Writable } from 'node:stream';
import {
  enterJail,
  ensureJailDir,
  jailIdsForUser,
  JAIL_RLIMITS,
  prepareForJail,
  randomJailIds,
  type JailSpec,
} from '../jail/jail';
import { EXIT_FAILURE, EXIT_USAGE } from '../src/exitcodes';
import { DEFAULT_JAIL_DIR } from '../src/options';
import { createLogger, type Logger } from '../src/log';
import { fdFacts, otherEndHeld } from '../src/inheritedfds';
import { lookupUser, type ProgUser } from '../src/prog';
import { LineReader, type LineResult } from './lines';
import { parseSmtpOptions, UsageError, USAGE, type SmtpOptions } from './options';
import { ehloReply, parseReplyLine, type Reply } from './reply';

interface Rlimits {
  setrlimit(resource: string, limits: { soft: number | null; hard: number | null }): void;
  getrlimit(resource: string): { soft: number | null; hard: number | null };
}
// eslint-disable-next-line @typescript-eslint/no-var-requires
const posix: Rlimits = require('posix');

const PROGRAM = 'tlswrapper-smtp';
/** Longest command line or reply line (upstream's limit). */
const MAX_LINE = 4096;
/** Longest line of a message body: they pass through, but one at a time. */
const MAX_DATA_LINE = 1024 * 1024;
const CONTROL_FD = 5;
const ACK_FD = 6;
/** O_CLOEXEC in /proc/self/fdinfo's octal flags. */
const O_CLOEXEC = 0o2000000;
const SETPRIV = ['/usr/bin/setpriv', '/bin/setpriv'].find((p) => fs.existsSync(p));

const errText = (e: unknown): string => (e instanceof Error ? e.message : String(e));

/**
 * fd is one of tlswrapper's control pipes we inherited, usable for writing
 * (fd 5) or reading (fd 6). The close-on-exec flag cannot tell: Node marks
 * every inherited descriptor close-on-exec at start-up
 * (uv_disable_stdio_inheritance), and opens its own descriptors, often 4 to 7:
 * pipes whose both ends it holds. So an inherited control pipe is a socket
 * (our tlswrapper's socketpairs) or a pipe whose other end is not ours (C
 * tlswrapper's pipes) with the right direction.
 */
function inheritedControl(fd: number, direction: 'write' | 'read'): boolean {
  const f = fdFacts(fd);
  if (!f) return false;
  const access = f.flags & 3; // O_RDONLY 0, O_WRONLY 1, O_RDWR 2
  if (/^socket:\[\d+\]$/.test(f.target)) return access === 2;
  if (!/^pipe:\[\d+\]$/.test(f.target)) return false;
  if (access !== (direction === 'write' ? 1 : 0)) return false;
  return !otherEndHeld(fd, f.target);
}

/** fd would reach prog: open and not close-on-exec. */
function inheritable(fd: number): boolean {
  const f = fdFacts(fd);
  return f !== null && (f.flags & O_CLOEXEC) === 0;
}

/** Non-root: no chroot or uid change is possible, so only the rlimits. */
function limitsOnly(): void {
  for (const resource of JAIL_RLIMITS) {
    posix.setrlimit(resource, { soft: 0, hard: 0 });
    const got = posix.getrlimit(resource);
    if (got.soft !== 0 || got.hard !== 0) throw new Error(`setrlimit ${resource}: limit is ${got.soft}/${got.hard}, not 0/0`);
  }
  // As enterJail(): SIGUSR1 would start the inspector thread, which NPROC 0 forbids.
  process.on('SIGUSR1', () => {});
}

/** fd 0 as a stream: a pipe or socket without Node's synchronous stdio; a file or tty via fs. */
function inputStream(): Readable {
  const st = fs.fstatSync(0);
  if (st.isFIFO() || st.isSocket()) {
    // pauseOnCreate: nothing is read before the jail.
    return new net.Socket({ fd: 0, readable: true, writable: false, allowHalfOpen: true, pauseOnCreate: true } as net.SocketConstructorOpts);
  }
  return fs.createReadStream('', { fd: 0, autoClose: false });
}

function outputStream(): Writable {
  const st = fs.fstatSync(1);
  if (st.isFIFO() || st.isSocket()) return new net.Socket({ fd: 1, readable: false, writable: true });
  return fs.createWriteStream('', { fd: 1, autoClose: false });
}

/** Read fd until EAGAIN or EOF without blocking (it is O_NONBLOCK once libuv wrapped it); the bytes. */
function drainNow(fd: number): { bytes: Buffer; eof: boolean } {
  const parts: Buffer[] = [];
  const chunk = Buffer.alloc(16384);
  for (;;) {
    let n: number;
    try {
      n = fs.readSync(fd, chunk, 0, chunk.length, null);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EAGAIN' || code === 'EWOULDBLOCK') return { bytes: Buffer.concat(parts), eof: false };
      if (code === 'EINTR') continue;
      throw e;
    }
    if (n === 0) return { bytes: Buffer.concat(parts), eof: true };
    parts.push(Buffer.from(chunk.subarray(0, n)));
  }
}

/**
 * All of data on fd, now. Our stdout is non-blocking (libuv's): it is empty
 * (every write before was awaited), so EAGAIN is next to impossible for one
 * line; if it happens, wait a millisecond (Atomics.wait) and go on.
 */
function writeAllSync(fd: number, data: Buffer): void {
  let off = 0;
  const pause = new Int32Array(new SharedArrayBuffer(4));
  for (let tries = 0; off < data.length; ) {
    try {
      off += fs.writeSync(fd, data, off);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if ((code !== 'EAGAIN' && code !== 'EINTR') || ++tries > 15000) throw e;
      Atomics.wait(pause, 0, 0, 1);
    }
  }
}

/** prog's argv and environment: -u through setpriv, fds 5 and 6 closed by a shell when we hold them. */
function progCommand(o: SmtpOptions, user: ProgUser | undefined, closeControl: boolean): { argv: string[]; env: NodeJS.ProcessEnv; ids?: { uid: number; gid: number } } {
  let argv = o.prog;
  // prog must not get fds 5 and 6: it could ask for TLS behind our back, and
  // its copy of fd 5 would keep tlswrapper from seeing the end of our 220.
  // Node 20 makes inherited descriptors close-on-exec at start-up; should
  // one be inheritable all the same, a shell closes it (Node cannot close a
  // descriptor in a child).
  if (closeControl) argv = ['/bin/sh', '-c', 'exec "$@" 5>&- 6>&-', 'sh', ...argv];
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.NODE_OPTIONS;
  if (!user) return { argv, env };
  Object.assign(env, { HOME: user.home, SHELL: user.shell, USER: user.name, LOGNAME: user.name });
  if (!SETPRIV) return { argv, env, ids: { uid: user.uid, gid: user.gid } };
  return { argv: [SETPRIV, '--reuid', String(user.uid), '--regid', String(user.gid), '--init-groups', '--', ...argv], env };
}

/** A line for the log: no CR/LF, control characters escaped, at most 200 characters. */
function printable(b: Buffer | string): string {
  const s = (typeof b === 'string' ? b : b.toString('latin1')).replace(/\r?\n$/, '');
  const esc = s.replace(/[\x00-\x1f\x7f-\xff]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
  return esc.length > 200 ? `${esc.slice(0, 200)}...` : esc;
}

/** The line without its terminator, then CRLF (a bare LF becomes CRLF). */
function crlf(line: Buffer): Buffer {
  let end = line.length;
  if (end > 0 && line[end - 1] === 0x0a) end--;
  if (end > 0 && line[end - 1] === 0x0d) end--;
  return Buffer.concat([line.subarray(0, end), Buffer.from('\r\n')]);
}

class Session {
  private tls = false;
  private mailFrom = '';
  private rcpts: string[] = [];
  /** The last reply asked for more (334: AUTH): the next line is a credential, never logged. */
  private secret = false;
  private readonly client: LineReader;
  private readonly server: LineReader;
  private readonly exited: Promise<number>;

  constructor(
    private readonly o: SmtpOptions,
    private readonly log: Logger,
    private readonly stdin: Readable,
    private readonly stdout: Writable,
    private readonly prog: ChildProcess,
    private readonly ack: net.Socket | null,
  ) {
    this.client = new LineReader(stdin);
    this.server = new LineReader(prog.stdout!);
    this.exited = new Promise((resolve) => {
      prog.once('exit', (code, signal) => {
        if (signal !== null) {
          log.fatal(`prog killed by signal ${signal}`);
          resolve(EXIT_FAILURE);
        } else {
          log.debug(`prog exited with status ${code}`);
          resolve(code ?? EXIT_FAILURE);
        }
      });
    });
    prog.stdin!.on('error', () => {}); // EPIPE: noticed as prog's EOF
    stdout.on('error', (e: NodeJS.ErrnoException) => this.die(`unable to write to the client: ${e.code ?? e.message}`));
  }

  private get rwMs(): number {
    return this.o.rwTimeout * 1000;
  }

  die(message: string): never {
    this.log.fatal(message);
    process.exit(EXIT_FAILURE);
  }

  /** Wait for prog to exit (at most -T) and exit with its status. */
  private async finish(): Promise<never> {
    this.prog.stdin!.end();
    const timer = setTimeout(() => this.die(`prog did not exit within ${this.o.rwTimeout} seconds`), this.rwMs);
    const status = await this.exited;
    clearTimeout(timer);
    process.exit(status);
  }

  private write(stream: Writable, data: Buffer | string, to: string): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.die(`timeout writing to ${to}`), this.rwMs);
      stream.write(data, (e) => {
        clearTimeout(timer);
        if (e) this.die(`unable to write to ${to}: ${(e as NodeJS.ErrnoException).code ?? e.message}`);
        resolve();
      });
    });
  }

  private toClient(data: Buffer | string): Promise<void> {
    return this.write(this.stdout, data, 'the client');
  }

  /** To prog: waits only when its pipe is full. */
  private async toProg(data: Buffer | string): Promise<void> {
    if (this.prog.stdin!.write(data)) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => this.die(`timeout writing to prog`), this.rwMs);
      this.prog.stdin!.once('drain', () => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  /** prog's stdout ended before a whole reply: pass on what it said, then its status. */
  private async progGone(partial: Buffer[]): Promise<never> {
    const rest = Buffer.concat([...partial, this.server.take()]);
    if (rest.length > 0) await this.toClient(rest);
    this.log.debug('prog closed its output');
    return this.finish();
  }

  /** One reply from prog, each line CRLF-terminated. */
  private async reply(): Promise<Reply> {
    const lines: Buffer[] = [];
    for (;;) {
      const r = await this.server.line(MAX_LINE, this.rwMs);
      if (r.kind === 'timeout') this.die('timeout reading from prog');
      if (r.kind === 'toolong') this.die(`prog's reply line exceeds ${MAX_LINE} bytes`);
      if (r.kind !== 'line') return this.progGone(lines);
      const line = crlf(r.line);
      lines.push(line);
      this.log.tracing(`prog: ${printable(line)}`);
      const parsed = parseReplyLine(line);
      if (!parsed.more) return { code: parsed.code, lines };
    }
  }

  /** The next client line, or the end: client EOF or prog gone while we waited. */
  private async clientLine(max: number): Promise<Buffer> {
    const progEnded = this.server.whenEnded().then(() => 'prog' as const);
    const r = await Promise.race([this.client.line(max, this.rwMs), progEnded]);
    if (r === 'prog') return this.progGone([]);
    return this.lineOrEnd(r, max);
  }

  private async lineOrEnd(r: LineResult, max: number): Promise<Buffer> {
    switch (r.kind) {
      case 'line':
        return r.line;
      case 'timeout':
        return this.die(`timeout reading from the client (${this.o.rwTimeout} seconds)`);
      case 'toolong':
        return this.die(`client line exceeds ${max} bytes`);
      case 'error':
        this.log.debug(`unable to read from the client: ${r.message}`);
        return this.finish();
      case 'eof':
        this.log.debug('the client closed the connection');
        return this.finish();
    }
  }

  /** A command to prog and its reply back; the reply. */
  private async copy(line: Buffer): Promise<Reply> {
    await this.toProg(line);
    const reply = await this.reply();
    await this.toClient(Buffer.concat(reply.lines));
    return reply;
  }

  private logCommand(line: Buffer, verb: string, reply: Reply | string): void {
    const said = this.secret ? '(credentials)' : verb === 'AUTH' ? `AUTH ${printable(line).split(' ')[1] ?? ''}`.trim() : printable(line);
    const answer = typeof reply === 'string' ? reply : printable(reply.lines[reply.lines.length - 1]);
    this.log.debug(`${said}: ${answer}`);
    if (typeof reply !== 'string') this.secret = reply.code === 334;
  }

  async run(): Promise<never> {
    const greeting = await this.reply();
    await this.toClient(Buffer.concat(greeting.lines));
    for (;;) {
      const line = crlf(await this.clientLine(MAX_LINE));
      const text = line.toString('latin1').slice(0, -2);
      this.log.tracing(`client: ${this.secret ? '(credentials)' : printable(text)}`);
      const space = text.indexOf(' ');
      const verb = this.secret ? '' : (space < 0 ? text : text.slice(0, space)).toUpperCase();
      const args = space < 0 ? '' : text.slice(space + 1).trim();
      switch (verb) {
        case 'EHLO':
          await this.ehlo(line);
          break;
        case 'STARTTLS':
          await this.starttls(line, args);
          break;
        case 'DATA':
          await this.data(line);
          break;
        case 'QUIT': {
          const reply = await this.copy(line);
          this.logCommand(line, verb, reply);
          return this.finish();
        }
        case 'MAIL':
          this.mailFrom = /^FROM:\s*(\S*)/i.exec(args)?.[1] ?? '';
          this.rcpts = [];
          this.logCommand(line, verb, await this.copy(line));
          break;
        case 'RCPT': {
          const reply = await this.copy(line);
          if (reply.code === 250 || reply.code === 251) this.rcpts.push(/^TO:\s*(\S*)/i.exec(args)?.[1] ?? '');
          this.logCommand(line, verb, reply);
          break;
        }
        case 'RSET':
        case 'HELO':
          this.mailFrom = '';
          this.rcpts = [];
          this.logCommand(line, verb, await this.copy(line));
          break;
        default:
          this.logCommand(line, verb, await this.copy(line));
      }
    }
  }

  private get offerStartTls(): boolean {
    return this.ack !== null && !this.tls;
  }

  private async ehlo(line: Buffer): Promise<void> {
    await this.toProg(line);
    const reply = ehloReply(await this.reply(), this.offerStartTls);
    await this.toClient(Buffer.concat(reply.lines));
    this.mailFrom = '';
    this.rcpts = [];
    this.logCommand(line, 'EHLO', reply);
  }

  private async answer(line: Buffer, text: string): Promise<void> {
    await this.toClient(`${text}\r\n`);
    this.logCommand(line, 'STARTTLS', text);
  }

  private async starttls(line: Buffer, args: string): Promise<void> {
    if (this.ack === null) return this.answer(line, '502 unimplemented (#5.5.1)');
    if (this.tls) return this.answer(line, '503 already in TLS (#5.5.1)');
    if (args !== '') return this.answer(line, '501 STARTTLS takes no parameters (#5.5.4)');
    const ack = this.ack;

    // What the client sent after STARTTLS and we already hold: plaintext, never a command.
    let dropped = this.client.discard();
    // The 220 goes on fd 5, not to the client: tlswrapper's older -n protocol
    // (a final plaintext reply, up to EOF on fd 5). tlswrapper stops reading
    // the client, drops what it has not given us, sends the 220 itself and
    // only then starts TLS: a client's ClientHello cannot arrive before the
    // switch. (With 0x00/0x01 after writing the 220 to fd 1, a quick client's
    // ClientHello can reach tlswrapper before the request does; it is then
    // passed to us as plaintext and the handshake dies.)
    const ready = '220 ready to start TLS (#2.0.0)';
    try {
      writeAllSync(CONTROL_FD, Buffer.from(`${ready}\r\n`));
      fs.closeSync(CONTROL_FD);
    } catch (e) {
      this.die(`unable to write the STARTTLS reply on control fd ${CONTROL_FD}: ${errText(e)}`);
    }
    this.logCommand(line, 'STARTTLS', ready);
    // EOF on fd 6: tlswrapper has switched, and every plaintext byte it gave
    // us is in our stdin (it waits for its writes to finish first).
    if (!(await endOf(ack, this.rwMs))) this.die(`unable to receive the end of control fd ${ACK_FD} after STARTTLS`);

    // The boundary. What stdin holds now is plaintext the client pipelined
    // after STARTTLS: drop it without waiting (synchronously: nothing else
    // runs meanwhile). TLS data can come only after a whole handshake, which
    // starts when the client gets the 220 that tlswrapper sends at the switch.
    dropped += this.client.discard();
    if (this.stdin instanceof net.Socket) {
      const now = drainNow(0);
      dropped += now.bytes.length;
      if (now.eof) this.log.debug('the client closed the connection after STARTTLS');
    }
    if (dropped > 0) this.log.info(`dropped ${dropped} bytes the client sent after STARTTLS before TLS started`);
    this.tls = true;

    // prog's state from before TLS must not carry over (RFC 3207 4.2).
    this.mailFrom = '';
    this.rcpts = [];
    await this.toProg('RSET\r\n');
    const reset = await this.reply();
    this.log.debug(`RSET (after STARTTLS, reply not sent to the client): ${printable(reset.lines[reset.lines.length - 1])}`);
  }

  private async data(line: Buffer): Promise<void> {
    await this.toProg(line);
    const go = await this.reply();
    await this.toClient(Buffer.concat(go.lines));
    this.logCommand(line, 'DATA', go);
    if (go.code !== 354) return;
    let bytes = 0;
    for (;;) {
      const body = crlf(await this.clientLine(MAX_DATA_LINE));
      await this.toProg(body);
      if (body.length === 3 && body[0] === 0x2e) break;
      bytes += body.length;
    }
    const done = await this.reply();
    await this.toClient(Buffer.concat(done.lines));
    const result = `F=${this.mailFrom} T=${this.rcpts.join(',')} ${bytes} bytes: ${printable(done.lines[done.lines.length - 1])}`;
    if (done.code === 250) this.log.info(result);
    else this.log.warning(result);
    this.mailFrom = '';
    this.rcpts = [];
  }
}

/** True at EOF on socket (tlswrapper closed fd 6), false on a byte (no such protocol) or after ms. */
function endOf(socket: net.Socket, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    const done = (ok: boolean) => {
      clearTimeout(timer);
      socket.removeAllListeners('data');
      socket.destroy();
      resolve(ok);
    };
    socket.once('data', () => done(false));
    socket.once('end', () => done(true));
    socket.once('error', () => done(true));
    socket.resume();
  });
}

async function main(): Promise<void> {
  // 1. First of all, before Node opens anything else: fds 5 and 6.
  const control = [inheritedControl(CONTROL_FD, 'write'), inheritedControl(ACK_FD, 'read')];
  const startTls = control[0] && control[1];

  const seen = { verbosity: 1 };
  let o: SmtpOptions;
  try {
    o = parseSmtpOptions(process.argv.slice(2), seen);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    if (seen.verbosity >= 1) fs.writeSync(2, `${PROGRAM}: fatal: ${e.message} (usage: ${USAGE})\n`);
    process.exit(EXIT_USAGE);
  }
  const log = createLogger(o.verbosity, undefined, PROGRAM);
  const die = (message: string): never => {
    log.fatal(message);
    process.exit(EXIT_FAILURE);
  };
  setTimeout(() => die(`session timeout (${o.timeout} seconds)`), o.timeout * 1000).unref();
  if (!startTls) {
    log.debug(
      control[0] || control[1]
        ? `only fd ${control[0] ? CONTROL_FD : ACK_FD} of tlswrapper's control pipes is open: no STARTTLS`
        : 'fds 5 and 6 are not open (tlswrapper without -n?): no STARTTLS',
    );
  }

  // 2. Users and the jail, decided while files can still be read.
  let user: ProgUser | undefined;
  if (o.user !== undefined) {
    try {
      user = lookupUser(o.user);
    } catch (e) {
      die(errText(e));
    }
  }
  const root = process.getuid?.() === 0;
  let spec: JailSpec | null = null;
  if (root) {
    const dir = o.jailDir ?? DEFAULT_JAIL_DIR;
    try {
      ensureJailDir(dir);
      const ids = o.jailUser !== undefined ? jailIdsForUser(o.jailUser) : randomJailIds(1)[0];
      spec = { dir, uid: ids.uid, gid: ids.gid };
    } catch (e) {
      die(`unable to create jail: ${errText(e)}`);
    }
  } else {
    log.info(
      `not running as root (uid ${process.getuid?.()}): no chroot${o.jailDir ? ` to ${o.jailDir}` : ''} and no uid change` +
        `${o.jailUser ? ` to ${o.jailUser}` : ''}; only the rlimits (no new files, no processes) after starting prog`,
    );
  }

  // 3. Everything the jail will forbid.
  try {
    await prepareForJail();
  } catch (e) {
    die(`unable to create jail: ${errText(e)}`);
  }
  const stdin = inputStream();
  const stdout = outputStream();
  stdin.pause();
  let ack: net.Socket | null = null;
  if (startTls) {
    ack = new net.Socket({ fd: ACK_FD, readable: true, writable: false, allowHalfOpen: true, pauseOnCreate: true } as net.SocketConstructorOpts);
    ack.pause();
  }

  // 4. prog.
  const cmd = progCommand(o, user, inheritable(CONTROL_FD) || inheritable(ACK_FD));
  log.tracing(`running '${o.prog.join(' ')}'${user ? ` as ${user.name}` : ''}`);
  let prog: ChildProcess;
  try {
    prog = spawn(cmd.argv[0], cmd.argv.slice(1), { stdio: ['pipe', 'pipe', 'inherit'], env: cmd.env, ...(cmd.ids ?? {}) });
  } catch (e) {
    return die(`unable to run ${o.prog[0]}: ${errText(e)}`);
  }
  prog.once('error', (e: NodeJS.ErrnoException) => die(`unable to run ${o.prog[0]}: ${e.code ?? e.message}`));
  if (prog.pid === undefined) await new Promise(() => {}); // the 'error' above ends us
  prog.stdout!.pause();

  // 5. Jail, before any byte is read.
  try {
    if (spec) enterJail(spec);
    else limitsOnly();
  } catch (e) {
    die(`unable to create jail: ${errText(e)}`);
  }
  if (spec) log.debug(`jailed: uid ${spec.uid}, gid ${spec.gid}, root ${spec.dir}`);
  else log.debug('limited: rlimits nofile, nproc, fsize, core 0');

  // 6. SMTP.
  await new Session(o, log, stdin, stdout, prog, ack).run();
}

main().catch((e) => {
  try {
    fs.writeSync(2, `${PROGRAM}: fatal: ${errText(e)}\n`);
  } catch {
    // nowhere to say it
  }
  process.exit(EXIT_FAILURE);
});
