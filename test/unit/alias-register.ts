// tlswrapper-alias as a process, without TLS: the environment says who the
// peer is and stdin/stdout stand for the client. The -a line protocol (rest
// of the input left for prog, CRLF, too long, end of input), the lock file
// (honoured while present, given up on when stuck), appending to a file whose
// last line lacks its newline, exit statuses and signal forwarding.
import t from 'tap';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { appendAlias, readLine, withLock } from '../../alias/register';
import { NO_TAP_LOADER } from '../lib/ours';
import { describe, repoRoot, run, runSync, sleep, waitFor } from '../lib/sh';

const BIN = path.join(repoRoot, 'bin', 'tlswrapper-alias');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tlswrapper-alias-unit-'));
process.on('exit', () => fs.rmSync(tmp, { recursive: true, force: true }));
const H1 = '1'.repeat(64); const H2 = '2'.repeat(64); const H3 = '3'.repeat(64);
let n = 0;
const newFile = (text?: string) => {
  const f = path.join(tmp, `aliases-${++n}`);
  if (text !== undefined) fs.writeFileSync(f, text);
  return f;
};
const alias = (args: string[], env: Record<string, string>, input?: string) =>
  run([...NO_TAP_LOADER, BIN, ...args], { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env }, input, timeoutMs: 15000 });

t.test('exit statuses of prog pass through; killed by a signal: 111', async (t) => {
  const f = newFile(`${H1} alice\n`);
  const r = await alias(['-f', f, 'sh', '-c', 'echo "hello $ALIAS"; exit 7'], { SHA256: H1 });
  t.equal(r.out, 'hello alice\n', describe(r));
  t.equal(r.code, 7);
  const k = await alias(['-f', f, 'sh', '-c', 'kill -9 $$'], { SHA256: H1 });
  t.equal(k.code, 111, describe(k));
  const missing = await alias(['-f', f, path.join(tmp, 'no-such-prog')], { SHA256: H1 });
  t.equal(missing.code, 111);
  t.match(missing.err, /^tlswrapper-alias: fatal: cannot run .*no-such-prog/);
  const nofile = await alias(['-f', path.join(tmp, 'absent'), 'true'], { SHA256: H1 });
  t.equal(nofile.code, 111, 'no alias file without -a: 111');
  t.match(nofile.err, /^tlswrapper-alias: fatal: cannot read .*absent/);
  const broken = await alias(['-f', newFile(`${H1} alice\n${H2}\n`), 'true'], { SHA256: H1 });
  t.equal(broken.code, 111);
  t.equal(broken.err, 'tlswrapper-alias: fatal: ' + path.join(tmp, `aliases-${n}`) + ': line 2: expected "<sha256 hex> <alias>"\n', 'one line naming the line');
  const usage = await alias(['-z', 'true'], { SHA256: H1 });
  t.equal(usage.code, 100);
  t.match(usage.err, /^tlswrapper-alias: fatal: unknown option -z \(usage: tlswrapper-alias .*\)\n$/);
  const quiet = await alias(['-q', '-f', f, 'true'], { SHA256: H2 });
  t.same([quiet.code, quiet.err], [111, ''], '-q: no message');
});

t.test('SIGTERM is forwarded to prog', async (t) => {
  const f = newFile(`${H1} alice\n`);
  const child = spawn(NO_TAP_LOADER[0], [...NO_TAP_LOADER.slice(1), BIN, '-f', f, 'sh', '-c', 'trap "exit 42" TERM; echo ready; while :; do sleep 0.05; done'],
    { env: { PATH: process.env.PATH, SHA256: H1 }, stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d) => { out += d; });
  await waitFor(() => out.includes('ready'), 5000);
  // /usr/bin/env execs, so child.pid is tlswrapper-alias itself.
  const exit = new Promise<number | null>((res) => child.on('exit', (code) => res(code)));
  child.kill('SIGTERM');
  t.equal(await exit, 42, 'prog got SIGTERM (its trap ran) and its status came back');
});

