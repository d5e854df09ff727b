// The write attacks on the wall (PRODUCT.md §7a), each as its own end-to-end test against one running `cordon up --demo`:
// the status and problem code the contract (docs/security-model.md) expects, and what the store
// holds afterwards, read back by a persona who may see it. Protected values are never printed, not
// even when an assertion fails: they are compared as SHA-256 hashes, and messages are redacted.
// Tests are lettered as docs/security-model.md cites them; those that change nothing run first, and
// k, which declassifies a video on purpose, runs last.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { DEMO_FIXED_USERS, DEMO_FIXED_VIDEOS } from '../src/server/index.js';
import { cordon, cordonAsync } from './helpers/cli.js';
import { FIXTURES } from './helpers/paths.js';
import { tempDir } from './helpers/temp.js';
import { startUp, type RunningUp } from './helpers/up.js';

// ---------------------------------------------------------------------------------------------
// The demo world: places, personas, and the protected values a failure message must never show.

const SITE = { austin: '10.20.0.5', 'san-jose': '10.21.0.5', dublin: '10.40.0.5', beijing: '10.80.0.5', 'us-east-dc': '10.90.0.5' } as const;
/** An address the network map of the demo does not know. */
const NOWHERE = '192.0.2.99';
const HOME: Record<string, string> = {
  'austin-engineer': SITE.austin,
  'austin-approver-a': SITE.austin,
  'austin-approver-b': SITE.austin,
  monitor: SITE.austin,
  'beijing-engineer': SITE.beijing,
  'us-analyst': SITE['san-jose'],
  'legacy-admin': SITE['san-jose'],
  'recsys-service': SITE['us-east-dc'],
  'app-backend': SITE['us-east-dc'],
  'lineage-collector': SITE['us-east-dc'],
};

const PROTECTED_USER_FIELDS = ['phone_number', 'email', 'birthday', 'device_id', 'ip_address'] as const;
const US1 = DEMO_FIXED_USERS.find((u) => u['uid'] === 'demo-us-1')!;
const PRIVATE_VIDEO = DEMO_FIXED_VIDEOS.find((v) => v['id'] === 'demo-v-private-1')!;
const DRAFT_VIDEO = DEMO_FIXED_VIDEOS.find((v) => v['id'] === 'demo-v-draft-1')!;
/** The caption of the video test e creates for another user (private: protected in the US). */
const OTHER_CAPTION = 'wall attacks: a private caption of another user';

/** Every protected value this file knows: redacted from every message it prints. */
const SECRETS: string[] = [
  ...DEMO_FIXED_USERS.flatMap((u) => PROTECTED_USER_FIELDS.map((f) => u[f]!)),
  String(PRIVATE_VIDEO['caption']),
  String(DRAFT_VIDEO['caption']),
  String(DRAFT_VIDEO['draft_body']),
  OTHER_CAPTION,
];

/** SHA-256 of a value's JSON, shortened: what assertions compare and print instead of the value. */
const sha = (v: unknown): string =>
  createHash('sha256')
    .update(JSON.stringify(v ?? null))
    .digest('hex')
    .slice(0, 16);

function redact(text: string): string {
  let out = text;
  for (const s of SECRETS) out = out.split(s).join(`<sha:${sha(s)}>`);
  return out.length > 600 ? `${out.slice(0, 600)}…` : out;
}

// ---------------------------------------------------------------------------------------------
// One server for the file.

let up: RunningUp;
let dataDir: string;
let tokens: Record<string, string>;

before(async () => {
  dataDir = tempDir('cordon-wall-attacks-');
  // A generous start-up time: two shared cores, and other suites may be running beside this one.
  up = await startUp(dataDir, ['--demo', '--demo-users', '0'], 300_000);
  tokens = up.tokens();
  // The fixed records are written before the server listens, and written again (idempotently) in
  // the background: wait until that is over, so that no attack below races the seeding.
  const marker = join(dataDir, 'demo', 'seeded.json');
  for (let i = 0; i < 600 && !existsSync(marker); i++) await sleep(50);
  assert.ok(existsSync(marker), 'the demo world was seeded');
});

after(async () => {
  up?.child.kill('SIGINT');
  await up?.exited;
});

interface Reply {
  readonly status: number;
  readonly type: string;
  /** The raw body. */
  readonly text: string;
  /** The parsed JSON (null when there is none): bodies of many routes, read member by member below. */
  // biome-ignore lint/suspicious/noExplicitAny: the tests read many routes' bodies member by member; a type per route would outweigh the checks
  readonly body: any;
  readonly headers: Headers;
}

interface CallOptions {
  /** X-Forwarded-For: the place the request comes from (default: the persona's own site). */
  readonly from?: string;
  readonly body?: unknown;
  readonly headers?: Record<string, string>;
}

function tokenOf(persona: string): string {
  const t = tokens[persona];
  assert.ok(t, `the demo has no persona ${persona} (tokens.json holds ${Object.keys(tokens).join(', ')}); the demo's directory must add it`);
  return t;
}

/** One HTTP request as `persona`, from its site unless told otherwise. */
async function call(persona: string, method: string, path: string, options: CallOptions = {}): Promise<Reply> {
  const headers: Record<string, string> = {
    authorization: `Bearer ${tokenOf(persona)}`,
    'x-forwarded-for': options.from ?? HOME[persona]!,
    ...options.headers,
  };
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`${up.base}${path}`, { method, headers, body: options.body === undefined ? undefined : JSON.stringify(options.body) });
  const text = await res.text();
  let body: unknown;
  try {
    body = text === '' ? null : JSON.parse(text);
  } catch {
    body = null;
  }
  return { status: res.status, type: res.headers.get('content-type') ?? '', text, body, headers: res.headers };
}

