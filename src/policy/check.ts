// checkPolicy(): everything `cordon policy check` reports — the loader's errors and, for a valid
// policy, a warning for each rule the compiler hands to cedar-wasm.

import { createCompiledEvaluator } from './compile.js';
import { loadPolicy } from './load.js';
import type { Policy, PolicyIssue } from './model.js';

export function checkPolicy(dir: string): { policy: Policy | undefined; issues: PolicyIssue[] } {
  const r = loadPolicy(dir);
  if (!r.ok) return { policy: undefined, issues: r.issues };
  const warnings: PolicyIssue[] = createCompiledEvaluator(r.policy.rules).fallbacks.map(({ rule, construct }) => ({
    file: rule.file,
    line: rule.line,
    col: rule.col,
    code: 'policy.compile_fallback',
    severity: 'warning',
    message: `rule ${rule.id} uses ${construct}, which the compiler does not support; it is evaluated by cedar-wasm`,
  }));
  return { policy: r.policy, issues: [...r.issues, ...warnings] };
}
