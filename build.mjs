// Bundles each process into one file, so a process reads one file at start-up
// and has every module in memory before it jails itself.
import { build } from 'esbuild';
import { spawnSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { resolve } from 'node:path';

// Each connection starts these: dist/NAME.js is a small script that loads
// dist/NAME.bundle.js with its V8 code cache (lib/bundle.ts), and the bundle
// exports main(). flags: the V8 flags the process runs with (src/connection.ts).
// (netproc's flags are filled in from the entry's bundle, below.)
const perConnection = {
  entry: { input: 'src/main.ts', flags: [] },
  netproc: { input: 'netproc/main.ts', flags: [] },
  keyproc: { input: 'keyproc/main.ts', flags: [] },
};

// Run as they are.
const processes = {
  // Client certificates (-a): loaded with requireBundle() only when asked
  // for, as @peculiar/x509 takes ~30 ms to load, by the entry and by netproc.
  peercert: 'peercert/index.ts',
  // The companion programs (each its own bin/ script).
  tcp: 'tcp/main.ts',
  alias: 'alias/main.ts',
  smtp: 'smtp/main.ts',
  // tlswrapper-server: the entry for many connections, with spare process sets.
  server: 'server/main.ts',
  // The loader the per-connection scripts share.
  bundle: 'lib/bundle.ts',
};

rmSync('dist', { recursive: true, force: true });
const bundles = [
  ...Object.entries(perConnection).map(([name, { input }]) => [`${name}.bundle`, input]),
  ...Object.entries(processes),
];
await Promise.all(bundles.map(([name, input]) => build({
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

// The entry's bundle has no side effects until main() runs: it says which
// flags it starts netproc with (src/connection.ts NODE_FLAGS).
const NETPROC_FLAGS = createRequire(import.meta.url)('./dist/entry.bundle.js').NODE_FLAGS['netproc.js'];
perConnection.netproc.flags = NETPROC_FLAGS;

for (const name of Object.keys(perConnection)) {
  writeFileSync(`dist/${name}.js`, `'use strict';
// Written by build.mjs: ${name}.bundle.js with its V8 code cache (lib/bundle.ts).
void require('./bundle.js').requireBundle('${name}.bundle', __dirname).main();
`);
}

// A V8 code cache for the bundles loaded with lib/bundle.ts requireBundle():
// the bundle is run once, and its rehearsal if it exports one, so the cache
// holds what loading it and a connection's first use compile. V8 takes a
// cache only in a process with the flags it was made with: each cache is
// made (lib/bundle.ts writeCodeCache) by a Node started with the flags of the
// process that loads it (for peercert: the entry's, none, and netproc's).
const caches = [
  ['peercert', []],
  ['peercert', NETPROC_FLAGS],
  ...Object.entries(perConnection).map(([name, { flags }]) => [`${name}.bundle`, flags]),
];
const loader = JSON.stringify(resolve('dist/bundle.js'));
for (const [name, flags] of caches) {
  const write = `require(${loader}).writeCodeCache(${JSON.stringify(name)}, ${JSON.stringify(resolve('dist'))}, ${JSON.stringify(flags)})`;
  const r = spawnSync(process.execPath, [...flags, '-e', write], { stdio: 'inherit' });
  if (r.status !== 0) throw new Error(`the code cache of ${name} for flags [${flags.join(' ')}] was not written`);
}
