// What the console needs beyond the module APIs: the built web app served at `/`, the demo's persona
// picker, an overview (enclaves, stores, the checkpoint, decisions of the last 24 hours, open
// requests and violations), the policy's classes per jurisdiction, and scanner findings of the
// global store. Everything else the console reads through the same API as any client.

import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { classOf, fieldCategories, standingRules, type Policy } from '../policy/index.js';
import type { Store } from '../store/index.js';
import type { AccessLog } from '../log/index.js';
import type { AccessBroker } from '../access/index.js';
import type { AccessRecordV2, Caller } from '../gateway/index.js';
import { DEFAULT_SAMPLE_ROWS, scan, type ScanResultV1 } from '../scan/index.js';
import { HttpProblem } from '../shared/problem.js';
import { openLogSigner } from '../log/index.js';
import { buildReport, reportHtml, signReport } from './report.js';
import type { Leak } from '../flows/index.js';
import { isApprover, isAuditor } from './roles.js';
import { isLoopbackHost } from './location.js';
import { CONSOLE_SCHEMAS as S } from './console-schemas.js';

/** The built console (Vite output), next to the compiled server: dist/console. */
/** How long the Overview counts the violations of the latest scan of the global store before scanning anew. */
export const FINDINGS_FRESH_MS = 60_000;
/** `at` of a scan still under way. */
const RUNNING = Number.POSITIVE_INFINITY;

export const CONSOLE_DIR = fileURLToPath(new URL('../../console/', import.meta.url));
const HOUR = 3_600_000;
/** The global store's log of the policy versions this deployment has run. */
export const POLICY_VERSIONS = 'policy_versions';
const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
};

/** The global store's table of decision counts per hour and server process (no personal data: counts by disclosure, country and outcome). */
export const DECISION_HOURS = 'console_decision_hours';
/** How often a process writes its counts of the current hour. */
export const DEFAULT_STATS_FLUSH_MS = 30_000;

interface HourCounts {
  byDisclosure: Map<string, number>;
  byCountry: Map<string, number>;
  outcomes: Map<string, number>;
}

export interface DecisionStatsOptions {
  /** Where each process's hourly counts are kept, so they outlive a restart and add up across processes. */
  readonly store?: Store;
  /** This process's name among the writers of the table (default: random). */
  readonly instance?: string;
  readonly flushEveryMs?: number;
}

export interface DecisionStats {
  add(r: AccessRecordV2): void;
  last24h(): { byDisclosure: Record<string, number>; byCountry: Record<string, number>; byOutcome: Record<string, number> };
  /** Reads the stored counts of the last 24 hours (other processes', and this one's before a restart). */
  load(): Promise<void>;
  /** Writes this process's counts of the hours that changed. */
  flush(): Promise<void>;
  close(): Promise<void>;
}

const emptyHour = (): HourCounts => ({ byDisclosure: new Map(), byCountry: new Map(), outcomes: new Map() });
/** An hour's key prefix: fixed width, so keys sort by hour. */
const hourPrefix = (hour: number): string => String(hour).padStart(10, '0');
const hourKey = (hour: number, instance: string): string => `${hourPrefix(hour)}/${instance}`;

/**
 * Released and refused decisions per hour, by disclosure and by country, for the last 24 hours.
 * With a store, each process keeps its own row per hour there (written every flushEveryMs and on
 * close) and sums every process's rows, so the console's counts survive restarts.
 */
