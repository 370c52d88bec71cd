// Bundles each process into one file, so a process reads one file at start-up
// and has every module in memory before it jails itself.
import { build } from 'esbuild';

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
