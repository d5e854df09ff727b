// The broker's state as the fold of its events: requests, grants, and each principal's active grants
// (what decisions read). Every write to the state is here; none does I/O or reads a clock.

import type { GrantInfo } from '../policy/index.js';
import type { AccessRequest, BrokerEvent, Grant } from './model.js';

export interface BrokerState {
  readonly requests: Map<string, AccessRequest>;
  readonly grants: Map<string, Grant>;
  /** A principal's active grants, as decisions see them; no entry when there are none. */
  readonly active: Map<string, GrantInfo[]>;
}

export function emptyState(): BrokerState {
  return { requests: new Map(), grants: new Map(), active: new Map() };
}

function grantInfo(g: Grant): GrantInfo {
  return {
    id: g.id,
    datasets: g.scope.datasets,
    categories: g.scope.categories,
    subjects: g.scope.subjects,
    jurisdictions: g.scope.jurisdictions,
    notBefore: g.notBefore,
    expiresAt: g.expiresAt,
    reason: g.reason,
    ticket: g.ticket,
    breakGlass: g.breakGlass,
  };
}

function reindex(state: BrokerState, principal: string): void {
  const list = [...state.grants.values()].filter((g) => g.principal === principal && g.state === 'active').map(grantInfo);
  if (list.length === 0) state.active.delete(principal);
  else state.active.set(principal, list);
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isStrings = (v: unknown): boolean => Array.isArray(v) && v.every((x) => typeof x === 'string');
const SCOPE_LISTS = ['datasets', 'categories', 'jurisdictions'] as const;

function scopeProblem(what: string, scope: unknown): string | undefined {
  if (!isObject(scope)) return `${what} has no scope`;
  for (const k of SCOPE_LISTS) if (!isStrings(scope[k])) return `${what}'s scope.${k} is not a list of names`;
  if (scope['subjects'] !== undefined && !isStrings(scope['subjects'])) return `${what}'s scope.subjects is not a list of keys`;
  return undefined;
}

/**
 * Why a stored event cannot be folded into `state` (a shape the broker never writes, or a request or
 * grant no earlier event made), or undefined when applyEvent can take it. Replay asks this first, so
 * that a damaged journal is named, not met as a TypeError half-way through a fold. Messages name
 * members and types, never values.
 */
export function eventProblem(state: BrokerState, e: unknown): string | undefined {
  if (!isObject(e) || typeof e['type'] !== 'string') return 'is not an event (an object with a string type)';
  const requestNamed = (id: unknown) => (typeof id === 'string' && state.requests.has(id) ? undefined : `${e['type']} names a request no earlier event made`);
  const grantNamed = (id: unknown) => (typeof id === 'string' && state.grants.has(id) ? undefined : `${e['type']} names a grant no earlier event made`);
  switch (e['type']) {
    case 'request': {
      const r = e['request'];
      if (!isObject(r) || typeof r['id'] !== 'string' || typeof r['principal'] !== 'string' || !Array.isArray(r['approvals']))
        return 'request holds no well-formed request';
      return scopeProblem('request', r['scope']);
    }
    case 'approval':
    case 'denial':
      return requestNamed(e['request']) ?? (isObject(e['statement']) ? undefined : `${e['type']} has no statement`);
    case 'withdraw':
      return requestNamed(e['request']);
    case 'grant': {
      const g = e['grant'];
      if (!isObject(g) || typeof g['id'] !== 'string' || typeof g['principal'] !== 'string') return 'grant holds no well-formed grant';
      if (typeof g['notBefore'] !== 'number' || typeof g['expiresAt'] !== 'number') return "grant's notBefore or expiresAt is not a time";
      if (g['request'] !== undefined && requestNamed(g['request'])) return 'grant answers a request no earlier event made';
      return scopeProblem('grant', g['scope']);
    }
    case 'revoke':
    case 'review':
      return grantNamed(e['grant']);
    case 'expire':
      if (e['kind'] === 'request') return requestNamed(e['id']);
      if (e['kind'] === 'grant') return grantNamed(e['id']);
      return 'expire names neither a request nor a grant';
    case 'use':
      return typeof e['grant'] === 'string' && typeof e['at'] === 'number' ? undefined : 'use names no grant and time';
    default:
      return 'has a type the broker does not write';
  }
}

/**
 * Applies one event to `state`. Events MUST come in log order, each naming only requests and grants
 * that earlier events made (the broker checks before it commits; a dangling reference throws, except
 * in `use`). The maps are updated in place, so that replay stays linear; the records in them are
 * replaced, never changed, so a record handed out earlier keeps saying what it said.
 */
export function applyEvent(state: BrokerState, e: BrokerEvent): void {
  const { requests, grants } = state;
  switch (e.type) {
    case 'request':
      requests.set(e.request.id, e.request);
      break;
    case 'approval': {
      const r = requests.get(e.request)!;
      requests.set(r.id, { ...r, approvals: [...r.approvals, e.statement] });
      break;
    }
    case 'denial': {
      const r = requests.get(e.request)!;
      requests.set(r.id, { ...r, state: 'denied', denial: e.statement, closedAt: e.statement.at });
      break;
    }
    case 'withdraw': {
      const r = requests.get(e.request)!;
      requests.set(r.id, { ...r, state: 'withdrawn', closedAt: e.at });
      break;
    }
    case 'grant':
      grants.set(e.grant.id, e.grant);
      if (e.grant.request !== undefined) {
        const r = requests.get(e.grant.request)!;
        requests.set(r.id, { ...r, state: 'approved', grant: e.grant.id, closedAt: e.grant.notBefore });
      }
      reindex(state, e.grant.principal);
      break;
    case 'revoke': {
      const g = grants.get(e.grant)!;
      grants.set(g.id, { ...g, state: 'revoked', revokedAt: e.at, revokedBy: e.by });
      reindex(state, g.principal);
      break;
    }
    case 'expire':
      if (e.kind === 'request') {
        const r = requests.get(e.id)!;
        requests.set(r.id, { ...r, state: 'expired', closedAt: e.at });
      } else {
        const g = grants.get(e.id)!;
        grants.set(g.id, { ...g, state: 'expired' });
        reindex(state, g.principal);
      }
      break;
    case 'review': {
      const g = grants.get(e.grant)!;
      grants.set(g.id, { ...g, review: e.statement });
      break;
    }
    case 'use': {
      const g = grants.get(e.grant);
      if (g && (g.lastUsedAt ?? 0) < e.at) grants.set(g.id, { ...g, lastUsedAt: e.at });
      break;
    }
  }
}

/**
 * Notes in memory that a decision used a grant at `at`, between the `use` events that persist it.
 * Unlike a `use` event it does not keep a later time already noted. False when there is no such grant.
 */
export function noteUse(state: BrokerState, grantId: string, at: number): boolean {
  const g = state.grants.get(grantId);
  if (!g) return false;
  state.grants.set(g.id, { ...g, lastUsedAt: at });
  return true;
}
