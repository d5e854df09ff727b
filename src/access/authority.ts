// Who may act on or see a request or grant: approver-group membership by team, auditors, the
// enclave's countries, the requester's reporting line, and the group that decides about each.

import type { ApproverGroup, Policy, Principal } from '../policy/index.js';
import type { Actor, Grant } from './model.js';
import type { BrokerState } from './reducer.js';

/** In `principal`'s reporting line: their manager, the manager's manager, … */
export function reportingLine(policy: Policy, principal: string): string[] {
  const line: string[] = [];
  for (let m = policy.directory.principals.get(principal)?.manager; m !== undefined && !line.includes(m); m = policy.directory.principals.get(m)?.manager)
    line.push(m);
  return line;
}

export function inTeams(policy: Policy, p: Principal, names: readonly string[]): boolean {
  return names.includes(p.id) || (policy.directory.teams.get(p.team)?.lineage.some((t) => names.includes(t)) ?? false);
}

export function inEnclave(policy: Policy, actor: Actor, enclave: string): boolean {
  return actor.knownPlace && (policy.deployment.enclaves.get(enclave)?.allowedCountries.includes(actor.country) ?? false);
}

export function isMember(policy: Policy, p: Principal, group: ApproverGroup): boolean {
  return p.approverGroups.includes(group.name) && (group.teams.length === 0 || inTeams(policy, p, group.teams));
}

export function isAuditor(policy: Policy, p: Principal): boolean {
  return inTeams(policy, p, policy.deployment.accessLog.auditors);
}

/** The requester or grantee, an auditor, or a member of the deciding group. */
export function mayRead(policy: Policy, actor: Actor, principal: string, group: ApproverGroup | undefined): boolean {
  return actor.principal.id === principal || isAuditor(policy, actor.principal) || (group !== undefined && isMember(policy, actor.principal, group));
}

/** An approver group the policy has (a request's group, break-glass's reviewers). */
export function groupNamed(policy: Policy, name: string): ApproverGroup {
  return policy.deployment.access.approverGroups.get(name)!;
}

/** The group that decides about a grant: its request's, or break-glass's reviewers. */
export function groupOfGrant(policy: Policy, state: BrokerState, g: Grant): ApproverGroup | undefined {
  const config = policy.deployment.access;
  return config.approverGroups.get(g.request !== undefined ? state.requests.get(g.request)!.group : (config.breakGlass?.reviewers ?? ''));
}
