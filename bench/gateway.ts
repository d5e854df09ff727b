// Benchmark of one record's read, in one run, at concurrency 64, on PGlite and on PostgreSQL:
//  (a) cordon's GET of one 20-field record (policy, disclosure, recording);
//  (b) a bare Fastify route reading the same record through the same placement layer (both stores,
//      decryption) with no policy and no log;
//  (c) the limit: a Fastify route doing one `SELECT * FROM plain WHERE uid = $1` of the same 20
//      values in one table (postgres.js on PostgreSQL, PGlite on PGlite): what a read costs on this
//      machine with nothing of cordon's around it.
// The same three again, at concurrency 8, for a page of LIST_PAGE records (cordon's `GET /v1/data/profiles?limit=50`,
// each record decided, disclosed and logged; the bare route lists the global store and reads each
// record through placement; the limit selects the 50 rows in one statement).
// The load comes from a separate process that alternates between the three in short slices (8 per
// server by default), so the machine's other work weighs on all alike. On PostgreSQL it then loads
// (a) alone for a moment and counts the store transactions each logged read makes, from
// pg_stat_database of every store's server. Prints a table, then one JSON line.
//
//   npm run bench -- gateway [--seconds N] [--slices N] [--concurrency N] [--drivers pglite,postgres]

import { cpSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import Fastify from 'fastify';
import postgres from 'postgres';
import { PGlite } from '@electric-sql/pglite';
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
const LOAD_ONE = fileURLToPath(new URL('./load.js', import.meta.url));
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

/** Records in the listed page. */
const LIST_PAGE = 50;
/**
 * Pages are loaded at a lower concurrency, and for at least 3 s per server: 64 pages of 50 in
 * flight take longer than a smoke run's slice, which would then count no page at all.
 */
const LIST_LOAD = { seconds: Math.max(SECONDS, 3), concurrency: 8 };
/** The page: bench-1 (RECORD) and 49 more like it (all US subjects). */
function pageRecords(): (typeof RECORD)[] {
  return Array.from({ length: LIST_PAGE }, (_, i) => ({ ...RECORD, uid: `bench-${i + 1}`, username: `bench${i + 1}` }));
}

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
async function loadAB(
  cordonUrl: string,
  cordonHeaders: Record<string, string>,
  bareUrl: string,
  limitUrl: string,
  load: { seconds: number; concurrency: number } = { seconds: SECONDS, concurrency: CONCURRENCY },
): Promise<{ cordon: LoadResult; bare: LoadResult; limit: LoadResult }> {
  const spec = {
    seconds: load.seconds,
    slices: SLICES,
    concurrency: load.concurrency,
    targets: [
      { name: 'cordon', url: cordonUrl, headers: cordonHeaders },
      { name: 'bare', url: bareUrl },
      { name: 'limit', url: limitUrl },
    ],
  };
  const { stdout } = await promisify(execFile)(process.execPath, [LOAD, JSON.stringify(spec)], { encoding: 'utf8' });
  const out = JSON.parse(stdout.trim().split('\n').at(-1)!) as { cordon: LoadResult; bare: LoadResult; limit: LoadResult };
  // A server that answered nothing in time has no latencies: JSON null, NaN here (and null again in the JSON line).
  for (const r of Object.values(out)) {
    r.p50 ??= Number.NaN;
    r.p99 ??= Number.NaN;
  }
  return out;
}

/** Loads one URL alone for `seconds` (bench/load.ts); returns how many requests were answered and how many failed. */
async function loadOne(url: string, headers: Record<string, string>, seconds: number): Promise<{ requests: number; errors: number }> {
  const args = [LOAD_ONE, url, String(seconds), String(CONCURRENCY), ...Object.entries(headers).map(([k, v]) => `${k}=${v}`)];
  const { stdout } = await promisify(execFile)(process.execPath, args, { encoding: 'utf8' });
  return JSON.parse(stdout.trim().split('\n').at(-1)!) as { requests: number; errors: number };
}

/**
 * Committed and rolled-back transactions so far in each store's database, summed. A backend reports
 * its counts within PostgreSQL's idle statistics interval (10 s) of going idle, so callers wait that
 * long after a load before they read.
 */
async function storeTransactions(servers: readonly PostgresServer[]): Promise<number> {
  let total = 0;
  for (const pg of servers) {
    const database = new URL(pg.url).pathname.slice(1);
    const sql = postgres(pg.url.replace(/\/[^/]*$/, '/postgres'), { max: 1, onnotice: () => {} });
    try {
      const [row] = await sql<{ n: string }[]>`SELECT xact_commit + xact_rollback AS n FROM pg_stat_database WHERE datname = ${database}`;
      total += Number(row!.n);
    } finally {
      await sql.end();
    }
  }
  return total;
}
const STATS_SETTLE_MS = 11_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The limit route: one SELECT of the 20 values from one table, on the driver's own store. */
async function limitRoute(
  driver: string,
  pgServers: readonly PostgresServer[],
): Promise<{ url: (port: number) => string; listUrl: (port: number) => string; app: ReturnType<typeof Fastify>; close(): Promise<void> }> {
  const app = Fastify();
  const columns = Object.keys(RECORD);
  const ddl = `CREATE TABLE plain (${columns.map((c) => `${c} ${typeof RECORD[c as keyof typeof RECORD] === 'number' ? 'bigint' : 'text'}`).join(', ')}, PRIMARY KEY (uid))`;
  const insert = `INSERT INTO plain (${columns.join(', ')}) VALUES (${columns.map((_, i) => `$${i + 1}`).join(', ')})`;
  let close: () => Promise<void>;
  if (driver === 'postgres') {
    const admin = postgres(pgServers[0]!.url, { max: 1, onnotice: () => {} });
    await admin.unsafe('CREATE DATABASE bench_limit');
    await admin.end();
    const sql = postgres(pgServers[0]!.url.replace(/\/[^/]*$/, '/bench_limit'), { max: 10, onnotice: () => {} });
    await sql.unsafe(ddl);
    for (const r of pageRecords()) await sql.unsafe(insert, columns.map((c) => r[c as keyof typeof RECORD]) as never[]);
    app.get<{ Params: { key: string } }>('/limit/:key', async (req) => (await sql`SELECT * FROM plain WHERE uid = ${req.params.key}`)[0]);
    app.get('/limit-list', async () => ({ items: await sql`SELECT * FROM plain ORDER BY uid LIMIT ${LIST_PAGE}` }));
    close = () => sql.end();
  } else {
    const db = new PGlite(tempDir('cordon-bench-limit-'));
    await db.exec(ddl);
    for (const r of pageRecords())
      await db.query(
        insert,
        columns.map((c) => r[c as keyof typeof RECORD]),
      );
    app.get<{ Params: { key: string } }>('/limit/:key', async (req) => (await db.query('SELECT * FROM plain WHERE uid = $1', [req.params.key])).rows[0]);
    app.get('/limit-list', async () => ({ items: (await db.query('SELECT * FROM plain ORDER BY uid LIMIT $1', [LIST_PAGE])).rows }));
    close = () => db.close();
  }
  await app.listen({ port: 0, host: '127.0.0.1' });
  return {
    app,
    url: (port) => `http://127.0.0.1:${port}/limit/bench-1`,
    listUrl: (port) => `http://127.0.0.1:${port}/limit-list`,
    close: async () => {
      await app.close();
      await close();
    },
  };
}

const loaded = loadPolicy(benchPolicyDir());
if (!loaded.ok) throw new Error(`bench policy: ${JSON.stringify(loaded.issues)}`);
const policy = loaded.policy;
const issuer = await createDemoIssuer();
const token = await issuer.sign('austin-engineer');
const results: Record<
  string,
  {
    cordon: LoadResult;
    bare: LoadResult;
    limit: LoadResult;
    ratio: number;
    p99Ratio: number;
    limitRatio: number;
    limitP99Ratio: number;
    transactionsPerRead?: number;
    list: { cordon: LoadResult; bare: LoadResult; limit: LoadResult };
  }
> = {};

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
  for (const r of pageRecords()) await server.placement.write('profiles', r.uid, r, 'upsert');
  await server.app.listen({ port: 0, host: '127.0.0.1' });
  const bare = Fastify();
  bare.get<{ Params: { key: string } }>('/bare/:key', async (req) => (await server.placement.read('profiles', req.params.key))?.values);
  const globalStore = server.stores.get(policy.deployment.globalStore)!;
  bare.get('/bare-list', async () => {
    const page = await globalStore.list('profiles', { limit: LIST_PAGE });
    return { items: await Promise.all(page.rows.map(async (r) => (await server.placement.read('profiles', r.key))?.values)) };
  });
  await bare.listen({ port: 0, host: '127.0.0.1' });
  const limit = await limitRoute(driver, pgServers);
  const port = (s: { server: { address(): unknown } }) => (s.server.address() as { port: number }).port;
  const cordonUrl = `http://127.0.0.1:${port(server.app)}/v1/data/profiles/bench-1`;
  const cordonHeaders = { authorization: `Bearer ${token}`, 'x-forwarded-for': '10.20.0.5' };
  const {
    cordon,
    bare: plain,
    limit: floor,
  } = await loadAB(cordonUrl, cordonHeaders, `http://127.0.0.1:${port(bare)}/bare/bench-1`, limit.url(port(limit.app)));
  const list = await loadAB(
    `http://127.0.0.1:${port(server.app)}/v1/data/profiles?limit=${LIST_PAGE}`,
    cordonHeaders,
    `http://127.0.0.1:${port(bare)}/bare-list`,
    limit.listUrl(port(limit.app)),
    LIST_LOAD,
  );
  let transactionsPerRead: number | undefined;
  if (driver === 'postgres') {
    // (a) alone: the store transactions of logged reads, reads of the log and of grants included.
    await sleep(STATS_SETTLE_MS);
    const before = await storeTransactions(pgServers);
    const alone = await loadOne(cordonUrl, cordonHeaders, Math.max(1, SECONDS / 4));
    await sleep(STATS_SETTLE_MS);
    if (alone.errors > 0) throw new Error(`gateway (${driver}): ${alone.errors} errors while counting transactions`);
    transactionsPerRead = ((await storeTransactions(pgServers)) - before) / alone.requests;
  }
  results[driver] = {
    cordon,
    bare: plain,
    limit: floor,
    ratio: cordon.rps / plain.rps,
    p99Ratio: cordon.p99 / plain.p99,
    limitRatio: cordon.rps / floor.rps,
    limitP99Ratio: cordon.p99 / floor.p99,
    transactionsPerRead,
    list,
  };
  await limit.close();
  await bare.close();
  await server.close();
  for (const pg of pgServers) await pg.stop();
}

