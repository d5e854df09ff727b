// What the console needs beyond the module APIs: the built web app served at `/`, the demo's persona
// picker, an overview (enclaves, stores, the checkpoint, decisions of the last 24 hours, open
// requests and violations), the policy's classes per jurisdiction, and scanner findings of the
// global store. Everything else the console reads through the same API as any client.

import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { classOf, type Policy } from '../policy/index.js';
import type { Store } from '../store/index.js';
import type { AccessLog } from '../log/index.js';
import type { AccessBroker } from '../access/index.js';
import type { AccessRecordV1, Caller } from '../gateway/index.js';
import { scan } from '../scan/index.js';
import { HttpProblem } from '../shared/problem.js';
import { openLogSigner } from '../log/index.js';
import { buildReport, reportHtml, signReport } from './report.js';
import { isApprover, isAuditor } from './roles.js';

/** The built console (Vite output), next to the compiled server: dist/console. */
export const CONSOLE_DIR = fileURLToPath(new URL('../../console/', import.meta.url));
const HOUR = 3_600_000;
/** The global store's log of the policy versions this deployment has run. */
export const POLICY_VERSIONS = 'policy_versions';
const TYPES: Record<string, string> = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8', '.svg': 'image/svg+xml', '.png': 'image/png', '.ico': 'image/x-icon', '.json': 'application/json' };

/** Released and refused decisions per hour, by disclosure and by country, for the last 24 hours. */
export function createDecisionStats(now: () => number) {
  const hours = new Map<number, { byDisclosure: Map<string, number>; byCountry: Map<string, number>; outcomes: Map<string, number> }>();
  const bump = (m: Map<string, number>, k: string, n = 1) => m.set(k, (m.get(k) ?? 0) + n);
  return {
    add(r: AccessRecordV1): void {
      const h = Math.floor(now() / HOUR);
      let b = hours.get(h);
      if (!b) {
        b = { byDisclosure: new Map(), byCountry: new Map(), outcomes: new Map() };
        hours.set(h, b);
        for (const old of hours.keys()) if (old <= h - 24) hours.delete(old);
      }
      for (const f of r.fields) bump(b.byDisclosure, f.disclosure);
      bump(b.byCountry, r.country);
      bump(b.outcomes, r.outcome);
    },
    last24h() {
      const since = Math.floor(now() / HOUR) - 23;
      const sum = (pick: (b: NonNullable<ReturnType<typeof hours.get>>) => Map<string, number>) => {
        const out: Record<string, number> = {};
        for (const [h, b] of hours) if (h >= since) for (const [k, n] of pick(b)) out[k] = (out[k] ?? 0) + n;
        return out;
      };
      return { byDisclosure: sum((b) => b.byDisclosure), byCountry: sum((b) => b.byCountry), byOutcome: sum((b) => b.outcomes) };
    },
  };
}

export interface ConsoleRoutesOptions {
  readonly policy: Policy;
  readonly stores: ReadonlyMap<string, Store>;
  readonly globalStore: Store;
  readonly log: AccessLog;
  readonly broker: AccessBroker;
  readonly stats: ReturnType<typeof createDecisionStats>;
  identify(req: FastifyRequest): Promise<Caller>;
  /** Demo only: each persona's token and the address of its site (sent as X-Forwarded-For). */
  readonly personas?: readonly { id: string; name: string; team: string; site: string; token: string; forwardedFor: string | undefined }[];
  readonly consoleDir?: string;
  /** The log's signing key file: reports are signed with it. */
  readonly logKeyFile: string;
}

