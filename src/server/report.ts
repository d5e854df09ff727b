// The oversight report for a period, from the access log's records: access by reason, outcome,
// country and team; grants and break-glass with their review status; denied and refused attempts;
// migration, purge and shredding statements; and the checkpoint the report covers. The JSON is
// signed with the log's key (a signed note over its SHA-256), the HTML is one self-contained page.

import { createHash } from 'node:crypto';
import type { Policy } from '../policy/index.js';
import { canonicalJson, parseSignerKey, signNote, type AccessLog } from '../log/index.js';
import { standingAccessReview, type AccessBroker, type Actor } from '../access/index.js';

type Counts = Record<string, number>;

export interface OversightReport {
  readonly v: 1;
  readonly deployment: string;
  readonly policyVersion: string;
  readonly from: string;
  readonly to: string;
  readonly generatedAt: string;
  readonly generatedFor: string;
  readonly access: {
    readonly total: number;
    readonly byReason: Counts;
    readonly byOutcome: Counts;
    readonly byCountry: Counts;
    readonly byTeam: Counts;
    readonly protectedInClear: number;
  };
  readonly grants: readonly {
    id: string;
    principal: string;
    reason: string;
    ticket: string;
    breakGlass: boolean;
    state: string;
    notBefore: string;
    expiresAt: string;
    review: string;
  }[];
  readonly refused: { readonly reads: number; readonly brokerActs: Counts };
  readonly statements: readonly { index: number; type: string; at: string }[];
  /** The standing-access review's flags (who can reach protected data without a grant) and the broker's grant flags, as of the report. */
  readonly standing: readonly { kind: string; principal: string | null; message: string }[];
  /** Writes that moved a field to another jurisdiction or subject (transfer) or declassified it, each with its log index. */
  readonly writes: readonly WriteInReport[];
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

export interface WriteInReport {
  readonly index: number;
  readonly at: string;
  readonly action: 'transfer' | 'declassify';
  readonly principal: string;
  readonly dataset: string;
  readonly field: string;
  readonly from: string;
  readonly to: string;
  readonly allowed: boolean;
}

const bump = (c: Counts, k: string) => {
  c[k] = (c[k] ?? 0) + 1;
};

export async function buildReport(
  policy: Policy,
  log: AccessLog,
  broker: AccessBroker,
  actor: Actor,
  from: Date,
  to: Date,
  now: Date,
): Promise<OversightReport> {
  const access = { total: 0, byReason: {} as Counts, byOutcome: {} as Counts, byCountry: {} as Counts, byTeam: {} as Counts, protectedInClear: 0 };
  const refused = { reads: 0, brokerActs: {} as Counts };
  const statements: { index: number; type: string; at: string }[] = [];
  const cp = log.checkpoint();
  let inPeriod = 0;
  let first: number | null = null;
  let last: number | null = null;
  const writes: WriteInReport[] = [];
  for (let after = -1; after < cp.size - 1; ) {
    const page = await log.records(after, 5000);
    if (page.length === 0) break;
    for (const s of page) {
      after = s.index;
      if (s.index >= cp.size) break;
      const r = (s.record ?? {}) as Record<string, unknown>;
      const at = Date.parse(String(r['at'] ?? ''));
      if (!(at >= from.getTime() && at < to.getTime())) continue;
      inPeriod++;
      first ??= s.index;
      last = s.index;
      for (const e of Array.isArray(r['effects']) ? (r['effects'] as Record<string, unknown>[]) : []) {
        if (e['action'] !== 'transfer' && e['action'] !== 'declassify') continue;
        writes.push({
          index: s.index,
          at: String(r['at']),
          action: e['action'],
          principal: String(r['principal']),
          dataset: String(e['dataset']),
          field: String(e['field']),
          from: String(e['from']),
          to: String(e['to']),
          allowed: e['allowed'] === true,
        });
      }
      const type = typeof r['type'] === 'string' ? r['type'] : undefined;
      if (type === undefined && typeof r['action'] === 'string' && r['action'] !== 'audit_read') {
        access.total++;
        const grant = r['grant'] as { reason?: string } | null;
        bump(access.byReason, grant?.reason || 'no grant');
        bump(access.byOutcome, String(r['outcome'] ?? 'unknown'));
        bump(access.byCountry, String(r['country'] ?? 'unknown'));
        bump(access.byTeam, policy.directory.principals.get(String(r['principal']))?.team ?? 'unknown');
        // v1 lists fields, v2 groups them: both say class and disclosure on each member.
        const fields = (r['fields'] as { class: string | null; disclosure: string }[] | undefined) ?? [];
        if (fields.some((f) => f.class === 'protected' && f.disclosure === 'clear')) access.protectedInClear++;
        if (r['outcome'] === 'refused') refused.reads++;
      } else if (type === 'broker.refused') {
        bump(refused.brokerActs, String(r['code']));
      } else if (type !== undefined && /^(migrate|shred|purge)/.test(type)) {
        statements.push({ index: s.index, type, at: String(r['at']) });
      }
    }
  }
  const grants = broker
    .listGrants(actor, {})
    .filter((g) => g.notBefore >= from.getTime() && g.notBefore < to.getTime())
    .map((g) => ({
      id: g.id,
      principal: g.principal,
      reason: g.reason,
      ticket: g.ticket,
      breakGlass: g.breakGlass,
      state: g.state,
      notBefore: new Date(g.notBefore).toISOString(),
      expiresAt: new Date(g.expiresAt).toISOString(),
      review: g.breakGlass
        ? g.review
          ? `${g.review.decision} by ${g.review.by}`
          : g.reviewBy !== undefined && g.reviewBy <= now.getTime()
            ? 'OVERDUE: not reviewed'
            : 'pending review'
        : 'approved request',
    }));
  return {
    v: 1,
    deployment: policy.deployment.name,
    policyVersion: policy.versionHash,
    from: from.toISOString(),
    to: to.toISOString(),
    generatedAt: now.toISOString(),
    generatedFor: actor.principal.id,
    access,
    grants,
    refused,
    statements,
    standing: [
      ...standingAccessReview(policy).flags.map((f) => ({ kind: f.kind, principal: f.principal ?? null, message: f.message })),
      ...broker.grantFlags().map((f) => ({ kind: f.kind, principal: f.principal, message: f.message })),
    ],
    writes,
    log: {
      origin: log.origin,
      checkpointSize: cp.size,
      root: cp.root.toString('base64'),
      checkpoint: cp.note,
      healthy: log.health().ok,
      recordsInPeriod: inPeriod,
      range: { first, last },
    },
  };
}

/** The report with a signed note over the SHA-256 of its canonical JSON, by the log's key. */
export function signReport(report: OversightReport, logSignerKey: string): { report: OversightReport; sha256: string; signature: string } {
  const sha256 = createHash('sha256').update(canonicalJson(report)).digest('hex');
  const text = `cordon oversight report v1\n${report.log.origin}\n${report.from} ${report.to}\nsha256 ${sha256}\n`;
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
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>cordon oversight report ${esc(r.from)} – ${esc(r.to)}</title>
<style>body{font-family:system-ui,sans-serif;max-width:960px;margin:24px auto;padding:0 16px;color:#1b1f24}table{border-collapse:collapse;width:100%;margin:8px 0 16px}th,td{border-bottom:1px solid #ddd;padding:4px 8px;text-align:left}.charts{display:flex;flex-wrap:wrap;gap:16px}pre{background:#f3f4f6;padding:8px;overflow:auto;font-size:12px}.bad{color:#b91c1c}</style></head>
<body>
<h1>Oversight report: ${esc(r.deployment)}</h1>
<p>Period ${esc(r.from)} to ${esc(r.to)}; generated ${esc(r.generatedAt)} for ${esc(r.generatedFor)}; policy ${esc(r.policyVersion.slice(0, 16))}….</p>
<p>Every count below is of the access-log entries ${range} (checkpoint of ${r.log.checkpointSize} entries); <code>cordon log verify --records</code> checks them.</p>
<h2>Standing access</h2>
<p>${r.standing.length} flag${r.standing.length === 1 ? '' : 's'} of the standing-access review and the broker, as of the report.</p>
${table(
  ['Kind', 'Principal', 'Flag'],
  r.standing.map((f) => [f.kind, f.principal ?? '—', f.message]),
)}
<h2>Transfers and declassifications</h2>
<p>${r.writes.filter((w) => w.action === 'transfer').length} transfers and ${r.writes.filter((w) => w.action === 'declassify').length} declassifications (entries ${range}).</p>
${table(
  ['Log index', 'At', 'What', 'Principal', 'Field', 'From', 'To', 'Permitted'],
  r.writes.map((w) => [w.index, w.at, w.action, w.principal, `${w.dataset}.${w.field}`, w.from, w.to, w.allowed ? 'yes' : 'no (refused)']),
)}
<h2>Access</h2>
<p>${r.access.total} decisions; ${r.access.protectedInClear} released protected data in clear; ${r.refused.reads} refused.</p>
<div class="charts">${bars('By reason', r.access.byReason)}${bars('By outcome', r.access.byOutcome)}${bars('By country', r.access.byCountry)}${bars('By team', r.access.byTeam)}</div>
<h2>Grants and break-glass</h2>
${table(
  ['Grant', 'Principal', 'Reason', 'Ticket', 'Break-glass', 'State', 'From', 'Until', 'Review'],
  r.grants.map((g) => [g.id, g.principal, g.reason, g.ticket, g.breakGlass ? 'yes' : 'no', g.state, g.notBefore, g.expiresAt, g.review]),
)}
<h2>Refused attempts at the broker</h2>
${table(['Code', 'Count'], Object.entries(r.refused.brokerActs))}
<h2>Migration, purge and shredding statements</h2>
${table(
  ['Log index', 'Statement', 'At'],
  r.statements.map((s) => [s.index, s.type, s.at]),
)}
<h2>The access log</h2>
<p>${esc(r.log.origin)}: checkpoint of ${r.log.checkpointSize} entries, root ${esc(r.log.root)}; ${r.log.healthy ? 'healthy' : '<span class="bad">UNHEALTHY</span>'}; ${r.log.recordsInPeriod} records in the period. Check it yourself with <code>cordon log verify</code>.</p>
<pre>${esc(r.log.checkpoint)}</pre>
<h2>Signature</h2>
<p>SHA-256 of the report's canonical JSON: <code>${signed.sha256}</code>, signed with the log's key:</p>
<pre>${esc(signed.signature)}</pre>
</body></html>
`;
}
