// ahead() produces the next item while the consumer works, keeps order, and closes its source when
// the consumer stops early or throws.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { ahead, quiet } from './pipeline.js';

function source(n: number, log: string[], failAt = -1) {
  return (async function* () {
    try {
      for (let i = 0; i < n; i++) {
        log.push(`start ${i}`);
        await Promise.resolve();
        if (i === failAt) throw new Error(`source failed at ${i}`);
        log.push(`made ${i}`);
        yield i;
      }
    } finally {
      log.push('closed');
    }
  })();
}

test('ahead keeps order and makes the next item while the consumer works on this one', async () => {
  const log: string[] = [];
  const got: number[] = [];
  for await (const i of ahead(source(3, log))) {
    log.push(`use ${i}`);
    // Let every pending step run: with one item ahead, the source has made the next item by now.
    await new Promise((done) => setImmediate(done));
    if (i < 2) assert.ok(log.includes(`made ${i + 1}`), log.join(', '));
    assert.ok(!log.includes(`start ${i + 2}`), 'no more than one item ahead');
    got.push(i);
  }
  assert.deepEqual(got, [0, 1, 2]);
  assert.ok(log.includes('closed'));
});

test("ahead closes its source when the consumer stops early, and passes the source's error on", async () => {
  const log: string[] = [];
  for await (const i of ahead(source(10, log))) if (i === 1) break;
  assert.equal(log.at(-1), 'closed');
  assert.ok(!log.includes('start 3'), 'nothing made after the consumer stopped but the item in flight');
  const log2: string[] = [];
  await assert.rejects(async () => {
    for await (const _ of ahead(source(5, log2, 2))) void _;
  }, /source failed at 2/);
});

test('quiet: a rejection is not unhandled, and awaiting still throws', async () => {
  const p = quiet(Promise.reject(new Error('later')));
  await sleep(1);
  await assert.rejects(p, /later/);
});
