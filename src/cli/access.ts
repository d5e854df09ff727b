// `cordon access request|approve|deny|revoke|list|break-glass|review`: the access broker from the
// command line. All but `review --policy` talk to a running server over HTTP; `review --policy DIR`
// works offline from the policy and its directory.

import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command } from 'commander';
import { checkPolicy, formatIssue, loadPolicy } from '../policy/index.js';
import { formatStandingReview, standingAccessReview } from '../access/index.js';
import { EXIT_FINDING, EXIT_OK, EXIT_USAGE, UsageError, fetchOrUnreachable, mustRead, printJson, table, throwIfUnavailable } from './output.js';
import { addressOfSite, DEFAULT_DATA_DIR, DEFAULT_PORT, DEMO_POLICY_DIR } from './defaults.js';
import { CordonError } from '../shared/errors.js';

export interface ServerOpts {
  url: string;
  token?: string;
  as?: string;
  dataDir: string;
  forwardedFor?: string;
  json?: boolean;
}

type Json = Record<string, unknown>;

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

export function withServerOptions(cmd: Command): Command {
  return cmd
    .option('--url <url>', 'the cordon server', process.env['CORDON_URL'] ?? `http://127.0.0.1:${DEFAULT_PORT}`)
    .option('--token <jwt>', 'bearer token (default: $CORDON_TOKEN)')
    .option('--as <persona>', 'demo: act as this persona (token from <data-dir>/demo/tokens.json, from its site)')
    .option('--data-dir <dir>', 'demo data directory (with --as)', DEFAULT_DATA_DIR)
    .option('--forwarded-for <address>', 'send X-Forwarded-For (when the server trusts this host as a proxy)')
    .option('--json', "print the server's JSON");
}

/** The bearer token and the headers that place the caller. */
export function credentials(opts: ServerOpts): Record<string, string> {
  const headers: Record<string, string> = {};
  let token = opts.token ?? process.env['CORDON_TOKEN'];
  if (opts.as !== undefined) {
    const file = join(opts.dataDir, 'demo', 'tokens.json');
    if (!existsSync(file)) throw new UsageError(`--as needs the demo's tokens at ${file}: start \`cordon up --demo\` first (or give --data-dir)`);
    const tokens = JSON.parse(readFileSync(file, 'utf8')) as Record<string, string>;
    token = tokens[opts.as];
    if (token === undefined) throw new UsageError(`no demo persona ${JSON.stringify(opts.as)}; personas: ${Object.keys(tokens).join(', ')}`);
    const loaded = loadPolicy(DEMO_POLICY_DIR);
    const policy = loaded.ok ? loaded.policy : undefined;
    const site = policy?.directory.principals.get(opts.as)?.site;
    const address = policy && site ? addressOfSite(policy, site) : undefined;
    if (address && opts.forwardedFor === undefined) headers['x-forwarded-for'] = address;
  }
  if (!token) throw new UsageError('give --token JWT (or set CORDON_TOKEN), or --as PERSONA with the demo');
  headers['authorization'] = `Bearer ${token}`;
  if (opts.forwardedFor !== undefined) headers['x-forwarded-for'] = opts.forwardedFor;
  return headers;
}

/** A server's refusal (4xx): `status` is the HTTP status it answered (not the registry's), `body` its problem. */
export class Refused extends CordonError {
  constructor(
    override readonly status: number,
    readonly body: Json,
  ) {
    super('cli.refused', String(body['detail'] ?? `HTTP ${status}`));
    this.name = 'Refused';
  }
}

