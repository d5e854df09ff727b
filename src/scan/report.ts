// The scan result as text for people and as SARIF 2.1.0 for code-scanning tools. (JSON is the
// result itself.) Only masked samples appear: a report never holds a clear value.

import type { ScanResultV1 } from './scan.js';
import type { ColumnSummary, Finding, Location } from './types.js';
import { DETECTOR_CATEGORY, DETECTOR_IDS } from './types.js';
import { sarifLog } from '../shared/sarif.js';

export function whereText(w: Location): string {
  return w.kind === 'file'
    ? `${w.file}:${w.line}:${w.column}${w.field !== undefined ? ` [${w.field}]` : ''}`
    : `${w.store}/${w.table}.${w.column} row ${w.row}`;
}

function findingText(f: Finding): string {
  return `${whereText(f.where)}  ${f.detector} ${f.category} ${f.sample} (confidence ${f.confidence.toFixed(2)}${f.country ? `, ${f.country}` : ''}${f.enclave ? `, copy of an enclave ${f.enclave} record` : ''})`;
}

/** Findings listed one per line in text, after the summary (violations first); --json has every kept one. */
export const TEXT_FINDINGS = 100;

/** The summary entry a finding counts in: its target, column and detector. */
function columnKey(f: Finding): string {
  const w = f.where;
  return w.kind === 'file' ? `${w.file}\u0000${w.field ?? ''}\u0000${f.detector}` : `${w.store}/${w.table}\u0000${w.column}\u0000${f.detector}`;
}

function summaryKey(c: ColumnSummary): string {
  return `${c.target}\u0000${c.column ?? ''}\u0000${c.detector}`;
}

const int = (n: number): string => n.toLocaleString('en-US');

/** One line per target, column and detector: counts and positions, never values. */
export function formatSummary(r: Pick<ScanResultV1, 'summary' | 'violations' | 'findings'>): string[] {
  if (r.summary.length === 0) return [];
  const violations = new Map<string, number>();
  for (const v of r.violations) violations.set(columnKey(v.finding), (violations.get(columnKey(v.finding)) ?? 0) + 1);
  const kept = new Map<string, number>();
  for (const f of r.findings) kept.set(columnKey(f), (kept.get(columnKey(f)) ?? 0) + 1);
  const out = ['SUMMARY (per file or table, column and detector; positions, never values)'];
  for (const c of r.summary) {
    const v = violations.get(summaryKey(c)) ?? 0;
    const k = kept.get(summaryKey(c)) ?? 0;
    out.push(
      `  ${c.target}${c.column !== undefined ? ` [${c.column}]` : ''}  ${c.detector}: ${int(c.count)} in ${int(c.rows)} of ${int(c.of)} rows ` +
        `(${(c.share * 100).toFixed(1)}%)${v ? `, ${int(v)} violation(s)${k < c.count ? ` among ${int(k)} kept` : ''}` : ''}; e.g. ${c.examples.join(', ')}`,
    );
  }
  return out;
}

export function formatText(r: ScanResultV1, maxFindings = TEXT_FINDINGS): string {
  const out: string[] = formatSummary(r);
  const violating = new Set(r.violations.map((v) => v.finding));
  let listed = 0;
  for (const v of r.violations) if (listed++ < maxFindings) out.push(`VIOLATION ${findingText(v.finding)}\n  ${v.reason}`);
  for (const f of r.findings) if (!violating.has(f) && listed++ < maxFindings) out.push(`finding   ${findingText(f)}`);
  if (listed > maxFindings)
    out.push(`… ${int(listed - maxFindings)} more kept finding(s) not listed here (--json lists every kept finding; the summary counts all)`);
  for (const c of r.columns) {
    out.push(
      c.verdict === 'unclassified'
        ? `UNCLASSIFIED ${c.store}/${c.table}.${c.column}: ${Math.round(c.share * 100)}% of sampled values are ${c.detected}; the catalog has no such field (unclassified means protected)`
        : `MISCLASSIFIED ${c.store}/${c.table}.${c.column}: catalog says ${c.catalog}, ${Math.round(c.share * 100)}% of sampled values are ${c.detected}`,
    );
  }
  for (const p of r.problems) out.push(`problem   ${p.target}: ${p.code}: ${p.message}`);
  const mb = (r.bytes / 1e6).toFixed(1);
  out.push(
    `scanned ${r.files} file(s) (${mb} MB) and ${r.stores} store(s) (${r.rows} rows): ${r.findings.length} finding(s)${r.dropped ? ` (+${r.dropped} not kept)` : ''}, ` +
      `${r.violations.length} violation(s), ${r.columns.length} column issue(s); ` +
      (r.complete ? 'scan complete' : `scan INCOMPLETE (${r.problems.length} problem(s))`),
  );
  return `${out.join('\n')}\n`;
}

/**
 * SARIF 2.1.0: one rule per detector and one result per target, column and detector, with the
 * count; an error when a kept finding there is a violation (its reason quoted), else a note.
 */
export function toSarif(r: ScanResultV1): unknown {
  const firstViolation = new Map<string, { reason: string; count: number }>();
  for (const v of r.violations) {
    const k = columnKey(v.finding);
    const e = firstViolation.get(k);
    if (e) e.count++;
    else firstViolation.set(k, { reason: v.reason, count: 1 });
  }
  const firstFinding = new Map<string, Finding>();
  for (const f of r.findings) if (!firstFinding.has(columnKey(f))) firstFinding.set(columnKey(f), f);
  return sarifLog(
    DETECTOR_IDS.map((id) => ({ id, shortDescription: { text: `${id} (${DETECTOR_CATEGORY[id]})` } })),
    r.summary.map((c) => {
      const k = summaryKey(c);
      const v = firstViolation.get(k);
      const f = firstFinding.get(k);
      const at = `${c.target}${c.column !== undefined ? ` [${c.column}]` : ''}`;
      const text =
        `${int(c.count)} ${c.category} finding(s) in ${int(c.rows)} of ${int(c.of)} rows of ${at}; e.g. ${c.examples.join(', ')}` +
        (v ? `. ${int(v.count)} kept one(s) are violations: ${v.reason}` : '');
      return {
        ruleId: c.detector,
        level: v ? 'error' : 'note',
        message: { text },
        properties: {
          category: c.category,
          count: c.count,
          rows: c.rows,
          of: c.of,
          share: c.share,
          examples: c.examples,
          violations: v?.count ?? 0,
          ...(c.column !== undefined ? { column: c.column } : {}),
        },
        locations: [
          f?.where.kind === 'file'
            ? {
                physicalLocation: {
                  artifactLocation: { uri: f.where.file },
                  region: { startLine: f.where.line, startColumn: f.where.column, endColumn: f.where.column + (f.span[1] - f.span[0]) },
                },
              }
            : { logicalLocations: [{ fullyQualifiedName: `${c.target}${c.column !== undefined ? `.${c.column}` : ''}`, kind: 'member' }] },
        ],
      };
    }),
    {
      invocations: [
        {
          executionSuccessful: r.complete,
          toolExecutionNotifications: r.problems.map((p) => ({ level: 'warning', message: { text: `${p.target}: ${p.code}: ${p.message}` } })),
        },
      ],
    },
  );
}
