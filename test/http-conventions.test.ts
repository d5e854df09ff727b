// HTTP conventions of the server in process (fastify.inject) over the demo policy: 405 with Allow,
// 404 for a path no route has, 415 for bodies that are not JSON, gzip bodies (and gzip bombs), the
// Bearer challenge of every 401, and no-store on answers that may carry user data. Every refusal here
// is checked to change nothing: no store table and no log entry.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { loadPolicy, type GrantInfo } from '../src/policy/index.js';
import { createCordonServer, createDemoIssuer, DEMO_FIXED_USERS, type CordonServer, type DemoIssuer } from '../src/server/index.js';
import { ERROR_CODES } from '../src/shared/errors.js';
import { DEMO_POLICY } from './helpers/paths.js';
import { tempDir } from './helpers/temp.js';

const loaded = loadPolicy(DEMO_POLICY);
assert.ok(loaded.ok);
const policy = loaded.policy;
const BODY_LIMIT = 16 * 1024;
const LINEAGE_LIMIT = 32 * 1024;
const NOW = Date.now();
const GRANT: GrantInfo = {
  id: 'g-1',
  datasets: ['users'],
  categories: ['user.contact'],
  subjects: ['demo-us-1'],
  expiresAt: NOW + 3_600_000,
  reason: 'USER_SUPPORT',
};
/** Where each persona asks from (addresses in the demo's cordon.yaml locations). */
const FROM: Record<string, string> = { 'austin-engineer': '10.20.0.5', monitor: '10.21.0.9', 'lineage-collector': '10.21.0.9' };

let server: CordonServer;
let issuer: DemoIssuer;
before(async () => {
  issuer = await createDemoIssuer();
  server = await createCordonServer({
    policy,
    dataDir: tempDir('cordon-http-'),
    tokens: { issuer: issuer.issuer, audience: issuer.audience, jwks: issuer.jwks },
    storeUrls: Object.fromEntries([...policy.deployment.stores.keys()].map((s) => [s, 'pglite://memory'])),
    trustedProxies: ['127.0.0.1/32'],
    grantsOf: (p) => (p === 'austin-engineer' ? [GRANT] : []),
    bodyLimit: BODY_LIMIT,
    maxLineageEventBytes: LINEAGE_LIMIT,
  });
  for (const u of DEMO_FIXED_USERS) await server.placement.write('users', u['uid']!, u, 'upsert');
});
after(async () => server.close());

interface Ask {
  readonly as?: string;
  readonly headers?: Record<string, string>;
  readonly payload?: string | Buffer;
}

async function ask(method: string, url: string, o: Ask = {}) {
  const auth = o.as ? { authorization: `Bearer ${await issuer.sign(o.as)}`, 'x-forwarded-for': FROM[o.as] ?? '203.0.113.1' } : {};
  return server.app.inject({
    method: method as 'GET',
    url,
    payload: o.payload,
    remoteAddress: '127.0.0.1',
    headers: { ...auth, ...o.headers },
  });
}

const sha = (v: unknown) => createHash('sha256').update(JSON.stringify(v)).digest('hex');

/** Every table of every store as a digest, and the access log's size: equal while nothing was written. */
async function state(): Promise<{ log: number; tables: string }> {
  const digests: string[] = [];
  for (const s of server.stores.values()) {
    // Left out: what timers write whatever the requests (signed checkpoints; the console's hourly
    // decision counts, flushed every 30 s). A decision that was logged shows in the log's size.
    const tables = (await s.tables()).filter((t) => !/checkpoints|decision_hours/.test(t)).sort();
    for (const [t, d] of [...(await s.fingerprints(tables)).entries()].sort()) digests.push(`${s.name}/${t}=${d}`);
  }
  return { log: server.log.size(), tables: sha(digests) };
}

