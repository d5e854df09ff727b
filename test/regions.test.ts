// Regional gateways (cordon up --region): three gateways, one per region of the demo policy, each
// holding only the global store and its own enclave's (three databases of one real PostgreSQL). A
// record of another region is redirected (307) to that region's gateway before anything is read,
// decided, logged or written here; each region keeps its own access log; a write that would move a
// subject to another region is refused. The same across real hosts (network namespaces, HAProxy,
// faults) is test/regions-hosts.slow.test.ts.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import postgres from 'postgres';
import { regionalPolicy, type Policy } from '../src/policy/index.js';
import { createCordonServer, DEMO_FIXED_USERS, type CordonServer } from '../src/server/index.js';
import { DEMO_POLICY } from './helpers/paths.js';
import { tempDir } from './helpers/temp.js';
import { cordonAsync } from './helpers/cli.js';
import { hashOf } from './helpers/hidden.js';
import { REGIONS, startRegions, type Region, type Regions } from './helpers/regions.js';

let regions: Regions;
let policy: Policy;
let urls: Readonly<Record<string, string>>;
let servers: Readonly<Record<Region, CordonServer>>;
let bases: Readonly<Record<Region, string>>;
let sign: Regions['sign'];
let call: Regions['call'];
let tokens: Regions['tokens'];

before(async () => {
  regions = await startRegions('r');
  ({ policy, urls, servers, bases, sign, call, tokens } = regions);
});

after(async () => regions?.close());

async function tableRows(db: string, table: string): Promise<Record<string, unknown>[]> {
  const sql = postgres(urls[db]!, { max: 1, onnotice: () => {} });
  try {
    return (await sql.unsafe(`SELECT * FROM ds_${table}`)) as unknown as Record<string, unknown>[];
  } finally {
    await sql.end({ timeout: 5 });
  }
}

test('a regional gateway opens only the global store and its own enclave, and keeps its own log', async () => {
  assert.deepEqual([...servers.us.stores.keys()].sort(), ['enclave_us', 'global']);
  assert.deepEqual([...servers.eu.stores.keys()].sort(), ['enclave_eu', 'global']);
  assert.deepEqual([...servers.global.stores.keys()], ['global']);
  for (const r of REGIONS) {
    const cp = await (await fetch(`${bases[r]}/log/checkpoint`)).text();
    assert.equal(cp.split('\n')[0], `demo.cordon.invalid/access/${r}`);
  }
  // Three logs, three keys.
  assert.equal(new Set(REGIONS.map((r) => servers[r].log.vkey)).size, 3);
});

test('subjects are stored only in their own region: the US user in enclave_us, the EU user in enclave_eu, nothing protected in global', async () => {
  const keysIn = async (db: string) => (await tableRows(db, 'users')).map((r) => String(r['key'] ?? r['uid']));
  const inUs = (await tableRows('enclave_us', 'users')).map((r) => JSON.stringify(r));
  const inEu = (await tableRows('enclave_eu', 'users')).map((r) => JSON.stringify(r));
  assert.ok(
    inUs.some((r) => r.includes('demo-us-1')),
    'the US user has an enclave part in enclave_us',
  );
  assert.ok(!inUs.some((r) => r.includes('demo-eu-1') || r.includes('demo-br-1')), 'no other region in enclave_us');
  assert.ok(
    inEu.some((r) => r.includes('demo-eu-1')),
    'the EU user has an enclave part in enclave_eu',
  );
  assert.ok(!inEu.some((r) => r.includes('demo-us-1') || r.includes('demo-br-1')), 'no other region in enclave_eu');
  // No protected value of a US or EU user is in clear anywhere but in its enclave (they are encrypted there too).
  const everywhere = ['enclave_us', 'enclave_eu', 'global'];
  for (const u of DEMO_FIXED_USERS.filter((x) => x['country'] !== 'BR')) {
    for (const f of ['phone_number', 'email', 'birthday', 'device_id', 'ip_address']) {
      for (const db of everywhere) {
        const rows = (await tableRows(db, 'users')).map((r) => JSON.stringify(r));
        assert.ok(!rows.some((r) => r.includes(u[f]!)), `${f} of ${u['uid']} (${hashOf(u[f])}) is not in clear in ${db}`);
      }
    }
  }
  assert.ok((await keysIn('global')).length >= 3);
});

