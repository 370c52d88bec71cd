// certbot's layout under -d (our addition): DIR/NAME/privkey.pem +
// DIR/NAME/fullchain.pem beside tlswrapper's single file DIR/NAME. The paths
// are keyproc's own (fixpath applies to the composed paths); the reads follow
// symlinks, take regular files only, and cap the size.
import t from 'tap';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { candidatePaths, type CertSource } from '../../keyproc/paths';
import { readCandidate, ReadError, MAX_PEM } from '../../keyproc/read';

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'keyproc-certbot-'));
t.teardown(() => fs.rmSync(work, { recursive: true, force: true }));

const dirSrc = (p: string): CertSource => ({ kind: 'dir', path: p });
const one = (src: CertSource, name: string) => candidatePaths([src], name)[0];

function readErr(fn: () => unknown): ReadError {
  try {
    fn();
  } catch (e) {
    if (e instanceof ReadError) return e;
    throw e;
  }
  throw new Error('no ReadError');
}

t.test('paths: certbot paths built by keyproc, fixpath on the composed paths', async (t) => {
  const c = one(dirSrc('/etc/.le//live/'), 'a.b');
  t.equal(c.path, '/etc/:le/live/a.b');
  t.same(c.certbot, { key: '/etc/:le/live/a.b/privkey.pem', chain: '/etc/:le/live/a.b/fullchain.pem' });
  t.same(one(dirSrc('/d'), '..').certbot, { key: '/d/:./privkey.pem', chain: '/d/:./fullchain.pem' }, 'fixpath holds for the dir part');
  t.equal(candidatePaths([{ kind: 'file', path: '/etc/k.pem' }], 'a.b')[0].certbot, undefined, '-f: never certbot');
  t.same(candidatePaths([dirSrc('/d')], ''), [], 'no SNI: -d sources (and so certbot dirs) skipped');
});

// live/NAME/*.pem -> ../../archive/NAME/*1.pem, as certbot makes them.
const le = path.join(work, 'le');
function certbotTree(name: string, files: Record<string, string>): void {
  fs.mkdirSync(path.join(le, 'archive', name), { recursive: true });
  fs.mkdirSync(path.join(le, 'live', name), { recursive: true });
  for (const [f, body] of Object.entries(files)) {
    const archived = f.replace(/\.pem$/, '1.pem');
    fs.writeFileSync(path.join(le, 'archive', name, archived), body);
    fs.symlinkSync(path.join('..', '..', 'archive', name, archived), path.join(le, 'live', name, f));
  }
}
certbotTree('cb.example', { 'privkey.pem': 'KEY\n', 'fullchain.pem': 'LEAF\nCA\n', 'cert.pem': 'LEAF\n', 'chain.pem': 'CA\n' });
certbotTree('keyonly.example', { 'privkey.pem': 'KEY\n' });
certbotTree('chainonly.example', { 'fullchain.pem': 'LEAF\n' });
fs.mkdirSync(path.join(le, 'live', 'empty.example'));
fs.writeFileSync(path.join(le, 'live', 'both.example'), 'SINGLE\n');
fs.mkdirSync(path.join(le, 'live', 'dirkey.example', 'privkey.pem'), { recursive: true });
fs.writeFileSync(path.join(le, 'live', 'dirkey.example', 'fullchain.pem'), 'LEAF\n');
fs.mkdirSync(path.join(le, 'live', 'fifo.example'));
fs.writeFileSync(path.join(le, 'live', 'fifo.example', 'privkey.pem'), 'KEY\n');
execFileSync('mkfifo', [path.join(le, 'live', 'fifo.example', 'fullchain.pem')]);
fs.mkdirSync(path.join(le, 'live', 'big.example'));
fs.writeFileSync(path.join(le, 'live', 'big.example', 'privkey.pem'), 'KEY\n');
fs.writeFileSync(path.join(le, 'live', 'big.example', 'fullchain.pem'), Buffer.alloc(MAX_PEM + 1, 0x41));
fs.symlinkSync('cb.example', path.join(le, 'live', 'alias.example'));
fs.symlinkSync('nowhere', path.join(le, 'live', 'dangling.example'));
const live = dirSrc(path.join(le, 'live'));

t.test('a certbot dir: privkey.pem then fullchain.pem, through the live/ symlinks', async (t) => {
  const got = readCandidate(one(live, 'cb.example'))!;
  t.equal(got.bytes.toString(), 'KEY\n\nLEAF\nCA\n', 'key, then the full chain; cert.pem and chain.pem unused');
  t.equal(got.label, path.join(le, 'live', 'cb.example') + '/{privkey,fullchain}.pem');
  t.equal(readCandidate(one(live, 'alias.example'))!.bytes.toString(), 'KEY\n\nLEAF\nCA\n', 'DIR/NAME itself a symlink to a dir');
});

t.test('the single file DIR/NAME wins when it is a regular file', async (t) => {
  const got = readCandidate(one(live, 'both.example'))!;
  t.equal(got.bytes.toString(), 'SINGLE\n');
  t.equal(got.label, path.join(le, 'live', 'both.example'));
});

t.test('nothing at DIR/NAME: null (skipped), also for a dangling symlink', async (t) => {
  t.equal(readCandidate(one(live, 'none.example')), null);
  t.equal(readCandidate(one(live, 'dangling.example')), null);
});

t.test('a half-made or wrong certbot dir is a configuration error naming the file', async (t) => {
  const dir = (n: string, f: string) => path.join(le, 'live', n, f);
  const cases: [string, string, RegExp][] = [
    ['keyonly.example', dir('keyonly.example', 'fullchain.pem'), /^ENOENT$/],
    ['chainonly.example', dir('chainonly.example', 'privkey.pem'), /^ENOENT$/],
    ['empty.example', dir('empty.example', 'privkey.pem'), /^ENOENT$/],
    ['dirkey.example', dir('dirkey.example', 'privkey.pem'), /not a regular file/],
    ['fifo.example', dir('fifo.example', 'fullchain.pem'), /not a regular file/],
    ['big.example', dir('big.example', 'fullchain.pem'), /larger than/],
  ];
  for (const [name, file, why] of cases) {
    const e = readErr(() => readCandidate(one(live, name)));
    t.equal(e.path, file, `${name}: names ${path.basename(file)}`);
    t.match(e.why, why, name);
  }
});

t.test('-f stays a single file: a directory there is not a regular file', async (t) => {
  const e = readErr(() => readCandidate(candidatePaths([{ kind: 'file', path: path.join(le, 'live', 'cb.example') }], '')[0]));
  t.match(e.why, /not a regular file/);
  const e2 = readErr(() => readCandidate(candidatePaths([{ kind: 'file', path: path.join(le, 'nope.pem') }], '')[0]));
  t.equal(e2.why, 'ENOENT', 'a missing -f file is fatal, not skipped');
});
