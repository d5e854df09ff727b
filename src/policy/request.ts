// The request an evaluator answers: one Cedar call (principal, action, resource = one classified
// field, context), built once per principal and per classified field, and shared by both evaluators.

import type { CedarAction, DataClass, Policy, Principal } from './model.js';
import { READ_ACTIONS } from './model.js';
import { ACTION_TYPE, FIELD_TYPE, READ_GROUP, TEAM_TYPE } from './schema.js';
import { CedarRecord, CedarSet, EntityRef, attrMap, toCedarJson, type Value } from './values.js';

export interface EntityData {
  readonly uid: EntityRef;
  readonly attrs: Readonly<Record<string, Value>>;
  /** Keys of every ancestor (transitively), for `in`. */
  readonly ancestors: ReadonlySet<string>;
  /** Keys of the direct parents, for Cedar's JSON. */
  readonly parents: readonly EntityRef[];
}

export interface EvalRequest {
  readonly principal: EntityData;
  readonly action: CedarAction;
  readonly resource: EntityData;
  readonly context: CedarRecord;
  /** Every other entity a rule may name: teams. */
  readonly entities: ReadonlyMap<string, EntityData>;
}

export interface AuthzAnswer {
  readonly allow: boolean;
  /** Ids of the determining rules: satisfied forbids on deny, satisfied permits on allow. */
  readonly reasons: readonly string[];
  /** Ids of rules whose evaluation raised an error (they count as not satisfied). */
  readonly errors: readonly string[];
}

export interface Evaluator {
  readonly name: string;
  authorize(req: EvalRequest): AuthzAnswer;
}

export function actionEntity(action: CedarAction): EntityData {
  const parents = (READ_ACTIONS as readonly string[]).includes(action) ? [new EntityRef(ACTION_TYPE, READ_GROUP)] : [];
  return { uid: new EntityRef(ACTION_TYPE, action), attrs: attrMap({}), ancestors: new Set(parents.map((p) => p.key)), parents };
}

export function teamEntities(policy: Policy): Map<string, EntityData> {
  const out = new Map<string, EntityData>();
  for (const t of policy.directory.teams.values()) {
    const uid = new EntityRef(TEAM_TYPE, t.name);
    const parents = t.parent === undefined ? [] : [new EntityRef(TEAM_TYPE, t.parent)];
    const ancestors = new Set(t.lineage.slice(1).map((n) => new EntityRef(TEAM_TYPE, n).key));
    out.set(uid.key, { uid, attrs: attrMap({}), ancestors, parents });
  }
  return out;
}

export function principalEntity(policy: Policy, p: Principal): EntityData {
  const uid = new EntityRef(p.kind === 'service' ? 'Service' : 'User', p.id);
  const lineage = policy.directory.teams.get(p.team)?.lineage ?? [p.team];
  const attrs: Record<string, Value> = {
    kind: p.kind,
    team: p.team,
    employer: p.employer,
    work_country: p.workCountry,
    site: p.site,
    clearance: p.clearance,
    approver_groups: new CedarSet(p.approverGroups),
  };
  if (p.manager !== undefined) attrs['manager'] = p.manager;
  return {
    uid,
    attrs: attrMap(attrs),
    ancestors: new Set(lineage.map((n) => new EntityRef(TEAM_TYPE, n).key)),
    parents: [new EntityRef(TEAM_TYPE, p.team)],
  };
}

export interface FieldFacts {
  readonly dataset: string;
  readonly field: string;
  readonly category: string;
  readonly class: DataClass;
  readonly jurisdiction: string;
}

export function fieldEntity(policy: Policy, f: FieldFacts): EntityData {
  const jurisdiction = policy.deployment.jurisdictions.get(f.jurisdiction);
  const enclave = jurisdiction ? policy.deployment.enclaves.get(jurisdiction.enclave) : undefined;
  const lineage = policy.taxonomy.resolve(f.category)?.lineage ?? [f.category];
  return {
    uid: new EntityRef(FIELD_TYPE, `${f.dataset}.${f.field}`),
    attrs: attrMap({
      dataset: f.dataset,
      field: f.field,
      category: f.category,
      categories: new CedarSet(lineage),
      class: f.class,
      jurisdiction: f.jurisdiction,
      enclave: enclave?.name ?? '',
      enclave_countries: new CedarSet(enclave?.allowedCountries ?? []),
    }),
    ancestors: new Set(),
    parents: [],
  };
}

export interface ContextFacts {
  readonly country: string;
  readonly site: string;
  readonly reason: string;
  readonly ticket: string;
  readonly grant: { readonly active: boolean; readonly id: string; readonly reason: string; readonly breakGlass: boolean };
  readonly forSubject?: boolean;
}

export function contextRecord(c: ContextFacts): CedarRecord {
  return new CedarRecord({
    country: c.country,
    site: c.site,
    reason: c.reason,
    ticket: c.ticket,
    grant: new CedarRecord({ active: c.grant.active, id: c.grant.id, reason: c.grant.reason, break_glass: c.grant.breakGlass }),
    for_subject: c.forSubject ?? false,
  });
}

export function entityJson(e: EntityData): { uid: { type: string; id: string }; attrs: Record<string, unknown>; parents: { type: string; id: string }[] } {
  const attrs: Record<string, unknown> = {};
  for (const k of Object.keys(e.attrs)) attrs[k] = toCedarJson(e.attrs[k]!);
  const parents: { type: string; id: string }[] = [];
  for (const p of e.parents) parents.push({ type: p.type, id: p.id });
  return { uid: { type: e.uid.type, id: e.uid.id }, attrs, parents };
}
