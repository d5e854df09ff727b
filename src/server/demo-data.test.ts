import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { isDeepStrictEqual } from 'node:util';
import { createPlacementRules, loadPolicy } from '../policy/index.js';
import { createPlacement, openStore, type Placement, type Store } from '../store/index.js';
import { DEMO_FIXED_COMMENTS, DEMO_FIXED_USERS, DEMO_FIXED_VIDEOS, demoWorldCounts, generateDemoWorld, seedDemoWorld, type DemoRecord } from './index.js';

// Compiled to <out>/src/server/: the repo root is three levels up.
/** The first 12 hex digits of a value's SHA-256: how this file names a protected value it must not print. */
const sha = (v: unknown) =>
  createHash('sha256')
    .update(JSON.stringify(v) ?? 'undefined')
    .digest('hex')
    .slice(0, 12);
/** Deep equality whose failure names hashes, not the (protected) values. */
function assertSameStored(actual: unknown, expected: unknown, what: string): void {
  if (!isDeepStrictEqual(actual, expected)) assert.fail(`${what}: sha ${sha(actual)} read, sha ${sha(expected)} expected`);
}
/** A protected value's shape, checked without printing the value. */
function assertShape(value: string, shape: RegExp, what: string): void {
  if (!shape.test(value)) assert.fail(`${what}: sha ${sha(value)} does not match ${shape}`);
}

const DEMO_POLICY = fileURLToPath(new URL('../../../policies/demo', import.meta.url));

const world = (options: Parameters<typeof generateDemoWorld>[0]) => [...generateDemoWorld(options)];
const fixedKeys = new Set([...DEMO_FIXED_USERS.map((u) => u['uid']), ...DEMO_FIXED_VIDEOS.map((v) => v['id']), ...DEMO_FIXED_COMMENTS.map((c) => c['id'])]);

const EU = new Set(['DE', 'FR', 'IE', 'NL', 'ES', 'IT']);
const PHONE = /^\+\d{1,3}\d{1,3}55501\d{2}$/;
const EMAIL = /^[a-z0-9.]+@example\.(com|org|net)$/;
const IPV4_DOC = /^(192\.0\.2|198\.51\.100|203\.0\.113)\.(\d{1,3})$/;
const IPV6_DOC = /^2001:db8:[0-9a-f]{1,4}::[0-9a-f]{1,4}$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;

test('the same seed gives the same world, another seed another', () => {
  const a = world({ seed: 42, users: 200 });
  const b = world({ seed: 42, users: 200 });
  const c = world({ seed: 43, users: 200 });
  assertSameStored(a, b, 'the world from seed 42, twice');
  assert.equal(a.length, c.length);
  assert.notDeepEqual(a, c);
  // Only the fixed records are the same under another seed.
  const differing = a.filter((r, i) => JSON.stringify(r) !== JSON.stringify(c[i])).length;
  assert.ok(differing > a.length * 0.9, `${differing} of ${a.length} records differ`);
});

