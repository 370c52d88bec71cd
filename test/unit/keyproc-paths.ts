import t from 'tap';
import { fixPath, candidatePaths, type CertSource } from '../../keyproc/paths';

t.test('fixpath: a dot after a slash becomes a colon, repeated slashes collapse', async (t) => {
  t.equal(fixPath('/etc/.x/a.b'), '/etc/:x/a.b');
  t.equal(fixPath('/etc//x///a.b'), '/etc/x/a.b');
  t.equal(fixPath('/etc//.x'), '/etc/:x', 'collapse first, so //. cannot dodge the rule');
  t.equal(fixPath('/a/../b'), '/a/:./b');
  t.equal(fixPath('rel/./x'), 'rel/:/x');
  t.equal(fixPath('a.b/c.d'), 'a.b/c.d', 'dots not after a slash stay');
  t.equal(fixPath('./x'), './x', 'a leading dot (no slash before it) stays: relative -d paths keep working');
});

t.test('candidates: files as configured, dirs only with a name, in order', async (t) => {
  const sources: CertSource[] = [
    { kind: 'dir', path: '/etc/.x/' },
    { kind: 'file', path: '/etc/rsa.pem' },
    { kind: 'dir', path: '/etc/ecdsa.d' },
  ];
  t.same(
    candidatePaths(sources, 'a.b').map((c) => c.path),
    ['/etc/:x/a.b', '/etc/rsa.pem', '/etc/ecdsa.d/a.b'],
  );
  t.same(candidatePaths(sources, '').map((c) => c.path), ['/etc/rsa.pem'], 'no SNI: -d sources give nothing');
  t.equal(candidatePaths(sources, 'a.b')[1].source, sources[1]);
  t.same(candidatePaths([{ kind: 'file', path: '/etc/.hidden/k.pem' }], 'x').map((c) => c.path), ['/etc/.hidden/k.pem'],
    '-f paths are the administrator\'s, used as given');
});

t.test('candidatePaths refuses a name with / or NUL even if validation were bypassed', async (t) => {
  t.throws(() => candidatePaths([{ kind: 'dir', path: '/d' }], '../x/y'));
  t.throws(() => candidatePaths([{ kind: 'dir', path: '/d' }], 'a\0'));
  t.same(candidatePaths([{ kind: 'dir', path: '/d' }], '..').map((c) => c.path), ['/d/:.'], 'fixpath still holds');
});
