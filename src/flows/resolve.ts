// Which catalog dataset (and which store) a lineage dataset is: by cordon.yaml flows.datasets (one
// lineage dataset named exactly), or by flows.stores (where a store's tables are, by OpenLineage's
// naming: `postgres://enclave-us-db:5432` + `app.public.users` is `users` in enclave_us). Names are
// compared in canonical form, so two spellings of one source resolve alike.

import type { Policy } from '../policy/index.js';
import { canonicalDatasetUri } from '../shared/openlineage-naming.js';

export interface DatasetResolution {
  /** The catalog dataset whose fields' categories the columns carry. */
  readonly catalog: string | undefined;
  /** The store that holds it (flows.stores). */
  readonly store: string | undefined;
  /** The jurisdictions whose data the store holds (its enclave's); empty when no store is known. */
  readonly holds: readonly string[];
}

const NONE: DatasetResolution = { catalog: undefined, store: undefined, holds: [] };

/** Resolves canonical (namespace, name) pairs; results are cached. */
export function datasetResolver(policy: Policy): (namespace: string, name: string) => DatasetResolution {
  const flows = policy.deployment.flows;
  const exact = new Map<string, string>();
  for (const [uri, catalog] of flows.datasets) exact.set(canonicalDatasetUri(uri), catalog);
  const holdsOf = (store: string): string[] => [...policy.deployment.enclaves.values()].filter((e) => e.store === store).flatMap((e) => e.jurisdictions);
  const cache = new Map<string, DatasetResolution>();
  return (namespace, name) => {
    const key = `${namespace}/${name}`;
    let r = cache.get(key);
    if (r) return r;
    r = NONE;
    for (const a of flows.stores) {
      if (a.namespace !== namespace || !name.startsWith(`${a.prefix}.`)) continue;
      const table = name.slice(a.prefix.length + 1);
      if (table.includes('.')) continue;
      r = { catalog: policy.datasets.has(table) ? table : undefined, store: a.store, holds: holdsOf(a.store) };
      break;
    }
    const named = exact.get(key);
    if (named !== undefined) r = { ...r, catalog: named };
    cache.set(key, r);
    return r;
  };
}
