// Placement over the demo policy: 2,000 mixed writes (test/helpers/placement-writes.ts; 10,000 in
// test/placement.slow.test.ts), then reads, moves and refusals one by one.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createPlacementRules, loadPolicy } from '../src/policy/index.js';
import { createPlacement, openStore, PlacementError, type Placement, type Store } from '../src/store/index.js';
import { mixedWritesTest } from './helpers/placement-writes.js';
import { DEMO_POLICY } from './helpers/paths.js';

const loaded = loadPolicy(DEMO_POLICY);
assert.ok(loaded.ok);
const policy = loaded.policy;
const rules = createPlacementRules(policy);
const stores = new Map<string, Store>();
let placement: Placement;

before(async () => {
  for (const name of policy.deployment.stores.keys()) stores.set(name, await openStore(name, 'pglite://memory'));
  placement = createPlacement(rules, stores, [...policy.datasets.keys()]);
  await placement.init();
});
after(async () => {
  for (const s of stores.values()) await s.close();
});

mixedWritesTest(2_000);

test('a record is read back whole, joined from its two parts', async () => {
  await placement.write('users', 'join-1', { username: 'j', country: 'US', phone_number: '+15550000001', email: 'j@example.com', bio: 'b' }, 'create');
  const r = await placement.read('users', 'join-1');
  assert.equal(r?.jurisdiction, 'US');
  assert.equal(r?.values['phone_number'], '+15550000001');
  assert.equal(r?.values['username'], 'j');
  assert.equal((await stores.get('global')!.get('users', 'join-1'))?.['phone_number'], null);
  assert.equal((await stores.get('enclave_us')!.get('users', 'join-1'))?.['username'], null);
  assert.equal((await stores.get('enclave_us')!.get('users', 'join-1'))?.['phone_number'], '+15550000001');
});

test('a video going private moves its caption into the enclave, and back when public', async () => {
  await placement.write('videos', 'mv-1', { owner_uid: 'join-1', visibility: 'public', caption: 'hello' }, 'create');
  assert.equal((await stores.get('global')!.get('videos', 'mv-1'))?.['caption'], 'hello');
  await placement.write('videos', 'mv-1', { visibility: 'private' }, 'update');
  assert.equal((await stores.get('global')!.get('videos', 'mv-1'))?.['caption'], null);
  assert.equal((await stores.get('enclave_us')!.get('videos', 'mv-1'))?.['caption'], 'hello');
  await placement.write('videos', 'mv-1', { visibility: 'public' }, 'update');
  assert.equal((await stores.get('global')!.get('videos', 'mv-1'))?.['caption'], 'hello');
  assert.equal((await stores.get('enclave_us')!.get('videos', 'mv-1'))?.['caption'], null);
});

test('a user moving from the US to the EU leaves no copy in the US enclave', async () => {
  await placement.write('users', 'mover', { country: 'US', phone_number: '+15550000002' }, 'create');
  await placement.write('users', 'mover', { country: 'DE' }, 'update');
  assert.equal(await stores.get('enclave_us')!.get('users', 'mover'), undefined);
  assert.equal((await stores.get('enclave_eu')!.get('users', 'mover'))?.['phone_number'], '+15550000002');
});

test('fail closed: a record whose jurisdiction cannot be told is not written; duplicates and missing records are refused', async () => {
  await assert.rejects(
    placement.write('videos', 'orphan', { owner_uid: 'nobody', caption: 'x', visibility: 'private' }, 'create'),
    (e: unknown) => e instanceof PlacementError && e.code === 'store.unknown_jurisdiction',
  );
  for (const s of stores.values()) assert.equal(await s.get('videos', 'orphan'), undefined);
  await assert.rejects(
    placement.write('users', 'join-1', { bio: 'x' }, 'create'),
    (e: unknown) => e instanceof PlacementError && e.code === 'store.duplicate_key',
  );
  await assert.rejects(placement.write('users', 'absent', { bio: 'x' }, 'update'), (e: unknown) => e instanceof PlacementError && e.code === 'store.not_found');
  await assert.rejects(placement.write('nope', 'k', {}, 'create'), (e: unknown) => e instanceof PlacementError && e.code === 'store.unknown_dataset');
});

test("a user's videos move with the user: US -> BR -> US leaves the draft in the US enclave, not global", async () => {
  await placement.write('users', 'traveller', { country: 'US', phone_number: '+15550000003' }, 'create');
  await placement.write('videos', 'tv-1', { owner_uid: 'traveller', visibility: 'draft', draft_body: 'secret draft' }, 'create');
  assert.equal((await stores.get('enclave_us')!.get('videos', 'tv-1'))?.['draft_body'], 'secret draft');
  await placement.write('users', 'traveller', { country: 'BR' }, 'update');
  assert.equal((await stores.get('global')!.get('videos', 'tv-1'))?.['draft_body'], 'secret draft', 'ROW data lives in the global store');
  assert.equal(await stores.get('enclave_us')!.get('videos', 'tv-1'), undefined);
  await placement.write('users', 'traveller', { country: 'US' }, 'update');
  assert.equal((await stores.get('global')!.get('videos', 'tv-1'))?.['draft_body'], null);
  assert.equal((await stores.get('enclave_us')!.get('videos', 'tv-1'))?.['draft_body'], 'secret draft');
  assert.equal((await placement.read('videos', 'tv-1'))?.jurisdiction, 'US');
});
