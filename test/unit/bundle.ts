// requireBundle: a bundle loads with its code cache, with a cache V8 rejects,
// and with none; and the build leaves a cache V8 accepts beside peercert.
import t from 'tap';
import * as fs from 'node:fs';
import Module from 'node:module';
import * as os from 'node:os';
import * as path from 'node:path';
import { Script } from 'node:vm';
import { spawnSync } from 'node:child_process';
import { cacheFileName, requireBundle } from '../../lib/bundle';
import { NODE_FLAGS } from '../../src/connection';

/** The build's output, whose caches these tests check. */
const dist = path.join(__dirname, '..', '..', 'dist');
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
  const js = fs.readFileSync(path.join(dist, 'peercert.js'), 'utf8');
  const cachedData = fs.readFileSync(path.join(dist, cacheFileName('peercert', [])));
  const script = new Script(Module.wrap(js), { filename: path.join(dist, 'peercert.js'), cachedData });
  t.equal(script.cachedDataRejected, false, 'not rejected');
  const peercert = requireBundle<{ verifyChain: unknown; parseAnchors: unknown }>('peercert', dist);
  t.type(peercert.verifyChain, 'function');
  t.type(peercert.parseAnchors, 'function');
});

// V8 takes a code cache only in a process with the V8 flags it was made
// with: the cache made by a flagless Node was rejected in netproc (its flags,
// src/connection.ts), and peercert cost it ~48 ms to load, not ~26.
t.test('each process finds caches V8 accepts under its own flags: its own bundle\'s, and peercert\'s', async (t) => {
  const netproc = NODE_FLAGS['netproc.js'];
  const cases: [string, string[]][] = [['entry.bundle', []], ['keyproc.bundle', []], ['netproc.bundle', netproc], ['peercert', []], ['peercert', netproc]];
  for (const [name, flags] of cases) {
    const cache = path.join(dist, cacheFileName(name, flags));
    t.ok(fs.existsSync(cache), `the build wrote ${path.basename(cache)}`);
    const probe = `const { Script } = require('node:vm'); const Module = require('node:module'); const fs = require('node:fs');
      const s = new Script(Module.wrap(fs.readFileSync(process.argv[1], 'utf8')), { filename: process.argv[1], cachedData: fs.readFileSync(process.argv[2]) });
      process.stdout.write(String(s.cachedDataRejected));`;
    const r = spawnSync(process.execPath, [...flags, '-e', probe, path.join(dist, `${name}.js`), cache], { encoding: 'utf8', env: {} });
    t.equal(r.stdout, 'false', `${name} under node ${flags.join(' ') || '(no flags)'}: the cache is not rejected`);
  }
  t.notOk(fs.existsSync(path.join(dist, cacheFileName('peercert', ['--no-such-flag']))), 'no cache for flags nobody runs with');
});

t.test('each process script runs its bundle\'s main() (the bundle alone has no side effects)', async (t) => {
  for (const name of ['entry', 'netproc', 'keyproc']) {
    t.match(fs.readFileSync(path.join(dist, `${name}.js`), 'utf8'), `requireBundle('${name}.bundle', __dirname).main()`, `dist/${name}.js`);
    const r = spawnSync(process.execPath, ['-e', `const m = require(${JSON.stringify(path.join(dist, `${name}.bundle.js`))}); process.stdout.write(typeof m.main);`], { encoding: 'utf8', env: {}, timeout: 20_000 });
    t.same([r.status, r.stdout, r.stderr], [0, 'function', ''], `${name}.bundle.js: loads, exports main, does nothing by itself`);
  }
});