/** What a failure message says about a reply: status, code and detail, redacted. */
function show(r: Reply): string {
  const b = r.body as { code?: string; detail?: string; fields?: unknown } | null;
  return redact(`HTTP ${r.status} ${b?.code ?? ''} ${b?.detail ?? ''} ${b?.fields ? JSON.stringify(b.fields) : ''}`);
}

/** A problem with exactly this status and code, as application/problem+json. */
function assertProblem(r: Reply, status: number, code: string, what: string): void {
  assert.equal(r.status, status, `${what}: expected ${status} ${code}, got ${show(r)}`);
  assert.equal(r.body?.code, code, `${what}: expected code ${code}, got ${show(r)}`);
  assert.match(r.type, /^application\/problem\+json/, `${what}: a problem document`);
}

interface RefusedField {
  readonly field: string;
  readonly action?: string;
}

/** 403 gateway.write_refused that names `field` (or a field ending in `.field`) with `action`. */
function assertRefused(r: Reply, field: string, action: 'write' | 'transfer' | 'declassify', what: string): void {
  assertProblem(r, 403, 'gateway.write_refused', what);
  const fields = (r.body.fields ?? []) as RefusedField[];
  assert.ok(
    fields.some((f) => (f.field === field || f.field.endsWith(`.${field}`)) && f.action === action),
    `${what}: the refusal names ${field} with action ${action}; it names ${redact(JSON.stringify(fields.map((f) => `${f.field}:${f.action ?? '?'}`)))}`,
  );
}

const ok = (r: Reply): boolean => r.status >= 200 && r.status < 300;

interface Disclosed {
  key: string;
  jurisdiction: string | null;
  fields: Record<string, unknown>;
  transformed: Record<string, { disclosure: string }>;
  withheld: { field: string; reason: string }[];
}

/** GET /v1/data/{dataset}/{key} as `persona`: 200, the record as disclosed. */
async function read(persona: string, dataset: string, key: string): Promise<Disclosed> {
  const r = await call(persona, 'GET', `/v1/data/${dataset}/${encodeURIComponent(key)}`);
  assert.equal(r.status, 200, `${persona} reads ${dataset}/${redact(key)}: ${show(r)}`);
  return r.body as Disclosed;
}

const withheldNames = (d: Disclosed): string[] => d.withheld.map((w) => w.field);

/**
 * The key by which `persona` addresses the user named `username`, found with a list filter on the
 * public username: the clear uid for who may see it, the caller's token for everyone else (W6).
 */
async function userKey(persona: string, username: string): Promise<string> {
  const r = await call(persona, 'GET', `/v1/data/users?filter.username=${encodeURIComponent(username)}`);
  assert.equal(r.status, 200, `${persona} lists users by username: ${show(r)}`);
  const items = r.body.items as Disclosed[];
  assert.equal(items.length, 1, `${persona} finds exactly one user named ${username}`);
  return items[0]!.key;
}

/** Asks for a grant as austin-engineer and has both enclave approvers approve it; returns the grant id. */
async function grantForAustin(dataset: string, category: string, subject: string, ticket: string): Promise<string> {
  const made = await call('austin-engineer', 'POST', '/v1/access/requests', {
    body: { datasets: [dataset], categories: [category], subjects: [subject], reason: 'USER_SUPPORT', ticket, duration: '1h', comment: 'wall attacks' },
  });
  assert.equal(made.status, 201, `request ${ticket}: ${show(made)}`);
  const id = made.body.id as string;
  const a = await call('austin-approver-a', 'POST', `/v1/access/requests/${id}/approve`, { body: { comment: `checked ${ticket}` } });
  assert.equal(a.status, 200, `first approval of ${ticket}: ${show(a)}`);
  const b = await call('austin-approver-b', 'POST', `/v1/access/requests/${id}/approve`, { body: {} });
  assert.equal(b.status, 200, `second approval of ${ticket}: ${show(b)}`);
  assert.equal(b.body.state, 'approved', `${ticket} is approved`);
  assert.ok(typeof b.body.grant === 'string' && b.body.grant.length > 0, `${ticket} made a grant`);
  return b.body.grant as string;
}

/**
 * The size of the signed checkpoint, once it has caught up with every durable entry (signed at least
 * every second) and no entry has been appended for a moment.
 */
async function settledLogSize(): Promise<number> {
  const live = async () => ((await (await fetch(`${up.base}/readyz`)).json()) as { log: { size?: number } }).log.size;
  const signed = async () => Number((await (await fetch(`${up.base}/log/checkpoint`)).text()).split('\n')[1]);
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    const before = await live();
    await sleep(200);
    const cp = await signed();
    const now = await live();
    if (before === now && (now === undefined || cp === now)) return cp;
  }
  throw new Error('the access log did not settle within 15 s');
}

/**
 * Runs `attacks` (each bad input), checks that each got exactly `status` `code`, and that the access
 * log holds as many entries afterwards as before (nothing logged for bad input, W5/W7).
 */
async function assertBadInputChangesNothing(cases: readonly { what: string; send: () => Promise<Reply>; status: number; code: string }[]): Promise<void> {
  const size = await settledLogSize();
  const replies: Reply[] = [];
  for (const c of cases) replies.push(await c.send());
  for (const [i, c] of cases.entries()) assertProblem(replies[i]!, c.status, c.code, c.what);
  assert.equal(await settledLogSize(), size, 'the access log is unchanged by bad input');
}

/** Undo steps for an attack that was not refused (as writes once were), so later tests judge their own attack. */
async function undo(steps: (() => Promise<unknown>)[]): Promise<void> {
  for (const s of steps.reverse()) await s().catch(() => undefined);
}