/** Checks a problem answer: status, type, title (the registry's), and the headers every problem carries. */
function assertProblem(r: Awaited<ReturnType<typeof ask>>, status: number, code: keyof typeof ERROR_CODES, what: string): Record<string, unknown> {
  // The body is named by its hash only: a failure prints no value a request may have drawn out.
  assert.equal(r.statusCode, status, `${what}: status (body sha256 ${sha(r.body).slice(0, 12)})`);
  assert.equal(r.headers['content-type'], 'application/problem+json; charset=utf-8', what);
  assert.equal(r.headers['cache-control'], 'no-store', what);
  assert.equal(r.headers['x-content-type-options'], 'nosniff', what);
  const body = r.json() as Record<string, unknown>;
  assert.equal(body['code'], code, what);
  assert.equal(body['type'], `https://cordon.dev/errors/${code}`, what);
  assert.equal(body['title'], ERROR_CODES[code].message, what);
  assert.equal(body['status'], status, what);
  return body;
}

/** The members every problem has (PROBLEM_SCHEMA's required ones), sorted. */
const PROBLEM_MEMBERS = ['code', 'detail', 'status', 'title', 'type'];

const USER = { username: 'zipped', country: 'US', phone_number: '+15125550142', bio: 'sent compressed' };
const JSON_TYPE = { 'content-type': 'application/json' };
const lineageEvent = (bucket: string) =>
  JSON.parse(
    readFileSync(join(DEMO_POLICY, 'flows/lineage.ndjson'), 'utf8')
      .split('\n')[1]!
      .replaceAll('s3://partner-exports-sg', bucket)
      .replaceAll('exports.partner_contacts', `exports.${bucket.slice('s3://'.length)}`),
  ) as Record<string, unknown>;

test('a known path with another method: 405 with Allow, the same whoever asks and whether or not the record exists', async () => {
  const cases: { method: string; url: string; allow: string; pattern: string }[] = [
    { method: 'PUT', url: '/v1/data/users/demo-us-1', allow: 'GET, PATCH, DELETE', pattern: '/v1/data/:dataset/:key' },
    { method: 'POST', url: '/v1/data/users/demo-us-1', allow: 'GET, PATCH, DELETE', pattern: '/v1/data/:dataset/:key' },
    { method: 'DELETE', url: '/v1/data/users', allow: 'GET, POST', pattern: '/v1/data/:dataset' },
    { method: 'OPTIONS', url: '/v1/data/users', allow: 'GET, POST', pattern: '/v1/data/:dataset' },
    { method: 'POST', url: '/v1/log/records', allow: 'GET', pattern: '/v1/log/records' },
    { method: 'DELETE', url: '/v1/log/records/0', allow: 'GET', pattern: '/v1/log/records/:index' },
    { method: 'GET', url: '/api/v1/lineage', allow: 'POST', pattern: '/api/v1/lineage' },
    { method: 'PATCH', url: '/v1/access/requests/r-1/approve', allow: 'POST', pattern: '/v1/access/requests/:id/approve' },
  ];
  const before = await state();
  for (const c of cases) {
    const what = `${c.method} ${c.url}`;
    const r = await ask(c.method, c.url, { as: 'austin-engineer', headers: JSON_TYPE, payload: c.method === 'GET' ? undefined : '{"bio":"x"}' });
    const body = assertProblem(r, 405, 'gateway.method_not_allowed', what);
    assert.equal(r.headers['allow'], c.allow, what);
    // The body is exactly what the Problem schema names, as a route's problem is: the methods are in Allow.
    assert.deepEqual(Object.keys(body).sort(), PROBLEM_MEMBERS, what);
    assert.equal(body['detail'], `${c.pattern} takes ${c.allow}, not ${c.method}`, what);
    // Decided on the path's pattern alone, before anyone is identified: no token, a garbage token,
    // a key no record has, or a body that is not JSON get the very same answer.
    const variants = [
      await ask(c.method, c.url),
      await ask(c.method, c.url, { headers: { authorization: 'Bearer garbage' } }),
      await ask(c.method, c.url.replace('demo-us-1', 'no-such-user').replace('/0', '/999999'), { as: 'austin-engineer' }),
      await ask(c.method, c.url, { as: 'monitor', headers: { 'content-type': 'text/plain' }, payload: c.method === 'GET' ? undefined : 'x' }),
    ];
    for (const v of variants) {
      assert.equal(v.statusCode, 405, what);
      assert.equal(v.headers['allow'], c.allow, what);
      assert.equal(v.body, r.body, `${what}: same answer whoever asks`);
      assert.equal(v.headers['www-authenticate'], undefined, what);
    }
  }
  assert.deepEqual(await state(), before, 'no 405 read, logged or stored anything');
});

