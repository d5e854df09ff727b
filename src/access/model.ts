// The access broker's records: requests, approvals (signed statements), grants, break-glass reviews.
// State is the fold of an append-only event list kept in the enclave store; each event is first an
// entry of the verifiable access log.

import type { Principal } from '../policy/index.js';

/** Who acts, and from where (the server resolves the place from the network map). */
export interface Actor {
  readonly principal: Principal;
  readonly country: string;
  readonly site: string;
  /** False when the network does not place the request, or the token's place disagrees. */
  readonly knownPlace: boolean;
}

export interface Place {
  readonly country: string;
  readonly site: string;
}

export interface Scope {
  readonly datasets: readonly string[];
  /** Canonical category keys; a category covers its sub-categories. */
  readonly categories: readonly string[];
  /** Subject keys; absent when the scope is every subject of `jurisdictions`. */
  readonly subjects?: readonly string[];
  /** The subjects' jurisdictions: within the approver group's enclave. */
  readonly jurisdictions: readonly string[];
}

export type RequestState = 'pending' | 'approved' | 'denied' | 'expired' | 'withdrawn';
export type GrantState = 'active' | 'revoked' | 'expired';

/** A signed statement of one approver's decision on one request, or one review of a break-glass grant. */
export interface Statement {
  readonly by: string;
  readonly decision: 'approve' | 'deny' | 'justified' | 'unjustified';
  /** Epoch ms. */
  readonly at: number;
  readonly from: Place;
  readonly comment: string;
  /** The C2SP signed note (Ed25519) over the statement's text. */
  readonly note: string;
}

export interface AccessRequest {
  readonly id: string;
  readonly principal: string;
  readonly scope: Scope;
  readonly reason: string;
  readonly ticket: string;
  readonly comment: string;
  readonly durationMs: number;
  readonly group: string;
  readonly requestedAt: number;
  /** A pending request expires then. */
  readonly expiresAt: number;
  readonly from: Place;
  /** SHA-256 (base64) of the request's canonical form, subjects as keyed hashes (as the log's record has them): what each approval signs. */
  readonly digest: string;
  readonly state: RequestState;
  readonly approvals: readonly Statement[];
  readonly denial: Statement | undefined;
  readonly grant: string | undefined;
  readonly closedAt: number | undefined;
}

export interface Grant {
  readonly id: string;
  /** The request it answers; undefined for break-glass. */
  readonly request: string | undefined;
  readonly principal: string;
  readonly scope: Scope;
  readonly reason: string;
  readonly ticket: string;
  /** Break-glass: why the glass was broken. */
  readonly justification: string;
  readonly notBefore: number;
  readonly expiresAt: number;
  readonly breakGlass: boolean;
  /** Break-glass: reviewers must decide by then. */
  readonly reviewBy: number | undefined;
  readonly review: Statement | undefined;
  readonly state: GrantState;
  readonly revokedAt: number | undefined;
  readonly revokedBy: string | undefined;
  readonly lastUsedAt: number | undefined;
}

/** What the broker persists: replaying these in order rebuilds its state. */
export type BrokerEvent =
  | { readonly type: 'request'; readonly request: AccessRequest }
  | { readonly type: 'approval'; readonly request: string; readonly statement: Statement }
  | { readonly type: 'denial'; readonly request: string; readonly statement: Statement }
  | { readonly type: 'withdraw'; readonly request: string; readonly at: number }
  | { readonly type: 'grant'; readonly grant: Grant }
  | { readonly type: 'revoke'; readonly grant: string; readonly at: number; readonly by: string }
  | { readonly type: 'expire'; readonly kind: 'request' | 'grant'; readonly id: string; readonly at: number }
  | { readonly type: 'review'; readonly grant: string; readonly statement: Statement }
  | { readonly type: 'use'; readonly grant: string; readonly at: number };
