// The access broker's route schemas: the shape of what callers send (the broker still checks what a
// schema cannot: reason codes, datasets, categories and jurisdictions of the policy, caps, who may
// act) and of every request and grant view it answers, closed so nothing else leaves.

import { AUTH_PROBLEMS, BEARER, problems, PUBLIC } from '../shared/api-schema.js';
import type { ErrorCode } from '../shared/errors.js';

const names = (max: number, description: string) =>
  ({ type: 'array', minItems: 1, maxItems: max, items: { type: 'string', minLength: 1, maxLength: 200 }, description }) as const;
const text = (description: string) => ({ type: 'string', maxLength: 2000, description }) as const;
const nullableTime = { type: ['string', 'null'], format: 'date-time' } as const;
const nullableString = { type: ['string', 'null'] } as const;
const strings = { type: 'array', items: { type: 'string' } } as const;

const scopeInput = {
  datasets: names(100, 'the datasets the grant covers'),
  categories: names(100, 'the data categories the grant covers (a category covers its sub-categories), e.g. user.contact'),
  subjects: names(1000, 'the subject keys the grant covers (or give subject_filter)'),
  subject_filter: {
    type: 'object',
    required: ['jurisdictions'],
    properties: { jurisdictions: names(100, "every subject of these jurisdictions (within the approver group's enclave)") },
    additionalProperties: false,
  },
  reason: { type: 'string', maxLength: 64, description: 'a reason code of the policy (cordon.yaml access.reasons: USER_SUPPORT, INCIDENT_RESPONSE, …)' },
  ticket: { type: 'string', maxLength: 200, description: 'a ticket reference such as SUP-1234 (printable ASCII)' },
  duration: {
    type: ['integer', 'string'],
    maxLength: 32,
    description: 'seconds (a positive integer), or text such as 30m or 8h; capped per reason',
    examples: ['30m', 3600],
  },
} as const;

const accessRequestInput = {
  type: 'object',
  required: ['datasets', 'categories', 'reason', 'ticket', 'duration'],
  properties: {
    ...scopeInput,
    approver_group: { type: 'string', maxLength: 200, description: 'the approver group that decides (default: the first of cordon.yaml access.approvers)' },
    comment: text('why, for the approvers'),
  },
  additionalProperties: false,
  examples: [{ datasets: ['users'], categories: ['user.contact'], subjects: ['demo-us-1'], reason: 'USER_SUPPORT', ticket: 'SUP-1234', duration: '30m' }],
} as const;

const breakGlassInput = {
  type: 'object',
  required: ['datasets', 'categories', 'reason', 'justification'],
  properties: { ...scopeInput, justification: { type: 'string', maxLength: 2000, description: 'why this cannot wait for an approval' } },
  additionalProperties: false,
} as const;

/** An optional body of one optional comment (an approval, a revocation); a denial needs the comment (the broker says so). */
const commentBody = {
  description: 'An optional JSON object with an optional comment',
  properties: { comment: text('why') },
  additionalProperties: false,
} as const;

const scope = {
  type: 'object',
  required: ['datasets', 'categories', 'jurisdictions'],
  properties: { datasets: strings, categories: strings, subjects: strings, jurisdictions: strings },
} as const;
const place = { type: 'object', required: ['country', 'site'], properties: { country: { type: 'string' }, site: { type: 'string' } } } as const;
const statement = {
  type: 'object',
  required: ['by', 'decision', 'at', 'from', 'comment', 'note'],
  properties: {
    by: { type: 'string' },
    decision: { enum: ['approve', 'deny', 'justified', 'unjustified'] },
    at: nullableTime,
    from: place,
    comment: { type: 'string' },
    note: { type: 'string', description: 'the C2SP signed note (Ed25519) over the statement; verify with GET /v1/access/keys' },
  },
} as const;

