// The fast evaluator: each Cedar rule compiled from its JSON form (Cedar's own parser's output) into
// plain JavaScript closures over prebuilt entities, with no per-call JSON. Semantics follow Cedar:
// a rule is satisfied when its scope matches and every condition evaluates to true; a rule whose
// evaluation errors is not satisfied and is reported in `errors`; any satisfied forbid denies;
// otherwise any satisfied permit allows. Constructs the compiler does not support make that rule
// fall back to cedar-wasm (correct first, fast second); `fallbacks` names them.

import * as cedar from './cedar.js';
import { ALL_ACTIONS, type CedarAction, type Rule } from './model.js';
import { actionEntity, type AuthzAnswer, type EntityData, type EvalRequest, type Evaluator } from './request.js';
import { answerOf, cedarCall, preparseRules } from './reference.js';
import { CedarRecord, CedarSet, EntityRef, attrMap, valueEquals, type Value } from './values.js';
import { READ_GROUP } from './schema.js';
import { CordonError } from '../shared/errors.js';

type Json = unknown;
type Fn = (r: EvalRequest) => Value;
type Pred = (r: EvalRequest) => boolean;

/** Thrown (never escapes a rule) when Cedar evaluation would raise an error. */
const EVAL_ERROR = Object.freeze({ cedarEvaluationError: true });

/** A construct the compiler does not support: the rule falls back to cedar-wasm (caught in createCompiledEvaluator). */
export class UnsupportedCedar extends CordonError {
  constructor(readonly construct: string) {
    super('policy.compile_fallback', `unsupported Cedar construct: ${construct}`);
    this.name = 'UnsupportedCedar';
  }
}

function fail(): never {
  throw EVAL_ERROR;
}

function isObj(x: Json): x is Record<string, Json> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

function literal(v: Json): Value {
  if (typeof v === 'string' || typeof v === 'boolean') return v;
  if (typeof v === 'number') {
    if (!Number.isSafeInteger(v)) throw new UnsupportedCedar('Long beyond 2^53');
    return v;
  }
  if (Array.isArray(v)) return new CedarSet(v.map(literal));
  if (isObj(v)) {
    if (isObj(v['__entity'])) {
      const e = v['__entity'] as { type: string; id: string };
      return new EntityRef(e.type, e.id);
    }
    if ('__extn' in v) throw new UnsupportedCedar('extension value');
    // No prototype: a key named __proto__ must become an own attribute, not set the prototype.
    const attrs: Record<string, Value> = Object.create(null) as Record<string, Value>;
    for (const [k, x] of Object.entries(v)) attrs[k] = literal(x);
    return new CedarRecord(attrs);
  }
  throw new UnsupportedCedar('null literal');
}

function entityData(r: EvalRequest, ref: EntityRef): EntityData | undefined {
  if (ref.key === r.principal.uid.key) return r.principal;
  if (ref.key === r.resource.uid.key) return r.resource;
  const a = ACTIONS.get(ref.key);
  if (a) return a;
  return r.entities.get(ref.key);
}

/** Every action entity and the `read` group, as the schema defines them (and the reference passes them). */
const ACTIONS = new Map<string, EntityData>(
  [...ALL_ACTIONS.map((a) => actionEntity(a)), { uid: new EntityRef('Action', READ_GROUP), attrs: attrMap({}), ancestors: new Set<string>(), parents: [] }].map(
    (e) => [e.uid.key, e],
  ),
);
const ACTION_REFS = new Map<CedarAction, EntityData>(ALL_ACTIONS.map((a) => [a, ACTIONS.get(new EntityRef('Action', a).key)!]));

function getAttr(v: Value, attr: string, r: EvalRequest): Value {
  if (v instanceof CedarRecord) {
    const x = v.attrs[attr];
    return x === undefined ? fail() : x;
  }
  if (v instanceof EntityRef) {
    const data = entityData(r, v);
    if (!data) fail();
    const x = data.attrs[attr];
    return x === undefined ? fail() : x;
  }
  return fail();
}

function hasAttr(v: Value, attr: string, r: EvalRequest): boolean {
  if (v instanceof CedarRecord) return Object.hasOwn(v.attrs, attr);
  if (v instanceof EntityRef) {
    const data = entityData(r, v);
    return data !== undefined && Object.hasOwn(data.attrs, attr);
  }
  return fail();
}

function isIn(left: Value, right: Value, r: EvalRequest): boolean {
  if (!(left instanceof EntityRef)) fail();
  if (right instanceof EntityRef) {
    if (left.key === right.key) return true;
    return entityData(r, left)?.ancestors.has(right.key) ?? false;
  }
  if (right instanceof CedarSet) {
    let found = false;
    for (const x of right.values()) {
      if (!(x instanceof EntityRef)) fail();
      if (!found && (left.key === x.key || (entityData(r, left)?.ancestors.has(x.key) ?? false))) found = true;
    }
    return found;
  }
  return fail();
}