export function createDecisionStats(now: () => number, options: DecisionStatsOptions = {}): DecisionStats {
  const mine = new Map<number, HourCounts>();
  /** Other rows of the window: other processes', and this deployment's before a restart. */
  let others = new Map<number, HourCounts>();
  const dirty = new Set<number>();
  const instance = options.instance ?? randomUUID();
  const store = options.store;
  const bump = (m: Map<string, number>, k: string, n = 1) => m.set(k, (m.get(k) ?? 0) + n);
  const windowStart = () => Math.floor(now() / HOUR) - 23;
  let ready: Promise<void> | undefined;
  const ensure = () => (ready ??= store ? store.ensureTable({ name: DECISION_HOURS, fields: ['hour', 'counts'] }) : Promise.resolve());
  const encode = (c: HourCounts) =>
    JSON.stringify({ d: Object.fromEntries(c.byDisclosure), c: Object.fromEntries(c.byCountry), o: Object.fromEntries(c.outcomes) });
  /** Adds a stored row's counts (encode's text) to an hour's. */
  const decodeInto = (b: HourCounts, text: string): void => {
    const v = JSON.parse(text) as { d?: Record<string, number>; c?: Record<string, number>; o?: Record<string, number> };
    const add = (m: Map<string, number>, o: Record<string, number> | undefined) => {
      for (const [k, n] of Object.entries(o ?? {})) if (Number.isFinite(n)) bump(m, k, n);
    };
    add(b.byDisclosure, v.d);
    add(b.byCountry, v.c);
    add(b.outcomes, v.o);
  };
  let timer: NodeJS.Timeout | undefined;
  const stats: DecisionStats = {
    add(r) {
      const h = Math.floor(now() / HOUR);
      let b = mine.get(h);
      if (!b) {
        b = emptyHour();
        mine.set(h, b);
        for (const old of mine.keys()) if (old <= h - 24) mine.delete(old);
      }
      for (const g of r.fields) {
        let n = 0;
        for (const _ in g.fields) n++;
        bump(b.byDisclosure, g.disclosure, n);
      }
      bump(b.byCountry, r.country);
      bump(b.outcomes, r.outcome);
      dirty.add(h);
    },
    last24h() {
      const since = windowStart();
      const sum = (pick: (b: HourCounts) => Map<string, number>) => {
        const out: Record<string, number> = {};
        for (const hours of [mine, others]) for (const [h, b] of hours) if (h >= since) for (const [k, n] of pick(b)) out[k] = (out[k] ?? 0) + n;
        return out;
      };
      return { byDisclosure: sum((b) => b.byDisclosure), byCountry: sum((b) => b.byCountry), byOutcome: sum((b) => b.outcomes) };
    },
    async load() {
      if (!store) return;
      await ensure();
      const since = windowStart();
      const next = new Map<number, HourCounts>();
      // Keys sort by hour (compared bytewise): the window starts after every key of the hour before.
      for (let after: string | undefined = `${hourPrefix(since - 1)}~`; after !== undefined; ) {
        const page = await store.list(DECISION_HOURS, { after, limit: 1000 });
        for (const row of page.rows) {
          const h = row.values['hour'];
          if (typeof h !== 'number' || row.key.endsWith(`/${instance}`) || typeof row.values['counts'] !== 'string') continue;
          const b = next.get(h) ?? emptyHour();
          decodeInto(b, row.values['counts']);
          next.set(h, b);
        }
        after = page.next;
      }
      others = next;
    },
    async flush() {
      if (!store || dirty.size === 0) return;
      await ensure();
      const hours = [...dirty].filter((h) => mine.has(h));
      dirty.clear();
      try {
        await store.upsertMany(
          DECISION_HOURS,
          hours.map((h) => ({ key: hourKey(h, instance), values: { hour: h, counts: encode(mine.get(h)!) } })),
        );
      } catch (err) {
        for (const h of hours) dirty.add(h);
        throw err;
      }
    },
    async close() {
      if (timer) clearInterval(timer);
      await stats.flush().catch(() => undefined);
    },
  };
  if (store) {
    timer = setInterval(
      () =>
        void stats
          .flush()
          .then(() => stats.load())
          .catch(() => undefined),
      options.flushEveryMs ?? DEFAULT_STATS_FLUSH_MS,
    );
    timer.unref();
  }
  return stats;
}

export interface ConsoleRoutesOptions {
  readonly policy: Policy;
  readonly stores: ReadonlyMap<string, Store>;
  readonly globalStore: Store;
  readonly log: AccessLog;
  readonly broker: AccessBroker;
  readonly stats: DecisionStats;
  identify(req: FastifyRequest): Promise<Caller>;
  /**
   * Demo only: each persona's token and the address of its site (sent as X-Forwarded-For). Handed
   * out only while the server listens on a loopback address (or not at all: in-process requests).
   */
  readonly personas?: readonly { id: string; name: string; team: string; site: string; token: string; forwardedFor: string | undefined }[];
  readonly consoleDir?: string;
  /**
   * The console's sign-in through the OpenID provider: authorization code with PKCE (S256) as a
   * public client. Served unauthenticated at /v1/console/oidc; the token endpoint's origin is added
   * to the console's connect-src, since the browser redeems the code itself.
   */
  readonly signIn?: ConsoleSignIn;
  /** The log's signing key file: reports are signed with it. */
  readonly logKeyFile: string;
  /** The flow map's leak paths now (the report lists them). */
  flowLeaks(): Promise<readonly Leak[]>;
}

