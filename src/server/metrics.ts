// Prometheus metrics: Node's and the process's defaults; requests, latency and decisions; the access
// log, the broker's grants, key releases, the token verifier and the stores. Each server has its own
// registry (tests run several in one process).
//
// What other parts keep (the log's and the broker's stats, the verifier's counts) is read when
// Prometheus scrapes, through collect callbacks: the request path pays nothing for it. Labels hold
// only what the policy names (routes, datasets, stores) or a closed set (status, disclosure, class,
// the auth error codes): never a record key, subject, token or free text from a request.

import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry, type Metric } from 'prom-client';
import type { AccessBroker, BrokerStats } from '../access/index.js';
import type { AccessLog, AccessLogStats } from '../log/index.js';
import type { Decision } from '../policy/index.js';
import type { BucketCounts } from '../shared/bucket-counts.js';
import type { Store } from '../store/index.js';
import type { TokenVerifier } from './identity.js';

/** A store that has not answered a ping within this long is reported down: a scrape never hangs on one. */
export const DEFAULT_STORE_PING_TIMEOUT_MS = 1000;

/** Default metrics that are gauges but end in _total. */
const MISNAMED_DEFAULTS = ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total'];

export interface MetricsSources {
  readonly log: AccessLog;
  readonly broker: AccessBroker;
  readonly stores: ReadonlyMap<string, Store>;
  readonly verifier: TokenVerifier;
  readonly storePingTimeoutMs?: number;
}

export interface Metrics {
  readonly contentType: string;
  observe(method: string, route: string, status: number, seconds: number): void;
  decided(d: Decision): void;
  /** A subject's data key of `dataset` was released to this process, and the release logged. */
  keyReleased(dataset: string): void;
  /** A token was refused: `code` is an AuthError code (a closed set), never the token or its claims. */
  tokenRefused(code: `auth.${string}`): void;
  text(): Promise<string>;
}

/**
 * `read()` once per scrape: the registry asks every metric in one synchronous pass, so all the
 * metrics of one source come from one snapshot and agree with each other (a histogram's count and
 * the matching counter).
 */
function perScrape<T>(read: () => T): () => T {
  let snapshot: T | undefined;
  return () => {
    if (snapshot === undefined) {
      snapshot = read();
      queueMicrotask(() => (snapshot = undefined));
    }
    return snapshot;
  };
}

/** A histogram whose buckets another module counts (BucketCounts), exposed as a Prometheus histogram. */
function bucketHistogram(registry: Registry, name: string, help: string, read: () => BucketCounts): void {
  const metric = {
    name,
    help,
    type: 'histogram',
    get: async () => {
      const b = read();
      const values: { metricName: string; labels: { le?: number | string }; value: number }[] = [];
      let cumulative = 0;
      for (const [i, le] of b.bounds.entries()) {
        cumulative += b.counts[i]!;
        values.push({ metricName: `${name}_bucket`, labels: { le }, value: cumulative });
      }
      values.push({ metricName: `${name}_bucket`, labels: { le: '+Inf' }, value: b.count });
      return {
        name,
        help,
        type: 'histogram',
        aggregator: 'sum',
        values: [...values, { metricName: `${name}_sum`, labels: {}, value: b.sum }, { metricName: `${name}_count`, labels: {}, value: b.count }],
      };
    },
  };
  // prom-client's registry takes any object with a name, help, type and get(); its types only name its own classes.
  registry.registerMetric(metric as unknown as Metric);
}

export function createMetrics(sources: MetricsSources): Metrics {
  const registry = new Registry();
  const registers = [registry];
  // process_* and nodejs_* under their usual names, for the standard Node dashboards; less the three
  // gauges prom-client names with a counter's _total suffix (promtool refuses them), whose values are
  // sum(nodejs_active_handles) and the like.
  collectDefaultMetrics({ register: registry });
  for (const misnamed of MISNAMED_DEFAULTS) registry.removeSingleMetric(misnamed);

  const requests = new Counter({
    name: 'cordon_http_requests_total',
    help: 'HTTP requests by method, route and status',
    labelNames: ['method', 'route', 'status'],
    registers,
  });
  const latency = new Histogram({
    name: 'cordon_http_request_duration_seconds',
    help: 'HTTP request latency by route',
    labelNames: ['route'],
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
    registers,
  });
  // Field decisions are counted here, per (disclosure, class), and handed to the counter when it is
  // scraped: one map update per field on the request path instead of a labelled increment.
  const decisionCounts = new Map<string, Map<string, { n: number }>>();
  new Counter({
    name: 'cordon_field_decisions_total',
    help: 'Field decisions by disclosure and class',
    labelNames: ['disclosure', 'class'],
    registers,
    collect() {
      this.reset();
      for (const [disclosure, byClass] of decisionCounts) for (const [cls, c] of byClass) this.inc({ disclosure, class: cls }, c.n);
    },
  });

  logMetrics(
    registry,
    perScrape(() => sources.log.stats()),
  );
  brokerMetrics(
    registry,
    perScrape(() => sources.broker.stats()),
  );

  const keyReleases = new Counter({
    name: 'cordon_key_releases_total',
    help: "Subjects' data keys released to this process by the key service (each logged as key.release first), by dataset",
    labelNames: ['dataset'],
    registers,
  });
  const tokenFailures = new Counter({
    name: 'cordon_token_verification_failures_total',
    help: 'Bearer tokens refused, by reason (the auth error code without its auth. prefix)',
    labelNames: ['reason'],
    registers,
  });
  new Counter({
    name: 'cordon_jwks_fetches_total',
    help: "Fetches of the token issuer's key set (JWKS); none with a local key set",
    registers,
    collect() {
      this.reset();
      this.inc(sources.verifier.stats().keySetFetches);
    },
  });
  new Counter({
    name: 'cordon_jwks_fetch_failures_total',
    help: "Fetches of the token issuer's key set that failed: unreachable, not 200, or not a key set",
    registers,
    collect() {
      this.reset();
      this.inc(sources.verifier.stats().keySetFetchFailures);
    },
  });

  const pingTimeout = sources.storePingTimeoutMs ?? DEFAULT_STORE_PING_TIMEOUT_MS;
  new Gauge({
    name: 'cordon_store_up',
    help: `1 when the store answered a ping within ${pingTimeout} ms at scrape time, else 0`,
    labelNames: ['store'],
    registers,
    async collect() {
      const up = await Promise.all([...sources.stores.values()].map((s) => pingWithin(s, pingTimeout)));
      for (const [i, s] of [...sources.stores.values()].entries()) this.set({ store: s.name }, up[i] ? 1 : 0);
    },
  });

  return {
    contentType: registry.contentType,
    observe(method, route, status, seconds) {
      requests.inc({ method, route, status: String(status) });
      latency.observe({ route }, seconds);
    },
    decided(d) {
      for (const f of d.fields) {
        let byClass = decisionCounts.get(f.disclosure);
        if (!byClass) {
          byClass = new Map();
          decisionCounts.set(f.disclosure, byClass);
        }
        const cls = f.class ?? 'unclassified';
        const c = byClass.get(cls);
        if (c) c.n++;
        else byClass.set(cls, { n: 1 });
      }
    },
    keyReleased: (dataset) => keyReleases.inc({ dataset }),
    tokenRefused: (code) => tokenFailures.inc({ reason: code.slice('auth.'.length) }),
    text: () => registry.metrics(),
  };
}

