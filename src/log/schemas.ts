// The access log's route schemas: what each route takes and answers, for validation, serialization
// and the OpenAPI document. Indexes in the query and path are decimal text as the handlers read it
// (1e3 or -0 are refused, not read as numbers).

import { AUTH_PROBLEMS, BEARER, problems, PUBLIC } from '../shared/api-schema.js';

const INDEX = '^(0|[1-9][0-9]{0,15})$';
const index = (description: string) => ({ type: 'string', pattern: INDEX, description: `${description} (a whole number in decimal)` });
const hashes = { type: 'array', items: { type: 'string', contentEncoding: 'base64' }, description: 'SHA-256 hashes in base64' } as const;
const auditor = [...AUTH_PROBLEMS, 'log.not_auditor', 'log.unavailable', 'usage.invalid_argument'] as const;
const record = {
  type: 'object',
  required: ['index', 'record', 'salt', 'entry'],
  properties: {
    index: { type: 'integer' },
    record: { type: 'object', additionalProperties: true, description: 'the full access record (docs/log-records.md); its shape is per record type' },
    salt: { type: 'string', contentEncoding: 'base64' },
    entry: { type: 'string', contentEncoding: 'base64', description: "the log entry: the record's commitment" },
  },
} as const;

export const LOG_SCHEMAS = {
  checkpoint: {
    operationId: 'getCheckpoint',
    tags: ['log'],
    summary: 'The latest signed checkpoint of the access log (C2SP tlog-checkpoint in a signed note, with witness cosignatures)',
    security: PUBLIC,
    response: { 200: { description: 'The checkpoint note', content: { 'text/plain': { schema: { type: 'string' } } } }, ...problems() },
  },
  tile: {
    operationId: 'getTile',
    tags: ['log'],
    summary: 'A hash tile (tile/<L>/<N>[.p/<W>]) or entry bundle (tile/entries/<N>[.p/<W>]) of the access log, per C2SP tlog-tiles',
    description: 'Full tiles are immutable and cached for a year; partial ones are not cached.',
    security: PUBLIC,
    params: {
      type: 'object',
      properties: { '*': { type: 'string', description: 'the rest of the tile path after tile/, slashes included', examples: ['0/000', 'entries/000.p/5'] } },
    },
    response: {
      200: { description: 'Tile bytes', content: { 'application/octet-stream': { schema: { type: 'string', format: 'binary' } } } },
      ...problems('log.bad_tile_path', 'log.not_found'),
    },
  },
  proof: {
    operationId: 'getProof',
    tags: ['log'],
    summary: 'Inclusion proof of entry `index` to the latest checkpoint, or consistency proof from `from` to `to`',
    description: 'Give index=N for an inclusion proof (as JSON and as a C2SP tlog-proof), or from=M[&to=N] for a consistency proof.',
    security: PUBLIC,
    querystring: {
      type: 'object',
      properties: { index: index('the entry to prove'), from: index('the older tree size'), to: index('the newer tree size (default: the latest)') },
      additionalProperties: false,
    },
    response: {
      200: {
        description: 'The proof',
        type: 'object',
        properties: {
          index: { type: 'integer' },
          size: { type: 'integer', description: 'the tree size of the checkpoint the inclusion proof is to' },
          from: { type: 'integer' },
          to: { type: 'integer' },
          proof: hashes,
          checkpoint: { type: 'string', description: 'the signed checkpoint note the inclusion proof is to' },
          tlog_proof: { type: 'string', description: 'the same inclusion proof as a C2SP tlog-proof' },
        },
      },
      ...problems('usage.invalid_argument', 'log.not_found'),
    },
  },
  records: {
    operationId: 'listLogRecords',
    tags: ['log'],
    summary: 'Full access records with their salts, oldest first (auditors only; the read is itself logged)',
    security: BEARER,
    querystring: {
      type: 'object',
      properties: {
        after: { type: 'string', pattern: '^(-1|0|[1-9][0-9]{0,15})$', description: 'the index after which to start, oldest first (-1: from the first)' },
        before: index('newest first: start with the record before this index (not with after)'),
        limit: { ...index('at most this many records, 1 to 1000'), default: '100' },
        since: { type: 'string', maxLength: 40, description: 'only records made at or after this time (ISO 8601)' },
        until: { type: 'string', maxLength: 40, description: 'only records made before this time (ISO 8601)' },
        principal: { type: 'string', maxLength: 200, description: 'only records of this principal' },
        dataset: { type: 'string', maxLength: 200, description: 'only records about this dataset' },
        country: { type: 'string', maxLength: 200, description: 'only records made from this country' },
        outcome: { enum: ['released', 'refused', 'permitted', 'failed'], description: 'only gateway decisions with this outcome' },
        disclosure: { enum: ['clear', 'tokenized', 'masked', 'withheld'], description: 'only gateway decisions that disclosed some field so' },
        kind: {
          type: 'string',
          maxLength: 64,
          description:
            'only records of this kind (docs/log-records.md), or transfer, declassify (writes with that effect) or break_glass (break-glass grants and reads under them)',
        },
      },
      additionalProperties: false,
    },
    response: {
      200: {
        description:
          'A page of records, and the index to go on from (after= oldest first, before= newest first; null at the end). With filters, one request reads at most 20000 records: a page may hold fewer than limit and still have a next.',
        type: 'object',
        required: ['records', 'next'],
        properties: { records: { type: 'array', items: record }, next: { type: ['integer', 'null'] } },
      },
      ...problems(...auditor),
    },
  },
  record: {
    operationId: 'getLogRecord',
    tags: ['log'],
    summary: 'One full access record, checked against its entry, with its inclusion proof (auditors only; logged)',
    security: BEARER,
    params: { type: 'object', required: ['index'], properties: { index: index('the entry') }, additionalProperties: false },
    response: {
      200: {
        description: 'The record, its salt and entry, whether they match, and its inclusion proof (null until a checkpoint covers it)',
        type: 'object',
        required: ['index', 'record', 'salt', 'entry', 'leaf_hash', 'matches_entry', 'proof', 'checkpoint', 'read_by'],
        properties: {
          ...record.properties,
          leaf_hash: { type: 'string', contentEncoding: 'base64' },
          matches_entry: { type: 'boolean' },
          proof: { ...hashes, type: ['array', 'null'] },
          checkpoint: { type: 'string' },
          read_by: { type: 'string' },
        },
      },
      ...problems(...auditor, 'log.not_found'),
    },
  },
} as const;
