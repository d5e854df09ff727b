// Benchmark of the access log, in one run:
//  1. durable appends/s through the sequencer (salted commitment, one write per batch, tree) against
//     a baseline that writes the same rows in the same batches with no log around them, on
//     PostgreSQL and on PGlite. The records are the gateway's (access_record), appended as the
//     gateway appends them: encoded by encodeAccessRecord, checked, committed and written;
//  2. append-to-signed-checkpoint latency under a steady load;
//  3. inclusion proofs (PROOFS of them, at random indexes) served over HTTP from a log of ENTRIES
//     entries (p50/p99), and the time to compute one;
//  4. the time `cordon log verify` takes to check that whole log (every entry bundle and tile);
//  5. gateway GET throughput with the log on against the log off (decisions not recorded).
// Prints a table, then one JSON line.
//
//   npm run bench -- log [--entries N] [--appends N] [--seconds N] [--proofs N] [--drivers postgres,pglite]

import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import { execFile } from 'node:child_process';
import Fastify from 'fastify';
import { openStore, type Store } from '../src/store/index.js';
import { generateSignerKey, logRoutes, openAccessLog, verifyLog, type AccessLog, type AccessRecordV2 } from '../src/log/index.js';
import { loadPolicy } from '../src/policy/index.js';
import { encodeAccessRecord } from '../src/gateway/index.js';
import { createCordonServer, createDemoIssuer, seedDemoWorld } from '../src/server/index.js';
import { startPostgres, type PostgresServer } from '../test/helpers/postgres.js';
import { tempDir } from '../test/helpers/temp.js';
import { mulberry32 } from '../src/shared/random.js';

const { values: opts } = parseArgs({
  options: {
    entries: { type: 'string', default: '1000000' },
    appends: { type: 'string', default: '200000' },
    seconds: { type: 'string', default: '6' },
    proofs: { type: 'string', default: '5000' },
    drivers: { type: 'string', default: 'postgres,pglite' },
  },
});
const ENTRIES = Number(opts.entries);
const APPENDS = Number(opts.appends);
const SECONDS = Number(opts.seconds);
const PROOFS = Number(opts.proofs);
const BATCH = 4096;
const WINDOW = 16_384;
const DEMO = fileURLToPath(new URL('../../policies/demo', import.meta.url));
const LOAD = fileURLToPath(new URL('./load.js', import.meta.url));
const quiet = !process.stderr.isTTY;
const say = (s: string) => {
  if (!quiet) process.stderr.write(`${s}\n`);
};

/** A record the size of what the gateway writes for one 5-field read. */
/** Subjects as the log names them (keyed hashes: 43 base64url characters). */
const SUBJECTS = Array.from({ length: 10_000 }, (_, i) => createHash('sha256').update(`subject-${i}`).digest('base64url'));

function record(i: number): AccessRecordV2 {
  return {
    v: 2,
    at: new Date(1_764_000_000_000 + i).toISOString(),
    principal: 'austin-engineer',
    country: 'US',
    site: 'austin',
    action: 'read',
    dataset: 'users',
    subject: SUBJECTS[i % SUBJECTS.length]!,
    outcome: 'released',
    policyVersion: 'f'.repeat(64),
    jurisdiction: 'US',
    enclaveCountries: ['US'],
    grant: { id: 'g-1', reason: 'USER_SUPPORT', ticket: 'SUP-1', expiresAt: '2026-12-01T00:00:00.000Z', breakGlass: false },
    fields: [
      {
        class: 'protected',
        disclosure: 'clear',
        rules: ['enclave-grant-clear'],
        fields: Object.fromEntries(['uid', 'username', 'phone_number', 'email', 'birthday'].map((f) => [f, `user.${f}`])),
      },
    ],
  };
}

