// The servers' error handler: every refusal leaves as an RFC 9457 problem document, and nothing that
// was not made to be shown (a stack, a store's message, a value) is echoed.
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { CordonError, ERROR_CODES, OtherRegionError, type ErrorCode } from '../shared/errors.js';
import { HttpProblem, PROBLEM_CONTENT_TYPE } from '../shared/problem.js';
import { validationProblem } from '../shared/api-schema.js';
import { isStoreUnavailable } from '../store/index.js';

/** The realm every 401's challenge names (RFC 6750 §3). */
export const AUTH_REALM = 'cordon';

/**
 * The WWW-Authenticate challenge of a 401 with `code` (RFC 6750 §3): no error code when no bearer
 * token was given, error="invalid_token" when one was but does not verify or has expired. The
 * description is the registry's fixed sentence, never the detail, which may quote the token's claims.
 */
export function bearerChallenge(code: ErrorCode): string {
  if (code === 'auth.missing_token') return `Bearer realm="${AUTH_REALM}"`;
  // error_description allows printable ASCII except " and \ (RFC 6750 §3).
  const description = ERROR_CODES[code].message.replace(/[^\x20-\x21\x23-\x5b\x5d-\x7e]/g, "'");
  return `Bearer realm="${AUTH_REALM}", error="invalid_token", error_description="${description}"`;
}

/** A regional gateway's peers (cordon up --region R --peer NAME=URL): where another region's records are served. */
export interface RegionRouting {
  readonly region: string;
  /** Region (enclave name) -> base URL of its gateways (their load balancer), without a trailing slash. */
  readonly peers: ReadonlyMap<string, string>;
}

const ROUTING = 'cordonRegionRouting';

/** The response header naming the region whose gateway answered (regional gateways only). */
export const REGION_HEADER = 'X-Cordon-Region';

/** Makes `app` (and every plugin inside it) answer a record of another region with a redirect to that region's gateway. */
export function setRegionRouting(app: FastifyInstance, routing: RegionRouting): void {
  app.decorate(ROUTING, routing);
}

/**
 * Another region's record: 307 to the same path at that region's gateway, which decides, logs and
 * answers (method and body are kept by a 307). Redirected, not forwarded: protected values released
 * to the caller go from that region to the caller directly, never through this region's hosts, and
 * that region places the caller by its own peer address, trusting no other region's word for it.
 */
function otherRegion(error: OtherRegionError, request: FastifyRequest, reply: FastifyReply): HttpProblem {
  const routing = (request.server as unknown as Record<string, RegionRouting | undefined>)[ROUTING];
  const base = routing?.peers.get(error.region);
  if (base === undefined)
    return new HttpProblem('gateway.region_unknown', `the record is served by region ${error.region}, and this gateway knows no gateway of it`, {
      region: error.region,
    });
  // The path and query only: an absolute-form request target (GET http://host/v1/...) names a host
  // that is not the peer's, and is not echoed after it.
  const target = request.url.startsWith('/') ? request.url : pathAndQuery(request.url);
  if (target === undefined) return new HttpProblem('gateway.invalid_input', 'the request target is neither a path nor an absolute URL');
  void reply.header('location', `${base}${target}`);
  return new HttpProblem('gateway.other_region', `the record is served by region ${error.region}: repeat the request at its gateway`, {
    region: error.region,
    location: `${base}${target}`,
  });
}

/** The path and query of an absolute URL, as sent (not normalised); undefined when it is none. */
function pathAndQuery(url: string): string | undefined {
  const m = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/[^/?#]*([/?][^#]*)?/.exec(url);
  if (!m) return undefined;
  const rest = m[1] ?? '/';
  return rest.startsWith('/') ? rest : `/${rest}`;
}

/** Sends problems as application/problem+json; maps Fastify's own errors; never echoes unknown ones. */
export function problemHandler(error: FastifyError | Error, request: FastifyRequest, reply: FastifyReply): void {
  let problem: HttpProblem;
  const fastifyCode = (error as FastifyError).code;
  // Input that fails the route's schema: 400 naming the part and path, before the handler ran.
  const invalid = validationProblem(error, request.routeOptions.config);
  if (invalid) problem = invalid;
  else if (error instanceof OtherRegionError) problem = otherRegion(error, request, reply);
  else if (error instanceof HttpProblem) problem = error;
  // A 500 code is a failure inside cordon (a key service that fails): logged below, never echoed.
  else if (error instanceof CordonError && error.status !== 500) {
    // Other 5xx (decide.evaluation_failed) refuse the whole request; logged with the cause, which is not echoed.
    if (error.status >= 500) request.log.error({ err: error }, 'request refused');
    problem = new HttpProblem(error.code, error.message);
  } else if (isStoreUnavailable(error)) {
    // A store that went away (stopped, restarting, cut off) refuses the request as unavailable: fail closed, retry later.
    request.log.warn({ err: error }, 'store unavailable');
    problem = new HttpProblem('store.unavailable', 'a store cannot be reached; nothing was released or written');
  } else if (fastifyCode === 'FST_ERR_CTP_BODY_TOO_LARGE') problem = new HttpProblem('gateway.payload_too_large', 'the request body is over the limit');
  // Content types the conventions hook lets through but Fastify cannot read (a malformed header).
  else if (fastifyCode === 'FST_ERR_CTP_INVALID_MEDIA_TYPE')
    problem = new HttpProblem('gateway.unsupported_media_type', 'the Content-Type header is malformed; send the body as application/json');
  else if ((error as FastifyError).statusCode === 400 || fastifyCode?.startsWith('FST_ERR_CTP')) {
    problem = new HttpProblem('gateway.invalid_body', 'the request body is not valid JSON');
  } else {
    request.log.error({ err: error }, 'unexpected error');
    problem = new HttpProblem('internal.error', 'an unexpected error; it was logged');
  }
  if (problem.status === 401) void reply.header('www-authenticate', bearerChallenge(problem.code));
  void reply.status(problem.status).type(PROBLEM_CONTENT_TYPE).send(problem.body());
}
