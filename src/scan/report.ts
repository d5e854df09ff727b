// The scan result as text for people and as SARIF 2.1.0 for code-scanning tools. (JSON is the
// result itself.) Only masked samples appear: a report never holds a clear value.

import type { ScanResultV1 } from './scan.js';
import type { Finding, Location } from './types.js';
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

export function formatText(r: ScanResultV1): string {
  const out: string[] = [];
  const violating = new Set(r.violations.map((v) => v.finding));
  for (const v of r.violations) out.push(`VIOLATION ${findingText(v.finding)}\n  ${v.reason}`);
  for (const f of r.findings) if (!violating.has(f)) out.push(`finding   ${findingText(f)}`);
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

/** SARIF 2.1.0: one rule per detector; violations are errors, other findings notes. */
export function toSarif(r: ScanResultV1): unknown {
  const violation = new Map(r.violations.map((v) => [v.finding, v]));
  return sarifLog(
    DETECTOR_IDS.map((id) => ({ id, shortDescription: { text: `${id} (${DETECTOR_CATEGORY[id]})` } })),
    r.findings.map((f) => {
      const v = violation.get(f);
      return {
        ruleId: f.detector,
        level: v ? 'error' : 'note',
        message: { text: v ? v.reason : `${f.category} ${f.sample}` },
        properties: { category: f.category, confidence: f.confidence, sample: f.sample },
        locations: [
          f.where.kind === 'file'
            ? {
                physicalLocation: {
                  artifactLocation: { uri: f.where.file },
                  region: { startLine: f.where.line, startColumn: f.where.column, endColumn: f.where.column + (f.span[1] - f.span[0]) },
                },
              }
            : { logicalLocations: [{ fullyQualifiedName: `${f.where.store}/${f.where.table}.${f.where.column}[${f.where.row}]`, kind: 'member' }] },
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