async function pingWithin(store: Store, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((done) => {
    timer = setTimeout(() => done(false), ms);
  });
  try {
    return await Promise.race([
      store.ping().then(
        () => true,
        () => false,
      ),
      timeout,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** A gauge or counter (never decreasing) whose one value is read at scrape time. */
function scraped(registry: Registry, kind: 'gauge' | 'counter', name: string, help: string, value: () => number): void {
  if (kind === 'gauge')
    new Gauge({
      name,
      help,
      registers: [registry],
      collect() {
        this.set(value());
      },
    });
  else
    new Counter({
      name,
      help,
      registers: [registry],
      collect() {
        this.reset();
        this.inc(value());
      },
    });
}

function logMetrics(registry: Registry, stats: () => AccessLogStats): void {
  scraped(registry, 'gauge', 'cordon_log_entries', 'Entries in the access log tree (durable)', () => stats().entries);
  scraped(registry, 'counter', 'cordon_log_appends_total', 'Access log entries this process made durable', () => stats().appended);
  scraped(
    registry,
    'counter',
    'cordon_log_append_failures_total',
    'Access log appends refused because the log could not write them (each refused the response it was for)',
    () => stats().failed,
  );
  bucketHistogram(registry, 'cordon_log_append_duration_seconds', 'Access log append latency, from enqueue to durable', () => stats().appendSeconds);
  bucketHistogram(registry, 'cordon_log_batch_size', 'Entries per durable write of the access log (group commit)', () => stats().batchSize);
  scraped(registry, 'gauge', 'cordon_log_queue_depth', 'Access log appends queued or being written, not yet durable', () => stats().queued);
  // NaN, not 0, while there is no checkpoint: an empty log's checkpoint has size 0.
  scraped(registry, 'gauge', 'cordon_log_checkpoint_size', 'Entries the latest signed checkpoint covers', () => {
    const size = stats().checkpointSize;
    return size < 0 ? Number.NaN : size;
  });
  scraped(
    registry,
    'gauge',
    'cordon_log_checkpoint_age_seconds',
    'Seconds since this process signed the latest checkpoint, or found it current when it opened the log',
    () => {
      const at = stats().checkpointAt;
      return at === undefined ? Number.NaN : Math.max(0, (Date.now() - at) / 1000);
    },
  );
  scraped(registry, 'counter', 'cordon_log_checkpoints_signed_total', 'Checkpoints of the access log this process signed', () => stats().checkpointsSigned);
  scraped(registry, 'gauge', 'cordon_log_up', '1 while the access log accepts appends; 0 when it stopped (its stored rows do not match what it signed)', () =>
    stats().healthy ? 1 : 0,
  );
}

function brokerMetrics(registry: Registry, stats: () => BrokerStats): void {
  scraped(registry, 'gauge', 'cordon_grants_active', 'Access grants active now, break-glass included', () => stats().activeGrants);
  scraped(registry, 'gauge', 'cordon_access_requests_pending', 'Access requests waiting for approvers', () => stats().pendingRequests);
  scraped(registry, 'gauge', 'cordon_break_glass_open', 'Break-glass grants not yet reviewed, active or not', () => stats().breakGlassOpen);
  scraped(registry, 'counter', 'cordon_grants_made_total', 'Access grants made, break-glass included', () => stats().grantsMade);
  scraped(registry, 'counter', 'cordon_grants_revoked_total', 'Access grants revoked', () => stats().grantsRevoked);
  scraped(registry, 'counter', 'cordon_grants_expired_total', 'Access grants that reached their expiry', () => stats().grantsExpired);
}
