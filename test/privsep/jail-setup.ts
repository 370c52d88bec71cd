// The entry's side of the jail: the directory check, random ids, -j user ids.
import t from 'tap';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ensureJailDir, randomJailIds, jailIdsForUser, JAIL_ID_BASE, JAIL_ID_SPAN } from '../../jail/jail';

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'jail-setup-'));
t.teardown(() => fs.rmSync(work, { recursive: true, force: true }));

t.test('ensureJailDir creates a missing dir (and parents) root-owned 0555', async (t) => {
  const dir = path.join(work, 'a/b/empty');
  const old = process.umask(0o077);
  try {
    ensureJailDir(dir);
  } finally {
    process.umask(old);
  }
  const st = fs.statSync(dir);
  t.ok(st.isDirectory());
  t.equal(st.uid, 0);
  t.equal(st.mode & 0o7777, 0o555, 'mode 0555 whatever the umask');
  t.doesNotThrow(() => ensureJailDir(dir), 'an existing good dir is accepted');
});

t.test('ensureJailDir refuses unsafe dirs with a clear message', async (t) => {
  const mk = (name: string, mode: number) => {
    const d = path.join(work, name);
    fs.mkdirSync(d);
    fs.chmodSync(d, mode);
    return d;
  };
  t.throws(() => ensureJailDir(mk('gw', 0o575)), /writable by group or other/);
  t.throws(() => ensureJailDir(mk('ow', 0o1777)), /writable by group or other/);
  const nonEmpty = mk('full', 0o755);
  fs.writeFileSync(path.join(nonEmpty, 'x'), '');
  t.throws(() => ensureJailDir(nonEmpty), /not empty/);
  const notRoot = mk('nobody', 0o555);
  fs.chownSync(notRoot, 65534, 65534);
  t.throws(() => ensureJailDir(notRoot), /owned by uid 65534, not root/);
  const file = path.join(work, 'file');
  fs.writeFileSync(file, '');
  t.throws(() => ensureJailDir(file), /not a directory/);
  const link = path.join(work, 'link');
  fs.symlinkSync(mk('target', 0o555), link);
  t.throws(() => ensureJailDir(link), /symbolic link/);
  t.throws(() => ensureJailDir('relative/dir'), /absolute/);
  t.throws(() => ensureJailDir(''), /not a valid path/);
  t.throws(() => ensureJailDir('/a\0b'), /not a valid path/);
  t.throws(() => ensureJailDir(path.join(file, 'sub')), /unable to (stat|create)/);
});

t.test('randomJailIds: distinct, uid = gid, in the high range', async (t) => {
  for (let round = 0; round < 50; round++) {
    const ids = randomJailIds(2);
    t.equal(ids.length, 2);
    t.not(ids[0].uid, ids[1].uid);
    for (const { uid, gid } of ids) {
      t.equal(uid, gid);
      t.ok(uid >= JAIL_ID_BASE && uid < JAIL_ID_BASE + JAIL_ID_SPAN && uid < 0xffffffff);
    }
    if (t.passing() === false) break;
  }
  t.same(new Set(randomJailIds(500).map((i) => i.uid)).size, 500);
  t.throws(() => randomJailIds(-1));
});

t.test('jailIdsForUser: real users, never root, unknown users refused', async (t) => {
  t.same(jailIdsForUser('nobody'), { uid: 65534, gid: 65534 });
  t.throws(() => jailIdsForUser('root'), /uid 0/);
  t.throws(() => jailIdsForUser('no-such-user-xyz'), /unknown user/);
  t.throws(() => jailIdsForUser(''), /not a valid user name/);
  // A user with a non-zero uid but gid 0 (e.g. 'sync' on Debian has gid 65534; make our own check).
  const withGid0 = fs
    .readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .map((l) => l.split(':'))
    .find((f) => f.length > 3 && f[2] !== '0' && f[3] === '0');
  if (withGid0) t.throws(() => jailIdsForUser(withGid0[0]), /gid 0/, `${withGid0[0]} has gid 0`);
  else t.pass('no user with gid 0 on this system to try');
});
