// Findings against the catalog: a protected category found in a place outside the enclave of its
// subject's jurisdiction is a violation; a store column whose values are mostly of one category
// that the catalog does not give it is unclassified (no catalog field) or misclassified.

import { classOf, fieldCategories, type Policy } from '../policy/index.js';
import type { Finding } from './types.js';
import { datasetOfTable, type ColumnProfile } from './store-scan.js';

/** A column is said to hold a category when at least this share of its non-empty values do. */
export const DEFAULT_COLUMN_SHARE = 0.5;

export interface AssessOptions {
  /** Where file targets (and stores not named in cordon.yaml) are: an ISO 3166 alpha-2 country. */
  readonly place?: string;
  /** Store name -> the country it is in, for stores cordon.yaml does not bind to an enclave. */
  readonly storePlaces?: ReadonlyMap<string, string>;
  /** Whose data the targets may hold (jurisdiction names); default: anyone's (every jurisdiction). */
  readonly subjects?: readonly string[];
  readonly columnShare?: number;
}

export interface Violation {
  readonly finding: Finding;
  /** The jurisdictions whose enclave the value should be in and is not. */
  readonly jurisdictions: readonly string[];
  readonly enclaves: readonly string[];
  /** The country the value was found in, or `unknown` (fail closed: an unknown place is outside every enclave). */
  readonly place: string;
  readonly reason: string;
}

export interface ColumnVerdict {
  readonly store: string;
  readonly table: string;
  readonly column: string;
  readonly detected: string;
  /** Share of the sampled non-empty values holding `detected`. */
  readonly share: number;
  /** The catalog's category for the column, when it has one. */
  readonly catalog: string | undefined;
  readonly verdict: 'unclassified' | 'misclassified';
}

export interface Assessment {
  readonly violations: Violation[];
  readonly columns: ColumnVerdict[];
}

/** Where a finding is: an enclave (stores cordon.yaml binds to one) or a country, or unknown. */
function placeOf(policy: Policy, f: Finding, options: AssessOptions): { enclave?: string; country?: string } {
  if (f.where.kind === 'store') {
    const country = options.storePlaces?.get(f.where.store);
    if (country) return { country };
    for (const e of policy.deployment.enclaves.values()) if (e.store === f.where.store) return { enclave: e.name };
  }
  return options.place ? { country: options.place } : {};
}

/**
 * The jurisdictions a finding's subject may belong to: an enclave copy's, else the record's own (a
 * row that cannot tell counts as every jurisdiction's: unclassified means protected), else the
 * phone number's country, else the subjects the scan was told of, else anyone's.
 */
function jurisdictionsOf(policy: Policy, f: Finding, options: AssessOptions): string[] {
  const d = policy.deployment;
  if (f.enclave) return [...(d.enclaves.get(f.enclave)?.jurisdictions ?? [])];
  if (f.where.kind === 'store' && f.where.jurisdiction !== undefined) {
    const j = f.where.jurisdiction;
    return j !== null && d.jurisdictions.has(j) ? [j] : [...d.jurisdictions.keys()];
  }
  if (f.country) {
    const j = d.countryJurisdiction.get(f.country) ?? d.defaultJurisdiction;
    if (j) return [j];
  }
  return options.subjects ? [...options.subjects] : [...d.jurisdictions.keys()];
}

export function assess(policy: Policy, findings: readonly Finding[], profiles: readonly ColumnProfile[], options: AssessOptions = {}): Assessment {
  const violations: Violation[] = [];
  for (const f of findings) {
    const place = placeOf(policy, f, options);
    const outside: string[] = [];
    const enclaves: string[] = [];
    for (const j of jurisdictionsOf(policy, f, options)) {
      if (classOf(policy.classes, policy.taxonomy, j, f.category) !== 'protected') continue;
      const home = policy.deployment.jurisdictions.get(j)?.enclave;
      const enclave = home === undefined ? undefined : policy.deployment.enclaves.get(home);
      const inside =
        enclave !== undefined &&
        (place.enclave !== undefined ? place.enclave === enclave.name : place.country !== undefined && enclave.allowedCountries.includes(place.country));
      if (!inside) {
        outside.push(j);
        if (enclave) enclaves.push(enclave.name);
      }
    }
    if (outside.length === 0) continue;
    const where = place.enclave !== undefined ? `enclave ${place.enclave}` : (place.country ?? 'an unknown place');
    const whose =
      f.where.kind !== 'store' || f.where.jurisdiction === undefined
        ? ''
        : f.where.jurisdiction === null
          ? " (the record's jurisdiction cannot be told, so every jurisdiction's rules apply)"
          : ` (the record's jurisdiction)`;
    violations.push({
      finding: f,
      jurisdictions: outside,
      enclaves,
      place: place.enclave ?? place.country ?? 'unknown',
      reason: `${f.category} is protected for ${outside.join(', ')}${whose} and must stay in ${enclaves.length ? `enclave ${[...new Set(enclaves)].join(', ')}` : 'its enclave'}; found in ${where}`,
    });
  }

  const share = options.columnShare ?? DEFAULT_COLUMN_SHARE;
  const columns: ColumnVerdict[] = [];
  for (const p of profiles) {
    if (p.values === 0) continue;
    const top = Object.entries(p.categories).sort((a, b) => b[1] - a[1])[0];
    if (!top || top[1] / p.values < share) continue;
    const [detected, count] = top;
    const field = policy.datasets.get(datasetOfTable(p.table))?.fields.get(p.column);
    const r = Math.round((count / p.values) * 1000) / 1000;
    if (!field) {
      columns.push({ store: p.store, table: p.table, column: p.column, detected, share: r, catalog: undefined, verdict: 'unclassified' });
      continue;
    }
    const declared = fieldCategories(field);
    const agrees = declared.some((c) => related(policy, c, detected));
    if (!agrees) columns.push({ store: p.store, table: p.table, column: p.column, detected, share: r, catalog: field.category, verdict: 'misclassified' });
  }
  return { violations, columns };
}

/** One category is the other or an ancestor of it. */
function related(policy: Policy, a: string, b: string): boolean {
  const ca = policy.taxonomy.resolve(a);
  const cb = policy.taxonomy.resolve(b);
  if (!ca || !cb) return a === b;
  return ca.lineage.includes(cb.key) || cb.lineage.includes(ca.key);
}