test('a world of 10,000 users: counts, keys, order, references and distributions', () => {
  const records = world({ seed: 7 });
  const counts = demoWorldCounts({});
  const by = (d: string) => records.filter((r) => r.dataset === d);
  const users = by('users');
  const videos = by('videos');
  const comments = by('comments');
  assert.deepEqual({ users: users.length, videos: videos.length, comments: comments.length }, counts);
  assert.equal(users.length, 10_003);
  assert.equal(videos.length, 20_003);
  assert.equal(comments.length, 20_001);

  // Every key unique within its dataset (and across, as prefixes differ), and every record carries its key.
  const keys = new Set(records.map((r) => `${r.dataset}/${r.key}`));
  assert.equal(keys.size, records.length);
  for (const r of records) assert.equal(r.values[r.dataset === 'users' ? 'uid' : 'id'], r.key);
  for (const r of users.filter((x) => !fixedKeys.has(x.key))) assert.match(r.key, /^u-\d{6}$/);
  for (const r of videos.filter((x) => !fixedKeys.has(x.key))) assert.match(r.key, /^v-\d{6}$/);
  for (const r of comments.filter((x) => !fixedKeys.has(x.key))) assert.match(r.key, /^c-\d{6}$/);

  // Users, then videos, then comments; every reference exists and was written earlier.
  const seen = new Set<string>();
  for (const r of records) {
    if (r.dataset === 'videos') assert.ok(seen.has(`users/${r.values['owner_uid']}`), `${r.key} owner ${r.values['owner_uid']}`);
    if (r.dataset === 'comments') {
      assert.ok(seen.has(`users/${r.values['author_uid']}`), `${r.key} author ${r.values['author_uid']}`);
      assert.ok(seen.has(`videos/${r.values['video_id']}`), `${r.key} video ${r.values['video_id']}`);
    }
    seen.add(`${r.dataset}/${r.key}`);
  }

  // Country mix: about 60% US, 25% EU, 15% elsewhere.
  const generated = users.filter((u) => !fixedKeys.has(u.key));
  const share = (pred: (c: string) => boolean) => generated.filter((u) => pred(u.values['country'] as string)).length / generated.length;
  const us = share((c) => c === 'US');
  const eu = share((c) => EU.has(c));
  const elsewhere = share((c) => c !== 'US' && !EU.has(c));
  assert.ok(us >= 0.5 && us <= 0.7, `US share ${us}`);
  assert.ok(eu >= 0.18 && eu <= 0.32, `EU share ${eu}`);
  assert.ok(elsewhere >= 0.1 && elsewhere <= 0.2, `elsewhere share ${elsewhere}`);
  for (const c of EU)
    assert.ok(
      generated.some((u) => u.values['country'] === c),
      `some users in ${c}`,
    );
  for (const c of ['BR', 'JP', 'IN', 'MX', 'CA'])
    assert.ok(
      generated.some((u) => u.values['country'] === c),
      `some users in ${c}`,
    );

  // Visibility: public 60%, private 25%, draft 15%; a draft body only on drafts.
  const vis = (v: string) => videos.filter((x) => x.values['visibility'] === v).length / videos.length;
  assert.ok(vis('public') >= 0.55 && vis('public') <= 0.65, `public ${vis('public')}`);
  assert.ok(vis('private') >= 0.2 && vis('private') <= 0.3, `private ${vis('private')}`);
  assert.ok(vis('draft') >= 0.1 && vis('draft') <= 0.2, `draft ${vis('draft')}`);
  for (const v of videos) {
    assert.equal(typeof v.values['caption'], 'string');
    assert.equal(typeof v.values['view_count'], 'number');
    assert.match(v.values['created_at'] as string, ISO_TIME);
    if (v.values['visibility'] === 'draft') assert.equal(typeof v.values['draft_body'], 'string', v.key);
    else assert.equal(v.values['draft_body'], null, v.key);
  }
  for (const c of comments) {
    assert.equal(typeof c.values['body'], 'string');
    assert.match(c.values['created_at'] as string, ISO_TIME);
  }
  // Every generated user owns two videos on average, and not all of them go to a few users.
  const owners = new Set(videos.map((v) => v.values['owner_uid']));
  assert.ok(owners.size > generated.length * 0.8, `${owners.size} owners`);
});

test('every generated value is synthetic-shaped', () => {
  const records = world({ seed: 3, users: 2000 });
  const users = records.filter((r) => r.dataset === 'users' && !fixedKeys.has(r.key));
  let v6 = 0;
  for (const { key, values: u } of users) {
    assert.deepEqual(
      Object.keys(u).sort(),
      ['bio', 'birthday', 'country', 'created_at', 'device_id', 'email', 'ip_address', 'phone_number', 'uid', 'username'],
      key,
    );
    assertShape(u['phone_number'] as string, PHONE, key);
    if (u['country'] === 'US') assertShape(u['phone_number'] as string, /^\+1\d{3}55501\d{2}$/, key);
    assertShape(u['email'] as string, EMAIL, key);
    const birthday = u['birthday'] as string;
    assertShape(birthday, /^\d{4}-\d{2}-\d{2}$/, key);
    assert.ok(new Date(`${birthday}T00:00:00Z`).toISOString().slice(0, 10) === birthday, `${key}: a real date`);
    assert.ok(birthday >= '1950-01-01' && birthday <= '2008-12-31', `${key}: a birthday from 1950 to 2008`);
    assertShape(u['device_id'] as string, UUID, key);
    const ip = u['ip_address'] as string;
    const m4 = IPV4_DOC.exec(ip);
    if (m4) assert.ok(Number(m4[2]) >= 1 && Number(m4[2]) <= 254, `${key}: a host number from 1 to 254`);
    else {
      assertShape(ip, IPV6_DOC, key);
      v6++;
    }
    assert.match(u['created_at'] as string, ISO_TIME, key);
    assert.match(u['username'] as string, /^[a-z]+_[a-z]+\d+$/, key);
    assert.equal(typeof u['bio'], 'string');
  }
  assert.ok(v6 > 0 && v6 < users.length / 2, `${v6} IPv6 addresses`);
  // The fixed users keep their historical values, also documentation-range and example.* shaped.
  for (const u of DEMO_FIXED_USERS) {
    assertShape(u['email']!, EMAIL, u['uid']!);
    assertShape(u['ip_address']!, IPV4_DOC, u['uid']!);
    assertShape(u['phone_number']!, /55501/, u['uid']!);
  }
});

