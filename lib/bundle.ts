// Loading one of our bundles (dist/NAME.js) with the V8 code cache the build
// leaves beside it: each connection's entry, netproc and keyproc (their
// dist/*.js scripts load dist/*.bundle.js so) and, with -a, peercert
// (@peculiar/x509), which spends about half of its ~48 ms load compiling.
// V8 takes a cache only in a process with the V8 flags of the one that made
// it, so there is one per flag set (cacheFileName); the build makes one for
// each set our processes run with. A cache V8 rejects (another Node version)
// only costs the compile. Only ever called before a jail.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import Module from 'node:module';
import { join } from 'node:path';
import { Script } from 'node:vm';

/** NAME.cache for a process started with no flags, else e.g. NAME.expose-gc+max-semi-space-size=1.cache. */
export function cacheFileName(name: string, execArgv: readonly string[] = process.execArgv): string {
  return execArgv.length === 0 ? `${name}.cache` : `${name}.${execArgv.map((f) => f.replace(/^--/, '')).join('+')}.cache`;
}

/** Compile dist/NAME.js (with cachedData if given) and run it as a CommonJS module. */
function runBundle<T>(name: string, dir: string, cachedData?: Buffer): { exports: T; script: Script } {
  const file = join(dir, `${name}.js`);
  const script = new Script(Module.wrap(readFileSync(file, 'utf8')), { filename: file, cachedData });
  const module = { exports: {} as T };
  const run = script.runInThisContext() as (exports: T, req: NodeRequire, mod: typeof module, filename: string, dirname: string) => void;
  run(module.exports, require, module, file, dir);
  return { exports: module.exports, script };
}

export function requireBundle<T>(name: string, dir = __dirname): T {
  let cachedData: Buffer | undefined;
  try {
    // The flagless one for a process whose flags have none of their own (as
    // tap's --import): V8 rejects it if the flags matter, at the cost of the compile.
    const names = [cacheFileName(name), cacheFileName(name, [])];
    cachedData = readFileSync(join(dir, names.find((n) => existsSync(join(dir, n))) ?? names[0]));
  } catch {
    // no cache: compile as require() would
  }
  return runBundle<T>(name, dir, cachedData).exports;
}

/**
 * For the build (build.mjs), in a Node started with `flags`, those of the
 * process that will load the bundle (given, as `node -e` is in execArgv too):
 * run it, and its rehearsal if it exports one, then write the cache where
 * requireBundle() looks for it under those flags.
 */
export function writeCodeCache(name: string, dir: string, flags: readonly string[]): void {
  const { exports, script } = runBundle<{ rehearseForCodeCache?: () => void }>(name, dir);
  exports.rehearseForCodeCache?.();
  writeFileSync(join(dir, cacheFileName(name, flags)), script.createCachedData());
}
