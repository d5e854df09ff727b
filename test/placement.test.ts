// Placement over the demo policy: 10,000 mixed writes (creates and updates, including videos going
// private and public and users moving between jurisdictions), then every column of every table of
// the global store is scanned for every value that was ever placed as protected in an enclave.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createPlacementRules, loadPolicy } from '../src/policy/index.js';
import { createPlacement, openStore, PlacementError, type Placement, type Store } from '../src/store/index.js';
import { mulberry32 } from './helpers/differential.js';
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

test('10,000 mixed writes leave no protected value in the global store', async () => {
  const rand = mulberry32(7);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  let n = 0;
  const unique = (prefix: string) => `${prefix}-${(n++).toString(36)}-${Math.floor(rand() * 1e9).toString(36)}`;
  /** Every value placed in an enclave other than the global store, with where it was written. */
  const placedProtected = new Map<string, string>();
  const users: string[] = [];
  const videos: string[] = [];
  const visibilityOf = new Map<string, string>();
  const counts = { users: 0, videos: 0, comments: 0, updates: 0, moved: 0, wentPrivate: 0, wentPublic: 0 };

  const write = async (dataset: string, key: string, values: Record<string, string | number | boolean | null>, mode: 'create' | 'update') => {
    const r = await placement.write(dataset, key, values, mode);
    if (rules.enclaveStoreOf(r.jurisdiction) === rules.globalStore) return r;
    for (const f of r.enclave) {
      const v = r.values[f];
      if (typeof v === 'string') placedProtected.set(v, `${dataset}/${key}.${f}`);
    }
    return r;
  };

  for (let i = 0; i < 10_000; i++) {
    const roll = rand();
    if (users.length < 50 || roll < 0.25) {
      const uid = unique('u');
      await write(
        'users',
        uid,
        {
          username: unique('name'),
          bio: unique('bio'),
          country: pick(['US', 'US', 'DE', 'FR', 'BR']),
          phone_number: unique('+1555'),
          email: `${unique('e')}@example.com`,
          birthday: unique('1990'),
          device_id: unique('dev'),
          ip_address: unique('ip'),
          created_at: unique('t'),
        },
        'create',
      );
      users.push(uid);
      counts.users++;
    } else if (roll < 0.5 || videos.length === 0) {
      const id = unique('v');
      const visibility = pick(['public', 'private', 'draft']);
      await write(
        'videos',
        id,
        { owner_uid: pick(users), visibility, caption: unique('cap'), draft_body: unique('draft'), view_count: i, created_at: unique('t') },
        'create',
      );
      visibilityOf.set(id, visibility);
      videos.push(id);
      counts.videos++;
    } else if (roll < 0.6) {
      await write('comments', unique('c'), { video_id: pick(videos), author_uid: pick(users), body: unique('body'), created_at: unique('t') }, 'create');
      counts.comments++;
    } else if (roll < 0.8) {
      // A video changes visibility (its caption's category follows the row) and maybe its caption.
      const id = pick(videos);
      const visibility = pick(['public', 'private']);
      const before = visibilityOf.get(id);
      await write('videos', id, rand() < 0.5 ? { visibility } : { visibility, caption: unique('cap') }, 'update');
      visibilityOf.set(id, visibility);
      if (before !== visibility) counts[visibility === 'private' ? 'wentPrivate' : 'wentPublic']++;
      counts.updates++;
    } else if (roll < 0.9) {
      // A user moves between jurisdictions, or changes contact data.
      const uid = pick(users);
      await write(
        'users',
        uid,
        rand() < 0.5 ? { country: pick(['US', 'DE', 'BR']) } : { phone_number: unique('+1555'), email: `${unique('e')}@example.com` },
        'update',
      );
      counts.moved++;
      counts.updates++;
    } else {
      await write('users', pick(users), { bio: unique('bio'), device_id: unique('dev') }, 'update');
      counts.updates++;
    }
  }

  // Values placed protected that are now, legitimately, open (a video made public) may be global.
  const nowOpen = new Set<string>();
  for (const dataset of ['users', 'videos', 'comments']) {
    let after: string | undefined;
    do {
      const page = await stores.get(rules.globalStore)!.list(dataset, { limit: 1000, after });
      for (const row of page.rows) for (const v of Object.values(row.values)) if (typeof v === 'string') nowOpen.add(v);
      after = page.next;
    } while (after);
  }
  let scanned = 0;
  const leaks: string[] = [];
  const global = stores.get(rules.globalStore)!;
  for (const table of await global.tables()) {
    for await (const row of global.dump(table)) {
      for (const [column, text] of Object.entries(row)) {
        scanned++;
        if (text === null) continue;
        const where = placedProtected.get(text);
        // A value still protected in its record must not be global; one that became open may be.
        if (where !== undefined) {
          const [ds, rest] = where.split('/') as [string, string];
          const [key, field] = rest.split('.') as [string, string];
          const current = await placement.read(ds, key);
          const cls = current?.jurisdiction ? rules.classOf(ds, field, current.values, current.jurisdiction) : undefined;
          const stillProtectedHere =
            current?.values[field] === text && cls === 'protected' && rules.enclaveStoreOf(current.jurisdiction!) !== rules.globalStore;
          const neverOpened = current?.values[field] !== text;
          if (stillProtectedHere || neverOpened) leaks.push(`${table}.${column} holds the value written as ${where}`);
        }
      }
    }
  }
  assert.ok(counts.wentPrivate > 100 && counts.wentPublic > 100 && counts.moved > 100, JSON.stringify(counts));
  assert.ok(placedProtected.size > 10_000, `${placedProtected.size} protected values written`);
  assert.ok(scanned > 50_000, `${scanned} global cells scanned`);
  assert.equal(nowOpen.size > 0, true);
  assert.deepEqual(leaks.slice(0, 5), [], `${leaks.length} protected values found in the global store`);
});

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
