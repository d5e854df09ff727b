// The oversight report for a period, from the access log's records: access by reason, outcome,
// country and team; grants and break-glass with their review status; denied and refused attempts;
// migration, purge and shredding statements; and the checkpoint the report covers. The JSON is
// signed with the log's key (a signed note over its SHA-256), the HTML is one self-contained page.

import { createHash } from 'node:crypto';
import type { Policy } from '../policy/index.js';
import {
  canonicalJson,
  figuresSha256,
  parseSignerKey,
  signNote,
  snapshotSha256,
  tallyPeriod,
  type AccessLog,
  type Figure,
  type PeriodTally,
} from '../log/index.js';
import { standingAccessReview, type AccessBroker, type Actor } from '../access/index.js';
import type { Leak } from '../flows/index.js';
import type { ScanResultV1 } from '../scan/index.js';

type Counts = Record<string, number>;

export interface OversightReport {
  readonly v: 2;
  readonly deployment: string;
  readonly policyVersion: string;
  readonly from: string;
  readonly to: string;
  readonly generatedAt: string;
  readonly generatedFor: string;
  readonly access: PeriodTally['access'];
  readonly grants: PeriodTally['grants'];
  readonly refused: PeriodTally['refused'];
  readonly statements: PeriodTally['statements'];
  /** Writes that moved a field to another jurisdiction or subject (transfer) or declassified it, each with its log index. */
  readonly writes: PeriodTally['writes'];
  /** Every count above, with the first and last log index of the records it counts: `cordon report --verify` recomputes each. */
  readonly figures: readonly Figure[];
  /** The team of each principal the access counts name, from the policy's directory (what `access.byTeam` is counted by). */
  readonly teams: Readonly<Record<string, string>>;
  /** The standing-access review's flags (who can reach protected data without a grant) and the broker's grant flags, as of the report. */
  readonly standing: readonly { kind: string; principal: string | null; message: string }[];
  /** The flow map's leak paths as of the report: where a protected category flows out of its enclave, and how. */
  readonly leaks: readonly LeakInReport[];
  /** The scanner's violations in the global store as of the report (the console's scan): places, never values. */
  readonly violations: { readonly complete: boolean; readonly count: number; readonly listed: readonly ViolationInReport[] };
  /**
   * What is not in the log but the report states as of its making (standing flags, leak paths,
   * violations): the report's own log record (`type: report`, at `record`) commits to their
   * SHA-256, so the report an overseer holds is the one the operator was bound to when it was made.
   */
  readonly snapshot: { readonly record: number; readonly sha256: string };
  readonly log: {
    readonly origin: string;
    readonly checkpointSize: number;
    readonly root: string;
    readonly checkpoint: string;
    readonly healthy: boolean;
    readonly recordsInPeriod: number;
    /** The log entries behind every count of the period: the first and last index of a record in it (null: none). */
    readonly range: { readonly first: number | null; readonly last: number | null };
  };
}

export interface LeakInReport {
  readonly id: string;
  readonly category: string;
  readonly jurisdiction: string;
  readonly mode: 'direct' | 'indirect';
  readonly sink: { readonly type: string; readonly id: string; readonly country: string | null };
  readonly rules: readonly string[];
  readonly path: readonly string[];
}

export interface ViolationInReport {
  readonly store: string;
  readonly table: string;
  readonly column: string;
  readonly row: string;
  readonly category: string;
  readonly jurisdictions: readonly string[];
  readonly place: string;
  readonly reason: string;
}

/** At most this many violations are listed (all are counted). */
export const MAX_VIOLATIONS_LISTED = 1000;

export function leaksInReport(leaks: readonly Leak[]): LeakInReport[] {
  return leaks.map((l) => ({
    id: l.id,
    category: l.category,
    jurisdiction: l.jurisdiction,
    mode: l.mode,
    sink: { type: l.sink.type, id: l.sink.id, country: l.sink.country ?? null },
    rules: [...new Set(l.reasons.map((r) => r.rule))],
    path: l.path.map((p) => p.node),
  }));
}