// ---------------------------------------------------------------------------------------------
// W6: keys are fields.

test('f. keys: beijing-engineer gets users keyed by its token, in GET, list, cursor and egress; the clear uid answers 404', async () => {
  const clearUids = DEMO_FIXED_USERS.map((u) => u['uid']!);
  const noClearUid = (r: Reply, what: string) => {
    for (const uid of clearUids) assert.ok(!r.text.includes(uid), `${what}: the body carries the clear uid ${uid}`);
    for (const [name, value] of r.headers) for (const uid of clearUids) assert.ok(!value.includes(uid), `${what}: header ${name} carries the clear uid ${uid}`);
  };
  const keyedByToken = (items: Disclosed[], what: string) => {
    for (const item of items) {
      assert.match(item.key, /^tok_/, `${what}: key ${item.key} is a token`);
      assert.equal(item.key, item.fields['uid'], `${what}: key equals the tokenized uid`);
    }
  };

  const list = await call('beijing-engineer', 'GET', '/v1/data/users?limit=500');
  assert.equal(list.status, 200, show(list));
  noClearUid(list, 'list');
  const items = list.body.items as Disclosed[];
  assert.equal(items.length, DEMO_FIXED_USERS.length, 'the three fixed users');
  keyedByToken(items, 'list');
  const us1 = items.find((i) => i.fields['username'] === US1['username']);
  assert.ok(us1, 'demo-us-1 is listed');

  const page = await call('beijing-engineer', 'GET', '/v1/data/users?limit=1');
  assert.equal(page.status, 200, show(page));
  noClearUid(page, 'first page');
  assert.match(String(page.body.next), /^tok_/, 'the cursor is a token');
  const nextPage = await call('beijing-engineer', 'GET', `/v1/data/users?limit=1&after=${encodeURIComponent(page.body.next)}`);
  assert.equal(nextPage.status, 200, `the token cursor resolves: ${show(nextPage)}`);
  noClearUid(nextPage, 'second page');
  assert.equal(nextPage.body.items.length, 1);
  assert.notEqual(nextPage.body.items[0].key, page.body.items[0].key, 'the second page goes on after the first');

  const byToken = await call('beijing-engineer', 'GET', `/v1/data/users/${encodeURIComponent(us1.key)}`);
  assert.equal(byToken.status, 200, `GET users/{token}: ${show(byToken)}`);
  noClearUid(byToken, 'GET by token');
  assert.equal(byToken.body.key, us1.key, 'the key answered is the token asked for');
  assert.equal(sha(byToken.body.fields), sha(us1.fields), 'the same record as in the list');
  assert.deepEqual(withheldNames(byToken.body), withheldNames(us1));

  const video = await read('beijing-engineer', 'videos', 'demo-v-public-1');
  assert.equal(video.fields['owner_uid'], us1.key, "videos.owner_uid's token is the owner's key for the same caller");

  const clear = await call('beijing-engineer', 'GET', '/v1/data/users/demo-us-1');
  assertProblem(clear, 404, 'gateway.not_found', 'GET users/demo-us-1 (the clear key) by beijing-engineer');
  noClearUid(clear, 'GET by the clear key');

  const egress = await call('beijing-engineer', 'GET', '/v1/egress/users?limit=500');
  assert.equal(egress.status, 200, show(egress));
  noClearUid(egress, 'egress');
  const changed = (egress.body.items as (Disclosed & { deleted?: boolean })[]).filter((i) => !i.deleted);
  assert.ok(changed.length >= DEMO_FIXED_USERS.length, 'egress carries the fixed users');
  keyedByToken(changed, 'egress');
});

// ---------------------------------------------------------------------------------------------
// W4: no standing superuser.

test("g. legacy-admin's rule is inert: every protected field of demo-us-1 withheld; policy check warns policy.standing_access; the review flags it", async () => {
  const key = await userKey('legacy-admin', String(US1['username']));
  const d = await read('legacy-admin', 'users', key);
  const shown = PROTECTED_USER_FIELDS.filter((f) => f in d.fields);
  assert.deepEqual(shown, [], `legacy-admin is shown ${shown.join(', ')} without a grant`);
  for (const f of PROTECTED_USER_FIELDS) assert.ok(withheldNames(d).includes(f), `${f} is listed as withheld`);
  assert.equal(d.fields['country'], 'US', 'public fields are still served');

  const check = cordon(['policy', 'check', 'policies/demo', '--json']);
  assert.equal(check.status, 0, `the demo policy still passes: ${check.stderr}`);
  const report = JSON.parse(check.stdout) as { valid: boolean; warnings: { code: string; message: string; file: string }[] };
  assert.equal(report.valid, true);
  const standing = report.warnings.filter((w) => w.code === 'policy.standing_access');
  assert.ok(
    standing.some((w) => /legacy-admin/.test(w.message) && /legacy\.cedar$/.test(w.file)),
    `a policy.standing_access warning names the legacy-admin rule in rules/legacy.cedar; warnings: ${JSON.stringify(report.warnings.map((w) => `${w.file} ${w.code}`))}`,
  );

  const review = cordon(['access', 'review', '--policy', 'policies/demo']);
  assert.equal(review.status, 1, review.stderr);
  assert.match(review.stdout, /legacy-admin/);
});

// ---------------------------------------------------------------------------------------------
// W5, W7: bad input gets a 4xx problem and changes nothing, the log included.

