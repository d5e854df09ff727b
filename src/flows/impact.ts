// The impact of a policy change on the flow map: the leak paths that appear and disappear when the
// same lineage and inventory are judged by a new policy (e.g. UIDs becoming protected).

import type { Policy } from '../policy/index.js';
import { analyzeFlows, type Leak } from './leaks.js';
import { buildGraph, loadFlowSources } from './load.js';

export interface FlowImpact {
  readonly appear: readonly Leak[];
  readonly disappear: readonly Leak[];
  readonly unchanged: number;
}

/** Each policy is judged with its own flows config (lineage, inventory, places). */
export function flowImpact(oldPolicy: Policy, newPolicy: Policy): FlowImpact {
  const judge = (p: Policy) => {
    const sources = loadFlowSources(p);
    return analyzeFlows(p, buildGraph(sources.events), sources.inventory).leaks;
  };
  const before = judge(oldPolicy);
  const after = judge(newPolicy);
  const beforeIds = new Set(before.map((l) => l.id));
  const afterIds = new Set(after.map((l) => l.id));
  return {
    appear: after.filter((l) => !beforeIds.has(l.id)),
    disappear: before.filter((l) => !afterIds.has(l.id)),
    unchanged: after.filter((l) => beforeIds.has(l.id)).length,
  };
}
