// The access broker over HTTP, under /v1/access: requests, approvals, denials, revocations,
// break-glass and its review, grants, and the standing-access review. CordonErrors thrown here
// become problem responses with their code (the server's error handler).

import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { AccessBroker, GrantFlag } from './broker.js';
import type { AccessRequest, Actor, Grant } from './model.js';
import { ACCESS_REQUEST_SCHEMA, ACCESS_SCHEMAS as S, GRANT_SCHEMA } from './schemas.js';
import { ensureSchemas } from '../shared/api-schema.js';

export interface AccessRoutesOptions {
  readonly broker: AccessBroker;
  /** Identifies the caller and where they are; throws HttpProblem (401/403) when it cannot. */
  identify(request: FastifyRequest): Promise<Actor>;
  /** The standing-access review with the broker's grant flags, for approvers and auditors; logged. */
  review(actor: Actor): Promise<unknown>;
}

const iso = (ms: number | undefined) => (ms === undefined ? null : new Date(ms).toISOString());

/** JSON views: times as ISO strings, durations in seconds. */
export function requestView(r: AccessRequest): Record<string, unknown> {
  return {
    id: r.id,
    principal: r.principal,
    state: r.state,
    scope: r.scope,
    reason: r.reason,
    ticket: r.ticket,
    comment: r.comment,
    durationS: r.durationMs / 1000,
    approverGroup: r.group,
    requestedAt: iso(r.requestedAt),
    expiresAt: iso(r.expiresAt),
    from: r.from,
    digest: r.digest,
    approvals: r.approvals.map((a) => ({ ...a, at: iso(a.at) })),
    denial: r.denial ? { ...r.denial, at: iso(r.denial.at) } : null,
    grant: r.grant ?? null,
    closedAt: iso(r.closedAt),
  };
}

export function grantView(g: Grant, now: number): Record<string, unknown> {
  return {
    id: g.id,
    principal: g.principal,
    state: g.state === 'active' && g.expiresAt <= now ? 'expired' : g.state,
    request: g.request ?? null,
    scope: g.scope,
    reason: g.reason,
    ticket: g.ticket,
    breakGlass: g.breakGlass,
    justification: g.justification || null,
    notBefore: iso(g.notBefore),
    expiresAt: iso(g.expiresAt),
    secondsLeft: Math.max(0, Math.floor((g.expiresAt - now) / 1000)),
    reviewBy: iso(g.reviewBy),
    review: g.review ? { ...g.review, at: iso(g.review.at) } : null,
    revokedAt: iso(g.revokedAt),
    revokedBy: g.revokedBy ?? null,
    lastUsedAt: iso(g.lastUsedAt),
  };
}

export async function accessRoutes(app: FastifyInstance, options: AccessRoutesOptions & { now: () => number }): Promise<void> {
  const { broker, identify, now } = options;
  ensureSchemas(app, ACCESS_REQUEST_SCHEMA, GRANT_SCHEMA);
  type Id = { Params: { id: string } };
  type List = { Querystring: { state?: string; mine?: boolean } };
  // Input that fails a schema is an invalid access request, as the broker's own checks say.
  const config = { invalidCode: 'access.invalid_request' as const };

  app.post('/v1/access/requests', { schema: S.request, config }, async (req, reply) => {
    const actor = await identify(req);
    const r = await broker.request(actor, req.body);
    return reply.status(201).send(requestView(r));
  });
  app.get<List>('/v1/access/requests', { schema: S.listRequests, config }, async (req) => {
    const actor = await identify(req);
    await broker.sweep();
    // state is one of the request states, mine a boolean: the route's schema took nothing else.
    return { requests: broker.listRequests(actor, { state: req.query.state, mine: req.query.mine === true }).map(requestView) };
  });
  app.get<Id>('/v1/access/requests/:id', { schema: S.getRequest, config }, async (req) => {
    const actor = await identify(req);
    await broker.sweep();
    return requestView(await broker.getRequest(actor, req.params.id));
  });
  app.post<Id>('/v1/access/requests/:id/approve', { schema: S.approve, config }, async (req) => {
    const actor = await identify(req);
    return requestView(await broker.approve(actor, req.params.id, req.body));
  });
  app.post<Id>('/v1/access/requests/:id/deny', { schema: S.deny, config }, async (req) => {
    const actor = await identify(req);
    return requestView(await broker.deny(actor, req.params.id, req.body));
  });
  const revoke = async (req: FastifyRequest<Id>) => {
    const actor = await identify(req);
    const out = await broker.revoke(actor, req.params.id, req.body);
    return { request: out.request ? requestView(out.request) : null, grant: out.grant ? grantView(out.grant, now()) : null };
  };
  app.post<Id>('/v1/access/requests/:id/revoke', { schema: S.revokeRequest, config }, revoke);
  app.post<Id>('/v1/access/grants/:id/revoke', { schema: S.revokeGrant, config }, revoke);
  app.get<List>('/v1/access/grants', { schema: S.listGrants, config }, async (req) => {
    const actor = await identify(req);
    await broker.sweep();
    return { grants: broker.listGrants(actor, { state: req.query.state, mine: req.query.mine === true }).map((g) => grantView(g, now())) };
  });
  app.get<Id>('/v1/access/grants/:id', { schema: S.getGrant, config }, async (req) => {
    const actor = await identify(req);
    await broker.sweep();
    return grantView(await broker.getGrant(actor, req.params.id), now());
  });
  app.post('/v1/access/break-glass', { schema: S.breakGlass, config }, async (req, reply) => {
    const actor = await identify(req);
    const g = await broker.breakGlass(actor, req.body);
    return reply.status(201).send(grantView(g, now()));
  });
  app.post<Id>('/v1/access/grants/:id/review', { schema: S.review, config }, async (req) => {
    const actor = await identify(req);
    return grantView(await broker.review(actor, req.params.id, req.body), now());
  });
  app.get('/v1/access/review', { schema: S.standingReview, config }, async (req) => {
    const actor = await identify(req);
    return options.review(actor);
  });
  app.get('/v1/access/keys', { schema: S.keys, config }, async () => ({ statements: broker.vkey }));
}

export type { GrantFlag };