test('h1. a NUL byte in a record key (GET, PATCH) is 400 gateway.invalid_input; nothing logged', async () => {
  await assertBadInputChangesNothing([
    {
      what: 'GET videos/demo-v%00public-1',
      send: () => call('beijing-engineer', 'GET', '/v1/data/videos/demo-v%00public-1'),
      status: 400,
      code: 'gateway.invalid_input',
    },
    { what: 'GET users/demo-us%001', send: () => call('austin-engineer', 'GET', '/v1/data/users/demo-us%001'), status: 400, code: 'gateway.invalid_input' },
    {
      what: 'PATCH videos/demo-v%00public-1',
      send: () => call('recsys-service', 'PATCH', '/v1/data/videos/demo-v%00public-1', { body: { view_count: 1 } }),
      status: 400,
      code: 'gateway.invalid_input',
    },
  ]);
});

test('h2. a NUL byte in a list filter (value or name) is 400 gateway.invalid_input; nothing logged', async () => {
  await assertBadInputChangesNothing([
    {
      what: 'filter value',
      send: () => call('recsys-service', 'GET', `/v1/data/users?filter.username=${encodeURIComponent(String(US1['username']))}%00`),
      status: 400,
      code: 'gateway.invalid_input',
    },
    { what: 'filter name', send: () => call('recsys-service', 'GET', '/v1/data/users?filter.user%00name=x'), status: 400, code: 'gateway.invalid_input' },
  ]);
});

test('h4. a lone UTF-16 surrogate in a written value or member name, or a body nested past 64 levels, is 400 gateway.invalid_input; nothing logged', async () => {
  let deep: unknown = 'x';
  for (let i = 0; i < 70; i++) deep = [deep];
  await assertBadInputChangesNothing([
    {
      what: 'PATCH users/demo-us-1 bio with a lone high surrogate',
      send: () => call('austin-engineer', 'PATCH', '/v1/data/users/demo-us-1', { body: { bio: 'a\ud800b' } }),
      status: 400,
      code: 'gateway.invalid_input',
    },
    {
      what: 'PATCH users/demo-us-1 email (protected) with a lone low surrogate',
      send: () => call('austin-engineer', 'PATCH', '/v1/data/users/demo-us-1', { body: { email: 'x\udc00@example.com' } }),
      status: 400,
      code: 'gateway.invalid_input',
    },
    {
      what: 'a member name with a lone surrogate',
      send: () => call('austin-engineer', 'PATCH', '/v1/data/users/demo-us-1', { body: { ['b\ud800io']: 'x' } }),
      status: 400,
      code: 'gateway.invalid_input',
    },
    {
      what: 'a value nested 70 levels deep',
      send: () => call('austin-engineer', 'PATCH', '/v1/data/users/demo-us-1', { body: { bio: deep } }),
      status: 400,
      code: 'gateway.invalid_input',
    },
  ]);
});

test('h3. a NUL byte in a list cursor (after) is 400 gateway.invalid_input; nothing logged', async () => {
  await assertBadInputChangesNothing([
    {
      what: 'users?after=demo-us%001',
      send: () => call('austin-engineer', 'GET', '/v1/data/users?after=demo-us%001'),
      status: 400,
      code: 'gateway.invalid_input',
    },
    {
      what: 'videos?after=demo-v%00public-1',
      send: () => call('beijing-engineer', 'GET', '/v1/data/videos?after=demo-v%00public-1'),
      status: 400,
      code: 'gateway.invalid_input',
    },
  ]);
});

test('h4. a NUL byte in a PATCH body (value or field name) is 400 gateway.invalid_input; nothing logged, nothing written', async () => {
  const publicCaption = DEMO_FIXED_VIDEOS.find((v) => v['id'] === 'demo-v-public-1')!['caption'];
  // recsys-service may write a public video's caption: only the NUL byte is wrong.
  await assertBadInputChangesNothing([
    {
      what: 'PATCH {"caption":"a\\u0000b"}',
      send: () => call('recsys-service', 'PATCH', '/v1/data/videos/demo-v-public-1', { body: { caption: 'a\u0000b' } }),
      status: 400,
      code: 'gateway.invalid_input',
    },
    {
      what: 'PATCH {"cap\\u0000tion":"x"}',
      send: () => call('recsys-service', 'PATCH', '/v1/data/videos/demo-v-public-1', { body: { 'cap\u0000tion': 'x' } }),
      status: 400,
      code: 'gateway.invalid_input',
    },
  ]);
  const after = await read('beijing-engineer', 'videos', 'demo-v-public-1');
  assert.equal(after.fields['caption'], publicCaption, 'the caption is as seeded');
});

test('h5. a NUL byte in an access request (ticket, comment) is 400 gateway.invalid_input; no request stored, nothing logged', async () => {
  const mine = async () => {
    const r = await call('austin-engineer', 'GET', '/v1/access/requests?mine=true');
    assert.equal(r.status, 200, show(r));
    return (r.body.requests as { id: string }[]).map((x) => x.id).sort();
  };
  const before = await mine();
  const request = { datasets: ['users'], categories: ['user.contact'], subjects: ['demo-us-1'], reason: 'USER_SUPPORT', ticket: 'SUP-1601', duration: '30m' };
  await assertBadInputChangesNothing([
    {
      what: 'ticket "SUP-\\u00001601"',
      send: () => call('austin-engineer', 'POST', '/v1/access/requests', { body: { ...request, ticket: 'SUP-\u00001601' } }),
      status: 400,
      code: 'gateway.invalid_input',
    },
    {
      what: 'comment "a\\u0000b"',
      send: () => call('austin-engineer', 'POST', '/v1/access/requests', { body: { ...request, comment: 'a\u0000b' } }),
      status: 400,
      code: 'gateway.invalid_input',
    },
  ]);
  assert.deepEqual(await mine(), before, 'no access request was stored');
});

