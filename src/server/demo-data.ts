// The demo world's data (PRODUCT.md §10): three fixed users with stable keys (and a few fixed
// videos and a comment) for docs and tests, and a deterministic, seeded generator of a small video
// platform's users, videos and comments. Every value is synthetic and obviously fake: phone numbers
// in the 555-01XX fictional range, e-mail addresses at example.com/.org/.net (RFC 2606), IP
// addresses from the documentation ranges (RFC 5737, RFC 3849).

import type { FieldValue, Placement } from '../store/index.js';
import { mulberry32 } from '../shared/random.js';

export type DemoDataset = 'users' | 'videos' | 'comments';

export interface DemoRecord {
  readonly dataset: DemoDataset;
  readonly key: string;
  readonly values: Readonly<Record<string, FieldValue>>;
}

export interface DemoWorldOptions {
  /** PRNG seed; the same seed always yields the same world. Default 1. */
  readonly seed?: number;
  /** Generated users (the three fixed users come on top). Default 10,000. */
  readonly users?: number;
  /** Average videos per generated user. Default 2. */
  readonly videosPerUser?: number;
  /** Average comments per generated video. Default 1. */
  readonly commentsPerVideo?: number;
}

export interface SeedOptions extends DemoWorldOptions {
  /** Called every few hundred records and once at the end. */
  readonly onProgress?: (done: number, total: number) => void;
  /** Writes in flight at once (within a phase: users, then videos, then comments). Default 8. */
  readonly concurrency?: number;
  /** Stops scheduling writes once aborted; the writes in flight finish, then seeding resolves. */
  readonly signal?: AbortSignal;
}

export const DEFAULT_DEMO_SEED = 1;
/** Records written between two yields to the event loop while seeding. */
const YIELD_EVERY = 16;
export const DEFAULT_DEMO_USERS = 10_000;

/** The demo's three fixed users (PRODUCT.md §10); synthetic values, stable for docs and tests. */
export const DEMO_FIXED_USERS: readonly Readonly<Record<string, string>>[] = [
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
];

/** Videos of demo-us-1 with stable keys: one public, one private, one draft. */
export const DEMO_FIXED_VIDEOS: readonly Readonly<Record<string, FieldValue>>[] = [
  {
    id: 'demo-v-public-1',
    owner_uid: 'demo-us-1',
    visibility: 'public',
    caption: 'Sunset over Lady Bird Lake',
    draft_body: null,
    view_count: 1204,
    created_at: '2024-01-06T19:12:00Z',
  },
  {
    id: 'demo-v-private-1',
    owner_uid: 'demo-us-1',
    visibility: 'private',
    caption: 'Family reunion, do not share',
    draft_body: null,
    view_count: 3,
    created_at: '2024-01-20T15:40:00Z',
  },
  {
    id: 'demo-v-draft-1',
    owner_uid: 'demo-us-1',
    visibility: 'draft',
    caption: 'Untitled draft',
    draft_body: 'Rough cut: intro, lake, bats at dusk, outro',
    view_count: 0,
    created_at: '2024-02-02T08:05:00Z',
  },
];

/** A comment with a stable key: demo-eu-1 on demo-us-1's public video. */
export const DEMO_FIXED_COMMENTS: readonly Readonly<Record<string, FieldValue>>[] = [
  { id: 'demo-c-1', video_id: 'demo-v-public-1', author_uid: 'demo-eu-1', body: 'Beautiful colours!', created_at: '2024-01-07T08:30:00Z' },
];

export { mulberry32 };

// Country mix: about 60% US, 25% EU, 15% elsewhere. Dialling codes and area codes for the fake
// numbers (+<cc><area>55501XX).
const US = { country: 'US', cc: '1', areas: ['512', '212', '415', '206', '303', '617', '312', '305', '737', '213'] };
const EU = [
  { country: 'DE', cc: '49', areas: ['30', '40', '89', '69'] },
  { country: 'FR', cc: '33', areas: ['1', '4', '5'] },
  { country: 'IE', cc: '353', areas: ['1', '21', '91'] },
  { country: 'NL', cc: '31', areas: ['20', '10', '70'] },
  { country: 'ES', cc: '34', areas: ['91', '93', '96'] },
  { country: 'IT', cc: '39', areas: ['02', '06', '011'] },
];
const ELSEWHERE = [
  { country: 'BR', cc: '55', areas: ['11', '21', '31'] },
  { country: 'JP', cc: '81', areas: ['3', '6', '52'] },
  { country: 'IN', cc: '91', areas: ['22', '11', '80'] },
  { country: 'MX', cc: '52', areas: ['55', '33', '81'] },
  { country: 'CA', cc: '1', areas: ['416', '604', '514'] },
  { country: 'AU', cc: '61', areas: ['2', '3', '7'] },
  { country: 'KR', cc: '82', areas: ['2', '51'] },
  { country: 'NG', cc: '234', areas: ['1', '9'] },
];

