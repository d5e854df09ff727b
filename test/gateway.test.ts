// The data API in process (fastify.inject) over the demo policy: real tokens from the demo issuer,
// real placement over PGlite stores, every response checked field by field.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { loadPolicy, type GrantInfo } from '../src/policy/index.js';
import {
  createCordonServer,
  createDemoIssuer,
  DEMO_FIXED_USERS,
  DEMO_FIXED_VIDEOS,
  type CordonServer,
  type DemoIssuer,
  type ServerOptions,
} from '../src/server/index.js';
import { tokenize } from '../src/gateway/index.js';
import { accessRecordFields, type AccessRecordV2 } from '../src/log/index.js';
import { openFileKeyService } from '../src/store/index.js';
import { DEMO_POLICY } from './helpers/paths.js';
import { tempDir } from './helpers/temp.js';
import { assertSameHidden } from './helpers/hidden.js';

const loaded = loadPolicy(DEMO_POLICY);
assert.ok(loaded.ok);
const policy = loaded.policy;
let server: CordonServer;
let serverDir: string;
let issuer: DemoIssuer;
const NOW = Date.now();
const GRANT: GrantInfo = {
  id: 'g-1',
  datasets: ['users'],
  categories: ['user.contact'],
  subjects: ['demo-us-1'],
  expiresAt: NOW + 3_600_000,
  reason: 'USER_SUPPORT',
};
/** Where each persona's requests come from (addresses in cordon.yaml's locations). */
const FROM: Record<string, string> = {
  'austin-engineer': '10.20.0.5',
  'beijing-engineer': '10.80.0.7',
  'us-analyst': '10.21.0.9',
  'recsys-service': '10.90.0.3',
  'legacy-admin': '10.21.0.4',
};

/** A server over in-memory stores, with the demo issuer's keys and austin-engineer's grant. */
function serverOptions(): ServerOptions {
  return {
    policy,
    dataDir: tempDir('cordon-gw-'),
    tokens: { issuer: issuer.issuer, audience: issuer.audience, jwks: issuer.jwks },
    storeUrls: Object.fromEntries([...policy.deployment.stores.keys()].map((s) => [s, 'pglite://memory'])),
    trustedProxies: ['127.0.0.1/32'],
    grantsOf: (p) => (p === 'austin-engineer' ? [GRANT] : []),
  };
}

before(async () => {
  issuer = await createDemoIssuer();
  const options = serverOptions();
  serverDir = options.dataDir;
  server = await createCordonServer({ ...options, bodyLimit: 4096 });
  for (const u of DEMO_FIXED_USERS) await server.placement.write('users', u['uid']!, u, 'upsert');
});
after(async () => server.close());

/** A user's uid as `persona`'s token (its team's audience), from the server's key service: where the uid is not clear to it, the record is addressed so (W6). */
function tok(persona: string, uid: string): string {
  return tokenize(openFileKeyService(join(serverDir, 'keys', 'master.key')), policy.directory.principals.get(persona)!.team, 'user.unique_id', uid);
}

async function as(persona: string, method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, payload?: unknown) {
  const token = await issuer.sign(persona);
  return server.app.inject({
    method,
    url,
    payload: payload as never,
    remoteAddress: '127.0.0.1',
    headers: { authorization: `Bearer ${token}`, 'x-forwarded-for': FROM[persona] ?? '203.0.113.1' },
  });
}

test('beijing-engineer: public fields clear, uid tokenized, protected fields withheld with reasons', async () => {
  const r = await as('beijing-engineer', 'GET', `/v1/data/users/${tok('beijing-engineer', 'demo-us-1')}`);
  assert.equal(r.statusCode, 200, r.body);
  const body = r.json() as {
    fields: Record<string, unknown>;
    transformed: Record<string, unknown>;
    withheld: { field: string; reason: string; rules: string[] }[];
    jurisdiction: string;
  };
  assert.equal(body.jurisdiction, 'US');
  assert.deepEqual(Object.keys(body.fields).sort(), ['bio', 'country', 'created_at', 'uid', 'username']);
  assert.match(String(body.fields['uid']), /^tok_/);
  assert.deepEqual(
    body.withheld.map((w) => `${w.field}:${w.reason}:${w.rules.join(',')}`),
    [
      'phone_number:forbidden:enclave-wall',
      'email:forbidden:enclave-wall',
      'birthday:forbidden:enclave-wall',
      'device_id:forbidden:enclave-wall',
      'ip_address:forbidden:enclave-wall',
    ],
  );
  assert.match(String(r.headers['x-cordon-log-index']), /^\d+$/);
  for (const v of ['+15125550101', 'us1@example.com', '1994-03-02']) assert.ok(!r.body.includes(v));
});

