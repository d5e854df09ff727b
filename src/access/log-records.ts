// What the verifiable access log says of each broker event: one record an event, in the access
// log's JSON, with subject keys only as keyed hashes.

import type { Policy } from '../policy/index.js';
import { subjectHash, type KeyService } from '../store/index.js';
import type { BrokerEventRecord, BrokerScopeV1 } from '../log/index.js';
import type { BrokerEvent, Scope } from './model.js';

/** An epoch-ms time as records and messages write it. */
export function iso(ms: number): string {
  return new Date(ms).toISOString();
}

function hashedSubjects(keys: KeyService, scope: Scope): Record<string, string[]> | null {
  return scope.subjects === undefined ? null : Object.fromEntries(scope.datasets.map((d) => [d, scope.subjects!.map((s) => subjectHash(keys, d, s)!)]));
}

/** A scope as records (and request digests) hold it: subjects as keyed hashes per dataset. */
export function scopeRecord(keys: KeyService, scope: Scope): BrokerScopeV1 {
  return { datasets: scope.datasets, categories: scope.categories, subjects: hashedSubjects(keys, scope), jurisdictions: scope.jurisdictions };
}

/** The access-log record of an event: no subject keys in clear (keyed hashes, as in access records). */
export function logRecord(policy: Policy, keys: KeyService, e: BrokerEvent, at: number): BrokerEventRecord {
  const base = { v: 1 as const, at: iso(at), policyVersion: policy.versionHash };
  switch (e.type) {
    case 'request': {
      const r = e.request;
      return {
        ...base,
        type: 'broker.request',
        request: r.id,
        principal: r.principal,
        country: r.from.country,
        site: r.from.site,
        reason: r.reason,
        ticket: r.ticket,
        durationS: r.durationMs / 1000,
        group: r.group,
        scope: scopeRecord(keys, r.scope),
        digest: r.digest,
        expiresAt: iso(r.expiresAt),
      };
    }
    case 'approval':
    case 'denial':
      return {
        ...base,
        type: e.type === 'approval' ? 'broker.approve' : 'broker.deny',
        request: e.request,
        principal: e.statement.by,
        country: e.statement.from.country,
        site: e.statement.from.site,
        comment: e.statement.comment,
        statement: e.statement.note,
      };
    case 'withdraw':
      return { ...base, type: 'broker.withdraw', request: e.request };
    case 'grant': {
      const g = e.grant;
      return {
        ...base,
        type: g.breakGlass ? 'broker.break_glass' : 'broker.grant',
        grant: g.id,
        request: g.request ?? null,
        principal: g.principal,
        reason: g.reason,
        ticket: g.ticket,
        justification: g.justification,
        scope: scopeRecord(keys, g.scope),
        notBefore: iso(g.notBefore),
        expiresAt: iso(g.expiresAt),
        reviewBy: g.reviewBy === undefined ? null : iso(g.reviewBy),
      };
    }
    case 'revoke':
      return { ...base, type: 'broker.revoke', grant: e.grant, principal: e.by };
    case 'expire':
      return { ...base, type: 'broker.expire', kind: e.kind, id: e.id };
    case 'review':
      return {
        ...base,
        type: 'broker.review',
        grant: e.grant,
        principal: e.statement.by,
        verdict: e.statement.decision,
        comment: e.statement.comment,
        statement: e.statement.note,
      };
    case 'use':
      return { ...base, type: 'broker.use', grant: e.grant };
  }
}
