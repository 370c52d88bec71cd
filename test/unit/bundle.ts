// requireBundle: a bundle loads with its code cache, with a cache V8 rejects,
// and with none; and the build leaves a cache V8 accepts beside peercert.
import t from 'tap';
import * as fs from 'node:fs';
import Module from 'node:module';
import * as os from 'node:os';
import * as path from 'node:path';
import { Script } from 'node:vm';
import { requireBundle } from '../../lib/bundle';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bundle-'));
t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
const source = "exports.answer = 6 * 7; exports.where = __filename; exports.hash = require('node:crypto').createHash('sha256').update('x').digest('hex').slice(0, 8);";
const file = path.join(dir, 'm.js');
fs.writeFileSync(file, source);

t.test('loads with no cache, a good one, a corrupt one', async (t) => {
  const want = { answer: 42, where: file, hash: '2d711642' };
  t.same(requireBundle('m', dir), want, 'no cache');
  const script = new Script(Module.wrap(source), { filename: file });
  fs.writeFileSync(path.join(dir, 'm.cache'), script.createCachedData());
  t.same(requireBundle('m', dir), want, 'with its cache');
  fs.writeFileSync(path.join(dir, 'm.cache'), Buffer.from('not a code cache'));
  t.same(requireBundle('m', dir), want, 'a cache V8 rejects costs only the compile');
});

t.test('the build\'s peercert cache is accepted by this Node', async (t) => {
  const dist = path.join(__dirname, '..', '..', 'dist');
  const js = fs.readFileSync(path.join(dist, 'peercert.js'), 'utf8');
  const cachedData = fs.readFileSync(path.join(dist, 'peercert.cache'));
  const script = new Script(Module.wrap(js), { filename: path.join(dist, 'peercert.js'), cachedData });
  t.equal(script.cachedDataRejected, false, 'not rejected');
  const peercert = requireBundle<{ verifyChain: unknown; parseAnchors: unknown }>('peercert', dist);
  t.type(peercert.verifyChain, 'function');
  t.type(peercert.parseAnchors, 'function');
});
