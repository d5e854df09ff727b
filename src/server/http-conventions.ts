// The HTTP conventions every route of the server keeps, decided on the request line and headers
// alone, before any route identifies, authorizes, reads, logs or stores (W7): 405 with Allow for a
// known path asked with another method, 404 gateway.no_route for a path no route has, 415 for a body
// that is not JSON or is encoded other than gzip; gzip bodies inflated under the route's body limit;
// and the headers that keep answers carrying user data or decisions out of caches.

import { type Readable, Transform } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { errorCodes, type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { HttpProblem, PROBLEM_CONTENT_TYPE } from '../shared/problem.js';

/** The only media type a route of the API takes as a body. */
export const JSON_MEDIA_TYPE = 'application/json';
/** Allow lists methods in this order (RFC 9110 leaves it open; a fixed one keeps it testable). */
const METHOD_ORDER = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];
/** Answers on these paths are live state or may carry user data and decisions: never stored by a cache. */
const LIVE_PREFIXES = ['/v1/', '/api/'];
const LIVE_PATHS = new Set(['/healthz', '/readyz', '/metrics']);
/** Encodings a body may name besides gzip: none (identity) changes nothing. */
const GZIP = new Set(['gzip', 'x-gzip']);

interface CompiledRoute {
  readonly method: string;
  readonly url: string;
  /** One entry per path segment: a literal (compared decoded), a parameter, or a trailing wildcard. */
  readonly segments: readonly (string | typeof PARAM | typeof REST)[];
}
const PARAM = Symbol('param');
const REST = Symbol('rest');

/** The routes the server has, by URL pattern, to tell a wrong method (405) from an unknown path (404). */
export interface RouteTable {
  /** A route's method and URL pattern; Fastify's HEAD routes (for GET routes that expose one) are added as routes too. */
  add(method: string, url: string): void;
  /** The methods some route takes for this path (already percent-decoded per segment), in METHOD_ORDER. */
  allowed(path: string): { methods: string[]; patterns: string[] };
}

/**
 * Matches a path against the collected patterns the way Fastify's router (find-my-way) does for the
 * patterns cordon uses: `:name` takes one segment (possibly empty), a trailing `*` takes the rest.
 */
export function createRouteTable(): RouteTable {
  const routes: CompiledRoute[] = [];
  return {
    add(method, url) {
      const segments = url.split('/').map((s, i, all) => (s.startsWith(':') ? PARAM : s === '*' && i === all.length - 1 ? REST : s));
      routes.push({ method: method.toUpperCase(), url, segments });
    },
    allowed(path) {
      const parts = path.split('/').map(decodeSegment);
      const methods = new Set<string>();
      const patterns = new Set<string>();
      for (const r of routes) {
        if (!matches(r.segments, parts)) continue;
        methods.add(r.method);
        patterns.add(r.url);
      }
      const known = METHOD_ORDER.filter((m) => methods.has(m));
      return { methods: known.concat([...methods].filter((m) => !METHOD_ORDER.includes(m)).sort()), patterns: [...patterns] };
    },
  };
}

function matches(segments: CompiledRoute['segments'], parts: readonly string[]): boolean {
  for (let i = 0; i < segments.length; i++) {
    const s = segments[i]!;
    if (s === REST) return parts.length >= i;
    if (i >= parts.length) return false;
    if (s !== PARAM && s !== parts[i]) return false;
  }
  return segments.length === parts.length;
}

