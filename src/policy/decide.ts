// decide(): for one principal, action, dataset record and request context, what each field may
// disclose. Each field is classified (category from the catalog and the row, class from its
// jurisdiction) and the rules are asked, strongest first: clear, tokenized, masked; what none
// permits is withheld. Unclassified fields, unknown jurisdictions and unknowable row-dependent
// categories are withheld without asking (unclassified means protected; fail closed).

import { classOf } from './classes.js';
import { categoryForRow } from './catalog.js';
import { createCompiledEvaluator, type CompiledEvaluator } from './compile.js';
import { maskKindOf, type MaskKind } from './mask.js';
import { LADDER, type CedarAction, type DataClass, type Dataset, type Disclosure, type Ladder, type MoveAction, type Policy, type Principal } from './model.js';
import { BoundedCache } from '../shared/bounded-cache.js';
import { createReferenceEvaluator } from './reference.js';
import { contextRecord, fieldEntity, principalEntity, teamEntities, type AuthzAnswer, type EntityData, type EvalRequest, type Evaluator } from './request.js';
import { standingRules, type StandingRule } from './standing.js';
import type { CedarRecord } from './values.js';
import { CordonError } from '../shared/errors.js';

export type DecideAction = 'read' | 'write' | MoveAction;

/** An approved, time-boxed permission (see the access module); decide only checks its scope and time. */
export interface GrantInfo {
  readonly id: string;
  readonly datasets: readonly string[];
  /** Category keys; a grant for `user.contact` covers `user.contact.phone_number`. */
  readonly categories: readonly string[];
  /** Subject keys; undefined means every subject of the datasets. */
  readonly subjects?: readonly string[];
  /** Only subjects of these jurisdictions (an approver group grants only its enclave's); undefined: any. */
  readonly jurisdictions?: readonly string[];
  /** Epoch milliseconds. The grant is active while notBefore <= now < expiresAt. */
  readonly notBefore?: number;
  readonly expiresAt: number;
  readonly reason: string;
  readonly ticket?: string;
  readonly breakGlass?: boolean;
}

export interface RequestContext {
  /** Where the request comes from (from the network map), two-letter country code. */
  readonly country: string;
  readonly site?: string;
  readonly reason?: string;
  readonly ticket?: string;
  readonly grants?: readonly GrantInfo[];
  /** Epoch milliseconds; defaults to Date.now(). */
  readonly now?: number;
  /** The subject's jurisdiction, when the record does not carry it (datasets whose subject lives elsewhere). */
  readonly subjectJurisdiction?: string;
  /** The caller acts for the subject of the record (as stored before a write): `context.for_subject`. */
  readonly forSubject?: boolean;
}

export interface DecideRequest {
  /** A directory principal id, or a principal built from token claims. */
  readonly principal: string | Principal;
  readonly action: DecideAction;
  readonly dataset: string;
  /** The record's fields; only their names and the values of row conditions and the jurisdiction field are read. */
  readonly record: Readonly<Record<string, unknown>>;
  readonly context: RequestContext;
  /** Decide only these fields (default: every field of the record). */
  readonly fields?: readonly string[];
  /**
   * Whose data this is, when not the record's subject field: a write is judged for the subject the
   * record belongs to as stored, so a write that re-points it cannot borrow another subject's grant.
   */
  readonly subject?: string;
}

export interface FieldRequest {
  readonly principal: string | Principal;
  readonly action: DecideAction;
  readonly dataset: string;
  readonly field: string;
  readonly jurisdiction: string;
  /** Values of the row that conditions read; ignored for the category when `category` is given. */
  readonly row?: Readonly<Record<string, unknown>>;
  /** Forces one of the field's categories (its default or a conditional one). */
  readonly category?: string;
  readonly subject?: string;
  readonly context: RequestContext;
}

export type FieldReason = 'permitted' | 'forbidden' | 'not_permitted' | 'unclassified' | 'unknown_jurisdiction' | 'row_condition_unknown';

export interface DecisionStep {
  readonly action: CedarAction;
  readonly allow: boolean;
  readonly rules: readonly string[];
  readonly errors: readonly string[];
}

