// Placement over the demo policy under many mixed writes (creates and updates, including videos
// going private and public and users moving between jurisdictions): afterwards every column of every
// table of the global store is scanned for every value that was ever placed as protected in an
// enclave. test/placement.test.ts runs 2,000 writes, test/placement.slow.test.ts 10,000.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createPlacementRules, loadPolicy } from '../../src/policy/index.js';
import { createPlacement, openStore, type Placement, type Store } from '../../src/store/index.js';
import { mulberry32 } from './differential.js';
import { DEMO_POLICY } from './paths.js';

const loaded = loadPolicy(DEMO_POLICY);
assert.ok(loaded.ok);
const policy = loaded.policy;
const rules = createPlacementRules(policy);

/** Registers the test: `writes` mixed writes over fresh in-memory stores, then the scan of the global store. */
export function mixedWritesTest(writes: number): void {
  test(`${writes.toLocaleString('en-US')} mixed writes leave no protected value in the global store`, async () => {
    const stores = new Map<string, Store>();
    for (const name of policy.deployment.stores.keys()) stores.set(name, await openStore(name, 'pglite://memory'));
    try {
      const placement = createPlacement(rules, stores, [...policy.datasets.keys()]);
      await placement.init();
      await run(placement, stores, writes);
    } finally {
      for (const s of stores.values()) await s.close();
    }
  });
}

async function run(placement: Placement, stores: ReadonlyMap<string, Store>, writes: number): Promise<void> {
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

  for (let i = 0; i < writes; i++) {
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
  assert.ok(counts.wentPrivate > writes / 100 && counts.wentPublic > writes / 100 && counts.moved > writes / 100, JSON.stringify(counts));
  assert.ok(placedProtected.size > writes, `${placedProtected.size} protected values written`);
  assert.ok(scanned > writes * 5, `${scanned} global cells scanned`);
  assert.equal(nowOpen.size > 0, true);
  assert.deepEqual(leaks.slice(0, 5), [], `${leaks.length} protected values found in the global store`);
}