test('h6. egress after=1e308 or beyond 2^53-1 is 400 gateway.invalid_query; nothing logged', async () => {
  await assertBadInputChangesNothing([
    { what: 'after=1e308', send: () => call('recsys-service', 'GET', '/v1/egress/users?after=1e308'), status: 400, code: 'gateway.invalid_query' },
    { what: 'after=2^53', send: () => call('recsys-service', 'GET', '/v1/egress/users?after=9007199254740992'), status: 400, code: 'gateway.invalid_query' },
  ]);
});

test('h7. writes naming a key, subject, jurisdiction or row-condition field with a wrong type, or an unknown subject, are 4xx; nothing written or logged as written', async () => {
  const br1 = DEMO_FIXED_USERS.find((u) => u['uid'] === 'demo-br-1')!;
  const brKey = await userKey('recsys-service', String(br1['username']));
  const brPath = `/v1/data/users/${encodeURIComponent(brKey)}`;
  const video = '/v1/data/videos/demo-v-public-1';
  const cases: [string, string, string, Record<string, unknown>, Record<string, unknown> | undefined][] = [
    ['videos {"visibility":7} (a row-condition field)', 'PATCH', video, { visibility: 7 }, { visibility: 'public' }],
    ['videos {"owner_uid":42} (a subject field)', 'PATCH', video, { owner_uid: 42 }, { owner_uid: 'demo-us-1' }],
    ['videos {"owner_uid":"wall-no-such-user"} (an unknown subject)', 'PATCH', video, { owner_uid: 'wall-no-such-user' }, { owner_uid: 'demo-us-1' }],
    ['users {"country":5} (the jurisdiction field)', 'PATCH', brPath, { country: 5 }, { country: 'BR' }],
    [
      'POST videos {"id":5} (the key field)',
      'POST',
      '/v1/data/videos',
      { id: 5, owner_uid: 'demo-br-1', visibility: 'public', caption: 'x', view_count: 0, created_at: '2024-06-01T00:00:00Z' },
      undefined,
    ],
  ];
  const size = await settledLogSize();
  const steps: (() => Promise<unknown>)[] = [];
  try {
    // recsys-service may write these public fields: only the values are wrong. A write that was not
    // refused (as writes once were) is undone.
    for (const [what, method, path, body, undoBody] of cases) {
      const r = await call('recsys-service', method, path, { body });
      if (ok(r) && undoBody) steps.push(() => call('recsys-service', 'PATCH', path, { body: undoBody }));
      assert.ok(r.status >= 400 && r.status < 500, `${what}: expected a 4xx problem, got ${show(r)}`);
      assert.match(String(r.body?.code), /^gateway\./, `${what}: a gateway problem code, got ${show(r)}`);
      assert.match(r.type, /^application\/problem\+json/, `${what}: a problem document`);
    }
  } finally {
    await undo(steps);
  }
  // The contract fixes no code for these: a refusal may be logged (as refused), a write may not.
  const logged = await call('monitor', 'GET', `/v1/log/records?after=${size - 1}&limit=1000`);
  assert.equal(logged.status, 200, show(logged));
  const writes = (logged.body.records as { index: number; record: { action?: string; outcome?: string } }[]).filter(
    (r) => r.record.action === 'write' || r.record.action === 'delete',
  );
  assert.deepEqual(
    writes.filter((r) => r.record.outcome !== 'refused').map((r) => `${r.index}:${r.record.outcome}`),
    [],
    'no record says a write was done',
  );
  const v = await read('beijing-engineer', 'videos', 'demo-v-public-1');
  assert.equal(v.fields['visibility'], 'public');
  assert.equal(v.fields['owner_uid'], await userKey('beijing-engineer', String(US1['username'])), 'the owner is demo-us-1');
  assert.equal((await read('recsys-service', 'users', brKey)).fields['country'], 'BR');
});

// ---------------------------------------------------------------------------------------------
// Roles for every route.

test('i. lineage intake: beijing-engineer gets 403 flows.not_producer and plants nothing; lineage-collector is accepted', async () => {
  const simple = JSON.parse(readFileSync(join(FIXTURES, 'openlineage/examples/openlineage-repo/proxy/fluentd/events/event_simple.json'), 'utf8')) as Record<
    string,
    unknown
  >;
  const event = (job: string) => ({
    ...simple,
    eventTime: new Date().toISOString(),
    run: { runId: randomUUID() },
    job: { namespace: 'wall-attacks', name: job },
    inputs: [{ namespace: 'wall-attacks', name: `${job}.in` }],
    outputs: [{ namespace: 'wall-attacks', name: `${job}.out` }],
  });
  const node = (job: string) => call('monitor', 'GET', `/v1/flows/nodes/${encodeURIComponent(`job:wall-attacks/${job}`)}`);

  const planted = await call('beijing-engineer', 'POST', '/api/v1/lineage', { body: event('planted-by-beijing') });
  assertProblem(planted, 403, 'flows.not_producer', 'POST /api/v1/lineage by beijing-engineer');
  assertProblem(await node('planted-by-beijing'), 404, 'flows.not_found', "beijing-engineer's job in the flow map");

  const collected = await call('lineage-collector', 'POST', '/api/v1/lineage', { body: event('collected') });
  assert.ok(ok(collected), `POST /api/v1/lineage by lineage-collector: ${show(collected)}`);
  const found = await node('collected');
  assert.equal(found.status, 200, `the collector's job is in the flow map: ${show(found)}`);
});