test('the fixed users, videos and comment are in every world with their exact values', () => {
  assert.deepEqual(
    DEMO_FIXED_USERS.map((u) => [u['uid'], u['country']]),
    [
      ['demo-us-1', 'US'],
      ['demo-eu-1', 'DE'],
      ['demo-br-1', 'BR'],
    ],
  );
  assertSameStored(
    DEMO_FIXED_USERS[0],
    {
      uid: 'demo-us-1',
      username: 'lonestar_lens',
      bio: 'Sunsets over Austin',
      country: 'US',
      phone_number: '+15125550101',
      email: 'us1@example.com',
      birthday: '1994-03-02',
      device_id: 'a3c1f0de-0000-4000-8000-000000000001',
      ip_address: '203.0.113.10',
      created_at: '2024-01-05T10:00:00Z',
    },
    'demo-us-1',
  );
  assertSameStored(
    DEMO_FIXED_USERS[1],
    {
      uid: 'demo-eu-1',
      username: 'rheinblick',
      bio: 'Cycling the Rhine',
      country: 'DE',
      phone_number: '+4930555010',
      email: 'eu1@example.org',
      birthday: '1988-11-20',
      device_id: 'a3c1f0de-0000-4000-8000-000000000002',
      ip_address: '198.51.100.7',
      created_at: '2024-02-11T09:30:00Z',
    },
    'demo-eu-1',
  );
  assertSameStored(
    DEMO_FIXED_USERS[2],
    {
      uid: 'demo-br-1',
      username: 'praia_dias',
      bio: 'Beach days in Rio',
      country: 'BR',
      phone_number: '+5521555010',
      email: 'br1@example.net',
      birthday: '2001-07-14',
      device_id: 'a3c1f0de-0000-4000-8000-000000000003',
      ip_address: '192.0.2.44',
      created_at: '2024-03-20T18:45:00Z',
    },
    'demo-br-1',
  );
  assert.deepEqual(
    DEMO_FIXED_VIDEOS.map((v) => [v['id'], v['owner_uid'], v['visibility']]),
    [
      ['demo-v-public-1', 'demo-us-1', 'public'],
      ['demo-v-private-1', 'demo-us-1', 'private'],
      ['demo-v-draft-1', 'demo-us-1', 'draft'],
    ],
  );
  for (const seed of [1, 99]) {
    for (const users of [0, 50]) {
      const records = world({ seed, users });
      const get = (dataset: string, key: string): DemoRecord | undefined => records.find((r) => r.dataset === dataset && r.key === key);
      for (const u of DEMO_FIXED_USERS) assertSameStored(get('users', u['uid']!)?.values, u, `users/${u['uid']}`);
      for (const v of DEMO_FIXED_VIDEOS) assertSameStored(get('videos', v['id'] as string)?.values, v, `videos/${v['id']}`);
      for (const c of DEMO_FIXED_COMMENTS) assertSameStored(get('comments', c['id'] as string)?.values, c, `comments/${c['id']}`);
    }
  }
  // With no generated users the world is exactly the fixed records.
  assert.equal(world({ users: 0 }).length, DEMO_FIXED_USERS.length + DEMO_FIXED_VIDEOS.length + DEMO_FIXED_COMMENTS.length);
});

test('bad options are refused', () => {
  assert.throws(() => world({ users: -1 }), RangeError);
  assert.throws(() => world({ videosPerUser: Number.NaN }), RangeError);
});

// Seeding through real placement over in-memory PGlite stores.
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

/**
 * Every row of every dataset table of every store, for before/after comparison (without update
 * times; the append-only change and access logs grow with every write and are left out).
 */
async function snapshot(): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  for (const [name, store] of stores) {
    for (const table of (await store.tables()).filter((t) => !t.startsWith('log_') && !t.startsWith('tlog_')).sort()) {
      const rows: Record<string, string | null>[] = [];
      for await (const row of store.dump(table)) {
        const { _updated_at: _, ...rest } = row;
        rows.push(rest);
      }
      rows.sort((a, b) => String(a['key']).localeCompare(String(b['key'])));
      out[`${name}/${table}`] = rows;
    }
  }
  return out;
}

