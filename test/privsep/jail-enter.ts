// enterJail() for real: a child (bundled from jail/jail.ts) jails itself into a
// fresh root-owned 0555 dir under a random uid, reports what still works, and
// stays alive while we read /proc/PID/{status,root,limits}.
import t from 'tap';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { build } from 'esbuild';
import { JAIL_DATA_LIMIT, randomJailIds } from '../../jail/jail';

const repo = path.resolve(__dirname, '../..');
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'jail-enter-'));
fs.chmodSync(work, 0o755); // the 'not root' case runs the fixture as nobody
const children: ChildProcess[] = [];
t.teardown(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  fs.rmSync(work, { recursive: true, force: true });
});

const FIXTURE = `
import * as fs from 'node:fs';
import * as crypto from 'node:crypto';
import * as cp from 'node:child_process';
import { prepareForJail, enterJail } from './jail/jail';

const out = (s: string) => fs.writeSync(1, s + '\\n');
const code = (f: () => unknown) => { try { f(); return 'ok'; } catch (e) { return (e as NodeJS.ErrnoException).code || (e as Error).message; } };

(async () => {
  const spec = JSON.parse(process.argv[2]);
  if (spec.skipPrepare) {
    // Nothing before the jail at all: the first threadpool job comes after it.
    enterJail(spec);
    crypto.pbkdf2('pw', 'salt', 1, 32, 'sha256', (e, k) => out('PBKDF2 ' + (e ? e.message : k.length)));
    return;
  }
  // Key material made before the jail, parsed after it (as keyproc does).
  const { privateKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const keyDer = privateKey.export({ type: 'pkcs8', format: 'der' });
  await prepareForJail();
  try {
    enterJail(spec);
  } catch (e) {
    out('ERR ' + (e as Error).message);
    process.exit(111);
  }
  const r: Record<string, unknown> = {};
  r.cwd = process.cwd();
  r.open = code(() => fs.openSync('/etc/passwd', 'r'));
  r.openRoot = code(() => fs.readdirSync('/'));
  r.create = code(() => fs.openSync('/x', 'w'));
  r.spawnSync = (() => { try { const s = cp.spawnSync('/bin/true'); return s.error ? (s.error as NodeJS.ErrnoException).code : 'status ' + s.status; } catch (e) { return 'threw ' + (e as NodeJS.ErrnoException).code; } })();
  r.spawn = await new Promise((resolve) => {
    try {
      const c = cp.spawn('/bin/true');
      c.on('error', (e) => resolve((e as NodeJS.ErrnoException).code));
      c.on('exit', (s) => resolve('exit ' + s));
    } catch (e) { resolve('threw ' + ((e as NodeJS.ErrnoException).code || (e as Error).message)); }
  });
  r.killParent = code(() => process.kill(process.ppid, 0));
  r.setuid0 = code(() => process.setuid(0));
  r.pbkdf2 = await new Promise((resolve) => crypto.pbkdf2('pw', 'salt', 1000, 32, 'sha256', (e, k) => resolve(e ? e.message : k.length)));
  r.randomBytes = await new Promise((resolve) => crypto.randomBytes(8, (e, b) => resolve(e ? e.message : b.length)));
  const key = crypto.createPrivateKey({ key: keyDer, format: 'der', type: 'pkcs8' });
  r.sign = crypto.verify('sha256', Buffer.from('m'), crypto.createPublicKey(key), crypto.sign('sha256', Buffer.from('m'), key));
  out('READY ' + JSON.stringify(r));
  // Commands from the test: 'kill PID' tries signal 0 on PID; 'grow' holds
  // 1 MiB buffers until an allocation fails (the data ceiling) and says how
  // far it got; anything else answers ALIVE.
  const held: Buffer[] = [];
  process.stdin.on('data', (d) => {
    if (String(d).startsWith('grow')) {
      try {
        while (held.length < 1024) held.push(Buffer.alloc(1 << 20, 1));
        out('GREW ' + held.length);
      } catch (e) {
        out('STOPPED ' + held.length + ' ' + (e as Error).message);
      }
      return;
    }
    const m = /^kill ([0-9]+)/.exec(String(d));
    out(m ? 'KILL ' + code(() => process.kill(Number(m[1]), 0)) : 'ALIVE');
  });
  setInterval(() => {}, 1000);
})();
`;

let bundle = '';
t.before(async () => {
  bundle = path.join(work, 'fixture.js');
  await build({
    stdin: { contents: FIXTURE, resolveDir: repo, loader: 'ts', sourcefile: 'jail-fixture.ts' },
    outfile: bundle,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    external: ['posix'],
    logLevel: 'warning',
  });
});

