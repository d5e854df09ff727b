// Benchmark of the PostgreSQL wire gateway against the HTTP gateway, in one run on one cordon server
// over a real PostgreSQL (the demo policy, its three stores as three databases of one server):
//  (a) one record by key: `SELECT * FROM users WHERE uid = $1` through the wire gateway (postgres.js,
//      a statement prepared once per connection, then Bind/Execute/Sync) against
//      GET /v1/data/users/{uid} (node:http, keep-alive), austin-engineer from its site, with a grant
//      for user.contact, over the same US users in turn. Both decide, decrypt, disclose and log each
//      read the same way (one read path). The load comes from a separate process that alternates
//      between the two in short slices (bench/load-ab.ts), so other work weighs on both alike.
//  (b) `SELECT * FROM users` of every seeded user (100,000 by default), read by a streaming client in
//      another process (bench/pg-stream.ts): rows/s, and this process's peak resident memory (the
//      server's: PostgreSQL runs apart) when the client has 10,000 rows and when it has them all. At
//      10,000 rows the client stops reading until the server has stopped too: the log records written
//      meanwhile (each row's before it is sent) show how far the server runs ahead of a slow client.
//      Then the same query again: its rate and peak; and the live heap (after a full collection) once
//      seeded, after the query and after it again.
// Prints a table, then one JSON line.
//
//   npm run bench -- pg [--seconds N] [--slices N] [--concurrency N] [--rows N] [--keys N]

import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { execFile, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { parseArgs, promisify } from 'node:util';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import postgres from 'postgres';
import { loadPolicy } from '../src/policy/index.js';
import { createCordonServer, createDemoIssuer, seedDemoWorld, generateDemoWorld } from '../src/server/index.js';
import { startPostgres } from '../test/helpers/postgres.js';
import { tempDir } from '../test/helpers/temp.js';

const { values: opts } = parseArgs({
  options: {
    seconds: { type: 'string', default: '8' },
    slices: { type: 'string', default: '8' },
    concurrency: { type: 'string', default: '64' },
    rows: { type: 'string', default: '100000' },
    keys: { type: 'string', default: '1000' },
  },
});
const SECONDS = Number(opts.seconds);
const SLICES = Number(opts.slices);
const CONCURRENCY = Number(opts.concurrency);
const ROWS = Number(opts.rows);
const KEYS = Number(opts.keys);
/** Where the stream is sampled first (the second sample is at its last row): 10,000 rows, or half of fewer. */
const MARK = Math.min(10_000, Math.ceil(ROWS / 2));
/** The other marks: half the rows, and nine tenths. */
const HALF = Math.ceil(ROWS / 2);
const LATE = Math.ceil(ROWS * 0.9);
/** The streaming client stops reading at the mark until the server has logged nothing for STALL_MS, or for MAX_PAUSE_MS at most. */
const STALL_MS = 1000;
const MAX_PAUSE_MS = 30_000;
const RATIO_GOAL = 0.8;
const LOAD = fileURLToPath(new URL('./load-ab.js', import.meta.url));
const STREAM = fileURLToPath(new URL('./pg-stream.js', import.meta.url));
const DEMO = fileURLToPath(new URL('../../policies/demo', import.meta.url));
/** austin-engineer's site (cordon.yaml locations): believed from 127.0.0.1, a trusted proxy here. */
const FROM = '10.20.0.5';
const PERSONA = 'austin-engineer';
const ONE = 'SELECT * FROM users WHERE uid = $1';
const ALL = 'SELECT * FROM users';
const say = (s: string) => {
  if (process.stderr.isTTY) process.stderr.write(`${s}\n`);
};
if (!(ROWS >= 3 && KEYS >= 1 && CONCURRENCY >= 1 && SECONDS > 0 && SLICES >= 1))
  throw new Error('--rows >= 3, --keys >= 1, --concurrency >= 1, --seconds > 0, --slices >= 1');

// This process's memory, as the kernel counts it. The peak is reset when the query starts, so that it
// is the query's: Linux resets VmHWM to the current RSS on a write of 5 to clear_refs. The live heap
// (after a full collection) is measured once seeding is done and after each query, never while one
// runs, so that the peaks are those of a server left to collect when it will.
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
const liveHeapMb = () => {
  gc();
  return process.memoryUsage().heapUsed / 2 ** 20;
};
/** What the process keeps after a full collection: the live heap and the memory outside it that JS objects hold (buffers, the Merkle tree's among them). */
const liveMb = () => {
  gc();
  const m = process.memoryUsage();
  return (m.heapUsed + m.external) / 2 ** 20;
};
const statusMb = (field: 'VmRSS' | 'VmHWM') => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync('/proc/self/status', 'utf8'))![1]) / 1024;
function resetPeak(): boolean {
  try {
    writeFileSync('/proc/self/clear_refs', '5');
    return true;
  } catch {
    return false;
  }
}

