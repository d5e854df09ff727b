// Record keys in and out (W6) over the demo policy: who gets a key in clear and who its token, which
// spellings of a key a caller may send, and which cursors it may page from.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createDecider, loadPolicy } from '../policy/index.js';
import { openFileKeyService } from '../store/index.js';
import { createRecordKeys } from './record-keys.js';
import type { Caller } from './caller.js';
import { tokenize } from './tokens.js';

const DEMO = fileURLToPath(new URL('../../../policies/demo', import.meta.url));
const loaded = loadPolicy(DEMO);
assert.ok(loaded.ok);
const policy = loaded.policy;
const decider = createDecider(policy);
const dir = mkdtempSync(join(tmpdir(), 'cordon-record-keys-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const keys = openFileKeyService(join(dir, 'master.key'), { create: true });
const recordKeys = createRecordKeys({ policy, decider, keys, now: () => Date.now() });
const UID = 'user.unique_id';

function caller(id: string, country: string): Caller {
  const principal = policy.directory.principals.get(id)!;
  return { principal, country, site: principal.site, audience: principal.team, knownPlace: true };
}
const beijing = caller('beijing-engineer', 'CN');
const austin = caller('austin-engineer', 'US');
const US_USER = { values: { uid: 'demo-us-1', country: 'US', username: 'u' }, jurisdiction: 'US' };
const EU_USER = { values: { uid: 'demo-eu-1', country: 'DE', username: 'e' }, jurisdiction: 'EU' };
const readDecision = (c: Caller, r: typeof US_USER) =>
  decider.decide({ principal: c.principal, action: 'read', dataset: 'users', record: r.values, context: { country: c.country, site: c.site } });

test('out: clear where the decision shows the key field in clear, else the caller token that fields.uid has', () => {
  const mine = tokenize(keys, 'parent-engineering', UID, 'demo-us-1');
  assert.equal(recordKeys.out(beijing, 'users', 'demo-us-1', readDecision(beijing, US_USER)), mine);
  assert.equal(recordKeys.out(beijing, 'users', 'demo-us-1'), mine, 'without a decision too');
  assert.equal(recordKeys.out(austin, 'users', 'demo-us-1', readDecision(austin, US_USER)), 'demo-us-1');
  assert.equal(recordKeys.out(austin, 'users', 'demo-eu-1', readDecision(austin, EU_USER)), tokenize(keys, 'enclave-staff', UID, 'demo-eu-1'));
  assert.equal(
    recordKeys.out(austin, 'users', 'demo-us-1'),
    tokenize(keys, 'enclave-staff', UID, 'demo-us-1'),
    'no decision: clear only if clear in every jurisdiction',
  );
  assert.equal(recordKeys.out(austin, 'users', 'demo-us-1', true), 'demo-us-1');
  assert.equal(recordKeys.out(beijing, 'videos', 'demo-v-public-1'), 'demo-v-public-1', "a video's id is public: clear for anyone");
});

test('in: the caller own token opens; a clear key only from a caller who sees keys in clear somewhere, to be checked', () => {
  const mine = tokenize(keys, 'parent-engineering', UID, 'demo-us-1');
  assert.deepEqual(recordKeys.in(beijing, 'users', mine), { key: 'demo-us-1', clear: false });
  assert.equal(recordKeys.in(beijing, 'users', 'demo-us-1'), undefined, 'beijing-engineer sees no uid in clear anywhere');
  assert.equal(recordKeys.in(beijing, 'users', tokenize(keys, 'us-marketing', UID, 'demo-us-1')), undefined, "another audience's token");
  assert.equal(
    recordKeys.in(beijing, 'users', tokenize(keys, 'parent-engineering', 'user.device.device_id', 'demo-us-1')),
    undefined,
    "another category's token",
  );
  assert.deepEqual(recordKeys.in(austin, 'users', 'demo-eu-1'), { key: 'demo-eu-1', clear: true });
  assert.equal(recordKeys.shownIn(austin, 'users', US_USER), true);
  assert.equal(recordKeys.shownIn(austin, 'users', EU_USER), false, 'so demo-eu-1 in clear finds nothing for austin-engineer');
  assert.equal(recordKeys.shownIn(austin, 'users', { values: US_USER.values, jurisdiction: undefined }), false, 'an unknown jurisdiction shows nothing');
  assert.equal(recordKeys.shown('users', readDecision(austin, EU_USER)), false);
  assert.equal(recordKeys.shown('users', readDecision(austin, US_USER)), true);
  // A video's owner token (same category, same audience) names the user.
  const owner = tokenize(keys, 'parent-engineering', UID, 'demo-us-1');
  assert.deepEqual(recordKeys.in(beijing, 'users', owner), { key: 'demo-us-1', clear: false });
});

test('cursor: the caller own token, or a clear key only from a caller who sees keys in clear in every jurisdiction', () => {
  assert.equal(recordKeys.cursor(beijing, 'users', tokenize(keys, 'parent-engineering', UID, 'u-000010')), 'u-000010');
  assert.equal(recordKeys.cursor(beijing, 'users', 'u-000010'), undefined);
  // austin-engineer sees US uids in clear but not EU ones: a clear cursor would locate EU tokens.
  assert.equal(recordKeys.cursor(austin, 'users', 'u-000010'), undefined);
  assert.equal(recordKeys.cursor(austin, 'users', tokenize(keys, 'enclave-staff', UID, 'u-000010')), 'u-000010');
  assert.equal(recordKeys.cursor(beijing, 'videos', 'v-000010'), 'v-000010', 'video ids are public');
});