async function openBenchStore(driver: string, pgs: PostgresServer[], name: string): Promise<Store> {
  if (driver === 'postgres') {
    const pg = await startPostgres({ database: `bench_${name}` });
    pgs.push(pg);
    return openStore(name, pg.url);
  }
  return openStore(name, `pglite://${tempDir(`cordon-bench-${name}-`)}/db`);
}

/** Appends `n` records keeping WINDOW in flight (callers waiting for durability); returns appends/s. */
async function cordonAppends(log: AccessLog, n: number, offset = 0): Promise<number> {
  const t0 = performance.now();
  let next = 0;
  const lane = async () => {
    while (next < n) {
      const r = record(offset + next++);
      await log.appendCanonical(r, encodeAccessRecord(r));
    }
  };
  await Promise.all(Array.from({ length: Math.min(WINDOW, n) }, lane));
  return n / ((performance.now() - t0) / 1000);
}

/** The same rows (with commitments) written in the same batches, straight to the store. */
async function baselineAppends(store: Store, n: number): Promise<number> {
  const t0 = performance.now();
  for (let first = 0; first < n; first += BATCH) {
    const rows = [];
    for (let i = first; i < Math.min(n, first + BATCH); i++) {
      const salt = Buffer.alloc(16, i & 255).toString('base64');
      rows.push({ entry: salt, payload: JSON.stringify({ r: record(i), s: salt }) });
    }
    await store.appendEntries('baseline', first, rows);
  }
  return n / ((performance.now() - t0) / 1000);
}