test('j. list and egress from an unknown or mismatched place are 403 gateway.unknown_location', async () => {
  const cases: [string, string, string][] = [
    ['recsys-service', NOWHERE, '/v1/data/users'],
    ['recsys-service', NOWHERE, '/v1/egress/users'],
    ['beijing-engineer', NOWHERE, '/v1/data/users'],
    ['beijing-engineer', NOWHERE, '/v1/egress/users'],
    // A token that says Beijing, from Austin's network: the place is unknown.
    ['beijing-engineer', SITE.austin, '/v1/data/users'],
    ['beijing-engineer', SITE.austin, '/v1/egress/users'],
  ];
  for (const [persona, from, path] of cases) {
    const r = await call(persona, 'GET', path, { from });
    assertProblem(r, 403, 'gateway.unknown_location', `${persona} GET ${path} from ${from}`);
    assert.equal(r.body.items, undefined, 'no items');
  }
});

// ---------------------------------------------------------------------------------------------
// W2, W3: writes are judged for everything they change. These change the world when they are not
// refused; each undoes what it did then, so that the tests after it judge their own attack.

test('a. recsys-service making a private or draft video public is 403 (caption, declassify); the caption stays withheld abroad', async () => {
  for (const v of [PRIVATE_VIDEO, DRAFT_VIDEO]) {
    const id = String(v['id']);
    const steps: (() => Promise<unknown>)[] = [];
    try {
      const r = await call('recsys-service', 'PATCH', `/v1/data/videos/${id}`, { body: { visibility: 'public' } });
      if (ok(r)) steps.push(() => call('recsys-service', 'PATCH', `/v1/data/videos/${id}`, { body: { visibility: v['visibility'] } }));
      assertRefused(r, 'caption', 'declassify', `recsys-service PATCH videos/${id} {"visibility":"public"}`);
      const seen = await read('beijing-engineer', 'videos', id);
      assert.equal(seen.fields['visibility'], v['visibility'], `${id} is still ${String(v['visibility'])}`);
      assert.ok(!('caption' in seen.fields), `beijing-engineer is shown the caption of ${id}`);
      assert.ok(withheldNames(seen).includes('caption'), `the caption of ${id} is withheld from beijing-engineer`);
      if (v['draft_body'] !== null) assert.ok(withheldNames(seen).includes('draft_body'), `the draft body of ${id} is withheld`);
    } finally {
      await undo(steps);
    }
  }
});

test('b. recsys-service moving demo-us-1 to DE or BR, or a private video to demo-eu-1, is 403 (transfer); all stays in the US', async () => {
  const key = await userKey('recsys-service', String(US1['username']));
  const steps: (() => Promise<unknown>)[] = [];
  try {
    for (const country of ['DE', 'BR']) {
      const r = await call('recsys-service', 'PATCH', `/v1/data/users/${encodeURIComponent(key)}`, { body: { country } });
      if (ok(r)) steps.push(() => call('recsys-service', 'PATCH', `/v1/data/users/${encodeURIComponent(key)}`, { body: { country: 'US' } }));
      assertRefused(r, 'phone_number', 'transfer', `recsys-service PATCH users/demo-us-1 {"country":"${country}"}`);
      const user = await read('austin-engineer', 'users', 'demo-us-1');
      assert.equal(user.fields['country'], 'US', 'demo-us-1 lives in the US');
      assert.equal(user.jurisdiction, 'US');
      const video = await read('austin-engineer', 'videos', 'demo-v-private-1');
      assert.equal(video.jurisdiction, 'US', "demo-us-1's private video stays in the US");
    }

    // The new owner named as recsys-service was given it (its own token of demo-eu-1, W6).
    const eu1 = DEMO_FIXED_USERS.find((u) => u['uid'] === 'demo-eu-1')!;
    const moved = await call('recsys-service', 'PATCH', '/v1/data/videos/demo-v-private-1', {
      body: { owner_uid: await userKey('recsys-service', String(eu1['username'])) },
    });
    if (ok(moved)) steps.push(() => call('recsys-service', 'PATCH', '/v1/data/videos/demo-v-private-1', { body: { owner_uid: 'demo-us-1' } }));
    assertRefused(moved, 'caption', 'transfer', 'recsys-service PATCH videos/demo-v-private-1 {"owner_uid":"demo-eu-1"}');
    const video = await read('austin-engineer', 'videos', 'demo-v-private-1');
    assert.equal(video.fields['owner_uid'], 'demo-us-1', 'the owner is unchanged');
    assert.equal(video.jurisdiction, 'US');
  } finally {
    await undo(steps);
  }
});

