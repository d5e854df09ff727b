// The data API's route schemas: they validate what comes in (Fastify's ajv), serialize what goes
// out (fast-json-stringify: a property not named here does not leave), and make the OpenAPI document.

import { AUTH_PROBLEMS, BEARER, problems } from '../shared/api-schema.js';
import type { ErrorCode } from '../shared/errors.js';

const MAX_PAGE = 500;
const scalar = { type: ['string', 'number', 'boolean', 'null'] } as const;
const nullableString = { type: ['string', 'null'] } as const;
const strings = { type: 'array', items: { type: 'string' } } as const;

const datasetParam = { type: 'string', minLength: 1, maxLength: 200, description: 'a dataset of the catalog (users, videos, comments in the demo)' };
const keyParam = {
  type: 'string',
  minLength: 1,
  // A key is at most 1000 characters; the token a caller may be given for one is longer.
  maxLength: 2048,
  description:
    "the record's key as the caller was given it: in clear where the caller may see the key field in clear, otherwise the caller's own token (tok_…); a clear key from a caller who may not see it in clear is answered as a key no record has",
};
const datasetOnly = { type: 'object', required: ['dataset'], properties: { dataset: datasetParam }, additionalProperties: false } as const;
const datasetAndKey = {
  type: 'object',
  required: ['dataset', 'key'],
  properties: { dataset: datasetParam, key: keyParam },
  additionalProperties: false,
} as const;
const onBehalf = {
  type: 'object',
  properties: {
    'x-cordon-on-behalf-of': {
      type: 'string',
      maxLength: 1000,
      description: 'The data subject the caller acts for (context.for_subject is true when it names the subject the record belongs to as stored)',
    },
  },
} as const;

/**
 * A record's field values as sent in a write. Which fields a dataset has is in the policy's catalog,
 * not here: a field the dataset does not define is refused by the handler (gateway.unknown_field),
 * as are key, subject and jurisdiction fields that are not strings.
 */
const recordBody = {
  type: 'object',
  description: "Field name → value (string, number, boolean or null); the names are the dataset's fields in the policy catalog",
  additionalProperties: scalar,
  maxProperties: 1000,
  examples: [{ uid: 'demo-us-9', username: 'new_user', country: 'US', phone_number: '+15125550199' }],
} as const;

const withheldItem = {
  type: 'object',
  required: ['field', 'reason', 'rules'],
  properties: { field: { type: 'string' }, reason: { type: 'string' }, rules: strings, category: { type: 'string' }, class: { type: 'string' } },
} as const;
const transformedItem = {
  type: 'object',
  required: ['disclosure', 'rules'],
  properties: {
    disclosure: { enum: ['tokenized', 'masked'] },
    mask: { type: 'string' },
    rules: strings,
    category: { type: 'string' },
    class: { type: 'string' },
  },
} as const;

const releasedItem = {
  type: 'object',
  required: ['rules', 'grant'],
  additionalProperties: false,
  properties: {
    rules: strings,
    category: { type: 'string' },
    class: { type: 'string' },
    grant: {
      type: ['object', 'null'],
      required: ['id', 'reason', 'ticket', 'expiresAt', 'breakGlass'],
      additionalProperties: false,
      properties: {
        id: { type: 'string' },
        reason: { type: 'string' },
        ticket: { type: 'string' },
        expiresAt: { type: 'string', description: 'ISO 8601' },
        breakGlass: { type: 'boolean' },
      },
    },
  },
} as const;

/**
 * The record as the caller may see it. Its top level and the transformed and withheld entries are
 * closed: anything else a handler put there would be dropped on the way out. `fields` is open on
 * purpose: which fields a caller gets is the decision's output (disclose() puts there only what the
 * decision releases, clear, tokenized or masked), which depends on caller, place, grants and record,
 * so no static schema can say it; a per-dataset schema would strip fields the decision released (or,
 * typed, coerce them: a null sent as "" for a string), not guard anything disclose() does not.
 */
