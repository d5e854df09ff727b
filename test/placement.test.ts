// Placement over the demo policy: 500 mixed writes (test/helpers/placement-writes.ts; 10,000 in
// test/placement.slow.test.ts), then reads, moves and refusals one by one.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createPlacementRules, loadPolicy } from '../src/policy/index.js';
import { createPlacement, openStore, PlacementError, type Placement, type Store } from '../src/store/index.js';
import { mixedWritesTest } from './helpers/placement-writes.js';
import { DEMO_POLICY } from './helpers/paths.js';
import { assertSameHidden } from './helpers/hidden.js';

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

mixedWritesTest(500);

test('a record is read back whole, joined from its two parts', async () => {
  await placement.write('users', 'join-1', { username: 'j', country: 'US', phone_number: '+15550000001', email: 'j@example.com', bio: 'b' }, 'create');
  const r = await placement.read('users', 'join-1');
  assert.equal(r?.jurisdiction, 'US');
  assertSameHidden(r?.values['phone_number'], '+15550000001', 'join-1 phone_number');
  assert.equal(r?.values['username'], 'j');
  assert.equal((await stores.get('global')!.get('users', 'join-1'))?.['phone_number'], null);
  assert.equal((await stores.get('enclave_us')!.get('users', 'join-1'))?.['username'], null);
  assertSameHidden((await stores.get('enclave_us')!.get('users', 'join-1'))?.['phone_number'], '+15550000001', 'join-1 phone_number in enclave_us');
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

test('a read asks the global store, then only the enclave of the jurisdiction it names; a write looks in every store', async () => {
  // The same stores behind a placement that counts each store's record reads.
  const gets = new Map<string, number>();
  const counted = new Map<string, Store>();
  for (const [name, store] of stores)
    counted.set(
      name,
      new Proxy(store, {
        get(target, prop, receiver) {
          const v = Reflect.get(target, prop, receiver) as unknown;
          if (prop !== 'get' || typeof v !== 'function') return typeof v === 'function' ? v.bind(target) : v;
          return (...args: unknown[]) => {
            gets.set(name, (gets.get(name) ?? 0) + 1);
            return (v as (...a: unknown[]) => unknown).apply(target, args);
          };
        },
      }),
    );
  const p = createPlacement(rules, counted, [...policy.datasets.keys()]);
  const readsOf = async (dataset: string, key: string) => {
    gets.clear();
    const r = await p.read(dataset, key);
    return { found: r !== undefined, gets: Object.fromEntries([...gets].sort()) };
  };
  await placement.write('users', 'reads-us', { country: 'US', phone_number: '+15550000003', username: 'r' }, 'create');
  await placement.write('users', 'reads-de', { country: 'DE', email: 'de@example.com' }, 'create');
  await placement.write('users', 'reads-br', { country: 'BR', phone_number: '+5511999990000' }, 'create');
  await placement.write('videos', 'reads-v', { owner_uid: 'reads-us', visibility: 'private', caption: 'c' }, 'create');
  assert.deepEqual(await readsOf('users', 'reads-us'), { found: true, gets: { enclave_us: 1, global: 1 } });
  assert.deepEqual(await readsOf('users', 'reads-de'), { found: true, gets: { enclave_eu: 1, global: 1 } });
  assert.deepEqual(await readsOf('users', 'reads-br'), { found: true, gets: { global: 1 } }, 'the rest of the world lives in the global store');
  // A video names no jurisdiction of its own: its parts are looked for everywhere; of its owner only
  // the global part is read (the jurisdiction is all that is needed of it).
  assert.deepEqual(await readsOf('videos', 'reads-v'), { found: true, gets: { enclave_eu: 1, enclave_us: 1, global: 2 } });
  assert.deepEqual(await readsOf('users', 'no-such-user'), { found: false, gets: { enclave_eu: 1, enclave_us: 1, global: 1 } });
  // Asked to decrypt only what a decision reads (here nothing), a read leaves the enclave part for
  // open(): one store now, the enclave once a field it may hold is opened, and only then.
  const sha = (v: unknown) => createHash('sha256').update(String(v)).digest('hex');
  gets.clear();
  const lazy = (await p.read('users', 'reads-us', { decrypt: new Set() }))!;
  assert.deepEqual(Object.fromEntries(gets), { global: 1 });
  assert.ok(lazy.values['phone_number'] === null, 'not read yet');
  assert.equal(lazy.values['username'], 'r');
  assert.ok(lazy.sealed?.has('phone_number') && !lazy.sealed.has('username'));
  assert.equal((await lazy.open!(['username'])).values['username'], 'r');
  assert.deepEqual(Object.fromEntries(gets), { global: 1 }, 'opening a field of the global part reads nothing');
  const opened = await lazy.open!(['phone_number']);
  assert.deepEqual(Object.fromEntries(gets), { enclave_us: 1, global: 1 });
  assert.equal(sha(opened.values['phone_number']), sha('+15550000003'));
  assert.ok(opened.values['email'] === null, 'fields not asked for stay closed');
  // A decision input the global part does not hold in clear (null there) makes the read whole.
  gets.clear();
  await p.read('users', 'reads-us', { decrypt: new Set(['email']) });
  assert.deepEqual(Object.fromEntries([...gets].sort()), { enclave_us: 1, global: 1 });
  // A copy in an enclave the record's jurisdiction does not name is not read, and the next write removes it.
  await stores.get('enclave_eu')!.upsert('users', 'reads-us', { phone_number: '+15550000099' });
  // Compared as hashes, so that a failure prints no phone number.
  assert.equal(sha((await p.read('users', 'reads-us'))?.values['phone_number']), sha('+15550000003'));
  await p.write('users', 'reads-us', { username: 'r2' }, 'update');
  assert.ok((await stores.get('enclave_eu')!.get('users', 'reads-us')) === undefined, 'the write removed the EU copy');
});

test('a user moving from the US to the EU leaves no copy in the US enclave', async () => {
  await placement.write('users', 'mover', { country: 'US', phone_number: '+15550000002' }, 'create');
  await placement.write('users', 'mover', { country: 'DE' }, 'update');
  assert.equal(await stores.get('enclave_us')!.get('users', 'mover'), undefined);
  assertSameHidden((await stores.get('enclave_eu')!.get('users', 'mover'))?.['phone_number'], '+15550000002', 'mover phone_number in enclave_eu');
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
