// Regions as real hosts (issue 25): Linux network namespaces on one bridge, made and removed here.
//   us      10.90.1.2  the US enclave's PostgreSQL (only its own host may connect) and 2 US gateways behind HAProxy
//   eu      10.41.1.2  the same for the EU enclave
//   global  10.95.1.2  the global store's PostgreSQL (the three regions' hosts may connect) and 2 global gateways
//   austin 10.20.0.2, sanjose 10.21.0.2, dublin 10.40.0.2, beijing 10.80.0.2: clients, placed by the demo's network map
// Every persona works from its own host through the load balancers, misdirected on purpose half of the
// time; a regional gateway redirects (307) another region's records to it. Then: a scan of every
// region's PostgreSQL finds each subject's protected fields only in its own region's store, the EU host
// cannot open a connection to the US PostgreSQL at all, each region's log verifies and holds every
// answer that carried data, and two US gateways honour one grant, raced, alike. The second test injects
// faults under load (a gateway killed, a PostgreSQL stopped and started, a region cut off from the
// global store) and prints its counts.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import type { ChildProcess } from 'node:child_process';
import { loadPolicy, type Policy } from '../src/policy/index.js';
import { createDemoIssuer } from '../src/server/index.js';
import { createHosts, sleep, type NetHosts } from './helpers/netns.js';
import { startPostgresIn, type HostPostgres } from './helpers/netns-postgres.js';
import { startHaproxyIn, type Haproxy } from './helpers/haproxy.js';
import type { Outcome, Plan, PlannedRequest } from './helpers/regions-client.js';
import { CLI, DEMO_POLICY, ROOT } from './helpers/paths.js';
import { cordonAsync } from './helpers/cli.js';
import { hashOf } from './helpers/hidden.js';

const HOSTS = {
  us: '10.90.1.2',
  eu: '10.41.1.2',
  global: '10.95.1.2',
  austin: '10.20.0.2',
  sanjose: '10.21.0.2',
  dublin: '10.40.0.2',
  beijing: '10.80.0.2',
} as const;
const REGIONS = ['us', 'eu', 'global'] as const;
type Region = (typeof REGIONS)[number];
const LB_PORT = 8080;
const JWKS_PORT = 8090;
const GW_PORTS = [8081, 8082];
const CLIENT = join(ROOT, 'dist', 'test', 'helpers', 'regions-client.js');
const PG_PROBE = join(ROOT, 'dist', 'test', 'helpers', 'pg-probe.js');
const PROTECTED = ['phone_number', 'email', 'birthday', 'device_id', 'ip_address'] as const;

let net: NetHosts;
let policy: Policy;
let policyDir: string;
const pgs = {} as Record<Region, HostPostgres>;
const lbs = {} as Record<Region, Haproxy>;
const gateways: { region: Region; port: number; child: ChildProcess; out: () => string }[] = [];
const dataDirs = {} as Record<Region, string>;
let issuerUrl: string;
let sign: (id: string) => Promise<string>;
const tokens = new Map<string, string>();

/** The demo's users, made up here: n per region, with their protected values (only hashes are ever printed). */
interface User {
  readonly uid: string;
  readonly region: Region;
  readonly values: Readonly<Record<string, string>>;
}
const users: User[] = [];
const COUNTRY: Record<Region, readonly string[]> = { us: ['US'], eu: ['DE', 'FR', 'IE'], global: ['BR', 'SG'] };
function makeUsers(perRegion: number): void {
  for (const region of REGIONS)
    for (let i = 1; i <= perRegion; i++) {
      const n = String(i).padStart(4, '0');
      const country = COUNTRY[region][i % COUNTRY[region].length]!;
      users.push({
        uid: `h-${region}-${n}`,
        region,
        values: {
          uid: `h-${region}-${n}`,
          username: `user_${region}_${n}`,
          bio: `bio ${n}`,
          country,
          phone_number: `+1555${region.length}${n}7`,
          email: `h.${region}.${n}@example.com`,
          birthday: `1990-01-${String((i % 27) + 1).padStart(2, '0')}`,
          device_id: `dev-${region}-${n}-0000`,
          ip_address: `198.51.${REGIONS.indexOf(region)}.${i % 250}`,
          created_at: '2024-01-01T00:00:00Z',
        },
      });
    }
}

/** The fields protected in the user's own jurisdiction (classes.yaml: rest of world excepts device fields). */
const protectedIn = (u: User): readonly string[] => (u.region === 'global' ? ['phone_number', 'email', 'birthday'] : PROTECTED);