test('us-analyst likewise; austin-engineer with the grant gets the phone number in clear', async () => {
  const a = (await as('us-analyst', 'GET', `/v1/data/users/${tok('us-analyst', 'demo-us-1')}`)).json() as {
    fields: Record<string, unknown>;
    withheld: { field: string; reason: string }[];
  };
  assert.ok(!('phone_number' in a.fields));
  assert.deepEqual(
    a.withheld.map((w) => w.reason),
    ['not_permitted', 'not_permitted', 'not_permitted', 'not_permitted', 'not_permitted'],
  );
  const e = (await as('austin-engineer', 'GET', '/v1/data/users/demo-us-1')).json() as {
    fields: Record<string, unknown>;
    transformed: Record<string, unknown>;
  };
  assertSameHidden([e.fields['phone_number'], e.fields['email']], ['+15125550101', 'us1@example.com'], 'the grant releases phone and email in clear');
  assert.equal(e.fields['birthday'], '1994', 'the grant covers contact data only');
  assert.deepEqual(e.transformed['birthday'], {
    disclosure: 'masked',
    mask: 'year',
    rules: ['enclave-masked'],
    category: 'user.demographic.date_of_birth',
    class: 'protected',
  });
});

test('demo-eu-1 follows the EU rules: nothing protected leaves the EU enclave, not even to Austin', async () => {
  const e = (await as('austin-engineer', 'GET', `/v1/data/users/${tok('austin-engineer', 'demo-eu-1')}`)).json() as {
    jurisdiction: string;
    fields: Record<string, unknown>;
    withheld: { field: string; rules: string[] }[];
  };
  assert.equal(e.jurisdiction, 'EU');
  assert.match(String(e.fields['uid']), /^tok_/);
  assert.deepEqual(
    e.withheld.map((w) => w.field),
    ['phone_number', 'email', 'birthday', 'device_id', 'ip_address'],
  );
  assert.ok(e.withheld.every((w) => w.rules.join() === 'enclave-wall'));
});

test('writes are checked field by field; a refused write changes nothing', async () => {
  const created = await as('austin-engineer', 'POST', '/v1/data/users', { uid: 'w-1', username: 'new', country: 'US', phone_number: '+15125550199' });
  assert.equal(created.statusCode, 201, created.body);
  const dup = await as('austin-engineer', 'POST', '/v1/data/users', { uid: 'w-1', username: 'again', country: 'US' });
  assert.equal(dup.statusCode, 409);
  assert.equal(dup.headers['content-type'], 'application/problem+json; charset=utf-8');
  assert.equal((dup.json() as { code: string }).code, 'gateway.duplicate_key');
  const refused = await as('beijing-engineer', 'PATCH', `/v1/data/users/${tok('beijing-engineer', 'w-1')}`, { phone_number: '+15125550100', bio: 'x' });
  assert.equal(refused.statusCode, 403);
  const problem = refused.json() as { code: string; fields: { field: string; reason: string }[] };
  assert.equal(problem.code, 'gateway.write_refused');
  assert.deepEqual(
    problem.fields.map((f) => [f.field, f.reason]),
    [
      ['phone_number', 'forbidden'],
      ['bio', 'not_permitted'],
    ],
  );
  const stored = await server.placement.read('users', 'w-1');
  assertSameHidden(stored?.values['phone_number'], '+15125550199', 'the refused write changed nothing');
  assert.equal(stored?.values['bio'], null);
  const unclassified = await as('austin-engineer', 'PATCH', '/v1/data/users/w-1', { shadow_notes: 'x' });
  assert.equal(unclassified.statusCode, 400);
  assert.equal((unclassified.json() as { code: string }).code, 'gateway.unknown_field');
  assert.equal((await as('austin-engineer', 'DELETE', '/v1/data/users/w-1')).statusCode, 204);
  assert.equal((await as('austin-engineer', 'GET', '/v1/data/users/w-1')).statusCode, 404);
});

