// The access module's public API: the broker (requests, approvals, grants, break-glass), its HTTP
// routes, and the standing-access review.
export { BrokerJournalError } from './journal.js';
export { openAccessBroker, BROKER_EVENTS, type AccessBroker, type BrokerOptions, type BrokerStats, type GrantFlag } from './broker.js';
export type { AccessRequest, Actor, Grant, Place, Scope, Statement, RequestState, GrantState } from './model.js';
export { accessRoutes, requestView, grantView, type AccessRoutesOptions, type SubjectKeys } from './routes.js';
export { standingAccessReview, formatStandingReview } from './review.js';
