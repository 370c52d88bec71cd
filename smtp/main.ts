// tlswrapper-smtp [options] prog: STARTTLS for an inetd-style SMTP server
// (prog) that knows nothing of TLS, run as the prog of `tlswrapper -n`:
//
//   tcpserver 0 25 tlswrapper -n -f cert.pem tlswrapper-smtp -u smtpd prog
//
// Order of events:
//   1. fds 5 and 6: STARTTLS is possible only if both were inherited
//      (tlswrapper -n's control and acknowledgement pipes, wire/starttls.ts)
//   2. options; -u's user looked up; as root: the jail dir and ids decided
//   3. warm up what the jail forbids; wrap fds 0, 1 and 6 (paused)
//   4. start prog on two pipes, as -u's user if given, with fds 5 and 6
//      closed; with STARTTLS, also the spawner of the instance for TLS (a
//      shell, as -u's user, that waits on its stdin for the TLS facts and
//      only then execs prog with them in its environment; see SPAWNER)
//   5. jail (root: chroot + random or -j ids + rlimits 0; not root: rlimits
//      only), before a byte is read from the client
//   6. SMTP, one command at a time: prog's greeting, then each client line to
//      prog and prog's reply back; EHLO replies gain STARTTLS, STARTTLS is
//      ours (prog never sees it): its 220 goes to the client, then 0x01 on
//      fd 5; the ack and the facts come on fd 6 while stdin is dropped (the
//      plaintext the client pipelined), up to its EOF. The pre-TLS instance
//      gets QUIT; the spawner gets the facts and becomes prog; its banner is
//      swallowed, and the client's EHLO over TLS goes to it. DATA's body goes
//      through untouched.
//
// Why a spawner: the jail (NPROC 0, chroot) allows no new process, and the
// jail comes before any client byte is read. Deferring the jail until after
// TLS would leave this process, root, parsing a plaintext session unjailed
// for as long as the client likes. So both processes exist before the jail;
// the second runs no code of prog until it has the facts, and reads nothing
// but the facts we write (its stdin is our pipe, not the client).
// Exit: prog's exit status; 111 on a timeout, a broken pipe or a signal.
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import type { Readable, Writable } from 'node:stream';
import { companionJail, enterJail, enterLimitsOnly, prepareForJail, type JailSpec } from '../jail/jail';
import { EXIT_FAILURE } from '../lib/exitcodes';
import { optionsOrExit } from '../lib/getopt';
import { inputStream, outputStream, writeAllSync } from '../lib/stdiostreams';
import { decodeFacts, MAX_FACTS } from '../wire/facts';
import { PROG_ACK_FD, PROG_CONTROL_FD } from '../wire/starttls';
import { createLogger, errText, printable as logSafe, type Logger } from '../lib/log';
import { fdFacts, otherEndHeld } from '../lib/inheritedfds';
import { asUser, lookupUser, REMOVED_VARIABLES, userVariables, type ProgUser } from '../lib/progrun';
import { LineReader, type LineResult } from './lines';
import { parseSmtpOptions, USAGE, type SmtpOptions } from './options';
import { ehloReply, parseReplyLine, type Reply } from './reply';


const PROGRAM = 'tlswrapper-smtp';
/** Longest command line or reply line (upstream's limit). */
const MAX_LINE = 4096;
/** Longest line of a message body: they pass through, but one at a time. */
const MAX_DATA_LINE = 1024 * 1024;
/** O_CLOEXEC in /proc/self/fdinfo's octal flags. */
const O_CLOEXEC = 0o2000000;

/** A shell's redirections that close tlswrapper's control pipes for the command it execs. */
const CLOSE_CONTROL_FDS = `${PROG_CONTROL_FD}>&- ${PROG_ACK_FD}>&-`;

/**
 * /bin/sh -c SPAWNER spawner prog args...: one NAME=value line per fact (the
 * value escaped for printf %b: \0ooo), then an empty line, then exec prog
 * with the facts exported and fds 5 and 6 closed. `read` takes a pipe byte by
 * byte, so prog gets the rest of the pipe, the SMTP session, untouched. EOF
 * before the empty line (no TLS after all): exit 0, prog never runs. The x
 * keeps $(...) from eating a value's trailing newlines.
 */