test('lists page by cursor and filter only on open fields; SQL-looking values are values', async () => {
  const page = await as('beijing-engineer', 'GET', '/v1/data/users?limit=2');
  assert.equal(page.statusCode, 200, page.body);
  const p = page.json() as { items: { key: string }[]; next: string };
  const bj = (uid: string) => tok('beijing-engineer', uid);
  assert.deepEqual(
    p.items.map((i) => i.key),
    [bj('demo-br-1'), bj('demo-eu-1')],
  );
  assert.equal(p.next, bj('demo-eu-1'));
  const next = (await as('beijing-engineer', 'GET', `/v1/data/users?limit=2&after=${p.next}`)).json() as { items: { key: string }[]; next: null };
  assert.deepEqual(
    next.items.map((i) => i.key),
    [bj('demo-us-1')],
  );
  assert.equal(next.next, null);
  const byName = (await as('beijing-engineer', 'GET', '/v1/data/users?filter.username=rheinblick')).json() as { items: { key: string }[] };
  assert.deepEqual(
    byName.items.map((i) => i.key),
    [bj('demo-eu-1')],
  );
  const sql = await as('beijing-engineer', 'GET', `/v1/data/users?filter.username=${encodeURIComponent("x' OR '1'='1")}`);
  assert.deepEqual((sql.json() as { items: unknown[] }).items, []);
  const protectedFilter = await as('legacy-admin', 'GET', '/v1/data/users?filter.phone_number=1');
  assert.equal(protectedFilter.statusCode, 403);
  assert.equal((protectedFilter.json() as { code: string }).code, 'gateway.filter_refused');
  assert.equal((await as('beijing-engineer', 'GET', '/v1/data/users?filter.nope=1')).statusCode, 400);
});

test("filters are read as the field's declared type: filter.view_count=3 finds the video viewed 3 times; abc is 400 naming the parameter, nothing logged", async () => {
  for (const v of DEMO_FIXED_VIDEOS) await server.placement.write('videos', String(v['id']), v, 'upsert');
  const keysOf = (r: Awaited<ReturnType<typeof as>>) => {
    assert.equal(r.statusCode, 200, `status (body sha256 ${createHash('sha256').update(r.body).digest('hex').slice(0, 12)})`);
    return (r.json() as { items: { key: string }[] }).items.map((i) => i.key);
  };
  assert.deepEqual(keysOf(await as('beijing-engineer', 'GET', '/v1/data/videos?filter.view_count=3')), ['demo-v-private-1']);
  assert.deepEqual(keysOf(await as('beijing-engineer', 'GET', '/v1/data/videos?filter.view_count=1204')), ['demo-v-public-1']);
  assert.deepEqual(keysOf(await as('beijing-engineer', 'GET', '/v1/data/videos?filter.view_count=0.0')), ['demo-v-draft-1'], '0.0 is the number 0');
  assert.deepEqual(keysOf(await as('beijing-engineer', 'GET', '/v1/data/videos?filter.view_count=4')), []);
  // Other fields are strings, as before: a number-looking value is the string it is.
  assert.deepEqual(keysOf(await as('beijing-engineer', 'GET', '/v1/data/videos?filter.visibility=public&filter.view_count=1204')), ['demo-v-public-1']);

  const logged = server.log.size();
  for (const value of ['abc', '', '3x', '0x10', '1e999', 'NaN', ' 3', 'true']) {
    const r = await as('beijing-engineer', 'GET', `/v1/data/videos?filter.view_count=${encodeURIComponent(value)}`);
    assert.equal(r.statusCode, 400, `filter.view_count=${JSON.stringify(value)}`);
    const p = r.json() as { code: string; detail: string };
    assert.equal(p.code, 'gateway.invalid_query');
    assert.equal(p.detail, 'filter.view_count must be a number (videos.view_count is declared type number), such as 3 or -1.5');
  }
  // No oracle: a field the caller may not see in clear somewhere is refused whatever its value.
  for (const q of ['filter.owner_uid=demo-us-1', 'filter.caption=abc', 'filter.draft_body=x']) {
    const r = await as('beijing-engineer', 'GET', `/v1/data/videos?${q}`);
    assert.equal(r.statusCode, 403, q);
    assert.equal((r.json() as { code: string }).code, 'gateway.filter_refused', q);
  }
  // Writes give a declared number as a number (or null), so that filters find it.
  const write = await as('recsys-service', 'PATCH', '/v1/data/videos/demo-v-public-1', { view_count: '1205' });
  assert.equal(write.statusCode, 400);
  assert.deepEqual(write.json(), {
    type: 'https://cordon.dev/errors/gateway.invalid_body',
    title: (write.json() as { title: string }).title,
    status: 400,
    code: 'gateway.invalid_body',
    detail: 'videos.view_count is declared type number: it must be a number or null',
  });
  assert.equal(server.log.size(), logged, 'bad filters and a badly typed write log nothing (W7)');
  assert.equal((await server.placement.read('videos', 'demo-v-public-1'))?.values['view_count'], 1204, 'nothing written');
});

