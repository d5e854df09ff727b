// The impact of a policy change on the flow map: the leak paths that appear and disappear when the
// same lineage and inventory are judged by a new policy (e.g. UIDs becoming protected).

import type { Policy } from '../policy/index.js';
import { flowMap } from './flow-map.js';
import type { Leak } from './leaks.js';
import { loadFlowSources, type SourcedEvent } from './load.js';

export interface FlowImpact {
  readonly appear: readonly Leak[];
  readonly disappear: readonly Leak[];
  readonly unchanged: number;
}

/** The leak paths of a policy's own lineage and inventory files, and of `posted` events after them. */
export function leaksUnder(policy: Policy, posted: readonly SourcedEvent[] = []): readonly Leak[] {
  const sources = loadFlowSources(policy);
  return flowMap(policy, [...sources.events, ...posted], sources.inventory).analysis.leaks;
}

/** Each policy is judged with its own flows config (lineage, inventory, places). */
export function flowImpact(oldPolicy: Policy, newPolicy: Policy): FlowImpact {
  return compareLeaks(leaksUnder(oldPolicy), leaksUnder(newPolicy));
}

/** The leak paths that appear and disappear from `before` to `after` (by leak id). */
export function compareLeaks(before: readonly Leak[], after: readonly Leak[]): FlowImpact {
  const beforeIds = new Set(before.map((l) => l.id));
  const afterIds = new Set(after.map((l) => l.id));
  return {
    appear: after.filter((l) => !beforeIds.has(l.id)),
    disappear: before.filter((l) => !afterIds.has(l.id)),
    unchanged: after.filter((l) => beforeIds.has(l.id)).length,
  };
}
