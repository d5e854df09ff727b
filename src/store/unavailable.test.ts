import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isStoreUnavailable } from './unavailable.js';

test('a store that cannot be reached or went away is told from other failures', () => {
  const coded = (code: string) => Object.assign(new Error('x'), { code });
  for (const c of ['ECONNREFUSED', 'CONNECTION_ENDED', 'CONNECT_TIMEOUT', '57P01', '57P03', '08006', '08001'])
    assert.equal(isStoreUnavailable(coded(c)), true, c);
  assert.equal(isStoreUnavailable(new Error('wrapped', { cause: coded('ECONNRESET') })), true);
  assert.equal(isStoreUnavailable(new AggregateError([coded('EHOSTUNREACH')])), true);
  for (const c of ['23505', '42P01', '22P02', '57014', 'ERR_ASSERTION']) assert.equal(isStoreUnavailable(coded(c)), false, c);
  assert.equal(isStoreUnavailable(new TypeError('bug')), false);
  assert.equal(isStoreUnavailable(undefined), false);
});