function asBool(v: Value): boolean {
  return typeof v === 'boolean' ? v : fail();
}
function asLong(v: Value): number {
  return typeof v === 'number' ? v : fail();
}
function asSet(v: Value): CedarSet {
  return v instanceof CedarSet ? v : fail();
}

function likeRegex(pattern: Json[]): RegExp {
  let src = '';
  for (const p of pattern) {
    if (p === 'Wildcard') src += '.*';
    else if (isObj(p) && typeof p['Literal'] === 'string') src += p['Literal'].replace(/[\\^$.*+?()[\]{}|/]/g, '\\$&');
    else throw new UnsupportedCedar('like pattern element');
  }
  return new RegExp(`^${src}$`, 'su');
}

function binary(x: Json): { left: Json; right: Json } {
  if (!isObj(x)) throw new UnsupportedCedar('malformed expression');
  return { left: x['left'], right: x['right'] };
}

export function compileExpr(e: Json): Fn {
  if (!isObj(e)) throw new UnsupportedCedar('malformed expression');
  const keys = Object.keys(e);
  if (keys.length !== 1) throw new UnsupportedCedar('malformed expression');
  const op = keys[0]!;
  const body = e[op];
  switch (op) {
    case 'Value': {
      const v = literal(body);
      return () => v;
    }
    case 'Var':
      switch (body) {
        case 'principal':
          return (r) => r.principal.uid;
        case 'resource':
          return (r) => r.resource.uid;
        case 'context':
          return (r) => r.context;
        case 'action':
          return (r) => ACTION_REFS.get(r.action)!.uid;
      }
      throw new UnsupportedCedar(`variable ${String(body)}`);
    case '.': {
      const { left } = binary(body);
      const attr = (body as { attr: string }).attr;
      // Fast paths for the shapes rules use most: principal.x, resource.x, context.x.
      if (isObj(left) && left['Var'] === 'principal') return (r) => r.principal.attrs[attr] ?? fail();
      if (isObj(left) && left['Var'] === 'resource') return (r) => r.resource.attrs[attr] ?? fail();
      if (isObj(left) && left['Var'] === 'context') return (r) => r.context.attrs[attr] ?? fail();
      const l = compileExpr(left);
      return (r) => getAttr(l(r), attr, r);
    }
    case 'has': {
      const { left } = binary(body);
      const attrSpec = (body as { attr: string | string[] }).attr;
      const path = Array.isArray(attrSpec) ? attrSpec : [attrSpec];
      const l = compileExpr(left);
      return (r) => {
        let v = l(r);
        for (let i = 0; i < path.length; i++) {
          if (!hasAttr(v, path[i]!, r)) return false;
          if (i < path.length - 1) v = getAttr(v, path[i]!, r);
        }
        return true;
      };
    }
    case '!': {
      const a = compileExpr((body as { arg: Json }).arg);
      return (r) => !asBool(a(r));
    }
    case '&&': {
      const { left, right } = binary(body);
      const l = compileExpr(left);
      const rr = compileExpr(right);
      return (r) => asBool(l(r)) && asBool(rr(r));
    }
    case '||': {
      const { left, right } = binary(body);
      const l = compileExpr(left);
      const rr = compileExpr(right);
      return (r) => asBool(l(r)) || asBool(rr(r));
    }
    case '==':
    case '!=': {
      const { left, right } = binary(body);
      const negate = op === '!=';
      if (isObj(right) && 'Value' in right && typeof right['Value'] === 'string') {
        const s = right['Value'];
        const l = compileExpr(left);
        return negate ? (r) => l(r) !== s : (r) => l(r) === s;
      }
      const l = compileExpr(left);
      const rr = compileExpr(right);
      return negate ? (r) => !valueEquals(l(r), rr(r)) : (r) => valueEquals(l(r), rr(r));
    }
    case 'in': {
      const { left, right } = binary(body);
      const l = compileExpr(left);
      const rr = compileExpr(right);
      return (r) => {
        const lv = l(r);
        return isIn(lv, rr(r), r);
      };
    }
    case 'contains': {
      const { left, right } = binary(body);
      const l = compileExpr(left);
      const rr = compileExpr(right);
      return (r) => {
        const set = asSet(l(r));
        return set.has(rr(r));
      };
    }
    case 'containsAll':
    case 'containsAny': {
      const { left, right } = binary(body);
      const l = compileExpr(left);
      const rr = compileExpr(right);
      const all = op === 'containsAll';
      return (r) => {
        const a = asSet(l(r));
        const b = asSet(rr(r));
        for (const c of b.canons()) {
          if (a.hasCanon(c) !== all) return !all;
        }
        return all;
      };
    }
    case 'isEmpty': {
      const a = compileExpr((body as { arg: Json }).arg);
      return (r) => asSet(a(r)).size === 0;
    }
    case '<':
    case '<=':
    case '>':
    case '>=': {
      const { left, right } = binary(body);
      const l = compileExpr(left);
      const rr = compileExpr(right);
      switch (op) {
        case '<':
          return (r) => asLong(l(r)) < asLong(rr(r));
        case '<=':
          return (r) => asLong(l(r)) <= asLong(rr(r));
        case '>':
          return (r) => asLong(l(r)) > asLong(rr(r));
        default:
          return (r) => asLong(l(r)) >= asLong(rr(r));
      }
    }
    case 'like': {
      const { left } = binary(body);
      const re = likeRegex((body as { pattern: Json[] }).pattern);
      const l = compileExpr(left);
      return (r) => {
        const v = l(r);
        return typeof v === 'string' ? re.test(v) : fail();
      };
    }
    case 'is': {
      const { left } = binary(body);
      const type = (body as { entity_type: string }).entity_type;
      const inExpr = (body as { in?: Json }).in;
      const l = compileExpr(left);
      const inn = inExpr === undefined ? undefined : compileExpr(inExpr);
      return (r) => {
        const v = l(r);
        if (!(v instanceof EntityRef)) return fail();
        if (v.type !== type) return false;
        return inn === undefined ? true : isIn(v, inn(r), r);
      };
    }
    case 'if-then-else': {
      const b = body as { if: Json; then: Json; else: Json };
      const c = compileExpr(b.if);
      const t = compileExpr(b.then);
      const f = compileExpr(b.else);
      return (r) => (asBool(c(r)) ? t(r) : f(r));
    }
    case 'Set': {
      const items = (body as Json[]).map(compileExpr);
      return (r) => new CedarSet(items.map((i) => i(r)));
    }
    case 'Record': {
      const entries = Object.entries(body as Record<string, Json>).map(([k, x]) => [k, compileExpr(x)] as const);
      return (r) => {
        // No prototype: a key named __proto__ must become an own attribute, not set the prototype.
        const attrs: Record<string, Value> = Object.create(null) as Record<string, Value>;
        for (const [k, f] of entries) attrs[k] = f(r);
        return new CedarRecord(attrs);
      };
    }
    default:
      // Arithmetic (+, -, *, neg: Cedar checks 64-bit overflow), tags, slots and extension
      // functions (ip, decimal, datetime, …) are left to cedar-wasm.
      throw new UnsupportedCedar(op);
  }
}

