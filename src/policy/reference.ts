// The reference evaluator: cedar-wasm's statefulIsAuthorized over the preparsed rules. It defines
// what a decision means; the compiled engine must agree with it on every request.

import * as cedar from './cedar.js';
import type { StatefulAuthorizationCall } from './cedar.js';
import type { Rule } from './model.js';
import { entityJson, type AuthzAnswer, type EntityData, type EvalRequest, type Evaluator } from './request.js';
import { EntityRef, attrMap, toCedarJson } from './values.js';

import { ALL_ACTIONS } from './model.js';
import { actionEntity } from './request.js';

let nextSetId = 0;

/** Every action entity and the `read` group, as the schema defines them (the compiled engine knows the same). */
const READ_GROUP_ENTITY: EntityData = { uid: new EntityRef('Action', 'read'), attrs: attrMap({}), ancestors: new Set(), parents: [] };
const ACTION_ENTITIES: readonly EntityData[] = [...ALL_ACTIONS.map((a) => actionEntity(a)), READ_GROUP_ENTITY];

/** Preparses `rules` into cedar-wasm's cache under a fresh id. */
export function preparseRules(rules: readonly Pick<Rule, 'id' | 'text'>[]): string {
  const id = `cordon-${process.pid}-${nextSetId++}`;
  const staticPolicies: Record<string, string> = {};
  for (const r of rules) staticPolicies[r.id] = r.text;
  const answer = cedar.preparsePolicySet(id, { staticPolicies });
  if (answer.type === 'failure') throw new Error(`cedar-wasm could not preparse rules: ${answer.errors.map((e) => e.message).join('; ')}`);
  return id;
}

/** Cedar's JSON entities for a request, cached per entity object (they are immutable). */
const jsonCache = new WeakMap<EntityData, ReturnType<typeof entityJson>>();
function cachedJson(e: EntityData): ReturnType<typeof entityJson> {
  let j = jsonCache.get(e);
  if (!j) {
    j = entityJson(e);
    jsonCache.set(e, j);
  }
  return j;
}

export function cedarCall(setId: string, req: EvalRequest): StatefulAuthorizationCall {
  const entities = [cachedJson(req.principal), cachedJson(req.resource)];
  for (const e of req.entities.values()) entities.push(cachedJson(e));
  // Cedar could take actions from the schema, but a call with a schema re-checks every entity
  // against it, tripling its cost; request.test.ts checks the entities against the schema instead.
  for (const e of ACTION_ENTITIES) entities.push(cachedJson(e));
  return {
    principal: { type: req.principal.uid.type, id: req.principal.uid.id },
    action: { type: 'Action', id: req.action },
    resource: { type: req.resource.uid.type, id: req.resource.uid.id },
    context: toCedarJson(req.context) as Record<string, never>,
    preparsedPolicySetId: setId,
    entities: entities as StatefulAuthorizationCall['entities'],
  };
}

export function answerOf(result: ReturnType<typeof cedar.statefulIsAuthorized>): AuthzAnswer {
  if (result.type === 'failure') {
    throw new Error(`cedar-wasm failed to evaluate: ${result.errors.map((e) => e.message).join('; ')}`);
  }
  const { decision, diagnostics } = result.response;
  return {
    allow: decision === 'allow',
    reasons: [...diagnostics.reason].sort(),
    errors: diagnostics.errors.map((e) => e.policyId).sort(),
  };
}

export function createReferenceEvaluator(rules: readonly Rule[]): Evaluator {
  const setId = preparseRules(rules);
  return {
    name: 'cedar-wasm',
    authorize(req: EvalRequest): AuthzAnswer {
      return answerOf(cedar.statefulIsAuthorized(cedarCall(setId, req)));
    },
  };
}