export function violationsInReport(scan: Pick<ScanResultV1, 'complete' | 'violations'>): OversightReport['violations'] {
  const listed: ViolationInReport[] = [];
  for (const v of scan.violations.slice(0, MAX_VIOLATIONS_LISTED)) {
    const w = v.finding.where;
    listed.push({
      store: w.kind === 'store' ? w.store : w.file,
      table: w.kind === 'store' ? w.table : '',
      column: w.kind === 'store' ? w.column : (w.field ?? ''),
      row: w.kind === 'store' ? w.row : `line ${w.line}`,
      category: v.finding.category,
      jurisdictions: v.jurisdictions,
      place: v.place,
      reason: v.reason,
    });
  }
  return { complete: scan.complete, count: scan.violations.length, listed };
}

export interface ReportSources {
  /** The flow map's leak paths now. */
  leaks(): Promise<readonly Leak[]>;
  /** The scanner's result for the global store (the console's latest scan). */
  violations(): Promise<Pick<ScanResultV1, 'complete' | 'violations'>>;
}

/**
 * Builds the report from the log's records up to its current checkpoint, appends the report's own
 * record (which commits to the figures and to what the log does not hold), and publishes a
 * checkpoint that covers it, so that `cordon report --verify` finds it.
 */
export async function buildReport(
  policy: Policy,
  log: AccessLog,
  broker: AccessBroker,
  actor: Actor,
  sources: ReportSources,
  from: Date,
  to: Date,
  now: Date,
): Promise<OversightReport> {
  const cp = log.checkpoint();
  const records: { index: number; record: unknown }[] = [];
  for (let after = -1; after < cp.size - 1; ) {
    const page = await log.records(after, 5000);
    if (page.length === 0) break;
    for (const s of page) {
      after = s.index;
      if (s.index < cp.size) records.push({ index: s.index, record: s.record });
    }
  }
  const teamOf = (p: string) => policy.directory.principals.get(p)?.team;
  const tally = tallyPeriod(records, { from, to, size: cp.size, now, teamOf });
  const teams: Record<string, string> = {};
  for (const { record } of records) {
    const r = record as { principal?: unknown; at?: unknown } | null;
    const at = Date.parse(String(r?.at ?? ''));
    if (typeof r?.principal === 'string' && at >= from.getTime() && at < to.getTime() && !(r.principal in teams))
      teams[r.principal] = teamOf(r.principal) ?? 'unknown';
  }
  const [leaks, scan] = await Promise.all([sources.leaks(), sources.violations()]);
  const partial = {
    standing: [
      ...standingAccessReview(policy).flags.map((f) => ({ kind: f.kind, principal: f.principal ?? null, message: f.message })),
      ...broker.grantFlags().map((f) => ({ kind: f.kind, principal: f.principal, message: f.message })),
    ],
    leaks: leaksInReport(leaks),
    violations: violationsInReport(scan),
    teams: Object.fromEntries(Object.entries(teams).sort(([a], [b]) => (a < b ? -1 : 1))),
  };
  const sha256 = snapshotSha256(partial);
  const { index } = await log.append({
    v: 2,
    at: now.toISOString(),
    type: 'report',
    principal: actor.principal.id,
    country: actor.country,
    site: actor.site,
    from: from.toISOString(),
    to: to.toISOString(),
    policyVersion: policy.versionHash,
    checkpointSize: cp.size,
    figures: figuresSha256(tally.figures),
    snapshot: sha256,
    standing: partial.standing.length,
    leaks: partial.leaks.length,
    violations: partial.violations.count,
  });
  await log.publish();
  return {
    v: 2,
    deployment: policy.deployment.name,
    policyVersion: policy.versionHash,
    from: from.toISOString(),
    to: to.toISOString(),
    generatedAt: now.toISOString(),
    generatedFor: actor.principal.id,
    access: tally.access,
    grants: tally.grants,
    refused: tally.refused,
    statements: tally.statements,
    writes: tally.writes,
    figures: tally.figures,
    ...partial,
    snapshot: { record: index, sha256 },
    log: {
      origin: log.origin,
      checkpointSize: cp.size,
      root: cp.root.toString('base64'),
      checkpoint: cp.note,
      healthy: log.health().ok,
      recordsInPeriod: tally.recordsInPeriod,
      range: tally.range,
    },
  };
}

