// Loading one of our optional bundles (dist/NAME.js) with the V8 code cache
// the build leaves beside it (dist/NAME.cache): peercert (@peculiar/x509)
// spends about half of its ~48 ms load compiling. A cache V8 rejects (another Node
// version) only costs the compile. Only ever called before a jail.
import { readFileSync } from 'node:fs';
import Module from 'node:module';
import { join } from 'node:path';
import { Script } from 'node:vm';

export function requireBundle<T>(name: string, dir = __dirname): T {
  const file = join(dir, `${name}.js`);
  let cachedData: Buffer | undefined;
  try {
    cachedData = readFileSync(join(dir, `${name}.cache`));
  } catch {
    // no cache: compile as require() would
  }
  const script = new Script(Module.wrap(readFileSync(file, 'utf8')), { filename: file, cachedData });
  const module = { exports: {} as T };
  const run = script.runInThisContext() as (exports: T, req: NodeRequire, mod: typeof module, filename: string, dirname: string) => void;
  run(module.exports, require, module, file, dir);
  return module.exports;
}