test('a read of another region is a 307 to that region, before anything is read, decided or logged here', async () => {
  const sizeBefore = servers.global.log.size();
  const r = await call(bases.global, '/v1/data/users/demo-us-1', 'austin-engineer');
  assert.equal(r.status, 307);
  assert.equal(r.headers.get('location'), `${bases.us}/v1/data/users/demo-us-1`);
  assert.equal(r.headers.get('x-cordon-region'), 'global');
  assert.equal(r.json['code'], 'gateway.other_region');
  assert.equal(r.json['region'], 'us');
  assert.equal(servers.global.log.size(), sizeBefore, 'the redirecting region logged nothing');

  // At the US gateway, the same request is decided and logged there.
  const usBefore = servers.us.log.size();
  const at = await call(bases.us, '/v1/data/users/demo-us-1', 'austin-engineer');
  assert.equal(at.status, 200);
  assert.equal(at.headers.get('x-cordon-region'), 'us');
  // In the US log: the data key's release (austin-engineer sees protected fields), then the read.
  const index = Number(at.headers.get('x-cordon-log-index'));
  assert.ok(index >= usBefore && index < servers.us.log.size(), `log index ${index} is in the US log (size ${servers.us.log.size()})`);
  assert.equal(servers.global.log.size(), sizeBefore);

  // A caller who may not see the uid in clear names the record by its token, which names the region
  // that made it: another gateway redirects it there, where it opens.
  const token = (await servers.us.keyAs('us-analyst', 'users', 'demo-us-1'))!;
  assert.match(token, /^tok_us\.[A-Za-z0-9_-]+$/);
  const viaEu = await call(bases.eu, `/v1/data/users/${token}`, 'us-analyst');
  assert.equal(viaEu.status, 307);
  assert.equal(viaEu.headers.get('location'), `${bases.us}/v1/data/users/${token}`);
  const byToken = await call(bases.us, `/v1/data/users/${token}`, 'us-analyst');
  assert.equal(byToken.status, 200);
  const fields = byToken.json['fields'] as Record<string, unknown>;
  assert.equal(fields['username'], 'lonestar_lens');
  // us-analyst is outside the enclave: protected fields are withheld, as by a single gateway.
  assert.equal('phone_number' in fields, false);
  // The clear key from that caller is a key no record has, at every gateway (no oracle, W6), and a
  // token made up to name a region is not a token of it.
  assert.equal((await call(bases.global, '/v1/data/users/demo-us-1', 'us-analyst')).status, 404);
  assert.equal((await call(bases.us, '/v1/data/users/demo-us-1', 'us-analyst')).status, 404);
  assert.equal((await call(bases.eu, `/v1/data/users/${token.replace('tok_us.', 'tok_xx.')}`, 'us-analyst')).status, 404);
  assert.equal((await call(bases.us, `/v1/data/users/${token.replace('tok_us.', 'tok_')}`, 'us-analyst')).status, 404);

  // A video of a US owner asked at the EU gateway: its jurisdiction comes from its owner, in US.
  const v = await call(bases.eu, '/v1/data/videos/demo-v-public-1', 'austin-engineer');
  assert.equal(v.status, 307);
  assert.equal(v.headers.get('location'), `${bases.us}/v1/data/videos/demo-v-public-1`);

  // An unauthenticated request learns nothing, not even the region: 401 first.
  const anon = await fetch(`${bases.global}/v1/data/users/demo-us-1`, { redirect: 'manual' });
  assert.equal(anon.status, 401);
  assert.equal(anon.headers.get('location'), null);
  // An unknown key is a 404 wherever it is asked, as on a single gateway.
  assert.equal((await call(bases.eu, '/v1/data/users/no-such-user', 'austin-engineer')).status, 404);
});

