// Who may read what the server keeps for oversight: auditors (cordon.yaml access_log.auditors, by
// principal or team with its sub-teams) and approvers (members of an approver group).

import type { Policy, Principal } from '../policy/index.js';

export function isAuditor(policy: Policy, p: Principal): boolean {
  const auditors = policy.deployment.accessLog.auditors;
  return auditors.includes(p.id) || (policy.directory.teams.get(p.team)?.lineage.some((t) => auditors.includes(t)) ?? false);
}

export function isApprover(policy: Policy, p: Principal): boolean {
  return p.approverGroups.some((g) => policy.deployment.access.approverGroups.has(g));
}
