// /metrics on a running server (demo policy, real tokens, the broker's own grants) under a couple of
// hundred concurrent reads over HTTP: a scrape taken during the load passes `promtool check metrics`,
// the values that are knowable are exact, no label carries user data, and every metric the Grafana
// dashboard (docs/grafana-dashboard.json) queries is exported. Slow: the server and the load take
// about 10 s of CPU (test/metrics.test.ts checks the names and the dashboard in a second).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { loadPolicy } from '../src/policy/index.js';
import type { Actor } from '../src/access/index.js';
import { createCordonServer, createDemoIssuer, DEMO_FIXED_USERS, type CordonServer, type DemoIssuer } from '../src/server/index.js';
import { checkDashboard, parseExposition, promtool, sample, type Exposition } from './helpers/metrics.js';
import { DEMO_POLICY } from './helpers/paths.js';
import { tempDir } from './helpers/temp.js';

const loaded = loadPolicy(DEMO_POLICY);
assert.ok(loaded.ok);
const policy = loaded.policy;
let server: CordonServer;
let issuer: DemoIssuer;
let base: string;

/** Where austin-engineer's requests come from (cordon.yaml's locations), behind the trusted proxy. */
const AUSTIN = '10.20.0.5';
const READ = '/v1/data/users/demo-us-1';

function actor(id: string): Actor {
  const principal = policy.directory.principals.get(id)!;
  return { principal, country: 'US', site: principal.site, knownPlace: true };
}

before(async () => {
  issuer = await createDemoIssuer();
  server = await createCordonServer({
    policy,
    dataDir: tempDir('cordon-metrics-'),
    tokens: { issuer: issuer.issuer, audience: issuer.audience, jwks: issuer.jwks },
    storeUrls: Object.fromEntries([...policy.deployment.stores.keys()].map((s) => [s, 'pglite://memory'])),
    trustedProxies: ['127.0.0.1/32'],
  });
  for (const u of DEMO_FIXED_USERS) await server.placement.write('users', u['uid']!, u, 'upsert');
  await server.app.listen({ port: 0, host: '127.0.0.1' });
  base = `http://127.0.0.1:${(server.app.server.address() as AddressInfo).port}`;
});
after(async () => server.close());

async function scrape(): Promise<Exposition> {
  const r = await fetch(`${base}/metrics`);
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  return parseExposition(await r.text());
}

async function read(token: string): Promise<boolean> {
  const r = await fetch(`${base}${READ}`, { headers: { authorization: `Bearer ${token}`, 'x-forwarded-for': AUSTIN } });
  await r.arrayBuffer();
  assert.equal(r.status, 200);
  return /^\d+$/.test(r.headers.get('x-cordon-log-index') ?? '');
}

