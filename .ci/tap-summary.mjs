// Reads the raw TAP of a tap 21 run and prints a readable digest:
//   - one line per test file (ok / not ok / skip),
//   - every failing assertion with its subtest path and diagnostics,
//   - as the last line, exactly "N passed, N failed, N skipped".
// Counts come from tap's own closing summary `# { total, pass, fail, skip, todo }`
// (assertion counts; todo is reported as skipped). Exit status: 1 when anything
// failed, when tap exited non-zero, or when there was no summary; else 0.
//
// usage: node .ci/tap-summary.mjs RAW.tap TAP_EXIT_CODE [EXTRA_FAILED]
import { readFileSync } from 'node:fs';

const [file, rcArg = '0', extraArg = '0'] = process.argv.slice(2);
const tapRc = Number(rcArg);
const extraFailed = Number(extraArg) || 0;
let raw = '';
try { raw = readFileSync(file, 'utf8'); } catch (e) { console.log(`ci: cannot read ${file}: ${e.message}`); }
const lines = raw.split('\n');

const MAX_DIAG = 40;
const out = [];
const files = [];
const stack = []; // subtest names by depth
const childFailed = []; // childFailed[d]: a result at depth d failed since the last subtest opened there
let summary = null;

for (let i = 0; i < lines.length; i++) {
  const line = lines[i];
  const indent = line.length - line.trimStart().length;
  const depth = Math.floor(indent / 4);
  const text = line.trim();
  let m;
  if ((m = /^# Subtest: (.*)$/.exec(text))) {
    stack.length = depth;
    stack[depth] = m[1];
    childFailed[depth + 1] = false;
    continue;
  }
  if (depth === 0 && (m = /^# (\{ total: .*\})$/.exec(text))) {
    // "{ total: 6, pass: 2, fail: 1, todo: 1, skip: 2 }"
    summary = Object.fromEntries([...m[1].matchAll(/(\w+): (\d+)/g)].map(([, k, v]) => [k, Number(v)]));
    continue;
  }
  if ((m = /^(not ok|ok) \d+ - (.*?)(?: # (time=.*|SKIP.*|TODO.*))?$/.exec(text))) {
    const failed = m[1] === 'not ok';
    const directive = m[3] ?? '';
    if (depth === 0) {
      const tag = failed ? 'FAIL' : /^SKIP/.test(directive) ? 'SKIP' : 'ok  ';
      files.push(`${tag} ${m[2]}${/^SKIP|^TODO/.test(directive) ? ` # ${directive}` : ''}`);
    }
    if (failed) {
      // A parent whose failure is explained by failing children: its own
      // diagnostics add little, so print only its line.
      const parentOnly = childFailed[depth + 1] === true;
      childFailed[depth] = true;
      const path = [...stack.slice(0, depth), m[2]].filter(Boolean).join(' > ');
      out.push(`${'  '.repeat(depth)}not ok - ${path}`);
      // YAML diagnostics follow at indent+2: "---" ... "..."
      if ((lines[i + 1] ?? '').trim() === '---') {
        if (parentOnly) {
          let j = i + 2;
          while (j < lines.length && lines[j].trim() !== '...') j++;
          i = j;
          continue;
        }
        let j = i + 2; let shown = 0;
        while (j < lines.length && lines[j].trim() !== '...') {
          if (shown < MAX_DIAG) { out.push(`${'  '.repeat(depth)}  ${lines[j].trim() === '' ? '' : lines[j].slice(indent + 2)}`); shown++; }
          j++;
        }
        if (shown >= MAX_DIAG) out.push(`${'  '.repeat(depth)}  … (${j - i - 2 - MAX_DIAG} more lines in ${file})`);
        i = j;
      }
    }
    continue;
  }
  // Bail out and top-level errors tap prints outside the TAP stream.
  if (/^Bail out!/.test(text)) out.push(text);
}

console.log('---- test files ----');
for (const f of files) console.log(f);
if (out.length) {
  console.log('---- failures ----');
  for (const l of out) console.log(l);
}

let passed = 0; let failed = 0; let skipped = 0;
if (summary) {
  passed = summary.pass ?? 0;
  failed = summary.fail ?? 0;
  skipped = (summary.skip ?? 0) + (summary.todo ?? 0);
} else {
  // No closing summary (tap crashed or was killed): count top-level results.
  console.log('---- no tap summary found; last lines of the run ----');
  console.log(lines.filter((l) => !/^npm warn/.test(l)).slice(-30).join('\n'));
  passed = files.filter((f) => f.startsWith('ok')).length;
  failed = Math.max(1, files.filter((f) => f.startsWith('FAIL')).length);
  skipped = files.filter((f) => f.startsWith('SKIP')).length;
}
if (extraFailed) console.log(`---- ${extraFailed} more failure(s) outside tap: the typecheck (see above) ----`);
failed += extraFailed;
if (failed === 0 && tapRc !== 0) {
  console.log(`---- tap exited ${tapRc} with no failing test: counted as one failure ----`);
  failed = 1;
}
console.log(`${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(failed > 0 ? 1 : 0);
