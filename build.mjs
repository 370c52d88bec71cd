// Bundles each process into one file, so a process reads one file at start-up
// and has every module in memory before it jails itself.
import { build } from 'esbuild';
import { readFileSync, writeFileSync } from 'node:fs';
import Module from 'node:module';
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import { Script } from 'node:vm';

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
// the bundle is run once here, so the cache holds what loading it compiles.
for (const name of ['peercert']) {
  const file = resolve(`dist/${name}.js`);
  const script = new Script(Module.wrap(readFileSync(file, 'utf8')), { filename: file });
  const module = { exports: {} };
  script.runInThisContext()(module.exports, createRequire(file), module, file, resolve('dist'));
  writeFileSync(`dist/${name}.cache`, script.createCachedData());
}