interface LoadResult {
  requests: number;
  errors: number;
  statuses: Record<string, number>;
  rps: number;
  p50: number;
  p99: number;
}

const loaded = loadPolicy(DEMO);
if (!loaded.ok) throw new Error(`demo policy: ${JSON.stringify(loaded.issues)}`);
const policy = loaded.policy;
const issuer = await createDemoIssuer();
const token = await issuer.sign(PERSONA);

const pg = await startPostgres({ database: 'bench_global' });
const storeUrls: Record<string, string> = {};
{
  const admin = postgres(pg.url, { max: 1, onnotice: () => {} });
  for (const name of policy.deployment.stores.keys()) {
    if (name !== 'global') await admin.unsafe(`CREATE DATABASE bench_${name}`);
    storeUrls[name] = pg.url.replace(/\/[^/]*$/, `/bench_${name}`);
  }
  await admin.end();
}
const grants = [{ id: 'g', datasets: ['users'], categories: ['user.contact'], expiresAt: Date.now() + 3_600_000, reason: 'USER_SUPPORT' }];
const server = await createCordonServer({
  policy,
  dataDir: tempDir('cordon-bench-pg-'),
  tokens: { issuer: issuer.issuer, audience: issuer.audience, jwks: issuer.jwks },
  storeUrls,
  trustedProxies: ['127.0.0.1/32'],
  // One grant, the same objects on every call, as the access broker hands them out.
  grantsOf: () => grants,
  pgWire: true,
});
let exitCode = 0;
try {
  // The three fixed demo users and ROWS - 3 generated ones, of every jurisdiction.
  const world = { users: ROWS - 3, videosPerUser: 0, commentsPerVideo: 0 };
  say(`seeding ${ROWS} users …`);
  const seedStart = performance.now();
  await seedDemoWorld(server.placement, { ...world, concurrency: 32 });
  const seedS = (performance.now() - seedStart) / 1000;
  const liveSeeded = liveHeapMb();
  // The keys read one by one: US users, whose uid austin-engineer sees in clear.
  const keys: string[] = [];
  for (const r of generateDemoWorld(world)) if (r.dataset === 'users' && r.values['country'] === 'US' && keys.length < KEYS) keys.push(r.key);
  await server.app.listen({ port: 0, host: '127.0.0.1' });
  const httpPort = (server.app.server.address() as { port: number }).port;
  const wirePort = (await server.pg!.listen(0, '127.0.0.1')).port;
  const wire = { host: '127.0.0.1', port: wirePort, user: PERSONA, password: token, connection: { 'cordon.forwarded_for': FROM } };
  const headers = { authorization: `Bearer ${token}`, 'x-forwarded-for': FROM };

  // Both doors must give the same cells for the same record, or the comparison measures two different things.
  {
    const sql = postgres({ ...wire, database: 'cordon', max: 1, onnotice: () => {} });
    for (const key of [keys[0]!, keys.at(-1)!]) {
      const [row] = await sql.unsafe(ONE, [key], { prepare: true });
      const r = await fetch(`http://127.0.0.1:${httpPort}/v1/data/users/${encodeURIComponent(key)}`, { headers });
      const body = (await r.json()) as { fields: Record<string, unknown> };
      if (r.status !== 200 || row === undefined)
        throw new Error(`the record is not read by both doors (HTTP ${r.status}, wire ${row === undefined ? 'no row' : 'a row'})`);
      const fromWire = Object.fromEntries(Object.entries(row).filter(([, v]) => v !== null));
      const fromHttp = Object.fromEntries(Object.entries(body.fields).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)]));
      if (JSON.stringify(Object.entries(fromWire).sort()) !== JSON.stringify(Object.entries(fromHttp).sort()))
        throw new Error(
          `the wire gateway and the HTTP gateway disclose different cells of one record (fields ${Object.keys(fromWire).sort()} / ${Object.keys(fromHttp).sort()})`,
        );
    }
    await sql.end();
  }

  say(`loading the wire and the HTTP gateway, ${SECONDS} s each …`);
  const spec = {
    seconds: SECONDS,
    slices: SLICES,
    concurrency: CONCURRENCY,
    targets: [
      { name: 'wire', sql: { ...wire, query: ONE }, keys },
      { name: 'http', url: `http://127.0.0.1:${httpPort}/v1/data/users/`, headers, keys },
    ],
  };
  const { stdout } = await promisify(execFile)(process.execPath, [LOAD, JSON.stringify(spec)], { encoding: 'utf8', maxBuffer: 16 << 20 });
  const load = JSON.parse(stdout.trim().split('\n').at(-1)!) as { wire: LoadResult; http: LoadResult };
  for (const r of Object.values(load)) {
    r.p50 ??= Number.NaN;
    r.p99 ??= Number.NaN;
  }
  const ratio = load.wire.rps / load.http.rps;

  /**
   * Streams ALL to a client in another process, and takes this process's peak memory over each part of
   * the stream: up to MARK rows, up to HALF, and up to the last row (the kernel's peak, reset at each
   * mark). With `pause`, the client stops reading at MARK until the server has stopped too (its log
   * has not grown for STALL_MS): the server decides and logs rows only as far as the socket takes them.
   */
  const streamAll = async (pause: boolean) => {
    const marks = [...new Set([MARK, HALF, LATE])].filter((m) => m < ROWS);
    const child = spawn(process.execPath, [STREAM, JSON.stringify({ ...wire, query: ALL, marks, pauseAt: pause ? MARK : undefined })], {
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    const exited = new Promise<number | null>((done) => child.on('exit', (code) => done(code)));
    const out = {
      peaks: [] as { rows: number; mb: number }[],
      live: [] as { rows: number; mb: number }[],
      loggedInPause: Number.NaN,
      stalled: false,
      stallS: Number.NaN,
      rows: 0,
      ms: 0,
      rps: 0,
    };
    let ended = false;
    resetPeak();
    for await (const line of createInterface({ input: child.stdout })) {
      const m = JSON.parse(line) as { mark?: number; pause?: boolean; rows?: number; ms: number; rps?: number };
      if (m.mark === undefined) {
        Object.assign(out, { rows: m.rows, ms: m.ms, rps: m.rps });
        out.peaks.push({ rows: m.rows!, mb: statusMb('VmHWM') });
        ended = true;
        continue;
      }
      // The peak of the part just streamed; then what the server keeps now, mid-stream.
      out.peaks.push({ rows: m.mark, mb: statusMb('VmHWM') });
      out.live.push({ rows: m.mark, mb: liveMb() });
      resetPeak();
      if (!m.pause) continue;
      const pauseStart = performance.now();
      const atMark = server.log.size();
      let last = atMark;
      let still = 0;
      while (still < STALL_MS && performance.now() - pauseStart < MAX_PAUSE_MS) {
        await new Promise((r) => setTimeout(r, 100));
        const now = server.log.size();
        still = now === last ? still + 100 : 0;
        last = now;
      }
      out.stalled = still >= STALL_MS;
      out.stallS = (performance.now() - pauseStart - still) / 1000;
      out.loggedInPause = last - atMark;
      child.stdin.write('go on\n');
    }
    const code = await exited;
    if (code !== 0 || !ended) throw new Error(`the streaming client failed (exit ${code})`);
    return out;
  };

  say(`streaming ${ROWS} rows …`);
  // A server that has been serving (the load above), not one just collected: its heap is as big as its work made it.
  const peakReset = resetPeak();
  const rssBefore = statusMb('VmRSS');
  const logBefore = server.log.size();
  const stream = await streamAll(true);
  const logged = server.log.size() - logBefore;
  const liveFirst = liveHeapMb();
  say(`streaming ${ROWS} rows again …`);
  const againFrom = server.log.size();
  const again = await streamAll(false);
  const loggedAgain = server.log.size() - againFrom;
  const liveAgain = liveHeapMb();

  /** What the log's Merkle tree keeps of 100,000 rows' records (MerkleTree: 64 B per leaf). */
  const merkleMb = ((64 * loggedAgain) / again.rows) * (100_000 / 2 ** 20);
  const liveText = (live: readonly { rows: number; mb: number }[]) => live.map((p) => `${p.mb.toFixed(0)} MB at ${p.rows} rows`).join(', ');
  const peaksText = (peaks: readonly { rows: number; mb: number }[]) =>
    peaks.map((p, i) => `${p.mb.toFixed(0)} MB up to ${p.rows} rows${i === 0 ? '' : ` (from ${peaks[i - 1]!.rows})`}`).join(', ');
  const f = (n: number, d = 0) => (Number.isFinite(n) ? n.toFixed(d) : '-').padStart(9);
  const lines = [
    `pg — one record by key (${keys.length} US users in turn, austin-engineer), concurrency ${CONCURRENCY}, ${SECONDS} s per door in ${SLICES} alternating slices; load from a separate process`,
    '',
    'door                                     req/s    p50 ms    p99 ms    errors',
    `wire  SELECT * … WHERE uid = $1      ${f(load.wire.rps)} ${f(load.wire.p50, 2)} ${f(load.wire.p99, 2)} ${f(load.wire.errors)}`,
    `http  GET /v1/data/users/{uid}       ${f(load.http.rps)} ${f(load.http.p50, 2)} ${f(load.http.p99, 2)} ${f(load.http.errors)}`,
    `wire/http throughput ${ratio.toFixed(2)} (goal >= ${RATIO_GOAL}), p99 ${(load.wire.p99 / load.http.p99).toFixed(2)}`,
  ];
  for (const [door, r] of Object.entries(load)) if (r.errors > 0) lines.push(`${door} errors: ${JSON.stringify(r.statuses)}`);
  lines.push(
    '',
    `pg — ${ALL} of ${ROWS} users (seeded in ${seedS.toFixed(0)} s) through the wire gateway, one streaming client`,
    '',
    `rows ${stream.rows} in ${(stream.ms / 1000).toFixed(1)} s: ${stream.rps.toFixed(0)} rows/s; ${logged} log records (one per row, and one per data key released)`,
    `server resident memory: ${rssBefore.toFixed(0)} MB when the query starts; its peak ${peaksText(stream.peaks)}${peakReset ? '' : ' (peaks since the process started: clear_refs could not be written)'}`,
    stream.stalled
      ? `the client stopped reading at ${MARK} rows: the server stopped too, ${stream.loggedInPause} log records later (rows and the data keys they released, in ${stream.stallS.toFixed(1)} s)`
      : `the client stopped reading at ${MARK} rows: the server had not stopped ${MAX_PAUSE_MS / 1000} s later (${stream.loggedInPause} log records)`,
    `the same query again: ${again.rows} rows in ${(again.ms / 1000).toFixed(1)} s, ${again.rps.toFixed(0)} rows/s; ${loggedAgain} log records; peak ${peaksText(again.peaks)}`,
    `what the server keeps mid-stream (live heap and buffers after a full collection): ${liveText(stream.live)}; the query again: ${liveText(again.live)}; the log's Merkle tree keeps ${merkleMb.toFixed(1)} MB of 100,000 rows' records (64 B each)`,
    `live heap after a full collection: ${liveSeeded.toFixed(0)} MB once seeded, ${liveFirst.toFixed(0)} MB after the query, ${liveAgain.toFixed(0)} MB after it again`,
  );
  process.stdout.write(`${lines.join('\n')}\n\n`);
  const json = {
    bench: 'pg',
    concurrency: CONCURRENCY,
    seconds: SECONDS,
    keys: keys.length,
    wire: { rps: Math.round(load.wire.rps), p50_ms: Number(load.wire.p50.toFixed(2)), p99_ms: Number(load.wire.p99.toFixed(2)), errors: load.wire.errors },
    http: { rps: Math.round(load.http.rps), p50_ms: Number(load.http.p50.toFixed(2)), p99_ms: Number(load.http.p99.toFixed(2)), errors: load.http.errors },
    ratio: Number(ratio.toFixed(2)),
    rows: stream.rows,
    rowsPerSecond: Math.round(stream.rps),
    rowsPerSecondAgain: Math.round(again.rps),
    logged,
    loggedAgain,
    rssMbBefore: Number(rssBefore.toFixed(1)),
    liveHeapMbSeeded: Number(liveSeeded.toFixed(1)),
    liveHeapMbFirst: Number(liveFirst.toFixed(1)),
    liveHeapMbAgain: Number(liveAgain.toFixed(1)),
    liveMb: stream.live.map((p) => ({ rows: p.rows, mb: Number(p.mb.toFixed(1)) })),
    liveMbAgain: again.live.map((p) => ({ rows: p.rows, mb: Number(p.mb.toFixed(1)) })),
    merkleMbPer100kRows: Number(merkleMb.toFixed(1)),
    peakRssMb: stream.peaks.map((p) => ({ rows: p.rows, mb: Number(p.mb.toFixed(1)) })),
    peakRssMbAgain: again.peaks.map((p) => ({ rows: p.rows, mb: Number(p.mb.toFixed(1)) })),
    loggedInPause: stream.loggedInPause,
    stalled: stream.stalled,
    errors: load.wire.errors + load.http.errors,
  };
  process.stdout.write(`${JSON.stringify(json)}\n`);
} catch (err) {
  process.stderr.write(`bench pg: ${err instanceof Error ? err.message : String(err)}\n`);
  exitCode = 1;
} finally {
  await server.close();
  await pg.stop();
}
process.exit(exitCode);