test('bad input: tokens, bodies, datasets', async () => {
  const noToken = await server.app.inject({ method: 'GET', url: '/v1/data/users/demo-us-1' });
  assert.equal(noToken.statusCode, 401);
  assert.match((noToken.json() as { code: string }).code, /^auth\./);
  const forged = await server.app.inject({
    method: 'GET',
    url: '/v1/data/users/demo-us-1',
    headers: { authorization: `Bearer ${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from('{"sub":"legacy-admin"}').toString('base64url')}.` },
  });
  assert.equal(forged.statusCode, 401);
  const stranger = await as('nobody', 'GET', '/v1/data/users/demo-us-1');
  assert.equal(stranger.statusCode, 403);
  assert.equal((await as('austin-engineer', 'GET', '/v1/data/nope/x')).statusCode, 404);
  const token = await issuer.sign('austin-engineer');
  const malformed = await server.app.inject({
    method: 'POST',
    url: '/v1/data/users',
    payload: '{"uid": ',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
  });
  assert.equal(malformed.statusCode, 400);
  assert.equal((malformed.json() as { code: string }).code, 'gateway.invalid_body');
  const big = await as('austin-engineer', 'POST', '/v1/data/users', { uid: 'big', bio: 'x'.repeat(10_000) });
  assert.equal(big.statusCode, 413);
  assert.equal((big.json() as { code: string }).code, 'gateway.payload_too_large');
  const nested = await as('austin-engineer', 'POST', '/v1/data/users', { uid: 'n', bio: { a: 1 } });
  assert.equal(nested.statusCode, 400);
});