test('a path no route has: 404 gateway.no_route, not the title of a missing record', async () => {
  const before = await state();
  for (const [method, url] of [
    ['GET', '/v1/nope'],
    ['POST', '/v1/data'],
    ['GET', '/v1/data/users/demo-us-1/extra'],
    ['DELETE', '/nothing/here?x=1'],
  ] as const) {
    const r = await ask(method, url, { as: 'austin-engineer' });
    const body = assertProblem(r, 404, 'gateway.no_route', `${method} ${url}`);
    assert.equal(body['detail'], `no route ${method} ${url.split('?')[0]}; /openapi.json lists the routes`);
    assert.deepEqual(Object.keys(body).sort(), PROBLEM_MEMBERS, `${method} ${url}: the Problem schema's members, no other`);
    assert.equal(r.headers['allow'], undefined);
  }
  // A body that is not JSON, or over the limit, to a path no route has is still a 404: the path is
  // judged before the body is looked at.
  const r = await ask('POST', '/v1/nope', { headers: { 'content-type': 'application/xml' }, payload: 'x'.repeat(BODY_LIMIT * 2) });
  assertProblem(r, 404, 'gateway.no_route', 'POST /v1/nope with XML over the limit');
  // Routes that are there but serve nothing here answer as a path no route has.
  for (const url of ['/assets/no-such-asset.js', '/v1/demo/personas']) assertProblem(await ask('GET', url), 404, 'gateway.no_route', url);
  // What Fastify's router refuses before any hook runs is a problem too, and does not quote the path.
  const long = await ask('GET', `/v1/data/users/${'k'.repeat(2049)}`, { as: 'austin-engineer' });
  assert.equal(
    assertProblem(long, 400, 'gateway.invalid_input', 'a key over the router limit')['detail'],
    'a path segment is longer than any key, token or name may be (2048 characters)',
  );
  const badUrl = await ask('GET', '/v1/data/users/%zz', { as: 'austin-engineer' });
  assert.equal(assertProblem(badUrl, 400, 'gateway.invalid_input', 'bad percent-encoding')['detail'], 'the path is not valid percent-encoding (RFC 3986)');
  // The record-not-found problem keeps its own title.
  const missing = await ask('GET', '/v1/data/users/no-such-user', { as: 'austin-engineer' });
  assertProblem(missing, 404, 'gateway.not_found', 'GET a key no record has');
  assert.notEqual(ERROR_CODES['gateway.no_route'].message, ERROR_CODES['gateway.not_found'].message);
  const after = await state();
  assert.equal(after.tables, before.tables);
});

