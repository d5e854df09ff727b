// The read ladder is one table (model.ts LADDER): the decider walks whatever ladder it is given, and
// the order of disclosures that diff and the review rank by is the same table's.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { createDecider, DISCLOSURES, LADDER, loadPolicy, READ_ACTIONS, type Decider, type GrantInfo, type Ladder } from './index.js';

const DEMO = fileURLToPath(new URL('../../../policies/demo', import.meta.url));
const NOW = Date.parse('2026-06-01T12:00:00Z');
const GRANT: GrantInfo = {
  id: 'g1',
  datasets: ['users'],
  categories: ['user.contact'],
  subjects: ['demo-us-1'],
  expiresAt: NOW + 3_600_000,
  reason: 'USER_SUPPORT',
};
const RECORD = { uid: 'demo-us-1', country: 'US', username: 'u', phone_number: 'p', email: 'e', birthday: 'd', device_id: 'i' };

function policy() {
  const r = loadPolicy(DEMO);
  assert.ok(r.ok);
  return r.policy;
}

/** austin-engineer in Austin, holding a contact grant for demo-us-1: field → disclosure. */
function read(decider: Decider): Record<string, string> {
  const d = decider.decide({
    principal: 'austin-engineer',
    action: 'read',
    dataset: 'users',
    record: RECORD,
    context: { country: 'US', site: 'austin', grants: [GRANT], now: NOW },
  });
  return Object.fromEntries(d.fields.map((f) => [f.field, f.disclosure]));
}

test('the disclosures and read actions are the ladder, in its order, withheld last', () => {
  assert.deepEqual(DISCLOSURES, ['clear', 'tokenized', 'masked', 'withheld']);
  assert.deepEqual(READ_ACTIONS, ['disclose_clear', 'disclose_tokenized', 'disclose_masked']);
  assert.deepEqual(
    LADDER.filter((s) => s.needsMask).map((s) => s.disclosure),
    ['masked'],
  );
});

test('a decider walks the ladder it is given: reversed, the weakest permitted step wins', () => {
  const p = policy();
  for (const engine of ['compiled', 'cedar'] as const) {
    assert.deepEqual(
      read(createDecider(p, { engine })),
      {
        uid: 'clear',
        country: 'clear',
        username: 'clear',
        phone_number: 'clear',
        email: 'clear',
        birthday: 'masked',
        device_id: 'withheld',
      },
      `${engine}: the default ladder`,
    );
    const reversed: Ladder = [...LADDER].reverse();
    assert.deepEqual(
      read(createDecider(p, { engine, ladder: reversed })),
      {
        uid: 'tokenized',
        country: 'clear',
        username: 'clear',
        phone_number: 'masked',
        email: 'masked',
        birthday: 'masked',
        device_id: 'withheld',
      },
      `${engine}: the reversed ladder`,
    );
  }
});

test('a ladder without a step never discloses that way', () => {
  const p = policy();
  const noClear: Ladder = LADDER.filter((s) => s.disclosure !== 'clear');
  assert.deepEqual(read(createDecider(p, { ladder: noClear })), {
    uid: 'tokenized',
    country: 'withheld',
    username: 'withheld',
    phone_number: 'masked',
    email: 'masked',
    birthday: 'masked',
    device_id: 'withheld',
  });
  const clearOnly: Ladder = LADDER.filter((s) => s.disclosure === 'clear');
  const clear = read(createDecider(p, { ladder: clearOnly }));
  assert.deepEqual(
    Object.values(clear).filter((d) => d !== 'clear' && d !== 'withheld'),
    [],
  );
  assert.equal(clear['birthday'], 'withheld');
});
