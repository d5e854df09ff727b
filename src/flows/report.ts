// Leak reports: readable text, and SARIF 2.1.0 for code-scanning tools (each leak a result located
// at the evidence: the inventory line or the lineage event that makes the last step).

import { sarifLog } from '../shared/sarif.js';
import type { PossiblyProtected, Unconventional } from './flow-map.js';
import type { FlowAnalysis, Leak } from './leaks.js';

const KIND_TEXT: Record<string, string> = {
  outside_enclave: 'outside the enclave',
  unknown_place: 'at an unmapped place',
  team_not_allowed: 'to a team the rules do not allow',
};

export function leakTitle(l: Leak): string {
  return `${l.category} (${l.jurisdiction}) reaches ${l.sink.type} ${l.sink.id}${l.sink.country ? ` in ${l.sink.country}` : ''} ${l.reasons.map((r) => KIND_TEXT[r.kind]).join(' and ')}${l.mode === 'indirect' ? ' (indirectly)' : ''}`;
}

export interface FlowExtras {
  readonly possiblyProtected?: readonly PossiblyProtected[];
  readonly unconventional?: readonly Unconventional[];
  readonly runs?: number;
}

export function formatLeaks(a: FlowAnalysis, extras: FlowExtras = {}): string {
  const out: string[] = [];
  a.leaks.forEach((l, i) => {
    out.push(`LEAK ${i + 1}: ${leakTitle(l)}`);
    for (const s of l.path)
      out.push(`  ${s.via === 'origin' ? 'from' : '  ->'} ${s.node}${s.via === 'origin' ? '' : `  [${s.via}]`}${s.evidence ? `  (${s.evidence})` : ''}`);
    for (const r of l.reasons) out.push(`  rule: ${r.rule}`);
    out.push('');
  });
  for (const u of a.undocumented) out.push(`UNDOCUMENTED ${u.type} ${u.id}: no ${u.missing.join(', no ')}${u.where ? ` (${u.where})` : ''}`);
  for (const ns of a.unknownPlaces) out.push(`UNKNOWN PLACE ${ns}: no entry of cordon.yaml flows.places maps it`);
  for (const d of a.dangling) out.push(`DANGLING ${d}: named in column lineage, declared by no event`);
  for (const p of extras.possiblyProtected ?? [])
    out.push(
      `POSSIBLY PROTECTED, UNMAPPED ${p.dataset}#${p.column}: named like ${p.like.join(', ')} (${p.categories.join(', ')}), and no catalog dataset maps it (cordon.yaml flows.stores or flows.datasets)${p.evidence ? ` (${p.evidence})` : ''}`,
    );
  for (const u of extras.unconventional ?? []) out.push(`UNCONVENTIONAL NAME ${u.dataset}: ${u.problem}${u.evidence ? ` (${u.evidence})` : ''}`);
  const s = a.stats;
  out.push(
    `${a.leaks.length} leak path(s), ${a.undocumented.length} undocumented tool(s) or job(s)${extras.possiblyProtected ? `, ${extras.possiblyProtected.length} possibly protected unmapped column(s)` : ''}; graph: ${s.datasets} datasets, ${s.columns} columns, ${s.columnEdges} column edges, ${s.jobs} jobs${extras.runs !== undefined ? `, ${extras.runs} runs` : ''}, ${s.tools} tools`,
  );
  return out.join('\n');
}

function location(evidence: string | undefined): Record<string, unknown> | undefined {
  if (!evidence) return undefined;
  // Lineage evidence ends with where the event was read, in parentheses: `(file:line)`, or `(posted)`.
  const where = /\(([^()]*)\)$/.exec(evidence)?.[1] ?? evidence;
  if (where === 'posted') return undefined;
  const m = /^(.*?)(?::(\d+))?(?:#\d+)?$/.exec(where)!;
  return { physicalLocation: { artifactLocation: { uri: m[1] }, ...(m[2] ? { region: { startLine: Number(m[2]) } } : {}) } };
}

export function leaksSarif(a: FlowAnalysis): Record<string, unknown> {
  const kinds = ['outside_enclave', 'unknown_place', 'team_not_allowed'];
  return sarifLog(
    kinds.map((k) => ({ id: `flows/${k}`, shortDescription: { text: `protected data reaches a place or team ${KIND_TEXT[k]}` } })),
    a.leaks.map((l) => {
      const last = [...l.path].reverse().find((s) => s.evidence);
      const loc = location(last?.evidence);
      return {
        ruleId: `flows/${l.reasons[0]!.kind}`,
        level: l.mode === 'direct' ? 'error' : 'warning',
        message: { text: `${leakTitle(l)}. ${l.reasons.map((r) => r.rule).join(' ')}` },
        partialFingerprints: { cordonLeak: l.id },
        ...(loc ? { locations: [loc] } : {}),
        codeFlows: [
          { threadFlows: [{ locations: l.path.map((s) => ({ location: { ...(location(s.evidence) ?? {}), message: { text: `${s.node} [${s.via}]` } } })) }] },
        ],
      };
    }),
  );
}