test('a body that is not JSON, or is encoded other than gzip, is 415 naming what was sent and what is taken; nothing changes', async () => {
  const json = JSON.stringify({ uid: 'not-json-1', ...USER });
  const cases: { what: string; headers: Record<string, string>; detail: RegExp; received: Record<string, unknown> }[] = [
    {
      what: 'text/plain',
      headers: { 'content-type': 'text/plain' },
      detail: /^the body is "text\/plain"; routes take application\/json/,
      received: { contentType: 'text/plain' },
    },
    {
      what: 'XML',
      headers: { 'content-type': 'application/xml; charset=utf-8' },
      detail: /^the body is "application\/xml"; routes take application\/json/,
      received: { contentType: 'application/xml' },
    },
    {
      what: 'a form',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      detail: /^the body is "application\/x-www-form-urlencoded"/,
      received: { contentType: 'application/x-www-form-urlencoded' },
    },
    { what: 'no content type', headers: {}, detail: /^the body has no Content-Type; send it as application\/json$/, received: {} },
    {
      what: 'JSON in Latin-1',
      headers: { 'content-type': 'application/json; charset=iso-8859-1' },
      detail: /^the body's charset is "iso-8859-1"; JSON bodies are UTF-8$/,
      received: { contentType: 'application/json', charset: 'iso-8859-1' },
    },
    {
      what: 'Content-Encoding br',
      headers: { 'content-type': 'application/json', 'content-encoding': 'br' },
      detail: /^the body is sent with Content-Encoding "br"; only gzip \(or none\) is accepted$/,
      received: { contentEncoding: ['br'] },
    },
    {
      what: 'Content-Encoding compress',
      headers: { 'content-type': 'application/json', 'content-encoding': 'compress' },
      detail: /Content-Encoding "compress"/,
      received: { contentEncoding: ['compress'] },
    },
    {
      what: 'gzip then br',
      headers: { 'content-type': 'application/json', 'content-encoding': 'gzip, br' },
      detail: /Content-Encoding "gzip, br"/,
      received: { contentEncoding: ['gzip', 'br'] },
    },
    {
      what: 'an unknown encoding',
      headers: { 'content-type': 'application/json', 'content-encoding': 'zstd-ish' },
      detail: /Content-Encoding "zstd-ish"/,
      received: { contentEncoding: ['zstd-ish'] },
    },
  ];
  const before = await state();
  for (const c of cases) {
    for (const [method, url] of [
      ['POST', '/v1/data/users'],
      ['PATCH', '/v1/data/users/demo-us-1'],
      ['POST', '/api/v1/lineage'],
      ['POST', '/v1/access/requests'],
    ] as const) {
      const what = `${c.what} to ${method} ${url}`;
      const r = await ask(method, url, { as: 'austin-engineer', headers: c.headers, payload: json });
      const body = assertProblem(r, 415, 'gateway.unsupported_media_type', what);
      assert.match(String(body['detail']), c.detail, what);
      assert.deepEqual(body['received'], c.received, what);
      assert.deepEqual(Object.keys(body).sort(), [...PROBLEM_MEMBERS, 'expected', 'received'].sort(), what);
      assert.equal((body['expected'] as { contentType: string }).contentType, 'application/json', what);
    }
  }
  // Decided before identification: the same 415 without a token (no 401 that would need one first).
  const anonymous = await ask('POST', '/v1/data/users', { headers: { 'content-type': 'text/plain' }, payload: json });
  assertProblem(anonymous, 415, 'gateway.unsupported_media_type', 'text/plain without a token');
  assert.equal(await server.placement.read('users', 'not-json-1'), undefined);
  assert.deepEqual(await state(), before, 'no 415 logged or stored anything');
  // JSON with its parameters spelt otherwise is JSON.
  const ok = await ask('POST', '/v1/data/users', {
    as: 'austin-engineer',
    headers: { 'content-type': 'Application/JSON; Charset="UTF-8"', 'content-encoding': 'identity' },
    payload: JSON.stringify({ uid: 'json-case-1', ...USER }),
  });
  assert.equal(ok.statusCode, 201);
});

