// The broker's read side: a request or grant by id and lists of them, each only for who may see it;
// a principal's active grants, for decisions; and the grant flags of the standing-access review.

import type { GrantInfo, Policy } from '../policy/index.js';
import { CordonError } from '../shared/errors.js';
import { groupNamed, groupOfGrant, mayRead } from './authority.js';
import { iso } from './log-records.js';
import type { AccessRequest, Actor, Grant } from './model.js';
import type { BrokerState } from './reducer.js';

export interface GrantFlag {
  readonly kind: 'dormant_grant' | 'rubber_stamp_approver' | 'break_glass_unreviewed' | 'break_glass_unjustified';
  readonly principal: string;
  readonly grant?: string;
  readonly message: string;
}

/** The request with id `id`; access.not_found when there is none. */
export function requestOf(state: BrokerState, id: string): AccessRequest {
  const r = state.requests.get(id);
  if (!r) throw new CordonError('access.not_found', `no access request has id ${JSON.stringify(id)}`);
  return r;
}

/** The grant with id `id`; access.not_found when there is none. */
export function grantOf(state: BrokerState, id: string): Grant {
  const g = state.grants.get(id);
  if (!g) throw new CordonError('access.not_found', `no grant has id ${JSON.stringify(id)}`);
  return g;
}

/** Counts of the broker's state, for metrics read at scrape time: no ids, principals or scopes. */
export interface BrokerStats {
  /** Grants active now (not revoked, not expired, not yet past their expiry). */
  readonly activeGrants: number;
  /** Requests waiting for approvers (not yet past their TTL). */
  readonly pendingRequests: number;
  /** Break-glass grants nobody has reviewed yet, whatever their state. */
  readonly breakGlassOpen: number;
  /** Grants ever made, revoked, expired (the state holds every grant, so these only grow). */
  readonly grantsMade: number;
  readonly grantsRevoked: number;
  readonly grantsExpired: number;
}

export interface QueriesOptions {
  readonly policy: Policy;
  readonly state: BrokerState;
  readonly now: () => number;
}

export function createQueries(options: QueriesOptions) {
  const { policy, state, now } = options;
  const config = policy.deployment.access;
  const { requests, grants, active } = state;

  return {
    getRequest(actor: Actor, id: string): AccessRequest {
      const r = requestOf(state, id);
      if (!mayRead(policy, actor, r.principal, groupNamed(policy, r.group)))
        throw new CordonError('access.forbidden', `${actor.principal.id} may not see request ${id}`);
      return r;
    },
    getGrant(actor: Actor, id: string): Grant {
      const g = grantOf(state, id);
      if (!mayRead(policy, actor, g.principal, groupOfGrant(policy, state, g)))
        throw new CordonError('access.forbidden', `${actor.principal.id} may not see grant ${id}`);
      return g;
    },
    listRequests(actor: Actor, filter: { state?: string; mine?: boolean }): AccessRequest[] {
      return [...requests.values()]
        .filter((r) => (filter.mine ? r.principal === actor.principal.id : mayRead(policy, actor, r.principal, groupNamed(policy, r.group))))
        .filter((r) => filter.state === undefined || r.state === filter.state)
        .sort((a, b) => b.requestedAt - a.requestedAt);
    },
    listGrants(actor: Actor, filter: { state?: string; mine?: boolean }): Grant[] {
      return [...grants.values()]
        .filter((g) => (filter.mine ? g.principal === actor.principal.id : mayRead(policy, actor, g.principal, groupOfGrant(policy, state, g))))
        .filter((g) => filter.state === undefined || g.state === filter.state)
        .sort((a, b) => b.notBefore - a.notBefore);
    },

    stats(): BrokerStats {
      const t = now();
      let activeGrants = 0;
      let breakGlassOpen = 0;
      let grantsRevoked = 0;
      let grantsExpired = 0;
      for (const g of grants.values()) {
        if (g.state === 'active' && g.expiresAt > t) activeGrants++;
        else if (g.state === 'revoked') grantsRevoked++;
        else if (g.state === 'expired') grantsExpired++;
        if (g.breakGlass && !g.review) breakGlassOpen++;
      }
      let pendingRequests = 0;
      for (const r of requests.values()) if (r.state === 'pending' && r.expiresAt > t) pendingRequests++;
      return { activeGrants, pendingRequests, breakGlassOpen, grantsMade: grants.size, grantsRevoked, grantsExpired };
    },

    grantsOf: (principal: string): readonly GrantInfo[] => active.get(principal) ?? NO_GRANTS,

    grantFlags(): GrantFlag[] {
      const t = now();
      const flags: GrantFlag[] = [];
      for (const g of grants.values()) {
        if (g.state === 'active' && g.expiresAt > t && t - (g.lastUsedAt ?? g.notBefore) >= config.review.dormantAfterMs) {
          flags.push({
            kind: 'dormant_grant',
            principal: g.principal,
            grant: g.id,
            message: `grant ${g.id} of ${g.principal} (${g.reason}) is active but unused since ${iso(g.lastUsedAt ?? g.notBefore)}`,
          });
        }
        if (g.breakGlass && !g.review && g.reviewBy !== undefined && g.reviewBy <= t) {
          flags.push({
            kind: 'break_glass_unreviewed',
            principal: g.principal,
            grant: g.id,
            message: `break-glass grant ${g.id} of ${g.principal} was due for review by ${iso(g.reviewBy)} and has not been reviewed`,
          });
        }
        if (g.review?.decision === 'unjustified') {
          flags.push({
            kind: 'break_glass_unjustified',
            principal: g.principal,
            grant: g.id,
            message: `break-glass grant ${g.id} of ${g.principal} was reviewed as unjustified by ${g.review.by}`,
          });
        }
      }
      const byApprover = new Map<string, { approved: number; denied: number; latencies: number[] }>();
      for (const r of requests.values()) {
        for (const s of [...r.approvals, ...(r.denial ? [r.denial] : [])]) {
          const a = byApprover.get(s.by) ?? { approved: 0, denied: 0, latencies: [] };
          if (s.decision === 'approve') a.approved++;
          else a.denied++;
          a.latencies.push(s.at - r.requestedAt);
          byApprover.set(s.by, a);
        }
      }
      const rs = config.review.rubberStamp;
      for (const [who, a] of byApprover) {
        const n = a.approved + a.denied;
        const sorted = a.latencies.sort((x, y) => x - y);
        const median = sorted[Math.floor((sorted.length - 1) / 2)]!;
        if (n >= rs.minDecisions && a.approved / n >= rs.approveRate && median < rs.medianMs) {
          flags.push({
            kind: 'rubber_stamp_approver',
            principal: who,
            message: `${who} approved ${a.approved} of ${n} requests, half of them within ${Math.round(median / 1000)}s of the request`,
          });
        }
      }
      return flags.sort((x, y) => x.kind.localeCompare(y.kind) || x.principal.localeCompare(y.principal) || (x.grant ?? '').localeCompare(y.grant ?? ''));
    },
  };
}

const NO_GRANTS: readonly GrantInfo[] = Object.freeze([]);
