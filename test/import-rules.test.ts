// Keeps the module map of PRODUCT.md §4 true: one folder per bounded context under src/, each
// importing only the modules it may, and only through their index.ts (their public API); and keeps
// every source file short enough to read as one unit.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { ROOT } from './helpers/paths.js';

/** module -> modules it may import (PRODUCT.md §4). `shared` holds small utilities any module may use. */
const MAY_IMPORT: Record<string, readonly string[]> = {
  shared: [],
  policy: ['shared'],
  store: ['shared', 'policy'],
  log: ['shared', 'store'],
  access: ['shared', 'policy', 'store', 'log'],
  gateway: ['shared', 'policy', 'store', 'log', 'access'],
  flows: ['shared', 'policy', 'store'],
  scan: ['shared', 'policy', 'store'],
  migrate: ['shared', 'policy', 'store', 'log'],
  /** The PostgreSQL wire gateway: reads through the gateway's read path; the server wires its identity and place. */
  pgwire: ['shared', 'policy', 'store', 'gateway'],
  server: ['shared', 'policy', 'store', 'log', 'access', 'gateway', 'flows', 'scan', 'migrate', 'pgwire'],
  cli: ['shared', 'server', 'policy', 'store', 'log', 'access', 'gateway', 'flows', 'scan', 'migrate', 'pgwire'],
  /** src/index.ts, the package's root export: the policy core and the errors. */
  'index.ts': ['shared', 'policy'],
};
/**
 * Public entries besides index.ts. `server/runtime.js` opens a data dir's stores, keys and log without
 * the HTTP stack: `cordon migrate` and `cordon scan` use it, and loading the whole server for them
 * costs a third of a second of CPU per command.
 */
const OTHER_ENTRIES: Record<string, readonly string[]> = { server: ['runtime.js'] };
/** Imports that must be type-only (erased at run time). */
const TYPES_ONLY: Record<string, readonly string[]> = { store: ['policy'] };

const SRC = join(ROOT, 'src');

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return e.name === 'data' ? [] : sources(p);
    return e.name.endsWith('.ts') ? [p] : [];
  });
}

interface Import {
  spec: string;
  typeOnly: boolean;
  line: number;
}

export function importsOf(text: string): Import[] {
  const out: Import[] = [];
  const re = /^\s*(import|export)\s+(type\s+)?(?:[^'";]*?\sfrom\s+)?['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/gm;
  for (const m of text.matchAll(re)) {
    const line = text.slice(0, m.index).split('\n').length;
    out.push({ spec: (m[3] ?? m[4])!, typeOnly: Boolean(m[2]), line });
  }
  return out;
}

function moduleOf(file: string): string {
  return relative(SRC, file).split(sep)[0]!;
}

test('every folder under src/ is a module of the map, with an index.ts', () => {
  const dirs = readdirSync(SRC, { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .map((e) => e.name);
  assert.deepEqual(
    dirs.filter((d) => !(d in MAY_IMPORT)),
    [],
    'folders not in the module map',
  );
  for (const d of dirs.filter((x) => x !== 'shared')) {
    assert.ok(
      sources(join(SRC, d)).some((f) => f === join(SRC, d, 'index.ts') || f === join(SRC, d, 'main.ts')),
      `${d} has an index.ts`,
    );
  }
});

test('modules import only what the map allows, only through index.ts, and only declared packages', () => {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
  const violations: string[] = [];
  for (const file of sources(SRC)) {
    const from = moduleOf(file);
    const isTest = file.endsWith('.test.ts');
    for (const imp of importsOf(readFileSync(file, 'utf8'))) {
      const where = `${relative(ROOT, file)}:${imp.line}`;
      if (imp.spec.startsWith('node:')) continue;
      if (!imp.spec.startsWith('.')) {
        const name = imp.spec.startsWith('@') ? imp.spec.split('/').slice(0, 2).join('/') : imp.spec.split('/')[0]!;
        if (!(name in pkg.dependencies) && !isTest) violations.push(`${where} imports ${name}, which is not a dependency`);
        continue;
      }
      const target = resolve(dirname(file), imp.spec);
      if (!target.startsWith(SRC + sep)) {
        violations.push(`${where} imports ${imp.spec}, outside src/`);
        continue;
      }
      const to = moduleOf(target);
      if (to === from) continue;
      if (!MAY_IMPORT[from]?.includes(to)) violations.push(`${where}: ${from} may not import ${to}`);
      else if (to !== 'shared' && relative(join(SRC, to), target) !== 'index.js' && !OTHER_ENTRIES[to]?.includes(relative(join(SRC, to), target)))
        violations.push(`${where}: ${from} imports ${imp.spec}; other modules are reached only through ${to}/index.ts`);
      else if (TYPES_ONLY[from]?.includes(to) && !imp.typeOnly) violations.push(`${where}: ${from} may import only types from ${to}`);
    }
  }
  assert.deepEqual(violations, []);
});

test('the import scanner sees the forms of import that matter', () => {
  const found = importsOf(
    "import { a } from '../x/index.js';\nimport type { B } from '../y/index.js';\nexport * from './z.js';\nconst m = await import('../w/index.js');\nimport '../side.js';\n",
  );
  assert.deepEqual(
    found.map((i) => [i.spec, i.typeOnly, i.line]),
    [
      ['../x/index.js', false, 1],
      ['../y/index.js', true, 2],
      ['./z.js', false, 3],
      ['../w/index.js', false, 4],
      ['../side.js', false, 5],
    ],
  );
});

/** A unit a reader can hold in mind: a file over this many lines is split where its ideas part. */
const MAX_LINES = 600;

test(`no file under src/ is over ${MAX_LINES} lines`, () => {
  const long = sources(SRC)
    .map((f) => ({ file: relative(ROOT, f), lines: readFileSync(f, 'utf8').split('\n').length - 1 }))
    .filter((f) => f.lines > MAX_LINES);
  assert.deepEqual(long, []);
});