export const ACCESS_REQUEST_SCHEMA = {
  $id: 'AccessRequest',
  type: 'object',
  required: ['id', 'principal', 'state', 'scope', 'reason', 'ticket', 'durationS', 'approverGroup', 'requestedAt', 'expiresAt', 'approvals'],
  properties: {
    id: { type: 'string' },
    principal: { type: 'string' },
    state: { enum: ['pending', 'approved', 'denied', 'expired', 'withdrawn'] },
    scope,
    reason: { type: 'string' },
    ticket: { type: 'string' },
    comment: { type: 'string' },
    durationS: { type: 'number' },
    approverGroup: { type: 'string' },
    requestedAt: nullableTime,
    expiresAt: nullableTime,
    from: place,
    digest: { type: 'string' },
    approvals: { type: 'array', items: statement },
    denial: { anyOf: [statement, { type: 'null' }] },
    grant: nullableString,
    closedAt: nullableTime,
  },
} as const;

export const GRANT_SCHEMA = {
  $id: 'Grant',
  type: 'object',
  required: ['id', 'principal', 'state', 'scope', 'reason', 'breakGlass', 'notBefore', 'expiresAt', 'secondsLeft'],
  properties: {
    id: { type: 'string' },
    principal: { type: 'string' },
    state: { enum: ['active', 'revoked', 'expired'] },
    request: nullableString,
    scope,
    reason: { type: 'string' },
    ticket: { type: 'string' },
    breakGlass: { type: 'boolean' },
    justification: nullableString,
    notBefore: nullableTime,
    expiresAt: nullableTime,
    secondsLeft: { type: 'integer' },
    reviewBy: nullableTime,
    review: { anyOf: [statement, { type: 'null' }] },
    revokedAt: nullableTime,
    revokedBy: nullableString,
    lastUsedAt: nullableTime,
  },
} as const;

const request = { $ref: 'AccessRequest#' } as const;
const grant = { $ref: 'Grant#' } as const;
const idParams = {
  type: 'object',
  required: ['id'],
  properties: { id: { type: 'string', minLength: 1, maxLength: 200 } },
  additionalProperties: false,
} as const;
const mine = { type: 'boolean', description: "only the caller's own" } as const;
const common: readonly ErrorCode[] = [...AUTH_PROBLEMS, 'access.invalid_request', 'log.unavailable'];
const decisions: readonly ErrorCode[] = [
  ...common,
  'access.not_found',
  'access.self_approval',
  'access.not_approver',
  'access.outside_enclave',
  'access.reporting_line',
  'access.already_decided',
  'access.expired',
];
const op = (operationId: string, summary: string, rest: Record<string, unknown>) => ({ operationId, summary, tags: ['access'], security: BEARER, ...rest });