export interface ConsoleSignIn {
  readonly issuer: string;
  readonly clientId: string;
  readonly authorizationEndpoint: string;
  readonly tokenEndpoint: string;
  /** Scopes asked for (always openid). */
  readonly scope: string;
  /** Sent as the RFC 8707 `resource` parameter, so the access token's aud is cordon's; absent when no audience is a URI. */
  readonly resource?: string;
}

export async function consoleRoutes(app: FastifyInstance, options: ConsoleRoutesOptions): Promise<void> {
  const { policy, log, broker } = options;
  const dir = options.consoleDir ?? CONSOLE_DIR;
  const files = new Map<string, { body: Buffer; type: string }>();
  if (existsSync(dir)) {
    for (const e of readdirSync(dir, { recursive: true, withFileTypes: true })) {
      if (!e.isFile()) continue;
      const full = join(e.parentPath, e.name);
      files.set(`/${full.slice(dir.length).replace(/\\/g, '/').replace(/^\/+/, '')}`, {
        body: readFileSync(full),
        type: TYPES[extname(e.name)] ?? 'application/octet-stream',
      });
    }
  }
  const signIn = options.signIn;
  const tokenOrigin = signIn ? new URL(signIn.tokenEndpoint).origin : undefined;
  const security = {
    'content-security-policy': `default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; connect-src 'self'${tokenOrigin ? ` ${tokenOrigin}` : ''}`,
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
  };
  app.get('/', { schema: S.app }, async (_req, reply) => {
    const index = files.get('/index.html');
    if (!index) return reply.status(404).type('text/plain').send('the console is not built: run npm run build');
    return reply.headers(security).type(index.type).header('cache-control', 'no-cache').send(index.body);
  });
  app.get('/assets/*', { schema: S.asset, config: { openapiWildcard: 'asset_path' } }, async (req, reply) => {
    const f = files.get(`/assets/${(req.params as { '*': string })['*']}`);
    if (!f) throw new HttpProblem('gateway.no_route', 'no such console asset');
    return reply.headers(security).type(f.type).header('cache-control', 'public, max-age=31536000, immutable').send(f.body);
  });

  const auditorOrApprover = (c: Caller) => {
    const p = c.principal;
    if (!isAuditor(policy, p) && !isApprover(policy, p)) throw new HttpProblem('access.forbidden', `${p.id} is neither an auditor nor an approver`);
  };

  // The personas' tokens are every persona's identity: they MUST NOT reach another host, so they
  // are served only while the server is bound to loopback, whoever configured it otherwise.
  const personasServed = (): boolean => {
    if (!options.personas) return false;
    const bound = app.server.address();
    return bound === null || (typeof bound === 'object' && isLoopbackHost(bound.address));
  };

  app.get('/v1/console/info', { schema: S.info }, async () => ({
    deployment: policy.deployment.name,
    policyVersion: policy.versionHash,
    logOrigin: log.origin,
    logVkey: log.vkey,
    statementsVkey: broker.vkey,
    datasets: [...policy.datasets.values()].map((d) => ({ name: d.name, key: d.key, fields: [...d.fields.keys()] })),
    reasons: [...policy.deployment.access.reasons.entries()].map(([code, ms]) => ({ code, maxSeconds: ms / 1000 })),
    demo: personasServed(),
  }));
  // What every page's header shows: the policy version and the latest checkpoint (its size, how
  // long ago it was signed, its witnesses). All of it is public already (info, /log/checkpoint).
  app.get('/v1/console/status', { schema: S.status }, async (_req, reply) => {
    await log.catchUp();
    const cp = log.checkpoint();
    const at = log.stats().checkpointAt;
    const cosignedBy = cp.note
      .split('\n')
      .filter((l) => l.startsWith('— ') && !l.startsWith(`— ${log.origin} `))
      .map((l) => l.split(' ')[1] ?? '');
    void reply.header('cache-control', 'no-store');
    return {
      policyVersion: policy.versionHash,
      checkpoint: {
        origin: log.origin,
        size: cp.size,
        signedAt: at === undefined ? null : new Date(at).toISOString(),
        ageSeconds: at === undefined ? null : Math.max(0, Math.round((Date.now() - at) / 1000)),
        cosignedBy,
      },
    };
  });
  // Public by nature (a provider's discovery document says as much): what the console needs to
  // start a sign-in. No secret: the console is a public client and proves itself with PKCE.
  app.get('/v1/console/oidc', { schema: S.oidc }, async () => (signIn ? { enabled: true, ...signIn } : { enabled: false }));
  // Who the console is signed in as, as the server sees the token: the console shows this, never a
  // name it decoded itself, so a token the server refuses shows nobody.
  app.get('/v1/console/whoami', { schema: S.whoami }, async (req) => {
    const caller = await options.identify(req);
    const p = caller.principal;
    // Its own roles only, so pages can leave out what the caller may not read (not a permission: each route checks).
    return { principal: p.id, team: p.team, country: caller.country, site: caller.site, auditor: isAuditor(policy, p), approver: isApprover(policy, p) };
  });
  app.get('/v1/demo/personas', { schema: S.personas }, async () => {
    if (!personasServed())
      throw new HttpProblem(
        'gateway.no_route',
        'personas are handed out only by the demo (cordon up --demo) while it listens on a loopback address (127.0.0.1, ::1, localhost)',
      );
    return { personas: options.personas };
  });
  // One scan of the global store serves the Findings page and the Overview's count, so the two
  // agree; it reads what `cordon scan store:NAME --policy DIR` reads by default (the same sample of
  // rows per table, judged the same way). The Findings page scans anew (or joins a scan under way);
  // the Overview takes the latest scan while it is under FINDINGS_FRESH_MS old.
  let latest: { at: number; result: Promise<ScanResultV1> } | undefined;
  const globalFindings = (fresh: boolean): Promise<ScanResultV1> => {
    const now = Date.now();
    const running = latest !== undefined && latest.at === RUNNING;
    if (latest && (running || (!fresh && now - latest.at < FINDINGS_FRESH_MS))) return latest.result;
    const entry: { at: number; result: Promise<ScanResultV1> } = {
      at: RUNNING,
      result: scan({ stores: [options.globalStore] }, { policy, sample: DEFAULT_SAMPLE_ROWS }),
    };
    latest = entry;
    entry.result.then(
      () => {
        entry.at = Date.now();
      },
      () => {
        if (latest === entry) latest = undefined;
      },
    );
    return entry.result;
  };
  app.get('/v1/console/overview', { schema: S.overview }, async (req) => {
    const caller = await options.identify(req);
    const findings = await globalFindings(false);
    const stores = await Promise.all(
      [...options.stores.values()].map(async (s) => ({
        store: s.name,
        driver: s.driver,
        ok: await s.ping().then(
          () => true,
          () => false,
        ),
      })),
    );
    const cp = log.checkpoint();
    const lines = cp.note.split('\n');
    const cosignatures = lines.filter((l) => l.startsWith('— ') && !l.startsWith(`— ${log.origin} `)).map((l) => l.split(' ')[1]);
    const grantFlags = broker.grantFlags();
    return {
      principal: caller.principal.id,
      enclaves: [...policy.deployment.enclaves.values()].map((e) => ({
        name: e.name,
        jurisdictions: e.jurisdictions,
        store: e.store,
        allowedCountries: e.allowedCountries,
      })),
      stores,
      checkpoint: { origin: log.origin, size: cp.size, root: cp.root.toString('base64'), cosignedBy: cosignatures, health: log.health() },
      decisions: options.stats.last24h(),
      openRequests: broker.listRequests(caller, { state: 'pending' }).length,
      openViolations: findings.violations.length,
      unreviewedBreakGlass: grantFlags.filter((f) => f.kind === 'break_glass_unreviewed' || f.kind === 'break_glass_unjustified').length,
    };
  });
  // Each policy version the server has run is remembered with its classes, so the console can show
  // what changed since the version before this one.
  const used = new Set<string>();
  for (const d of policy.datasets.values()) for (const f of d.fields.values()) for (const c of fieldCategories(f)) used.add(c);
  const classes: Record<string, Record<string, string>> = {};
  for (const j of policy.deployment.jurisdictions.keys())
    classes[j] = Object.fromEntries([...used].sort().map((c) => [c, classOf(policy.classes, policy.taxonomy, j, c)]));
  interface VersionEntry {
    version: string;
    at: string;
    classes: Record<string, Record<string, string>>;
  }
  const seen = (await options.globalStore.readLog(POLICY_VERSIONS, 0, 10_000)).map((r) => r.entry as VersionEntry);
  if (seen.at(-1)?.version !== policy.versionHash)
    await options.globalStore.append(POLICY_VERSIONS, { version: policy.versionHash, at: new Date().toISOString(), classes } satisfies VersionEntry);
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
  const breakGlassConfig = policy.deployment.access.breakGlass;
  app.get('/v1/console/policy', { schema: S.policy }, async (req) => {
    await options.identify(req);
    return {
      previous: previous ? { version: previous.version, at: previous.at, changes } : null,
      version: policy.versionHash,
      // Who may break the glass, for how long, and who reviews it by when (the webhook's URL is not shown).
      breakGlass: breakGlassConfig
        ? {
            allowed: breakGlassConfig.allowed,
            maxSeconds: breakGlassConfig.maxDurationMs / 1000,
            reviewers: breakGlassConfig.reviewers,
            reviewWithinSeconds: breakGlassConfig.reviewWithinMs / 1000,
            alerts: breakGlassConfig.webhook === undefined ? 'log' : 'log and webhook',
          }
        : null,
      jurisdictions: [...policy.deployment.jurisdictions.values()].map((j) => ({
        name: j.name,
        enclave: j.enclave,
        classes: Object.fromEntries(
          ['protected', 'excepted', 'public'].map((cls) => [cls, [...used].sort().filter((c) => classOf(policy.classes, policy.taxonomy, j.name, c) === cls)]),
        ),
      })),
      // A standing rule (protected data in clear without a grant) is flagged, and inert at run time (W4).
      rules: policy.rules.map((r) => {
        const standing = standingRules(policy).find((x) => x.rule.id === r.id);
        return {
          id: r.id,
          effect: r.effect,
          file: r.file,
          line: r.line,
          text: r.text,
          standing: standing
            ? {
                inert: true,
                example: `${standing.example.dataset}.${standing.example.field} of a ${standing.example.jurisdiction} subject to ${standing.example.principal} without a grant`,
              }
            : null,
        };
      }),
    };
  });
  app.get<{ Querystring: Record<string, string> }>(
    '/v1/report',
    { schema: S.report, config: { invalidCode: 'usage.invalid_argument' }, exposeHeadRoute: false },
    async (req, reply) => {
      const caller = await options.identify(req);
      auditorOrApprover(caller);
      const q = req.query;
      const date = (v: string | undefined, what: string, dflt: Date) => {
        if (v === undefined) return dflt;
        const t = Date.parse(v);
        if (!/^\d{4}-\d{2}-\d{2}/.test(v) || Number.isNaN(t))
          throw new HttpProblem(
            'usage.invalid_argument',
            `${what} must be an ISO 8601 date or time (2026-11-01 or 2026-11-01T00:00:00Z), got ${JSON.stringify(v.slice(0, 40))}`,
          );
        return new Date(t);
      };
      const now = new Date();
      const to = date(q['to'], 'to', now);
      const from = date(q['from'], 'from', new Date(to.getTime() - 30 * 24 * HOUR));
      if (from >= to) throw new HttpProblem('usage.invalid_argument', 'from must be before to');
      const format = q['format'] ?? 'json';
      if (format !== 'json' && format !== 'html') throw new HttpProblem('usage.invalid_argument', 'format must be json or html');
      const report = await buildReport(
        policy,
        log,
        broker,
        caller,
        { leaks: () => options.flowLeaks(), violations: () => globalFindings(false) },
        from,
        to,
        now,
      );
      const signed = signReport(report, openLogSigner(options.logKeyFile, log.origin).skey);
      if (format === 'html')
        return reply
          .type('text/html; charset=utf-8')
          .header('content-security-policy', "default-src 'none'; style-src 'unsafe-inline'")
          .send(reportHtml(signed));
      return signed;
    },
  );
  app.get('/v1/console/findings', { schema: S.findings }, async (req) => {
    auditorOrApprover(await options.identify(req));
    const r = await globalFindings(true);
    return {
      target: `store:${options.globalStore.name}`,
      complete: r.complete,
      rows: r.rows,
      findingCount: r.findings.length,
      violationCount: r.violations.length,
      summary: r.summary,
      findings: r.findings.slice(0, 500),
      violations: r.violations.slice(0, 500),
      columns: r.columns,
      problems: r.problems,
    };
  });
}