const SPAWNER = [
  'while IFS= read -r fact; do',
  `  if [ -z "$fact" ]; then exec "$@" ${CLOSE_CONTROL_FDS}; fi`,
  '  v=$(printf "%bx" "${fact#*=}") || exit 111',
  '  export "${fact%%=*}=${v%x}" || exit 111',
  'done',
  'exit 0',
].join('\n');

/** The facts as SPAWNER reads them. */
function spawnerInput(facts: [string, Buffer][]): Buffer {
  const lines = facts.map(([name, value]) => {
    let v = '';
    for (const b of value) v += (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a) || b === 0x2e || b === 0x5f || b === 0x2d ? String.fromCharCode(b) : `\\0${b.toString(8).padStart(3, '0')}`;
    return `${name}=${v}\n`;
  });
  return Buffer.from(`${lines.join('')}\n`, 'latin1');
}


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

/**
 * prog's argv and environment: -u through setpriv, fds 5 and 6 closed by a
 * shell when we hold them; spawner: prog behind SPAWNER (which closes them).
 */
function progCommand(o: SmtpOptions, user: ProgUser | undefined, closeControl: boolean, spawner = false): { argv: string[]; env: NodeJS.ProcessEnv; ids?: { uid: number; gid: number } } {
  let argv = o.prog;
  // prog must not get fds 5 and 6: it could ask for TLS behind our back, or
  // read the facts meant for us. Node 20 makes inherited descriptors
  // close-on-exec at start-up; should one be inheritable all the same, a
  // shell closes it (Node cannot close a descriptor in a child). SPAWNER
  // closes them itself.
  if (spawner) argv = ['/bin/sh', '-c', SPAWNER, 'tlswrapper-smtp-spawner', ...argv];
  else if (closeControl) argv = ['/bin/sh', '-c', `exec "$@" ${CLOSE_CONTROL_FDS}`, 'sh', ...argv];
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of REMOVED_VARIABLES) delete env[name];
  if (user) Object.assign(env, userVariables(user));
  return { ...asUser(argv, user), env };
}

