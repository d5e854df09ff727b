// The demo policy loads; its parts are what PRODUCT.md §10 says they are.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { loadPolicy, classOf } from './index.js';

const DEMO = fileURLToPath(new URL('../../../policies/demo', import.meta.url));

test('the demo policy loads without errors or warnings', () => {
  const r = loadPolicy(DEMO);
  assert.deepEqual(r.issues, []);
  assert.ok(r.ok);
  const p = r.policy;
  assert.deepEqual([...p.datasets.keys()].sort(), ['comments', 'users', 'videos']);
  assert.deepEqual(
    [...p.datasets.get('users')!.fields.keys()],
    ['uid', 'username', 'bio', 'country', 'phone_number', 'email', 'birthday', 'device_id', 'ip_address', 'created_at'],
  );
  assert.deepEqual([...p.directory.principals.keys()].sort(), [
    'app-backend',
    'austin-approver-a',
    'austin-approver-b',
    'austin-engineer',
    'beijing-engineer',
    'legacy-admin',
    'lineage-collector',
    'monitor',
    'recsys-service',
    'us-analyst',
  ]);
  assert.match(p.versionHash, /^[0-9a-f]{64}$/);
});

test('a category takes the class of its most specific listed ancestor, else protected', () => {
  const r = loadPolicy(DEMO);
  assert.ok(r.ok);
  const { classes, taxonomy } = r.policy;
  assert.equal(classOf(classes, taxonomy, 'US', 'user.contact.phone_number'), 'protected');
  assert.equal(classOf(classes, taxonomy, 'US', 'user.contact.address.country'), 'public');
  assert.equal(classOf(classes, taxonomy, 'US', 'user.unique_id'), 'excepted');
  assert.equal(classOf(classes, taxonomy, 'US', 'user.financial.credit_card'), 'protected', 'unlisted means protected');
  assert.equal(classOf(classes, taxonomy, 'ROW', 'user.device.device_id'), 'excepted');
});

test('the taxonomy has fideslang and cordon categories with lineage', () => {
  const r = loadPolicy(DEMO);
  assert.ok(r.ok);
  const t = r.policy.taxonomy;
  assert.deepEqual(t.resolve('user.contact.phone_number')?.lineage, ['user.contact.phone_number', 'user.contact', 'user']);
  assert.equal(t.resolve('user.content.draft')?.source, 'cordon');
  assert.equal(t.resolve('user.contact.phone_number')?.source, 'fideslang');
  assert.equal(t.resolve('data_category'), undefined);
});
