// New on-disk PGlite stores start from the build's template data directory, not from initdb; a
// directory that already holds anything is never touched; in-memory stores load the template's tar
// archive (pglite-exit.slow.test.ts shows they leave nothing that keeps the process alive); PostgreSQL
// runs with small shared buffers.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import {
  copyTemplate,
  isUnstartedDir,
  pgliteTemplate,
  pgliteTemplateArchive,
  pgliteTemplateDir,
  pgliteVersion,
  PGLITE_TEMPLATE_DIR,
} from './pglite-template.js';
import { DEFAULT_PGLITE_SHARED_BUFFERS, openPgliteStore, pgliteStartParams } from './pglite.js';

function tempDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'cordon-pglite-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A copy of the build's template with a file of our own in it, to see which directory a store started from. */
function markedTemplate(t: TestContext): string {
  const real = pgliteTemplate();
  assert.ok(real, `the build made no template for PGlite ${pgliteVersion()} in ${PGLITE_TEMPLATE_DIR}`);
  const copy = join(tempDir(t), 'template');
  cpSync(real, copy, { recursive: true });
  writeFileSync(join(copy, 'cordon-test-marker'), 'from the template\n');
  return copy;
}

test('the build made a template for the installed PGlite', () => {
  const version = pgliteVersion();
  assert.match(version ?? '', /^\d+\.\d+\.\d+/);
  assert.equal(pgliteTemplate(), pgliteTemplateDir(version!));
  assert.match(readFileSync(join(pgliteTemplateDir(version!), 'PG_VERSION'), 'utf8'), /^\d+\n$/);
  assert.equal(existsSync(join(pgliteTemplateDir(version!), 'postmaster.pid')), false, 'the template was shut down cleanly');
});

test('a new store directory starts as a copy of the template, and works', async (t) => {
  const template = markedTemplate(t);
  const dir = join(tempDir(t), 'stores', 'global');
  const store = await openPgliteStore('global', dir, { template });
  try {
    assert.equal(readFileSync(join(dir, 'cordon-test-marker'), 'utf8'), 'from the template\n');
    await store.ensureTable({ name: 'users', fields: ['name'] });
    await store.upsert('users', 'u1', { name: 'Ada' });
    assert.deepEqual(await store.get('users', 'u1'), { name: 'Ada' });
  } finally {
    await store.close();
  }
  assert.deepEqual(readdirSync(join(dir, '..')), ['global'], 'no staging directory is left beside it');
  const again = await openPgliteStore('global', dir, { template });
  try {
    await again.ensureTable({ name: 'users', fields: ['name'] });
    assert.deepEqual(await again.get('users', 'u1'), { name: 'Ada' }, 'reopened, the data is there');
  } finally {
    await again.close();
  }
});

test('the build archived the template for in-memory stores', () => {
  const archive = pgliteTemplateArchive();
  assert.equal(archive, `${pgliteTemplate()}.tar.gz`);
  const names = spawnSync('tar', ['-tzPf', archive!], { encoding: 'utf8' }).stdout.split('\n');
  assert.ok(names.includes('/PG_VERSION'), "members are named from the data directory's root, with a leading slash");
  assert.equal(names.includes('/postmaster.pid'), false, 'archived shut down');
});

test('an in-memory store loads the archive (not initdb) and works', async (t) => {
  // A template with a table of its own, shut down cleanly and archived as the build does it.
  const template = markedTemplate(t);
  const db = new PGlite(template);
  await db.query('CREATE TABLE from_the_archive (key text PRIMARY KEY)');
  await db.close();
  const tar = spawnSync('tar', ['--format=ustar', '--absolute-names', '--transform', 's,^\\.,,', '-czf', `${template}.tar.gz`, '.'], { cwd: template });
  assert.equal(tar.status, 0);
  assert.equal(pgliteTemplateArchive(template), `${template}.tar.gz`);
  const store = await openPgliteStore('memory', undefined, { template });
  try {
    assert.deepEqual(await store.tables(), ['from_the_archive'], "the data directory is the archive's");
    await store.ensureTable({ name: 'users', fields: ['name'] });
    await store.upsert('users', 'u1', { name: 'Ada' });
    assert.deepEqual(await store.get('users', 'u1'), { name: 'Ada' });
  } finally {
    await store.close();
  }
});

test('an empty directory is filled from the template; one that holds anything is left alone', (t) => {
  const template = markedTemplate(t);
  const root = tempDir(t);
  const empty = join(root, 'empty');
  mkdirSync(empty);
  assert.equal(isUnstartedDir(empty), true);
  assert.equal(isUnstartedDir(join(root, 'absent')), true);
  copyTemplate(template, empty);
  assert.equal(existsSync(join(empty, 'cordon-test-marker')), true);
  assert.equal(existsSync(join(empty, 'PG_VERSION')), true);
  const used = join(root, 'used');
  mkdirSync(used);
  writeFileSync(join(used, 'something'), 'x');
  assert.equal(isUnstartedDir(used), false);
  assert.throws(() => copyTemplate(template, used), 'copying over a directory that holds files fails rather than mixing them');
  assert.deepEqual(readdirSync(used), ['something']);
  assert.deepEqual(readdirSync(root).sort(), ['empty', 'used']);
});

test('PostgreSQL runs with small shared buffers', async () => {
  assert.throws(() => pgliteStartParams('16MB; DROP'), RangeError);
  const db = new PGlite({ startParams: pgliteStartParams() });
  try {
    const r = await db.query<{ shared_buffers: string }>('SHOW shared_buffers');
    assert.equal(r.rows[0]!.shared_buffers, DEFAULT_PGLITE_SHARED_BUFFERS);
  } finally {
    await db.close();
  }
});
