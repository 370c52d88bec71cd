// One SMTP session between the client (stdin/stdout) and prog: each command
// to prog and its reply back, EHLO's reply with STARTTLS added, STARTTLS
// itself (ours, never prog's), and after it prog's instance with the facts.
import type { ChildProcess } from 'node:child_process';
import type * as net from 'node:net';
import type { Readable, Writable } from 'node:stream';
import { EXIT_FAILURE } from '../lib/exitcodes';
import { errText, fatalExit, printable as logSafe, type Logger } from '../lib/log';
import { PROG_ACK_FD, PROG_CONTROL_FD } from '../wire/starttls';
import { askForTlsWithFacts, receiveFacts } from './control';
import { LineReader, type LineResult } from './lines';
import type { SmtpOptions } from './options';
import { ehloReply, parseReplyLine, type Reply } from './reply';
import { spawnerInput } from './spawner';

/** Longest command line or reply line (upstream's limit). */
const MAX_LINE = 4096;
/** Longest line of a message body: they pass through, but one at a time. */
const MAX_DATA_LINE = 1024 * 1024;

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

export class Session {
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
    /** SPAWNER (spawner.ts), waiting for the facts (with STARTTLS), else null. */
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
    return fatalExit(this.log, message);
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
      askForTlsWithFacts();
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
    const facts = await receiveFacts(ack, this.rwMs, keep);
    keep();
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
