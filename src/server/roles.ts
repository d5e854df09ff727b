// Who may read what the server keeps for oversight: auditors (cordon.yaml access_log.auditors, by
// principal or team with its sub-teams) and approvers (members of an approver group); and who may
// feed the flow map: lineage producers (cordon.yaml flows.producers, by principal or team).

import type { Policy, Principal } from '../policy/index.js';

/** True when `names` lists the principal or one of its teams (its own team or any parent). */
function named(policy: Policy, names: readonly string[], p: Principal): boolean {
  return names.includes(p.id) || (policy.directory.teams.get(p.team)?.lineage.some((t) => names.includes(t)) ?? false);
}

export function isAuditor(policy: Policy, p: Principal): boolean {
  return named(policy, policy.deployment.accessLog.auditors, p);
}

/** MUST be false for everyone when flows.producers is empty or missing: lineage intake fails closed. */
export function isProducer(policy: Policy, p: Principal): boolean {
  return named(policy, policy.deployment.flows.producers, p);
}

export function isApprover(policy: Policy, p: Principal): boolean {
  return p.approverGroups.some((g) => policy.deployment.access.approverGroups.has(g));
}
