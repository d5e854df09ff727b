// An evaluator that throws decides nothing: decide() and decideField() refuse the whole request as
// CordonError decide.evaluation_failed (HTTP 503), with the evaluator's error as the cause and no
// record value in the message; never a field withheld or released on a partial answer.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { createDecider, loadPolicy, type Decider } from './index.js';
import { CordonError } from '../shared/errors.js';

const DEMO = fileURLToPath(new URL('../../../policies/demo', import.meta.url));
const NOW = Date.parse('2026-06-01T12:00:00Z');
const RECORD = { uid: 'demo-us-1', country: 'US', username: 'u', phone_number: '+15125550101', email: 'us1@example.com', birthday: '1994-03-02' };
const CONTEXT = { country: 'US', site: 'austin', now: NOW };

function policy() {
  const r = loadPolicy(DEMO);
  assert.ok(r.ok);
  return r.policy;
}

/** Makes the decider's evaluator throw `crash` on the requests `when` picks (the seam: the evaluator the decider asks). */
function breakEvaluator(decider: Decider, crash: Error, when: (field: string) => boolean = () => true): void {
  const real = decider.evaluator.authorize.bind(decider.evaluator);
  decider.evaluator.authorize = (req) => {
    if (when(req.resource.uid.id)) throw crash;
    return real(req);
  };
  // Decisions made before the fault are kept and would be answered without asking the evaluator.
  decider.forget();
}

const isEvaluationFailed = (crash: Error) => (err: unknown) => {
  assert.ok(err instanceof CordonError, `not a CordonError: ${String(err)}`);
  assert.equal(err.code, 'decide.evaluation_failed');
  assert.equal(err.status, 503);
  assert.equal(err.cause, crash, 'the evaluator error is the cause');
  for (const v of Object.values(RECORD).filter((x) => x.length > 2)) assert.ok(!err.message.includes(v), `the message holds ${v}`);
  assert.ok(!err.message.includes('secret'), 'the cause is not in the message');
  return true;
};

for (const engine of ['compiled', 'cedar'] as const) {
  test(`${engine}: an evaluator that throws on every request fails decide and decideField`, () => {
    const decider = createDecider(policy(), { engine });
    // Works before the fault: the seam changes nothing else.
    assert.equal(decider.decide({ principal: 'austin-engineer', action: 'read', dataset: 'users', record: RECORD, context: CONTEXT }).fields.length, 6);
    const crash = new Error('evaluator crashed near "secret"');
    breakEvaluator(decider, crash);
    for (const action of ['read', 'write'] as const) {
      assert.throws(
        () => decider.decide({ principal: 'austin-engineer', action, dataset: 'users', record: RECORD, context: CONTEXT }),
        isEvaluationFailed(crash),
        action,
      );
    }
    assert.throws(
      () =>
        decider.decideField({ principal: 'austin-engineer', action: 'read', dataset: 'users', field: 'phone_number', jurisdiction: 'US', context: CONTEXT }),
      isEvaluationFailed(crash),
    );
  });

  test(`${engine}: an evaluator that throws on one field fails the whole decision, not just that field`, () => {
    const decider = createDecider(policy(), { engine });
    const crash = new TypeError('boom');
    breakEvaluator(decider, crash, (id) => id.endsWith('phone_number'));
    assert.throws(
      () => decider.decide({ principal: 'austin-engineer', action: 'read', dataset: 'users', record: RECORD, context: CONTEXT }),
      isEvaluationFailed(crash),
    );
    // A decision without that field still stands.
    const d = decider.decide({
      principal: 'austin-engineer',
      action: 'read',
      dataset: 'users',
      record: { uid: 'demo-us-1', country: 'US', username: 'u' },
      context: CONTEXT,
    });
    assert.deepEqual(
      d.fields.map((f) => f.disclosure),
      ['clear', 'clear', 'clear'],
    );
  });
}
