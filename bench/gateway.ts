// Benchmark: (a) cordon's GET of one 20-field record with policy and recording, against (b) a bare
// Fastify route reading the same record from the same stores with no policy and no log, on PGlite
// and on PostgreSQL, at concurrency 64, in one run. The load comes from a separate process that alternates between (a) and (b) in short
// slices (8 per server by default), so the machine's other work weighs on both alike.
// Prints a table, then one JSON line.
//
//   npm run bench -- gateway [--seconds N] [--slices N] [--concurrency N] [--drivers pglite,postgres]

import { cpSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import Fastify from 'fastify';
import { loadPolicy } from '../src/policy/index.js';
import { createCordonServer, createDemoIssuer } from '../src/server/index.js';
import { startPostgres, type PostgresServer } from '../test/helpers/postgres.js';
import { tempDir } from '../test/helpers/temp.js';

const { values: opts } = parseArgs({
  options: {
    seconds: { type: 'string', default: '8' },
    concurrency: { type: 'string', default: '64' },
    slices: { type: 'string', default: '8' },
    drivers: { type: 'string', default: 'pglite,postgres' },
  },
});
const SECONDS = Number(opts.seconds);
const CONCURRENCY = Number(opts.concurrency);
const SLICES = Number(opts.slices);
const LOAD = fileURLToPath(new URL('./load-ab.js', import.meta.url));
const DEMO = fileURLToPath(new URL('../../policies/demo', import.meta.url));

/** The demo policy plus a 20-field `profiles` dataset (public, excepted and protected fields). */
function benchPolicyDir(): string {
  const dir = tempDir('cordon-bench-policy-');
  cpSync(DEMO, dir, { recursive: true });
  const fields: Record<string, string> = {
    uid: 'user.unique_id',
    country: 'user.contact.address.country',
    username: 'user.account.username',
    bio: 'user.content.public',
    phone_number: 'user.contact.phone_number',
    email: 'user.contact.email',
    birthday: 'user.demographic.date_of_birth',
    device_id: 'user.device.device_id',
    ip_address: 'user.device.ip_address',
    city: 'user.contact.address.city',
    language: 'user.demographic.language',
    gender: 'user.demographic.gender',
    avatar: 'user.content.public',
    website: 'user.content.public',
    followers: 'system.operations',
    following: 'system.operations',
    created_at: 'system.operations',
    updated_at: 'system.operations',
    last_login_ip: 'user.device.ip_address',
    settings: 'user.account.settings',
  };
  writeFileSync(
    join(dir, 'catalog/profiles.yaml'),
    `dataset: profiles\nkey: uid\nsubject: { field: uid }\njurisdiction: { field: country }\nfields:\n${Object.entries(fields)
      .map(([f, c]) => `  ${f}: ${c}`)
      .join('\n')}\n`,
  );
  return dir;
}

const RECORD = {
  uid: 'bench-1',
  country: 'US',
  username: 'bench',
  bio: 'hello',
  phone_number: '+15125550123',
  email: 'bench@example.com',
  birthday: '1990-05-06',
  device_id: 'dev-1',
  ip_address: '203.0.113.5',
  city: 'Austin',
  language: 'en',
  gender: 'x',
  avatar: 'a.png',
  website: 'https://example.com',
  followers: 10,
  following: 20,
  created_at: '2024-01-01',
  updated_at: '2024-02-02',
  last_login_ip: '198.51.100.9',
  settings: 'dark',
};

interface LoadResult {
  requests: number;
  errors: number;
  statuses: Record<string, number>;
  rps: number;
  p50: number;
  p99: number;
}

/**
 * Runs the load generator in its own process (asynchronously: the servers live in this one). It
 * alternates between cordon and the bare route in short slices, so other work on the machine
 * weighs on both alike.
 */
async function loadAB(cordonUrl: string, cordonHeaders: Record<string, string>, bareUrl: string): Promise<{ cordon: LoadResult; bare: LoadResult }> {
  const spec = {
    seconds: SECONDS,
    slices: SLICES,
    concurrency: CONCURRENCY,
    targets: [
      { name: 'cordon', url: cordonUrl, headers: cordonHeaders },
      { name: 'bare', url: bareUrl },
    ],
  };
  const { stdout } = await promisify(execFile)(process.execPath, [LOAD, JSON.stringify(spec)], { encoding: 'utf8' });
  return JSON.parse(stdout.trim().split('\n').at(-1)!) as { cordon: LoadResult; bare: LoadResult };
}

const loaded = loadPolicy(benchPolicyDir());
if (!loaded.ok) throw new Error(`bench policy: ${JSON.stringify(loaded.issues)}`);
const policy = loaded.policy;
const issuer = await createDemoIssuer();
const token = await issuer.sign('austin-engineer');
const results: Record<string, { cordon: LoadResult; bare: LoadResult; ratio: number; p99Ratio: number }> = {};

for (const driver of opts.drivers.split(',')) {
  const pgServers: PostgresServer[] = [];
  const storeUrls: Record<string, string> = {};
  for (const name of policy.deployment.stores.keys()) {
    if (driver === 'postgres') {
      const pg = await startPostgres({ database: `bench_${name}` });
      pgServers.push(pg);
      storeUrls[name] = pg.url;
    } else storeUrls[name] = `pglite://${tempDir(`cordon-bench-${name}-`)}/db`;
  }
  const now = Date.now();
  const grants = [{ id: 'g', datasets: ['profiles'], categories: ['user.contact'], expiresAt: now + 3_600_000, reason: 'USER_SUPPORT' }];
  const server = await createCordonServer({
    policy,
    dataDir: tempDir('cordon-bench-data-'),
    tokens: { issuer: issuer.issuer, audience: issuer.audience, jwks: issuer.jwks },
    storeUrls,
    trustedProxies: ['127.0.0.1/32'],
    // One grant, the same objects on every call, as the access broker hands them out.
    grantsOf: () => grants,
  });
  await server.placement.write('profiles', 'bench-1', RECORD, 'upsert');
  await server.app.listen({ port: 0, host: '127.0.0.1' });
  const bare = Fastify();
  bare.get<{ Params: { key: string } }>('/bare/:key', async (req) => (await server.placement.read('profiles', req.params.key))?.values);
  await bare.listen({ port: 0, host: '127.0.0.1' });
  const port = (s: { server: { address(): unknown } }) => (s.server.address() as { port: number }).port;
  const { cordon, bare: plain } = await loadAB(
    `http://127.0.0.1:${port(server.app)}/v1/data/profiles/bench-1`,
    { authorization: `Bearer ${token}`, 'x-forwarded-for': '10.20.0.5' },
    `http://127.0.0.1:${port(bare)}/bare/bench-1`,
  );
  results[driver] = { cordon, bare: plain, ratio: cordon.rps / plain.rps, p99Ratio: cordon.p99 / plain.p99 };
  await bare.close();
  await server.close();
  for (const pg of pgServers) await pg.stop();
}

const f = (n: number, d = 0) => n.toFixed(d).padStart(9);
const lines = [
  `gateway — GET of one 20-field record, concurrency ${CONCURRENCY}, ${SECONDS} s per server in ${SLICES} alternating slices; load from a separate process`,
  '',
  'store     server            req/s       p50 ms    p99 ms   errors',
];
for (const [driver, r] of Object.entries(results)) {
  lines.push(`${driver.padEnd(9)} cordon (a)   ${f(r.cordon.rps)}  ${f(r.cordon.p50, 2)} ${f(r.cordon.p99, 2)} ${f(r.cordon.errors)}`);
  lines.push(`${''.padEnd(9)} bare (b)     ${f(r.bare.rps)}  ${f(r.bare.p50, 2)} ${f(r.bare.p99, 2)} ${f(r.bare.errors)}`);
  if (r.cordon.errors > 0) lines.push(`${''.padEnd(9)} cordon errors by status: ${JSON.stringify(r.cordon.statuses)}`);
  lines.push(`${''.padEnd(9)} a/b throughput ${r.ratio.toFixed(2)} (goal >= 0.75), p99 ${r.p99Ratio.toFixed(2)} (goal <= 2)`);
}
process.stdout.write(`${lines.join('\n')}\n\n`);
const json: Record<string, unknown> = { bench: 'gateway', concurrency: CONCURRENCY, seconds: SECONDS };
for (const [driver, r] of Object.entries(results)) {
  json[driver] = {
    ratio: Number(r.ratio.toFixed(2)),
    p99_ratio: Number(r.p99Ratio.toFixed(2)),
    rps: Math.round(r.cordon.rps),
    bare_rps: Math.round(r.bare.rps),
    p99_ms: Number(r.cordon.p99.toFixed(2)),
    bare_p99_ms: Number(r.bare.p99.toFixed(2)),
    errors: r.cordon.errors,
  };
}
json['ratio'] = Math.min(...Object.values(results).map((r) => Number(r.ratio.toFixed(2))));
process.stdout.write(`${JSON.stringify(json)}\n`);
