// What the store's placement needs of a policy (store may not call policy, PRODUCT.md §4): datasets,
// the jurisdiction of a country, each jurisdiction's enclave store, and each field's class for a row.
// The shape matches store's PlacementRules.

import { categoryForRow } from './catalog.js';
import { classOf } from './classes.js';
import type { DataClass, Policy } from './model.js';
import { OtherRegionError } from '../shared/errors.js';

export function createPlacementRules(policy: Policy) {
  const { deployment } = policy;
  // A regional gateway (policy/region.ts) holds its own enclave's store only: another region's
  // jurisdiction is that region's (OtherRegionError), before any store of it would be touched.
  const own = deployment.region === undefined ? undefined : deployment.enclaves.get(deployment.region);
  const enclaveStores = own ? [own.store] : [...new Set([...deployment.enclaves.values()].map((e) => e.store))];
  return {
    globalStore: deployment.globalStore,
    enclaveStores,
    ...(deployment.region === undefined ? {} : { region: deployment.region }),
    dataset(name: string) {
      const d = policy.datasets.get(name);
      if (!d) return undefined;
      return {
        key: d.key,
        fields: [...d.fields.keys()],
        jurisdictionField: d.jurisdictionField,
        subjectField: d.subjectField,
        subjectDataset: d.subjectDataset,
      };
    },
    jurisdictionOfCountry(country: unknown): string | undefined {
      if (typeof country !== 'string') return undefined;
      return deployment.countryJurisdiction.get(country) ?? deployment.defaultJurisdiction;
    },
    enclaveStoreOf(jurisdiction: string): string {
      const j = deployment.jurisdictions.get(jurisdiction);
      const e = j && deployment.enclaves.get(j.enclave);
      if (!e) throw new Error(`jurisdiction ${jurisdiction} has no enclave`);
      if (own && e.name !== own.name) throw new OtherRegionError(e.name, jurisdiction);
      return e.store;
    },
    classOf(dataset: string, field: string, row: Readonly<Record<string, unknown>>, jurisdiction: string): DataClass | undefined {
      const f = policy.datasets.get(dataset)?.fields.get(field);
      const category = f && categoryForRow(f, row);
      return category === undefined ? undefined : classOf(policy.classes, policy.taxonomy, jurisdiction, category);
    },
  };
}