const disclosedProperties = {
  key: { type: 'string', description: 'the key as the caller may see it: in clear, or its own token' },
  jurisdiction: { type: 'string', description: "the subject's jurisdiction (absent when it cannot be told)" },
  dataset: { type: 'string' },
  fields: {
    type: 'object',
    description: 'Field → value as the caller may see it (clear, tokenized or masked); withheld fields are absent',
    additionalProperties: true,
  },
  transformed: { type: 'object', description: 'Fields whose value is a token or a mask, and why', additionalProperties: transformedItem },
  withheld: { type: 'array', description: 'Fields not released, each with its reason and rules', items: withheldItem },
  released: {
    type: 'object',
    description:
      "Single reads only: each field sent in clear, and why (the permitting rules, and the caller's own grant that released it, or null). Only the caller's grants are ever named.",
    additionalProperties: releasedItem,
  },
} as const;
export const DISCLOSED_RECORD_SCHEMA = {
  $id: 'DisclosedRecord',
  type: 'object',
  required: ['key', 'dataset', 'fields', 'transformed', 'withheld'],
  properties: disclosedProperties,
} as const;

const written = {
  type: 'object',
  required: ['key', 'written'],
  properties: { key: { type: 'string', description: 'the key as the caller may see it' }, written: { ...strings, description: 'the fields written' } },
} as const;

/** A regional gateway's page: records of the page held by other regions (not listed here), counted by region. */
const ELSEWHERE = {
  type: 'object',
  description: "On a regional gateway (cordon up --region): how many records of this page belong to each other region; list them at that region's gateway",
  additionalProperties: { type: 'integer', minimum: 1 },
} as const;

const reads: readonly ErrorCode[] = [
  ...AUTH_PROBLEMS,
  'usage.invalid_argument',
  'decide.unknown_dataset',
  'decide.evaluation_failed',
  'log.unavailable',
  'store.unavailable',
  'gateway.unknown_location',
  'gateway.other_region',
  'gateway.region_unknown',
];
const writes: readonly ErrorCode[] = [
  ...reads,
  'gateway.not_found',
  'gateway.invalid_body',
  'gateway.payload_too_large',
  'gateway.unknown_field',
  'gateway.unknown_subject',
  'gateway.cross_region_move',
  'gateway.unknown_jurisdiction',
  'gateway.write_refused',
  'gateway.write_failed',
];
const logIndex = { 'X-Cordon-Log-Index': { type: 'string', description: 'The index of the access-log entry that records this decision' } };