function decodeSegment(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** The shared Problem schema, by reference: what every problem body is serialized with. */
const PROBLEM_REF = { $ref: 'Problem#' } as const;

/**
 * Sends a problem from a hook or the 404 handler, serialized with the Problem schema as route
 * answers are: the body holds exactly the members that schema names (the methods a 405 allows
 * travel in its Allow header).
 */
function send(reply: FastifyReply, problem: HttpProblem): void {
  const serialize = reply.compileSerializationSchema(PROBLEM_REF);
  void reply.status(problem.status).type(PROBLEM_CONTENT_TYPE).send(serialize(problem.body()));
}

/** The path of a request URL, without its query; at most 200 characters of it are ever echoed. */
function pathOf(req: FastifyRequest): string {
  const q = req.url.indexOf('?');
  return q < 0 ? req.url : req.url.slice(0, q);
}

function shown(path: string): string {
  return path.length > 200 ? `${path.slice(0, 200)}…` : path;
}

/**
 * The problem for a request no route takes: 405 with the methods the path has (the route's pattern,
 * not the caller's path, is named: a record key in the path is not echoed), or 404 gateway.no_route.
 * Depends on the URL patterns alone, never on whether a record exists.
 */
export function routeProblem(req: FastifyRequest, routes: RouteTable): { problem: HttpProblem; allow?: string } {
  const path = pathOf(req);
  const { methods, patterns } = routes.allowed(path);
  // When the table names the request's own method, Fastify's router refused what the table matched
  // (a parameter over its length limit, say): the path has no route after all.
  if (methods.length > 0 && !methods.includes(req.method)) {
    const allow = methods.join(', ');
    return {
      problem: new HttpProblem('gateway.method_not_allowed', `${patterns.join(' and ')} takes ${allow}, not ${req.method}`),
      allow,
    };
  }
  return { problem: new HttpProblem('gateway.no_route', `no route ${req.method} ${shown(path)}; /openapi.json lists the routes`) };
}

/**
 * The longest path parameter the router takes: a record key is at most 1000 characters, and the
 * token a caller addresses it by (tok_, base64url of an IV and the key) about 1,370; Fastify's
 * default of 100 made records with keys over 46 characters unreachable by token.
 */
export const MAX_PARAM_CHARS = 2048;

/**
 * Fastify's `frameworkErrors`: what its router refuses before any route or hook runs (a path that
 * is not valid percent-encoding, a segment over the router's parameter length) answers a problem
 * like every other refusal, instead of Fastify's JSON that quotes the whole path.
 */
export function frameworkErrors(error: FastifyError, _req: FastifyRequest, reply: FastifyReply): void {
  const problem =
    error.code === 'FST_ERR_MAX_PARAM_LENGTH'
      ? new HttpProblem('gateway.invalid_input', `a path segment is longer than any key, token or name may be (${MAX_PARAM_CHARS} characters)`)
      : error.code === 'FST_ERR_BAD_URL'
        ? new HttpProblem('gateway.invalid_input', 'the path is not valid percent-encoding (RFC 3986)')
        : new HttpProblem('gateway.no_route', 'no route takes this request; /openapi.json lists the routes');
  // These replies skip the hooks, onSend included: the headers it would add are set here.
  void reply.header('cache-control', 'no-store').header('x-content-type-options', 'nosniff');
  send(reply, problem);
}

/** Sends routeProblem's answer, with Allow on a 405. */
export function sendRouteProblem(req: FastifyRequest, reply: FastifyReply, routes: RouteTable): void {
  const { problem, allow } = routeProblem(req, routes);
  if (allow !== undefined) void reply.header('allow', allow);
  send(reply, problem);
}

function hasBody(req: FastifyRequest): boolean {
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

/** Content codings named by the request, identity left out, lower-cased. */
function encodingsOf(req: FastifyRequest): string[] {
  const header = req.headers['content-encoding'];
  if (header === undefined) return [];
  return header
    .split(',')
    .map((e) => e.trim().toLowerCase())
    .filter((e) => e !== '' && e !== 'identity');
}

/** Why the body's headers are refused (415), or undefined when the body is JSON, plain or gzip. */
export function mediaTypeProblem(req: FastifyRequest): HttpProblem | undefined {
  if (req.method === 'GET' || req.method === 'HEAD' || !hasBody(req)) return undefined;
  const encodings = encodingsOf(req);
  if (encodings.length > 1 || (encodings.length === 1 && !GZIP.has(encodings[0]!))) {
    return new HttpProblem(
      'gateway.unsupported_media_type',
      `the body is sent with Content-Encoding ${JSON.stringify(shown(encodings.join(', ')))}; only gzip (or none) is accepted`,
      { received: { contentEncoding: encodings }, expected: { contentType: JSON_MEDIA_TYPE, contentEncoding: ['gzip', 'identity'] } },
    );
  }
  const header = req.headers['content-type'];
  const expected = { contentType: JSON_MEDIA_TYPE };
  if (header === undefined)
    return new HttpProblem('gateway.unsupported_media_type', `the body has no Content-Type; send it as ${JSON_MEDIA_TYPE}`, { received: {}, expected });
  const [type = '', ...params] = header.split(';').map((p) => p.trim());
  const mediaType = type.toLowerCase();
  if (mediaType !== JSON_MEDIA_TYPE) {
    return new HttpProblem(
      'gateway.unsupported_media_type',
      `the body is ${JSON.stringify(shown(mediaType))}; routes take ${JSON_MEDIA_TYPE} (JSON in UTF-8)`,
      { received: { contentType: shown(mediaType) }, expected },
    );
  }
  // JSON exchanged between systems is UTF-8 (RFC 8259 §8.1); another charset would be misread.
  const charset = params.find((p) => p.toLowerCase().startsWith('charset='))?.slice('charset='.length);
  const name = charset?.replace(/^"(.*)"$/, '$1').toLowerCase();
  if (name !== undefined && name !== 'utf-8' && name !== 'utf8') {
    return new HttpProblem('gateway.unsupported_media_type', `the body's charset is ${JSON.stringify(shown(name))}; JSON bodies are UTF-8`, {
      received: { contentType: mediaType, charset: shown(name) },
      expected: { ...expected, charset: 'utf-8' },
    });
  }
  return undefined;
}

/**
 * The body inflated from gzip, at most `limit` bytes of it: one byte more fails the stream with
 * Fastify's FST_ERR_CTP_BODY_TOO_LARGE (413) and stops inflating, so a small body that inflates to
 * gigabytes costs at most `limit` bytes of memory and the CPU to inflate them; a body sent longer
 * than `limit` fails the same way, whatever it inflates to.
 * `receivedEncodedLength` is the compressed count, which Fastify checks against Content-Length.
 */
export function gunzipWithin(payload: Readable, limit: number): Readable {
  const gunzip = createGunzip();
  let inflated = 0;
  const out = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      inflated += chunk.length;
      if (inflated > limit) done(new errorCodes.FST_ERR_CTP_BODY_TOO_LARGE());
      else done(null, chunk);
    },
  }) as Transform & { receivedEncodedLength: number };
  out.receivedEncodedLength = 0;
  // The body as sent is held to the limit too: a stream of empty deflate blocks inflates to nothing,
  // and would otherwise be read for as long as the client sends it.
  const count = (chunk: Buffer) => {
    out.receivedEncodedLength += chunk.length;
    if (out.receivedEncodedLength > limit) out.destroy(new errorCodes.FST_ERR_CTP_BODY_TOO_LARGE());
  };
  payload.on('data', count);
  // A corrupt stream is the caller's bad input (400), named without echoing any of it.
  gunzip.on('error', (err: Error & { code?: string }) => {
    out.destroy(new HttpProblem('gateway.invalid_body', `the gzip-encoded body does not inflate (${err.code ?? 'corrupt'})`));
  });
  // Refused: nothing more is read or inflated here (Node's HTTP server discards what the client
  // still sends, uninflated, once the answer is out).
  out.on('error', () => {
    payload.off('data', count);
    payload.unpipe(gunzip);
    payload.pause();
    gunzip.destroy();
  });
  payload.pipe(gunzip).pipe(out);
  return out;
}