/** A figure for the table; a latency of a server that answered nothing prints as -. */
const f = (n: number, d = 0) => (Number.isFinite(n) ? n.toFixed(d) : '-').padStart(9);
const lines = [
  `gateway — GET of one 20-field record, and of a page of ${LIST_PAGE}, concurrency ${CONCURRENCY}, ${SECONDS} s per server in ${SLICES} alternating slices; load from a separate process`,
  '',
  'store     server            req/s       p50 ms    p99 ms   errors',
];
for (const [driver, r] of Object.entries(results)) {
  lines.push(`${driver.padEnd(9)} cordon (a)   ${f(r.cordon.rps)}  ${f(r.cordon.p50, 2)} ${f(r.cordon.p99, 2)} ${f(r.cordon.errors)}`);
  lines.push(`${''.padEnd(9)} bare (b)     ${f(r.bare.rps)}  ${f(r.bare.p50, 2)} ${f(r.bare.p99, 2)} ${f(r.bare.errors)}`);
  lines.push(`${''.padEnd(9)} limit (c)    ${f(r.limit.rps)}  ${f(r.limit.p50, 2)} ${f(r.limit.p99, 2)} ${f(r.limit.errors)}`);
  if (r.cordon.errors > 0) lines.push(`${''.padEnd(9)} cordon errors by status: ${JSON.stringify(r.cordon.statuses)}`);
  lines.push(`${''.padEnd(9)} a/b throughput ${r.ratio.toFixed(2)} (goal >= 0.75), p99 ${r.p99Ratio.toFixed(2)} (goal <= 2)`);
  lines.push(`${''.padEnd(9)} a/c throughput ${r.limitRatio.toFixed(3)} (goal >= 0.5), p99 ${r.limitP99Ratio.toFixed(2)} (goal <= 3)`);
  lines.push(
    `${''.padEnd(9)} list of ${LIST_PAGE}, cordon ${f(r.list.cordon.rps)}  ${f(r.list.cordon.p50, 2)} ${f(r.list.cordon.p99, 2)} ${f(r.list.cordon.errors)}`,
  );
  lines.push(`${''.padEnd(9)} list of ${LIST_PAGE}, bare   ${f(r.list.bare.rps)}  ${f(r.list.bare.p50, 2)} ${f(r.list.bare.p99, 2)} ${f(r.list.bare.errors)}`);
  lines.push(
    `${''.padEnd(9)} list of ${LIST_PAGE}, limit  ${f(r.list.limit.rps)}  ${f(r.list.limit.p50, 2)} ${f(r.list.limit.p99, 2)} ${f(r.list.limit.errors)}`,
  );
  lines.push(
    `${''.padEnd(9)} list a/c throughput ${(r.list.cordon.rps / r.list.limit.rps).toFixed(3)}, p99 ${(r.list.cordon.p99 / r.list.limit.p99).toFixed(2)}`,
  );
  if (r.transactionsPerRead !== undefined) lines.push(`${''.padEnd(9)} store transactions per logged read ${r.transactionsPerRead.toFixed(2)} (goal <= 3)`);
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
    limit_ratio: Number(r.limitRatio.toFixed(3)),
    limit_p99_ratio: Number(r.limitP99Ratio.toFixed(2)),
    limit_rps: Math.round(r.limit.rps),
    limit_p99_ms: Number(r.limit.p99.toFixed(2)),
    ...(r.transactionsPerRead === undefined ? {} : { transactions_per_read: Number(r.transactionsPerRead.toFixed(2)) }),
    list: {
      rps: Math.round(r.list.cordon.rps),
      bare_rps: Math.round(r.list.bare.rps),
      limit_rps: Math.round(r.list.limit.rps),
      limit_ratio: Number((r.list.cordon.rps / r.list.limit.rps).toFixed(3)),
      p99_ms: Number(r.list.cordon.p99.toFixed(2)),
      limit_p99_ms: Number(r.list.limit.p99.toFixed(2)),
    },
    errors: r.cordon.errors + r.bare.errors + r.limit.errors + r.list.cordon.errors + r.list.bare.errors + r.list.limit.errors,
  };
}
json['ratio'] = Math.min(...Object.values(results).map((r) => Number(r.ratio.toFixed(2))));
process.stdout.write(`${JSON.stringify(json)}\n`);