const ADJECTIVES = [
  'sunny',
  'quiet',
  'brave',
  'lazy',
  'bright',
  'misty',
  'rapid',
  'cosy',
  'wild',
  'golden',
  'urban',
  'salty',
  'dusty',
  'lucky',
  'mellow',
  'neon',
];
const NOUNS = [
  'otter',
  'lens',
  'falcon',
  'river',
  'pixel',
  'maple',
  'comet',
  'harbor',
  'fox',
  'canyon',
  'meadow',
  'tiger',
  'lantern',
  'badger',
  'reef',
  'summit',
];
const HOBBIES = [
  'skateboarding',
  'baking',
  'street food',
  'drone shots',
  'cats',
  'hiking',
  'vinyl records',
  'sunsets',
  'board games',
  'gardening',
  'street art',
  'surfing',
];
const PLACES = ['the city', 'the coast', 'the mountains', 'my kitchen', 'the park', 'the old town', 'the lake', 'the desert'];
const VERBS = ['filming', 'sharing', 'chasing', 'exploring', 'trying', 'remixing'];
const SUBJECTS = [
  'morning run',
  'taco tour',
  'rainy commute',
  'dog at the beach',
  'first pancake',
  'night market',
  'bike repair',
  'tiny house tour',
  'snow day',
  'road trip',
];
const REACTIONS = [
  'love this',
  'so good',
  'haha same',
  'where is this?',
  'need more of these',
  'great shot',
  'wow',
  'this made my day',
  'underrated',
  'first!',
];
const DOMAINS = ['example.com', 'example.org', 'example.net'];
const IPV4_NETS = ['192.0.2', '198.51.100', '203.0.113'];

const DAY = 86_400_000;
const BIRTH_FROM = Date.UTC(1950, 0, 1);
const BIRTH_TO = Date.UTC(2008, 11, 31);
const CREATED_FROM = Date.UTC(2020, 0, 1);
const CREATED_TO = Date.UTC(2025, 0, 1);

const pad = (n: number) => String(n).padStart(6, '0');
export const demoUserKey = (i: number) => `u-${pad(i)}`;
export const demoVideoKey = (i: number) => `v-${pad(i)}`;
export const demoCommentKey = (i: number) => `c-${pad(i)}`;

/** How many records of each dataset a world with these options holds (fixed records included). */
export function demoWorldCounts(options: DemoWorldOptions = {}): { users: number; videos: number; comments: number } {
  const { users, videos, comments } = sizes(options);
  return { users: users + DEMO_FIXED_USERS.length, videos: videos + DEMO_FIXED_VIDEOS.length, comments: comments + DEMO_FIXED_COMMENTS.length };
}

function sizes(options: DemoWorldOptions) {
  const count = (v: number | undefined, dflt: number, what: string) => {
    const n = v ?? dflt;
    if (!Number.isFinite(n) || n < 0) throw new RangeError(`${what} must be a non-negative number, got ${v}`);
    return n;
  };
  const users = Math.floor(count(options.users, DEFAULT_DEMO_USERS, 'users'));
  const videos = Math.round(users * count(options.videosPerUser, 2, 'videosPerUser'));
  const comments = Math.round(videos * count(options.commentsPerVideo, 1, 'commentsPerVideo'));
  return { users, videos, comments };
}

/**
 * The demo world, deterministically from the seed: the fixed users, then the generated users, then
 * the fixed and generated videos, then the comments, so that every record's subject is written
 * before it. Generated keys are `u-000001`…, `v-000001`…, `c-000001`….
 */
