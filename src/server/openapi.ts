// The OpenAPI 3.1 document of the HTTP API. A test checks that every route the server registers is
// described here, and nothing else.

const problem = {
  description: 'A problem (application/problem+json) with a stable code',
  content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } },
};
const bearer = [{ bearer: [] }];
const datasetParam = { name: 'dataset', in: 'path', required: true, schema: { type: 'string' } };
const keyParam = {
  name: 'key',
  in: 'path',
  required: true,
  description:
    "the record's key as the caller was given it: in clear where the caller may see the key field in clear, otherwise the caller's own token (tok_…); a clear key from a caller who may not see it in clear is answered as a key no record has",
  schema: { type: 'string' },
};
const onBehalfParam = {
  name: 'X-Cordon-On-Behalf-Of',
  in: 'header',
  required: false,
  description: 'The data subject the caller acts for (context.for_subject is true when it names the subject the record belongs to as stored)',
  schema: { type: 'string' },
};
const idParam = { name: 'id', in: 'path', required: true, schema: { type: 'string' } };
const commentBody = { content: { 'application/json': { schema: { type: 'object', properties: { comment: { type: 'string' } } } } } };
const disclosed = {
  description: 'The record as the caller may see it',
  headers: { 'X-Cordon-Log-Index': { schema: { type: 'string' } } },
  content: { 'application/json': { schema: { $ref: '#/components/schemas/DisclosedRecord' } } },
};

