// What every route's JSON Schema shares: the problem document, the security requirements, the
// problems a route can answer listed from the error registry, and the validation of route input
// (Fastify's own, with ajv) answered as a problem that names the path of what was wrong.

import { Ajv, type ErrorObject } from 'ajv';
import type { FastifyError, FastifySchemaCompiler } from 'fastify';
import { ERROR_CODES, type ErrorCode } from './errors.js';
import { HttpProblem, PROBLEM_CONTENT_TYPE } from './problem.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The problem code a request that fails the route's schema gets (default: by the part that failed). */
    invalidCode?: ErrorCode;
    /** For a wildcard route: the name the OpenAPI document gives the rest of the path. */
    openapiWildcard?: string;
  }
}

/**
 * RFC 9457 problem details with cordon's stable code. Only the extras named here can leave in a
 * problem: the response serializer drops any other property an error might carry.
 */
export const PROBLEM_SCHEMA = {
  $id: 'Problem',
  type: 'object',
  description: 'An RFC 9457 problem document (application/problem+json) with a stable code from the error registry (docs/errors.md)',
  required: ['type', 'title', 'status', 'code', 'detail'],
  properties: {
    type: { type: 'string', examples: ['https://cordon.dev/errors/gateway.not_found'] },
    title: { type: 'string', description: "the code's one-line meaning" },
    status: { type: 'integer' },
    code: { type: 'string', enum: Object.keys(ERROR_CODES) },
    detail: { type: 'string', description: 'what was wrong in this request; never a protected value' },
    errors: {
      type: 'array',
      description: 'input that failed the route schema: where (body, querystring, params, headers) and the JSON pointer to it',
      items: {
        type: 'object',
        required: ['in', 'path', 'message'],
        properties: { in: { type: 'string' }, path: { type: 'string' }, message: { type: 'string' } },
      },
    },
    region: {
      type: 'string',
      description: 'gateway.other_region, gateway.region_unknown: the region (an enclave of cordon.yaml) whose gateway serves the record',
    },
    location: { type: 'string', description: "gateway.other_region: that region's URL for the request (also the Location header)" },
    withheld: {
      type: 'array',
      description: 'gateway.unknown_location: the fields that were withheld',
      items: { type: 'object', required: ['field', 'reason'], properties: { field: { type: 'string' }, reason: { type: 'string' } } },
    },
    fields: {
      type: 'array',
      description: 'gateway.write_refused: each refused field, with the action judged, the reason and the rules',
      items: {
        type: 'object',
        required: ['field', 'action', 'reason', 'rules'],
        properties: {
          field: { type: 'string' },
          action: { type: 'string' },
          reason: { type: 'string' },
          rules: { type: 'array', items: { type: 'string' } },
        },
      },
    },
    received: {
      type: 'object',
      description: 'gateway.unsupported_media_type: what the body was sent as',
      properties: { contentType: { type: 'string' }, charset: { type: 'string' }, contentEncoding: { type: 'array', items: { type: 'string' } } },
    },
    expected: {
      type: 'object',
      description: 'gateway.unsupported_media_type: what a body is taken as',
      properties: { contentType: { type: 'string' }, charset: { type: 'string' }, contentEncoding: { type: 'array', items: { type: 'string' } } },
    },
    invalid: {
      type: 'array',
      description: 'flows.invalid_event: each invalid event by its place in the batch, with its first schema errors',
      items: {
        type: 'object',
        required: ['index', 'errors'],
        properties: {
          index: { type: 'integer' },
          errors: {
            type: 'array',
            items: { type: 'object', properties: { path: { type: 'string' }, schemaPath: { type: 'string' }, message: { type: 'string' } } },
          },
        },
      },
    },
  },
} as const;

/** Routes anyone may call. */
export const PUBLIC: readonly Record<string, string[]>[] = [];
/** Routes that need `Authorization: Bearer <JWT>`. */
export const BEARER: readonly Record<string, string[]>[] = [{ bearer: [] }];

/** What any route that identifies its caller can answer besides its own problems. */
export const AUTH_PROBLEMS: readonly ErrorCode[] = [
  'auth.missing_token',
  'auth.invalid_token',
  'auth.unsupported_alg',
  'auth.unknown_key',
  'auth.bad_signature',
  'auth.expired',
  'auth.not_yet_valid',
  'auth.wrong_issuer',
  'auth.wrong_audience',
  'auth.missing_claim',
  'auth.unknown_principal',
  'auth.unverified_email',
  'auth.keys_unavailable',
];