test('POST /v1/decide answers for the caller; health, readiness and OpenAPI cover every route', async () => {
  const d = await as('beijing-engineer', 'POST', '/v1/decide', {
    dataset: 'videos',
    record: { id: 'v', visibility: 'private', caption: 'c' },
    subjectJurisdiction: 'US',
  });
  assert.equal(d.statusCode, 200, d.body);
  assert.deepEqual(
    (d.json() as { fields: { field: string; disclosure: string }[] }).fields.map((f) => `${f.field}:${f.disclosure}`),
    ['id:clear', 'visibility:clear', 'caption:withheld'],
  );
  assert.equal((await server.app.inject({ method: 'GET', url: '/healthz' })).statusCode, 200);
  assert.equal((await server.app.inject({ method: 'GET', url: '/readyz' })).json().status, 'ready');
  // The document is generated from the routes' schemas: every route registered is in it, and nothing else.
  const doc = (await server.app.inject({ method: 'GET', url: '/openapi.json' })).json() as { paths: Record<string, Record<string, unknown>> };
  const documented = Object.entries(doc.paths)
    .flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path.replace(/\{(tile_path|asset_path)\}/, '*').replace(/\{(\w+)\}/g, ':$1')}`))
    .sort();
  const registered = server
    .routes()
    .map((r) => `${r.method} ${r.url}`)
    .sort();
  assert.deepEqual(registered, documented);
});

test('the egress feed replays changes as the caller may see them, deletions included, from a cursor', async () => {
  const first = await as('beijing-engineer', 'GET', '/v1/egress/users?limit=500');
  assert.equal(first.statusCode, 200, first.body);
  const page = first.json() as { items: { seq: number; key: string; deleted?: boolean; fields?: Record<string, unknown> }[]; next: number };
  assert.ok(page.items.length >= 3);
  assert.ok(page.items.every((i, n) => n === 0 || i.seq > page.items[n - 1]!.seq));
  for (const i of page.items) if (!i.deleted) assert.ok(!('phone_number' in (i.fields ?? {})), 'no protected field in the feed for an outsider');
  await as('austin-engineer', 'POST', '/v1/data/users', { uid: 'feed-1', username: 'f', country: 'US', phone_number: '+15125550111' });
  await as('austin-engineer', 'DELETE', '/v1/data/users/feed-1');
  const more = (await as('beijing-engineer', 'GET', `/v1/egress/users?after=${page.next}`)).json() as {
    items: { key: string; deleted?: boolean; fields?: Record<string, unknown> }[];
    next: number;
  };
  assert.deepEqual(
    more.items.map((i) => [i.key, i.deleted ?? false]),
    [
      [tok('beijing-engineer', 'feed-1'), true],
      [tok('beijing-engineer', 'feed-1'), true],
    ],
  );
  const empty = (await as('beijing-engineer', 'GET', `/v1/egress/users?after=${more.next}`)).json() as { items: unknown[]; next: number };
  assert.deepEqual(empty, { items: [], next: more.next });
  assert.equal((await as('beijing-engineer', 'GET', '/v1/egress/users?after=-1')).statusCode, 400);
});

test('a protected read from an unknown place is refused with 403 and the reason', async () => {
  const token = await issuer.sign('austin-engineer');
  // From an unknown place the uid is not clear to austin-engineer: it addresses demo-us-1 by its token.
  const r = await server.app.inject({
    method: 'GET',
    url: `/v1/data/users/${tok('austin-engineer', 'demo-us-1')}`,
    remoteAddress: '192.0.2.99',
    headers: { authorization: `Bearer ${token}` },
  });
  assert.equal(r.statusCode, 403);
  const p = r.json() as { code: string; withheld: { field: string }[] };
  assert.equal(p.code, 'gateway.unknown_location');
  assert.ok(!r.body.includes('+15125550101'));
  const claimed = await issuer.sign('austin-engineer', { location: { country: 'CN', site: 'beijing' } });
  const mismatch = await server.app.inject({
    method: 'GET',
    url: `/v1/data/users/${tok('austin-engineer', 'demo-us-1')}`,
    remoteAddress: '127.0.0.1',
    headers: { authorization: `Bearer ${claimed}`, 'x-forwarded-for': '10.20.0.5' },
  });
  assert.equal(mismatch.statusCode, 403, 'a token placing the caller elsewhere than the network makes the place unknown');
});

test('/metrics counts requests and decisions by disclosure', async () => {
  const m = await server.app.inject({ method: 'GET', url: '/metrics' });
  assert.equal(m.statusCode, 200);
  assert.match(m.body, /cordon_http_requests_total\{method="GET",route="\/v1\/data\/:dataset\/:key",status="200"\} \d+/);
  assert.match(m.body, /cordon_field_decisions_total\{disclosure="withheld",class="protected"\} \d+/);
  assert.match(m.body, /cordon_http_request_duration_seconds_bucket/);
});

test('nothing unlogged: when the decision cannot be recorded, nothing is released (503 log.unavailable)', async () => {
  const failing = await createCordonServer({ ...serverOptions(), recorder: { record: () => Promise.reject(new Error('log store down')) } });
  try {
    for (const u of DEMO_FIXED_USERS) await failing.placement.write('users', u['uid']!, u, 'upsert');
    const token = await issuer.sign('austin-engineer');
    const r = await failing.app.inject({
      method: 'GET',
      url: '/v1/data/users/demo-us-1',
      remoteAddress: '127.0.0.1',
      headers: { authorization: `Bearer ${token}`, 'x-forwarded-for': FROM['austin-engineer']! },
    });
    assert.equal(r.statusCode, 503);
    assert.equal((r.json() as { code: string }).code, 'log.unavailable');
    for (const v of ['+15125550101', 'us1@example.com', 'lonestar_lens']) assert.ok(!r.body.includes(v), 'no field value is sent');
    const w = await failing.app.inject({
      method: 'PATCH',
      url: '/v1/data/users/demo-us-1',
      payload: { phone_number: '+15125550177' },
      remoteAddress: '127.0.0.1',
      headers: { authorization: `Bearer ${token}`, 'x-forwarded-for': FROM['austin-engineer']! },
    });
    assert.equal(w.statusCode, 503, 'a permitted write whose decision cannot be recorded is not performed');
    assertSameHidden((await failing.placement.read('users', 'demo-us-1'))?.values['phone_number'], '+15125550101', 'the store is unchanged');
  } finally {
    await failing.close();
  }
});

test('reads of one subject arriving together log one release of its data key, not one each', async () => {
  const releases = async () => (await server.log.records(-1, 100_000)).filter((r) => (r.record as { type?: string }).type === 'key.release').length;
  await server.placement.write(
    'users',
    'test-us-8',
    { ...DEMO_FIXED_USERS[0]!, uid: 'test-us-8', phone_number: '+15125550198', email: 'us8@example.com' },
    'upsert',
  );
  const before = await releases();
  const answers = await Promise.all(Array.from({ length: 40 }, () => as('austin-engineer', 'GET', '/v1/data/users/test-us-8')));
  assert.deepEqual([...new Set(answers.map((r) => r.statusCode))], [200]);
  assert.equal(await releases(), before + 1);
});

test('decide, then decrypt: a data key is released (and logged) only when a protected field is disclosed', async () => {
  const releases = async () => (await server.log.records(-1, 100_000)).filter((r) => (r.record as { type?: string }).type === 'key.release').length;
  await server.placement.write(
    'users',
    'test-us-9',
    { ...DEMO_FIXED_USERS[0]!, uid: 'test-us-9', phone_number: '+15125550199', email: 'us9@example.com' },
    'upsert',
  );
  const before = await releases();
  // The US enclave's record reads, counted (the placement holds this same store object).
  const enclave = server.stores.get('enclave_us')! as { get: (...a: never[]) => Promise<unknown> };
  const realGet = enclave.get;
  let enclaveReads = 0;
  enclave.get = function (this: unknown, ...a: never[]) {
    enclaveReads++;
    return realGet.apply(this, a);
  };
  try {
    // Everything protected is withheld from these two, so test-us-9's data key is never released,
    // and its enclave part is not even read.
    for (const persona of ['beijing-engineer', 'us-analyst']) {
      const r = await as(persona, 'GET', `/v1/data/users/${tok(persona, 'test-us-9')}`);
      assert.equal(r.statusCode, 200, r.body);
      const body = r.json() as { fields: Record<string, unknown>; withheld: { field: string }[] };
      assert.ok(!('phone_number' in body.fields));
      assert.deepEqual(body.withheld.map((w) => w.field).sort(), ['birthday', 'device_id', 'email', 'ip_address', 'phone_number']);
    }
    assert.equal(enclaveReads, 0, 'a read that discloses nothing protected does not read the enclave');
  } finally {
    enclave.get = realGet;
  }
  assert.equal(await releases(), before, 'no key release for reads that disclose nothing protected');
  // austin-engineer (no grant for this subject) sees its contact data and birthday masked: that needs the key, once.
  const a = (await as('austin-engineer', 'GET', '/v1/data/users/test-us-9')).json() as { fields: Record<string, unknown>; withheld: { field: string }[] };
  assert.equal(typeof a.fields['birthday'], 'string');
  assert.match(String(a.fields['birthday']), /^\d{4}$/);
  assert.equal(a.fields['email'], '…@example.com');
  assert.deepEqual(
    a.withheld.map((w) => w.field),
    ['device_id'],
  );
  assert.equal(await releases(), before + 1);
});

test('a store failure after a logged write decision appends a record saying it failed (W5); nothing claims the write took', async () => {
  const placement = server.placement as { write: typeof server.placement.write };
  const real = placement.write;
  placement.write = async () => {
    throw new Error('the store went away');
  };
  let r: Awaited<ReturnType<typeof as>>;
  try {
    r = await as('austin-engineer', 'PATCH', '/v1/data/users/demo-br-1', { bio: 'while the store is down' });
  } finally {
    placement.write = real;
  }
  assert.equal(r.statusCode, 503, r.body);
  assert.equal((r.json() as { code: string }).code, 'gateway.write_failed');
  const size = server.log.size();
  const [permitted, failed] = (await server.log.records(size - 3, 2)).map((s) => s.record as AccessRecordV2);
  assert.equal(permitted!.outcome, 'permitted');
  assert.deepEqual(
    accessRecordFields(permitted!).map((f) => f.field),
    ['bio'],
  );
  assert.equal(failed!.outcome, 'failed');
  assert.equal(failed!.follows, size - 2);
  assert.equal((await server.placement.read('users', 'demo-br-1'))?.values['bio'], 'Beach days in Rio', 'nothing was written');
});

test('an evaluator that throws: 503 decide.evaluation_failed, nothing released, written, or logged as read (fail closed)', async () => {
  const evaluator = server.decider.evaluator;
  const real = evaluator.authorize;
  /** Runs `fn` with the server's evaluator throwing on the requests `when` picks (every one by default). */
  const failing = async <T>(fn: () => Promise<T>, when: (req: Parameters<typeof real>[0]) => boolean = () => true): Promise<T> => {
    evaluator.authorize = (req) => {
      if (when(req)) throw new Error('evaluator crashed');
      return real.call(evaluator, req);
    };
    // Decisions made before the fault are kept and would be answered without asking the evaluator.
    server.decider.forget();
    try {
      return await fn();
    } finally {
      evaluator.authorize = real;
    }
  };
  const all = await server.log.records(-1, 100_000);
  const mark = all.length === 0 ? -1 : all[all.length - 1]!.index;
  const stored = (await server.placement.read('users', 'demo-us-1'))?.values;
  assertSameHidden(stored?.['phone_number'], '+15125550101', 'the stored phone number');
  const values = ['+15125550101', 'us1@example.com', '1994-03-02', String(stored?.['username'])];
  const refused = (r: Awaited<ReturnType<typeof as>>, what: string) => {
    assert.equal(r.statusCode, 503, `${what}: ${r.body}`);
    assert.equal(r.headers['content-type'], 'application/problem+json; charset=utf-8', what);
    const p = r.json() as Record<string, unknown>;
    assert.equal(p['code'], 'decide.evaluation_failed', what);
    assert.deepEqual(Object.keys(p).sort(), ['code', 'detail', 'status', 'title', 'type'], `${what}: a bare problem, no fields`);
    for (const v of values) assert.ok(!r.body.includes(v), `${what}: the body holds ${v}`);
    assert.equal(r.headers['x-cordon-log-index'], undefined, `${what}: no log index`);
  };

  // Reads: by the caller's token (decided after the record is fetched) and by a clear key (the key's own decision fails first).
  refused(await failing(() => as('beijing-engineer', 'GET', `/v1/data/users/${tok('beijing-engineer', 'demo-us-1')}`)), 'read by token');
  refused(await failing(() => as('austin-engineer', 'GET', '/v1/data/users/demo-us-1')), 'read by clear key');
  refused(
    await failing(() => as('austin-engineer', 'POST', '/v1/decide', { dataset: 'users', record: { uid: 'x', country: 'US', phone_number: '+15125550101' } })),
    'decide',
  );
  // Writes change no store.
  refused(
    await failing(() => as('austin-engineer', 'POST', '/v1/data/users', { uid: 'eval-1', username: 'e', country: 'US', phone_number: '+15125550101' })),
    'create',
  );
  assert.equal(await server.placement.read('users', 'eval-1'), undefined, 'the create wrote nothing');
  refused(
    await failing(() => as('beijing-engineer', 'PATCH', `/v1/data/users/${tok('beijing-engineer', 'demo-us-1')}`, { bio: 'changed' })),
    'update by token',
  );
  refused(await failing(() => as('austin-engineer', 'DELETE', '/v1/data/users/demo-us-1')), 'delete');
  assertSameHidden((await server.placement.read('users', 'demo-us-1'))?.values, stored, 'the record is unchanged');
  // A list whose later row fails: the rows decided before it are not recorded as read either.
  const usOnly = (req: Parameters<typeof real>[0]) => req.resource.attrs['jurisdiction'] === 'US';
  refused(await failing(() => as('beijing-engineer', 'GET', '/v1/data/users'), usOnly), 'list failing on its US row');
  refused(await failing(() => as('beijing-engineer', 'GET', '/v1/egress/users?limit=500'), usOnly), 'egress failing on its US rows');

  const after = (await server.log.records(mark, 100_000)).map((s) => s.record as { type?: string; action?: string; outcome?: string });
  assert.deepEqual(
    after.filter((r) => r.action !== undefined),
    [],
    'no access record: nothing claims a read, a decision or a write',
  );
  assert.deepEqual(
    after.filter((r) => r.type !== 'key.release'),
    [],
    'nothing else was logged either',
  );
  // The seam is gone again: the same read succeeds.
  assert.equal((await as('beijing-engineer', 'GET', `/v1/data/users/${tok('beijing-engineer', 'demo-us-1')}`)).statusCode, 200);
});

test('reads answered together (one store statement for many requests) give each caller what it gets alone', async () => {
  // The attack: requests of several principals, for several subjects of several jurisdictions, sent
  // at once so that their record reads share statements; none may carry another request's record
  // or another principal's disclosures. Bodies are compared as hashes (they hold protected values).
  const sha = (s: string) => createHash('sha256').update(s).digest('hex');
  const personas = ['austin-engineer', 'beijing-engineer', 'us-analyst', 'legacy-admin'];
  const asks = personas.flatMap((p) => DEMO_FIXED_USERS.map((u) => ({ persona: p, uid: u['uid']! })));
  const url = (a: { persona: string; uid: string }) => `/v1/data/users/${a.persona === 'austin-engineer' ? a.uid : tok(a.persona, a.uid)}`;
  const alone: string[] = [];
  for (const a of asks) {
    const r = await as(a.persona, 'GET', url(a));
    alone.push(`${r.statusCode} ${sha(r.body)}`);
  }
  for (let round = 0; round < 3; round++) {
    const together = await Promise.all(
      asks.map(async (a) => {
        const r = await as(a.persona, 'GET', url(a));
        return `${r.statusCode} ${sha(r.body)}`;
      }),
    );
    assert.deepEqual(together, alone, `round ${round}`);
  }
  assert.ok(alone.some((x) => x.startsWith('200')));
});

test("a field in clear says why: its rules and the grant that released it, and only ever the caller's own grant", async () => {
  type Released = Record<string, { rules: string[]; category?: string; class?: string; grant: Record<string, unknown> | null }>;
  const e = (await as('austin-engineer', 'GET', '/v1/data/users/demo-us-1')).json() as { released: Released; transformed: Record<string, unknown> };
  assert.deepEqual(e.released['phone_number'], {
    rules: ['enclave-grant-clear'],
    category: 'user.contact.phone_number',
    class: 'protected',
    grant: { id: 'g-1', reason: 'USER_SUPPORT', ticket: '', expiresAt: new Date(GRANT.expiresAt).toISOString(), breakGlass: false },
  });
  assert.equal(e.released['username']?.grant, null, 'a public field needs no grant');
  assert.ok(!('birthday' in e.released), 'a masked field is explained under transformed, not released');
  // The same principal, a subject the grant does not cover: no grant is named.
  const otherRead = await as('austin-engineer', 'GET', `/v1/data/users/${tok('austin-engineer', 'demo-eu-1')}`);
  assert.equal(otherRead.statusCode, 200);
  const other = otherRead.json() as { released: Released };
  assert.ok(Object.keys(other.released).length > 0);
  assert.deepEqual(
    Object.values(other.released).filter((r) => r.grant !== null),
    [],
  );
  // The attack: every other principal reads the record austin-engineer's grant covers, from its own
  // site, by the key it may use; none learns that the grant exists (its id, reason or expiry).
  for (const persona of ['beijing-engineer', 'us-analyst', 'legacy-admin', 'recsys-service', 'austin-approver-a']) {
    for (const key of ['demo-us-1', tok(persona, 'demo-us-1')]) {
      const r = await as(persona, 'GET', `/v1/data/users/${encodeURIComponent(key)}`);
      assert.ok(
        !r.body.includes('g-1') && !r.body.includes(new Date(GRANT.expiresAt).toISOString()),
        `${persona} (status ${r.statusCode}) learnt of another's grant`,
      );
      if (r.statusCode === 200) {
        const released = (r.json() as { released: Released }).released;
        assert.deepEqual(
          Object.values(released).filter((x) => x.grant !== null),
          [],
          persona,
        );
      }
    }
  }
});