/** The report with a signed note over the SHA-256 of its canonical JSON, by the log's key. */
export function signReport(report: OversightReport, logSignerKey: string): { report: OversightReport; sha256: string; signature: string } {
  const sha256 = createHash('sha256').update(canonicalJson(report)).digest('hex');
  const text = `cordon oversight report v${report.v}\n${report.log.origin}\n${report.from} ${report.to}\nsha256 ${sha256}\n`;
  return { report, sha256, signature: signNote(text, [parseSignerKey(logSignerKey)]) };
}

const esc = (s: unknown) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function bars(title: string, counts: Counts): string {
  const entries = Object.entries(counts).sort((a, b) => b[1] - a[1]);
  const max = Math.max(1, ...entries.map(([, n]) => n));
  const rows = entries.map(
    ([k, n], i) =>
      `<g transform="translate(0,${i * 24})"><text x="0" y="15">${esc(k)}</text><rect x="170" y="3" height="16" width="${Math.round((n / max) * 300)}" fill="#1d4ed8"/><text x="${176 + Math.round((n / max) * 300)}" y="15">${n}</text></g>`,
  );
  return `<figure><figcaption>${esc(title)}</figcaption><svg role="img" aria-label="${esc(title)}" width="520" height="${Math.max(24, entries.length * 24)}" font-size="12" font-family="sans-serif">${rows.join('') || '<text x="0" y="15">none</text>'}</svg></figure>`;
}

