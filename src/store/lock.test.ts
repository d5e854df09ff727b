// The embedded store's lock: one owner, a dead owner's lock taken over, credentials kept out.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { lockStore, StoreLockedError, thisCommand } from './lock.js';

function storeDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'cordon-lock-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return join(dir, 'store');
}

test('a lock is held until released; a live holder is refused, a dead one taken over', (t) => {
  const dir = storeDir(t);
  const lock = lockStore('s', dir);
  assert.equal(JSON.parse(readFileSync(`${dir}.lock`, 'utf8')).pid, process.pid);
  assert.throws(
    () => lockStore('s', dir),
    (e: unknown) => e instanceof StoreLockedError && /already open in this process/.test(e.message),
  );
  lock.release();
  assert.equal(existsSync(`${dir}.lock`), false);
  const dead = Number(spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }).stdout);
  writeFileSync(`${dir}.lock`, JSON.stringify({ pid: dead, host: hostname(), command: 'x', since: 'y' }));
  const again = lockStore('s', dir);
  assert.equal(again.tookOverFrom?.pid, dead);
  again.release();
});

test('the command line kept in a lock file has no URL credentials', () => {
  const saved = process.argv;
  process.argv = [saved[0]!, '/opt/cordon/bin/cordon.js', 'migrate', 'run', '--from', 'postgres://app:s3cret@db/legacy'];
  try {
    assert.equal(thisCommand(), 'cordon migrate run --from postgres://***@db/legacy');
  } finally {
    process.argv = saved;
  }
});
