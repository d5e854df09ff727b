// checkPolicy(): everything `cordon policy check` reports — the loader's errors and, for a valid
// policy, a warning for each rule the compiler hands to cedar-wasm.

import { createCompiledEvaluator } from './compile.js';
import { loadPolicy } from './load.js';
import type { Policy, PolicyIssue } from './model.js';
import { standingRules } from './standing.js';

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
  const standing: PolicyIssue[] = standingRules(r.policy).map(({ rule, example: e }) => ({
    file: rule.file,
    line: rule.line,
    col: rule.col,
    code: 'policy.standing_access',
    severity: 'warning',
    message:
      `rule ${rule.id} releases protected data in clear without a grant (e.g. ${e.dataset}.${e.field} (${e.category}) of a ${e.jurisdiction} subject to ${e.principal} from ${e.country}/${e.site}); ` +
      'no principal may have standing access, so the gateway leaves this rule out (it has no effect at run time)',
  }));
  return { policy: r.policy, issues: [...r.issues, ...warnings, ...standing] };
}
