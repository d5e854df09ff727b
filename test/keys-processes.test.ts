// The key service's files shared by several processes (cordon up --workers, or several gateways of a
// region on one data dir): two processes that make the same data dir's master key and first KEK at
// the same moment must end with one master key and one KEK that unwraps what both wrapped. Before
// the keyring was written under a lock, both made a generation #1 and the last rename won: the
// other process's data keys were unreadable for ever (crypto-shredding by accident).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { openFileKeyService } from '../src/store/index.js';
import { ROOT } from './helpers/paths.js';
import { tempDir } from './helpers/temp.js';

const DIRS = 60;

/** A process that, for each dir in turn, opens (creating) its key service and wraps a data key for scope `s`. */
const CHILD = `
import { openFileKeyService } from './dist/src/store/index.js';
import { randomBytes } from 'node:crypto';
const [root, n, start] = process.argv.slice(1);
while (Date.now() < Number(start)) {}
const out = [];
for (let i = 0; i < Number(n); i++) {
  const keys = openFileKeyService(root + '/d' + i + '/keys/master.key', { create: true });
  const dataKey = randomBytes(32);
  const wrapped = await keys.wrap('s', dataKey, 'subject-' + i);
  out.push({ wrapped, dataKey: dataKey.toString('base64') });
}
process.stdout.write(JSON.stringify(out));
`;

function child(root: string, start: number): Promise<{ wrapped: { kek: string; wrapped: string }; dataKey: string }[]> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ['--input-type=module', '-e', CHILD, root, String(DIRS), String(start)], { cwd: ROOT });
    let out = '';
    let err = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr.on('data', (d: Buffer) => (err += d.toString()));
    p.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out) as never) : reject(new Error(`child exited ${code}: ${err.slice(0, 800)}`))));
  });
}

test('two processes making one data dir’s keys at once agree on the master key and the KEK: every data key either wrapped unwraps', async () => {
  const root = tempDir('cordon-keys-race-');
  const start = Date.now() + 1500;
  const [a, b] = await Promise.all([child(root, start), child(root, start)]);
  let failed = 0;
  for (let i = 0; i < DIRS; i++) {
    const keys = openFileKeyService(join(root, `d${i}`, 'keys', 'master.key'));
    for (const w of [a![i]!, b![i]!]) {
      try {
        const k = await keys.unwrap(w.wrapped, `subject-${i}`);
        if (k.toString('base64') !== w.dataKey) failed++;
      } catch {
        failed++;
      }
    }
    const ring = JSON.parse(readFileSync(join(root, `d${i}`, 'keys', 'kek-ring.json'), 'utf8')) as { keks: unknown[] };
    assert.equal(ring.keks.length, 1, `d${i}: one KEK generation`);
  }
  assert.equal(failed, 0, `data keys that no longer unwrap, of ${2 * DIRS}`);
});