export function reportHtml(signed: ReturnType<typeof signReport>): string {
  const r = signed.report;
  const range = r.log.range.first === null ? '(none in the period)' : `${r.log.range.first}–${r.log.range.last}`;
  const table = (head: string[], rows: unknown[][]) =>
    `<table><thead><tr>${head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>${rows.map((row) => `<tr>${row.map((c) => `<td>${esc(c)}</td>`).join('')}</tr>`).join('') || `<tr><td colspan="${head.length}">none</td></tr>`}</tbody></table>`;
  const entries = (f: Figure) => (f.first === null ? 'none' : f.first === f.last ? `${f.first}` : `${f.first}–${f.last}`);
  const transfers = r.writes.filter((w) => w.action === 'transfer').length;
  const snapshot = `log entry ${r.snapshot.record}`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>cordon oversight report ${esc(r.from)} – ${esc(r.to)}</title>
<style>body{font-family:system-ui,sans-serif;max-width:960px;margin:24px auto;padding:0 16px;color:#1b1f24}table{border-collapse:collapse;width:100%;margin:8px 0 16px}th,td{border-bottom:1px solid #ddd;padding:4px 8px;text-align:left;overflow-wrap:anywhere;vertical-align:top}.charts{display:flex;flex-wrap:wrap;gap:16px}pre{background:#f3f4f6;padding:8px;overflow:auto;font-size:12px}.bad{color:#b91c1c}</style></head>
<body>
<h1>Oversight report: ${esc(r.deployment)}</h1>
<p>Period ${esc(r.from)} to ${esc(r.to)}; generated ${esc(r.generatedAt)} for ${esc(r.generatedFor)}; policy ${esc(r.policyVersion.slice(0, 16))}….</p>
<p>Every count of the period is of the access-log entries ${range} (checkpoint of ${r.log.checkpointSize} entries); the table of figures gives the entries behind each, and <code>cordon report --verify</code> recomputes every one from the log. What the log does not hold (standing flags, leak paths, violations) is stated as of the report, and ${snapshot}, the report's own record, commits to it (SHA-256 <code>${esc(r.snapshot.sha256.slice(0, 16))}…</code>).</p>
<h2>Standing access</h2>
<p>${r.standing.length} flag${r.standing.length === 1 ? '' : 's'} of the standing-access review and the broker, as of the report (${snapshot}).</p>
${table(
  ['Kind', 'Principal', 'Flag'],
  r.standing.map((f) => [f.kind, f.principal ?? '—', f.message]),
)}
<h2>Leak paths</h2>
<p>${r.leaks.length} path${r.leaks.length === 1 ? '' : 's'} of the flow map by which a protected category leaves its enclave, as of the report (${snapshot}).</p>
${table(
  ['Category', 'Jurisdiction', 'To', 'Country', 'How', 'Path', 'Rules'],
  r.leaks.map((l) => [l.category, l.jurisdiction, `${l.sink.type} ${l.sink.id}`, l.sink.country ?? 'unknown', l.mode, l.path.join(' → '), l.rules.join(', ')]),
)}
<h2>Scanner violations</h2>
<p>${r.violations.count} protected value${r.violations.count === 1 ? '' : 's'} found outside ${r.violations.count === 1 ? 'its' : 'their'} enclave by the scan of the global store${r.violations.complete ? '' : ' <span class="bad">(the scan did not finish: there may be more)</span>'}, as of the report (${snapshot})${r.violations.listed.length < r.violations.count ? `; the first ${r.violations.listed.length} are listed` : ''}. Places only, never values.</p>
${table(
  ['Store', 'Table', 'Row', 'Column', 'Category', 'Protected for', 'Found in'],
  r.violations.listed.map((v) => [v.store, v.table, v.row, v.column, v.category, v.jurisdictions.join(', '), v.place]),
)}
<h2>Transfers and declassifications</h2>
<p>${transfers} transfer${transfers === 1 ? '' : 's'} and ${r.writes.length - transfers} declassification${r.writes.length - transfers === 1 ? '' : 's'} (entries ${range}).</p>
${table(
  ['Log index', 'At', 'What', 'Principal', 'Field', 'From', 'To', 'Permitted'],
  r.writes.map((w) => [w.index, w.at, w.action, w.principal, `${w.dataset}.${w.field}`, w.from, w.to, w.allowed ? 'yes' : 'no (refused)']),
)}
<h2>Access</h2>
<p>${r.access.total} decisions; ${r.access.protectedInClear} released protected data in clear; ${r.refused.reads} refused.</p>
<div class="charts">${bars('By reason', r.access.byReason)}${bars('By outcome', r.access.byOutcome)}${bars('By country', r.access.byCountry)}${bars('By team', r.access.byTeam)}</div>
<h2>Grants and break-glass</h2>
${table(
  ['Grant', 'Log index', 'Principal', 'Reason', 'Ticket', 'Break-glass', 'State', 'From', 'Until', 'Review'],
  r.grants.map((g) => [g.id, g.index, g.principal, g.reason, g.ticket, g.breakGlass ? 'yes' : 'no', g.state, g.notBefore, g.expiresAt, g.review]),
)}
<h2>Refused attempts at the broker</h2>
${table(['Code', 'Count'], Object.entries(r.refused.brokerActs))}
<h2>Migration, purge and shredding statements</h2>
${table(
  ['Log index', 'Statement', 'At'],
  r.statements.map((s) => [s.index, s.type, s.at]),
)}
<h2>Figures and the log entries behind them</h2>
${table(
  ['Figure', 'Value', 'Log entries'],
  r.figures.map((f) => [f.name, f.value, entries(f)]),
)}
<h2>The access log</h2>
<p>${esc(r.log.origin)}: checkpoint of ${r.log.checkpointSize} entries, root ${esc(r.log.root)}; ${r.log.healthy ? 'healthy' : '<span class="bad">UNHEALTHY</span>'}; ${r.log.recordsInPeriod} records in the period. Check it yourself with <code>cordon log verify</code>, and this report with <code>cordon report --verify</code>.</p>
<pre>${esc(r.log.checkpoint)}</pre>
<h2>Signature</h2>
<p>SHA-256 of the report's canonical JSON: <code>${signed.sha256}</code>, signed with the log's key:</p>
<pre>${esc(signed.signature)}</pre>
</body></html>
`;
}