/**
 * Installs the conventions on `app` (the root instance, before any route is registered, so that
 * every route and the 404 handler run them first) and returns the table of its routes.
 */
export function httpConventions(app: FastifyInstance): RouteTable {
  const routes = createRouteTable();
  app.addHook('onRoute', (r) => {
    for (const m of [r.method].flat()) routes.add(m, r.url);
  });
  // Only JSON is parsed: Fastify's text/plain parser would hand routes a string.
  app.removeContentTypeParser('text/plain');
  app.setNotFoundHandler((req, reply) => sendRouteProblem(req, reply, routes));
  // Callback style: these run on every request, and reply.send() without done() ends it here.
  app.addHook('onRequest', (req, reply, done) => {
    // A request no route takes is answered before its body is read (no 413 or 415 for it).
    if (req.is404) return sendRouteProblem(req, reply, routes);
    const problem = mediaTypeProblem(req);
    if (problem) return send(reply, problem);
    done();
  });
  app.addHook('preParsing', (req, _reply, payload, done) => {
    if (req.method === 'GET' || req.method === 'HEAD' || !hasBody(req) || encodingsOf(req).length === 0) return done(null, payload);
    done(null, gunzipWithin(payload, req.routeOptions.bodyLimit ?? app.initialConfig.bodyLimit ?? 0));
  });
  app.addHook('onSend', (req, reply, payload, done) => {
    if (!reply.hasHeader('x-content-type-options')) void reply.header('x-content-type-options', 'nosniff');
    const path = pathOf(req);
    const problem = String(reply.getHeader('content-type') ?? '').startsWith(PROBLEM_CONTENT_TYPE);
    if (problem || LIVE_PATHS.has(path) || LIVE_PREFIXES.some((p) => path.startsWith(p))) void reply.header('cache-control', 'no-store');
    done(null, payload);
  });
  return routes;
}
