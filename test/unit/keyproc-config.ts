import t from 'tap';
import { parseConfig, ConfigError } from '../../keyproc/config';

const good = { certs: [{ kind: 'file', path: '/k.pem' }, { kind: 'dir', path: 'rel/d' }], jail: { uid: 141500001, gid: 141500001, dir: '/var/lib/tlswrapper/empty' }, verbosity: 2 };

t.test('a good config round-trips; verbosity defaults to 1 (-Q)', async (t) => {
  t.same(parseConfig(JSON.stringify(good)), good);
  const { verbosity: _v, ...noVerbosity } = good;
  t.equal(parseConfig(JSON.stringify(noVerbosity)).verbosity, 1);
  t.equal(parseConfig(JSON.stringify({ ...good, rehearse: true })).rehearse, true, 'a spare set rehearses');
  t.notOk('rehearse' in parseConfig(JSON.stringify({ ...good, rehearse: false })), 'rehearse: false is the default');
});

t.test('bad configs are refused', async (t) => {
  const bad: unknown[] = [
    undefined,
    'x',
    '[]',
    '{}',
    { ...good, certs: [] },
    { ...good, certs: [{ kind: 'other', path: '/x' }] },
    { ...good, certs: [{ kind: 'file', path: '' }] },
    { ...good, certs: [{ kind: 'file', path: '/a\0b' }] },
    { ...good, jail: { ...good.jail, uid: 0 } },
    { ...good, jail: { ...good.jail, gid: -1 } },
    { ...good, jail: { ...good.jail, uid: 1.5 } },
    { ...good, jail: { ...good.jail, uid: 0xffffffff } },
    { ...good, jail: { ...good.jail, dir: 'relative' } },
    { ...good, jail: undefined },
    { ...good, verbosity: 5 },
    { ...good, verbosity: '2' },
    { ...good, rehearse: 1 },
  ];
  for (const b of bad) {
    const json = b === undefined ? undefined : typeof b === 'string' ? b : JSON.stringify(b);
    let err: unknown;
    try {
      parseConfig(json);
    } catch (e) {
      err = e;
    }
    t.ok(err instanceof ConfigError, `${String(json).slice(0, 80)}: ${(err as Error)?.message}`);
  }
});