export function openApiDocument(): Record<string, unknown> {
  return {
    openapi: '3.1.0',
    info: {
      title: 'cordon',
      version: '0.1.0',
      description:
        'The data API: every field disclosed as the policy allows, every decision recorded. Every route: a wrong method is 405 with Allow, an unknown path 404 gateway.no_route; bodies are application/json in UTF-8, optionally Content-Encoding: gzip (inflated under the body limit), anything else 415; a 401 carries WWW-Authenticate: Bearer (RFC 6750); /v1/ and /api/ answers and problems are Cache-Control: no-store.',
    },
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } },
      schemas: {
        Problem: {
          type: 'object',
          required: ['type', 'title', 'status', 'code', 'detail'],
          properties: {
            type: { type: 'string' },
            title: { type: 'string' },
            status: { type: 'integer' },
            code: { type: 'string' },
            detail: { type: 'string' },
          },
        },
        DisclosedRecord: {
          type: 'object',
          properties: {
            key: { type: 'string' },
            jurisdiction: { type: ['string', 'null'] },
            dataset: { type: 'string' },
            fields: { type: 'object', additionalProperties: true },
            transformed: {
              type: 'object',
              additionalProperties: {
                type: 'object',
                properties: {
                  disclosure: { enum: ['tokenized', 'masked'] },
                  mask: { type: 'string' },
                  rules: { type: 'array', items: { type: 'string' } },
                  category: { type: 'string' },
                  class: { type: 'string' },
                },
              },
            },
            withheld: {
              type: 'array',
              items: {
                type: 'object',
                properties: { field: { type: 'string' }, reason: { type: 'string' }, rules: { type: 'array', items: { type: 'string' } } },
              },
            },
          },
        },
        AccessRequestInput: {
          type: 'object',
          required: ['datasets', 'categories', 'reason'],
          properties: {
            datasets: { type: 'array', items: { type: 'string' } },
            categories: { type: 'array', items: { type: 'string' } },
            subjects: { type: 'array', items: { type: 'string' }, maxItems: 1000 },
            subject_filter: { type: 'object', properties: { jurisdictions: { type: 'array', items: { type: 'string' } } } },
            reason: { type: 'string', description: 'a reason code of the policy (USER_SUPPORT, INCIDENT_RESPONSE, …)' },
            ticket: { type: 'string' },
            duration: {
              oneOf: [
                { type: 'integer', description: 'seconds' },
                { type: 'string', description: 'such as 30m or 8h' },
              ],
            },
            approver_group: { type: 'string' },
            comment: { type: 'string' },
            justification: { type: 'string', description: 'break-glass only: why' },
          },
        },
        Record: { type: 'object', additionalProperties: { type: ['string', 'number', 'boolean', 'null'] } },
      },
    },
    paths: {
      '/v1/data/{dataset}': {
        get: {
          summary: 'List records (cursor pagination; filter.<field>=<value> on fields the caller sees in clear)',
          security: bearer,
          parameters: [
            datasetParam,
            {
              name: 'after',
              in: 'query',
              description: "the next cursor of the previous page (the caller's token of a key, unless the caller sees keys in clear in every jurisdiction)",
              schema: { type: 'string' },
            },
            { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 500 } },
          ],
          responses: { 200: { description: 'A page of disclosed records' }, default: problem },
        },
        post: {
          summary: 'Create a record; every field is checked against the rules (write)',
          security: bearer,
          parameters: [datasetParam, onBehalfParam],
          requestBody: { content: { 'application/json': { schema: { $ref: '#/components/schemas/Record' } } } },
          responses: { 201: { description: 'Created' }, default: problem },
        },
      },
      '/v1/data/{dataset}/{key}': {
        get: {
          summary: 'Read one record as the caller may see it',
          security: bearer,
          parameters: [datasetParam, keyParam],
          responses: { 200: disclosed, default: problem },
        },
        patch: {
          summary:
            'Update fields of a record: the body is judged (write) under the classification before and after; stored protected fields it moves (transfer) or declassifies (declassify) are judged too',
          security: bearer,
          parameters: [datasetParam, keyParam, onBehalfParam],
          requestBody: { content: { 'application/json': { schema: { $ref: '#/components/schemas/Record' } } } },
          responses: { 200: { description: 'Updated' }, default: problem },
        },
        delete: {
          summary: 'Delete a record (writing every field)',
          security: bearer,
          parameters: [datasetParam, keyParam, onBehalfParam],
          responses: { 204: { description: 'Deleted' }, default: problem },
        },
      },
      '/v1/access/requests': {
        post: {
          summary:
            'Ask for a time-boxed grant: scope (datasets, categories, subjects or subject_filter), reason code, ticket, duration (capped per reason); logged',
          security: bearer,
          requestBody: { content: { 'application/json': { schema: { $ref: '#/components/schemas/AccessRequestInput' } } } },
          responses: { 201: { description: 'The pending request' }, default: problem },
        },
        get: {
          summary: "Requests the caller may see: their own, their approver group's, or all (auditors)",
          security: bearer,
          parameters: [
            { name: 'state', in: 'query', schema: { enum: ['pending', 'approved', 'denied', 'expired', 'withdrawn'] } },
            { name: 'mine', in: 'query', schema: { type: 'boolean' } },
          ],
          responses: { 200: { description: 'Requests, newest first' }, default: problem },
        },
      },
      '/v1/access/requests/{id}': {
        get: {
          summary: 'One access request with its signed approvals',
          security: bearer,
          parameters: [idParam],
          responses: { 200: { description: 'The request' }, default: problem },
        },
      },
      '/v1/access/requests/{id}/approve': {
        post: {
          summary: 'Approve (a signed statement, logged); the grant starts when the group has N approvals',
          security: bearer,
          parameters: [idParam],
          requestBody: commentBody,
          responses: { 200: { description: 'The request' }, default: problem },
        },
      },
      '/v1/access/requests/{id}/deny': {
        post: {
          summary: 'Deny with a comment (a signed statement, logged)',
          security: bearer,
          parameters: [idParam],
          requestBody: commentBody,
          responses: { 200: { description: 'The request' }, default: problem },
        },
      },
      '/v1/access/requests/{id}/revoke': {
        post: {
          summary: 'Withdraw a pending request, or revoke the grant it produced; logged',
          security: bearer,
          parameters: [idParam],
          requestBody: commentBody,
          responses: { 200: { description: 'The request and grant' }, default: problem },
        },
      },
      '/v1/access/grants': {
        get: {
          summary: 'Grants the caller may see, with seconds left',
          security: bearer,
          parameters: [
            { name: 'state', in: 'query', schema: { enum: ['active', 'revoked', 'expired'] } },
            { name: 'mine', in: 'query', schema: { type: 'boolean' } },
          ],
          responses: { 200: { description: 'Grants, newest first' }, default: problem },
        },
      },
      '/v1/access/grants/{id}': {
        get: { summary: 'One grant', security: bearer, parameters: [idParam], responses: { 200: { description: 'The grant' }, default: problem } },
      },
      '/v1/access/grants/{id}/revoke': {
        post: {
          summary: 'Revoke a grant now; logged',
          security: bearer,
          parameters: [idParam],
          requestBody: commentBody,
          responses: { 200: { description: 'The grant' }, default: problem },
        },
      },
      '/v1/access/grants/{id}/review': {
        post: {
          summary: 'Review a break-glass grant: verdict justified or unjustified, with a comment (a signed statement, logged)',
          security: bearer,
          parameters: [idParam],
          requestBody: {
            content: {
              'application/json': {
                schema: {
                  type: 'object',
                  required: ['verdict', 'comment'],
                  properties: { verdict: { enum: ['justified', 'unjustified'] }, comment: { type: 'string' } },
                },
              },
            },
          },
          responses: { 200: { description: 'The grant' }, default: problem },
        },
      },
      '/v1/access/break-glass': {
        post: {
          summary: 'Self-grant for at most an hour with a reason and a justification; alerts the webhook and the log; must be reviewed',
          security: bearer,
          requestBody: { content: { 'application/json': { schema: { $ref: '#/components/schemas/AccessRequestInput' } } } },
          responses: { 201: { description: 'The break-glass grant' }, default: problem },
        },
      },
      '/v1/access/review': {
        get: {
          summary:
            'The standing-access review (who reaches protected data without a grant; master admins; reporting lines) with dormant grants, rubber-stamp approvers and unreviewed break-glass (approvers and auditors; logged)',
          security: bearer,
          responses: { 200: { description: 'The review; ok is false when anything is flagged' }, default: problem },
        },
      },
      '/v1/access/keys': {
        get: { summary: 'The signed-note verifier key of approval and review statements', responses: { 200: { description: '{"statements": vkey}' } } },
      },
      '/api/v1/lineage': {
        post: {
          summary:
            'OpenLineage intake, for lineage producers only (cordon.yaml flows.producers; others get 403 flows.not_producer): one RunEvent, DatasetEvent or JobEvent, or a list; each validated against the published schema of its version; an invalid one refuses the whole batch (with the schema path); over the size limit: 413; Content-Encoding: gzip is inflated under the same limit',
          security: bearer,
          requestBody: { content: { 'application/json': { schema: { oneOf: [{ type: 'object' }, { type: 'array', items: { type: 'object' } }] } } } },
          responses: { 201: { description: '{"stored": n}' }, default: problem },
        },
      },
      '/v1/flows/leaks': {
        get: {
          summary: 'Leak paths of protected data (with path, evidence and rules), undocumented tools and jobs, unmapped places, dangling references',
          security: bearer,
          responses: { 200: { description: 'The analysis' }, default: problem },
        },
      },
      '/v1/flows/undocumented': {
        get: {
          summary: 'Tools and jobs without owner, purpose or inventory entry',
          security: bearer,
          responses: { 200: { description: 'The list' }, default: problem },
        },
      },
      '/v1/flows/nodes/{id}': {
        get: {
          summary: "A node's neighbourhood in the flow graph (dataset:…, column:…, job:…, tool:…), to a depth (0-5)",
          security: bearer,
          parameters: [idParam, { name: 'depth', in: 'query', schema: { type: 'integer', minimum: 0, maximum: 5 } }],
          responses: { 200: { description: 'Nodes (with categories and leak-path flags) and edges' }, default: problem },
        },
      },
      '/': {
        get: { summary: 'The console (web app)', responses: { 200: { description: 'HTML', content: { 'text/html': { schema: { type: 'string' } } } } } },
      },
      '/assets/{asset_path}': {
        get: {
          summary: "The console's built assets (immutable)",
          parameters: [{ name: 'asset_path', in: 'path', required: true, schema: { type: 'string' } }],
          responses: { 200: { description: 'A script, style sheet or image' }, default: problem },
        },
      },
      '/v1/console/info': {
        get: {
          summary:
            "What the console shows before sign-in: deployment, policy version, the log's and statements' verifier keys, datasets, reason codes, demo or not",
          responses: { 200: { description: 'Info' } },
        },
      },
      '/v1/console/oidc': {
        get: {
          summary:
            "The console's sign-in through the OpenID provider (issuer, public client id, authorization and token endpoints, scope, resource), or enabled: false",
          responses: { 200: { description: 'Sign-in settings' } },
        },
      },
      '/v1/console/whoami': {
        get: {
          summary: 'The principal, team and place the bearer token is taken for',
          security: bearer,
          responses: { 200: { description: 'The caller' }, default: problem },
        },
      },
      '/v1/demo/personas': {
        get: {
          summary: "Demo only: the personas' tokens and the address of their site, for the console's persona picker",
          responses: { 200: { description: 'Personas' }, default: problem },
        },
      },
      '/v1/console/overview': {
        get: {
          summary:
            'Enclaves and stores, the latest checkpoint and its cosigners, decisions of the last 24 hours by disclosure and country, open requests and violations',
          security: bearer,
          responses: { 200: { description: 'Overview' }, default: problem },
        },
      },
      '/v1/console/policy': {
        get: {
          summary: 'Categories by class per jurisdiction, and the rules',
          security: bearer,
          responses: { 200: { description: 'Policy summary' }, default: problem },
        },
      },
      '/v1/report': {
        get: {
          summary:
            'The oversight report for a period (from, to: ISO dates; format json or html): access by reason, outcome, country and team; grants and break-glass with review status; refused attempts; migration statements; the checkpoint covered. JSON signed with the log key (auditors and approvers; logged)',
          security: bearer,
          parameters: [
            { name: 'from', in: 'query', schema: { type: 'string' } },
            { name: 'to', in: 'query', schema: { type: 'string' } },
            { name: 'format', in: 'query', schema: { enum: ['json', 'html'] } },
          ],
          responses: { 200: { description: 'The signed report, or the HTML page' }, default: problem },
        },
      },
      '/v1/console/findings': {
        get: {
          summary: 'Scanner findings in a sample of the global store (approvers and auditors)',
          security: bearer,
          responses: { 200: { description: 'Findings, violations, column verdicts' }, default: problem },
        },
      },
      '/log/checkpoint': {
        get: {
          summary: 'The latest signed checkpoint of the access log (C2SP tlog-checkpoint in a signed note, with witness cosignatures)',
          responses: { 200: { description: 'The checkpoint note', content: { 'text/plain': { schema: { type: 'string' } } } } },
        },
      },
      '/log/tile/{tile_path}': {
        get: {
          summary:
            'A hash tile (tile/<L>/<N>[.p/<W>]) or entry bundle (tile/entries/<N>[.p/<W>]) of the access log, per C2SP tlog-tiles; full tiles are immutable',
          parameters: [
            {
              name: 'tile_path',
              in: 'path',
              required: true,
              description: 'the rest of the tile path after tile/, slashes included',
              schema: { type: 'string' },
            },
          ],
          responses: {
            200: { description: 'Tile bytes', content: { 'application/octet-stream': { schema: { type: 'string', format: 'binary' } } } },
            default: problem,
          },
        },
      },
      '/v1/log/proof': {
        get: {
          summary: 'Inclusion proof of entry `index` to the latest checkpoint (JSON and C2SP tlog-proof), or consistency proof from `from` to `to`',
          parameters: [
            { name: 'index', in: 'query', schema: { type: 'integer', minimum: 0 } },
            { name: 'from', in: 'query', schema: { type: 'integer', minimum: 1 } },
            { name: 'to', in: 'query', schema: { type: 'integer', minimum: 1 } },
          ],
          responses: { 200: { description: 'The proof' }, default: problem },
        },
      },
      '/v1/log/records': {
        get: {
          summary: 'Full access records with their salts, oldest first (auditors only; the read is itself logged)',
          security: bearer,
          parameters: [
            { name: 'after', in: 'query', schema: { type: 'integer', minimum: -1 } },
            { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 1000 } },
          ],
          responses: { 200: { description: 'A page of records' }, default: problem },
        },
      },
      '/v1/log/records/{index}': {
        get: {
          summary: 'One full access record, checked against its entry, with its inclusion proof (auditors only; logged)',
          security: bearer,
          parameters: [{ name: 'index', in: 'path', required: true, schema: { type: 'integer', minimum: 0 } }],
          responses: { 200: { description: 'The record' }, default: problem },
        },
      },
      '/v1/egress/{dataset}': {
        get: {
          summary: 'The change feed: each changed record as the caller may see it, or deleted; resume with after=<next>',
          security: bearer,
          parameters: [
            datasetParam,
            { name: 'after', in: 'query', schema: { type: 'integer', minimum: 0 } },
            { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 500 } },
          ],
          responses: { 200: { description: 'A page of changes and the next cursor' }, default: problem },
        },
      },
      '/v1/decide': {
        post: {
          summary: 'Per-field decisions for a described record, for applications that hold their own data',
          security: bearer,
          requestBody: {
            content: {
              'application/json': {
                schema: {
                  type: 'object',
                  required: ['dataset', 'record'],
                  properties: {
                    dataset: { type: 'string' },
                    record: { $ref: '#/components/schemas/Record' },
                    action: { enum: ['read', 'write'] },
                    subjectJurisdiction: { type: 'string' },
                  },
                },
              },
            },
          },
          responses: { 200: { description: 'The decisions' }, default: problem },
        },
      },
      '/healthz': { get: { summary: 'Liveness', responses: { 200: { description: 'ok' } } } },
      '/readyz': {
        get: { summary: 'Readiness: every store answers', responses: { 200: { description: 'ready' }, 503: { description: 'a store is unreachable' } } },
      },
      '/metrics': {
        get: {
          summary: 'Prometheus metrics: Node defaults, requests, decisions, the access log, grants, key releases, tokens, stores (README Metrics)',
          responses: { 200: { description: 'text exposition format' } },
        },
      },
      '/openapi.json': { get: { summary: 'This document', responses: { 200: { description: 'OpenAPI 3.1' } } } },
    },
  };
}
