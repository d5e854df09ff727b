// The server's operational log: JSON lines (pino, through Fastify), one per request with its request
// id, principal, route pattern, status, latency and access-log index, and one per error. It never
// holds a record key, a field value or a query string: routes are logged as their pattern
// (`/v1/data/:dataset/:key`), and error messages that did not come from cordon itself (a database
// driver's, which may quote a value) are logged with every quoted part cut out.

import { randomUUID } from 'node:crypto';
import { LogController, type FastifyInstance, type FastifyReply, type FastifyRequest, type FastifyServerOptions } from 'fastify';
import { CordonError } from '../shared/errors.js';
import { HttpProblem } from '../shared/problem.js';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface LoggingOptions {
  readonly level: LogLevel;
  /** Where the lines go (default: stderr). */
  readonly destination?: NodeJS.WritableStream | { write(line: string): void };
}

const SAFE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** Cuts quoted parts and `(key)=(value)` details out of a message that cordon did not write. */
export function scrubMessage(message: string): string {
  return message
    .replace(/\([^()]*\)=\([^()]*\)/g, '(…)=(…)')
    .replace(/"(?:[^"\\]|\\.)*"/g, '"…"')
    .replace(/'(?:[^'\\]|\\.)*'/g, "'…'")
    .replace(/\bDETAIL:.*$/s, 'DETAIL: …');
}

/** An error as logged: its type, code, message (scrubbed unless cordon wrote it) and stack frames. */
export function safeError(err: unknown): Record<string, unknown> {
  if (!(err instanceof Error)) return { type: typeof err };
  const ours = err instanceof CordonError || err instanceof HttpProblem;
  const code = (err as { code?: unknown }).code;
  const frames = (err.stack ?? '')
    .split('\n')
    .filter((l) => /^\s+at /.test(l))
    .map((l) => l.trim());
  const cause = (err as { cause?: unknown }).cause;
  return {
    type: err.constructor?.name ?? 'Error',
    ...(typeof code === 'string' || typeof code === 'number' ? { code } : {}),
    message: ours ? err.message : scrubMessage(err.message),
    stack: frames.slice(0, 12),
    ...(cause instanceof Error ? { cause: safeError(cause) } : {}),
  };
}

/** Fastify options for the logger: pino at `level`, no built-in request lines (they hold the URL), ids from X-Request-Id when well-formed. */
export function fastifyLogging(options: LoggingOptions | undefined): Pick<FastifyServerOptions, 'logger' | 'logController' | 'genReqId' | 'requestIdHeader'> {
  if (!options) return { logger: false };
  const stream = options.destination ?? process.stderr;
  return {
    logger: {
      level: options.level,
      stream: stream as never,
      base: { service: 'cordon' },
      serializers: { err: safeError as never, error: safeError },
      timestamp: () => `,"time":"${new Date().toISOString()}"`,
    },
    logController: new LogController({ disableRequestLogging: true }),
    requestIdHeader: false,
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && SAFE_REQUEST_ID.test(given) ? given : randomUUID();
    },
  };
}

/** Who asked, set when a request's caller is identified. */
const principals = new WeakMap<FastifyRequest, string>();

export function notePrincipal(req: FastifyRequest, principal: string): void {
  principals.set(req, principal);
}

/** One line per request, and the request id echoed back as X-Request-Id. */
export function requestLogging(app: FastifyInstance): void {
  app.addHook('onRequest', async (req, reply) => {
    void reply.header('x-request-id', req.id);
  });
  app.addHook('onResponse', async (req: FastifyRequest, reply: FastifyReply) => {
    const index = reply.getHeader('x-cordon-log-index');
    req.log.info(
      {
        principal: principals.get(req) ?? null,
        method: req.method,
        route: req.routeOptions.url ?? null,
        status: reply.statusCode,
        ms: Math.round(reply.elapsedTime * 10) / 10,
        ...(index === undefined ? {} : { logIndex: Number(index) }),
      },
      'request',
    );
  });
}