test('a scrape under load passes promtool; appends, entries, grants, key releases and refusals are exact', async () => {
  // The broker's own grants: one approved, one break-glass (open until reviewed), one request pending.
  const eng = actor('austin-engineer');
  const scope = { datasets: ['users'], categories: ['user.contact'], subjects: ['demo-us-1'], reason: 'USER_SUPPORT', ticket: 'SUP-1' };
  const r = await server.broker.request(eng, { ...scope, duration: '1h' });
  await server.broker.approve(actor('austin-approver-a'), r.id, {});
  await server.broker.approve(actor('austin-approver-b'), r.id, {});
  await server.broker.breakGlass(eng, { ...scope, justification: 'incident in progress', duration: '30m' });
  await server.broker.request(eng, { ...scope, ticket: 'SUP-2', duration: '1h' });

  let signedAt = 0;
  server.log.events.on('checkpoint', () => (signedAt = Date.now()));
  const token = await issuer.sign('austin-engineer');
  // The first read decrypts demo-us-1's protected fields: one key release, logged, then none for minutes.
  assert.ok(await read(token));
  const before = await scrape();
  assert.equal(sample(before, 'cordon_key_releases_total{dataset="users"}'), 1);
  const appendsBefore = sample(before, 'cordon_log_appends_total');

  // A few hundred reads in flight at once, for about two seconds; one scrape in the middle.
  const WORKERS = 200;
  const until = Date.now() + 2000;
  let logged = 0;
  let reads = 0;
  const load = Array.from({ length: WORKERS }, async () => {
    while (Date.now() < until) {
      reads++;
      if (await read(token)) logged++;
    }
  });
  await new Promise((done) => setTimeout(done, 1000));
  const during = await scrape();
  await Promise.all(load);
  assert.ok(reads >= WORKERS, `${reads} reads`);
  assert.equal(logged, reads, 'every read that released a field was logged');

  const linted = promtool(during.text);
  assert.deepEqual(linted, { status: 0, output: '' }, 'promtool check metrics finds nothing to say');
  // One scrape is one snapshot of the log: its histograms hold exactly the entries the counter counts.
  const appendsDuring = sample(during, 'cordon_log_appends_total');
  assert.ok(appendsDuring > appendsBefore, 'the scrape saw the load');
  assert.equal(sample(during, 'cordon_log_append_duration_seconds_count'), appendsDuring);
  assert.equal(sample(during, 'cordon_log_append_duration_seconds_bucket{le="+Inf"}'), appendsDuring);
  assert.equal(sample(during, 'cordon_log_batch_size_sum'), appendsDuring);
  assert.ok(sample(during, 'nodejs_heap_size_used_bytes') > 0);
  assert.ok(sample(during, 'process_cpu_seconds_total') > 0);

  // Token refusals by reason: a malformed token, and no token at all.
  const refused = async (authorization?: string) =>
    (await fetch(`${base}${READ}`, { headers: { ...(authorization ? { authorization } : {}), 'x-forwarded-for': AUSTIN } })).status;
  assert.equal(await refused('Bearer not-a-jwt'), 401);
  assert.equal(await refused(), 401);

  // Once the last checkpoint covers the log, none is signed until it grows: its age is then exact.
  while (server.log.checkpoint().size !== server.log.size()) await new Promise((done) => setTimeout(done, 50));
  const scrapeFrom = Date.now();
  const end = await scrape();
  const scrapeTo = Date.now();
  assert.deepEqual(promtool(end.text), { status: 0, output: '' });
  assert.equal(sample(end, 'cordon_log_appends_total') - appendsBefore, logged, 'one durable entry per logged read, nothing else');
  assert.equal(sample(end, 'cordon_log_entries'), server.log.size());
  assert.equal(sample(end, 'cordon_log_append_failures_total'), 0);
  assert.equal(sample(end, 'cordon_log_queue_depth'), 0);
  assert.equal(sample(end, 'cordon_log_up'), 1);
  assert.ok(sample(end, 'cordon_log_checkpoints_signed_total') >= 1);
  assert.equal(sample(end, 'cordon_log_checkpoint_size'), server.log.checkpoint().size);
  const age = sample(end, 'cordon_log_checkpoint_age_seconds');
  assert.ok(signedAt > 0, 'checkpoints were signed during the load');
  assert.ok(age >= (scrapeFrom - signedAt) / 1000 - 0.005 && age <= (scrapeTo - signedAt) / 1000 + 0.005, `checkpoint age ${age} s is now less its signing`);
  assert.equal(sample(end, 'cordon_key_releases_total{dataset="users"}'), 1, 'the key was released once, before the load');
  assert.equal(sample(end, 'cordon_http_requests_total{method="GET",route="/v1/data/:dataset/:key",status="200"}'), reads + 1);
  assert.equal(sample(end, 'cordon_http_requests_total{method="GET",route="/v1/data/:dataset/:key",status="401"}'), 2);
  assert.equal(sample(end, 'cordon_token_verification_failures_total{reason="invalid_token"}'), 1);
  assert.equal(sample(end, 'cordon_token_verification_failures_total{reason="missing_token"}'), 1);
  assert.equal(sample(end, 'cordon_jwks_fetches_total'), 0, 'a local key set is never fetched');
  assert.equal(sample(end, 'cordon_grants_active'), 2);
  assert.equal(sample(end, 'cordon_grants_made_total'), 2);
  assert.equal(sample(end, 'cordon_break_glass_open'), 1);
  assert.equal(sample(end, 'cordon_access_requests_pending'), 1);
  assert.equal(sample(end, 'cordon_grants_revoked_total'), 0);
  for (const store of policy.deployment.stores.keys()) assert.equal(sample(end, `cordon_store_up{store="${store}"}`), 1, store);
  // Labels name routes, datasets, stores and closed sets: never a record key or a user's value.
  for (const u of DEMO_FIXED_USERS)
    for (const v of Object.values(u)) if (typeof v === 'string' && v.length > 3) assert.ok(!end.text.includes(v), 'no user value');
  assert.ok(!end.text.includes('demo-us-'), 'no record key');
});

test('the Grafana dashboard reads only metrics this running server exports', async () => {
  checkDashboard(await scrape());
});
