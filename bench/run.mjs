#!/usr/bin/env node
// Entry point: `node bench/run.mjs [options]` (after `npm ci`). Bundles
// bench/bench.ts (and the test/lib helpers it uses) with esbuild into a temp
// file, then runs it. See bench/README.md.
import { build } from 'esbuild';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const dir = mkdtempSync(join(tmpdir(), 'tlswrapper-bench-build-'));
const out = join(dir, 'bench.cjs');
try {
  await build({
    entryPoints: [join(repo, 'bench', 'bench.ts')], outfile: out, bundle: true,
    platform: 'node', format: 'cjs', target: 'node20', logLevel: 'warning',
  });
  process.env.TLSWRAPPER_REPO = repo;
  const require = createRequire(import.meta.url);
  await require(out).main(process.argv.slice(2));
} finally {
  rmSync(dir, { recursive: true, force: true });
}
