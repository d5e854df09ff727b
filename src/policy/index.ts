// The policy module's public API: load and check a policy, decide, explain, diff.
export * from './model.js';
export { loadPolicy, formatIssue, type LoadResult } from './load.js';
export { classOf } from './classes.js';
export { generateCedarSchema, cedarSchemaText } from './schema.js';
export { checkPolicy } from './check.js';
export { standingRules, type StandingRule } from './standing.js';
export {
  createDecider,
  NO_GRANT_RULE,
  type Decider,
  type DeciderOptions,
  type DecideRequest,
  type FieldRequest,
  type DecideAction,
  type Decision,
  type FieldDecision,
  type GrantInfo,
  type RequestContext,
  type EngineName,
} from './decide.js';
export { createCompiledEvaluator, type CompiledEvaluator } from './compile.js';
export { createReferenceEvaluator } from './reference.js';
export { maskKindOf, applyMask, type MaskKind } from './mask.js';
export { explain, classSource, type Explanation, type ExplainRequest } from './explain.js';
export { diffPolicies, type PolicyDiff, type Flip, type ClassChange, type DiffOptions } from './diff.js';
export { createPlacementRules } from './placement-rules.js';
export { regionalPolicy, regionEnclave, regionStores, regionOfJurisdiction, RegionConfigError } from './region.js';
export { parseDuration, formatDuration, DEFAULT_REASONS, BREAK_GLASS_MAX_MS } from './access-config.js';
