// Tests and benches remove the temporary directories they make: CI runs both on one machine every
// time, and their leftovers once filled its disk. A cheap check of the source: a file that makes a
// directory in the OS temp dir must also remove something (rmSync / rm), or use tempDir() from
// test/helpers/temp.ts, which removes its directories when the process exits.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { ROOT } from './helpers/paths.js';

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return sources(p);
    return e.name.endsWith('.ts') ? [p] : [];
  });
}

test('every test, test helper and bench that makes a temporary directory removes it', () => {
  const files = [...sources(join(ROOT, 'test')), ...sources(join(ROOT, 'bench')), ...sources(join(ROOT, 'src')).filter((f) => f.endsWith('.test.ts'))];
  const offenders = files.filter((f) => {
    const text = readFileSync(f, 'utf8');
    return /\bmkdtemp(Sync)?\(|\btmpdir\(\)/.test(text) && !/\brm(Sync)?\(/.test(text);
  });
  assert.deepEqual(
    offenders.map((f) => relative(ROOT, f)),
    [],
    'these make temporary directories and never remove them: use tempDir() from test/helpers/temp.ts',
  );
});
