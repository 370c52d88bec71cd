// Bundles each process into one file, so a process reads one file at start-up
// and has every module in memory before it jails itself.
import { build } from 'esbuild';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

const processes = {
  entry: 'src/main.ts',
  netproc: 'netproc/main.ts',
  keyproc: 'keyproc/main.ts',
  // Client certificates (-a): loaded with require() only when asked for, as
  // @peculiar/x509 takes ~30 ms to load.
  peercert: 'peercert/index.ts',
  // The companion programs (each its own bin/ script).
  tcp: 'tcp/main.ts',
  alias: 'alias/main.ts',
  smtp: 'smtp/main.ts',
  // tlswrapper-server: the entry for many connections, with spare process sets.
  server: 'server/main.ts',
};

await Promise.all(Object.entries(processes).map(([name, input]) => build({
  entryPoints: [input],
  outfile: `dist/${name}.js`,
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  external: ['posix'],
  sourcemap: false,
  logLevel: 'warning',
})));

// A V8 code cache for the bundles loaded with lib/bundle.ts requireBundle():
// the bundle is run once, and its rehearsal if it exports one, so the cache
// holds what loading it and a connection's first use compile. V8
// takes a cache only in a process with the flags it was made with: one cache
// for the entry (no flags), one for netproc (its flags,
// netproc/nodeflags.json), each made by a Node started with those flags,
// named as lib/bundle.ts cacheFileName() looks for it.
const FLAG_SETS = [[], JSON.parse(readFileSync('netproc/nodeflags.json', 'utf8'))];
const cacheFileName = (name, flags) => flags.length === 0 ? `${name}.cache` : `${name}.${flags.map((f) => f.replace(/^--/, '')).join('+')}.cache`;
const WRITE_CACHE = `
const [file, out] = process.argv.slice(1);
const { Script } = require('node:vm');
const Module = require('node:module');
const { readFileSync, writeFileSync } = require('node:fs');
const script = new Script(Module.wrap(readFileSync(file, 'utf8')), { filename: file });
const module = { exports: {} };
script.runInThisContext()(module.exports, Module.createRequire(file), module, file, require('node:path').dirname(file));
module.exports.rehearseForCodeCache?.();
writeFileSync(out, script.createCachedData());
`;
for (const name of ['peercert']) {
  for (const flags of FLAG_SETS) {
    const r = spawnSync(process.execPath, [...flags, '-e', WRITE_CACHE, resolve(`dist/${name}.js`), resolve('dist', cacheFileName(name, flags))], { stdio: 'inherit' });
    if (r.status !== 0) throw new Error(`the code cache of ${name} for flags [${flags.join(' ')}] was not written`);
  }
}