function compileScope(scope: Json, which: 'principal' | 'resource'): Pred {
  if (!isObj(scope)) throw new UnsupportedCedar('malformed scope');
  const pick = which === 'principal' ? (r: EvalRequest) => r.principal : (r: EvalRequest) => r.resource;
  const refOf = (x: Json): EntityRef => {
    if (!isObj(x)) throw new UnsupportedCedar('scope slot');
    const uid = (isObj(x['__entity']) ? x['__entity'] : x) as { type?: string; id?: string };
    if (typeof uid.type !== 'string' || typeof uid.id !== 'string') throw new UnsupportedCedar('scope slot');
    return new EntityRef(uid.type, uid.id);
  };
  const inPred =
    (ref: EntityRef): Pred =>
    (r) => {
      const e = pick(r);
      return e.uid.key === ref.key || e.ancestors.has(ref.key);
    };
  switch (scope['op']) {
    case 'All':
      return () => true;
    case '==': {
      const key = refOf(scope['entity']).key;
      return (r) => pick(r).uid.key === key;
    }
    case 'in':
      return inPred(refOf(scope['entity']));
    case 'is': {
      const type = scope['entity_type'] as string;
      const inn = scope['in'] === undefined ? undefined : inPred(refOf((scope['in'] as Record<string, Json>)['entity']));
      return inn ? (r) => pick(r).uid.type === type && inn(r) : (r) => pick(r).uid.type === type;
    }
  }
  throw new UnsupportedCedar(`scope ${String(scope['op'])}`);
}