export async function consoleRoutes(app: FastifyInstance, options: ConsoleRoutesOptions): Promise<void> {
  const { policy, log, broker } = options;
  const dir = options.consoleDir ?? CONSOLE_DIR;
  const files = new Map<string, { body: Buffer; type: string }>();
  if (existsSync(dir)) {
    for (const e of readdirSync(dir, { recursive: true, withFileTypes: true })) {
      if (!e.isFile()) continue;
      const full = join(e.parentPath, e.name);
      files.set(`/${full.slice(dir.length).replace(/\\/g, '/').replace(/^\/+/, '')}`, { body: readFileSync(full), type: TYPES[extname(e.name)] ?? 'application/octet-stream' });
    }
  }
  const security = { 'content-security-policy': "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; connect-src 'self'", 'x-content-type-options': 'nosniff', 'referrer-policy': 'no-referrer' };
  app.get('/', async (_req, reply) => {
    const index = files.get('/index.html');
    if (!index) return reply.status(404).type('text/plain').send('the console is not built: run npm run build');
    return reply.headers(security).type(index.type).header('cache-control', 'no-cache').send(index.body);
  });
  app.get('/assets/*', async (req, reply) => {
    const f = files.get(`/assets/${(req.params as { '*': string })['*']}`);
    if (!f) throw new HttpProblem('gateway.not_found', 'no such console asset');
    return reply.headers(security).type(f.type).header('cache-control', 'public, max-age=31536000, immutable').send(f.body);
  });

  const auditorOrApprover = (c: Caller) => {
    const p = c.principal;
    if (!isAuditor(policy, p) && !isApprover(policy, p)) throw new HttpProblem('access.forbidden', `${p.id} is neither an auditor nor an approver`);
  };

  app.get('/v1/console/info', async () => ({
    deployment: policy.deployment.name,
    policyVersion: policy.versionHash,
    logOrigin: log.origin,
    logVkey: log.vkey,
    statementsVkey: broker.vkey,
    datasets: [...policy.datasets.values()].map((d) => ({ name: d.name, key: d.key, fields: [...d.fields.keys()] })),
    reasons: [...policy.deployment.access.reasons.entries()].map(([code, ms]) => ({ code, maxSeconds: ms / 1000 })),
    demo: options.personas !== undefined,
  }));
  app.get('/v1/demo/personas', async () => {
    if (!options.personas) throw new HttpProblem('gateway.not_found', 'personas exist only in the demo (cordon up --demo)');
    return { personas: options.personas };
  });
  app.get('/v1/console/overview', async (req) => {
    const caller = await options.identify(req);
    const stores = await Promise.all([...options.stores.values()].map(async (s) => ({ store: s.name, driver: s.driver, ok: await s.ping().then(() => true, () => false) })));
    const cp = log.checkpoint();
    const lines = cp.note.split('\n');
    const cosignatures = lines.filter((l) => l.startsWith('— ') && !l.startsWith(`— ${log.origin} `)).map((l) => l.split(' ')[1]);
    const grantFlags = broker.grantFlags();
    return {
      principal: caller.principal.id,
      enclaves: [...policy.deployment.enclaves.values()].map((e) => ({ name: e.name, jurisdictions: e.jurisdictions, store: e.store, allowedCountries: e.allowedCountries })),
      stores,
      checkpoint: { origin: log.origin, size: cp.size, root: cp.root.toString('base64'), cosignedBy: cosignatures, health: log.health() },
      decisions: options.stats.last24h(),
      openRequests: broker.listRequests(caller, { state: 'pending' }).length,
      openViolations: grantFlags.filter((f) => f.kind === 'break_glass_unreviewed' || f.kind === 'break_glass_unjustified').length,
    };
  });
  // Each policy version the server has run is remembered with its classes, so the console can show
  // what changed since the version before this one.
  const used = new Set<string>();
  for (const d of policy.datasets.values()) for (const f of d.fields.values()) [f.category, ...f.conditions.map((c) => c.category)].forEach((c) => used.add(c));
  const classes: Record<string, Record<string, string>> = {};
  for (const j of policy.deployment.jurisdictions.keys()) classes[j] = Object.fromEntries([...used].sort().map((c) => [c, classOf(policy.classes, policy.taxonomy, j, c)]));
  interface VersionEntry { version: string; at: string; classes: Record<string, Record<string, string>> }
  const seen = (await options.globalStore.readLog(POLICY_VERSIONS, 0, 10_000)).map((r) => r.entry as VersionEntry);
  if (seen.at(-1)?.version !== policy.versionHash) await options.globalStore.append(POLICY_VERSIONS, { version: policy.versionHash, at: new Date().toISOString(), classes } satisfies VersionEntry);
  const previous = [...seen].reverse().find((v) => v.version !== policy.versionHash);
  const changes: { jurisdiction: string; category: string; from: string | null; to: string | null }[] = [];
  if (previous) {
    for (const j of new Set([...Object.keys(classes), ...Object.keys(previous.classes)])) {
      for (const c of new Set([...Object.keys(classes[j] ?? {}), ...Object.keys(previous.classes[j] ?? {})])) {
        const from = previous.classes[j]?.[c] ?? null;
        const to = classes[j]?.[c] ?? null;
        if (from !== to) changes.push({ jurisdiction: j, category: c, from, to });
      }
    }
  }
  app.get('/v1/console/policy', async (req) => {
    await options.identify(req);
    return {
      previous: previous ? { version: previous.version, at: previous.at, changes } : null,
      version: policy.versionHash,
      jurisdictions: [...policy.deployment.jurisdictions.values()].map((j) => ({
        name: j.name,
        enclave: j.enclave,
        classes: Object.fromEntries(['protected', 'excepted', 'public'].map((cls) => [cls, [...used].sort().filter((c) => classOf(policy.classes, policy.taxonomy, j.name, c) === cls)])),
      })),
      rules: policy.rules.map((r) => ({ id: r.id, effect: r.effect, file: r.file, line: r.line, text: r.text })),
    };
  });
  app.get<{ Querystring: Record<string, string> }>('/v1/report', async (req, reply) => {
    const caller = await options.identify(req);
    auditorOrApprover(caller);
    const q = req.query;
    const date = (v: string | undefined, what: string, dflt: Date) => {
      if (v === undefined) return dflt;
      const t = Date.parse(v);
      if (!/^\d{4}-\d{2}-\d{2}/.test(v) || Number.isNaN(t)) throw new HttpProblem('usage.invalid_argument', `${what} must be an ISO 8601 date or time (2026-11-01 or 2026-11-01T00:00:00Z), got ${JSON.stringify(v.slice(0, 40))}`);
      return new Date(t);
    };
    const now = new Date();
    const to = date(q['to'], 'to', now);
    const from = date(q['from'], 'from', new Date(to.getTime() - 30 * 24 * HOUR));
    if (from >= to) throw new HttpProblem('usage.invalid_argument', 'from must be before to');
    const format = q['format'] ?? 'json';
    if (format !== 'json' && format !== 'html') throw new HttpProblem('usage.invalid_argument', 'format must be json or html');
    const report = await buildReport(policy, log, broker, caller, from, to, now);
    await log.append({ v: 1, at: now.toISOString(), type: 'report', principal: caller.principal.id, country: caller.country, site: caller.site, from: report.from, to: report.to });
    const signed = signReport(report, openLogSigner(options.logKeyFile, log.origin).skey);
    if (format === 'html') return reply.type('text/html; charset=utf-8').header('content-security-policy', "default-src 'none'; style-src 'unsafe-inline'").send(reportHtml(signed));
    return signed;
  });
  app.get('/v1/console/findings', async (req) => {
    auditorOrApprover(await options.identify(req));
    const r = await scan({ stores: [options.globalStore] }, { policy, sample: 200 });
    return { target: `store:${options.globalStore.name}`, complete: r.complete, rows: r.rows, findings: r.findings.slice(0, 500), violations: r.violations.slice(0, 500), columns: r.columns, problems: r.problems };
  });
}