test('gzip bodies are inflated: the write and the lineage event store what the plain request stores', async () => {
  const untouched = await state();
  const zipped = await ask('POST', '/v1/data/users', {
    as: 'austin-engineer',
    headers: { ...JSON_TYPE, 'content-encoding': 'gzip' },
    payload: gzipSync(JSON.stringify({ uid: 'gz-1', ...USER })),
  });
  assert.equal(zipped.statusCode, 201);
  const plain = await ask('POST', '/v1/data/users', { as: 'austin-engineer', headers: JSON_TYPE, payload: JSON.stringify({ uid: 'gz-2', ...USER }) });
  assert.equal(plain.statusCode, 201);
  const stored = async (uid: string) => {
    const r = await server.placement.read('users', uid);
    assert.ok(r, uid);
    const { uid: _uid, ...rest } = r.values;
    return { jurisdiction: r.jurisdiction, values: sha(rest), keys: Object.keys(rest).sort() };
  };
  const [a, b] = [await stored('gz-1'), await stored('gz-2')];
  assert.deepEqual(a, b, 'the gzip request stored what the plain one did');
  assert.equal(a.jurisdiction, 'US');

  const rows = async () => server.stores.get(policy.deployment.globalStore)!.readLog('lineage_events', 0, 100_000);
  const before = (await rows()).length;
  const event = lineageEvent('s3://gzipped-bucket');
  const lineage = await ask('POST', '/api/v1/lineage', {
    as: 'lineage-collector',
    // What the OpenLineage HTTP transport sends with compression: gzip.
    headers: { 'content-type': 'application/json; charset=utf-8', 'content-encoding': 'gzip' },
    payload: gzipSync(JSON.stringify([event])),
  });
  assert.equal(lineage.statusCode, 201);
  assert.deepEqual(lineage.json(), { stored: 1, duplicates: 0 });
  const plainEvent = lineageEvent('s3://plain-bucket');
  assert.equal((await ask('POST', '/api/v1/lineage', { as: 'lineage-collector', headers: JSON_TYPE, payload: JSON.stringify(plainEvent) })).statusCode, 201);
  const after = await rows();
  assert.equal(after.length, before + 2);
  assert.deepEqual(after.at(-2)!.entry, event);
  assert.deepEqual(after.at(-1)!.entry, plainEvent);
  // The state the refusals below compare is one that writes do change.
  const written = await state();
  assert.ok(written.log > untouched.log && written.tables !== untouched.tables);
  // A NUL byte inside a gzip body is found once inflated.
  const nul = await ask('POST', '/v1/data/users', {
    as: 'austin-engineer',
    headers: { ...JSON_TYPE, 'content-encoding': 'x-gzip' },
    payload: gzipSync(JSON.stringify({ uid: 'gz-nul', ...USER, bio: 'a\u0000b' })),
  });
  assertProblem(nul, 400, 'gateway.invalid_input', 'a NUL byte in a gzip body');
});

test('a gzip bomb is 413 once inflated past the limit; corrupt gzip is 400; neither writes or logs anything', async () => {
  const inflated = 8 * 1024 * 1024;
  const bomb = gzipSync(Buffer.concat([Buffer.from('{"uid":"bomb-1","bio":"'), Buffer.alloc(inflated, 'x'), Buffer.from('"}')]), { level: 9 });
  assert.ok(bomb.length < BODY_LIMIT, 'the bomb is under the limit as sent');
  const lineageBomb = gzipSync(Buffer.concat([Buffer.from('[{"eventType":"'), Buffer.alloc(inflated, 'x'), Buffer.from('"}]')]), { level: 9 });
  const before = await state();
  const r = await ask('POST', '/v1/data/users', { as: 'austin-engineer', headers: { ...JSON_TYPE, 'content-encoding': 'gzip' }, payload: bomb });
  assertProblem(r, 413, 'gateway.payload_too_large', 'a gzip bomb to a write route');
  const l = await ask('POST', '/api/v1/lineage', { as: 'lineage-collector', headers: { ...JSON_TYPE, 'content-encoding': 'gzip' }, payload: lineageBomb });
  assertProblem(l, 413, 'flows.event_too_large', 'a gzip bomb to the lineage route');
  // Just past the limit once inflated is refused too; just under is read (and refused for its content).
  const over = gzipSync(JSON.stringify({ uid: 'bomb-2', bio: 'y'.repeat(BODY_LIMIT) }));
  assertProblem(
    await ask('POST', '/v1/data/users', { as: 'austin-engineer', headers: { ...JSON_TYPE, 'content-encoding': 'gzip' }, payload: over }),
    413,
    'gateway.payload_too_large',
    'one inflated byte over',
  );
  const corrupt = Buffer.from(bomb.subarray(0, 64));
  const c = await ask('POST', '/v1/data/users', { as: 'austin-engineer', headers: { ...JSON_TYPE, 'content-encoding': 'gzip' }, payload: corrupt });
  const body = assertProblem(c, 400, 'gateway.invalid_body', 'a truncated gzip body');
  assert.match(String(body['detail']), /^the gzip-encoded body does not inflate \(Z_[A-Z_]+\)$/);
  const notGzip = await ask('POST', '/v1/data/users', { as: 'austin-engineer', headers: { ...JSON_TYPE, 'content-encoding': 'gzip' }, payload: '{"uid":"x"}' });
  assertProblem(notGzip, 400, 'gateway.invalid_body', 'plain JSON that says it is gzip');
  assert.equal(await server.placement.read('users', 'bomb-1'), undefined);
  assert.equal(await server.placement.read('users', 'bomb-2'), undefined);
  assert.deepEqual(await state(), before, 'no 413 or corrupt body logged or stored anything');
});

