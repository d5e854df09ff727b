// The console routes' schemas (console.ts). The overview, policy, report and findings answers are
// documented by their top-level members; below those they are open, as their parts are built from
// the policy (categories, rules) and the scanner, and hold no user data in clear.

import { AUTH_PROBLEMS, BEARER, problems, PUBLIC } from '../shared/api-schema.js';

const open = (description: string) => ({ type: 'object', description, additionalProperties: true }) as const;
const objects = (description: string) => ({ type: 'array', description, items: { type: 'object', additionalProperties: true } }) as const;
const strings = { type: 'array', items: { type: 'string' } } as const;
const html = (description: string) => ({ description, content: { 'text/html': { schema: { type: 'string' } } } });
const roles = [...AUTH_PROBLEMS, 'access.forbidden'] as const;

export const CONSOLE_SCHEMAS = {
  app: {
    operationId: 'getConsole',
    tags: ['console'],
    summary: 'The console (web app)',
    security: PUBLIC,
    response: {
      200: html('The console page'),
      ...problems(),
      404: { description: 'The console is not built', content: { 'text/plain': { schema: { type: 'string' } } } },
    },
  },
  asset: {
    operationId: 'getConsoleAsset',
    tags: ['console'],
    summary: "The console's built assets (immutable)",
    security: PUBLIC,
    params: { type: 'object', properties: { '*': { type: 'string', description: 'the path of the asset under assets/' } } },
    response: {
      200: { description: 'A script, style sheet or image', content: { 'application/octet-stream': { schema: { type: 'string', format: 'binary' } } } },
      ...problems('gateway.not_found'),
    },
  },
  status: {
    operationId: 'getConsoleStatus',
    tags: ['console'],
    summary: "What every console page's header shows: the policy version, and the latest checkpoint's size, age and witness cosignatures (all public)",
    security: PUBLIC,
    response: {
      200: {
        description: 'Status',
        type: 'object',
        required: ['policyVersion', 'checkpoint'],
        properties: {
          policyVersion: { type: 'string' },
          checkpoint: {
            type: 'object',
            required: ['origin', 'size', 'signedAt', 'ageSeconds', 'cosignedBy'],
            properties: {
              origin: { type: 'string' },
              size: { type: 'integer' },
              signedAt: { type: ['string', 'null'], description: 'when this process signed it or found it current (ISO 8601); null before the first' },
              ageSeconds: { type: ['integer', 'null'] },
              cosignedBy: { ...strings, description: 'the witnesses whose cosignatures the checkpoint carries' },
            },
          },
        },
      },
      ...problems(),
    },
  },
  info: {
    operationId: 'getConsoleInfo',
    tags: ['console'],
    summary: "What the console shows before sign-in: deployment, policy version, the log's and statements' verifier keys, datasets, reason codes, demo or not",
    security: PUBLIC,
    response: {
      200: {
        description: 'Info',
        type: 'object',
        required: ['deployment', 'policyVersion', 'logOrigin', 'logVkey', 'statementsVkey', 'datasets', 'reasons', 'demo'],
        properties: {
          deployment: { type: 'string' },
          policyVersion: { type: 'string' },
          logOrigin: { type: 'string' },
          logVkey: { type: 'string' },
          statementsVkey: { type: 'string' },
          datasets: {
            type: 'array',
            items: { type: 'object', required: ['name', 'key', 'fields'], properties: { name: { type: 'string' }, key: { type: 'string' }, fields: strings } },
          },
          reasons: {
            type: 'array',
            items: { type: 'object', required: ['code', 'maxSeconds'], properties: { code: { type: 'string' }, maxSeconds: { type: 'number' } } },
          },
          demo: { type: 'boolean' },
        },
      },
      ...problems(),
    },
  },
  personas: {
    operationId: 'getDemoPersonas',
    tags: ['console'],
    summary: "Demo only: the personas' tokens and the address of their site, for the console's persona picker",
    description: 'Served only by the demo (cordon up --demo) while it listens on a loopback address; otherwise 404.',
    security: PUBLIC,
    response: {
      200: {
        description: 'Personas',
        type: 'object',
        required: ['personas'],
        properties: {
          personas: {
            type: 'array',
            items: {
              type: 'object',
              required: ['id', 'name', 'team', 'site', 'token'],
              properties: {
                id: { type: 'string' },
                name: { type: 'string' },
                team: { type: 'string' },
                site: { type: 'string' },
                token: { type: 'string' },
                forwardedFor: { type: 'string' },
              },
            },
          },
        },
      },
      ...problems('gateway.no_route'),
    },
  },
  oidc: {
    operationId: 'getConsoleSignIn',
    tags: ['console'],
    summary: "What the console needs to sign in at the OpenID provider (authorization code with PKCE): no secret, as a provider's discovery document",
    security: PUBLIC,
    response: {
      200: {
        description: 'Sign-in settings; enabled false when cordon up was given no --console-client-id',
        type: 'object',
        required: ['enabled'],
        properties: {
          enabled: { type: 'boolean' },
          issuer: { type: 'string' },
          clientId: { type: 'string' },
          authorizationEndpoint: { type: 'string' },
          tokenEndpoint: { type: 'string' },
          scope: { type: 'string' },
          resource: { type: 'string' },
        },
      },
      ...problems(),
    },
  },
  whoami: {
    operationId: 'getConsoleWhoami',
    tags: ['console'],
    summary: 'The principal, team and place the server takes the caller for (the console shows this, never a name it decoded itself)',
    security: BEARER,
    response: {
      200: {
        description: 'The caller',
        type: 'object',
        required: ['principal', 'team', 'country', 'site'],
        properties: {
          principal: { type: 'string' },
          team: { type: 'string' },
          country: { type: 'string' },
          site: { type: 'string' },
          auditor: { type: 'boolean', description: 'may read the access log records (cordon.yaml access_log.auditors)' },
          approver: { type: 'boolean', description: 'belongs to an approver group' },
        },
      },
      ...problems(...AUTH_PROBLEMS),
    },
  },
  overview: {
    operationId: 'getConsoleOverview',
    tags: ['console'],
    summary:
      'Enclaves and stores, the latest checkpoint and its cosigners, decisions of the last 24 hours by disclosure and country, open requests and violations',
    security: BEARER,
    response: {
      200: {
        description: 'Overview',
        type: 'object',
        required: ['principal', 'enclaves', 'stores', 'checkpoint', 'decisions', 'openRequests', 'openViolations', 'unreviewedBreakGlass'],
        properties: {
          principal: { type: 'string' },
          enclaves: objects('each enclave: name, jurisdictions, store, allowed countries'),
          stores: objects('each store: name, driver, whether it answers'),
          checkpoint: open('the latest checkpoint: origin, size, root, cosigners, log health'),
          decisions: open('counts of the last 24 hours by disclosure, country and outcome'),
          openRequests: { type: 'integer' },
          openViolations: { type: 'integer', description: 'violations in the latest scan of the global store (as the findings route gives them)' },
          unreviewedBreakGlass: { type: 'integer', description: 'break-glass grants past their review window or unjustified' },
        },
      },
      ...problems(...AUTH_PROBLEMS),
    },
  },
  policy: {
    operationId: 'getConsolePolicy',
    tags: ['console'],
    summary: 'Categories by class per jurisdiction, and the rules',
    security: BEARER,
    response: {
      200: {
        description: 'Policy summary',
        type: 'object',
        required: ['previous', 'version', 'jurisdictions', 'rules'],
        properties: {
          previous: { anyOf: [open('the version before, and the classes that changed since'), { type: 'null' }] },
          version: { type: 'string' },
          breakGlass: {
            anyOf: [
              {
                type: 'object',
                required: ['allowed', 'maxSeconds', 'reviewers', 'reviewWithinSeconds', 'alerts'],
                additionalProperties: false,
                description: 'who may break the glass (teams and principals), for how long at most, which approver group reviews it and within how long',
                properties: {
                  allowed: strings,
                  maxSeconds: { type: 'number' },
                  reviewers: { type: 'string' },
                  reviewWithinSeconds: { type: 'number' },
                  alerts: { type: 'string' },
                },
              },
              { type: 'null' },
            ],
          },
          jurisdictions: objects('each jurisdiction: its enclave and its categories by class'),
          rules: objects('each rule: id, effect, file, line, text, and whether it is standing (inert)'),
        },
      },
      ...problems(...AUTH_PROBLEMS),
    },
  },
  report: {
    operationId: 'getReport',
    tags: ['console'],
    summary: 'The oversight report for a period, signed with the log key (auditors and approvers; logged)',
    description:
      'Access by reason, outcome, country and team; grants and break-glass with review status; refused attempts; migration statements; the checkpoint covered.',
    security: BEARER,
    querystring: {
      type: 'object',
      properties: {
        from: { type: 'string', maxLength: 64, description: 'an ISO 8601 date or time (default: 30 days before to)', examples: ['2026-11-01'] },
        to: { type: 'string', maxLength: 64, description: 'an ISO 8601 date or time (default: now)' },
        format: { enum: ['json', 'html'], default: 'json' },
      },
      additionalProperties: false,
    },
    response: {
      200: {
        description: 'The signed report (JSON), or the HTML page',
        content: { 'application/json': { schema: open('the signed report') }, 'text/html': { schema: { type: 'string' } } },
      },
      ...problems(...roles, 'usage.invalid_argument', 'log.unavailable'),
    },
  },
  findings: {
    operationId: 'getConsoleFindings',
    tags: ['console'],
    summary: 'Scanner findings in the global store, sampled as cordon scan samples it by default (approvers and auditors)',
    security: BEARER,
    response: {
      200: {
        description: 'Findings, violations, column verdicts',
        type: 'object',
        required: ['target', 'complete', 'rows', 'findingCount', 'violationCount', 'summary', 'findings', 'violations', 'columns', 'problems'],
        properties: {
          target: { type: 'string' },
          complete: { type: 'boolean' },
          rows: { type: 'integer' },
          findingCount: { type: 'integer', description: 'all findings (the list holds at most 500)' },
          violationCount: { type: 'integer', description: 'all violations (the list holds at most 500)' },
          summary: objects('per table, column and detector: count, rows, share, first positions (as cordon scan --json gives it)'),
          findings: objects('findings, as cordon scan --json gives them'),
          violations: objects('findings where the class forbids the place'),
          columns: objects('the verdict of each column'),
          problems: objects('what the scan could not read'),
        },
      },
      ...problems(...roles),
    },
  },
} as const;
