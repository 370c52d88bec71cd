// Delayed encryption (-n) seen from /proc: while prog talks plaintext, netproc
// is already jailed (uid, root, limits), keyproc is root and has not read the
// key file yet (it waits for the name, which only the ClientHello brings), and
// prog runs; after STARTTLS and the handshake it is as in connection.ts:
// keyproc gone, netproc still jailed, the same prog, no key bytes in netproc's
// or the entry's memory.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tls from 'node:tls';
import t, { type Test } from 'tap';
import { leafCert } from '../lib/certs';
import { runDirect, type DirectRun } from '../lib/direct';
import { assertNoKeyInMemory, keyFoundWhereItIs, keyNeedles } from '../lib/keymemory';
import { descendants, openFds, procInfo, readLimits, searchMemory, type ProcInfo } from '../lib/procs';
import { repoRoot, waitFor } from '../lib/sh';

t.setTimeout(60000);
const DEFAULT_JAIL = '/var/lib/tlswrapper/empty';
const PROG = path.join(repoRoot, 'test', 'lib', 'progs', 'starttls-prog.mjs');

function processes(run: DirectRun): { entry: ProcInfo; byRole: (role: string) => ProcInfo | undefined; all: ProcInfo[] } {
  const entry = procInfo(run.child.pid!)!;
  const all = descendants(entry.pid).map(procInfo).filter((p): p is ProcInfo => p !== null);
  const byRole = (role: string) => all.find((p) => p.cmdline.some((a) => a.endsWith(`${role}.js`) || a.endsWith(role)));
  return { entry, byRole, all };
}

function checkJailed(t: Test, p: ProcInfo, what: string): void {
  t.ok(p.uid.every((u) => u === p.uid[0] && u !== 0), `${what}: uid ${p.uid.join(' ')} is one non-root id`);
  t.ok(p.gid.every((g) => g === p.gid[0] && g !== 0), `${what}: gid ${p.gid.join(' ')} is one non-root id`);
  t.same(p.groups, [], `${what}: no supplementary groups`);
  t.equal(p.root, DEFAULT_JAIL, `${what}: chrooted to ${DEFAULT_JAIL}`);
  const limits = readLimits(p.pid);
  for (const name of ['Max open files', 'Max processes', 'Max file size', 'Max core file size']) {
    t.same([limits[name]?.soft, limits[name]?.hard], [0, 0], `${what}: ${name} 0/0`);
  }
}

/** Text received on a socket so far, and a wait for more. */
function collector(s: NodeJS.ReadableStream): { text: () => string; until: (needle: string, ms?: number) => Promise<void> } {
  let text = '';
  s.on('data', (d: Buffer) => (text += d.toString('latin1')));
  return {
    text: () => text,
    until: async (needle, ms = 10000) => {
      if (!(await waitFor(() => text.includes(needle), ms, 10))) throw new Error(`no ${JSON.stringify(needle)} in ${JSON.stringify(text)}`);
    },
  };
}

/** Whether reads update atime here (not noatime): then a read of the key file shows. */
function atimeWorks(dir: string): boolean {
  const f = path.join(dir, 'probe');
  fs.writeFileSync(f, 'x');
  const old = new Date(Date.now() - 3600_000);
  fs.utimesSync(f, old, new Date());
  fs.readFileSync(f);
  return fs.statSync(f).atimeMs > old.getTime() + 1000;
}

t.test('-n: jailed netproc and a waiting root keyproc during the plaintext phase', async (t) => {
  const cert = leafCert('p256');
  // Our own copy of the key file, its atime an hour before its mtime: the first read moves it.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'starttls-jail-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const pem = path.join(dir, 'server.pem');
  fs.copyFileSync(cert.pem, pem);
  const old = new Date(Date.now() - 3600_000);
  fs.utimesSync(pem, old, new Date());
  const atime = atimeWorks(dir);
  const keyRead = () => fs.statSync(pem).atimeMs > old.getTime() + 1000;

  const run = await runDirect(['-n', '-f', pem, process.execPath, PROG, 'n0'], { deadlineMs: 30000 });
  t.teardown(() => run.client.destroy());
  const plain = collector(run.client);
  await plain.until('220 starttls-prog n0\r\n');
  run.client.write('EHLO jail.test\r\n');
  await plain.until('250 STARTTLS\r\n');

  // Plaintext going on: prog runs, netproc jailed, keyproc root and waiting.
  const before = await waitFor(() => {
    const p = processes(run);
    return p.byRole('netproc') && p.byRole('keyproc') && p.byRole('starttls-prog.mjs') ? p : undefined;
  });
  if (!before) throw new Error('not all of netproc, keyproc and prog are there');
  const netproc = before.byRole('netproc')!;
  const keyproc = before.byRole('keyproc')!;
  const prog = before.byRole('starttls-prog.mjs')!;
  checkJailed(t, netproc, 'netproc in plaintext');
  t.equal(keyproc.uid[0], 0, 'keyproc is root while it waits for the name');
  t.equal(keyproc.root, '/', 'keyproc not chrooted yet');
  t.notOk(Object.values(openFds(keyproc.pid)).some((f) => f.includes(dir)), 'keyproc has no descriptor on the key file');
  if (atime) t.notOk(keyRead(), 'the key file has not been read (atime unchanged)');
  else t.comment('reads do not update atime here: the key-file read check is skipped');
  const keyMem = searchMemory(keyproc.pid, keyNeedles(cert));
  t.ok(keyMem.bytesRead > 1 << 20, `keyproc: searched ${keyMem.bytesRead} bytes of memory`);
  t.same(keyMem.hits, [], 'keyproc: no private key bytes in memory before the ClientHello');
  t.equal(prog.uid[0], 0, 'prog runs (as the entry\'s user, no -u) before TLS');
  t.equal(prog.root, '/', 'prog is not jailed');
  t.equal(before.all.length, 3, 'netproc, keyproc, prog: nothing else');

  // STARTTLS, the handshake, data.
  run.client.write('STARTTLS\r\n');
  await plain.until('220 go ahead\r\n');
  run.client.removeAllListeners('data');
  const s = tls.connect({ socket: run.client, rejectUnauthorized: false, servername: 'localhost' });
  await new Promise<void>((resolve, reject) => {
    s.once('secureConnect', () => resolve());
    s.once('error', reject);
  });
  const secure = collector(s);
  await secure.until('\r\n');
  t.match(secure.text(), /^TLS \{"mode":"n0"/, 'the TLS phase reached prog');
  s.write('ping\n');
  await secure.until('ping\n');

  const after = processes(run);
  const netproc2 = after.byRole('netproc')!;
  checkJailed(t, netproc2, 'netproc after the handshake');
  t.equal(netproc2.pid, netproc.pid, 'the same netproc');
  t.equal(after.byRole('keyproc'), undefined, 'keyproc is gone after its one signature');
  t.equal(after.byRole('starttls-prog.mjs')?.pid, prog.pid, 'the same prog: it was not restarted for TLS');
  if (atime) t.ok(keyRead(), 'now the key file has been read (the atime check can see a read)');
  assertNoKeyInMemory(t, cert, [['netproc', netproc2], ['entry', after.entry]]);
  s.end();
  t.equal((await run.exit).code, 0, 'prog exits 0, so does tlswrapper');
});

t.test('positive control: the needles are found in a Node process that loaded the key', keyFoundWhereItIs);
