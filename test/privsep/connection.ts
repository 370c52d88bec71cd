// The real binary with a live connection, seen from /proc: netproc is jailed
// before the first network byte, keyproc waits as root for the name and exits
// after its one signature, prog runs only after the handshake, and the private
// key's bytes are in neither netproc's nor the entry's memory.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tls from 'node:tls';
import t, { type Test } from 'tap';
import { JAIL_DATA_LIMIT } from '../../jail/jail';
import { leafCert } from '../lib/certs';
import { runDirect, type DirectRun } from '../lib/direct';
import { assertNoKeyInMemory, keyFoundWhereItIs } from '../lib/keymemory';
import { descendants, procInfo, readLimits, type ProcInfo } from '../lib/procs';
import { waitFor } from '../lib/sh';

const DEFAULT_JAIL = '/var/lib/tlswrapper/empty';

function processes(run: DirectRun): { entry: ProcInfo; byRole: (role: string) => ProcInfo | undefined; all: ProcInfo[] } {
  const entry = procInfo(run.child.pid!)!;
  const all = descendants(entry.pid).map(procInfo).filter((p): p is ProcInfo => p !== null);
  const byRole = (role: string) => all.find((p) => p.cmdline.some((a) => a.endsWith(`${role}.js`) || a === role));
  return { entry, byRole, all };
}

function handshake(run: DirectRun, extra: tls.ConnectionOptions = {}): Promise<tls.TLSSocket> {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ socket: run.client, rejectUnauthorized: false, servername: 'localhost', ...extra });
    s.once('secureConnect', () => resolve(s));
    s.once('error', reject);
  });
}

function echo(s: tls.TLSSocket, text: string): Promise<string> {
  return new Promise((resolve) => {
    let got = '';
    const onData = (d: Buffer) => {
      got += d.toString();
      if (got.length >= text.length) {
        s.off('data', onData);
        resolve(got);
      }
    };
    s.on('data', onData);
    s.write(text);
  });
}

function checkJailed(t: Test, p: ProcInfo, jailDir: string, what: string): void {
  t.ok(p.uid.every((u) => u === p.uid[0] && u !== 0), `${what}: uid ${p.uid.join(' ')} is one non-root id`);
  t.ok(p.gid.every((g) => g === p.gid[0] && g !== 0), `${what}: gid ${p.gid.join(' ')} is one non-root id`);
  t.same(p.groups, [], `${what}: no supplementary groups`);
  t.equal(p.root, jailDir, `${what}: chrooted to ${jailDir}`);
  const limits = readLimits(p.pid);
  for (const name of ['Max open files', 'Max processes', 'Max file size', 'Max core file size']) {
    t.same([limits[name]?.soft, limits[name]?.hard], [0, 0], `${what}: ${name} 0/0`);
  }
  t.same([limits['Max data size']?.soft, limits['Max data size']?.hard], [JAIL_DATA_LIMIT, JAIL_DATA_LIMIT], `${what}: Max data size ${JAIL_DATA_LIMIT}`);
}