test('every 401 carries the Bearer challenge of RFC 6750: no error code without a token, invalid_token with a bad one', async () => {
  const none = await ask('GET', '/v1/data/users/demo-us-1');
  assertProblem(none, 401, 'auth.missing_token', 'no token');
  assert.equal(none.headers['www-authenticate'], 'Bearer realm="cordon"');
  const basic = await ask('GET', '/v1/log/records', { headers: { authorization: 'Basic dXNlcjpwYXNz' } });
  assertProblem(basic, 401, 'auth.missing_token', 'Basic credentials');
  assert.equal(basic.headers['www-authenticate'], 'Bearer realm="cordon"');
  const garbage = await ask('GET', '/v1/data/users/demo-us-1', { headers: { authorization: 'Bearer garbage' } });
  assertProblem(garbage, 401, 'auth.invalid_token', 'garbage token');
  assert.equal(
    garbage.headers['www-authenticate'],
    'Bearer realm="cordon", error="invalid_token", error_description="The bearer token is malformed or its claims have the wrong form."',
  );
  const expiredToken = await issuer.sign('austin-engineer', { now: new Date(NOW - 24 * 3600_000) });
  const expired = await ask('GET', '/v1/access/requests', { headers: { authorization: `Bearer ${expiredToken}` } });
  assertProblem(expired, 401, 'auth.expired', 'expired token');
  assert.equal(expired.headers['www-authenticate'], 'Bearer realm="cordon", error="invalid_token", error_description="The token has expired."');
  // The lineage route identifies its caller in its own hook: its 401 has the challenge too.
  const lineage = await ask('POST', '/api/v1/lineage', { headers: JSON_TYPE, payload: '{}' });
  assertProblem(lineage, 401, 'auth.missing_token', 'lineage without a token');
  assert.equal(lineage.headers['www-authenticate'], 'Bearer realm="cordon"');
  // A 403 is not a 401: no challenge (a new token would not change the answer).
  const forbidden = await ask('GET', '/v1/log/records', { as: 'austin-engineer' });
  assertProblem(forbidden, 403, 'log.not_auditor', 'not an auditor');
  assert.equal(forbidden.headers['www-authenticate'], undefined);
});

test('answers that may carry user data or live state are no-store; the OpenAPI document may be cached', async () => {
  const read = await ask('GET', '/v1/data/users/demo-us-1', { as: 'austin-engineer' });
  assert.equal(read.statusCode, 200);
  assert.equal(read.headers['cache-control'], 'no-store');
  assert.equal(read.headers['x-content-type-options'], 'nosniff');
  const list = await ask('GET', '/v1/data/users?limit=2', { as: 'austin-engineer' });
  assert.deepEqual([list.statusCode, list.headers['cache-control']], [200, 'no-store']);
  const index = server.log.size() - 1;
  const record = await ask('GET', `/v1/log/records/${index}`, { as: 'monitor' });
  assert.equal(record.statusCode, 200);
  assert.equal(record.headers['cache-control'], 'no-store');
  assertProblem(await ask('GET', '/v1/data/users/no-such-user', { as: 'austin-engineer' }), 404, 'gateway.not_found', 'a problem');
  for (const url of ['/v1/access/requests', '/v1/flows/leaks', '/v1/console/overview']) {
    const r = await ask('GET', url, { as: 'monitor' });
    assert.deepEqual([r.statusCode, r.headers['cache-control']], [200, 'no-store'], url);
  }
  for (const url of ['/healthz', '/readyz', '/metrics', '/v1/console/info', '/log/checkpoint']) {
    const r = await ask('GET', url);
    assert.deepEqual([r.statusCode, r.headers['cache-control']], [200, 'no-store'], url);
  }
  const openapi = await ask('GET', '/openapi.json');
  assert.equal(openapi.statusCode, 200);
  assert.equal(openapi.headers['cache-control'], undefined);
  assert.equal(openapi.headers['x-content-type-options'], 'nosniff');
});