test('seeding 60 users through placement: fixed values read back, protected fields in their enclave, idempotent', async () => {
  const options = { seed: 11, users: 60 };
  const progress: [number, number][] = [];
  const counts = await seedDemoWorld(placement, { ...options, onProgress: (done, total) => progress.push([done, total]) });
  assert.deepEqual(counts, demoWorldCounts(options));
  const total = counts.users + counts.videos + counts.comments;
  assert.deepEqual(progress.at(-1), [total, total]);
  assert.ok(progress.every(([d, t], i) => t === total && (i === 0 || d >= progress[i - 1]![0])));

  for (const u of DEMO_FIXED_USERS) {
    const r = await placement.read('users', u['uid']!);
    assertSameStored(r?.values, u, `users/${u['uid']}`);
  }
  assert.equal((await placement.read('users', 'demo-us-1'))?.jurisdiction, 'US');
  assert.equal((await placement.read('users', 'demo-eu-1'))?.jurisdiction, 'EU');
  assert.equal((await placement.read('users', 'demo-br-1'))?.jurisdiction, 'ROW');
  for (const v of DEMO_FIXED_VIDEOS) assertSameStored((await placement.read('videos', v['id'] as string))?.values, v, `videos/${v['id']}`);
  for (const c of DEMO_FIXED_COMMENTS) assertSameStored((await placement.read('comments', c['id'] as string))?.values, c, `comments/${c['id']}`);

  // demo-us-1's phone number lives in the US enclave only; its username (public) in the global store.
  const enclaveUs = stores.get('enclave_us')!;
  const global = stores.get('global')!;
  assertSameStored((await enclaveUs.get('users', 'demo-us-1'))?.['phone_number'], '+15125550101', 'demo-us-1 phone_number in enclave_us');
  assert.equal((await global.get('users', 'demo-us-1'))?.['phone_number'], null);
  assert.equal((await global.get('users', 'demo-us-1'))?.['username'], 'lonestar_lens');
  assert.equal(await stores.get('enclave_eu')!.get('users', 'demo-us-1'), undefined);
  // The private video's caption and the draft's body stay in the US enclave too.
  assert.equal((await global.get('videos', 'demo-v-private-1'))?.['caption'], null);
  assert.equal((await global.get('videos', 'demo-v-draft-1'))?.['draft_body'], null);
  assert.equal((await global.get('videos', 'demo-v-public-1'))?.['caption'], 'Sunset over Lady Bird Lake');

  // Every generated record reads back as generated.
  for (const r of generateDemoWorld(options)) assertSameStored((await placement.read(r.dataset, r.key))?.values, r.values, `${r.dataset}/${r.key}`);

  // No US or EU user's phone number anywhere in the global store.
  const globalText = JSON.stringify(await snapshotOf(global));
  for (const r of generateDemoWorld(options)) {
    if (
      r.dataset === 'users' &&
      r.values['country'] !== 'BR' &&
      (r.values['country'] === 'US' || ['DE', 'FR', 'IE', 'NL', 'ES', 'IT'].includes(r.values['country'] as string))
    ) {
      assert.ok(!globalText.includes(r.values['phone_number'] as string), `${r.key}'s phone number is in the global store`);
    }
  }

  // Seeding again changes nothing and does not fail.
  const before = await snapshot();
  assert.deepEqual(await seedDemoWorld(placement, options), counts);
  assertSameStored(await snapshot(), before, 'the stores after seeding again');

  // A record changed or removed since is put back by the next seeding.
  await placement.write('users', 'demo-us-1', { username: 'renamed', phone_number: '+15125550199' }, 'update');
  await placement.write('videos', 'demo-v-private-1', { visibility: 'public' }, 'update');
  assert.ok(await placement.remove('comments', 'c-000007'));
  assert.ok(!isDeepStrictEqual(await snapshot(), before), 'the changes show in the stores');
  await seedDemoWorld(placement, options);
  assertSameStored(await snapshot(), before, 'the stores after seeding put the changes back');
});

async function snapshotOf(store: Store): Promise<Record<string, string | null>[]> {
  const rows: Record<string, string | null>[] = [];
  for (const table of await store.tables()) for await (const row of store.dump(table)) rows.push(row);
  return rows;
}