function jailDir(name: string): string {
  const d = path.join(work, name);
  fs.mkdirSync(d, { mode: 0o555 });
  fs.chmodSync(d, 0o555);
  return d;
}

interface Run {
  child: ChildProcess;
  line: Promise<string>;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<number | null>;
}

function run(spec: object, opts: { uid?: number } = {}): Run {
  // tap's processinfo wraps spawn() and puts its --import hooks in NODE_OPTIONS,
  // which would load code (and start the threadpool) in the child: env -u drops
  // it, and env execs node in place, so the pid is node's.
  const child = spawn('/usr/bin/env', ['-u', 'NODE_OPTIONS', process.execPath, bundle, JSON.stringify(spec)], {
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', NODE_PATH: path.join(repo, 'node_modules') },
    ...opts,
  });
  children.push(child);
  let stdout = '';
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  const line = new Promise<string>((resolve) => {
    child.stdout!.on('data', (d) => {
      stdout += d;
      if (stdout.includes('\n')) resolve(stdout.slice(0, stdout.indexOf('\n')));
    });
    child.on('exit', () => resolve(stdout));
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
  return { child, line, stdout: () => stdout, stderr: () => stderr, exited };
}

function procField(pid: number, file: string, field: string): string {
  const text = fs.readFileSync(`/proc/${pid}/${file}`, 'utf8');
  const line = text.split('\n').find((l) => l.startsWith(field));
  if (line === undefined) throw new Error(`${field} not in /proc/${pid}/${file}`);
  return line;
}

t.test('a jailed child: ids, root, limits, no files, no spawn, threadpool alive', async (t) => {
  const dir = jailDir('root1');
  const [{ uid, gid }] = randomJailIds(1);
  const r = run({ uid, gid, dir });
  const line = await r.line;
  t.match(line, /^READY /, `child ready (stderr: ${r.stderr()})`);
  if (!line.startsWith('READY ')) return;
  const res = JSON.parse(line.slice(6));
  const pid = r.child.pid!;

  const uids = procField(pid, 'status', 'Uid:').split(/\s+/).slice(1, 5).map(Number);
  const gids = procField(pid, 'status', 'Gid:').split(/\s+/).slice(1, 5).map(Number);
  t.same(uids, [uid, uid, uid, uid], 'real, effective, saved, fs uid');
  t.same(gids, [gid, gid, gid, gid], 'real, effective, saved, fs gid');
  t.equal(procField(pid, 'status', 'Groups:').replace(/^Groups:\s*/, ''), '', 'no supplementary groups');
  t.equal(fs.readlinkSync(`/proc/${pid}/root`), fs.realpathSync(dir), '/proc/PID/root is the jail');
  t.equal(fs.readlinkSync(`/proc/${pid}/cwd`), fs.realpathSync(dir), 'cwd is the jail root');
  for (const limit of ['Max open files', 'Max processes', 'Max file size', 'Max core file size']) {
    const [soft, hard] = procField(pid, 'limits', limit).slice(limit.length).trim().split(/\s+/);
    t.same([soft, hard], ['0', '0'], `${limit} 0/0`);
  }
  t.same(procField(pid, 'limits', 'Max data size').slice('Max data size'.length).trim().split(/\s+/).slice(0, 2), [String(JAIL_DATA_LIMIT), String(JAIL_DATA_LIMIT)], 'Max data size: the ceiling');

  t.equal(res.cwd, '/');
  t.equal(res.open, 'EMFILE', 'cannot open a file (no fd left, and nothing to see)');
  t.equal(res.create, 'EMFILE', 'cannot create a file');
  t.not(res.openRoot, 'ok', `cannot even list the jail root (${res.openRoot})`);
  t.not(res.spawnSync, 'status 0', `spawnSync fails with an error, not a crash (${res.spawnSync})`);
  t.not(res.spawn, 'exit 0', `spawn fails with an error, not a crash (${res.spawn})`);
  t.equal(res.killParent, 'EPERM', 'cannot signal the root parent');
  t.equal(res.setuid0, 'EPERM', 'cannot get root back');
  t.equal(res.pbkdf2, 32, 'async crypto on the threadpool still works');
  t.equal(res.randomBytes, 8);
  t.equal(res.sign, true, 'createPrivateKey + sign after chroot with RLIMIT_NOFILE=0');

  // SIGUSR1 must not abort the process (Node would start the inspector thread).
  r.child.kill('SIGUSR1');
  await new Promise((res) => setTimeout(res, 300));
  t.equal(r.child.exitCode, null, 'alive after SIGUSR1');
  t.equal(r.child.signalCode, null);
  r.child.stdin!.write('x');
  await new Promise((res) => setTimeout(res, 200));
  t.match(r.stdout(), /\nALIVE\n/, 'and the event loop still runs');
  r.child.kill('SIGKILL');
  await r.exited;
});

t.test('a jailed child that keeps growing stops at the data ceiling, far below what it asked for', async (t) => {
  const r = run({ ...randomJailIds(1)[0], dir: jailDir('grow') });
  t.match(await r.line, /^READY /);
  const rss = Number(procField(r.child.pid!, 'status', 'VmRSS:').split(/\s+/)[1]);
  r.child.stdin!.write('grow');
  // Either Buffer.alloc fails (RangeError, the process goes on) or V8 aborts: both end the growth.
  const ended = await Promise.race([
    new Promise<string>((resolve) => r.child.stdout!.on('data', () => { if (/\n(GREW|STOPPED)/.test(r.stdout())) resolve(r.stdout()); })),
    r.exited.then(() => `exit ${r.child.exitCode ?? r.child.signalCode}`),
  ]);
  const got = /\n(?:GREW|STOPPED) (\d+)/.exec(ended);
  t.notMatch(ended, /\nGREW /, `it could not hold 1 GiB (at rest: ${rss} kB resident; ${ended.split('\n').filter(Boolean).pop()})`);
  if (got) t.ok(Number(got[1]) < JAIL_DATA_LIMIT / (1 << 20), `it stopped at ${got[1]} MiB, below the ${JAIL_DATA_LIMIT / (1 << 20)} MiB ceiling`);
  r.child.kill('SIGKILL');
  await r.exited;
});

t.test('two jailed children with distinct ids cannot signal each other', async (t) => {
  const [a, b] = randomJailIds(2);
  t.not(a.uid, b.uid);
  const ra = run({ ...a, dir: jailDir('pair-a') });
  const rb = run({ ...b, dir: jailDir('pair-b') });
  t.match(await ra.line, /^READY /);
  t.match(await rb.line, /^READY /);
  t.not(procField(ra.child.pid!, 'status', 'Uid:'), procField(rb.child.pid!, 'status', 'Uid:'));
  rb.child.stdin!.write(`kill ${ra.child.pid}`);
  ra.child.stdin!.write(`kill ${rb.child.pid}`);
  await new Promise((res) => setTimeout(res, 300));
  t.match(rb.stdout(), /\nKILL EPERM\n/, 'b cannot signal a');
  t.match(ra.stdout(), /\nKILL EPERM\n/, 'a cannot signal b');
  rb.child.stdin!.write(`kill ${rb.child.pid}`);
  await new Promise((res) => setTimeout(res, 200));
  t.match(rb.stdout(), /\nKILL ok\n/, 'control: signal 0 to itself works');
  ra.child.kill('SIGKILL');
  rb.child.kill('SIGKILL');
  await Promise.all([ra.exited, rb.exited]);
});

t.test('a failing step gives an error naming it, and exit 111', async (t) => {
  const [{ uid, gid }] = randomJailIds(1);
  const cases: [string, object, RegExp, { uid?: number }?][] = [
    ['missing dir', { uid, gid, dir: path.join(work, 'does-not-exist') }, /^ERR jail: chroot: /],
    ['uid 0', { uid: 0, gid, dir: jailDir('z1') }, /^ERR jail: spec: bad uid/],
    ['gid 0', { uid, gid: 0, dir: jailDir('z2') }, /^ERR jail: spec: bad gid/],
    ['relative dir', { uid, gid, dir: 'rel' }, /^ERR jail: spec: .*absolute/],
    ['not root', { uid, gid, dir: jailDir('z3') }, /^ERR jail: spec: must start as root/, { uid: 65534 }],
  ];
  for (const [what, spec, re, opts] of cases) {
    const r = run(spec, opts);
    t.match(await r.line, re, what);
    t.equal(await r.exited, 111, `${what}: exit 111`);
  }
});

t.test('without prepareForJail the first threadpool job after the jail aborts (why the step exists)', async (t) => {
  const [{ uid, gid }] = randomJailIds(1);
  const r = run({ uid, gid, dir: jailDir('noprep'), skipPrepare: true });
  await r.exited;
  t.equal(r.child.signalCode, 'SIGABRT', `aborted (stdout: ${JSON.stringify(r.stdout())})`);
  t.notMatch(r.stdout(), /PBKDF2 32/);
});