export function* generateDemoWorld(options: DemoWorldOptions = {}): Generator<DemoRecord> {
  const { users, videos, comments } = sizes(options);
  const rand = mulberry32(options.seed ?? DEFAULT_DEMO_SEED);
  const int = (n: number) => Math.floor(rand() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)]!;
  const digits = (n: number) => String(int(10 ** n)).padStart(n, '0');
  const hex = (n: number) => {
    let s = '';
    for (let i = 0; i < n; i++) s += int(16).toString(16);
    return s;
  };
  const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
  const timeBetween = (from: number, to: number) => from + Math.floor(rand() * ((to - from) / 1000)) * 1000;

  for (const u of DEMO_FIXED_USERS) yield { dataset: 'users', key: u['uid']!, values: { ...u } };
  for (let i = 1; i <= users; i++) {
    const roll = rand();
    const place = roll < 0.6 ? US : roll < 0.85 ? pick(EU) : pick(ELSEWHERE);
    const username = `${pick(ADJECTIVES)}_${pick(NOUNS)}${int(1000)}`;
    const ip = rand() < 0.75 ? `${pick(IPV4_NETS)}.${1 + int(254)}` : `2001:db8:${hex(4).replace(/^0+(?=.)/, '')}::${hex(4).replace(/^0+(?=.)/, '')}`;
    yield {
      dataset: 'users',
      key: demoUserKey(i),
      values: {
        uid: demoUserKey(i),
        username,
        bio: `${pick(['Mostly', 'All about', 'Into', 'Posting'])} ${pick(HOBBIES)} from ${pick(PLACES)}`,
        country: place.country,
        phone_number: `+${place.cc}${pick(place.areas)}55501${digits(2)}`,
        email: `${username.replace(/_/g, '.')}.${i}@${pick(DOMAINS)}`,
        birthday: new Date(BIRTH_FROM + int((BIRTH_TO - BIRTH_FROM) / DAY + 1) * DAY).toISOString().slice(0, 10),
        device_id: `${hex(8)}-${hex(4)}-4${hex(3)}-${pick(['8', '9', 'a', 'b'])}${hex(3)}-${hex(12)}`,
        ip_address: ip,
        created_at: iso(timeBetween(CREATED_FROM, CREATED_TO)),
      },
    };
  }

  for (const v of DEMO_FIXED_VIDEOS) yield { dataset: 'videos', key: v['id'] as string, values: { ...v } };
  for (let i = 1; i <= videos; i++) {
    const roll = rand();
    const visibility = roll < 0.6 ? 'public' : roll < 0.85 ? 'private' : 'draft';
    const caption = `${pick(VERBS)} ${pick(SUBJECTS)} in ${pick(PLACES)}`;
    yield {
      dataset: 'videos',
      key: demoVideoKey(i),
      values: {
        id: demoVideoKey(i),
        owner_uid: users > 0 ? demoUserKey(1 + int(users)) : 'demo-us-1',
        visibility,
        caption,
        draft_body: visibility === 'draft' ? `notes: ${pick(SUBJECTS)}, then ${pick(SUBJECTS)}; cut the ${pick(NOUNS)} bit` : null,
        // Heavy-tailed views for public videos, a handful for private ones, none for drafts.
        view_count: visibility === 'public' ? Math.floor(10 ** (rand() * 6)) : visibility === 'private' ? int(20) : 0,
        created_at: iso(timeBetween(CREATED_FROM, CREATED_TO)),
      },
    };
  }

  for (const c of DEMO_FIXED_COMMENTS) yield { dataset: 'comments', key: c['id'] as string, values: { ...c } };
  for (let i = 1; i <= comments; i++) {
    yield {
      dataset: 'comments',
      key: demoCommentKey(i),
      values: {
        id: demoCommentKey(i),
        video_id: videos > 0 ? demoVideoKey(1 + int(videos)) : 'demo-v-public-1',
        author_uid: users > 0 ? demoUserKey(1 + int(users)) : 'demo-eu-1',
        body: `${pick(REACTIONS)}${rand() < 0.3 ? ` ${pick(['!', ' :)', ' <3', '!!'])}` : ''}`,
        created_at: iso(timeBetween(CREATED_FROM, CREATED_TO)),
      },
    };
  }
}

/**
 * Writes the demo world through placement (`upsert`, so running it again changes nothing). Records
 * are written in phases (users, videos, comments) so every subject exists before what refers to
 * it; within a phase up to `concurrency` writes are in flight, each for a different key.
 *
 * When the world's last record is already there as generated (a restart over a persistent data
 * directory), each record is read first and written only if it differs: a read costs about half
 * the queries of a write, and a world changed since (or half-seeded) is still made whole.
 */
export async function seedDemoWorld(placement: Placement, options: SeedOptions = {}): Promise<{ users: number; videos: number; comments: number }> {
  const counts = demoWorldCounts(options);
  const total = counts.users + counts.videos + counts.comments;
  const concurrency = Math.max(1, Math.floor(options.concurrency ?? 8));
  const progressEvery = 500;
  let done = 0;
  let phase: DemoDataset | undefined;
  const inFlight = new Set<Promise<void>>();
  let failure: unknown;

  const drain = async () => {
    await Promise.all(inFlight);
    if (failure !== undefined) throw failure;
  };
  let last: DemoRecord | undefined;
  for (const r of generateDemoWorld(options)) last = r;
  const verify = last !== undefined && sameValues((await placement.read(last.dataset, last.key))?.values, last.values);
  const put = async (r: DemoRecord) => {
    if (verify && sameValues((await placement.read(r.dataset, r.key))?.values, r.values)) return;
    await placement.write(r.dataset, r.key, r.values, 'upsert');
  };
  let scheduled = 0;
  for (const r of generateDemoWorld(options)) {
    if (options.signal?.aborted) break;
    // PGlite resolves queries without returning to the event loop; yield now and then, so that a
    // server seeding in the background still answers requests.
    if (++scheduled % YIELD_EVERY === 0) await new Promise((done) => setImmediate(done));
    if (r.dataset !== phase) {
      await drain();
      phase = r.dataset;
    }
    while (inFlight.size >= concurrency) await Promise.race(inFlight);
    if (failure !== undefined) await drain(); // lets the writes in flight finish, then throws
    const p: Promise<void> = put(r).then(
      () => {
        inFlight.delete(p);
        done++;
        if (done % progressEvery === 0) options.onProgress?.(done, total);
      },
      (e: unknown) => {
        inFlight.delete(p);
        failure ??= e;
      },
    );
    inFlight.add(p);
  }
  await drain();
  options.onProgress?.(done, total);
  return counts;
}

/** True when `stored` holds every field of `wanted` with the same value. */
function sameValues(stored: Readonly<Record<string, FieldValue>> | undefined, wanted: Readonly<Record<string, FieldValue>>): boolean {
  return stored !== undefined && Object.entries(wanted).every(([f, v]) => stored[f] === v);
}