test('writes: a create for another region is redirected and writes nothing here; a move to another region is refused (409) and writes and logs nothing', async () => {
  const before = { us: servers.us.log.size(), eu: servers.eu.log.size() };
  const eu2 = { uid: 'r-eu-2', username: 'r_eu_2', bio: 'x', country: 'FR', created_at: '2024-05-01T00:00:00Z' };
  const r = await call(bases.us, '/v1/data/users', 'austin-engineer', { method: 'POST', body: eu2 });
  assert.equal(r.status, 307);
  assert.equal(r.headers.get('location'), `${bases.eu}/v1/data/users`);
  assert.equal(r.json['region'], 'eu');
  const inGlobal = (await tableRows('global', 'users')).map((x) => JSON.stringify(x));
  assert.ok(!inGlobal.some((x) => x.includes('r-eu-2')), 'nothing of the redirected create was written');
  assert.equal(servers.us.log.size(), before.us, 'nor logged: the create is decided where it is served');
  // A public-only create for the US region goes through where it belongs.
  const us2 = { uid: 'r-us-2', username: 'r_us_2', bio: 'y', country: 'US', created_at: '2024-05-01T00:00:00Z' };
  assert.equal((await call(bases.us, '/v1/data/users', 'austin-engineer', { method: 'POST', body: us2 })).status, 201);
  const afterCreate = servers.us.log.size();
  // A move of a US user to Ireland: the US gateway holds no EU store or key.
  const move = await call(bases.us, '/v1/data/users/r-us-2', 'austin-engineer', { method: 'PATCH', body: { country: 'IE' } });
  assert.equal(move.status, 409);
  assert.equal(move.json['code'], 'gateway.cross_region_move');
  assert.equal(servers.us.log.size(), afterCreate, 'the refused move logged nothing');
  const stored = await servers.us.placement.read('users', 'r-us-2');
  assert.equal(stored?.values['country'], 'US');
  assert.equal(servers.eu.log.size(), before.eu);
  // Patching or deleting another region's record is redirected too.
  const del = await call(bases.eu, '/v1/data/users/demo-us-1', 'austin-engineer', { method: 'DELETE' });
  assert.equal(del.status, 307);
  assert.ok(await servers.us.placement.read('users', 'demo-us-1'));
});

test("a list at a regional gateway lists its own region's records and counts the others by region", async () => {
  const r = await call(bases.us, '/v1/data/users?limit=10', 'austin-engineer');
  assert.equal(r.status, 200);
  const items = r.json['items'] as { key: string; jurisdiction: string }[];
  assert.deepEqual(
    items.map((i) => i.jurisdiction).filter((j) => j !== 'US'),
    [],
  );
  assert.ok(items.some((i) => i.key === 'demo-us-1'));
  assert.deepEqual(r.json['elsewhere'], { eu: 1, global: 1 });
});

test('a gateway that knows no gateway of the region refuses (503), reading nothing', async () => {
  const lonely = await createCordonServer({
    policy,
    dataDir: tempDir('cordon-regions-lonely-'),
    storeUrls: { global: urls['global']!, enclave_eu: urls['enclave_eu']! },
    region: { name: 'eu' },
    tokens,
    trustedProxies: ['127.0.0.1/32'],
  });
  try {
    const sizeBefore = lonely.log.size();
    const res = await lonely.app.inject({ method: 'GET', url: '/v1/data/users/demo-us-1', headers: await sign('austin-engineer') });
    assert.equal(res.statusCode, 503);
    assert.equal(res.json().code, 'gateway.region_unknown');
    assert.equal(res.headers['location'], undefined);
    assert.equal(lonely.log.size(), sizeBefore);
  } finally {
    await lonely.close();
  }
});