export const ACCESS_SCHEMAS = {
  request: op(
    'requestAccess',
    'Ask for a time-boxed grant: scope (datasets, categories, subjects or subject_filter), reason code, ticket, duration (capped per reason); logged',
    {
      body: accessRequestInput,
      response: {
        201: { description: 'The pending request', ...request },
        ...problems(...common, 'access.unknown_reason', 'access.duration_over_cap', 'access.invalid_scope'),
      },
    },
  ),
  listRequests: op('listAccessRequests', "Requests the caller may see: their own, their approver group's, or all (auditors)", {
    querystring: {
      type: 'object',
      properties: { state: { enum: ['pending', 'approved', 'denied', 'expired', 'withdrawn'] }, mine },
      additionalProperties: false,
    },
    response: {
      200: { description: 'Requests, newest first', type: 'object', required: ['requests'], properties: { requests: { type: 'array', items: request } } },
      ...problems(...common),
    },
  }),
  getRequest: op('getAccessRequest', 'One access request with its signed approvals', {
    params: idParams,
    response: { 200: { description: 'The request', ...request }, ...problems(...common, 'access.not_found', 'access.forbidden') },
  }),
  approve: op('approveAccessRequest', 'Approve (a signed statement, logged); the grant starts when the group has N approvals', {
    params: idParams,
    body: commentBody,
    response: { 200: { description: 'The request', ...request }, ...problems(...decisions, 'access.duplicate_approval') },
  }),
  deny: op('denyAccessRequest', 'Deny with a comment (a signed statement, logged)', {
    params: idParams,
    body: commentBody,
    response: { 200: { description: 'The request', ...request }, ...problems(...decisions) },
  }),
  revokeRequest: op('revokeAccessRequest', 'Withdraw a pending request, or revoke the grant it produced; logged', {
    params: idParams,
    body: commentBody,
    response: { 200: revoked('The request and its grant'), ...problems(...common, 'access.not_found', 'access.forbidden', 'access.already_decided') },
  }),
  revokeGrant: op('revokeGrant', 'Revoke a grant now; logged', {
    params: idParams,
    body: commentBody,
    response: {
      200: revoked('The grant (and the request it came from)'),
      ...problems(...common, 'access.not_found', 'access.forbidden', 'access.already_decided'),
    },
  }),
  listGrants: op('listGrants', 'Grants the caller may see, with seconds left', {
    querystring: { type: 'object', properties: { state: { enum: ['active', 'revoked', 'expired'] }, mine }, additionalProperties: false },
    response: {
      200: { description: 'Grants, newest first', type: 'object', required: ['grants'], properties: { grants: { type: 'array', items: grant } } },
      ...problems(...common),
    },
  }),
  getGrant: op('getGrant', 'One grant', {
    params: idParams,
    response: { 200: { description: 'The grant', ...grant }, ...problems(...common, 'access.not_found', 'access.forbidden') },
  }),
  breakGlass: op('breakGlass', 'Self-grant for at most an hour with a reason and a justification; alerts the webhook and the log; must be reviewed', {
    body: breakGlassInput,
    response: {
      201: { description: 'The break-glass grant', ...grant },
      ...problems(
        ...common,
        'access.unknown_reason',
        'access.duration_over_cap',
        'access.invalid_scope',
        'access.break_glass_not_allowed',
        'access.outside_enclave',
      ),
    },
  }),
  review: op('reviewBreakGlass', 'Review a break-glass grant: verdict justified or unjustified, with a comment (a signed statement, logged)', {
    params: idParams,
    body: {
      type: 'object',
      required: ['verdict', 'comment'],
      properties: { verdict: { enum: ['justified', 'unjustified'] }, comment: text('why') },
      additionalProperties: false,
    },
    response: { 200: { description: 'The grant', ...grant }, ...problems(...decisions, 'access.not_break_glass') },
  }),
  standingReview: op(
    'getStandingAccessReview',
    'The standing-access review (who reaches protected data without a grant; master admins; reporting lines) with dormant grants, rubber-stamp approvers and unreviewed break-glass (approvers and auditors; logged)',
    {
      response: {
        200: {
          description: 'The review; ok is false when anything is flagged. Its sections are those of `cordon access review --json`.',
          type: 'object',
          required: ['ok', 'flags'],
          properties: { ok: { type: 'boolean' }, flags: { type: 'array', items: { type: 'object', additionalProperties: true } } },
          additionalProperties: true,
        },
        ...problems(...AUTH_PROBLEMS, 'access.forbidden', 'log.unavailable'),
      },
    },
  ),
  keys: {
    operationId: 'getStatementKey',
    tags: ['access'],
    summary: 'The signed-note verifier key of approval and review statements',
    security: PUBLIC,
    response: {
      200: { description: 'The verifier key', type: 'object', required: ['statements'], properties: { statements: { type: 'string' } } },
      ...problems(),
    },
  },
} as const;

function revoked(description: string) {
  return {
    description,
    type: 'object',
    required: ['request', 'grant'],
    properties: { request: { anyOf: [request, { type: 'null' }] }, grant: { anyOf: [grant, { type: 'null' }] } },
  } as const;
}