/** An SMTP line for the log: without its line end, escaped, at most 200 characters. */
function printable(b: Buffer | string): string {
  return logSafe((typeof b === 'string' ? b : b.toString('latin1')).replace(/\r?\n$/, ''), 200);
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
  /** prog: the instance started before TLS, then the one started with the facts. */
  private prog!: ChildProcess;
  private server!: LineReader;
  private exited!: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  constructor(
    private readonly o: SmtpOptions,
    private readonly log: Logger,
    stdin: Readable,
    private readonly stdout: Writable,
    prog: ChildProcess,
    private readonly ack: net.Socket | null,
    /** SPAWNER, waiting for the facts (with STARTTLS), else null. */
    private spawner: ChildProcess | null,
  ) {
    this.client = new LineReader(stdin);
    this.attach(prog);
    spawner?.stdin!.on('error', () => {});
    stdout.on('error', (e: NodeJS.ErrnoException) => this.die(`unable to write to the client: ${e.code ?? e.message}`));
  }

  private attach(prog: ChildProcess): void {
    this.prog = prog;
    this.server = new LineReader(prog.stdout!);
    this.exited = new Promise((resolve) => prog.once('exit', (code, signal) => resolve({ code, signal })));
    prog.stdin!.on('error', () => {}); // EPIPE: noticed as prog's EOF
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
    this.spawner?.stdin!.end(); // no TLS: it exits without running prog
    const timer = setTimeout(() => this.die(`prog did not exit within ${this.o.rwTimeout} seconds`), this.rwMs);
    const { code, signal } = await this.exited;
    clearTimeout(timer);
    if (signal !== null) this.die(`prog killed by signal ${signal}`);
    this.log.debug(`prog exited with status ${code}`);
    process.exit(code ?? EXIT_FAILURE);
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
    const spawner = this.spawner!;

    // What the client sent after STARTTLS and we already hold: plaintext, never a command.
    let dropped = this.client.discard();
    // tlswrapper(1), DELAYED ENCRYPTION: the 220 to the client, then 0x01 on
    // fd 5 (start TLS, send the facts). The boundary is this final reply:
    // client bytes after it start TLS (a prompt ClientHello is kept), those
    // before it that tlswrapper still holds are dropped by it, and those it
    // had already given us are in our stdin.
    const ready = '220 ready to start TLS (#2.0.0)';
    await this.toClient(`${ready}\r\n`);
    try {
      writeAllSync(PROG_CONTROL_FD, Buffer.of(0x01));
      fs.closeSync(PROG_CONTROL_FD);
    } catch (e) {
      this.die(`unable to ask for TLS on control fd ${PROG_CONTROL_FD}: ${errText(e)}`);
    }
    this.logCommand(line, 'STARTTLS', ready);
    // Until fd 6 ends: stdin is read and dropped, the ack and the facts come
    // on fd 6. Every plaintext byte is in our stdin before fd 6 ends, and no
    // decrypted byte is written before it ends: this drops the pipelined
    // plaintext and keeps what comes over TLS.
    // The facts end with an empty entry, written with fd 6's EOF and just
    // before the first decrypted bytes: stdin is kept from the moment that
    // empty entry is read (in the same callback), since Node may report the
    // EOF only after stdin's next bytes, the client's first over TLS.
    this.client.dropFromNow();
    let kept = false;
    const keep = () => {
      if (!kept) dropped += this.client.keep();
      kept = true;
    };
    const control = await readToEnd(ack, this.rwMs, 1 + MAX_FACTS, (b) => {
      // The ack, then \0 alone (no facts) or ending an entry (\0\0): values hold no NUL.
      if (b.length >= 2 && b[b.length - 1] === 0 && (b.length === 2 || b[b.length - 2] === 0)) keep();
    });
    keep();
    if (typeof control === 'string') this.die(`fd ${PROG_ACK_FD} after STARTTLS: ${control}`);
    if (control[0] !== 0x00) this.die(`fd ${PROG_ACK_FD} after STARTTLS: ${control.length === 0 ? 'no acknowledgement' : `acknowledgement 0x${control[0].toString(16)}, not 0x00`}`);
    const facts = decodeFacts(control.subarray(1));
    if (typeof facts === 'string') this.die(`fd ${PROG_ACK_FD} after STARTTLS: ${facts}`);
    if (dropped > 0) this.log.info(`dropped ${dropped} bytes the client sent after STARTTLS before TLS started`);
    this.log.debug(`TLS: ${facts.filter(([n]) => /^SSL_(PROTOCOL|CIPHER|TLS_SNI_SERVERNAME|CLIENT_VERIFY)$/.test(n)).map(([n, v]) => `${n}=${printable(v)}`).join(' ')}`);
    this.tls = true;
    this.mailFrom = '';
    this.rcpts = [];

    // prog's state from before TLS must not carry over (RFC 3207 4.2), and
    // its environment has no facts: the instance from before TLS ends here,
    // and a new one, with the facts, takes the session over TLS.
    await this.retire();
    this.spawner = null;
    this.attach(spawner);
    await this.toProg(spawnerInput(facts));
    // The client starts again with EHLO and expects no banner (RFC 3207 4.2).
    const banner = await this.reply();
    if (banner.code !== 220) {
      // It will not serve this session: the client gets its word and the end.
      await this.toClient(Buffer.concat(banner.lines));
      this.log.warning(`prog's greeting after STARTTLS: ${printable(banner.lines[banner.lines.length - 1])}`);
      return this.finish();
    }
    this.log.debug(`prog restarted with the TLS facts (greeting not sent to the client): ${printable(banner.lines[banner.lines.length - 1])}`);
  }

  /**
   * The instance from before TLS: QUIT, its reply (not for the client), and
   * its exit within -T. After that, SIGKILL; in the jail that fails when prog
   * runs as another uid (root or -u's user): it is then left with its pipes
   * closed, logged.
   */
  private async retire(): Promise<void> {
    const old = this.prog;
    const exited = this.exited;
    await this.toProg('QUIT\r\n');
    for (;;) {
      const r = await this.server.line(MAX_LINE, this.rwMs);
      if (r.kind !== 'line') {
        this.log.debug(`QUIT (before TLS): no reply (${r.kind})`);
        break;
      }
      if (!parseReplyLine(crlf(r.line)).more) {
        this.log.debug(`QUIT (before TLS, reply not sent to the client): ${printable(r.line)}`);
        break;
      }
    }
    old.stdin!.end();
    let timer: NodeJS.Timeout | undefined;
    const gone = await Promise.race([exited.then(() => true), new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), this.rwMs)))]);
    clearTimeout(timer);
    old.stdout!.destroy();
    if (gone) return;
    old.removeAllListeners('error');
    old.on('error', () => {});
    if (old.kill('SIGKILL')) this.log.warning(`prog (before TLS) did not exit within ${this.o.rwTimeout} seconds after QUIT: killed`);
    else this.log.warning(`prog (before TLS) did not exit within ${this.o.rwTimeout} seconds after QUIT and cannot be killed from the jail: left with its pipes closed`);
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

