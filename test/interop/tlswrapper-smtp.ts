// tlswrapper-smtp for real: tcpserver runs our tlswrapper -n, which runs
// bin/tlswrapper-smtp in front of test/lib/progs/smtp-server.py (an
// inetd-style SMTP server without TLS that logs every command, message and
// its environment to $SMTP_FIXTURE_LOG). Clients: swaks, openssl s_client
// -starttls smtp, and a raw client that switches to Node tls on the same
// socket. At STARTTLS the instance from before TLS gets QUIT and a new one,
// with the TLS facts in its environment, serves the session over TLS: the
// log shows two sessions (two pids). Then bin/tlswrapper-smtp alone on pipes (no fds 5/6): exit
// statuses, timeouts, usage errors.
import t, { type Test } from 'tap';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tls from 'node:tls';
import { createHash } from 'node:crypto';
import { leafCert } from '../lib/certs';
import { clientCert } from '../lib/clientcerts';
import { opensslClient } from '../lib/clients';
import { NO_TAP_LOADER, ours, TLSWRAPPER } from '../lib/ours';
import { connections, readLimits } from '../lib/procs';
import { describe, perlHas, repoRoot, run, waitFor, which } from '../lib/sh';
import { busyboxPath, ENTRY_POINTS, freePort, serve, startListener, superServerMissing, type SuperServer, type SuperServerKind } from '../lib/superserver';

t.setTimeout(60000);
const SMTP = path.join(repoRoot, 'bin', 'tlswrapper-smtp');
const FIXTURE = path.join(repoRoot, 'test', 'lib', 'progs', 'smtp-server.py');
const cert = leafCert('p256', ['localhost']);
const skip = superServerMissing('tcpserver') ?? false;
const skipSwaks = skip || (which('swaks') ? false : 'swaks not installed (apt-get install swaks)');
// swaks --tls needs Perl's Net::SSLeay, a Recommends of swaks that
// --no-install-recommends leaves out: say so instead of failing.
const skipSwaksTls = skipSwaks || (perlHas('Net::SSLeay') ? false
  : 'swaks --tls needs Perl\'s Net::SSLeay (apt-get install libnet-ssleay-perl)');
// Readable by the fixture when it runs as nobody (-u).
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tlswrapper-smtp-'));
fs.chmodSync(tmp, 0o755);
t.teardown(() => fs.rmSync(tmp, { recursive: true, force: true }));

interface Event {
  event: 'start' | 'command' | 'message' | 'exit';
  pid: number;
  line?: string;
  from?: string;
  rcpt?: string[];
  data?: string;
  uid?: number;
  fds?: number[];
  env?: Record<string, string>;
  status?: number;
}

let logs = 0;
/** A fresh log file for the fixture (writable by nobody) and a reader for it. */
interface Instance {
  pid: number;
  env: Record<string, string>;
  fds: number[];
  commands: string[];
}

function fixtureLog(): { file: string; events: () => Event[]; commands: () => string[]; messages: () => Event[]; instances: () => Instance[] } {
  const file = path.join(tmp, `log-${++logs}.jsonl`);
  fs.writeFileSync(file, '');
  fs.chmodSync(file, 0o666);
  const events = () =>
    fs
      .readFileSync(file, 'utf8')
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as Event);
  return {
    file,
    events,
    commands: () => events().filter((e) => e.event === 'command').map((e) => e.line!),
    messages: () => events().filter((e) => e.event === 'message'),
    /** Each instance of the fixture, in the order they started, with its commands. */
    instances: () => {
      const all = events();
      return all.filter((e) => e.event === 'start').map((e) => ({
        pid: e.pid,
        env: e.env!,
        fds: e.fds!,
        commands: all.filter((c) => c.event === 'command' && c.pid === e.pid).map((c) => c.line!),
      }));
    },
  };
}

/** tcpserver -> tlswrapper [-n] -> tlswrapper-smtp smtpArgs fixture. */
function chain(tt: Test, log: string, smtpArgs: string[] = [], opts: { n?: boolean; env?: NodeJS.ProcessEnv; wrapperArgs?: string[]; kind?: SuperServerKind } = {}): Promise<SuperServer> {
  const wrapper = [...(opts.wrapperArgs ?? []), ...(opts.n === false ? [] : ['-n']), '-f', cert.pem];
  return serve(tt, opts.kind ?? 'tcpserver', ours([...wrapper, SMTP, ...smtpArgs, FIXTURE]), {
    env: { ...process.env, SMTP_FIXTURE_LOG: log, ...opts.env },
  });
}

// ------------------------------------------------------------ a raw SMTP client

interface Reply {
  code: number;
  lines: string[];
}

class RawSmtp {
  private buf = '';
  private wake: (() => void) | null = null;
  private closed = false;
  sock: net.Socket;

  constructor(sock: net.Socket) {
    this.sock = sock;
    this.attach(sock);
  }

