// The access broker over HTTP, under /v1/access: requests, approvals, denials, revocations,
// break-glass and its review, grants, and the standing-access review. CordonErrors thrown here
// become problem responses with their code (the server's error handler).

import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { AccessBroker, GrantFlag } from './broker.js';
import type { OpenedSubjects } from './input.js';
import type { AccessRequest, Actor, Grant, Scope } from './model.js';
import { ACCESS_REQUEST_SCHEMA, ACCESS_SCHEMAS as S, GRANT_SCHEMA } from './schemas.js';
import { ensureSchemas } from '../shared/api-schema.js';

/**
 * Subjects are record keys (W6): a scope's subjects go out as the caller may see each subject's key
 * (clear, or the caller's token, as data responses give it), and come back in as the caller was
 * given them. The server wires these to the gateway's record keys.
 */
export interface SubjectKeys {
  /**
   * The stored subject keys that `sent` (a scope's subjects, for its datasets) name for `actor`: its
   * own tokens, or clear keys of records whose key it may see in clear; `unknown` is the index of the
   * first that names none (answered alike whether or not such a record exists: no oracle).
   */
  in(actor: Actor, datasets: readonly string[], sent: readonly string[]): Promise<OpenedSubjects>;
  /** `subjects` (stored keys of a scope for `datasets`) as `actor` may see each: clear, or its token. */
  out(actor: Actor, datasets: readonly string[], subjects: readonly string[]): Promise<string[]>;
}

export interface AccessRoutesOptions {
  readonly broker: AccessBroker;
  /** Identifies the caller and where they are; throws HttpProblem (401/403) when it cannot. */
  identify(request: FastifyRequest): Promise<Actor>;
  /** The standing-access review with the broker's grant flags, for approvers and auditors; logged. */
  review(actor: Actor): Promise<unknown>;
  /** Subject keys in and out, as the caller may see them (W6). */
  readonly subjects: SubjectKeys;
}

const iso = (ms: number | undefined) => (ms === undefined ? null : new Date(ms).toISOString());

/** JSON views: times as ISO strings, durations in seconds; `scope` as the caller may see it (subjectsView). */
export function requestView(r: AccessRequest, scope: Scope): Record<string, unknown> {
  return {
    id: r.id,
    principal: r.principal,
    state: r.state,
    scope,
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

export function grantView(g: Grant, now: number, scope: Scope): Record<string, unknown> {
  return {
    id: g.id,
    principal: g.principal,
    state: g.state === 'active' && g.expiresAt <= now ? 'expired' : g.state,
    request: g.request ?? null,
    scope,
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
  const { broker, identify, now, subjects } = options;
  ensureSchemas(app, ACCESS_REQUEST_SCHEMA, GRANT_SCHEMA);
  type Id = { Params: { id: string } };
  type List = { Querystring: { state?: string; mine?: boolean } };
  // Input that fails a schema is an invalid access request, as the broker's own checks say.
  const config = { invalidCode: 'access.invalid_request' as const };

  /** A scope as `actor` may see it: each subject key clear or as its token (W6). */
  const scopeFor = async (actor: Actor, scope: Scope): Promise<Scope> =>
    scope.subjects === undefined ? scope : { ...scope, subjects: await subjects.out(actor, scope.datasets, scope.subjects) };
  const requestFor = async (actor: Actor, r: AccessRequest) => requestView(r, await scopeFor(actor, r.scope));
  const grantFor = async (actor: Actor, g: Grant) => grantView(g, now(), await scopeFor(actor, g.scope));
  /** The caller's subjects opened to stored keys, for the broker to check in its turn (W6). */
  const opener = (actor: Actor) => (datasets: readonly string[], sent: readonly string[]) => subjects.in(actor, datasets, sent);

  app.post('/v1/access/requests', { schema: S.request, config }, async (req, reply) => {
    const actor = await identify(req);
    const r = await broker.request(actor, req.body, opener(actor));
    return reply.status(201).send(await requestFor(actor, r));
  });
  app.get<List>('/v1/access/requests', { schema: S.listRequests, config }, async (req) => {
    const actor = await identify(req);
    await broker.sweep();
    // state is one of the request states, mine a boolean: the route's schema took nothing else.
    const list = broker.listRequests(actor, { state: req.query.state, mine: req.query.mine === true });
    return { requests: await Promise.all(list.map((r) => requestFor(actor, r))) };
  });
  app.get<Id>('/v1/access/requests/:id', { schema: S.getRequest, config }, async (req) => {
    const actor = await identify(req);
    await broker.sweep();
    return requestFor(actor, await broker.getRequest(actor, req.params.id));
  });
  app.post<Id>('/v1/access/requests/:id/approve', { schema: S.approve, config }, async (req) => {
    const actor = await identify(req);
    return requestFor(actor, await broker.approve(actor, req.params.id, req.body));
  });
  app.post<Id>('/v1/access/requests/:id/deny', { schema: S.deny, config }, async (req) => {
    const actor = await identify(req);
    return requestFor(actor, await broker.deny(actor, req.params.id, req.body));
  });
  const revoke = async (req: FastifyRequest<Id>) => {
    const actor = await identify(req);
    const out = await broker.revoke(actor, req.params.id, req.body);
    return { request: out.request ? await requestFor(actor, out.request) : null, grant: out.grant ? await grantFor(actor, out.grant) : null };
  };
  app.post<Id>('/v1/access/requests/:id/revoke', { schema: S.revokeRequest, config }, revoke);
  app.post<Id>('/v1/access/grants/:id/revoke', { schema: S.revokeGrant, config }, revoke);
  app.get<List>('/v1/access/grants', { schema: S.listGrants, config }, async (req) => {
    const actor = await identify(req);
    await broker.sweep();
    const list = broker.listGrants(actor, { state: req.query.state, mine: req.query.mine === true });
    return { grants: await Promise.all(list.map((g) => grantFor(actor, g))) };
  });
  app.get<Id>('/v1/access/grants/:id', { schema: S.getGrant, config }, async (req) => {
    const actor = await identify(req);
    await broker.sweep();
    return grantFor(actor, await broker.getGrant(actor, req.params.id));
  });
  app.post('/v1/access/break-glass', { schema: S.breakGlass, config }, async (req, reply) => {
    const actor = await identify(req);
    const g = await broker.breakGlass(actor, req.body, opener(actor));
    return reply.status(201).send(await grantFor(actor, g));
  });
  app.post<Id>('/v1/access/grants/:id/review', { schema: S.review, config }, async (req) => {
    const actor = await identify(req);
    return grantFor(actor, await broker.review(actor, req.params.id, req.body));
  });
  app.get('/v1/access/review', { schema: S.standingReview, config, exposeHeadRoute: false }, async (req) => {
    const actor = await identify(req);
    return options.review(actor);
  });
  app.get('/v1/access/keys', { schema: S.keys, config }, async () => ({ statements: broker.vkey }));
}

export type { GrantFlag };
