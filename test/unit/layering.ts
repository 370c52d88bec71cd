// The house's layering, read from the real imports so that it cannot rot:
// each room imports only from rooms below it (or from itself), rooms on one
// floor do not import each other, and no file imports itself back through
// others (no cycle). README's Layout table describes the same floors.
import t from 'tap';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { repoRoot } from '../lib/sh';

/** The floors, bottom first. A room may import from its own floor only within itself. */
const FLOORS: string[][] = [
  ['lib'], // the small kit: bytes, log, exit codes, getopt, PEM, host names...
  ['tls'], // the TLS engine, sans I/O
  ['peercert', 'jail'], // client certificates; privilege dropping
  ['wire'], // everything that crosses a pipe between our processes
  ['netproc', 'keyproc', 'tcp', 'smtp', 'alias'], // the processes and companion programs
  ['src'], // the entry process
  ['server'], // tlswrapper-server: the entry for many connections, with spare process sets
];
const FLOOR = new Map(FLOORS.flatMap((rooms, i) => rooms.map((r) => [r, i] as const)));

/** Relative import specifiers of a TypeScript file: import/export ... from, import(), require(). */
export function importsOf(text: string): string[] {
  const specs: string[] = [];
  const patterns = [
    /^\s*(?:import|export)\s[^;]*?\sfrom\s+'(\.[^']*)'/gm,
    /^\s*import\s+'(\.[^']*)'/gm,
    /\b(?:import|require)\(\s*'(\.[^']*)'\s*\)/g,
  ];
  for (const re of patterns) for (const m of text.matchAll(re)) specs.push(m[1]);
  return specs;
}

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of fs.readdirSync(path.join(repoRoot, dir), { withFileTypes: true })) {
    const rel = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...sourceFiles(rel));
    else if (entry.name.endsWith('.ts')) out.push(rel);
  }
  return out;
}

function resolveImport(from: string, spec: string, files: Set<string>): string | null {
  const base = path.normalize(path.join(path.dirname(from), spec));
  for (const candidate of [base, `${base}.ts`, path.join(base, 'index.ts')]) if (files.has(candidate)) return candidate;
  return null;
}

type Graph = Map<string, string[]>;

/** Every import that runs up a floor or sideways to another room of the same floor. */
export function layeringViolations(graph: Graph): string[] {
  const room = (file: string) => file.split('/')[0];
  const bad: string[] = [];
  for (const [from, targets] of graph) {
    for (const to of targets) {
      const [a, b] = [room(from), room(to)];
      if (a === b) continue;
      const [fa, fb] = [FLOOR.get(a), FLOOR.get(b)];
      if (fa === undefined || fb === undefined) bad.push(`${from} -> ${to}: a room with no floor`);
      else if (fb > fa) bad.push(`${from} -> ${to}: ${a}/ imports from ${b}/, a floor above it`);
      else if (fb === fa) bad.push(`${from} -> ${to}: ${a}/ imports from ${b}/, a room on its own floor`);
    }
  }
  return bad;
}

/** Each import cycle once, as the files along it. */
export function importCycles(graph: Graph): string[][] {
  const cycles: string[][] = [];
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (file: string): void => {
    state.set(file, 'open');
    stack.push(file);
    for (const next of graph.get(file) ?? []) {
      if (state.get(next) === 'open') cycles.push([...stack.slice(stack.indexOf(next)), next]);
      else if (!state.has(next)) visit(next);
    }
    stack.pop();
    state.set(file, 'done');
  };
  for (const file of graph.keys()) if (!state.has(file)) visit(file);
  return cycles;
}

const rooms = FLOORS.flat();
const files = rooms.flatMap(sourceFiles);
const fileSet = new Set(files);
const graph: Graph = new Map();
const unresolved: string[] = [];
for (const file of files) {
  const targets: string[] = [];
  for (const spec of importsOf(fs.readFileSync(path.join(repoRoot, file), 'utf8'))) {
    const target = resolveImport(file, spec, fileSet);
    if (target) targets.push(target);
    else unresolved.push(`${file}: '${spec}'`);
  }
  graph.set(file, targets);
}

t.test('the checker itself: an upward import, a sideways one and a cycle are found', async (t) => {
  const bad: Graph = new Map([
    ['lib/a.ts', ['tls/b.ts']],
    ['tls/b.ts', ['lib/a.ts']],
    ['netproc/c.ts', ['keyproc/d.ts']],
    ['keyproc/d.ts', []],
  ]);
  t.same(layeringViolations(bad).length, 2, 'lib -> tls (up) and netproc -> keyproc (sideways)');
  t.same(importCycles(bad), [['lib/a.ts', 'tls/b.ts', 'lib/a.ts']]);
  t.same(importsOf("import type { A } from './a';\nexport { B } from '../b';\nconst c = require('./c');\ntype D = typeof import('./d');"),
    ['./a', '../b', './c', './d']);
});

t.test('every room is on a floor, and every floor holds real code', async (t) => {
  const topLevel = fs.readdirSync(repoRoot, { withFileTypes: true })
    .filter((e) => e.isDirectory() && fs.readdirSync(path.join(repoRoot, e.name)).some((f) => f.endsWith('.ts')))
    .map((e) => e.name)
    .filter((name) => !['test', 'bench', 'node_modules'].includes(name));
  t.same(topLevel.filter((r) => !FLOOR.has(r)), [], 'no folder of code outside the floors');
  for (const r of rooms) t.ok(files.some((f) => f.startsWith(`${r}/`)), `${r}/ has code`);
  t.ok(files.length > 50, `${files.length} files read`);
  t.same(unresolved, [], 'every relative import resolves to a file of the house');
});

t.test('imports run only downwards: lib <- tls <- peercert, jail <- wire <- processes <- entry <- server', async (t) => {
  t.same(layeringViolations(graph), []);
});

t.test('no import cycle', async (t) => {
  t.same(importCycles(graph), []);
});
