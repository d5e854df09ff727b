// A process that opens an in-memory store from the build's archive and never closes it still ends
// when its work does: an archive of a running instance (PGlite's dumpDataDir) would start in crash
// recovery and leave a timer that keeps the process alive for good. In the slow suite because the
// process does wait about 10 s for PostgreSQL's idle statistics timer before it ends.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { pgliteTemplateArchive } from './pglite-template.js';

test('a process that opens an in-memory store and never closes it ends by itself', () => {
  assert.ok(pgliteTemplateArchive(), 'the build archived the template');
  const child = spawnSync(
    process.execPath,
    [
      '--input-type=module',
      '-e',
      `const { openPgliteStore } = await import(${JSON.stringify(new URL('./index.js', import.meta.url).href)});
       const s = await openPgliteStore('m', undefined);
       await s.ensureTable({ name: 'users', fields: ['name'] });
       process.stdout.write('opened\\n');`,
    ],
    { encoding: 'utf8', timeout: 120_000 },
  );
  assert.equal(child.signal, null, 'the process ended by itself');
  assert.equal(child.status, 0, child.stderr);
  assert.equal(child.stdout, 'opened\n');
});
