// The metrics module over stand-in sources (no stores, no server): every cordon_ metric is named by
// the conventions and listed in the README, the exposition passes `promtool check metrics`, the
// Grafana dashboard reads only what is exported, bucket counts become a Prometheus histogram, and a
// store that does not answer is down within the ping timeout. test/metrics.slow.test.ts checks the
// same on a running server under load.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AccessBroker, BrokerStats } from '../src/access/index.js';
import type { AccessLog, AccessLogStats } from '../src/log/index.js';
import type { TokenVerifier } from '../src/server/index.js';
import { createMetrics } from '../src/server/metrics.js';
import { BucketCounts } from '../src/shared/bucket-counts.js';
import type { Store } from '../src/store/index.js';
import { checkDashboard, parseExposition, promtool, sample } from './helpers/metrics.js';
import { README } from './helpers/readme.js';

function world(options: { ping?: Record<string, () => Promise<void>>; log?: Partial<AccessLogStats> } = {}) {
  const appendSeconds = new BucketCounts([0.001, 0.01, 0.1]);
  const logStats: AccessLogStats = {
    entries: 12,
    queued: 3,
    appended: 10,
    failed: 1,
    appendSeconds,
    batchSize: new BucketCounts([1, 8]),
    checkpointSize: 9,
    checkpointAt: Date.now() - 1500,
    checkpointsSigned: 4,
    healthy: true,
    ...options.log,
  };
  const brokerStats: BrokerStats = { activeGrants: 2, pendingRequests: 1, breakGlassOpen: 1, grantsMade: 5, grantsRevoked: 2, grantsExpired: 1 };
  const pings = options.ping ?? { enclave_us: async () => undefined };
  const stores = new Map(Object.entries(pings).map(([name, ping]) => [name, { name, ping } as unknown as Store]));
  const metrics = createMetrics({
    log: { stats: () => logStats } as unknown as AccessLog,
    broker: { stats: () => brokerStats } as unknown as AccessBroker,
    stores,
    verifier: { stats: () => ({ keySetFetches: 3, keySetFetchFailures: 1 }) } as unknown as TokenVerifier,
    storePingTimeoutMs: 100,
  });
  return { metrics, appendSeconds };
}

test('every cordon_ metric has a help text, _total exactly on counters, seconds where it is a time, and a line in the README', async () => {
  const { metrics } = world();
  const text = await metrics.text();
  const helps = new Map([...text.matchAll(/^# HELP (cordon_\S+) (.*)$/gm)].map((m) => [m[1]!, m[2]!]));
  const types = new Map([...text.matchAll(/^# TYPE (cordon_\S+) (\w+)$/gm)].map((m) => [m[1]!, m[2]!]));
  assert.equal(types.size, 24);
  const readme = README.slice(README.indexOf('## Metrics'));
  for (const [name, type] of types) {
    assert.ok((helps.get(name) ?? '').length > 10, `${name} has a help text`);
    assert.equal(name.endsWith('_total'), type === 'counter', `${name} (${type}): counters, and only they, end in _total`);
    if (/duration|latency|_age/.test(name)) assert.match(name, /_seconds$/, `${name} is in seconds`);
    assert.match(readme, new RegExp(`\`${name}(\\{[^\`]*\\})?\` \\| ${type} \\|`), `the README's Metrics section lists ${name} as a ${type}`);
  }
  assert.match(text, /^# TYPE process_cpu_seconds_total counter$/m, "Node's defaults");
  assert.match(text, /^# TYPE nodejs_eventloop_lag_p99_seconds gauge$/m);
});

test('the exposition passes promtool, and the dashboard reads only what it exports', async () => {
  const { metrics } = world();
  metrics.observe('GET', '/v1/data/:dataset/:key', 200, 0.004);
  metrics.keyReleased('users');
  metrics.tokenRefused('auth.expired');
  const e = parseExposition(await metrics.text());
  assert.deepEqual(promtool(e.text), { status: 0, output: '' });
  checkDashboard(e);
});

test('values come from the sources at scrape time; bucket counts become a cumulative histogram', async () => {
  const { metrics, appendSeconds } = world();
  for (const v of [0.0005, 0.002, 0.002, 0.05, 3]) appendSeconds.observe(v);
  metrics.tokenRefused('auth.expired');
  metrics.tokenRefused('auth.expired');
  const e = parseExposition(await metrics.text());
  const expected: Record<string, number> = {
    cordon_log_entries: 12,
    cordon_log_queue_depth: 3,
    cordon_log_appends_total: 10,
    cordon_log_append_failures_total: 1,
    cordon_log_checkpoint_size: 9,
    cordon_log_checkpoints_signed_total: 4,
    cordon_log_up: 1,
    'cordon_log_append_duration_seconds_bucket{le="0.001"}': 1,
    'cordon_log_append_duration_seconds_bucket{le="0.01"}': 3,
    'cordon_log_append_duration_seconds_bucket{le="0.1"}': 4,
    'cordon_log_append_duration_seconds_bucket{le="+Inf"}': 5,
    cordon_log_append_duration_seconds_count: 5,
    cordon_grants_active: 2,
    cordon_access_requests_pending: 1,
    cordon_break_glass_open: 1,
    cordon_grants_made_total: 5,
    cordon_grants_revoked_total: 2,
    cordon_grants_expired_total: 1,
    cordon_jwks_fetches_total: 3,
    cordon_jwks_fetch_failures_total: 1,
    'cordon_token_verification_failures_total{reason="expired"}': 2,
    'cordon_store_up{store="enclave_us"}': 1,
  };
  for (const [series, v] of Object.entries(expected)) assert.equal(sample(e, series), v, series);
  assert.ok(Math.abs(sample(e, 'cordon_log_append_duration_seconds_sum') - 3.0545) < 1e-9);
  const age = sample(e, 'cordon_log_checkpoint_age_seconds');
  assert.ok(age >= 1.5 && age < 5, `checkpoint age ${age}`);
});

test('a log without a checkpoint says NaN, not 0; an unhealthy one is down', async () => {
  const { metrics } = world({ log: { checkpointSize: -1, checkpointAt: undefined, healthy: false } });
  const e = parseExposition(await metrics.text());
  assert.ok(Number.isNaN(sample(e, 'cordon_log_checkpoint_size')));
  assert.ok(Number.isNaN(sample(e, 'cordon_log_checkpoint_age_seconds')));
  assert.equal(sample(e, 'cordon_log_up'), 0);
});

test('a store that fails its ping, or does not answer within the timeout, is down; the scrape does not wait for it', async () => {
  const { metrics } = world({
    ping: {
      up: async () => undefined,
      failing: () => Promise.reject(new Error('connection refused')),
      hanging: () => new Promise<void>(() => undefined),
    },
  });
  const t0 = performance.now();
  const e = parseExposition(await metrics.text());
  assert.ok(performance.now() - t0 < 2000, 'bounded by the 100 ms ping timeout');
  assert.equal(sample(e, 'cordon_store_up{store="up"}'), 1);
  assert.equal(sample(e, 'cordon_store_up{store="failing"}'), 0);
  assert.equal(sample(e, 'cordon_store_up{store="hanging"}'), 0);
});
