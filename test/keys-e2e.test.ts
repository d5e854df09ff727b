// Keys are fields (PRODUCT.md §7a W6), attacked end to end: `cordon up --demo` as a child process,
// real HTTP. beijing-engineer may see no uid in clear, so every key it is given (GET, list items and
// cursors, egress items, deleted ones too) is its own token, equal to the token in fields.uid, and
// no raw response body holds any user's uid; it addresses records with that token only: a clear
// key, another persona's token or a tampered one is answered exactly as a key no record has.
// austin-engineer (enclave staff, in the US) still sees keys in clear where the enclave admits the US
// (US, and the rest of the world), and EU keys as its tokens.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { loadPolicy } from '../src/policy/index.js';
import { generateDemoWorld } from '../src/server/index.js';
import { DEMO_POLICY } from './helpers/paths.js';
import { startUp, type RunningUp } from './helpers/up.js';
import { tempDir } from './helpers/temp.js';

const GENERATED = 200;
/** Every user of the demo world the server seeds: key and country. */
const USERS = [...generateDemoWorld({ users: GENERATED })]
  .filter((r) => r.dataset === 'users')
  .map((r) => ({ uid: r.key, country: String(r.values['country']) }));
const UIDS = USERS.map((u) => u.uid);
const loaded = loadPolicy(DEMO_POLICY);
assert.ok(loaded.ok);
const { deployment } = loaded.policy;
const jurisdictionOf = (country: string) => deployment.countryJurisdiction.get(country) ?? deployment.defaultJurisdiction;
const FROM: Record<string, string> = { 'beijing-engineer': '10.80.0.5', 'us-analyst': '10.21.0.5', 'austin-engineer': '10.20.0.5' };
const TOKEN = /^tok_[A-Za-z0-9_-]{43,}$/;

interface Item {
  key: string;
  jurisdiction?: string;
  deleted?: boolean;
  fields?: Record<string, unknown>;
}

let up: RunningUp;
let dataDir: string;

before(async () => {
  dataDir = tempDir('cordon-keys-e2e-');
  up = await startUp(dataDir, ['--demo', '--demo-users', String(GENERATED)]);
  // The generated users are written behind the first requests: wait until the world is whole.
  const until = Date.now() + 120_000;
  while (!existsSync(join(dataDir, 'demo', 'seeded.json'))) {
    if (Date.now() > until) throw new Error(`the demo world was not seeded within 120 s:\n${up.output().err}`);
    await new Promise((r) => setTimeout(r, 100));
  }
});
after(async () => {
  up?.child.kill('SIGINT');
  await up?.exited;
});

