// The error registry, docs/errors.md and the codes the source uses agree.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ERROR_CODES, isErrorCode } from './errors.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const AREAS = ['usage', 'policy', 'decide', 'internal', 'store', 'log', 'access', 'gateway', 'flows', 'scan', 'migrate', 'auth', 'server', 'cli', 'pgwire'];

test('docs/errors.md lists exactly the registry, with the same status and severity', () => {
  const doc = readFileSync(join(ROOT, 'docs/errors.md'), 'utf8');
  const rows = [...doc.matchAll(/^\| `([a-z_.]+)` \| (\d{3}) \| (error|warning) \| (.+) \|$/gm)].map((m) => [m[1], Number(m[2]), m[3], m[4]]);
  const registry = Object.entries(ERROR_CODES).map(([code, i]) => [code, i.status, i.severity, i.message]);
  assert.deepEqual(rows, registry);
});

test('codes are prefixed by a known area and snake_case', () => {
  for (const code of Object.keys(ERROR_CODES)) {
    assert.match(code, /^[a-z]+\.[a-z_]+$/);
    assert.ok(AREAS.includes(code.split('.')[0]!), code);
  }
});

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return sources(p);
    return e.name.endsWith('.ts') && !e.name.endsWith('.test.ts') ? [p] : [];
  });
}

test('every code the source names is in the registry', () => {
  const re = new RegExp(`'((?:${AREAS.join('|')})\\.[a-z_]+)'`, 'g');
  // Access-log record types share some areas' prefixes (migrate.verify, access.request); the
  // registry of those is src/log/records.ts, and docs/log-records.md (checked equal to it) lists them.
  const recordTypes = new Set([...readFileSync(join(ROOT, 'docs/log-records.md'), 'utf8').matchAll(/^## `([^`]+)`$/gm)].map((m) => m[1]!));
  const unknown: string[] = [];
  for (const file of sources(join(ROOT, 'src'))) {
    for (const m of readFileSync(file, 'utf8').matchAll(re)) {
      if (!isErrorCode(m[1]!) && !recordTypes.has(m[1]!) && !/\.(js|ts|yaml|json|csv|key|vkey)$/.test(m[1]!)) unknown.push(`${file}: ${m[1]}`);
    }
  }
  assert.deepEqual(unknown, []);
});

test('every error class is a CordonError: none but CordonError extends Error (or another built-in or library error)', () => {
  const BUILTIN = new Set(['Error', 'TypeError', 'RangeError', 'SyntaxError', 'ReferenceError', 'EvalError', 'URIError', 'AggregateError']);
  const classes: { name: string; base: string; where: string }[] = [];
  for (const file of sources(join(ROOT, 'src'))) {
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/\bclass(?:\s+(\w+))?(?:\s*<[^{]*?>)?\s+extends\s+(?:globalThis\.)?([\w.]+)/g)) {
      classes.push({ name: m[1] ?? '(anonymous)', base: m[2]!, where: `${relative(ROOT, file)}:${text.slice(0, m.index).split('\n').length}` });
    }
  }
  const defined = new Set(classes.map((c) => c.name));
  const offending = classes
    .filter((c) => c.name !== 'CordonError' && (BUILTIN.has(c.base) || (/Error$/.test(c.base) && !defined.has(c.base))))
    .map((c) => `${c.where}: class ${c.name} extends ${c.base}`);
  assert.deepEqual(offending, [], 'extend CordonError (src/shared/errors.ts) with a registered code instead');
  // The scan sees the classes it is about: CordonError itself, and its subclasses across the modules.
  assert.deepEqual(
    classes.filter((c) => c.name === 'CordonError').map((c) => c.base),
    ['Error'],
  );
  assert.ok(classes.filter((c) => c.base === 'CordonError').length >= 20);
});
