// The flow map's route schemas. The OpenLineage intake's body is checked by the handler against the
// published OpenLineage JSON Schema of each event's version (too large and versioned to inline here).

import { AUTH_PROBLEMS, BEARER, problems } from '../shared/api-schema.js';

const open = (description: string) => ({ type: 'object', description, additionalProperties: true }) as const;
const list = (description: string) => ({ type: 'array', description, items: { type: 'object', additionalProperties: true } }) as const;
const undocumented = list('tools and jobs without owner, purpose or inventory entry');

export const FLOW_SCHEMAS = {
  lineage: {
    operationId: 'postLineage',
    tags: ['flows'],
    summary: 'OpenLineage intake, for lineage producers only (cordon.yaml flows.producers)',
    description:
      'One RunEvent, DatasetEvent or JobEvent, or a list of 1 to 1000; each is validated against the published schema of its version; an invalid one refuses the whole batch (with the schema path); over the size limit: 413.',
    security: BEARER,
    body: {
      description: 'An OpenLineage event (object), or a list of them',
      type: ['object', 'array'],
      items: { type: 'object' },
      maxItems: 1000,
    },
    response: {
      201: {
        description: 'How many events were stored, and how many were already stored (the same run id, event type and content: kept once)',
        type: 'object',
        required: ['stored', 'duplicates'],
        properties: { stored: { type: 'integer' }, duplicates: { type: 'integer' } },
      },
      ...problems(...AUTH_PROBLEMS, 'flows.not_producer', 'flows.invalid_event', 'flows.event_too_large', 'gateway.invalid_body'),
    },
  },
  leaks: {
    operationId: 'getLeakPaths',
    tags: ['flows'],
    summary: 'Leak paths of protected data (with path, evidence and rules), undocumented tools and jobs, unmapped places, dangling references',
    security: BEARER,
    response: {
      200: {
        description: 'The analysis',
        type: 'object',
        required: ['leaks', 'undocumented', 'unknownPlaces', 'dangling', 'possiblyProtected', 'unconventional', 'stats'],
        properties: {
          leaks: list('each leak path: the path node by node, its evidence (job, run id, event time, producer) and the rules it breaks'),
          undocumented,
          unknownPlaces: { type: 'array', items: { type: 'string' }, description: 'namespaces that map to no place' },
          dangling: { type: 'array', items: { type: 'string' }, description: 'references to nodes that do not exist' },
          possiblyProtected: list('columns of datasets no catalog dataset maps, named like a protected catalog field, that no protected category reached'),
          unconventional: list('datasets whose namespace or name follows no OpenLineage naming convention (kept as given)'),
          stats: open('counts of the graph'),
          backdoors: list(
            "reads of enclave tables by database roles other than cordon's own, from the stores' audit trails (cordon.yaml flows.audit): role, store, table, columns, protected columns, client, time, statement without literals, evidence",
          ),
          audit: open("the backdoor finder's health: ok, stale, and each audit trail's counts and unparsed lines"),
        },
        additionalProperties: true,
      },
      ...problems(...AUTH_PROBLEMS, 'flows.forbidden'),
    },
  },
  events: {
    operationId: 'getPostedLineage',
    tags: ['flows'],
    summary: 'The OpenLineage events posted to this server, as stored (each distinct event once), in pages',
    security: BEARER,
    querystring: {
      type: 'object',
      properties: { after: { type: 'integer', minimum: 0, default: 0 }, limit: { type: 'integer', minimum: 1, maximum: 5000, default: 1000 } },
      additionalProperties: false,
    },
    response: {
      200: {
        description: 'Events after the index given; `next` is the index to ask after, or null at the end',
        type: 'object',
        required: ['events', 'next'],
        properties: {
          events: {
            type: 'array',
            items: { type: 'object', required: ['index', 'event'], properties: { index: { type: 'integer' }, event: open('the event') } },
          },
          next: { type: ['integer', 'null'] },
        },
      },
      ...problems(...AUTH_PROBLEMS, 'flows.forbidden', 'usage.invalid_argument'),
    },
  },
  graph: {
    operationId: 'getFlowGraph',
    tags: ['flows'],
    summary:
      'The leak paths as a graph for people: columns, tools, exports, the teams that use and own the tools, the places (with countries) where each is; edges with evidence',
    security: BEARER,
    response: {
      200: {
        description: 'Nodes and edges',
        type: 'object',
        required: ['nodes', 'edges'],
        properties: {
          nodes: list('id, type (column, tool, export, team, place), label, country of places, onLeakPath'),
          edges: list('id, from, to, kind (direct, indirect, reads, exports, uses, owns, at), via, evidence, runId, leaks'),
        },
      },
      ...problems(...AUTH_PROBLEMS, 'flows.forbidden'),
    },
  },
  undocumented: {
    operationId: 'getUndocumented',
    tags: ['flows'],
    summary: 'Tools and jobs without owner, purpose or inventory entry',
    security: BEARER,
    response: {
      200: { description: 'The list', type: 'object', required: ['undocumented'], properties: { undocumented } },
      ...problems(...AUTH_PROBLEMS, 'flows.forbidden'),
    },
  },
  node: {
    operationId: 'getFlowNode',
    tags: ['flows'],
    summary: "A node's neighbourhood in the flow graph (dataset:…, column:…, job:…, tool:…), to a depth (0-5)",
    security: BEARER,
    params: { type: 'object', required: ['id'], properties: { id: { type: 'string', minLength: 1, maxLength: 2000 } }, additionalProperties: false },
    querystring: {
      type: 'object',
      properties: { depth: { type: 'integer', minimum: 0, maximum: 5, default: 1 } },
      additionalProperties: false,
    },
    response: {
      200: {
        description: 'Nodes (with categories and leak-path flags) and edges',
        type: 'object',
        required: ['node', 'depth', 'nodes', 'edges'],
        properties: {
          node: { type: 'string' },
          depth: { type: 'integer' },
          nodes: {
            type: 'array',
            items: {
              type: 'object',
              required: ['id', 'type', 'labels', 'onLeakPath'],
              properties: {
                id: { type: 'string' },
                type: { type: 'string' },
                labels: {
                  type: 'array',
                  items: {
                    type: 'object',
                    required: ['category', 'jurisdiction', 'mode'],
                    properties: { category: { type: 'string' }, jurisdiction: { type: 'string' }, mode: { enum: ['direct', 'indirect'] } },
                  },
                },
                onLeakPath: { type: 'boolean' },
              },
            },
          },
          edges: {
            type: 'array',
            items: {
              type: 'object',
              required: ['from', 'to', 'kind'],
              properties: { from: { type: 'string' }, to: { type: 'string' }, kind: { type: 'string' } },
            },
          },
        },
      },
      ...problems(...AUTH_PROBLEMS, 'flows.forbidden', 'usage.invalid_argument', 'flows.not_found'),
    },
  },
} as const;