/** What any route can answer: input with a NUL byte (or failing the schema), an unexpected failure. */
const ANY_ROUTE: readonly ErrorCode[] = ['gateway.invalid_input', 'internal.error'];

/**
 * The `response` entries for problems: one per HTTP status the codes have, as
 * application/problem+json with the shared Problem schema, the description naming the codes.
 */
export function problems(...codes: readonly ErrorCode[]): Record<string, unknown> {
  const byStatus = new Map<number, Set<ErrorCode>>();
  for (const code of [...codes, ...ANY_ROUTE]) {
    const status = ERROR_CODES[code].status;
    (byStatus.get(status) ?? byStatus.set(status, new Set()).get(status)!).add(code);
  }
  const out: Record<string, unknown> = {};
  for (const [status, set] of [...byStatus].sort((a, b) => a[0] - b[0])) {
    out[status] = {
      description: `A problem: ${[...set].join(', ')}`,
      content: { [PROBLEM_CONTENT_TYPE]: { schema: { $ref: 'Problem#' } } },
    };
  }
  return out;
}

/** The default code for input that fails a route's schema, by the part of the request that failed. */
const INVALID_CODE: Readonly<Record<string, ErrorCode>> = {
  body: 'gateway.invalid_body',
  querystring: 'gateway.invalid_query',
  params: 'usage.invalid_argument',
  headers: 'usage.invalid_argument',
};

const MAX_PATH_ECHO = 200;

/** Where and what, for one ajv error: `body/datasets/0 must be string`, naming an unknown or missing property. */
function describe(part: string, e: ErrorObject): { in: string; path: string; message: string } {
  const params = e.params as { additionalProperty?: string; missingProperty?: string };
  const named = params.additionalProperty ?? params.missingProperty;
  // Property names are the caller's own text: cut, so a huge one does not come back whole.
  const path = (e.instancePath + (named === undefined ? '' : `/${named}`)).slice(0, MAX_PATH_ECHO);
  const message = params.additionalProperty !== undefined ? 'is not a property of this input (unknown properties are refused)' : (e.message ?? 'is invalid');
  return { in: part, path, message };
}

/**
 * The problem for a request that fails its route's schema (a Fastify validation error), or
 * undefined for any other error. The detail names the part and path; no value is echoed.
 */
export function validationProblem(error: FastifyError | Error, config: { invalidCode?: ErrorCode } | undefined): HttpProblem | undefined {
  const { validation, validationContext } = error as FastifyError & { validation?: ErrorObject[] };
  if (!Array.isArray(validation)) return undefined;
  const part = validationContext ?? 'body';
  const errors = validation.slice(0, 10).map((e) => describe(part, e));
  const first = errors[0];
  const detail = first ? `${part}${first.path} ${first.message}` : `the ${part} does not match the route's schema`;
  return new HttpProblem(config?.invalidCode ?? INVALID_CODE[part] ?? 'usage.invalid_argument', detail, { errors });
}

/**
 * Compiles route schemas: path, query and headers are text, so their numbers and booleans are
 * coerced; a body is JSON and is taken as sent (no coercion: `["a"]` is not "a", 5 is not "5").
 * Nothing is removed: an unknown property fails where the schema closes the object, never dropped.
 */
export function createValidatorCompiler(): FastifySchemaCompiler<unknown> {
  // One pair of compilers per process: a new Ajv compiles its meta-schemas, and Fastify asks for a
  // compiler per plugin of every server; Ajv keeps what it compiled by schema object, and the route
  // schemas are module constants, so each is compiled once (a server started 0.4 s faster).
  compilers ??= {
    body: new Ajv({ ...AJV_BASE, coerceTypes: false }),
    text: new Ajv({ ...AJV_BASE, coerceTypes: 'array' }),
  };
  const { body, text } = compilers;
  return ({ schema, httpPart }) => (httpPart === 'body' ? body : text).compile(schema as object);
}

// strictTypes is off so that an optional body (a comment) can be declared without `type: object`: a request may send none.
const AJV_BASE = { allErrors: false, removeAdditional: false, useDefaults: true, allowUnionTypes: true, strict: true, strictTypes: false } as const;
let compilers: { readonly body: Ajv; readonly text: Ajv } | undefined;

/** Adds shared schemas ($id) to `app` unless it (or a parent) has them: plugins also run on a bare Fastify (benchmarks). */
export function ensureSchemas(app: { getSchema(id: string): unknown; addSchema(schema: unknown): unknown }, ...schemas: readonly { $id: string }[]): void {
  for (const s of [PROBLEM_SCHEMA, ...schemas]) if (app.getSchema(s.$id) === undefined) app.addSchema(s);
}