export async function call(opts: ServerOpts, method: 'GET' | 'POST', path: string, body?: Json): Promise<Json> {
  let base: string;
  try {
    base = new URL(opts.url).href.replace(/\/+$/, '');
  } catch {
    throw new UsageError(`--url must be an http(s) URL, got ${JSON.stringify(opts.url)}`);
  }
  const headers = credentials(opts);
  if (body !== undefined) headers['content-type'] = 'application/json';
  // A server that does not answer, or answers 5xx, is Unreachable (exit 3); a 4xx is its refusal.
  const res = await fetchOrUnreachable(`${base}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  await throwIfUnavailable(res, `${base}${path}`);
  const data = (await res.json().catch(() => ({}))) as Json;
  if (!res.ok) throw new Refused(res.status, data);
  return data;
}

/** Runs one server call: prints the result (or the problem), sets the exit code (refusal 1, bad input 2; a server down is Unreachable, 3). */
async function run(opts: ServerOpts, fn: () => Promise<Json>, print: (data: Json) => string, exitOf: (data: Json) => number = () => EXIT_OK): Promise<void> {
  try {
    const data = await fn();
    if (opts.json) printJson(data);
    else process.stdout.write(`${print(data)}\n`);
    process.exitCode = exitOf(data);
  } catch (err) {
    if (!(err instanceof Refused)) throw err;
    if (opts.json) printJson(err.body);
    else process.stderr.write(`cordon: ${String(err.body['code'] ?? 'error')}: ${err.message}\n`);
    process.exitCode = err.status === 400 ? EXIT_USAGE : EXIT_FINDING;
  }
}

function describeRequest(r: Json): string {
  const approvals = (r['approvals'] as { by: string }[]).map((a) => a.by);
  const scope = r['scope'] as { datasets: string[]; categories: string[]; subjects?: string[]; jurisdictions: string[] };
  const lines = [
    `request ${String(r['id'])}: ${String(r['state'])}`,
    `  principal  ${String(r['principal'])} (from ${(r['from'] as { country: string; site: string }).country}/${(r['from'] as { site: string }).site})`,
    `  scope      ${scope.datasets.join(', ')} · ${scope.categories.join(', ')} · ${scope.subjects ? `${scope.subjects.length} subject(s)` : `subjects of ${scope.jurisdictions.join(', ')}`}`,
    `  reason     ${String(r['reason'])}, ticket ${String(r['ticket'])}, for ${Number(r['durationS'])}s`,
    `  approvals  ${approvals.length ? approvals.join(', ') : 'none yet'} (group ${String(r['approverGroup'])})`,
  ];
  if (r['grant']) lines.push(`  grant      ${String(r['grant'])}`);
  if (r['state'] === 'pending') lines.push(`  expires    ${String(r['expiresAt'])} unless decided`);
  return lines.join('\n');
}

function describeGrant(g: Json): string {
  return `grant ${String(g['id'])}: ${String(g['state'])}${g['breakGlass'] ? ' (break-glass)' : ''} for ${String(g['principal'])} until ${String(g['expiresAt'])} (${Number(g['secondsLeft'])}s left)`;
}

interface ScopeOpts {
  dataset: string[];
  category: string[];
  subject: string[];
  jurisdiction: string[];
  reason: string;
  ticket?: string;
  duration?: string;
}

function scopeBody(o: ScopeOpts): Json {
  if (o.subject.length > 0 && o.jurisdiction.length > 0) throw new UsageError('give --subject KEY… or --jurisdiction J…, not both');
  if (o.subject.length === 0 && o.jurisdiction.length === 0)
    throw new UsageError('give the subjects (--subject KEY, repeatable) or --jurisdiction J for every subject of a jurisdiction');
  return {
    datasets: o.dataset,
    categories: o.category,
    ...(o.subject.length ? { subjects: o.subject } : { subject_filter: { jurisdictions: o.jurisdiction } }),
    reason: o.reason,
    ...(o.ticket !== undefined ? { ticket: o.ticket } : {}),
    ...(o.duration !== undefined ? { duration: o.duration } : {}),
  };
}

function withScopeOptions(cmd: Command): Command {
  return cmd
    .requiredOption('--dataset <name>', 'a dataset the grant covers (repeatable)', collect, [])
    .requiredOption('--category <key>', 'a data category the grant covers, e.g. user.contact (repeatable)', collect, [])
    .option('--subject <key>', 'a subject key, or the token you were given for it where you see it tokenized (repeatable)', collect, [])
    .option('--jurisdiction <j>', 'every subject of this jurisdiction (repeatable)', collect, [])
    .requiredOption(
      '--reason <code>',
      "reason code: USER_SUPPORT, INCIDENT_RESPONSE, LEGAL_REQUEST, TRUST_AND_SAFETY, SECURITY_INVESTIGATION, MIGRATION (or the policy's)",
    )
    .option('--ticket <ref>', 'ticket reference, e.g. SUP-1234')
    .option('--duration <d>', 'how long, e.g. 30m or 2h (capped per reason)');
}

export function accessCommand(): Command {
  const cmd = new Command('access').description('time-boxed grants: request, approve, deny, revoke, list, break glass, and the standing-access review');

  withScopeOptions(withServerOptions(cmd.command('request').description('ask for a time-boxed grant to protected data')))
    .option('--comment <text>', 'a note for the approvers')
    .action(async (o: ServerOpts & ScopeOpts & { comment?: string }) => {
      if (o.ticket === undefined) throw new UsageError('--ticket is required: the ticket this access serves');
      if (o.duration === undefined) throw new UsageError('--duration is required, e.g. 2h');
      const body = { ...scopeBody(o), ...(o.comment ? { comment: o.comment } : {}) };
      await run(o, () => call(o, 'POST', '/v1/access/requests', body), describeRequest);
    });

  withServerOptions(cmd.command('approve').description('approve a request (a signed statement, logged)').argument('<id>', 'request id'))
    .option('--comment <text>', 'why')
    .action(async (id: string, o: ServerOpts & { comment?: string }) => {
      await run(o, () => call(o, 'POST', `/v1/access/requests/${encodeURIComponent(id)}/approve`, o.comment ? { comment: o.comment } : {}), describeRequest);
    });

  withServerOptions(cmd.command('deny').description('deny a request (a signed statement, logged)').argument('<id>', 'request id'))
    .requiredOption('--comment <text>', 'why it is denied')
    .action(async (id: string, o: ServerOpts & { comment: string }) => {
      await run(o, () => call(o, 'POST', `/v1/access/requests/${encodeURIComponent(id)}/deny`, { comment: o.comment }), describeRequest);
    });

  withServerOptions(cmd.command('revoke').description('withdraw a pending request, or revoke a grant now').argument('<id>', 'request or grant id')).action(
    async (id: string, o: ServerOpts) => {
      const path = id.startsWith('req-') ? `/v1/access/requests/${encodeURIComponent(id)}/revoke` : `/v1/access/grants/${encodeURIComponent(id)}/revoke`;
      await run(
        o,
        () => call(o, 'POST', path, {}),
        (d) => [d['request'] ? describeRequest(d['request'] as Json) : '', d['grant'] ? describeGrant(d['grant'] as Json) : ''].filter(Boolean).join('\n'),
      );
    },
  );

  withServerOptions(cmd.command('list').description('requests (or --grants) the caller may see'))
    .option('--grants', 'list grants instead of requests')
    .option('--state <state>', 'only this state (requests: pending, approved, denied, expired, withdrawn; grants: active, revoked, expired)')
    .option('--mine', 'only my own')
    .action(async (o: ServerOpts & { grants?: boolean; state?: string; mine?: boolean }) => {
      const q = new URLSearchParams();
      if (o.state) q.set('state', o.state);
      if (o.mine) q.set('mine', 'true');
      const path = `/v1/access/${o.grants ? 'grants' : 'requests'}${q.size ? `?${q}` : ''}`;
      await run(
        o,
        () => call(o, 'GET', path),
        (d) => {
          if (o.grants) {
            const gs = d['grants'] as Json[];
            return gs.length === 0
              ? 'no grants'
              : table(
                  ['grant', 'principal', 'state', 'reason', 'expires', 'left'],
                  gs.map((g) => [
                    String(g['id']),
                    String(g['principal']),
                    `${String(g['state'])}${g['breakGlass'] ? ' (break-glass)' : ''}`,
                    String(g['reason']),
                    String(g['expiresAt']),
                    `${Number(g['secondsLeft'])}s`,
                  ]),
                );
          }
          const rs = d['requests'] as Json[];
          return rs.length === 0
            ? 'no requests'
            : table(
                ['request', 'principal', 'state', 'reason', 'ticket', 'approvals'],
                rs.map((r) => [
                  String(r['id']),
                  String(r['principal']),
                  String(r['state']),
                  String(r['reason']),
                  String(r['ticket']),
                  String((r['approvals'] as unknown[]).length),
                ]),
              );
        },
      );
    });

  withScopeOptions(withServerOptions(cmd.command('break-glass').description('self-grant for at most an hour; alerts and must be reviewed')))
    .requiredOption('--justification <text>', 'why the glass is broken (mandatory)')
    .action(async (o: ServerOpts & ScopeOpts & { justification: string }) => {
      await run(o, () => call(o, 'POST', '/v1/access/break-glass', { ...scopeBody(o), justification: o.justification }), describeGrant);
    });

  cmd
    .command('review')
    .description(
      'the standing-access review: who reaches which protected data without a grant; flags master admins, reach from outside the enclave, reporting lines abroad (exit 1 when anything is flagged)',
    )
    .option('--policy <dir>', 'review this policy offline')
    .option('--url <url>', 'ask a running server instead (adds dormant grants, rubber-stamp approvers, unreviewed break-glass)')
    .option('--token <jwt>', 'bearer token for --url (default: $CORDON_TOKEN)')
    .option('--as <persona>', 'demo: act as this persona (with --url)')
    .option('--data-dir <dir>', 'demo data directory (with --as)', DEFAULT_DATA_DIR)
    .option('--forwarded-for <address>', 'send X-Forwarded-For (with --url)')
    .option('--json', 'print the review as JSON')
    .action(async (o: Partial<ServerOpts> & { policy?: string; json?: boolean; dataDir: string }) => {
      if ((o.policy === undefined) === (o.url === undefined)) throw new UsageError('give --policy DIR (offline) or --url URL (a running server)');
      if (o.policy !== undefined) {
        mustRead(o.policy, '--policy');
        const { policy, issues } = checkPolicy(o.policy);
        if (!policy) throw new UsageError(`policy ${o.policy} is invalid:\n${issues.map(formatIssue).join('\n')}`);
        const review = standingAccessReview(policy);
        if (o.json) printJson(review);
        else process.stdout.write(`${formatStandingReview(review)}\n`);
        process.exitCode = review.ok ? EXIT_OK : EXIT_FINDING;
        return;
      }
      const so = o as ServerOpts;
      await run(
        so,
        () => call(so, 'GET', '/v1/access/review'),
        (d) => {
          const flags = d['flags'] as { kind: string; message: string }[];
          return flags.length === 0 ? 'no flags' : [...flags.map((f) => `FLAG ${f.kind}: ${f.message}`), `${flags.length} flag(s)`].join('\n');
        },
        (d) => (d['ok'] === false ? EXIT_FINDING : EXIT_OK),
      );
    });
  return cmd;
}
