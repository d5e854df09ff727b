import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BoundedCache } from './bounded-cache.js';

test('a cache never holds more than twice its capacity, however many keys pass through it', () => {
  const c = new BoundedCache<number, number>(100);
  let most = 0;
  for (let i = 0; i < 10_000; i++) {
    c.set(i, i * 2);
    most = Math.max(most, c.size);
  }
  assert.equal(most, 200);
  // The last 100 keys are young, the 100 before them old; everything earlier is gone.
  assert.equal(c.get(9_999), 19_998);
  assert.equal(c.get(9_800), 19_600);
  assert.equal(c.has(9_799), false);
  assert.equal(c.get(0), undefined);
});

test('an entry used once per capacity insertions survives a stream of new keys; the clear-all it replaces dropped it', () => {
  const c = new BoundedCache<string, number>(50);
  c.set('hot', 1);
  for (let i = 0; i < 5_000; i++) {
    c.set(`cold-${i}`, i);
    if (i % 40 === 0) assert.equal(c.get('hot'), 1, `the hot entry after ${i} cold ones`);
  }
});

test('undefined is a value it keeps, told apart from absence by has', () => {
  const c = new BoundedCache<string, string | undefined>(2);
  c.set('nowhere', undefined);
  c.set('a', 'x');
  c.set('b', 'y'); // 'nowhere' and 'a' are old now
  assert.equal(c.has('nowhere'), true);
  assert.equal(c.get('nowhere'), undefined);
  assert.equal(c.has('nowhere'), true, 'moved back to the young generation, not lost');
  assert.equal(c.has('missing'), false);
});

test('set replaces, delete removes from either generation, clear empties', () => {
  const c = new BoundedCache<string, number>(2);
  c.set('a', 1).set('b', 2).set('c', 3); // a, b old; c young
  c.set('a', 10);
  assert.equal(c.get('a'), 10);
  assert.equal(c.size, 3);
  assert.equal(c.delete('b'), true);
  assert.equal(c.delete('b'), false);
  assert.equal(c.has('b'), false);
  c.clear();
  assert.equal(c.size, 0);
});

test('a capacity that is not a positive integer is refused', () => {
  assert.throws(() => new BoundedCache(0), /positive integer, got 0/);
  assert.throws(() => new BoundedCache(1.5), /positive integer, got 1.5/);
});
