// Reading /metrics in tests: the exposition text parsed into samples, `promtool check metrics` on it,
// and the metric names the Grafana dashboard's queries read.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './paths.js';

export interface Exposition {
  readonly text: string;
  /** Sample values by series as printed: `name{labels}`. */
  readonly samples: Map<string, number>;
  /** Every series name the text declares (# TYPE), with a histogram's _bucket, _sum and _count. */
  readonly declared: Set<string>;
}

export function parseExposition(text: string): Exposition {
  const samples = new Map<string, number>();
  const declared = new Set<string>();
  for (const line of text.split('\n')) {
    const type = /^# TYPE (\S+) (\w+)$/.exec(line);
    if (type) {
      declared.add(type[1]!);
      if (type[2] === 'histogram') for (const s of ['_bucket', '_sum', '_count']) declared.add(type[1]! + s);
      if (type[2] === 'summary') for (const s of ['_sum', '_count']) declared.add(type[1]! + s);
      continue;
    }
    if (line === '' || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    samples.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return { text, samples, declared };
}

/** The value of one series; fails when the series is not exported. */
export function sample(e: Exposition, series: string): number {
  const v = e.samples.get(series);
  assert.notEqual(v, undefined, `${series} is exported`);
  return v!;
}

/** `promtool check metrics` on an exposition: its exit status and what it printed (lint problems). */
export function promtool(text: string): { status: number | null; output: string } {
  const r = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
  // No skipping: .ci/run installs promtool (Debian's prometheus), and where it is missing this fails.
  assert.equal(r.error, undefined, `promtool could not run (install Debian's prometheus package): ${r.error?.message}`);
  return { status: r.status, output: `${r.stdout}${r.stderr}`.trim() };
}

/** Metric names a PromQL expression reads: its identifiers, less functions, keywords, label matchers, groupings and ranges. */
export function metricNames(expr: string): string[] {
  const bare = expr
    .replace(/"[^"]*"/g, '')
    .replace(/\{[^}]*\}/g, '')
    .replace(/\[[^\]]*\]/g, '')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, '');
  const keywords = new Set(['and', 'or', 'unless', 'bool', 'offset']);
  return [...bare.matchAll(/\b([a-zA-Z_:][a-zA-Z0-9_:]*)\b(?!\s*\()/g)].map((m) => m[1]!).filter((n) => !keywords.has(n));
}

export const DASHBOARD_FILE = join(ROOT, 'docs', 'grafana-dashboard.json');

/** Metrics the dashboard must show: each area issue 20 names. */
export const DASHBOARD_MUST_SHOW: readonly string[] = [
  'cordon_http_requests_total',
  'cordon_http_request_duration_seconds_bucket',
  'cordon_field_decisions_total',
  'cordon_log_append_duration_seconds_bucket',
  'cordon_log_checkpoint_age_seconds',
  'cordon_log_queue_depth',
  'cordon_grants_active',
  'cordon_break_glass_open',
  'cordon_key_releases_total',
  'cordon_store_up',
  'nodejs_heap_size_used_bytes',
  'nodejs_eventloop_lag_p99_seconds',
];

/**
 * Checks that every metric the dashboard's queries read is exported in `e` (a sample or a # TYPE
 * line), and that it shows DASHBOARD_MUST_SHOW. Returns the names it reads.
 */
export function checkDashboard(e: Exposition): Set<string> {
  const dashboard = JSON.parse(readFileSync(DASHBOARD_FILE, 'utf8')) as { panels: { type: string; title: string; targets?: { expr: string }[] }[] };
  const exported = new Set([...e.declared, ...[...e.samples.keys()].map((k) => k.split('{')[0]!)]);
  const used = new Set<string>();
  for (const panel of dashboard.panels) {
    if (panel.type === 'row') continue;
    assert.ok(panel.targets && panel.targets.length > 0, `${panel.title} has a query`);
    for (const t of panel.targets) {
      const names = metricNames(t.expr);
      assert.ok(names.length > 0, `${panel.title}: ${t.expr} reads a metric`);
      for (const n of names) {
        assert.ok(exported.has(n), `${panel.title}: ${n} is not exported by the server`);
        used.add(n);
      }
    }
  }
  for (const n of DASHBOARD_MUST_SHOW) assert.ok(used.has(n), `the dashboard shows ${n}`);
  return used;
}
