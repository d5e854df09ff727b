// The policy module's public API: load and check a policy, decide, explain, diff.
export * from './model.js';
export { loadPolicy, formatIssue, type LoadResult } from './load.js';
export { classOf } from './classes.js';
export { generateCedarSchema } from './schema.js';
export { createDecider, type Decider, type DecideRequest, type Decision, type FieldDecision, type GrantInfo, type RequestContext, type EngineName } from './decide.js';
export { createCompiledEvaluator, type CompiledEvaluator } from './compile.js';
export { createReferenceEvaluator } from './reference.js';
export { maskKindOf, applyMask, type MaskKind } from './mask.js';