export interface FieldDecision {
  readonly field: string;
  /** For write: `clear` means the field may be written, `withheld` that it may not. */
  readonly disclosure: Disclosure;
  readonly category: string | undefined;
  readonly class: DataClass | undefined;
  readonly jurisdiction: string | undefined;
  /** The determining rules: the permits that allowed the disclosure, or the forbids that blocked every level. */
  readonly rules: readonly string[];
  readonly reason: FieldReason;
  readonly mask: MaskKind | undefined;
  readonly grant: string | undefined;
  /** Every Cedar question asked for this field, in order. */
  readonly steps: readonly DecisionStep[];
}

export interface Decision {
  readonly principal: string;
  readonly action: DecideAction;
  readonly dataset: string;
  readonly jurisdiction: string | undefined;
  readonly subject: string | undefined;
  readonly policyVersion: string;
  readonly fields: readonly FieldDecision[];
}

export type EngineName = 'compiled' | 'cedar';

export interface DeciderOptions {
  readonly engine?: EngineName;
  /**
   * Evaluate every rule as written, standing ones included (the standing-access review and
   * `policy check` ask what the rules say). By default a rule that would release protected data in
   * clear without a grant is left out (W4: it has no effect at run time).
   */
  readonly asWritten?: boolean;
  /** The read ladder to walk (policy/model.ts's LADDER by default; tests try others). */
  readonly ladder?: Ladder;
}

export interface Decider {
  readonly policy: Policy;
  readonly evaluator: Evaluator;
  /**
   * Throws CordonError decide.unknown_dataset or decide.unknown_principal, and
   * decide.evaluation_failed when the evaluator throws: the caller MUST then release and record
   * nothing of the request (fail closed). So does decideField.
   */
  decide(req: DecideRequest): Decision;
  /** One field, with the subject's jurisdiction given rather than read from a record (explain, diff). */
  decideField(req: FieldRequest): FieldDecision;
  /** The subject's jurisdiction from a record of `dataset`, or undefined if it cannot be told. */
  jurisdictionOf(dataset: string, record: Readonly<Record<string, unknown>>): string | undefined;
  /** Rules left out at run time because they would release protected data in clear without a grant (empty with asWritten). */
  readonly inert: readonly StandingRule[];
  /**
   * Drops the field decisions kept so far (each is kept beside the objects it is a pure function
   * of, and the evaluator is not asked again). For tests that change the evaluator under a decider.
   */
  forget(): void;
}

const NO_STEPS: readonly DecisionStep[] = Object.freeze([]);
const NONE: readonly string[] = Object.freeze([]);

function unionSorted(lists: readonly (readonly string[])[]): string[] {
  return [...new Set(lists.flat())].sort();
}