test('cordon up --region: a region, peer or store that does not fit is exit 2 naming it, and nothing is created', async () => {
  const idp = ['--issuer', 'http://127.0.0.1:9', '--audience', 'https://cordon.example.com', '--port', '0'];
  const cases: [string[], RegExp][] = [
    [['--region', 'mars'], /^cordon: --region "mars" is not an enclave of cordon.yaml \(us, eu, global\)\n$/],
    [['--region', 'us', '--demo'], /^cordon: --region does not go with --demo/],
    [['--peer', 'eu=http://10.41.1.2:8080'], /^cordon: --peer goes with --region/],
    [['--region', 'us', '--pg-port', '5433'], /^cordon: --region does not go with --pg-port yet/],
    [['--region', 'us', '--store', 'enclave_eu=postgres://cordon@127.0.0.1:1/eu'], /^cordon: --store enclave_eu: region us opens only global and enclave_us;/],
    [['--region', 'us', '--peer', 'us=http://10.90.1.2:8080'], /^cordon: --peer us: that is this gateway's own region\n$/],
    [['--region', 'us', '--peer', 'mars=http://10.0.0.1'], /^cordon: --peer mars: not an enclave of cordon.yaml/],
    [['--region', 'us', '--peer', 'eu=ftp://10.41.1.2'], /^cordon: --peer must be REGION=URL/],
  ];
  await Promise.all(
    cases.map(async ([args, stderr]) => {
      const dataDir = join(tempDir('cordon-region-flags-'), 'data');
      const r = await cordonAsync(['up', '--policy', DEMO_POLICY, '--data-dir', dataDir, ...(args.includes('--demo') ? ['--port', '0'] : idp), ...args]);
      assert.match(r.stderr, stderr, args.join(' '));
      assert.equal(r.status, 2, args.join(' '));
      assert.equal(existsSync(dataDir), false, `nothing created: ${args.join(' ')}`);
    }),
  );
});

test('the policy as a region sees it is made once: asking again for the same region changes nothing, another region is refused', () => {
  const us = regionalPolicy(policy, 'us');
  assert.equal(us.deployment.accessLog.origin, 'demo.cordon.invalid/access/us');
  assert.equal(us.deployment.accessLog.store, 'enclave_us');
  assert.equal(regionalPolicy(us, 'us'), us);
  assert.throws(() => regionalPolicy(us, 'eu'), /the policy is region us's, not eu's/);
});

test('cordon log verify takes every region’s log at once: each verified and named by its origin; a key of another region’s log fails that log alone', async () => {
  const args = REGIONS.flatMap((r) => ['--url', bases[r], '--vkey', servers[r].log.vkey]);
  const ok = await cordonAsync(['log', 'verify', ...args]);
  assert.equal(ok.status, 0, ok.stderr);
  assert.deepEqual(
    ok.stdout
      .split('\n')
      .filter((l) => l.startsWith('verified '))
      .map((l) => l.replace(/: \d+ entries, root .*/, '')),
    REGIONS.map((r) => `verified demo.cordon.invalid/access/${r}`),
  );
  const json = await cordonAsync(['log', 'verify', ...args, '--json']);
  assert.equal(json.status, 0, json.stderr);
  const out = JSON.parse(json.stdout) as { ok: boolean; logs: { url: string; origin: string; size: number }[] };
  assert.equal(out.ok, true);
  assert.deepEqual(
    out.logs.map((l) => [l.url, l.origin]),
    REGIONS.map((r) => [bases[r], `demo.cordon.invalid/access/${r}`]),
  );
  // The EU log's key given for the US log: that log fails (exit 1), the others still verify.
  const swapped = await cordonAsync([
    'log',
    'verify',
    '--url',
    bases.us,
    '--vkey',
    servers.eu.log.vkey,
    '--url',
    bases.eu,
    '--vkey',
    servers.eu.log.vkey,
    '--json',
  ]);
  assert.equal(swapped.status, 1, swapped.stderr);
  const bad = JSON.parse(swapped.stdout) as { ok: boolean; logs: { ok: boolean; url: string }[] };
  assert.equal(bad.ok, false);
  assert.deepEqual(
    bad.logs.map((l) => [l.url, l.ok]),
    [
      [bases.us, false],
      [bases.eu, true],
    ],
  );
  const unpaired = await cordonAsync(['log', 'verify', '--url', bases.us, '--url', bases.eu, '--vkey', servers.us.log.vkey]);
  assert.equal(unpaired.status, 2);
  assert.match(unpaired.stderr, /give one --vkey for each --url, in the same order \(2 --url, 1 --vkey\)/);
});