/** Whether a rule's action scope admits `action` (static: the action set is known). */
function actionMatches(scope: Json, action: CedarAction): boolean {
  if (!isObj(scope)) throw new UnsupportedCedar('malformed action scope');
  const me = ACTION_REFS.get(action)!;
  const admits = (x: Json): boolean => {
    const uid = (isObj(x) && isObj(x['__entity']) ? x['__entity'] : x) as { type?: string; id?: string };
    if (typeof uid.type !== 'string' || typeof uid.id !== 'string') throw new UnsupportedCedar('action slot');
    const key = new EntityRef(uid.type, uid.id).key;
    return key === me.uid.key || me.ancestors.has(key);
  };
  switch (scope['op']) {
    case 'All':
      return true;
    case '==': {
      const uid = (scope['entity'] as { __entity?: unknown }).__entity ?? scope['entity'];
      return new EntityRef((uid as { type: string }).type, (uid as { id: string }).id).key === me.uid.key;
    }
    case 'in':
      if (Array.isArray(scope['entities'])) return (scope['entities'] as Json[]).some(admits);
      return admits(scope['entity']);
  }
  throw new UnsupportedCedar(`action scope ${String(scope['op'])}`);
}

interface CompiledRule {
  readonly id: string;
  readonly forbid: boolean;
  /** Satisfied? Throws EVAL_ERROR when Cedar would report an error. */
  readonly satisfied: Pred;
}

function compileRule(rule: Rule): CompiledRule {
  const json = rule.json as { effect: string; principal: Json; resource: Json; conditions: { kind: string; body: Json }[] };
  const principal = compileScope(json.principal, 'principal');
  const resource = compileScope(json.resource, 'resource');
  const clauses = json.conditions.map((c) => {
    const f = compileExpr(c.body);
    return c.kind === 'when' ? (r: EvalRequest) => asBool(f(r)) : (r: EvalRequest) => !asBool(f(r));
  });
  let satisfied: Pred;
  if (clauses.length === 0) satisfied = (r) => principal(r) && resource(r);
  else if (clauses.length === 1) {
    const c0 = clauses[0]!;
    satisfied = (r) => principal(r) && resource(r) && c0(r);
  } else {
    satisfied = (r) => {
      if (!principal(r) || !resource(r)) return false;
      for (const c of clauses) if (!c(r)) return false;
      return true;
    };
  }
  return { id: rule.id, forbid: json.effect === 'forbid', satisfied };
}

/** A rule evaluated by cedar-wasm alone, for constructs the compiler does not support. */
function fallbackRule(rule: Rule): CompiledRule {
  const setId = preparseRules([rule]);
  return {
    id: rule.id,
    forbid: rule.effect === 'forbid',
    satisfied: (r) => {
      const a = answerOf(cedar.statefulIsAuthorized(cedarCall(setId, r)));
      if (a.errors.length > 0) throw EVAL_ERROR;
      return a.reasons.length > 0;
    },
  };
}

export interface CompiledEvaluator extends Evaluator {
  /** Rules evaluated by cedar-wasm, with the construct that made them fall back. */
  readonly fallbacks: readonly { readonly rule: Rule; readonly construct: string }[];
}

export function createCompiledEvaluator(rules: readonly Rule[]): CompiledEvaluator {
  const fallbacks: { rule: Rule; construct: string }[] = [];
  const compiled = rules.map((rule) => {
    try {
      return compileRule(rule);
    } catch (e) {
      if (!(e instanceof UnsupportedCedar)) throw e;
      fallbacks.push({ rule, construct: e.construct });
      return fallbackRule(rule);
    }
  });
  const byAction = new Map<CedarAction, CompiledRule[]>();
  for (const action of ALL_ACTIONS) {
    // Cedar evaluates every rule (and reports every error), so all rules of the action stay in the
    // list. Sorted by id, the reasons and errors collected in list order come out sorted.
    const list = compiled.filter((_, i) => actionMatches((rules[i]!.json as { action: Json }).action, action));
    byAction.set(
      action,
      list.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)),
    );
  }
  return {
    name: 'compiled',
    fallbacks,
    authorize(req: EvalRequest): AuthzAnswer {
      const list = byAction.get(req.action)!;
      let forbids: string[] | undefined;
      let permits: string[] | undefined;
      let errors: string[] | undefined;
      for (let i = 0; i < list.length; i++) {
        const rule = list[i]!;
        let ok: boolean;
        try {
          ok = rule.satisfied(req);
        } catch (e) {
          if (e !== EVAL_ERROR) throw e;
          errors ??= [];
          errors.push(rule.id);
          continue;
        }
        if (ok) {
          if (rule.forbid) {
            forbids ??= [];
            forbids.push(rule.id);
          } else {
            permits ??= [];
            permits.push(rule.id);
          }
        }
      }
      // No sort needed: the list is in id order.
      return { allow: forbids === undefined && permits !== undefined, reasons: forbids ?? permits ?? EMPTY, errors: errors ?? EMPTY };
    },
  };
}

const EMPTY: readonly string[] = Object.freeze([]);