t.test('-a: the line protocol', async (t) => {
  const f = newFile(`${H1} alice\n`);
  const r = await alias(['-a', '-f', f, 'sh', '-c', 'echo "hello $ALIAS"; cat'], { SHA256: H2 }, 'bob\nrest of\nthe input\n');
  t.equal(r.out, 'alias?\nok bob\nhello bob\nrest of\nthe input\n', `the input after the alias line reaches prog: ${describe(r)}`);
  t.equal(fs.readFileSync(f, 'utf8'), `${H1} alice\n${H2} bob\n`);

  const crlf = await alias(['-a', '-f', f, 'sh', '-c', 'echo "hello $ALIAS"'], { SSL_PEER_CERT_HASH: `SHA256:${H3}` }, 'carol\r\n');
  t.equal(crlf.out, 'alias?\nok carol\nhello carol\n', 'CRLF accepted');

  const f2 = newFile('');
  for (const [what, input, reason] of [
    ['33 bytes', `${'x'.repeat(33)}\n`, /alias line too long/],
    ['no newline within the limit', 'x'.repeat(200), /alias line too long/],
    ['uppercase', 'Bob\n', /invalid alias "Bob"/],
    ['empty line', '\n', /invalid alias ""/],
    ['end of input first', 'bob', /end of input/],
    ['nothing', '', /end of input/],
  ] as const) {
    const b = await alias(['-a', '-f', f2, 'sh', '-c', 'echo ran'], { SHA256: H1 }, input);
    t.equal(b.code, 111, `${what}: 111`);
    t.match(b.out, /^alias\?\n(error invalid alias\n)?$/, `${what}: no prog (${JSON.stringify(b.out)})`);
    t.match(b.err, reason, `${what}: stderr says why`);
  }
  t.equal(fs.readFileSync(f2, 'utf8'), '', 'nothing registered');
  const ok32 = await alias(['-a', '-f', f2, 'true'], { SHA256: H1 }, `${'x'.repeat(32)}\n`);
  t.equal(ok32.code, 0, `32 bytes: fine ${describe(ok32)}`);
  t.equal(fs.readFileSync(f2, 'utf8'), `${H1} ${'x'.repeat(32)}\n`);
  const none = await alias(['-a', '-f', f2, 'true'], {}, 'bob\n');
  t.equal(none.code, 111, 'no hash at all: no registration');
  t.equal(none.out, '', 'not even a prompt');
});

t.test('-a waits while the lock file exists, then appends', async (t) => {
  const f = newFile(`${H1} alice\n`);
  fs.writeFileSync(`${f}.lock`, 'held by the test\n');
  const p = alias(['-a', '-f', f, 'sh', '-c', 'echo "hello $ALIAS"'], { SHA256: H2 }, 'bob\n');
  await sleep(1000);
  t.equal(fs.readFileSync(f, 'utf8'), `${H1} alice\n`, 'nothing appended while the lock is held');
  fs.unlinkSync(`${f}.lock`);
  const r = await p;
  t.equal(r.out, 'alias?\nok bob\nhello bob\n', describe(r));
  t.equal(fs.readFileSync(f, 'utf8'), `${H1} alice\n${H2} bob\n`);
  t.notOk(fs.existsSync(`${f}.lock`), 'its own lock removed');
});

t.test('a stuck lock: given up on, never broken', async (t) => {
  const f = newFile('');
  fs.writeFileSync(`${f}.lock`, '');
  let ran = false;
  t.throws(() => withLock(f, () => { ran = true; }, 300), /still there after 0.3 s/);
  t.notOk(ran, 'the locked section did not run');
  t.ok(fs.existsSync(`${f}.lock`), 'the lock file is left alone');
});

t.test('appendAlias: re-reads the file under the lock', async (t) => {
  const f = newFile(`${H1} alice`);
  t.same(appendAlias(f, H2, 'bob'), { ok: true });
  t.equal(fs.readFileSync(f, 'utf8'), `${H1} alice\n${H2} bob\n`, 'a last line without newline gets one first');
  t.match(appendAlias(f, H3, 'alice'), { ok: false, taken: true, error: /alias alice is taken/ });
  t.match(appendAlias(f, H1, 'carol'), { ok: false, error: /registered meanwhile as alice/ });
  const created = path.join(tmp, 'created');
  t.same(appendAlias(created, H1, 'alice'), { ok: true }, 'a missing file is created');
  t.equal(fs.readFileSync(created, 'utf8'), `${H1} alice\n`);
  const broken = newFile(`garbage\n`);
  t.match(appendAlias(broken, H1, 'alice'), { ok: false, error: /line 1/ }, 'a broken file is not appended to');
  t.equal(fs.readFileSync(broken, 'utf8'), 'garbage\n');
});

t.test('readLine: the timeout ends the wait', async (t) => {
  // A FIFO opened read-write never reports end of input: only the timer can end the wait.
  const fifo = path.join(tmp, 'fifo');
  runSync(['mkfifo', fifo]);
  const fd = fs.openSync(fifo, 'r+');
  const started = Date.now();
  const r = await readLine(fd, 300);
  t.same(r, { ok: false, error: 'no alias line within 0.3 s' });
  t.ok(Date.now() - started >= 290, 'not before the timeout');
  fs.writeSync(fd, 'x'); // completes the read still pending in the thread pool, so this process can exit
  await sleep(50);
  fs.closeSync(fd);
  const w = fs.openSync(fifo, 'r+');
  fs.writeSync(w, 'bob\nrest');
  t.same(await readLine(w, 1000), { ok: true, line: 'bob' }, 'a line in time');
  const rest = Buffer.alloc(10);
  t.equal(rest.toString('latin1', 0, fs.readSync(w, rest)), 'rest', 'nothing read past the newline');
  fs.closeSync(w);
});