async function main(): Promise<void> {
  // 1. First of all, before Node opens anything else: fds 5 and 6.
  const control = [inheritedControl(PROG_CONTROL_FD, 'write'), inheritedControl(PROG_ACK_FD, 'read')];
  const startTls = control[0] && control[1];

  const o = optionsOrExit(PROGRAM, USAGE, (seen) => parseSmtpOptions(process.argv.slice(2), seen));
  const log = createLogger(o.verbosity, undefined, PROGRAM);
  const die = (message: string): never => {
    log.fatal(message);
    process.exit(EXIT_FAILURE);
  };
  setTimeout(() => die(`session timeout (${o.timeout} seconds)`), o.timeout * 1000).unref();
  if (!startTls) {
    log.debug(
      control[0] || control[1]
        ? `only fd ${control[0] ? PROG_CONTROL_FD : PROG_ACK_FD} of tlswrapper's control pipes is open: no STARTTLS`
        : `fds ${PROG_CONTROL_FD} and ${PROG_ACK_FD} are not open (tlswrapper without -n?): no STARTTLS`,
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
  let spec: JailSpec | null = null;
  try {
    const jail = companionJail(o.jailDir, o.jailUser);
    spec = jail.spec;
    if (jail.why) log.info(`${jail.why}; only the rlimits (no new files, no processes) after starting prog`);
  } catch (e) {
    die(`unable to create jail: ${errText(e)}`);
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
    ack = new net.Socket({ fd: PROG_ACK_FD, readable: true, writable: false, allowHalfOpen: true, pauseOnCreate: true } as net.SocketConstructorOpts);
    ack.pause();
  }

  // 4. prog.
  const cmd = progCommand(o, user, inheritable(PROG_CONTROL_FD) || inheritable(PROG_ACK_FD));
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
  // The instance for TLS, as far as a process can go without the facts: now, since the jail allows no new process.
  let spawner: ChildProcess | null = null;
  if (startTls) {
    const sp = progCommand(o, user, true, true);
    try {
      spawner = spawn(sp.argv[0], sp.argv.slice(1), { stdio: ['pipe', 'pipe', 'inherit'], env: sp.env, ...(sp.ids ?? {}) });
    } catch (e) {
      return die(`unable to run /bin/sh: ${errText(e)}`);
    }
    spawner.once('error', (e: NodeJS.ErrnoException) => die(`unable to run /bin/sh: ${e.code ?? e.message}`));
    if (spawner.pid === undefined) await new Promise(() => {});
    spawner.stdout!.pause();
  }

  // 5. Jail, before any byte is read.
  try {
    if (spec) enterJail(spec);
    else enterLimitsOnly();
  } catch (e) {
    die(`unable to create jail: ${errText(e)}`);
  }
  if (spec) log.debug(`jailed: uid ${spec.uid}, gid ${spec.gid}, root ${spec.dir}`);
  else log.debug('limited: rlimits nofile, nproc, fsize, core 0');

  // 6. SMTP.
  await new Session(o, log, stdin, stdout, prog, ack, spawner).run();
}

main().catch((e) => {
  try {
    fs.writeSync(2, `${PROGRAM}: fatal: ${errText(e)}\n`);
  } catch {
    // nowhere to say it
  }
  process.exit(EXIT_FAILURE);
});