const lb = (r: Region) => `http://${HOSTS[r]}:${LB_PORT}`;
const pick = <T>(xs: readonly T[], i: number): T => xs[i % xs.length]!;

/** Runs a plan on a client host; resolves with every outcome. */
async function runOn(host: keyof typeof HOSTS, requests: readonly PlannedRequest[], concurrency = 4, timeoutMs = 5000, forMs?: number): Promise<Outcome[]> {
  const file = join(net.tempDir('cordon-plan-'), 'plan.json');
  const plan: Plan = { requests, concurrency, timeoutMs, ...(forMs === undefined ? {} : { forMs }) };
  writeFileSync(file, JSON.stringify(plan));
  const r = await net.run(host, process.execPath, [CLIENT, file], { timeoutMs: 600_000 });
  assert.equal(r.code, 0, `client on ${host}: ${r.stderr.slice(0, 2000)}`);
  return r.stdout
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Outcome);
}

async function token(persona: string): Promise<string> {
  let t = tokens.get(persona);
  if (!t) {
    t = await sign(persona);
    tokens.set(persona, t);
  }
  return t;
}

function startGateway(region: Region, port: number): { child: ChildProcess; out: () => string; ready: Promise<void> } {
  const peers = REGIONS.filter((p) => p !== region).flatMap((p) => ['--peer', `${p}=${lb(p)}`]);
  const stores =
    region === 'global'
      ? ['--store', `global=${pgs.global.url(HOSTS.global, 'global')}`]
      : ['--store', `global=${pgs.global.url(HOSTS.global, 'global')}`, '--store', `enclave_${region}=${pgs[region].url('127.0.0.1', `enclave_${region}`)}`];
  const args = [
    CLI,
    'up',
    '--policy',
    policyDir,
    '--region',
    region,
    ...peers,
    ...stores,
    '--issuer',
    issuerUrl,
    '--jwks',
    `${issuerUrl}/jwks`,
    '--audience',
    'cordon',
    '--host',
    HOSTS[region],
    '--port',
    String(port),
    // HAProxy runs on the same host: its X-Forwarded-For is believed, nobody else's.
    '--trusted-proxy',
    `${HOSTS[region]}/32`,
    '--data-dir',
    dataDirs[region],
    '--log-level',
    'warn',
  ];
  const child = net.spawn(region, process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const ready = net.waitListening(region, port, HOSTS[region], `the ${region} gateway on ${port}`, 120_000, () =>
    child.exitCode !== null ? `exited ${child.exitCode}: ${out.slice(-1500)}` : undefined,
  );
  return { child, out: () => out, ready };
}

before(async () => {
  makeUsers(40);
  net = await createHosts({ hosts: HOSTS });
  // The policy: the demo's, with an engineer of the EU enclave in Dublin (the demo has none).
  policyDir = net.tempDir('cordon-regions-policy-');
  cpSync(DEMO_POLICY, policyDir, { recursive: true });
  const dir = join(policyDir, 'directory.yaml');
  writeFileSync(
    dir,
    readFileSync(dir, 'utf8').replace(
      '  austin-approver-a:\n',
      '  dublin-engineer:\n    kind: person\n    name: Dublin engineer\n    team: enclave-staff\n    employer: cordon-us\n    work_country: IE\n    site: dublin\n    clearance: 2\n  austin-approver-a:\n',
    ),
  );
  const loaded = loadPolicy(policyDir);
  assert.ok(loaded.ok, JSON.stringify(loaded.ok ? [] : loaded.issues).slice(0, 500));
  policy = loaded.policy;

  // The token issuer's key set, served on loopback in each gateway host (cordon takes a plain-http
  // issuer only there): every region's gateways accept the same issuer's tokens.
  issuerUrl = `http://127.0.0.1:${JWKS_PORT}`;
  const issuer = await createDemoIssuer({ issuer: issuerUrl });
  const jwksFile = join(net.tempDir('cordon-jwks-'), 'jwks.json');
  writeFileSync(jwksFile, JSON.stringify(issuer.jwks));
  for (const r of REGIONS) net.spawn(r, process.execPath, [join(ROOT, 'dist', 'test', 'helpers', 'jwks-server.js'), String(JWKS_PORT), jwksFile]);
  for (const r of REGIONS) await net.waitListening(r, JWKS_PORT, '127.0.0.1', `the key set in ${r}`);
  sign = async (id) => {
    const p = policy.directory.principals.get(id)!;
    const place = policy.deployment.locations.find((l) => l.site === p.site)!;
    return issuer.sign(id, { location: { country: place.country, site: place.site }, ttlSec: 3600 });
  };

  // Each region's PostgreSQL: the enclaves let in their own host only; the global store, the three regions' hosts.
  const [us, eu, global] = await Promise.all([
    // An enclave's PostgreSQL listens on its host's loopback only (its gateways run there), and lets in only that.
    startPostgresIn(net, 'us', { listen: ['127.0.0.1'], allow: ['127.0.0.1/32'], databases: ['enclave_us'] }),
    startPostgresIn(net, 'eu', { listen: ['127.0.0.1'], allow: ['127.0.0.1/32'], databases: ['enclave_eu'] }),
    startPostgresIn(net, 'global', {
      listen: ['127.0.0.1', HOSTS.global],
      allow: [`${HOSTS.us}/32`, `${HOSTS.eu}/32`, `${HOSTS.global}/32`],
      databases: ['global'],
    }),
  ]);
  Object.assign(pgs, { us, eu, global });

  // Two gateways per region, the first of each made alone (it makes the region's keys and tables).
  for (const r of REGIONS) dataDirs[r] = net.tempDir(`cordon-region-${r}-`);
  const first = REGIONS.map((r) => ({ r, g: startGateway(r, GW_PORTS[0]!) }));
  for (const { r, g } of first) {
    await g.ready;
    gateways.push({ region: r, port: GW_PORTS[0]!, child: g.child, out: g.out });
  }
  const second = REGIONS.map((r) => ({ r, g: startGateway(r, GW_PORTS[1]!) }));
  for (const { r, g } of second) {
    await g.ready;
    gateways.push({ region: r, port: GW_PORTS[1]!, child: g.child, out: g.out });
  }
  for (const r of REGIONS) {
    lbs[r] = await startHaproxyIn(net, r, { bind: `${HOSTS[r]}:${LB_PORT}`, backends: GW_PORTS.map((p) => `${HOSTS[r]}:${p}`), health: '/healthz' });
  }
  for (const r of REGIONS) for (const s of ['s1', 's2']) await lbs[r].waitStatus(s, 'UP', 20_000);
});

after(async () => {
  // To watch it: CORDON_REGIONS_HOLD=1 keeps the hosts up after the tests, prints how to reach them,
  // and removes everything on Ctrl-C.
  if (process.env['CORDON_REGIONS_HOLD'] === '1' && net) {
    const dir = net.tempDir('cordon-regions-tokens-');
    for (const p of ['austin-engineer', 'dublin-engineer', 'beijing-engineer', 'us-analyst']) writeFileSync(join(dir, p), await token(p));
    const lines = [
      'the regions are up (Ctrl-C removes them):',
      ...Object.entries(net.hosts).map(([name, h]) => `  ${name.padEnd(8)} ${h.address.padEnd(10)} ip netns exec ${h.netns} …`),
      ...REGIONS.map((r) => `  ${r} balancer ${lb(r)}, log verifier key ${join(dataDirs[r], 'keys', 'log.vkey')}`),
      `  ip netns exec ${net.hosts['beijing']!.netns} curl -s -L --location-trusted -H "Authorization: Bearer $(cat ${join(dir, 'beijing-engineer')})" ${lb('global')}/v1/data/users?limit=3`,
      `  ip netns exec ${net.hosts['austin']!.netns} curl -si -H "Authorization: Bearer $(cat ${join(dir, 'austin-engineer')})" ${lb('eu')}/v1/data/users/h-us-0001`,
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
    await new Promise<void>((done) => process.once('SIGINT', () => done()));
  }
  await net?.remove();
});

/** Every user written by its enclave's staff from their own site, through a load balancer picked to be wrong half of the time. */
async function seed(): Promise<void> {
  const writer: Record<Region, { host: keyof typeof HOSTS; persona: string }> = {
    us: { host: 'austin', persona: 'austin-engineer' },
    global: { host: 'austin', persona: 'austin-engineer' },
    eu: { host: 'dublin', persona: 'dublin-engineer' },
  };
  for (const host of ['austin', 'dublin'] as const) {
    const mine = users.filter((u) => writer[u.region].host === host);
    const requests: PlannedRequest[] = [];
    for (const [i, u] of mine.entries())
      requests.push({ id: u.uid, method: 'POST', url: `${lb(pick(REGIONS, i))}/v1/data/users`, token: await token(writer[u.region].persona), body: u.values });
    const outcomes = await runOn(host, requests);
    const bad = outcomes.filter((o) => o.status !== 201);
    assert.deepEqual(
      bad.map((o) => `${o.id}: ${o.status} ${o.code ?? o.error ?? ''}`),
      [],
      'every create answered 201',
    );
    // Each was created by its own region, whichever balancer it was sent to.
    for (const o of outcomes) assert.equal(o.region, users.find((u) => u.uid === o.id)!.region, `${o.id} created in its region`);
    assert.ok(outcomes.some((o) => o.hops.length === 2) && outcomes.some((o) => o.hops.length === 1), 'some creates were redirected, some not');
  }
}

test('regions on hosts: a mixed workload from every site, residency in each PostgreSQL, no way from EU to the US store, each log verifies, one grant raced across two US gateways', async () => {
  await seed();

  // Reads: enclave staff by clear key; the others list each region and read by the tokens they got.
  const requests: { host: keyof typeof HOSTS; persona: string; reqs: PlannedRequest[] }[] = [];
  const sees = { 'austin-engineer': ['us', 'global'], 'dublin-engineer': ['eu', 'global'] } as const;
  for (const [persona, host] of [
    ['austin-engineer', 'austin'],
    ['dublin-engineer', 'dublin'],
  ] as const) {
    const reqs: PlannedRequest[] = [];
    const mine = users.filter((u) => (sees[persona] as readonly string[]).includes(u.region));
    for (let i = 0; i < 120; i++)
      reqs.push({ id: `${persona}-${i}`, method: 'GET', url: `${lb(pick(REGIONS, i))}/v1/data/users/${pick(mine, i * 7).uid}`, token: await token(persona) });
    requests.push({ host, persona, reqs });
  }
  for (const [persona, host] of [
    ['us-analyst', 'sanjose'],
    ['beijing-engineer', 'beijing'],
    ['legacy-admin', 'sanjose'],
    ['recsys-service', 'us'],
  ] as const) {
    const reqs = REGIONS.map((r, i) => ({ id: `${persona}-list-${i}`, method: 'GET', url: `${lb(r)}/v1/data/users?limit=500`, token: '' }));
    for (const r of reqs) r.token = await token(persona);
    requests.push({ host, persona, reqs });
  }
  const results = await Promise.all(requests.map(async (p) => ({ ...p, outcomes: await runOn(p.host, p.reqs) })));
  let redirected = 0;
  for (const { persona, outcomes } of results) {
    const bad = outcomes.filter((o) => o.status !== 200);
    assert.deepEqual(
      bad.map((o) => `${o.id}: ${o.status} ${o.code ?? o.error ?? ''}`),
      [],
      `${persona}: every read answered`,
    );
    redirected += outcomes.filter((o) => o.hops.length === 2).length;
    for (const o of outcomes) {
      assert.ok(o.region !== undefined && o.logIndex !== undefined, `${o.id}: the answer names its region and log entry`);
    }
  }
  assert.ok(redirected > 100, `reads redirected to their region: ${redirected}`);
  // Lists: each region lists its own 40 users, and counts the others.
  for (const persona of ['us-analyst', 'beijing-engineer', 'legacy-admin', 'recsys-service']) {
    const lists = results.find((r) => r.persona === persona)!.outcomes.sort((a, b) => a.id.localeCompare(b.id));
    assert.deepEqual(
      lists.map((o) => [o.region, o.items, o.elsewhere]),
      [
        ['us', 40, { eu: 40, global: 40 }],
        ['eu', 40, { us: 40, global: 40 }],
        ['global', 40, { us: 40, eu: 40 }],
      ],
    );
  }
  // No protected value of a US or EU user reached an outsider, in any form but a mask; enclave staff got theirs masked too (no grant).
  // (Rest-of-world users' device fields are excepted there, so enclave staff see those in clear.)
  const clearHashes = new Set(users.filter((u) => u.region !== 'global').flatMap((u) => PROTECTED.map((f) => hashOf16(u.values[f]))));
  // (legacy-admin, the old "master admin", whom the rules permit everything: no grant, so nothing in clear, W4.)
  for (const { persona, outcomes } of results)
    for (const o of outcomes) {
      for (const [f, h] of Object.entries(o.fields ?? {})) assert.ok(!clearHashes.has(h), `${persona} got ${f} in clear (${h})`);
      for (const h of o.itemHashes ?? []) assert.ok(!clearHashes.has(h), `${persona} got a protected value in clear in a list (${h})`);
    }
  assert.ok(results.flatMap((r) => r.outcomes).reduce((n, o) => n + (o.itemHashes?.length ?? 0), 0) > 1000, 'the lists disclosed fields to check');

  // Residency: where each subject's protected fields are stored, from every table of every region's PostgreSQL.
  const holders = async (r: Region, db: string) =>
    (await pgs[r].psql('SELECT key FROM ds_users WHERE phone_number IS NOT NULL ORDER BY key', db)).split('\n').filter((l) => l !== '');
  const of = (r: Region) =>
    users
      .filter((u) => u.region === r)
      .map((u) => u.uid)
      .sort();
  assert.deepEqual(await holders('us', 'enclave_us'), of('us'), 'US subjects: protected fields in the US store');
  assert.deepEqual(await holders('eu', 'enclave_eu'), of('eu'), 'EU subjects: protected fields in the EU store');
  assert.deepEqual(await holders('global', 'global'), of('global'), 'the global store holds only rest-of-world subjects’ protected fields');
  // And no protected value in clear anywhere (every table, dumped).
  for (const [r, db] of [
    ['us', 'enclave_us'],
    ['eu', 'enclave_eu'],
    ['global', 'global'],
  ] as const) {
    const dump = await pgs[r].dump(db);
    for (const u of users)
      for (const f of protectedIn(u)) assert.ok(!dump.includes(u.values[f]!), `${f} of ${u.uid} (${hashOf(u.values[f])}) in clear in ${r}`);
  }

  // The EU gateway host cannot open a connection to the US PostgreSQL at all, even with its password:
  // nothing listens for it. The US host's own gateways get in; the global store lets in the regions'
  // hosts and refuses a client host (pg_hba, 28000).
  const probe = async (host: keyof typeof HOSTS, url: string) =>
    (await net.run(host, process.execPath, [PG_PROBE, url], { timeoutMs: 30_000, cwd: ROOT })).stdout.trim();
  assert.equal(await probe('eu', pgs.us.url(HOSTS.us, 'enclave_us')), 'ECONNREFUSED');
  assert.equal(await probe('us', pgs.us.url('127.0.0.1', 'enclave_us')), 'connected');
  assert.equal(await probe('us', pgs.eu.url(HOSTS.eu, 'enclave_eu')), 'ECONNREFUSED');
  assert.equal(await probe('eu', pgs.global.url(HOSTS.global, 'global')), 'connected');
  assert.equal(await probe('beijing', pgs.global.url(HOSTS.global, 'global')), 'refused 28000');

  // Two US gateways, one grant: requested through one, approved through both at once, read through both.
  await raceGrant();

  // Each region's log verifies, and holds every answer that carried data.
  for (const r of REGIONS) {
    const vkey = readFileSync(join(dataDirs[r], 'keys', 'log.vkey'), 'utf8').trim();
    const v = await cordonAsync(['log', 'verify', '--url', lb(r), '--vkey', vkey, '--json']);
    assert.equal(v.status, 0, v.stdout + v.stderr);
    const verified = JSON.parse(v.stdout) as { size: number; origin: string };
    assert.equal(verified.origin, `demo.cordon.invalid/access/${r}`);
    const size = verified.size;
    const indexes = results
      .flatMap((x) => x.outcomes)
      .filter((o) => o.region === r)
      .map((o) => o.logIndex!);
    assert.ok(Math.max(...indexes) < size, `${r}: every answer's log entry is in the verified log (max ${Math.max(...indexes)}, size ${size})`);
  }
  // The platform's backend updates public fields of users of every region from the US data centre. It
  // may not see uids in clear, so it names users by the tokens a list gave it (each naming its region),
  // and sends each update through another region's balancer: the token's region takes it.
  const backend = await token('app-backend');
  const pages = await runOn(
    'us',
    REGIONS.map((r) => ({ id: r, method: 'GET', url: `${lb(r)}/v1/data/users?limit=500`, token: backend })),
  );
  const named = pages.flatMap((p) => (p.itemKeys ?? []).slice(0, 5).map((k) => ({ region: p.id as Region, key: k })));
  assert.equal(named.length, 15, 'five users of each region listed by the backend');
  assert.ok(
    named.every((n) => n.key.startsWith(`tok_${n.region}.`)),
    'the backend gets tokens, each naming its region',
  );
  const updates = await runOn(
    'us',
    named.map((n, j) => ({
      id: `bio-${n.region}-${j}`,
      method: 'PATCH',
      url: `${lb(REGIONS[(REGIONS.indexOf(n.region) + 1) % REGIONS.length]!)}/v1/data/users/${n.key}`,
      token: backend,
      body: { bio: `updated ${j}` },
    })),
  );
  assert.deepEqual(
    updates.map((o) => [o.status, o.hops.length]),
    named.map(() => [200, 2]),
    'every update redirected once to its region and answered',
  );
  assert.deepEqual(
    updates.filter((o) => o.status !== 200).map((o) => `${o.id}: ${o.status} ${o.code ?? ''}`),
    [],
    'every update answered',
  );
  // The monitor, from Austin, verifies every region's log in one run and reads every record as an auditor.
  const monitor = await net.run(
    'austin',
    process.execPath,
    [
      CLI,
      'log',
      'verify',
      ...REGIONS.flatMap((r) => ['--url', lb(r), '--vkey', readFileSync(join(dataDirs[r], 'keys', 'log.vkey'), 'utf8').trim()]),
      '--records',
      '--token',
      await token('monitor'),
      '--json',
    ],
    { timeoutMs: 120_000, cwd: ROOT },
  );
  assert.equal(monitor.code, 0, monitor.stdout.slice(0, 2000) + monitor.stderr.slice(0, 2000));
  const monitored = JSON.parse(monitor.stdout) as {
    ok: boolean;
    logs: { origin: string; size: number; records: { checked: number; mismatches: unknown[]; anomalies: unknown[] } }[];
  };
  assert.deepEqual(
    monitored.logs.map((l) => [l.origin, l.records.checked > 0, l.records.mismatches.length, l.records.anomalies.length]),
    REGIONS.map((r) => [`demo.cordon.invalid/access/${r}`, true, 0, 0]),
  );
  process.stdout.write(
    `regions: ${REGIONS.length} regions, ${gateways.length} gateways, ${users.length} users written, ${results.reduce((n, r) => n + r.outcomes.length, 0)} reads (${redirected} redirected), ${updates.length} updates by the backend, ${monitored.logs.map((l) => `${l.origin} ${l.records.checked} records`).join(', ')} checked by the monitor\n`,
  );
});

/** The client's hash of a value (regions-client.ts): equal for equal JSON values. */
function hashOf16(v: unknown): string {
  return createHash('sha256').update(JSON.stringify(v)).digest('hex').slice(0, 16);
}

/** A US gateway, directly (not through the balancer): GW_PORTS[i] on the us host. */
const gw = (i: number) => `http://${HOSTS.us}:${GW_PORTS[i]}`;

/** How phone_number came back in each read: clear (its hash is the value's), masked (another value), or absent. */
function phoneSeen(o: Outcome, user: User): string {
  if (o.status !== 200) return `status ${o.status}`;
  const h = o.fields?.['phone_number'];
  if (h === undefined) return 'absent';
  return h === hashOf16(user.values['phone_number']) ? 'clear' : (o.transformed ?? []).includes('phone_number') ? 'masked' : 'other';
}

/**
 * Two US gateways honour one grant alike: a request made through one, approved by two approvers at
 * once through both, read through both within the bound; revoked through the other and read again.
 * Two rounds, on two subjects.
 */
async function raceGrant(): Promise<void> {
  const engineer = await token('austin-engineer');
  const bound = 1500; // the README's "about half a second", with slack for a loaded machine
  for (const [round, user] of users
    .filter((u) => u.region === 'us')
    .slice(0, 2)
    .entries()) {
    const reads = async () =>
      (
        await runOn(
          'austin',
          Array.from({ length: 8 }, (_, i) => ({ id: `read-${i}`, method: 'GET', url: `${gw(i % 2)}/v1/data/users/${user.uid}`, token: engineer })),
        )
      )
        .map((o) => phoneSeen(o, user))
        .sort();
    assert.deepEqual([...new Set(await reads())], ['masked'], `round ${round}: masked before the grant`);
    const [asked] = await runOn('austin', [
      {
        id: 'ask',
        method: 'POST',
        url: `${gw(round % 2)}/v1/access/requests`,
        token: engineer,
        body: { datasets: ['users'], categories: ['user.contact'], subjects: [user.uid], reason: 'USER_SUPPORT', ticket: `SUP-${round}`, duration: '1h' },
        keep: ['id'],
      },
    ]);
    assert.equal(asked!.status, 201, `round ${round}: ${asked!.code ?? ''}`);
    const id = String(asked!.kept!['id']);
    // The two approvals at once, one through each gateway: one grant, both approvals counted.
    const approvals = await runOn(
      'austin',
      [
        { id: 'a', method: 'POST', url: `${gw(0)}/v1/access/requests/${id}/approve`, token: await token('austin-approver-a'), body: {} },
        { id: 'b', method: 'POST', url: `${gw(1)}/v1/access/requests/${id}/approve`, token: await token('austin-approver-b'), body: {} },
      ],
      2,
    );
    assert.deepEqual(
      approvals.map((o) => o.status),
      [200, 200],
      `round ${round}: both approvals taken (${approvals.map((o) => o.code).join(', ')})`,
    );
    await sleep(bound);
    const states = await runOn(
      'austin',
      [0, 1].map((i) => ({ id: `state-${i}`, method: 'GET', url: `${gw(i)}/v1/access/requests/${id}`, token: engineer, keep: ['state', 'grant'] })),
    );
    assert.deepEqual(
      states.map((o) => o.kept!['state']),
      ['approved', 'approved'],
    );
    assert.equal(states[0]!.kept!['grant'], states[1]!.kept!['grant'], 'both gateways name the same grant');
    assert.deepEqual([...new Set(await reads())], ['clear'], `round ${round}: both gateways release under the grant`);
    const [revoked] = await runOn('austin', [
      {
        id: 'revoke',
        method: 'POST',
        url: `${gw((round + 1) % 2)}/v1/access/grants/${String(states[0]!.kept!['grant'])}/revoke`,
        token: await token('austin-approver-a'),
        body: {},
      },
    ]);
    assert.equal(revoked!.status, 200, `round ${round}: revoke ${revoked!.code ?? ''}`);
    await sleep(bound);
    assert.deepEqual([...new Set(await reads())], ['masked'], `round ${round}: neither gateway releases after the revocation`);
  }
}

test('faults under load: a gateway killed, a PostgreSQL stopped for 30 s and started, a region cut off from the global store; protected data is refused, never served unlogged, and no log entry is lost', async () => {
  const LOAD_MS = Number(process.env['CORDON_REGIONS_LOAD_MS'] ?? 75_000);
  const OUTAGE_MS = 30_000;
  const readsOf = async (persona: string, regions: readonly Region[]): Promise<PlannedRequest[]> => {
    const mine = users.filter((u) => regions.includes(u.region));
    const t = await token(persona);
    return Array.from({ length: 90 }, (_, i) => ({
      id: `${persona}-${i}`,
      method: 'GET',
      url: `${lb(pick(REGIONS, i))}/v1/data/users/${pick(mine, i * 7).uid}`,
      token: t,
    }));
  };
  const started = Date.now();
  const load = Promise.all([
    runOn('austin', await readsOf('austin-engineer', ['us', 'global']), 4, 5000, LOAD_MS),
    runOn('dublin', await readsOf('dublin-engineer', ['eu', 'global']), 4, 5000, LOAD_MS),
  ]);
  const at = (ms: number) => sleep(Math.max(0, started + ms - Date.now()));
  const faults: string[] = [];

  // 1. One US gateway killed (SIGKILL) mid-load: the balancer retries on the other.
  await at(4000);
  const victim = gateways.find((g) => g.region === 'us' && g.port === GW_PORTS[0])!;
  victim.child.kill('SIGKILL');
  faults.push('1 gateway killed');
  await lbs.us.waitStatus('s1', 'DOWN', 15_000);

  // 2. The US PostgreSQL stopped for 30 s, then started again.
  await at(10_000);
  await pgs.us.pause();
  const pgDownAt = Date.now();
  await sleep(OUTAGE_MS);
  await pgs.us.resume();
  const pgUpAt = Date.now();
  faults.push('1 PostgreSQL restart');

  // 3. The EU region cut off from the global store for 10 s (an unreachable route on the EU host: its packets to the global store's host fail as an ICMP host-unreachable would make them).
  await sleep(3000);
  const cut = await net.run('eu', 'ip', ['route', 'add', 'unreachable', `${HOSTS.global}/32`]);
  assert.equal(cut.code, 0, cut.stderr);
  const cutAt = Date.now();
  await sleep(10_000);
  const healed = await net.run('eu', 'ip', ['route', 'del', 'unreachable', `${HOSTS.global}/32`]);
  assert.equal(healed.code, 0, healed.stderr);
  const healedAt = Date.now();
  faults.push('1 partition');

  const [austin, dublin] = await load;
  const all = [...austin!, ...dublin!];
  const byStatus = new Map<number, number>();
  for (const o of all) byStatus.set(o.status, (byStatus.get(o.status) ?? 0) + 1);

  // Nothing served unlogged: every answer that carried fields names its region and log entry, one entry per answer.
  const carried = all.filter((o) => o.fields !== undefined && Object.keys(o.fields).length > 0);
  const unlogged = carried.filter((o) => o.status !== 200 || o.region === undefined || o.logIndex === undefined);
  assert.deepEqual(
    unlogged.map((o) => o.id),
    [],
    'answers with data but no log entry',
  );
  for (const r of REGIONS) {
    const idx = carried.filter((o) => o.region === r).map((o) => o.logIndex!);
    assert.equal(new Set(idx).size, idx.length, `${r}: each answer has its own log entry`);
  }
  // While the US store was down (a second of slack each side), no US answer carried data.
  const usWhileDown = all.filter((o) => o.region === 'us' && o.at > pgDownAt + 1000 && o.at + o.ms < pgUpAt - 1000);
  assert.ok(usWhileDown.length > 0, 'US requests were answered while its store was down');
  assert.deepEqual(
    usWhileDown.filter((o) => o.status === 200).map((o) => o.id),
    [],
    'US data served while its store was down',
  );
  const euWhileCut = all.filter((o) => o.region === 'eu' && o.at > cutAt + 1000 && o.at + o.ms < healedAt - 1000);
  assert.deepEqual(
    euWhileCut.filter((o) => o.status === 200).map((o) => o.id),
    [],
    'EU data served while cut off from the global store',
  );
  // Every failure is a refusal (503) or a request cut short by the fault (no answer); nothing else.
  const odd = all.filter((o) => o.status !== 200 && o.status !== 503 && o.status !== 0);
  const why = gateways
    .flatMap((g) => g.out().split('\n'))
    .filter((l) => l.includes('unexpected error'))
    .slice(0, 3)
    .join('\n');
  assert.deepEqual(
    odd.map((o) => `${o.id}: ${o.status} ${o.code ?? ''}`),
    [],
    `only 200, 503 or no answer; the gateways said:\n${why}`,
  );

  // Recovered on their own: after the faults, every read from both hosts is answered.
  const after = await Promise.all([
    runOn('austin', (await readsOf('austin-engineer', ['us', 'global'])).slice(0, 30)),
    runOn('dublin', (await readsOf('dublin-engineer', ['eu', 'global'])).slice(0, 30)),
  ]);
  const notAnswered = after.flat().filter((o) => o.status !== 200);
  assert.deepEqual(
    notAnswered.map((o) => `${o.id}: ${o.status} ${o.code ?? o.error ?? ''}`),
    [],
    'every read after the faults is answered',
  );

  // No log entry lost: each region's log verifies and holds every entry an answer named.
  let lost = 0;
  for (const r of REGIONS) {
    const vkey = readFileSync(join(dataDirs[r], 'keys', 'log.vkey'), 'utf8').trim();
    const v = await cordonAsync(['log', 'verify', '--url', lb(r), '--vkey', vkey, '--json']);
    assert.equal(v.status, 0, v.stdout + v.stderr);
    const size = (JSON.parse(v.stdout) as { size: number }).size;
    lost += [...carried, ...after.flat()].filter((o) => o.region === r && o.logIndex !== undefined && o.logIndex >= size).length;
  }
  assert.equal(lost, 0, 'log entries lost');
  process.stdout.write(
    `regions: ${REGIONS.length} regions, ${gateways.length} gateways, ${all.length} requests (${[...byStatus].map(([s, n]) => `${n}×${s}`).join(', ')}), ${faults.join(', ')}, ` +
      `${unlogged.length} protected values served unlogged, ${lost} log entries lost; ` +
      `US store down ${Math.round((pgUpAt - pgDownAt) / 1000)} s (${usWhileDown.length} US answers then, all refusals), EU cut from global ${Math.round((healedAt - cutAt) / 1000)} s (${euWhileCut.length} EU answers then, all refusals)\n`,
  );
});
