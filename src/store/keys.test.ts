// The file-backed key service: created 0600, refuses looser files, derives stable, unrelated keys.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KeyFileError, openFileKeyService } from './keys.js';

/** A new directory under the OS temp dir, removed when test `t` ends, passed or failed. */
function tempDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'cordon-keys-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('creates a 0600 master key file and derives stable keys per purpose and name', (t) => {
  const path = join(tempDir(t), 'keys', 'master.key');
  const a = openFileKeyService(path, { create: true });
  assert.equal(statSync(path).mode & 0o777, 0o600);
  const k1 = a.key('tokenize', 'team-a');
  assert.equal(k1.length, 32);
  assert.deepEqual(openFileKeyService(path).key('tokenize', 'team-a'), k1, 'stable across openings');
  assert.notDeepEqual(a.key('tokenize', 'team-b'), k1, 'unrelated across names');
  const other = openFileKeyService(join(tempDir(t), 'master.key'), { create: true });
  assert.notDeepEqual(other.key('tokenize', 'team-a'), k1, 'unrelated across master keys');
});

test('refuses a missing file, a file others may read, and a malformed one', (t) => {
  const dir = tempDir(t);
  assert.throws(() => openFileKeyService(join(dir, 'none.key')), KeyFileError);
  const path = join(dir, 'loose.key');
  openFileKeyService(path, { create: true });
  chmodSync(path, 0o644);
  assert.throws(() => openFileKeyService(path), /has mode 644; it must be 600/);
  const short = join(dir, 'short.key');
  writeFileSync(short, 'c2hvcnQ=\n', { mode: 0o600 });
  assert.throws(() => openFileKeyService(short), /must hold 32 bytes/);
});
