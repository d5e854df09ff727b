// A closed-loop HTTP load generator that compares two (or more) servers fairly on a noisy machine:
// it alternates between the targets in short slices (A B B A A B …), so that whatever else the
// machine does in the meantime falls on each target alike. Each slice runs CONCURRENCY loops over
// keep-alive connections; the first half second of a slice warms up and is not counted.
// A target is an HTTP URL, or a SQL statement on a PostgreSQL wire endpoint (postgres.js, one
// connection per loop, the statement prepared once per connection: the extended protocol's
// Bind/Execute/Sync per request); with `keys`, request i takes key i mod n (appended to the URL, or
// bound as $1). A SQL request counts when it returns exactly one row.
// Prints one JSON line: for each target, requests, errors, req/s, p50 and p99 latency in ms.
//
//   node dist/bench/load-ab.js '{"seconds":8,"slices":8,"concurrency":64,"targets":[{"name":"a","url":"…","headers":{}}]}'

import { Agent, request } from 'node:http';
import postgres from 'postgres';

interface Target {
  readonly name: string;
  /** An HTTP URL (with `keys`: its prefix, each key appended URL-encoded); or, with `sql`, unused. */
  readonly url?: string;
  readonly headers?: Record<string, string>;
  readonly sql?: {
    readonly host: string;
    readonly port: number;
    readonly user: string;
    readonly password: string;
    /** Startup parameters besides user and database. */
    readonly connection?: Record<string, string>;
    /** The statement; with `keys`, $1 is the key. */
    readonly query: string;
  };
  readonly keys?: readonly string[];
}
interface Spec {
  /** Measured seconds per target in all. */
  readonly seconds: number;
  /** Slices per target. */
  readonly slices: number;
  readonly concurrency: number;
  readonly targets: readonly Target[];
}

const WARMUP_MS = 500;

if (process.argv[2] === undefined) {
  process.stderr.write('usage: load-ab.js SPEC_JSON\n');
  process.exit(2);
}
const spec = JSON.parse(process.argv[2]) as Spec;

interface Tally {
  latencies: number[];
  errors: number;
  statuses: Record<string, number>;
  measuredMs: number;
}

function once(agent: Agent, target: URL, path: string, headers: Record<string, string>, tally: Tally, counting: () => boolean): Promise<void> {
  return new Promise((done) => {
    const t0 = performance.now();
    const req = request({ hostname: target.hostname, port: target.port, path, agent, headers }, (res) => {
      res.resume();
      res.on('end', () => {
        if (counting()) {
          if (res.statusCode === 200) tally.latencies.push(performance.now() - t0);
          else {
            tally.errors++;
            tally.statuses[String(res.statusCode)] = (tally.statuses[String(res.statusCode)] ?? 0) + 1;
          }
        }
        done();
      });
    });
    req.on('error', () => {
      tally.errors++;
      tally.statuses['network'] = (tally.statuses['network'] ?? 0) + 1;
      done();
    });
    req.end();
  });
}

type Sql = ReturnType<typeof postgres>;

async function onceSql(sql: Sql, query: string, params: string[], tally: Tally, counting: () => boolean): Promise<void> {
  const t0 = performance.now();
  let status: string;
  try {
    const rows = await sql.unsafe(query, params, { prepare: true });
    status = rows.length === 1 ? 'ok' : `rows:${rows.length}`;
  } catch (err) {
    status = String((err as { code?: unknown }).code ?? 'error');
  }
  if (!counting()) return;
  if (status === 'ok') tally.latencies.push(performance.now() - t0);
  else {
    tally.errors++;
    tally.statuses[status] = (tally.statuses[status] ?? 0) + 1;
  }
}

/** One slice: warm up, then count what completes (a request counts if it started after warm-up). */
async function slice(agent: Agent, sql: Sql | undefined, target: Target, tally: Tally, ms: number): Promise<void> {
  const url = target.url === undefined ? undefined : new URL(target.url);
  const keys = target.keys;
  let next = 0;
  const start = performance.now();
  const measureFrom = start + WARMUP_MS;
  const end = measureFrom + ms;
  const loop = async () => {
    while (performance.now() < end) {
      const began = performance.now();
      const counting = () => began >= measureFrom;
      const key = keys === undefined ? undefined : keys[next++ % keys.length]!;
      if (sql) await onceSql(sql, target.sql!.query, key === undefined ? [] : [key], tally, counting);
      else await once(agent, url!, url!.pathname + (key === undefined ? '' : encodeURIComponent(key)) + url!.search, target.headers ?? {}, tally, counting);
    }
  };
  await Promise.all(Array.from({ length: spec.concurrency }, loop));
  tally.measuredMs += performance.now() - measureFrom;
}

const agents = spec.targets.map(() => new Agent({ keepAlive: true, maxSockets: spec.concurrency }));
const sqls = spec.targets.map((t) =>
  t.sql === undefined
    ? undefined
    : postgres({
        host: t.sql.host,
        port: t.sql.port,
        user: t.sql.user,
        password: t.sql.password,
        database: 'cordon',
        max: spec.concurrency,
        connection: t.sql.connection ?? {},
        onnotice: () => {},
      }),
);
const tallies: Tally[] = spec.targets.map(() => ({ latencies: [], errors: 0, statuses: {}, measuredMs: 0 }));
const sliceMs = (spec.seconds * 1000) / spec.slices;
for (let s = 0; s < spec.slices; s++) {
  // A B, then B A: neither target always goes first.
  const order = spec.targets.map((_, i) => i);
  if (s % 2 === 1) order.reverse();
  for (const i of order) await slice(agents[i]!, sqls[i], spec.targets[i]!, tallies[i]!, sliceMs);
}
const out: Record<string, unknown> = {};
spec.targets.forEach((t, i) => {
  const tally = tallies[i]!;
  const l = tally.latencies.sort((a, b) => a - b);
  const pct = (p: number) => l[Math.min(l.length - 1, Math.floor(l.length * p))] ?? NaN;
  out[t.name] = {
    requests: l.length,
    errors: tally.errors,
    statuses: tally.statuses,
    rps: l.length / (tally.measuredMs / 1000),
    p50: pct(0.5),
    p99: pct(0.99),
  };
});
process.stdout.write(`${JSON.stringify(out)}\n`);
for (const a of agents) a.destroy();
for (const s of sqls) await s?.end({ timeout: 1 });