async function checkpointLatency(log: AccessLog, seconds: number, perSecond: number): Promise<{ p50: number; p99: number; max: number }> {
  const t0s = new Map<number, number>();
  const latencies: number[] = [];
  let covered = log.checkpoint().size;
  const onCheckpoint = (cp: { size: number }) => {
    const now = performance.now();
    for (let i = covered; i < cp.size; i++) {
      const t0 = t0s.get(i);
      if (t0 !== undefined) latencies.push(now - t0);
      t0s.delete(i);
    }
    covered = Math.max(covered, cp.size);
  };
  log.events.on('checkpoint', onCheckpoint);
  const end = performance.now() + seconds * 1000;
  const pending: Promise<void>[] = [];
  let n = 0;
  while (performance.now() < end) {
    for (let k = 0; k < perSecond / 100; k++) {
      const t0 = performance.now();
      pending.push(
        log.append(record(n++)).then(({ index }) => {
          if (index < covered) latencies.push(performance.now() - t0);
          else t0s.set(index, t0);
        }),
      );
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  await Promise.all(pending);
  while (t0s.size > 0) await new Promise((r) => setTimeout(r, 50));
  log.events.off('checkpoint', onCheckpoint);
  latencies.sort((a, b) => a - b);
  return { p50: pct(latencies, 0.5), p99: pct(latencies, 0.99), max: latencies.at(-1)! };
}

const pct = (xs: number[], p: number) => xs[Math.min(xs.length - 1, Math.floor(xs.length * p))]!;

const pgs: PostgresServer[] = [];
const results: Record<string, { appends: number; baseline: number; ratio: number }> = {};
let latency: { p50: number; p99: number; max: number } | undefined;
let proofs: { served_p50_ms: number; served_p99_ms: number; http_p50_ms: number; http_p99_ms: number; compute_p99_us: number; size: number } | undefined;
let verify: { entries: number; seconds: number } | undefined;
try {
  for (const driver of opts.drivers.split(',')) {
    say(`${driver}: appending ${APPENDS} records…`);
    const store = await openBenchStore(driver, pgs, 'log');
    const log = await openAccessLog({ store, signerKey: generateSignerKey('bench.cordon.invalid/log').skey });
    const baseline = await baselineAppends(store, APPENDS);
    const appends = await cordonAppends(log, APPENDS);
    results[driver] = { appends, baseline, ratio: appends / baseline };
    if (driver === opts.drivers.split(',')[0]) {
      say(`${driver}: checkpoint latency…`);
      latency = await checkpointLatency(log, Math.min(SECONDS, 5), 5000);
      const have = log.size();
      if (ENTRIES > have) {
        say(`${driver}: growing the log to ${ENTRIES} entries…`);
        await cordonAppends(log, ENTRIES - have, have);
      }
      await log.publish();
      const app = Fastify();
      const served: number[] = [];
      app.addHook('onResponse', async (_req, reply) => {
        served.push(reply.elapsedTime);
      });
      await app.register(logRoutes, { log, authorizeAuditor: async () => ({ principal: 'bench', country: 'US', site: 'bench' }) });
      await app.listen({ port: 0, host: '127.0.0.1' });
      const base = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
      const size = log.checkpoint().size;
      const random = mulberry32(9162);
      const http: number[] = [];
      const compute: number[] = [];
      // The first requests warm up the connection and the JIT, and are not counted.
      const warmUp = Math.min(200, Math.floor(PROOFS / 10));
      for (let k = 0; k < PROOFS; k++) {
        const index = Math.floor(random() * size);
        const c0 = performance.now();
        log.inclusionProof(index, size);
        compute.push((performance.now() - c0) * 1000);
        const t0 = performance.now();
        const r = await fetch(`${base}/v1/log/proof?index=${index}`);
        await r.arrayBuffer();
        if (k >= warmUp) http.push(performance.now() - t0);
      }
      http.sort((a, b) => a - b);
      compute.sort((a, b) => a - b);
      const server = served.slice(warmUp).sort((a, b) => a - b);
      proofs = {
        served_p50_ms: pct(server, 0.5),
        served_p99_ms: pct(server, 0.99),
        http_p50_ms: pct(http, 0.5),
        http_p99_ms: pct(http, 0.99),
        compute_p99_us: pct(compute, 0.99),
        size,
      };
      say(`${driver}: verifying ${size} entries…`);
      const v0 = performance.now();
      const verified = await verifyLog({ url: base, vkey: log.vkey });
      if (!verified.ok) throw new Error(`verify failed: ${JSON.stringify(verified.problems)}`);
      verify = { entries: verified.size!, seconds: (performance.now() - v0) / 1000 };
      await app.close();
    }
    await log.close();
    await store.close();
  }

  // Gateway: the same GET with the log recording every decision, and with recording switched off.
  say('gateway: log on vs off…');
  const loaded = loadPolicy(DEMO);
  if (!loaded.ok) throw new Error('demo policy');
  const issuer = await createDemoIssuer();
  const token = await issuer.sign('beijing-engineer');
  const gateway: Record<string, { rps: number; p99: number }> = {};
  for (const mode of ['on', 'off'] as const) {
    const server = await createCordonServer({
      policy: loaded.policy,
      dataDir: tempDir('cordon-bench-gw-'),
      tokens: { issuer: issuer.issuer, audience: issuer.audience, jwks: issuer.jwks },
      storeUrls: Object.fromEntries([...loaded.policy.deployment.stores.keys()].map((s) => [s, `pglite://${tempDir(`cordon-bench-${s}-`)}/db`])),
      trustedProxies: ['127.0.0.1/32'],
      recorder: mode === 'off' ? { record: async () => ({ index: 0 }) } : undefined,
    });
    await seedDemoWorld(server.placement, { users: 0 });
    await server.app.listen({ port: 0, host: '127.0.0.1' });
    // beijing-engineer names demo-us-1 by its own token: it may not see the uid in clear (W6).
    const url = `http://127.0.0.1:${(server.app.server.address() as { port: number }).port}/v1/data/users/${await server.keyAs('beijing-engineer', 'users', 'demo-us-1')}`;
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [LOAD, url, String(SECONDS), '64', `authorization=Bearer ${token}`, 'x-forwarded-for=10.80.0.5'],
      { encoding: 'utf8' },
    );
    const r = JSON.parse(stdout.trim().split('\n').at(-1)!) as { rps: number; p99: number; errors: number };
    if (r.errors > 0) throw new Error(`gateway (log ${mode}): ${r.errors} errors`);
    gateway[mode] = { rps: r.rps, p99: r.p99 };
    await server.close();
  }

  const f = (n: number, d = 0) => n.toFixed(d).padStart(10);
  const lines = ['access log', '', 'durable appends/s   cordon log   baseline (same rows, same batches, no log)   ratio'];
  for (const [driver, r] of Object.entries(results))
    lines.push(
      `${driver.padEnd(18)} ${f(r.appends)}   ${f(r.baseline)}${' '.repeat(34)}${r.ratio.toFixed(2)}${driver === 'postgres' ? `   (goal >= 20000/s: ${r.appends >= 20_000 ? 'met' : 'MISSED'})` : ''}`,
    );
  if (latency)
    lines.push(
      '',
      `append -> signed checkpoint   p50 ${latency.p50.toFixed(0)} ms, p99 ${latency.p99.toFixed(0)} ms, max ${latency.max.toFixed(0)} ms   (goal <= 1000 ms)`,
    );
  if (proofs) {
    lines.push(
      `inclusion proof, log of ${proofs.size}   served (request in to response out) p50 ${proofs.served_p50_ms.toFixed(3)} ms, p99 ${proofs.served_p99_ms.toFixed(3)} ms   (goal p99 < 1 ms: ${proofs.served_p99_ms < 1 ? 'met' : 'MISSED'})`,
    );
    lines.push(
      `${''.padEnd(38)}round trip from a local client p50 ${proofs.http_p50_ms.toFixed(3)} ms, p99 ${proofs.http_p99_ms.toFixed(3)} ms; computing one p99 ${proofs.compute_p99_us.toFixed(1)} µs`,
    );
  }
  if (verify) lines.push(`cordon log verify of ${verify.entries} entries   ${verify.seconds.toFixed(1)} s`);
  lines.push(
    `gateway GET, log on vs off   ${f(gateway['on']!.rps)} vs ${f(gateway['off']!.rps)} req/s   ratio ${(gateway['on']!.rps / gateway['off']!.rps).toFixed(2)}; p99 ${gateway['on']!.p99.toFixed(2)} vs ${gateway['off']!.p99.toFixed(2)} ms`,
  );
  process.stdout.write(`${lines.join('\n')}\n\n`);
  const json: Record<string, unknown> = { bench: 'log' };
  for (const [driver, r] of Object.entries(results))
    json[driver] = { appends_per_s: Math.round(r.appends), baseline_per_s: Math.round(r.baseline), ratio: Number(r.ratio.toFixed(2)) };
  json['ratio'] = Number(Math.min(...Object.values(results).map((r) => r.ratio)).toFixed(2));
  if (latency) json['checkpoint_latency_ms'] = { p50: Math.round(latency.p50), p99: Math.round(latency.p99), max: Math.round(latency.max) };
  if (proofs)
    json['proof'] = {
      served_p99_ms: Number(proofs.served_p99_ms.toFixed(3)),
      http_p50_ms: Number(proofs.http_p50_ms.toFixed(3)),
      http_p99_ms: Number(proofs.http_p99_ms.toFixed(3)),
      compute_p99_us: Number(proofs.compute_p99_us.toFixed(1)),
      size: proofs.size,
    };
  if (verify) json['verify'] = { entries: verify.entries, seconds: Number(verify.seconds.toFixed(1)) };
  json['gateway'] = {
    log_on_rps: Math.round(gateway['on']!.rps),
    log_off_rps: Math.round(gateway['off']!.rps),
    ratio: Number((gateway['on']!.rps / gateway['off']!.rps).toFixed(2)),
  };
  process.stdout.write(`${JSON.stringify(json)}\n`);
} finally {
  for (const pg of pgs) await pg.stop();
}