test('c. the round trip {"country":"BR","device_id":…} then {"country":"US"} cannot overwrite a US protected field', async () => {
  // austin-engineer, with a grant for demo-us-1's device data, reads device_id in clear before and
  // after: compared as hashes.
  await grantForAustin('users', 'user.device', 'demo-us-1', 'SUP-1602');
  const deviceHash = async () => {
    const d = await read('austin-engineer', 'users', 'demo-us-1');
    assert.ok('device_id' in d.fields, 'austin-engineer sees device_id in clear under the grant');
    return sha(d.fields['device_id']);
  };
  const before = await deviceHash();
  assert.equal(before, sha(US1['device_id']), 'device_id is as seeded');

  const key = await userKey('recsys-service', String(US1['username']));
  const path = `/v1/data/users/${encodeURIComponent(key)}`;
  const steps: (() => Promise<unknown>)[] = [];
  try {
    const direct = await call('recsys-service', 'PATCH', path, { body: { device_id: 'wall-attacks-device' } });
    if (ok(direct)) steps.push(() => call('austin-engineer', 'PATCH', '/v1/data/users/demo-us-1', { body: { device_id: US1['device_id'] } }));
    // The baseline the round trip must not get around (refused before writes were judged whole, too).
    assertProblem(direct, 403, 'gateway.write_refused', 'recsys-service PATCH users/demo-us-1 {"device_id":…} (a direct write)');
    assert.ok(
      (direct.body.fields as RefusedField[]).some((f) => f.field === 'device_id'),
      'the direct write is refused for device_id',
    );

    const there = await call('recsys-service', 'PATCH', path, { body: { country: 'BR', device_id: 'wall-attacks-device' } });
    if (ok(there)) {
      steps.push(() => call('austin-engineer', 'PATCH', '/v1/data/users/demo-us-1', { body: { device_id: US1['device_id'] } }));
      steps.push(() => call('recsys-service', 'PATCH', path, { body: { country: 'US' } }));
    }
    assertProblem(there, 403, 'gateway.write_refused', 'recsys-service PATCH users/demo-us-1 {"country":"BR","device_id":…}');
    const judged = (there.body.fields as RefusedField[]).map((f) => `${f.field}:${f.action}`);
    assert.ok(
      judged.includes('device_id:write') || judged.includes('device_id:transfer'),
      `the refusal names device_id; it names ${redact(JSON.stringify(judged))}`,
    );
    assert.ok(
      judged.some((j) => j.endsWith(':transfer')),
      `the move to BR is judged as a transfer; the refusal names ${redact(JSON.stringify(judged))}`,
    );

    const back = await call('recsys-service', 'PATCH', path, { body: { country: 'US' } });
    assert.equal(back.status, 200, `{"country":"US"} on a US user writes only a public field: ${show(back)}`);

    assert.equal(await deviceHash(), before, "demo-us-1's device_id is unchanged");
    const user = await read('austin-engineer', 'users', 'demo-us-1');
    assert.equal(user.jurisdiction, 'US');
  } finally {
    await undo(steps);
  }
});

test("d. the IP-recovery chain: a BR probe holds the guess, but demo-us-1 cannot be moved to BR, so its IP's token is never returned", async () => {
  const probe = { uid: 'wall-probe-br-1', username: 'wall_probe_br_1', country: 'BR', ip_address: US1['ip_address'], created_at: '2024-06-01T00:00:00Z' };
  const made = await call('recsys-service', 'POST', '/v1/data/users', { body: probe });
  assert.equal(made.status, 201, `recsys-service creates a user in BR, where IP addresses are excepted: ${show(made)}`);
  const probeKey = await userKey('recsys-service', probe.username);
  const probeSeen = await read('recsys-service', 'users', probeKey);
  assert.equal(probeSeen.transformed['ip_address']?.disclosure, 'tokenized', "the probe's IP is shown to recsys-service as a token");
  const guess = String(probeSeen.fields['ip_address']);
  assert.match(guess, /^tok_/);

  const key = await userKey('recsys-service', String(US1['username']));
  const path = `/v1/data/users/${encodeURIComponent(key)}`;
  // What recsys-service is sent from here on, less the probe's own list and egress items (which
  // carry the guess by construction).
  const seen: string[] = [];
  const keep = (r: Reply): Reply => {
    const items = r.body?.items as { key: string }[] | undefined;
    seen.push(items ? JSON.stringify({ ...r.body, items: items.filter((i) => i.key !== probeKey) }) : r.text);
    for (const v of r.headers.values()) seen.push(v);
    return r;
  };
  const steps: (() => Promise<unknown>)[] = [];
  try {
    const move = keep(await call('recsys-service', 'PATCH', path, { body: { country: 'BR' } }));
    if (ok(move)) steps.push(() => call('recsys-service', 'PATCH', path, { body: { country: 'US' } }));
    // Everything recsys-service can read of demo-us-1 afterwards.
    keep(await call('recsys-service', 'GET', path));
    keep(await call('recsys-service', 'GET', `/v1/data/users?filter.username=${encodeURIComponent(String(US1['username']))}`));
    const list = keep(await call('recsys-service', 'GET', '/v1/data/users?limit=500'));
    const egress = keep(await call('recsys-service', 'GET', '/v1/egress/users?limit=500'));
    assert.ok(list.status === 200 && egress.status === 200, 'recsys-service lists and reads the change feed');
    assert.ok(list.text.includes(guess) && egress.text.includes(guess), "the probe's own items carry the guess (so the search below can find it)");

    const matched = seen.filter((t) => t.includes(guess)).length;
    assert.equal(matched, 0, `a response carries the token of demo-us-1's IP address (the probe's guess ${sha(guess)} matched: the IP is recovered)`);
    assertRefused(move, 'ip_address', 'transfer', 'recsys-service PATCH users/demo-us-1 {"country":"BR"}');
    const user = await read('austin-engineer', 'users', 'demo-us-1');
    assert.equal(user.fields['country'], 'US');
    assert.equal(user.jurisdiction, 'US');
  } finally {
    await undo(steps);
  }
});