export function createDecider(policy: Policy, options: DeciderOptions = {}): Decider {
  const guarded = options.asWritten !== true;
  const readOrder: Steps = (options.ladder ?? LADDER).map((s) => [s.action, s.disclosure, s.needsMask] as const);
  const readUnmaskable: Steps = (options.ladder ?? LADDER).filter((s) => !s.needsMask).map((s) => [s.action, s.disclosure, s.needsMask] as const);
  const inert = guarded ? standingRules(policy) : [];
  const inertIds = new Set(inert.map((s) => s.rule.id));
  const rules = inertIds.size === 0 ? policy.rules : policy.rules.filter((r) => !inertIds.has(r.id));
  const evaluator: Evaluator = options.engine === 'cedar' ? createReferenceEvaluator(rules) : createCompiledEvaluator(rules);
  const teams = teamEntities(policy);
  // Each request carries the entities it can reach: the principal's teams (as Cedar apps pass the
  // principal's ancestors), not the whole directory.
  const teamsOf = new WeakMap<EntityData, ReadonlyMap<string, EntityData>>();
  const withTeams = (e: EntityData): EntityData => {
    teamsOf.set(e, new Map([...e.ancestors].flatMap((k) => (teams.has(k) ? [[k, teams.get(k)!] as const] : []))));
    return e;
  };
  const principals = new Map<string, EntityData>();
  for (const p of policy.directory.principals.values()) principals.set(p.id, withTeams(principalEntity(policy, p)));
  const adHoc = new WeakMap<Principal, EntityData>();

  const principalOf = (p: string | Principal): { id: string; entity: EntityData } => {
    if (typeof p === 'string') {
      const e = principals.get(p);
      if (!e) throw new CordonError('decide.unknown_principal', `unknown principal ${JSON.stringify(p)}`);
      return { id: p, entity: e };
    }
    let e = adHoc.get(p);
    if (!e) {
      if (!policy.directory.teams.has(p.team)) throw new CordonError('decide.unknown_principal', `principal ${p.id} is in unknown team ${p.team}`);
      e = withTeams(principalEntity(policy, p));
      adHoc.set(p, e);
    }
    return { id: p.id, entity: e };
  };

  // Per catalog field, then category, then jurisdiction: no key string is built per field decided.
  type Classified = { entity: EntityData; cls: DataClass; mask: MaskKind | undefined; lineage: readonly string[] };
  const byField = new WeakMap<object, Map<string, Map<string, Classified>>>();
  const classified = (cf: object, dataset: string, field: string, category: string, jurisdiction: string): Classified => {
    let byCategory = byField.get(cf);
    if (!byCategory) {
      byCategory = new Map();
      byField.set(cf, byCategory);
    }
    let byJurisdiction = byCategory.get(category);
    if (!byJurisdiction) {
      byJurisdiction = new Map();
      byCategory.set(category, byJurisdiction);
    }
    let hit = byJurisdiction.get(jurisdiction);
    if (!hit) {
      const cls = classOf(policy.classes, policy.taxonomy, jurisdiction, category);
      const lineage = policy.taxonomy.resolve(category)?.lineage ?? [category];
      hit = { entity: fieldEntity(policy, { dataset, field, category, class: cls, jurisdiction }), cls, mask: maskKindOf(lineage), lineage };
      byJurisdiction.set(jurisdiction, hit);
    }
    return hit;
  };

  const countryJurisdiction = (country: unknown): string | undefined => {
    if (typeof country !== 'string') return undefined;
    return policy.deployment.countryJurisdiction.get(country) ?? policy.deployment.defaultJurisdiction;
  };

  const jurisdictionOf = (dataset: string, record: Readonly<Record<string, unknown>>): string | undefined => {
    const d = policy.datasets.get(dataset);
    if (!d || d.jurisdictionField === undefined) return undefined;
    return countryJurisdiction(record[d.jurisdictionField]);
  };

  const categoryFor = categoryForRow;

  const grantCovers = (g: GrantInfo, d: Dataset, lineage: readonly string[], subject: string | undefined, jurisdiction: string, now: number): boolean =>
    now < g.expiresAt &&
    (g.jurisdictions === undefined || g.jurisdictions.includes(jurisdiction)) &&
    (g.notBefore === undefined || g.notBefore <= now) &&
    g.datasets.includes(d.name) &&
    g.categories.some((c) => lineage.includes(c)) &&
    (g.subjects === undefined || (subject !== undefined && g.subjects.includes(subject)));

  // Request contexts repeat (same place, reason and ticket, with the same grant or none): each is
  // built once and kept (bounded), keyed by everything it holds.
  const contexts = new BoundedCache<string, CedarRecord>(MAX_CACHED_CONTEXTS);
  const contextOf = (ctx: RequestContext, g?: GrantInfo): CedarRecord => {
    const place = `${ctx.country}\u0000${ctx.site ?? ''}\u0000${ctx.reason ?? ''}\u0000${ctx.ticket ?? ''}\u0000${ctx.forSubject === true}`;
    const key = g ? `${place}\u0000${g.id}\u0000${g.reason}\u0000${g.breakGlass ?? false}` : place;
    let c = contexts.get(key);
    if (!c) {
      const grant = g
        ? { active: true, id: g.id, reason: g.reason, breakGlass: g.breakGlass ?? false }
        : { active: false, id: '', reason: '', breakGlass: false };
      c = contextRecord({
        country: ctx.country,
        site: ctx.site ?? '',
        reason: ctx.reason ?? '',
        ticket: ctx.ticket ?? '',
        grant,
        forSubject: ctx.forSubject === true,
      });
      contexts.set(key, c);
    }
    return c;
  };

  let memo = new WeakMap<CedarRecord, WeakMap<EntityData, WeakMap<EntityData, Map<string, FieldDecision>>>>();

  /** One field of one record; `category` (when given) overrides the row-dependent category. */
  const fieldDecision = (
    d: Dataset,
    name: string,
    record: Readonly<Record<string, unknown>>,
    jurisdiction: string | undefined,
    subject: string | undefined,
    who: EntityData,
    action: DecideAction,
    ctx: RequestContext,
    noGrant: CedarRecord,
    grantContexts: Map<GrantInfo, CedarRecord>,
    forcedCategory?: string,
  ): FieldDecision => {
    const cf = d.fields.get(name);
    if (!cf) return withheld(name, undefined, undefined, jurisdiction, 'unclassified');
    if (jurisdiction === undefined) return withheld(name, cf.category, undefined, undefined, 'unknown_jurisdiction');
    const category = forcedCategory ?? categoryFor(cf, record);
    if (category === undefined) return withheld(name, undefined, undefined, jurisdiction, 'row_condition_unknown');
    const c = classified(cf, d.name, name, category, jurisdiction);
    let context = noGrant;
    let grantId: string | undefined;
    const now = ctx.now ?? Date.now();
    for (const g of ctx.grants ?? NONE_GRANTS) {
      if (grantCovers(g, d, c.lineage, subject, jurisdiction, now)) {
        let gc = grantContexts.get(g);
        if (!gc) {
          gc = contextOf(ctx, g);
          grantContexts.set(g, gc);
        }
        context = gc;
        grantId = g.id;
        break;
      }
    }
    // A field's decision is a pure function of four objects, each built once and kept: the request
    // context (place, and the grant that covers the field), the field's entity (dataset, field,
    // category, class, jurisdiction), the principal's entity, and the action. The same four give the
    // same decision, so it is kept (frozen) beside them; a context or entity dropped from its own
    // cache takes its decisions with it.
    let byResource = memo.get(context);
    if (byResource === undefined) {
      byResource = new WeakMap();
      memo.set(context, byResource);
    }
    let byPrincipal = byResource.get(c.entity);
    if (byPrincipal === undefined) {
      byPrincipal = new WeakMap();
      byResource.set(c.entity, byPrincipal);
    }
    let byAction = byPrincipal.get(who);
    if (byAction === undefined) {
      byAction = new Map();
      byPrincipal.set(who, byAction);
    }
    const key = grantId === undefined ? action : `${action}\u0000${grantId}`;
    let decided = byAction.get(key);
    if (decided === undefined) {
      decided = ladder(name, category, c.cls, jurisdiction, c.mask, who, c.entity, context, action, grantId);
      Object.freeze(decided.steps);
      Object.freeze(decided);
      byAction.set(key, decided);
    }
    return decided;
  };

  const known = (j: string | undefined): string | undefined => (j !== undefined && policy.deployment.jurisdictions.has(j) ? j : undefined);
  const subjectOf = (d: Dataset, record: Readonly<Record<string, unknown>>): string | undefined => {
    const raw = record[d.subjectField];
    return raw === undefined || raw === null ? undefined : String(raw);
  };

  const decide = (req: DecideRequest): Decision => {
    const d = policy.datasets.get(req.dataset);
    if (!d) throw new CordonError('decide.unknown_dataset', `unknown dataset ${JSON.stringify(req.dataset)}`);
    const who = principalOf(req.principal);
    const ctx = req.context;
    const jurisdiction = known(d.jurisdictionField !== undefined ? countryJurisdiction(req.record[d.jurisdictionField]) : ctx.subjectJurisdiction);
    const subject = req.subject ?? subjectOf(d, req.record);
    const noGrant = contextOf(ctx);
    const grantContexts = new Map<GrantInfo, CedarRecord>();
    const names = req.fields ?? Object.keys(req.record);
    const fields: FieldDecision[] = [];
    for (const name of names) {
      fields.push(fieldDecision(d, name, req.record, jurisdiction, subject, who.entity, req.action, ctx, noGrant, grantContexts));
    }
    return { principal: who.id, action: req.action, dataset: d.name, jurisdiction, subject, policyVersion: policy.versionHash, fields };
  };

  const decideField = (req: FieldRequest): FieldDecision => {
    const d = policy.datasets.get(req.dataset);
    if (!d) throw new CordonError('decide.unknown_dataset', `unknown dataset ${JSON.stringify(req.dataset)}`);
    const who = principalOf(req.principal);
    const row = req.row ?? {};
    return fieldDecision(
      d,
      req.field,
      row,
      known(req.jurisdiction),
      req.subject ?? subjectOf(d, row),
      who.entity,
      req.action,
      req.context,
      contextOf(req.context),
      new Map(),
      req.category,
    );
  };

  // An evaluator that throws (a bug in the compiled engine, cedar-wasm failing) decides nothing: the
  // whole request is refused as decide.evaluation_failed (503, fail closed), never a field withheld
  // or released on a partial answer. The evaluator's own error is the cause (logged, not echoed: it
  // may quote the request).
  const ask = (principal: EntityData, action: CedarAction, resource: EntityData, context: CedarRecord): AuthzAnswer => {
    try {
      return evaluator.authorize({ principal, action, resource, context, entities: teamsOf.get(principal)! } satisfies EvalRequest);
    } catch (err) {
      throw new CordonError('decide.evaluation_failed', `the ${evaluator.name} evaluator failed on ${action}; nothing was decided`, { cause: err });
    }
  };

  const ladder = (
    field: string,
    category: string,
    cls: DataClass,
    jurisdiction: string,
    mask: MaskKind | undefined,
    principal: EntityData,
    resource: EntityData,
    context: CedarRecord,
    action: DecideAction,
    grant: string | undefined,
  ): FieldDecision => {
    const steps: DecisionStep[] = [];
    const order = action === 'read' ? (mask === undefined ? readUnmaskable : readOrder) : ONE_STEP[action];
    for (const [cedarAction, disclosure, needsMask] of order) {
      // W4: protected data in clear needs an active grant, whatever the rules say.
      if (guarded && cedarAction === 'disclose_clear' && cls === 'protected' && grant === undefined) {
        steps.push({ action: cedarAction, allow: false, rules: NO_GRANT_RULES, errors: NONE });
        continue;
      }
      const a = ask(principal, cedarAction, resource, context);
      steps.push({ action: cedarAction, allow: a.allow, rules: a.reasons, errors: a.errors });
      if (a.allow) {
        return {
          field,
          disclosure,
          category,
          class: cls,
          jurisdiction,
          rules: a.reasons,
          reason: 'permitted',
          mask: needsMask ? mask : undefined,
          grant,
          steps,
        };
      }
    }
    const forbids = unionSorted(steps.map((s) => (s.rules === NO_GRANT_RULES ? NONE : s.rules)));
    return {
      field,
      disclosure: 'withheld',
      category,
      class: cls,
      jurisdiction,
      rules: forbids,
      reason: forbids.length > 0 ? 'forbidden' : 'not_permitted',
      mask: undefined,
      grant,
      steps,
    };
  };

  const forget = () => {
    memo = new WeakMap();
  };
  return { policy, evaluator, decide, decideField, jurisdictionOf, inert, forget };
}

const NONE_GRANTS: readonly GrantInfo[] = Object.freeze([]);
/** At most twice this many request contexts are kept (BoundedCache). */
const MAX_CACHED_CONTEXTS = 2048;
/** A ladder as the decider walks it: (Cedar action, disclosure if permitted, needs a mask), in order. */
type Steps = readonly (readonly [CedarAction, Disclosure, boolean])[];
const ONE_STEP: Readonly<Record<'write' | MoveAction, Steps>> = {
  write: [['write', 'clear', false]],
  transfer: [['transfer', 'clear', false]],
  declassify: [['declassify', 'clear', false]],
};
/** The rules of a step that the no-standing-access guard (W4) refused before asking the rules. */
export const NO_GRANT_RULE = 'cordon:no-grant';
const NO_GRANT_RULES: readonly string[] = Object.freeze([NO_GRANT_RULE]);

function withheld(
  field: string,
  category: string | undefined,
  cls: DataClass | undefined,
  jurisdiction: string | undefined,
  reason: FieldReason,
): FieldDecision {
  return { field, disclosure: 'withheld', category, class: cls, jurisdiction, rules: NONE, reason, mask: undefined, grant: undefined, steps: NO_STEPS };
}

export type { CompiledEvaluator };
