// Bucket edges are inclusive upper bounds, as Prometheus' `le` says.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BucketCounts } from './bucket-counts.js';

test('an observation lands in the first bucket whose bound is >= it; above the last, in +Inf', () => {
  const b = new BucketCounts([1, 2, 4]);
  for (const v of [0, 1, 1.5, 2, 4, 4.01, 100]) b.observe(v);
  b.observe(3, 5);
  assert.deepEqual([...b.counts], [2, 2, 6, 2]);
  assert.equal(b.count, 12);
  assert.equal(b.sum, 0 + 1 + 1.5 + 2 + 4 + 4.01 + 100 + 15);
  assert.throws(() => new BucketCounts([1, 1]), /ascend/);
});
