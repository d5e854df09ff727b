// The decider keeps each field decision beside the objects it is a pure function of (context,
// field entity, principal, action): asked again, it answers without the evaluator, and anything a
// decision depends on (place, grant, its expiry, subject scope, row) still changes the answer.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { createDecider, loadPolicy, type GrantInfo } from './index.js';

const DEMO = fileURLToPath(new URL('../../../policies/demo', import.meta.url));
const NOW = Date.parse('2026-06-01T12:00:00Z');
const RECORD = { uid: 'demo-us-1', country: 'US', username: 'u', phone_number: '+15125550101', email: 'us1@example.com', birthday: '1994-03-02' };

test('a repeated decision does not ask the evaluator again, and what it depends on still decides', () => {
  const r = loadPolicy(DEMO);
  assert.ok(r.ok);
  const decider = createDecider(r.policy);
  let asked = 0;
  const real = decider.evaluator.authorize.bind(decider.evaluator);
  decider.evaluator.authorize = (req) => {
    asked++;
    return real(req);
  };
  const grant: GrantInfo = { id: 'g1', datasets: ['users'], categories: ['user.contact'], expiresAt: NOW + 60_000, reason: 'USER_SUPPORT' };
  const phone = (country: string, grants: readonly GrantInfo[], now = NOW, subject?: string) =>
    decider.decide({
      principal: 'austin-engineer',
      action: 'read',
      dataset: 'users',
      record: RECORD,
      fields: ['phone_number'],
      subject,
      context: { country, site: 'austin', grants, now },
    }).fields[0]!;

  const first = phone('US', [grant]);
  assert.equal(first.disclosure, 'clear');
  assert.equal(first.grant, 'g1');
  const questions = asked;
  assert.ok(questions > 0);
  assert.deepEqual(phone('US', [grant]), first, 'the same decision');
  assert.equal(asked, questions, 'not asked again');

  // Each thing the decision depends on still changes it.
  assert.notEqual(phone('CN', [grant]).disclosure, 'clear', 'another place');
  assert.notEqual(phone('US', []).disclosure, 'clear', 'no grant');
  assert.notEqual(phone('US', [grant], NOW + 60_000).disclosure, 'clear', 'the grant expired, to the millisecond');
  const scoped: GrantInfo = { ...grant, subjects: ['demo-us-2'] };
  assert.notEqual(phone('US', [scoped], NOW, 'demo-us-1').disclosure, 'clear', 'a grant for another subject');
  assert.equal(phone('US', [scoped], NOW, 'demo-us-2').disclosure, 'clear', 'a grant for this subject');
  assert.equal(phone('US', [grant]).disclosure, 'clear', 'and the first case again');

  // Kept decisions are frozen: a caller cannot change what the next request is told.
  assert.throws(() => {
    (first as { disclosure: string }).disclosure = 'withheld';
  }, TypeError);
  assert.equal(phone('US', [grant]).disclosure, 'clear');

  decider.forget();
  const before = asked;
  phone('US', [grant]);
  assert.ok(asked > before, 'forget() drops what was kept');
});