  static async connect(port: number): Promise<RawSmtp> {
    const sock = net.connect(port, '127.0.0.1');
    await new Promise<void>((resolve, reject) => sock.once('connect', resolve).once('error', reject));
    return new RawSmtp(sock);
  }

  private attach(sock: net.Socket): void {
    sock.on('data', (d: Buffer) => {
      this.buf += d.toString('latin1');
      this.wake?.();
    });
    sock.on('end', () => {
      this.closed = true;
      this.wake?.();
    });
    sock.on('error', () => {
      this.closed = true;
      this.wake?.();
    });
  }

  /** The next complete reply; rejects after ms or at EOF. */
  async reply(ms = 8000): Promise<Reply> {
    const deadline = Date.now() + ms;
    for (;;) {
      const lines = this.buf.split('\r\n');
      for (let i = 0; i < lines.length - 1; i++) {
        if (lines[i][3] !== '-') {
          const taken = lines.slice(0, i + 1);
          this.buf = lines.slice(i + 1).join('\r\n');
          return { code: Number(taken[0].slice(0, 3)), lines: taken };
        }
      }
      if (this.closed) throw new Error(`connection closed; unparsed: ${JSON.stringify(this.buf)}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no reply in ${ms} ms; have: ${JSON.stringify(this.buf)}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.wake = () => {
          clearTimeout(timer);
          this.wake = null;
          resolve();
        };
      });
    }
  }

  send(text: string): void {
    this.sock.write(text);
  }

  async cmd(line: string): Promise<Reply> {
    this.send(`${line}\r\n`);
    return this.reply();
  }

  /** TLS on the same socket (after a 220 to STARTTLS). */
  async startTls(extra: tls.ConnectionOptions = {}): Promise<tls.TLSSocket> {
    const plain = this.sock;
    plain.removeAllListeners('data');
    plain.removeAllListeners('end');
    if (this.buf !== '') throw new Error(`plaintext left over before TLS: ${JSON.stringify(this.buf)}`);
    const secure = tls.connect({ socket: plain, ca: fs.readFileSync(cert.caCert), servername: 'localhost', ...extra });
    await new Promise<void>((resolve, reject) => secure.once('secureConnect', resolve).once('error', reject));
    this.sock = secure;
    this.attach(secure);
    return secure;
  }

  close(): void {
    this.sock.destroy();
  }
}

/** One message over an open session; the final reply. */
async function sendMessage(c: RawSmtp, from: string, to: string, body: string): Promise<Reply> {
  for (const [line, code] of [[`MAIL FROM:<${from}>`, 250], [`RCPT TO:<${to}>`, 250], ['DATA', 354]] as const) {
    const r = await c.cmd(line);
    if (r.code !== code) throw new Error(`${line}: ${r.lines.join(' | ')}`);
  }
  c.send(`${body}\r\n.\r\n`);
  return c.reply();
}

// ------------------------------------------------------------ swaks

/** swaks's transcript: `<-`/`<~` lines from the server (plain/TLS), `->`/`~>` to it. */
function swaks(port: number, extra: string[], body: string) {
  return run(['swaks', '--server', `127.0.0.1:${port}`, '--from', 'alice@example.org', '--to', 'bob@example.net',
    '--helo', 'client.example', '--body', body, '--header', 'Subject: tlswrapper-smtp test', '--timeout', '10', ...extra], { timeoutMs: 20000 });
}

t.test('swaks --tls: STARTTLS offered, TLS really on, the message intact, prog never saw STARTTLS', { skip: skipSwaksTls }, async (t) => {
  const log = fixtureLog();
  const s = await chain(t, log.file, ['-vv'], { wrapperArgs: ['-vv'] });
  // Command-like lines in the body are data, not commands.
  const body = 'first line\n.leading dot\n..two dots\nSTARTTLS\nQUIT\nlast line';
  const r = await swaks(s.port, ['--tls', '--tls-verify', '--tls-ca-path', cert.caCert], body);
  t.equal(r.code, 0, `${describe(r)}\n--- server ---\n${s.output()}`);
  t.match(r.out, /^<- {2}250-STARTTLS\r?$/m, 'the plaintext EHLO reply offered STARTTLS');
  t.match(r.out, /^<- {2}250 SIZE 10000000\r?$/m, "the last line kept its '250 ' form");
  t.match(r.out, /^<- {2}220 ready to start TLS/m, 'STARTTLS answered 220');
  t.match(r.out, /=== TLS started with cipher (TLSv1\.3|TLSv1\.2):\S+/, 'swaks shows the TLS protocol and cipher');
  t.match(r.out, /^ ~> MAIL FROM:<alice@example\.org>/m, 'the envelope went over TLS');
  t.notMatch(r.out.split('=== TLS started')[1] ?? '', /250-STARTTLS/, 'not offered again inside TLS');
  const commands = log.commands();
  t.notOk(commands.some((c) => /STARTTLS/i.test(c)), `prog never saw STARTTLS: ${commands.join(' | ')}`);
  t.same(log.instances().map((i) => i.commands), [['EHLO client.example', 'QUIT'], ['EHLO client.example', 'MAIL FROM:<alice@example.org>', 'RCPT TO:<bob@example.net>', 'DATA', 'QUIT']],
    'two sessions: before TLS EHLO and our QUIT, then a new instance for the TLS session');
  const m = log.messages();
  t.equal(m.length, 1, 'one message');
  t.same(m[0].rcpt, ['<bob@example.net>']);
  t.match(m[0].data!, /\r\nSubject: tlswrapper-smtp test\r\n/);
  t.ok(m[0].data!.includes('\r\n\r\nfirst line\r\n.leading dot\r\n..two dots\r\nSTARTTLS\r\nQUIT\r\nlast line\r\n'), `body intact (dot-stuffing undone by prog only): ${JSON.stringify(m[0].data)}`);
  await waitFor(() => /tlswrapper-smtp: info: F=/.test(s.output()), 5000).catch(() => {});
  t.match(s.output(), /tlswrapper: info: handshake done: TLSv1\.3 /, 'tlswrapper logged the handshake (the facts stay there)');
  t.match(s.output(), /tlswrapper-smtp: info: F=<alice@example\.org> T=<bob@example\.net> \d+ bytes: 250 /, 'the transaction logged');
  for (const [n, i] of log.instances().entries()) {
    t.notOk(i.fds.includes(5) || i.fds.includes(6), `instance ${n + 1} has no fd 5 or 6 (fds ${i.fds.join(',')})`);
    t.equal(i.env.NODE_OPTIONS, undefined, `no NODE_OPTIONS for instance ${n + 1}`);
  }
  t.match(log.instances()[1]?.env.SSL_PROTOCOL, /^TLSv1\.3$/, 'the TLS instance has SSL_PROTOCOL');
});

t.test('swaks without --tls: plain SMTP all the way', { skip: skipSwaks }, async (t) => {
  const log = fixtureLog();
  const s = await chain(t, log.file);
  const r = await swaks(s.port, [], 'plain body');
  t.equal(r.code, 0, describe(r));
  t.match(r.out, /^<- {2}250-STARTTLS\r?$/m, 'offered');
  t.notMatch(r.out, /TLS started/, 'not used');
  t.same(log.commands(), ['EHLO client.example', 'MAIL FROM:<alice@example.org>', 'RCPT TO:<bob@example.net>', 'DATA', 'QUIT'], 'no RSET: nothing switched');
  t.match(log.messages()[0]?.data ?? '', /\r\n\r\nplain body\r\n/);
});

// ------------------------------------------------------------ openssl s_client

for (const kind of ENTRY_POINTS) t.test(`openssl s_client -starttls smtp, then commands over TLS, through ${kind}`, { skip }, async (t) => {
  const log = fixtureLog();
  const s = await chain(t, log.file, ['-vv'], { wrapperArgs: ['-vv'], kind });
  const input = 'NOOP\r\nMAIL FROM:<carol@example.org>\r\nRCPT TO:<dave@example.net>\r\nDATA\r\nSubject: over s_client\r\n\r\nsent by s_client\r\n.\r\nQUIT\r\n';
  const r = await opensslClient({ port: s.port, caFile: cert.caCert, extra: ['-starttls', 'smtp'], input, until: /221 2\.0\.0/ });
  t.equal(r.code, 0, `${describe(r)}\n--- server ---\n${s.output()}`);
  t.equal(r.verified, true, 'certificate verified');
  t.match(r.protocol ?? '', /^TLSv1\.[23]$/, `TLS ${r.protocol}`);
  t.match(r.out, /250 2\.0\.0 ok\r?\n/, 'NOOP over TLS');
  t.match(r.out, /250 2\.0\.0 ok: queued as/, 'message accepted');
  t.match(r.out, /221 2\.0\.0 fixture\.example bye/);
  t.same(log.instances().map((i) => i.commands.slice(0, 2)), [['EHLO mail.example.com', 'QUIT'], ['NOOP', 'MAIL FROM:<carol@example.org>']],
    'EHLO and our QUIT, then a new instance for the TLS commands (s_client sends no second EHLO)');
  t.match(log.messages()[0]?.data ?? '', /^Subject: over s_client\r\n\r\nsent by s_client\r\n$/);
});

// ------------------------------------------------------------ pipelining after STARTTLS

t.test('commands pipelined after STARTTLS never reach prog; the session goes on in TLS', { skip }, async (t) => {
  const log = fixtureLog();
  const s = await chain(t, log.file, ['-v']);
  let delivered = 0;
  for (const [i, how] of [[1, 'one write'], [2, 'two writes'], [3, 'after the 220']] as const) {
    const c = await RawSmtp.connect(s.port);
    t.teardown(() => c.close());
    t.equal((await c.reply()).code, 220, 'greeting');
    const ehlo = await c.cmd(`EHLO raw${i}.example`);
    t.ok(ehlo.lines.includes('250-STARTTLS'), 'offered');
    if (how === 'one write') c.send(`STARTTLS\r\nRCPT TO:<evil${i}@x>\r\nMAIL FROM:<evil${i}@x>\r\n`);
    else {
      c.send('STARTTLS\r\n');
      if (how === 'two writes') c.send(`RCPT TO:<evil${i}@x>\r\n`);
    }
    const ready = await c.reply();
    t.equal(ready.code, 220, `${how}: 220`);
    if (how === 'after the 220') c.send(`RCPT TO:<evil${i}@x>\r\n`);
    // One write: the bytes reach tlswrapper-smtp with STARTTLS, which drops
    // them, and TLS must work. Otherwise tlswrapper may already have switched
    // when they arrive: then they are the start of the TLS stream, the
    // handshake fails, and that is as safe. Either way prog never sees them.
    let secure: tls.TLSSocket;
    try {
      secure = await c.startTls();
    } catch (e) {
      if (how === 'one write') throw e;
      t.comment(`${how}: the handshake failed (${(e as Error).message.split('\n')[0]}): the stray bytes went to TLS`);
      c.close();
      continue;
    }
    t.ok(/^TLSv1\.[23]$/.test(secure.getProtocol() ?? ''), `${how}: TLS ${secure.getProtocol()}`);
    const again = await c.cmd(`EHLO raw${i}.example`);
    t.equal(again.code, 250);
    t.notOk(again.lines.some((l) => /STARTTLS/.test(l)), 'not offered inside TLS');
    t.equal((await c.cmd('STARTTLS')).lines[0], '503 already in TLS (#5.5.1)', 'a second STARTTLS: 503');
    const done = await sendMessage(c, `ok${i}@example.org`, `rcpt${i}@example.net`, `Subject: after TLS ${i}\r\n\r\nbody ${i}`);
    t.equal(done.code, 250, `${how}: message accepted over TLS`);
    t.equal((await c.cmd('QUIT')).code, 221);
    c.close();
    delivered++;
  }
  await waitFor(() => log.events().filter((e) => e.event === 'exit').length >= 3, 5000).catch(() => {});
  const commands = log.commands();
  t.notOk(commands.some((c) => /evil/.test(c)), `no pipelined command reached prog: ${commands.join(' | ')}`);
  t.equal(log.messages().length, delivered, `a message for each session that got TLS (${delivered})`);
  t.same(log.messages()[0]?.rcpt, ['<rcpt1@example.net>']);
  t.match(s.output(), /tlswrapper-smtp: info: dropped \d+ bytes the client sent after STARTTLS before TLS started/, 'our drop was logged');

  // Control: the same pipelining without STARTTLS does reach prog (the check above can fail).
  const c = await RawSmtp.connect(s.port);
  t.teardown(() => c.close());
  await c.reply();
  await c.cmd('EHLO control.example');
  c.send('MAIL FROM:<a@x>\r\nRCPT TO:<pipelined@x>\r\n');
  t.equal((await c.reply()).code, 250);
  t.equal((await c.reply()).code, 250);
  await c.cmd('QUIT');
  t.ok(log.commands().includes('RCPT TO:<pipelined@x>'), 'pipelined plaintext commands reach prog');
});

// ------------------------------------------------------------ the TLS facts in prog's environment

/** SSL_* and SHA256 variables not in our own environment (SSL_CERT_FILE may be). */
const SSL_VARS = (env: Record<string, string>) => Object.keys(env).filter((k) => (k.startsWith('SSL_') || k === 'SHA256') && !(k in process.env));

/** EHLO, STARTTLS with a pipelined RCPT in the same write, TLS (extra), EHLO, one message, QUIT. */
async function tlsSession(t: Test, port: number, extra: tls.ConnectionOptions = {}): Promise<{ protocol: string | null; cipher: string | undefined }> {
  const c = await RawSmtp.connect(port);
  t.teardown(() => c.close());
  t.equal((await c.reply()).code, 220, 'greeting');
  t.ok((await c.cmd('EHLO facts.example')).lines.includes('250-STARTTLS'), 'offered');
  c.send('STARTTLS\r\nRCPT TO:<evil@x>\r\n');
  t.equal((await c.reply()).code, 220, 'STARTTLS: 220');
  const secure = await c.startTls(extra);
  const seen = { protocol: secure.getProtocol(), cipher: secure.getCipher()?.standardName };
  const again = await c.cmd('EHLO facts.example');
  t.equal(again.lines[0], '250-fixture.example hello facts.example', 'EHLO over TLS: the new instance answers (no banner came first)');
  t.equal((await sendMessage(c, 'f@example.org', 'g@example.net', 'Subject: facts\r\n\r\nover TLS')).code, 250, 'message accepted');
  t.equal((await c.cmd('QUIT')).code, 221);
  c.close();
  return seen;
}

/** Two instances: the first saw EHLO and our QUIT and has no SSL_*; the second the TLS session. The second's environment. */
async function twoInstances(t: Test, log: ReturnType<typeof fixtureLog>): Promise<Record<string, string>> {
  await waitFor(() => log.events().filter((e) => e.event === 'exit').length >= 2, 5000).catch(() => {});
  const inst = log.instances();
  t.equal(inst.length, 2, 'two instances of prog');
  t.same(inst.map((i) => i.commands), [['EHLO facts.example', 'QUIT'], ['EHLO facts.example', 'MAIL FROM:<f@example.org>', 'RCPT TO:<g@example.net>', 'DATA', 'QUIT']],
    'before TLS: EHLO, QUIT; over TLS: EHLO, MAIL, RCPT, DATA, QUIT; never STARTTLS, never the pipelined RCPT');
  t.same(SSL_VARS(inst[0]?.env ?? {}), [], 'the instance from before TLS has no SSL_* variable');
  t.notOk(inst[1]?.fds.includes(5) || inst[1]?.fds.includes(6), 'the TLS instance has no fd 5 or 6');
  t.equal(log.messages()[0]?.pid, inst[1]?.pid, 'the message went to the TLS instance');
  return inst[1]?.env ?? {};
}

t.test('over TLS, prog is a new instance with the TLS facts in its environment; still jailed', { skip }, async (t) => {
  const log = fixtureLog();
  const jail = path.join(tmp, 'jail-facts');
  const s = await chain(t, log.file, ['-v', '-J', jail, '-u', 'nobody']);
  // Jail checks while a session is open over TLS.
  const c = await RawSmtp.connect(s.port);
  t.teardown(() => c.close());
  await c.reply();
  await c.cmd('EHLO jail.example');
  c.send('STARTTLS\r\n');
  await c.reply();
  await c.startTls();
  t.equal((await c.cmd('EHLO jail.example')).code, 250, 'EHLO over TLS');
  const conns = connections(s.pid);
  const smtp = conns[0]?.procs.find((p) => p.cmdline[1]?.endsWith('/tlswrapper-smtp'));
  const progs = conns[0]?.procs.filter((p) => p.cmdline[1]?.endsWith('/smtp-server.py')) ?? [];
  t.ok(smtp, 'tlswrapper-smtp found');
  if (smtp) {
    t.equal(smtp.root, jail, 'after TLS: /proc/PID/root is the jail');
    t.ok(smtp.uid.every((u) => u >= 141_500_000), `after TLS: random jail uid (${smtp.uid.join(',')})`);
    t.equal(readLimits(smtp.pid)['Max processes'].soft, 0, 'after TLS: NPROC 0');
  }
  t.equal(progs.length, 1, 'one prog running: the instance from before TLS is gone');
  t.same(progs[0]?.uid, [65534, 65534, 65534, 65534], 'the TLS instance runs as nobody');
  t.equal((await c.cmd('QUIT')).code, 221);
  c.close();
  await waitFor(() => log.events().filter((e) => e.event === 'exit').length >= 2, 5000).catch(() => {});
  const inst = log.instances();
  t.equal(inst[1]?.env.USER, 'nobody', 'USER set for -u in the TLS instance');
  t.equal(inst[1]?.env.SSL_TLS_SNI_SERVERNAME, 'localhost');

  // The facts exact, a pipelined command dropped.
  const log2 = fixtureLog();
  const s2 = await chain(t, log2.file, ['-v']);
  const secure = await tlsSession(t, s2.port);
  const env = await twoInstances(t, log2);
  t.equal(env.SSL_PROTOCOL, secure.protocol, `SSL_PROTOCOL=${env.SSL_PROTOCOL}`);
  t.equal(env.SSL_CIPHER, secure.cipher, `SSL_CIPHER=${env.SSL_CIPHER}`);
  t.equal(env.SSL_TLS_SNI_SERVERNAME, 'localhost', 'SSL_TLS_SNI_SERVERNAME');
  t.equal(env.SSL_CLIENT_VERIFY, 'NONE', 'SSL_CLIENT_VERIFY=NONE without -a');
  t.equal(env.SSL_PEER_CERT_HASH, undefined, 'no peer certificate variables');
  t.ok(env.TCPREMOTEIP, 'the connection variables are still there');
  await waitFor(() => /dropped \d+ bytes/.test(s2.output()), 5000).catch(() => {});
  t.match(s2.output(), /tlswrapper-smtp: info: dropped 18 bytes the client sent after STARTTLS before TLS started/, 'the pipelined RCPT dropped');
});

for (const kind of ENTRY_POINTS) t.test(`tlswrapper -a -n through ${kind}: a client certificate gives SSL_CLIENT_VERIFY=SUCCESS and its hash`, { skip }, async (t) => {
  const cc = clientCert({ keyType: 'p256', ca: 'ecdsa', subject: '/C=CZ/O=Example/CN=smtp-client' });
  const log = fixtureLog();
  const s = await chain(t, log.file, ['-v'], { wrapperArgs: ['-a', cc.anchorFile], kind });
  await tlsSession(t, s.port, { cert: fs.readFileSync(cc.chainFile), key: fs.readFileSync(cc.keyFile) });
  const env = await twoInstances(t, log);
  const leaf = /-----BEGIN CERTIFICATE-----([\s\S]*?)-----END CERTIFICATE-----/.exec(fs.readFileSync(cc.certFile, 'utf8'))![1];
  const hex = createHash('sha256').update(Buffer.from(leaf.replace(/\s+/g, ''), 'base64')).digest('hex');
  t.equal(env.SSL_CLIENT_VERIFY, 'SUCCESS', 'SSL_CLIENT_VERIFY');
  t.equal(env.SSL_PEER_CERT_HASH, `SHA256:${hex}`, 'SSL_PEER_CERT_HASH is the leaf\'s');
  t.equal(env.SHA256, hex, 'SHA256');
  t.equal(env.SSL_PEER_CERT_CN, 'smtp-client', 'SSL_PEER_CERT_CN');
  t.equal(env.SSL_PEER_CERT_SUBJECT, 'C=CZ, O=Example, CN=smtp-client', 'SSL_PEER_CERT_SUBJECT (commas, spaces, = through the spawner)');
  t.match(env.SSL_PROTOCOL, /^TLSv1\.[23]$/);
});

t.test('a one-line EHLO reply stays well-formed: 250-host, 250 STARTTLS', { skip }, async (t) => {
  const log = fixtureLog();
  const s = await chain(t, log.file, [], { env: { SMTP_FIXTURE_EHLO: 'one' } });
  const c = await RawSmtp.connect(s.port);
  t.teardown(() => c.close());
  await c.reply();
  t.same((await c.cmd('EHLO one.example')).lines, ['250-fixture.example', '250 STARTTLS']);
  t.equal((await c.cmd('STARTTLS now')).lines[0], '501 STARTTLS takes no parameters (#5.5.4)', 'parameters: 501');
  t.equal((await c.cmd('QUIT')).code, 221);
  t.notOk(log.commands().some((l) => /STARTTLS/i.test(l)), 'prog never saw it');
});

// ------------------------------------------------------------ without -n

t.test('tlswrapper without -n: TLS from the start, no STARTTLS offered, 502', { skip }, async (t) => {
  const log = fixtureLog();
  const s = await chain(t, log.file, ['-vv'], { n: false });
  const sock = tls.connect({ port: s.port, host: '127.0.0.1', ca: fs.readFileSync(cert.caCert), servername: 'localhost' });
  await new Promise<void>((resolve, reject) => sock.once('secureConnect', resolve).once('error', reject));
  const c = new RawSmtp(sock);
  t.teardown(() => c.close());
  t.equal((await c.reply()).code, 220);
  const ehlo = await c.cmd('EHLO direct.example');
  t.same(ehlo.lines, ['250-fixture.example hello direct.example', '250-PIPELINING', '250-8BITMIME', '250 SIZE 10000000'], 'prog\'s reply unchanged, no STARTTLS');
  t.equal((await c.cmd('STARTTLS')).lines[0], '502 unimplemented (#5.5.1)');
  t.equal((await sendMessage(c, 'x@example.org', 'y@example.net', 'direct')).code, 250);
  t.equal((await c.cmd('QUIT')).code, 221);
  t.notOk(log.commands().some((l) => /STARTTLS/i.test(l)));
  await waitFor(() => /fds 5 and 6 are not open/.test(s.output()), 5000).catch(() => {});
  t.match(s.output(), /tlswrapper-smtp: debug: fds 5 and 6 are not open/, 'said why at -vv');
});

// ------------------------------------------------------------ the jail and -u

t.test('jailed during a session; -u nobody runs prog as nobody', { skip }, async (t) => {
  const log = fixtureLog();
  const jail = path.join(tmp, 'jail');
  const s = await chain(t, log.file, ['-J', jail, '-u', 'nobody']);
  const c = await RawSmtp.connect(s.port);
  t.teardown(() => c.close());
  await c.reply();
  await c.cmd('EHLO jail.example');
  const conns = connections(s.pid);
  t.equal(conns.length, 1, 'one connection');
  // argv[1]: node's script, python's script (the entry has both paths among its arguments).
  const smtp = conns[0]?.procs.find((p) => p.cmdline[1]?.endsWith('/tlswrapper-smtp'));
  const prog = conns[0]?.procs.find((p) => p.cmdline[1]?.endsWith('/smtp-server.py'));
  t.ok(smtp, 'tlswrapper-smtp found');
  t.ok(prog, 'prog found');
  if (smtp) {
    t.ok(smtp.uid.every((u) => u >= 141_500_000), `random jail uid (${smtp.uid.join(',')})`);
    t.ok(smtp.gid.every((g) => g >= 141_500_000), `random jail gid (${smtp.gid.join(',')})`);
    t.equal(smtp.root, jail, '/proc/PID/root is the jail');
    const limits = readLimits(smtp.pid);
    t.equal(limits['Max open files'].soft, 0, 'NOFILE 0');
    t.equal(limits['Max processes'].soft, 0, 'NPROC 0');
    t.equal(limits['Max file size'].soft, 0, 'FSIZE 0');
  }
  if (prog) {
    t.same(prog.uid, [65534, 65534, 65534, 65534], 'prog runs as nobody');
    t.equal(prog.root, '/', 'prog is not in the jail');
  }
  t.equal((await c.cmd('QUIT')).code, 221);
  const start = log.events().find((e) => e.event === 'start');
  t.equal(start?.uid, 65534, 'prog says it is nobody');
  t.equal(start?.env?.USER, 'nobody', 'USER set for -u');
});

// ------------------------------------------------------------ examples/smtp, run as written

const EX = path.join(repoRoot, 'examples', 'smtp');
const DOCUMENTED = '/usr/local/bin/tlswrapper -n -f /etc/tlswrapper/cert.pem /usr/local/bin/tlswrapper-smtp -u smtpd /usr/local/bin/smtpd';

/** The placeholders -> our binaries (tap's loader dropped), the test certificate, 127.0.0.1:port, nobody, the fixture. */
function substitute(text: string, port: number): string {
  return text
    .replaceAll('/usr/local/bin/tlswrapper-smtp', SMTP)
    .replaceAll('/usr/local/bin/tlswrapper', `${NO_TAP_LOADER.join(' ')} ${TLSWRAPPER}`)
    .replaceAll('/etc/tlswrapper/cert.pem', cert.pem)
    .replaceAll('-u smtpd /usr/local/bin/smtpd', `-u nobody ${FIXTURE}`)
    .replace(/ 0 25 /g, ` 127.0.0.1 ${port} `)
    .replace(/^ListenStream=25$/m, `ListenStream=127.0.0.1:${port}`)
    .replace(/^exec busybox /m, `exec ${busyboxPath() ?? 'busybox'} `);
}

async function exampleServes(t: Test, kind: SuperServerKind, full: string[], port: number, what: string, log = fixtureLog()): Promise<void> {
  const s = await startListener(kind, full, '127.0.0.1', port, { env: { ...process.env, SMTP_FIXTURE_LOG: log.file } });
  if (typeof s === 'string') {
    t.fail(s);
    return;
  }
  t.teardown(() => s.stop());
  const r = await swaks(port, ['--tls', '--tls-verify', '--tls-ca-path', cert.caCert], `sent through ${what}`);
  t.equal(r.code, 0, `${describe(r)}\n--- server ---\n${s.output()}`);
  t.match(r.out, /=== TLS started with cipher TLSv1\.3:/, `${what}: STARTTLS, then TLS`);
  t.match(log.messages()[0]?.data ?? '', new RegExp(`\r\n\r\nsent through ${what.replace('.', '\\.')}\r\n`), `${what}: the message arrived`);
  t.equal(log.events().find((e) => e.event === 'start')?.uid, 65534, `${what}: the server ran as -u's user`);
}

for (const [file, kind] of [['tcpserver.sh', 'tcpserver'], ['tcpsvd.sh', 'tcpsvd']] as [string, SuperServerKind][]) {
  t.test(`examples/smtp/${file}`, { skip: superServerMissing(kind) ?? skipSwaksTls }, async (t) => {
    const original = fs.readFileSync(path.join(EX, file), 'utf8');
    t.ok(original.includes(`0 25 ${DOCUMENTED}\n`), 'the documented line');
    const port = await freePort();
    const copy = path.join(fs.mkdtempSync(path.join(tmp, 'ex-')), file);
    fs.writeFileSync(copy, substitute(original, port));
    await exampleServes(t, kind, [...NO_TAP_LOADER, 'sh', copy], port, file);
  });
}

t.test('examples/smtp/systemd units, under systemd-socket-activate', { skip: superServerMissing('systemd-socket-activate') ?? skipSwaksTls }, async (t) => {
  const sock = fs.readFileSync(path.join(EX, 'systemd', 'tlswrapper-smtp.socket'), 'utf8');
  const svc = fs.readFileSync(path.join(EX, 'systemd', 'tlswrapper-smtp@.service'), 'utf8');
  t.match(sock, /^Accept=yes$/m, 'one service instance per connection');
  t.match(svc, /^StandardInput=socket$/m);
  t.match(svc, /^StandardOutput=socket$/m);
  t.ok(svc.includes(`ExecStart=${DOCUMENTED}\n`), 'the documented line');
  const port = await freePort();
  const exec = /^ExecStart=(.*)$/m.exec(substitute(svc, port))![1].trim().split(/\s+/);
  const listenOn = /^ListenStream=(.*)$/m.exec(substitute(sock, port))![1];
  t.equal(listenOn, `127.0.0.1:${port}`);
  // systemd-socket-activate passes only the variables it is given (-E) on.
  const log = fixtureLog();
  const full = ['systemd-socket-activate', '--inetd', '-a', '-l', listenOn, '-E', `SMTP_FIXTURE_LOG=${log.file}`, ...exec];
  await exampleServes(t, 'systemd-socket-activate', full, port, 'systemd', log);
});

// ------------------------------------------------------------ alone on pipes

/** bin/tlswrapper-smtp with stdin/stdout pipes: no tlswrapper, no fds 5/6. */
function alone(args: string[], input: string, env: NodeJS.ProcessEnv = {}, opts: { until?: RegExp; timeoutMs?: number } = {}) {
  return run([...NO_TAP_LOADER, SMTP, ...args], { input, env: { ...process.env, ...env }, until: opts.until, timeoutMs: opts.timeoutMs ?? 15000 });
}

t.test('alone: exit status is prog\'s; no STARTTLS without fds 5/6', async (t) => {
  const log = fixtureLog();
  const r = await alone([FIXTURE], 'EHLO a\r\nSTARTTLS\r\nQUIT\r\n', { SMTP_FIXTURE_LOG: log.file, SMTP_FIXTURE_STATUS: '7' });
  t.equal(r.code, 7, describe(r));
  t.notMatch(r.out, /STARTTLS/, 'not offered');
  t.match(r.out, /^502 unimplemented \(#5\.5\.1\)\r$/m);
  t.match(r.out, /221 2\.0\.0 fixture\.example bye\r\n$/);
  t.same(log.commands(), ['EHLO a', 'QUIT']);
});

t.test('alone: client EOF ends prog\'s stdin; its status passes on', async (t) => {
  const log = fixtureLog();
  const r = await alone([FIXTURE], 'NOOP\r\n', { SMTP_FIXTURE_LOG: log.file });
  t.equal(r.code, 3, `the fixture exits 3 at EOF: ${describe(r)}`);
  t.same(log.events().find((e) => e.event === 'exit')?.status, 3);
});

t.test('alone: prog that says its last and exits: passed on, its status', async (t) => {
  // A server that closes the session on its own (421) while we wait for the client.
  const prog = ['/bin/sh', '-c', 'printf "220 hi\\r\\n"; read l; printf "250 ok\\r\\n"; sleep 0.3; printf "421 4.3.2 going away\\r\\n"; exit 4'];
  const r = await alone(prog, 'NOOP\r\n', {}, { until: /421/, timeoutMs: 8000 });
  t.equal(r.code, 4, describe(r));
  t.equal(r.out, '220 hi\r\n250 ok\r\n421 4.3.2 going away\r\n', 'every line, the unsolicited 421 included');
  t.ok(r.ms < 5000, `without waiting for a timeout (${r.ms} ms)`);
});

t.test('alone: -T read timeout -> 111 with a log line', async (t) => {
  const r = await alone(['-T', '1', FIXTURE], 'NOOP\r\n', {}, { until: /$^/, timeoutMs: 8000 });
  t.equal(r.code, 111, describe(r));
  t.match(r.err, /tlswrapper-smtp: fatal: timeout reading from the client \(1 seconds\)/);
  t.ok(r.ms < 6000, `within seconds (${r.ms} ms)`);
});

t.test('alone: -t session timeout -> 111 with a log line', async (t) => {
  const r = await alone(['-t', '1', '-T', '30', FIXTURE], 'NOOP\r\n', {}, { until: /$^/, timeoutMs: 8000 });
  t.equal(r.code, 111, describe(r));
  t.match(r.err, /tlswrapper-smtp: fatal: session timeout \(1 seconds\)/);
});

t.test('alone: usage errors are 100; greylisting refused for now', async (t) => {
  for (const args of [['-g', '127.0.0.1:10023', FIXTURE], ['-c', FIXTURE], ['-C', FIXTURE], [], ['-t', '0', FIXTURE], ['-x', FIXTURE]]) {
    const r = await alone(args, '');
    t.equal(r.code, 100, `${args.join(' ')}: ${describe(r)}`);
    t.match(r.err, /^tlswrapper-smtp: fatal: .*\(usage: tlswrapper-smtp \[options\] prog\)\n$/);
    if (args[0] === '-g' || args[0] === '-c' || args[0] === '-C') t.match(r.err, /greylisting .* not implemented yet/);
  }
  const q = await alone(['-q', '-g', 'x:1', FIXTURE], '');
  t.equal(q.code, 100);
  t.equal(q.err, '', '-q: silent');
});

t.test('alone: unknown -u user -> 111 before prog runs', async (t) => {
  const log = fixtureLog();
  const r = await alone(['-u', 'no-such-user-here', FIXTURE], 'QUIT\r\n', { SMTP_FIXTURE_LOG: log.file });
  t.equal(r.code, 111, describe(r));
  t.match(r.err, /unable to find user 'no-such-user-here'/);
  t.same(log.events(), [], 'prog never started');
});