export const GATEWAY_SCHEMAS = {
  read: {
    operationId: 'readRecord',
    tags: ['data'],
    summary: 'Read one record as the caller may see it',
    security: BEARER,
    params: datasetAndKey,
    response: {
      200: { description: 'The record as the caller may see it', headers: logIndex, $ref: 'DisclosedRecord#' },
      ...problems(...reads, 'gateway.not_found'),
    },
  },
  list: {
    operationId: 'listRecords',
    tags: ['data'],
    summary: 'List records (cursor pagination; filter.<field>=<value> on fields the caller sees in clear)',
    description:
      "Filters are query parameters filter.<field>=<value>, on fields the caller sees in clear in every jurisdiction and that are protected nowhere (others: 403 gateway.filter_refused); the value is read as the field's declared type (a number or true/false where the catalog says type: number or boolean; anything else there: 400 gateway.invalid_query).",
    security: BEARER,
    params: datasetOnly,
    querystring: {
      type: 'object',
      properties: {
        after: {
          type: 'string',
          maxLength: 1000,
          description: "the next cursor of the previous page (the caller's token of a key, unless the caller sees keys in clear in every jurisdiction)",
        },
        limit: { type: 'integer', minimum: 1, maximum: MAX_PAGE, default: 50 },
      },
      patternProperties: { '^filter\\.': { type: 'string', maxLength: 1000 } },
      additionalProperties: false,
    },
    response: {
      200: {
        description: 'A page of records as the caller may see them',
        headers: logIndex,
        type: 'object',
        required: ['items', 'next'],
        properties: { items: { type: 'array', items: { $ref: 'DisclosedRecord#' } }, next: nullableString, elsewhere: ELSEWHERE },
      },
      ...problems(...reads, 'gateway.invalid_query', 'gateway.filter_refused'),
    },
  },
  create: {
    operationId: 'createRecord',
    tags: ['data'],
    summary: 'Create a record; every field is checked against the rules (write)',
    security: BEARER,
    params: datasetOnly,
    headers: onBehalf,
    body: recordBody,
    response: { 201: { description: 'Created', headers: logIndex, ...written }, ...problems(...writes, 'gateway.duplicate_key') },
  },
  update: {
    operationId: 'updateRecord',
    tags: ['data'],
    summary: 'Update fields of a record',
    description:
      'The body is judged (write) under the classification before and after; stored protected fields it moves (transfer) or declassifies (declassify) are judged too.',
    security: BEARER,
    params: datasetAndKey,
    headers: onBehalf,
    body: recordBody,
    response: { 200: { description: 'Updated', headers: logIndex, ...written }, ...problems(...writes) },
  },
  remove: {
    operationId: 'deleteRecord',
    tags: ['data'],
    summary: 'Delete a record (writing every field)',
    security: BEARER,
    params: datasetAndKey,
    headers: onBehalf,
    response: { 204: { description: 'Deleted', headers: logIndex, type: 'null' }, ...problems(...writes) },
  },
  egress: {
    operationId: 'getChanges',
    tags: ['data'],
    summary: 'The change feed: each changed record as the caller may see it, or deleted; resume with after=<next>',
    security: BEARER,
    params: datasetOnly,
    querystring: {
      type: 'object',
      properties: {
        after: { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER, default: 0, description: 'a change index: next of the previous page' },
        limit: { type: 'integer', minimum: 1, maximum: MAX_PAGE, default: 50 },
      },
      additionalProperties: false,
    },
    response: {
      200: {
        description: 'A page of changes and the next cursor',
        type: 'object',
        required: ['items', 'next'],
        properties: {
          items: {
            type: 'array',
            items: {
              type: 'object',
              required: ['seq', 'key'],
              properties: { seq: { type: 'integer' }, deleted: { type: 'boolean' }, ...disclosedProperties },
            },
          },
          next: { type: 'integer' },
          elsewhere: ELSEWHERE,
        },
      },
      ...problems(...reads, 'gateway.invalid_query'),
    },
  },
  decide: {
    operationId: 'decide',
    tags: ['data'],
    summary: 'Per-field decisions for a described record, for applications that hold their own data',
    security: BEARER,
    body: {
      type: 'object',
      required: ['dataset', 'record'],
      properties: {
        dataset: { type: 'string', minLength: 1, maxLength: 200 },
        record: recordBody,
        action: { enum: ['read', 'write'], default: 'read' },
        subjectJurisdiction: { type: 'string', maxLength: 64 },
      },
      additionalProperties: false,
    },
    response: {
      200: {
        description: 'The decision for each field of the record',
        type: 'object',
        required: ['dataset', 'jurisdiction', 'policyVersion', 'fields'],
        properties: {
          dataset: { type: 'string' },
          jurisdiction: nullableString,
          policyVersion: { type: 'string' },
          fields: {
            type: 'array',
            items: {
              type: 'object',
              required: ['field', 'disclosure', 'category', 'class', 'reason', 'rules', 'mask'],
              properties: {
                field: { type: 'string' },
                disclosure: { enum: ['clear', 'tokenized', 'masked', 'withheld'] },
                category: nullableString,
                class: nullableString,
                reason: { type: 'string' },
                rules: strings,
                mask: nullableString,
              },
            },
          },
        },
      },
      ...problems(...reads, 'gateway.invalid_body', 'gateway.payload_too_large'),
    },
  },
} as const;
