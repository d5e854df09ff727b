// Disclosure over the demo policy: clear values, per-audience tokens, masks, and withheld fields
// listed with their reasons — and no protected value in what an outsider receives.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createDecider, loadPolicy } from '../policy/index.js';
import { openFileKeyService } from '../store/index.js';
import { disclose, openToken, tokenize, TOKEN_PREFIX } from './disclose.js';

const DEMO = fileURLToPath(new URL('../../../policies/demo', import.meta.url));
const loaded = loadPolicy(DEMO);
assert.ok(loaded.ok);
const decider = createDecider(loaded.policy);
const keyDir = mkdtempSync(join(tmpdir(), 'cordon-keys-'));
after(() => rmSync(keyDir, { recursive: true, force: true }));
const keys = openFileKeyService(join(keyDir, 'master.key'), { create: true });
// Synthetic values.
const USER = {
  uid: 'demo-us-1',
  username: 'lonestar',
  bio: 'hi',
  country: 'US',
  phone_number: '+15125550101',
  email: 'us1@example.com',
  birthday: '1994-03-02',
  device_id: 'dev-1',
  ip_address: '203.0.113.10',
  created_at: '2024-01-05',
  shadow: 'x',
};
const PROTECTED = ['+15125550101', 'us1@example.com', '1994-03-02', 'dev-1', '203.0.113.10'];

function read(principal: string, country: string, record: Record<string, unknown> = USER, dataset = 'users') {
  return decider.decide({ principal, action: 'read', dataset, record, context: { country, subjectJurisdiction: 'US' } });
}

test('an outsider gets public fields in clear, the uid as a token, and every protected field withheld with its reason', () => {
  const out = disclose(read('beijing-engineer', 'CN'), USER, { keys, audience: 'parent-engineering' });
  assert.deepEqual(Object.keys(out.fields).sort(), ['bio', 'country', 'created_at', 'uid', 'username']);
  assert.equal(out.fields['username'], 'lonestar');
  assert.match(String(out.fields['uid']), new RegExp(`^${TOKEN_PREFIX}[A-Za-z0-9_-]{43}$`));
  assert.deepEqual(out.transformed, { uid: { disclosure: 'tokenized', rules: ['excepted-tokenized'], category: 'user.unique_id', class: 'excepted' } });
  assert.deepEqual(
    out.withheld.map((w) => [w.field, w.reason, w.rules.join(',')]),
    [
      ['phone_number', 'forbidden', 'enclave-wall'],
      ['email', 'forbidden', 'enclave-wall'],
      ['birthday', 'forbidden', 'enclave-wall'],
      ['device_id', 'forbidden', 'enclave-wall'],
      ['ip_address', 'forbidden', 'enclave-wall'],
      ['shadow', 'unclassified', ''],
    ],
  );
  const wire = JSON.stringify(out);
  for (const v of PROTECTED) assert.ok(!wire.includes(v), 'no protected value leaves');
});

test('tokens are stable for one audience, differ across audiences, and join across datasets', () => {
  const a1 = disclose(read('beijing-engineer', 'CN'), USER, { keys, audience: 'parent-engineering' }).fields['uid'];
  const a2 = disclose(read('beijing-engineer', 'CN'), USER, { keys, audience: 'parent-engineering' }).fields['uid'];
  const b = disclose(read('us-analyst', 'US'), USER, { keys, audience: 'us-marketing' }).fields['uid'];
  assert.equal(a1, a2);
  assert.notEqual(a1, b);
  const video = { id: 'v1', owner_uid: 'demo-us-1', visibility: 'public', caption: 'c' };
  const v = disclose(read('beijing-engineer', 'CN', video, 'videos'), video, { keys, audience: 'parent-engineering' });
  assert.equal(v.fields['owner_uid'], a1, "a video's owner token equals the user's uid token for the same audience");
  assert.equal(tokenize(keys, 'parent-engineering', 'user.unique_id', 'demo-us-1'), a1);
  assert.equal(openToken(keys, 'parent-engineering', 'user.unique_id', String(a1)), 'demo-us-1', 'the gateway opens its own token again');
  assert.equal(openToken(keys, 'us-marketing', 'user.unique_id', String(a1)), undefined, 'but not for another audience');
});

test('enclave staff without a grant get masks; a value that cannot be masked is withheld', () => {
  const out = disclose(read('austin-engineer', 'US'), USER, { keys, audience: 'enclave-staff' });
  assert.equal(out.fields['phone_number'], '…01');
  assert.equal(out.fields['birthday'], '1994');
  assert.equal(out.fields['email'], '…@example.com');
  assert.equal(out.fields['ip_address'], '203.0.113.0/24');
  assert.equal(out.fields['uid'], 'demo-us-1', 'excepted uid in clear inside the enclave');
  assert.deepEqual(out.transformed['birthday'], {
    disclosure: 'masked',
    mask: 'year',
    rules: ['enclave-masked'],
    category: 'user.demographic.date_of_birth',
    class: 'protected',
  });
  const odd = { ...USER, birthday: 'sometime in spring' };
  const o = disclose(read('austin-engineer', 'US', odd), odd, { keys, audience: 'enclave-staff' });
  assert.equal(o.fields['birthday'], undefined);
  assert.deepEqual(o.withheld.find((w) => w.field === 'birthday')?.reason, 'mask_failed');
  assert.ok(!JSON.stringify(o).includes('spring'));
});

test('a field whose stored value is unreadable (its data key shredded) is withheld, whatever the rules permit', () => {
  const shredded = { ...USER, phone_number: null };
  const out = disclose(read('austin-engineer', 'US', shredded), shredded, {
    keys,
    audience: 'enclave-staff',
    unreadable: { phone_number: 'destroyed (crypto-shredded)' },
  });
  assert.ok(!('phone_number' in out.fields));
  assert.deepEqual(
    out.withheld.find((w) => w.field === 'phone_number'),
    { field: 'phone_number', reason: 'unreadable', rules: ['enclave-masked'], category: 'user.contact.phone_number', class: 'protected' },
  );
  assert.equal(out.fields['email'], '…@example.com', 'the other fields are unaffected');
});