/** Byte strings that exist only where the private key is: raw secrets, PKCS#8 DER, the PEM's base64. */
for (const keyType of ['p256', 'rsa2048'] as const) {
  t.test(`${keyType}: jail, process roles and key isolation during a live connection`, async (t) => {
    const cert = leafCert(keyType);
    const run = await runDirect(['-f', cert.pem, 'cat']);
    t.teardown(() => run.client.destroy());

    // Connected, nothing sent yet: netproc is already jailed, keyproc waits as root, no prog.
    // (Waiting for the jail to be in place proves it needs no input to get there.)
    const before = await waitFor(() => {
      const p = processes(run);
      return p.byRole('netproc') && p.byRole('netproc')!.uid[0] !== 0 && p.byRole('keyproc') ? p : undefined;
    });
    if (!before) throw new Error('no jailed netproc');
    checkJailed(t, before.byRole('netproc')!, DEFAULT_JAIL, 'netproc before the first byte');
    t.equal(before.byRole('keyproc')!.uid[0], 0, 'keyproc waits for the name as root');
    t.equal(before.all.length, 2, 'no prog before the handshake');
    // Any local user can read a command line (ps): the jail's ids and the key's path are not on it.
    for (const role of ['netproc', 'keyproc'] as const) {
      const argv = before.byRole(role)!.cmdline;
      t.notOk(argv.some((a) => a.includes(cert.pem) || a.includes(String(before.byRole(role)!.uid[0])) || a.startsWith('{')), `${role}'s command line holds no configuration: ${argv.join(' ')}`);
    }

    const s = await handshake(run);
    t.equal(await echo(s, 'ping\n'), 'ping\n', 'data round-trips through prog');

    const after = processes(run);
    const netproc = after.byRole('netproc')!;
    checkJailed(t, netproc, DEFAULT_JAIL, 'netproc');
    t.equal(after.byRole('keyproc'), undefined, 'keyproc is gone after its one signature');
    const prog = after.byRole('cat')!;
    t.ok(prog, 'prog runs');
    t.equal(prog.uid[0], 0, 'prog runs as the entry user without -u');
    t.equal(after.entry.uid[0], 0, 'the entry stays root (to start prog as any user)');
    t.not(netproc.uid[0], before.byRole('keyproc')!.uid[0], 'netproc and keyproc never share an id');

    assertNoKeyInMemory(t, cert, [['netproc', netproc], ['entry', after.entry]]);
    // That the search finds key bytes where they are is shown by the positive
    // control below (netproc need not keep anything, not even the certificate).

    s.end();
    t.equal((await run.exit).code, 0, 'cat exits 0, so does tlswrapper');
  });
}

t.test('positive control: the needles are found in a Node process that loaded the key', keyFoundWhereItIs);

t.test('-u runs prog as that user; -j and -J set the jail', async (t) => {
  const cert = leafCert('p256');
  const jailDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tlswrapper-jail-'));
  fs.chmodSync(jailDir, 0o555);
  t.teardown(() => fs.rmdirSync(jailDir));
  const run = await runDirect(['-u', 'nobody', '-j', 'nobody', '-J', jailDir, '-f', cert.pem, 'sh', '-c', 'id -u; cat']);
  t.teardown(() => run.client.destroy());
  const s = await handshake(run);
  const id = await new Promise<string>((resolve) => s.once('data', (d: Buffer) => resolve(d.toString().trim())));
  const nobody = Number(fs.readFileSync('/etc/passwd', 'utf8').match(/^nobody:[^:]*:(\d+):/m)![1]);
  t.equal(Number(id), nobody, 'prog runs as nobody');
  const netproc = processes(run).byRole('netproc')!;
  checkJailed(t, netproc, jailDir, 'netproc under -j/-J');
  t.equal(netproc.uid[0], nobody, '-j nobody');
  s.end();
  await run.exit;
});

t.test('a jail user with uid 0, an unknown -u user, a writable jail dir: exit 111, one line', async (t) => {
  const cert = leafCert('p256');
  const writable = fs.mkdtempSync(path.join(os.tmpdir(), 'tlswrapper-wjail-'));
  fs.chmodSync(writable, 0o777);
  t.teardown(() => fs.rmdirSync(writable));
  for (const [args, message] of [
    [['-j', 'root'], /root|uid 0|privileged/],
    [['-u', 'no-such-user-here'], /no-such-user-here/],
    [['-J', writable], /writable|mode/],
  ] as const) {
    const run = await runDirect([...args, '-f', cert.pem, 'cat']);
    run.client.destroy();
    const exit = await run.exit;
    t.equal(exit.code, 111, `${args.join(' ')}: exit 111`);
    t.match(run.stderr(), message, `${args.join(' ')}: says why`);
    t.equal(run.stderr().trim().split('\n').length, 1, `${args.join(' ')}: one line: ${run.stderr().trim()}`);
  }
});
