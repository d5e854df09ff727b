// diff(): what a policy change does. Categories whose class changed, per jurisdiction; and, for every
// principal of the directory and every catalog field (each of its categories, each jurisdiction),
// the disclosures that change. Each principal asks from its own work country and site.

import { classOf } from './classes.js';
import { createDecider, type DecideAction, type Decider } from './decide.js';
import { DISCLOSURES, fieldCategories as categoriesOf, type DataClass, type Disclosure, type Policy, type Principal } from './model.js';

export interface ClassChange {
  readonly jurisdiction: string;
  readonly category: string;
  readonly from: DataClass | undefined;
  readonly to: DataClass | undefined;
}

export interface Flip {
  readonly principal: string;
  readonly dataset: string;
  readonly field: string;
  readonly category: string;
  readonly jurisdiction: string;
  readonly from: Disclosure;
  readonly to: Disclosure;
  /** `lose` when the new disclosure is weaker, `gain` when stronger. */
  readonly change: 'lose' | 'gain';
  readonly rulesFrom: readonly string[];
  readonly rulesTo: readonly string[];
}

export interface PolicyDiff {
  readonly from: string;
  readonly to: string;
  readonly action: DecideAction;
  readonly withGrant: boolean;
  readonly classChanges: readonly ClassChange[];
  readonly flips: readonly Flip[];
  readonly summary: { readonly classChanges: number; readonly flips: number; readonly lose: number; readonly gain: number; readonly decisionsCompared: number };
}

export interface DiffOptions {
  readonly action?: DecideAction;
  /** Ask as if every principal held an active grant for the field. */
  readonly withGrant?: boolean;
}

function union<T>(...lists: Iterable<T>[]): T[] {
  return [...new Set(lists.flatMap((l) => [...l]))];
}

function fieldCategories(policy: Policy, dataset: string, field: string): string[] {
  const f = policy.datasets.get(dataset)?.fields.get(field);
  return f ? [...categoriesOf(f)] : [];
}

function decideIn(
  decider: Decider,
  p: Principal,
  action: DecideAction,
  dataset: string,
  field: string,
  category: string,
  jurisdiction: string,
  withGrant: boolean,
) {
  const policy = decider.policy;
  if (
    !policy.directory.principals.has(p.id) ||
    !policy.datasets.get(dataset)?.fields.has(field) ||
    !fieldCategories(policy, dataset, field).includes(category)
  ) {
    return { disclosure: 'withheld' as Disclosure, rules: [] as readonly string[] };
  }
  const now = Date.now();
  const d = decider.decideField({
    principal: p.id,
    action,
    dataset,
    field,
    category,
    jurisdiction,
    context: {
      country: p.workCountry,
      site: p.site,
      now,
      grants: withGrant ? [{ id: 'diff-grant', datasets: [dataset], categories: [category], expiresAt: now + 3_600_000, reason: 'USER_SUPPORT' }] : [],
    },
  });
  return { disclosure: d.disclosure, rules: d.rules };
}

export function diffPolicies(oldPolicy: Policy, newPolicy: Policy, options: DiffOptions = {}): PolicyDiff {
  const action = options.action ?? 'read';
  const withGrant = options.withGrant ?? false;
  const jurisdictions = union(oldPolicy.deployment.jurisdictions.keys(), newPolicy.deployment.jurisdictions.keys()).sort();
  const categories = union(oldPolicy.taxonomy.categories.keys(), newPolicy.taxonomy.categories.keys()).sort();
  const classChanges: ClassChange[] = [];
  for (const j of jurisdictions) {
    const inOld = oldPolicy.deployment.jurisdictions.has(j);
    const inNew = newPolicy.deployment.jurisdictions.has(j);
    for (const c of categories) {
      const from = inOld && oldPolicy.taxonomy.resolve(c) ? classOf(oldPolicy.classes, oldPolicy.taxonomy, j, c) : undefined;
      const to = inNew && newPolicy.taxonomy.resolve(c) ? classOf(newPolicy.classes, newPolicy.taxonomy, j, c) : undefined;
      if (from !== to) classChanges.push({ jurisdiction: j, category: c, from, to });
    }
  }

  const oldDecider = createDecider(oldPolicy);
  const newDecider = createDecider(newPolicy);
  const principals = new Map<string, Principal>();
  for (const p of oldPolicy.directory.principals.values()) principals.set(p.id, p);
  for (const p of newPolicy.directory.principals.values()) principals.set(p.id, p);
  const fields: [string, string][] = [];
  for (const ds of union(oldPolicy.datasets.keys(), newPolicy.datasets.keys()).sort()) {
    const names = union(oldPolicy.datasets.get(ds)?.fields.keys() ?? [], newPolicy.datasets.get(ds)?.fields.keys() ?? []);
    for (const f of names) fields.push([ds, f]);
  }
  const flips: Flip[] = [];
  let compared = 0;
  for (const p of [...principals.values()].sort((a, b) => a.id.localeCompare(b.id))) {
    for (const [ds, f] of fields) {
      const cats = union(fieldCategories(oldPolicy, ds, f), fieldCategories(newPolicy, ds, f));
      for (const category of cats) {
        for (const j of jurisdictions) {
          const a = oldPolicy.deployment.jurisdictions.has(j)
            ? decideIn(oldDecider, oldPolicy.directory.principals.get(p.id) ?? p, action, ds, f, category, j, withGrant)
            : { disclosure: 'withheld' as Disclosure, rules: [] };
          const b = newPolicy.deployment.jurisdictions.has(j)
            ? decideIn(newDecider, newPolicy.directory.principals.get(p.id) ?? p, action, ds, f, category, j, withGrant)
            : { disclosure: 'withheld' as Disclosure, rules: [] };
          compared++;
          if (a.disclosure !== b.disclosure) {
            const change = DISCLOSURES.indexOf(b.disclosure) > DISCLOSURES.indexOf(a.disclosure) ? 'lose' : 'gain';
            flips.push({
              principal: p.id,
              dataset: ds,
              field: f,
              category,
              jurisdiction: j,
              from: a.disclosure,
              to: b.disclosure,
              change,
              rulesFrom: a.rules,
              rulesTo: b.rules,
            });
          }
        }
      }
    }
  }
  const lose = flips.filter((x) => x.change === 'lose').length;
  return {
    from: oldPolicy.dir,
    to: newPolicy.dir,
    action,
    withGrant,
    classChanges,
    flips,
    summary: { classChanges: classChanges.length, flips: flips.length, lose, gain: flips.length - lose, decisionsCompared: compared },
  };
}