async function ask(
  persona: string,
  path: string,
  method = 'GET',
  body?: unknown,
): Promise<{ status: number; type: string | null; text: string; json: () => unknown }> {
  const headers: Record<string, string> = { authorization: `Bearer ${up.tokens()[persona]}`, 'x-forwarded-for': FROM[persona]! };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const r = await fetch(`${up.base}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await r.text();
  return { status: r.status, type: r.headers.get('content-type'), text, json: () => JSON.parse(text) as unknown };
}

/** The uids (of `among`) found anywhere in a raw response body. */
function clearUids(text: string, among: readonly string[] = UIDS): string[] {
  return among.filter((u) => text.includes(u));
}

/** Every page of a list, following `next`; the raw bodies too. */
async function walk(persona: string, limit: number): Promise<{ items: Item[]; bodies: string[]; cursors: string[] }> {
  const items: Item[] = [];
  const bodies: string[] = [];
  const cursors: string[] = [];
  let after: string | null = null;
  for (let pages = 0; pages < 1000; pages++) {
    const r = await ask(persona, `/v1/data/users?limit=${limit}${after === null ? '' : `&after=${encodeURIComponent(after)}`}`);
    assert.equal(r.status, 200, r.text);
    bodies.push(r.text);
    const page = r.json() as { items: Item[]; next: string | null };
    items.push(...page.items);
    if (page.next === null) return { items, bodies, cursors };
    cursors.push(page.next);
    after = page.next;
  }
  throw new Error('the list did not end');
}

/** The 404 of a key no record has, as `persona` gets it: every other refusal must be byte for byte this. */
async function missing(persona: string, method = 'GET'): Promise<{ status: number; type: string | null; text: string }> {
  const r = await ask(persona, '/v1/data/users/no-such-user-at-all', method, method === 'PATCH' ? { bio: 'x' } : undefined);
  assert.equal(r.status, 404);
  assert.equal((r.json() as { code: string }).code, 'gateway.not_found');
  return { status: r.status, type: r.type, text: r.text };
}

test('beijing-engineer: list pages carry tokens for keys and cursors, walk every user once, and hold no clear uid', async () => {
  const { items, bodies, cursors } = await walk('beijing-engineer', 37);
  assert.equal(items.length, USERS.length, 'every user, once');
  assert.equal(new Set(items.map((i) => i.key)).size, USERS.length, 'no repeats');
  for (const i of items) {
    assert.match(i.key, TOKEN);
    assert.equal(i.key, i.fields?.['uid'], 'the key is the token fields.uid has');
  }
  assert.equal(cursors.length, Math.ceil(USERS.length / 37) - 1);
  for (const c of cursors) assert.match(c, TOKEN);
  for (const b of bodies) assert.deepEqual(clearUids(b), [], 'no clear uid in any page');
  // The cursor is the last item's key of its page: the token of that page's last uid.
  const first = (await ask('beijing-engineer', '/v1/data/users?limit=37')).json() as { items: Item[]; next: string };
  assert.equal(first.next, first.items.at(-1)!.key);
});

test('beijing-engineer: GET by its token works, key equals fields.uid; a clear key is 404 exactly like a missing one', async () => {
  const names = (await ask('beijing-engineer', '/v1/data/users?filter.username=lonestar_lens')).json() as { items: Item[] };
  assert.equal(names.items.length, 1);
  const token = names.items[0]!.key;
  assert.match(token, TOKEN);
  const r = await ask('beijing-engineer', `/v1/data/users/${token}`);
  assert.equal(r.status, 200, r.text);
  const body = r.json() as Item & { jurisdiction: string };
  assert.equal(body.key, token);
  assert.equal(body.fields?.['uid'], token);
  assert.equal(body.fields?.['username'], 'lonestar_lens');
  assert.equal(body.jurisdiction, 'US');
  assert.deepEqual(clearUids(r.text), []);
  assert.match(r.text, /"withheld"/);
  for (const v of ['+15125550101', 'us1@example.com', '1994-03-02']) assert.ok(!r.text.includes(v));

  const none = await missing('beijing-engineer');
  for (const uid of ['demo-us-1', 'demo-eu-1', 'demo-br-1', 'u-000001', 'u-000200']) {
    const clear = await ask('beijing-engineer', `/v1/data/users/${uid}`);
    assert.deepEqual({ status: clear.status, type: clear.type, text: clear.text }, none, `GET ${uid} in clear is answered as a missing key`);
  }
  // Writes too: a clear key finds nothing, the token finds the record (and the write is judged).
  const noneDelete = await missing('beijing-engineer', 'DELETE');
  const clearDelete = await ask('beijing-engineer', '/v1/data/users/demo-us-1', 'DELETE');
  assert.deepEqual({ status: clearDelete.status, type: clearDelete.type, text: clearDelete.text }, noneDelete);
  const nonePatch = await missing('beijing-engineer', 'PATCH');
  const clearPatch = await ask('beijing-engineer', '/v1/data/users/demo-us-1', 'PATCH', { bio: 'x' });
  assert.deepEqual({ status: clearPatch.status, type: clearPatch.type, text: clearPatch.text }, nonePatch);
  const tokenPatch = await ask('beijing-engineer', `/v1/data/users/${token}`, 'PATCH', { bio: 'x' });
  assert.equal(tokenPatch.status, 403, tokenPatch.text);
  assert.equal((tokenPatch.json() as { code: string }).code, 'gateway.write_refused');
  // Naming the key field beside a token would confirm a guess: refused whatever its value.
  const guess = await ask('beijing-engineer', `/v1/data/users/${token}`, 'PATCH', { uid: 'demo-us-1', bio: 'x' });
  const wrong = await ask('beijing-engineer', `/v1/data/users/${token}`, 'PATCH', { uid: 'demo-us-2', bio: 'x' });
  assert.equal(guess.status, 400);
  assert.deepEqual([guess.status, guess.text], [wrong.status, wrong.text]);
});

test("a token of another persona's audience, a tampered token and a made-up one are 404 like a missing key", async () => {
  const theirs = ((await ask('us-analyst', '/v1/data/users?filter.username=lonestar_lens')).json() as { items: Item[] }).items[0]!.key;
  const mine = ((await ask('beijing-engineer', '/v1/data/users?filter.username=lonestar_lens')).json() as { items: Item[] }).items[0]!.key;
  assert.match(theirs, TOKEN);
  assert.notEqual(theirs, mine, 'audiences get unrelated tokens');
  assert.equal((await ask('us-analyst', `/v1/data/users/${theirs}`)).status, 200, 'it opens for its own audience');
  const raw = Buffer.from(mine.slice(4), 'base64url');
  raw[raw.length - 1]! ^= 1;
  const tampered = `tok_${raw.toString('base64url')}`;
  const none = await missing('beijing-engineer');
  for (const [what, key] of [
    ['another audience', theirs],
    ['a flipped bit', tampered],
    ['made up', `tok_${'A'.repeat(43)}`],
    ['not base64url', 'tok_%2B%2F'],
  ] as const) {
    const r = await ask('beijing-engineer', `/v1/data/users/${key}`);
    assert.deepEqual({ status: r.status, type: r.type, text: r.text }, none, what);
  }
  // As a list cursor, neither a clear key nor another audience's token is taken.
  for (const after of ['demo-us-1', theirs, tampered]) {
    const r = await ask('beijing-engineer', `/v1/data/users?after=${encodeURIComponent(after)}`);
    assert.equal(r.status, 400, after);
    assert.equal((r.json() as { code: string }).code, 'gateway.invalid_query');
  }
});

test('beijing-engineer: egress items, deleted ones included, carry its tokens and no clear uid', async () => {
  // austin-engineer (enclave staff, in the US) makes and deletes a US user: the feed shows both.
  const made = await ask('austin-engineer', '/v1/data/users', 'POST', { uid: 'keys-e2e-gone', username: 'gone', country: 'US' });
  assert.equal(made.status, 201, made.text);
  assert.equal((made.json() as { key: string }).key, 'keys-e2e-gone', 'austin-engineer sees its US key in clear');
  assert.equal((await ask('austin-engineer', '/v1/data/users/keys-e2e-gone', 'DELETE')).status, 204);
  const items: Item[] = [];
  let after = 0;
  for (;;) {
    const r = await ask('beijing-engineer', `/v1/egress/users?after=${after}&limit=100`);
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(clearUids(r.text, [...UIDS, 'keys-e2e-gone']), [], 'no clear uid in any egress page');
    const page = r.json() as { items: Item[]; next: number };
    if (page.items.length === 0) break;
    items.push(...page.items);
    after = page.next;
  }
  assert.ok(items.length >= USERS.length + 1);
  for (const i of items) {
    assert.match(i.key, TOKEN);
    if (!i.deleted) assert.equal(i.key, i.fields?.['uid']);
  }
  const deleted = items.filter((i) => i.deleted);
  assert.ok(deleted.length >= 2, 'the created-then-deleted user shows as deleted twice (its write and its delete)');
  assert.equal(new Set(deleted.map((i) => i.key)).size, 1, 'one token for that one key');
});

test('tokenized references address the user: the owner_uid token of a video opens the owner for that caller', async () => {
  const v = await ask('beijing-engineer', '/v1/data/videos/demo-v-public-1');
  assert.equal(v.status, 200, v.text);
  const video = v.json() as Item;
  assert.equal(video.key, 'demo-v-public-1', "a video's id is public: in clear");
  const owner = String(video.fields?.['owner_uid']);
  assert.match(owner, TOKEN);
  assert.deepEqual(clearUids(v.text), []);
  const u = await ask('beijing-engineer', `/v1/data/users/${owner}`);
  assert.equal(u.status, 200, u.text);
  assert.equal((u.json() as Item).fields?.['username'], 'lonestar_lens');
  assert.equal((u.json() as Item).key, owner);
  const c = (await ask('beijing-engineer', '/v1/data/comments/demo-c-1')).json() as Item;
  const author = (await ask('beijing-engineer', `/v1/data/users/${String(c.fields?.['author_uid'])}`)).json() as Item;
  assert.equal(author.fields?.['username'], 'rheinblick');
});

test('austin-engineer (enclave staff in the US) sees US and ROW keys in clear, EU keys as its tokens, and walks the list once', async () => {
  const r = await ask('austin-engineer', '/v1/data/users/demo-us-1');
  assert.equal(r.status, 200, r.text);
  assert.equal((r.json() as Item).key, 'demo-us-1');
  assert.equal((r.json() as Item).fields?.['uid'], 'demo-us-1');
  const { items, bodies } = await walk('austin-engineer', 50);
  assert.equal(items.length, USERS.length);
  assert.equal(new Set(items.map((i) => i.key)).size, USERS.length, 'no repeats');
  // The EU enclave admits no one from the US; the US and the global (ROW) enclaves do.
  const eu = new Set(USERS.filter((u) => jurisdictionOf(u.country) === 'EU').map((u) => u.uid));
  assert.ok(eu.size > 0 && eu.size < USERS.length);
  for (const i of items) {
    assert.equal(i.key, i.fields?.['uid']);
    if (i.jurisdiction === 'EU') assert.match(i.key, TOKEN);
    else assert.ok(UIDS.includes(i.key) && !eu.has(i.key), `${i.key} in clear`);
  }
  assert.equal(items.filter((i) => i.jurisdiction === 'EU').length, eu.size);
  for (const b of bodies) assert.deepEqual(clearUids(b, [...eu]), [], 'no EU uid in clear');
  // demo-eu-1 in clear is a missing key for austin-engineer; its token opens it.
  const none = await missing('austin-engineer');
  const clearEu = await ask('austin-engineer', '/v1/data/users/demo-eu-1');
  assert.deepEqual({ status: clearEu.status, type: clearEu.type, text: clearEu.text }, none);
  const euToken = items.find((i) => i.fields?.['username'] === 'rheinblick')!.key;
  const opened = await ask('austin-engineer', `/v1/data/users/${euToken}`);
  assert.equal(opened.status, 200);
  assert.equal((opened.json() as Item).jurisdiction, 'EU');
});

test('a record with a 1000-character key is reached by its token (1,370 characters) as any other', async () => {
  const uid = `long-${'k'.repeat(995)}`;
  const made = await ask('austin-engineer', '/v1/data/users', 'POST', { uid, username: 'long_key_user', country: 'US' });
  assert.equal(made.status, 201, made.text);
  const found = (await ask('beijing-engineer', '/v1/data/users?filter.username=long_key_user')).json() as { items: Item[] };
  assert.equal(found.items.length, 1);
  const token = found.items[0]!.key;
  assert.match(token, TOKEN);
  assert.ok(token.length > 1000, `a token of ${token.length} characters`);
  const r = await ask('beijing-engineer', `/v1/data/users/${token}`);
  assert.equal(r.status, 200, r.text.slice(0, 300));
  assert.equal((r.json() as Item).fields?.['username'], 'long_key_user');
  assert.ok(!r.text.includes(uid), 'the clear key is not in the answer');
});