test("e. a grant binds to the subject as stored: austin-engineer cannot re-point another user's video to demo-us-1 (transfer)", async () => {
  const user = await call('austin-engineer', 'POST', '/v1/data/users', {
    body: { uid: 'wall-us-2', username: 'wall_us_2', country: 'US', created_at: '2024-06-01T00:00:00Z' },
  });
  assert.equal(user.status, 201, `austin-engineer creates a US user: ${show(user)}`);
  const video = await call('austin-engineer', 'POST', '/v1/data/videos', {
    body: {
      id: 'wall-v-other-1',
      owner_uid: 'wall-us-2',
      visibility: 'private',
      caption: OTHER_CAPTION,
      draft_body: null,
      view_count: 0,
      created_at: '2024-06-01T00:00:00Z',
    },
  });
  assert.equal(video.status, 201, `austin-engineer creates that user's private video: ${show(video)}`);

  await grantForAustin('videos', 'user.content.private', 'demo-us-1', 'SUP-1603');
  const own = await read('austin-engineer', 'videos', 'demo-v-private-1');
  assert.equal(sha(own.fields['caption']), sha(PRIVATE_VIDEO['caption']), "the grant shows demo-us-1's private caption in clear");
  const other = await read('austin-engineer', 'videos', 'wall-v-other-1');
  assert.ok(withheldNames(other).includes('caption'), "the other user's caption is withheld from austin-engineer");

  const steps: (() => Promise<unknown>)[] = [];
  try {
    const r = await call('austin-engineer', 'PATCH', '/v1/data/videos/wall-v-other-1', { body: { owner_uid: 'demo-us-1' } });
    if (ok(r)) steps.push(() => call('austin-engineer', 'PATCH', '/v1/data/videos/wall-v-other-1', { body: { owner_uid: 'wall-us-2' } }));
    const leaked = ok(r) && sha((await read('austin-engineer', 'videos', 'wall-v-other-1')).fields['caption']) === sha(OTHER_CAPTION);
    assert.ok(!leaked, "austin-engineer re-pointed the video to demo-us-1 and read the other user's private caption in clear");
    assertRefused(r, 'caption', 'transfer', 'austin-engineer PATCH videos/wall-v-other-1 {"owner_uid":"demo-us-1"}');
    const afterwards = await read('austin-engineer', 'videos', 'wall-v-other-1');
    assert.equal(afterwards.fields['owner_uid'], 'wall-us-2', 'the owner is unchanged');
    assert.ok(!('caption' in afterwards.fields), 'the caption is not shown');
    assert.ok(withheldNames(afterwards).includes('caption'), 'the caption stays withheld for austin-engineer');
  } finally {
    await undo(steps);
  }
});

// ---------------------------------------------------------------------------------------------
// The legitimate path. Last: it changes the world (demo-v-private-1 goes public).

test('k. app-backend acting for demo-us-1 makes its private video public (200), logged with the declassification that log verify --records flags', async () => {
  const path = '/v1/data/videos/demo-v-private-1';
  const visibility = { visibility: 'public' };
  const alone = await call('app-backend', 'PATCH', path, { body: visibility });
  assertRefused(alone, 'caption', 'declassify', 'app-backend PATCH without X-Cordon-On-Behalf-Of');
  // app-backend names users as it was given them: its own tokens (W6).
  const eu1 = DEMO_FIXED_USERS.find((u) => u['uid'] === 'demo-eu-1')!;
  const forAnother = await call('app-backend', 'PATCH', path, {
    body: visibility,
    headers: { 'x-cordon-on-behalf-of': await userKey('app-backend', String(eu1['username'])) },
  });
  assertRefused(forAnother, 'caption', 'declassify', 'app-backend PATCH on behalf of demo-eu-1 (not the owner)');
  assert.equal((await read('beijing-engineer', 'videos', 'demo-v-private-1')).fields['visibility'], 'private', 'the refused writes changed nothing');

  const clearKey = await call('app-backend', 'PATCH', path, { body: visibility, headers: { 'x-cordon-on-behalf-of': 'demo-us-1' } });
  assertRefused(clearKey, 'caption', 'declassify', 'app-backend naming demo-us-1 by the clear uid it may not see');
  const done = await call('app-backend', 'PATCH', path, {
    body: visibility,
    headers: { 'x-cordon-on-behalf-of': await userKey('app-backend', String(US1['username'])) },
  });
  assert.equal(done.status, 200, `app-backend PATCH on behalf of demo-us-1: ${show(done)}`);
  const index = Number(done.headers.get('x-cordon-log-index'));
  assert.ok(Number.isInteger(index) && index >= 0, 'the write names its log entry');
  const seen = await read('beijing-engineer', 'videos', 'demo-v-private-1');
  assert.equal(seen.fields['visibility'], 'public');
  assert.equal(sha(seen.fields['caption']), sha(PRIVATE_VIDEO['caption']), 'the caption is public now');

  const rec = await call('monitor', 'GET', `/v1/log/records/${index}`);
  assert.equal(rec.status, 200, show(rec));
  assert.equal(rec.body.record.principal, 'app-backend');
  assert.deepEqual(
    rec.body.record.effects,
    [{ action: 'declassify', allowed: true, dataset: 'videos', field: 'caption', from: 'protected', rules: ['app-acts-for-user'], to: 'public' }],
    'the access record names the declassification',
  );

  // The write is in a signed checkpoint before the log is verified.
  let signed = await settledLogSize();
  for (let i = 0; i < 5 && signed <= index; i++) signed = await settledLogSize();
  assert.ok(signed > index, `entry ${index} is in a signed checkpoint (size ${signed})`);
  const vkey = join(dataDir, 'demo', 'log.vkey');
  const monitorToken = tokenOf('monitor');
  const json = await cordonAsync(['log', 'verify', '--url', up.base, '--vkey', vkey, '--records', '--token', monitorToken, '--json']);
  assert.equal(json.status, 1, `log verify --records flags the declassification: ${json.stderr}`);
  const flagged: unknown[] = [];
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (v !== null && typeof v === 'object') {
      if ((v as { index?: unknown }).index === index && /declassif/i.test(JSON.stringify(v))) flagged.push(v);
      Object.values(v).forEach(walk);
    }
  };
  walk(JSON.parse(json.stdout));
  assert.ok(flagged.length > 0, `log verify --records --json flags entry ${index} as a declassification`);
  const text = await cordonAsync(['log', 'verify', '--url', up.base, '--vkey', vkey, '--records', '--token', monitorToken]);
  assert.equal(text.status, 1);
  assert.match(text.stdout, /declassif/i, 'the report names the declassification');
});
