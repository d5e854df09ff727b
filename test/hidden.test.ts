// The hidden-value assertions (test/helpers/hidden.ts) fail on a difference and never show a value.

import assert from 'node:assert/strict';
import test from 'node:test';
import { assertSameHidden, hashOf, hiddenDifferences } from './helpers/hidden.js';

test('assertSameHidden passes on equal values and fails on a difference, naming the path and hashes only', () => {
  assertSameHidden({ phone: { clear: '+15125550101' }, n: [1, 2] }, { phone: { clear: '+15125550101' }, n: [1, 2] });
  const err = (() => {
    try {
      assertSameHidden({ phone: { clear: '+15125550101' }, n: [1, 2] }, { phone: { clear: '+15125550177' }, n: [1, 3] }, 'phone');
    } catch (e) {
      return e as Error;
    }
    return undefined;
  })();
  assert.ok(err, 'a difference fails');
  assert.equal(
    err.message,
    `phone: .n[1]: sha ${hashOf(2)}, expected sha ${hashOf(3)}; .phone.clear: sha ${hashOf('+15125550101')}, expected sha ${hashOf('+15125550177')}`,
  );
  assert.ok(!err.message.includes('555'), 'no value in the message');
});

test('hiddenDifferences tells a missing member from a present one, and an array from an object', () => {
  assert.deepEqual(hiddenDifferences({ a: 1 }, { a: 1, b: undefined }), []);
  assert.deepEqual(hiddenDifferences({ a: 1 }, { a: 1, b: 'x' }), [`.b: sha ${hashOf(undefined)}, expected sha ${hashOf('x')}`]);
  assert.deepEqual(hiddenDifferences([1], { 0: 1 }), [`(value): sha ${hashOf([1])}, expected sha ${hashOf({ 0: 1 })}`]);
  assert.equal(hashOf('x'), 'ba2df4903a2c', 'the SHA-256 of "x" in JSON form, 12 hex digits');
});
