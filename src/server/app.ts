// Process wiring: stores, placement, key service, recorder, identity and location, the gateway's
// routes, health and the OpenAPI document, on one Fastify instance.

import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify';
import {
  createDecider,
  createPlacementRules,
  regionalPolicy,
  regionStores,
  type Decider,
  type GrantInfo,
  type Policy,
  type Principal,
} from '../policy/index.js';
import { createPlacement, DEFAULT_KEY_RELEASE_EVERY_MS, type Store } from '../store/index.js';
import { createWitnessCosigner, keyReleaseRecord, logRoutes, type AccessLog } from '../log/index.js';
import {
  createGatewayReader,
  createRecordKeys,
  encodeAccessRecord,
  gatewayRoutes,
  problemHandler,
  setRegionRouting,
  REGION_HEADER,
  type AccessRecorder,
  type Caller,
  type RecordKeys,
} from '../gateway/index.js';
import { createPgGateway, type PgGateway, type PgTlsOptions } from '../pgwire/index.js';
import { BackdoorFinder, DEFAULT_AUDIT_POLL_MS, flowRoutes } from '../flows/index.js';
import type { Leak } from '../flows/index.js';
import { accessRoutes, standingAccessReview, type AccessBroker, type Actor, type SubjectKeys } from '../access/index.js';
import { BoundedCache } from '../shared/bounded-cache.js';
import { CordonError, OtherRegionError } from '../shared/errors.js';
import { HttpProblem } from '../shared/problem.js';
import { AuthError, createTokenVerifier, principalFromToken, type JSONWebKeySet } from './identity.js';
import { createLocationResolver, isLoopbackHost, UNKNOWN_PLACE } from './location.js';
import { OPERATIONS_SCHEMAS, registerOpenApi } from './openapi.js';
import { createValidatorCompiler } from '../shared/api-schema.js';
import { isApprover, isAuditor, isProducer } from './roles.js';
import { consoleRoutes, createDecisionStats, type ConsoleRoutesOptions } from './console.js';
import { createMetrics } from './metrics.js';
import { badInputIn } from './input-guard.js';
import { frameworkErrors, httpConventions, MAX_PARAM_CHARS } from './http-conventions.js';
import { openRuntime, resolveStoreUrls, type Runtime } from './runtime.js';
import { fastifyLogging, notePrincipal, requestLogging, type LoggingOptions } from './logging.js';

export const DEFAULT_BODY_LIMIT = 1024 * 1024;
/** At most twice this many verified tokens are kept (BoundedCache). */
const MAX_CACHED_TOKENS = 5_000;
/** A verified token is trusted from the cache for at most this long (and never past its exp). */
const TOKEN_CACHE_MS = 60_000;

export interface ServerOptions {
  readonly policy: Policy;
  /** Key file and relative PGlite directories live here. */
  readonly dataDir: string;
  /** Whose tokens are accepted; which claim names the principal comes from cordon.yaml `identity`. */
  readonly tokens: { readonly issuer: string; readonly audience: string | readonly string[]; readonly jwks: JSONWebKeySet | URL };
  /** The console's sign-in through the provider (authorization code + PKCE), served unauthenticated at /v1/console/oidc. */
  readonly consoleSignIn?: ConsoleRoutesOptions['signIn'];
  readonly trustedProxies?: readonly string[];
  readonly bodyLimit?: number;
  /** Store URL per store name, overriding cordon.yaml (tests: pglite://memory). */
  readonly storeUrls?: Readonly<Record<string, string>>;
  /** Grants for decisions, instead of the access broker's (benchmarks and tests of the gateway alone). */
  readonly grantsOf?: (principal: string) => readonly GrantInfo[];
  /** Demo only: the personas the console's picker offers. */
  readonly personas?: ConsoleRoutesOptions['personas'];
  /** Largest OpenLineage body accepted at /api/v1/lineage (default 512 KiB; larger gets 413). */
  readonly maxLineageEventBytes?: number;
  /** Where break-glass alerts are POSTed (overrides cordon.yaml access.break_glass.webhook). */
  readonly breakGlassWebhook?: string;
  /** The operational log (JSON lines, see logging.ts); off by default, `true` is level info on stderr. */
  readonly logger?: boolean | LoggingOptions;
  readonly now?: () => number;
  /** Where decisions are recorded (default: the verifiable access log). */
  readonly recorder?: AccessRecorder;
  /** Witnesses asked to cosign each checkpoint of the access log. */
  readonly witnesses?: readonly { readonly url: string; readonly vkey: string }[];
  /** Access-log tuning (tests and benchmarks). */
  readonly log?: { readonly checkpointEveryMs?: number; readonly maxBatch?: number };
  /** How often the backdoor finder polls the audit trails of cordon.yaml flows.audit (default 10 s). */
  readonly auditPollMs?: number;
  /** Protected fields encrypted at rest under per-subject data keys (default true). */
  readonly encryptAtRest?: boolean;
  /**
   * Serve one region (an enclave of cordon.yaml) on its own hosts: open the global store and that
   * enclave's store only, keep the region's own access log (origin `<access_log.origin>/<region>`),
   * and answer a record of another region with a redirect to `peers[region]` (policy/region.ts).
   */
  readonly region?: { readonly name: string; readonly peers?: Readonly<Record<string, string>> };
  /** Make the PostgreSQL wire gateway (CordonServer.pg), reading through the same path as the HTTP one; it listens when told. */
  readonly pgWire?: boolean | PgWireOptions;
}

export interface PgWireOptions {
  /** Its certificate: clients may ask for TLS. */
  readonly tls?: PgTlsOptions;
  /**
   * Let clients on other hosts send their password (a bearer token) without TLS. Off by default:
   * without TLS, only this host and connections through a trusted proxy's PROXY header may log in.
   */
  readonly allowCleartext?: boolean;
}

export interface CordonServer {
  readonly app: FastifyInstance;
  readonly stores: ReadonlyMap<string, Store>;
  readonly placement: ReturnType<typeof createPlacement>;
  readonly log: AccessLog;
  readonly broker: AccessBroker;
  /** The decider every route asks (tests make its evaluator fail to check that requests fail closed). */
  readonly decider: Decider;
  /** Every route registered (method and URL pattern), for the OpenAPI check. */
  routes(): { method: string; url: string }[];
  /**
   * How directory principal `principal`, asking from its own site, names record `key` of `dataset`
   * in a path: the key in clear, or its own token where it may not see the key in clear (W6).
   * Undefined when there is no such record. For the demo's curl lines.
   */
  keyAs(principal: string, dataset: string, key: string): Promise<string | undefined>;
  /** The PostgreSQL wire gateway, with `pgWire`: not yet listening. */
  readonly pg: PgGateway | undefined;
  close(): Promise<void>;
}

/** The audience a principal's tokens are made for: its team (tokens are stable within a team, unlinkable across teams). */
const audienceOf = (p: Principal): string => p.team;

export async function createCordonServer(given: ServerOptions): Promise<CordonServer> {
  // A regional gateway works on the policy as its region sees it: its log in its own enclave's store.
  const options = given.region ? { ...given, policy: regionalPolicy(given.policy, given.region.name) } : given;
  const { policy } = options;
  const now = options.now ?? Date.now;
  // Stores (each embedded one locked for this process), keys, the access log, the broker: opened in
  // that order, closed in the reverse, with what this function opens on top closed first.
  const runtime = await openRuntime({
    policy,
    dataDir: options.dataDir,
    storeUrls: options.storeUrls,
    ...(options.region ? { stores: regionStores(policy, options.region.name) } : {}),
    keys: 'create',
    log: { ...options.log, ...(options.witnesses && options.witnesses.length > 0 ? { cosign: createWitnessCosigner(options.witnesses) } : {}) },
    broker: { now, webhook: options.breakGlassWebhook },
  });
  try {
    return await serve(options, runtime);
  } catch (err) {
    await runtime.close().catch(() => undefined);
    throw err;
  }
}

async function serve(options: ServerOptions, runtime: Runtime): Promise<CordonServer> {
  const { policy } = options;
  const now = options.now ?? Date.now;
  const { stores, closer } = runtime;
  const keys = runtime.keys!;
  const log = runtime.log!;
  const broker = runtime.broker!;
  const rules = createPlacementRules(policy);
  const { identity } = policy.deployment;
  const verifier = createTokenVerifier({ ...options.tokens, principalClaim: identity.principalClaim });
  const metrics = createMetrics({ log, broker, stores, verifier });
  // Protected fields are encrypted at rest under per-subject data keys wrapped by the enclave KEK
  // (keys/kek-ring.json). Each release of a data key to this process is logged (key.release, the
  // subject as a keyed hash), once per subject per DEFAULT_KEY_RELEASE_EVERY_MS, before any value
  // decrypted with it is used.
  const placement = createPlacement(rules, stores, [...policy.datasets.keys()], {
    encryption:
      options.encryptAtRest === false
        ? undefined
        : {
            keys,
            onKeyRelease: async (subject, dataset, reason) => {
              await log.append(
                keyReleaseRecord(keys, {
                  at: new Date(now()).toISOString(),
                  dataset,
                  subject,
                  reason,
                  everyMs: DEFAULT_KEY_RELEASE_EVERY_MS,
                  policyVersion: policy.versionHash,
                }),
              );
              metrics.keyReleased(dataset);
            },
          },
  });
  await placement.init();
  const globalStore = stores.get(policy.deployment.globalStore)!;
  // Counts of the console's last 24 hours, kept per process in the global store so that they
  // outlive a restart and add up across processes.
  const stats = createDecisionStats(now, { store: globalStore });
  await stats.load().catch(() => undefined);
  closer.add('the decision counts', () => stats.close());
  const inner: AccessRecorder = options.recorder ?? { record: (r) => log.appendCanonical(r, encodeAccessRecord(r)) };
  const recorder: AccessRecorder = {
    record: (r) => {
      stats.add(r);
      return inner.record(r);
    },
  };
  const decider = createDecider(policy);
  // Keys in and out as the caller may see the key field (W6), for the broker's subjects and the demo's curl lines.
  const recordKeys = createRecordKeys({ policy, decider, keys, grantsOf: options.grantsOf ?? broker.grantsOf, now });
  const locations = createLocationResolver(policy.deployment.locations, { trustedProxies: options.trustedProxies });

  const logging = options.logger === true ? { level: 'info' as const } : options.logger || undefined;
  const app = Fastify({
    ...fastifyLogging(logging),
    bodyLimit: options.bodyLimit ?? DEFAULT_BODY_LIMIT,
    trustProxy: false,
    frameworkErrors,
    routerOptions: { maxParamLength: MAX_PARAM_CHARS },
    // Route input is validated by the routes' schemas, with no coercion of bodies and nothing removed
    // (a factory, not setValidatorCompiler: plugins that add shared schemas build their own compiler).
    // Cast: @fastify/ajv-compiler types the compiler as ajv's compile, Fastify calls it with {schema, httpPart}.
    schemaController: { compilersFactory: { buildValidator: createValidatorCompiler as never } },
  });
  // Closed first: in-flight requests finish (and are logged) before the log and stores close.
  closer.add('the HTTP server', () => app.close());
  app.setErrorHandler(problemHandler);
  if (options.region) {
    const region = options.region.name;
    const peers = new Map(Object.entries(options.region.peers ?? {}).map(([name, url]) => [name, url.replace(/\/+$/, '')]));
    setRegionRouting(app, { region, peers });
    // Every answer names the region that gave it (a redirected request's final answer names the region that decided).
    app.addHook('onSend', async (_req, reply) => {
      void reply.header(REGION_HEADER, region);
    });
  }
  await registerOpenApi(app);
  if (logging) requestLogging(app);
  // 405/404 for requests no route takes, 415 for bodies that are not JSON, gzip bodies inflated,
  // no-store on answers with user data: decided before any route identifies, logs or stores.
  httpConventions(app);
  // Bad input changes nothing (W7): a NUL byte anywhere, a lone surrogate or a body nested too deep
  // is refused before any route logs or stores.
  app.addHook('preValidation', async (req) => {
    const why = badInputIn(req);
    if (why !== undefined) throw new HttpProblem('gateway.invalid_input', why);
  });
  app.addHook('onResponse', async (req, reply) => {
    metrics.observe(req.method, req.routeOptions.url ?? 'unknown', reply.statusCode, reply.elapsedTime / 1000);
  });
  const routes: { method: string; url: string }[] = [];
  app.addHook('onRoute', (r) => {
    for (const m of [r.method].flat()) if (m !== 'HEAD') routes.push({ method: m, url: r.url });
  });

  // Verified tokens are kept until they expire (bounded), so a signature is checked once per token,
  // not once per request. Location is still resolved per request.
  const verified = new BoundedCache<string, { token: Awaited<ReturnType<typeof verifier.verify>>; until: number }>(MAX_CACHED_TOKENS);
  const verify = async (header: string | undefined) => {
    const now = (options.now ?? Date.now)();
    const hit = header === undefined ? undefined : verified.get(header);
    if (hit && now < hit.until) return hit.token;
    const token = await verifier.verify(header);
    const exp = typeof token.claims.exp === 'number' ? token.claims.exp * 1000 : now;
    if (header !== undefined && exp > now) {
      verified.set(header, { token, until: Math.min(exp, now + TOKEN_CACHE_MS) });
    }
    return token;
  };

  /** Who asks (the bearer token) and from where (the peer, and what a trusted proxy says of its client). */
  const callerFrom = async (authorization: string | undefined, remoteAddress: string, forwardedFor: string | undefined): Promise<Caller> => {
    try {
      const token = await verify(authorization);
      const principal = principalFromToken(token, policy.directory, identity.principals);
      const network = locations.resolve(remoteAddress, forwardedFor);
      const where = locations.reconcile(network, token.location);
      return {
        principal,
        country: where.country,
        site: where.site,
        audience: audienceOf(principal),
        knownPlace: !where.mismatch && where.country !== UNKNOWN_PLACE,
      };
    } catch (err) {
      if (err instanceof AuthError) metrics.tokenRefused(err.code as `auth.${string}`);
      throw err;
    }
  };

  const identify = async (req: FastifyRequest): Promise<Caller> => {
    try {
      const forwarded = req.headers['x-forwarded-for'];
      const caller = await callerFrom(req.headers.authorization, req.socket.remoteAddress ?? '', Array.isArray(forwarded) ? forwarded.join(',') : forwarded);
      notePrincipal(req, caller.principal.id);
      return caller;
    } catch (err) {
      // problemHandler adds the 401's WWW-Authenticate challenge (RFC 6750 §3).
      if (err instanceof CordonError) throw new HttpProblem(err.code, err.message);
      throw err;
    }
  };

  // The read path both gateways share: the wire gateway decides, discloses and records as the HTTP one does.
  const grantsOf = options.grantsOf ?? broker.grantsOf;
  const reader = createGatewayReader({
    policy,
    decider,
    placement,
    globalStore,
    keys,
    recorder,
    grantsOf,
    onDecision: (d) => {
      metrics.decided(d);
      for (const f of d.fields) if (f.grant !== undefined) broker.used(f.grant);
    },
    onRecordError: (err) => app.log.error({ err }, 'access recorder failed'),
    now: options.now,
  });
  let pg: PgGateway | undefined;
  if (options.pgWire) {
    const wireOptions: PgWireOptions = options.pgWire === true ? {} : options.pgWire;
    pg = await createPgGateway({
      reader,
      ...(wireOptions.tls ? { tls: wireOptions.tls } : {}),
      cleartextAllowed: (peer) => wireOptions.allowCleartext === true || isLoopbackHost(peer),
      // The password is the bearer token (as RDS IAM authentication takes one).
      authenticate: (a) => callerFrom(`Bearer ${a.password}`, a.remoteAddress, a.forwardedFor),
      isTrustedProxy: (address) => locations.isTrustedProxy(address),
      maxMessageBytes: options.bodyLimit ?? DEFAULT_BODY_LIMIT,
      onError: (err) => app.log.error({ err }, 'wire gateway failed'),
    });
    const wire = pg;
    closer.add('the wire gateway', () => wire.close());
  }

  await app.register(gatewayRoutes, {
    policy,
    decider,
    placement,
    globalStore,
    keys,
    recorder,
    identify,
    grantsOf,
    now: options.now,
    reader,
  });
  await app.register(logRoutes, {
    log,
    authorizeAuditor: async (req) => {
      // Records hold no user data in clear (subjects are keyed hashes), and independent auditors
      // work from wherever they are: any place is accepted, and recorded with each read.
      const caller = await identify(req);
      const p = caller.principal;
      if (!isAuditor(policy, p)) {
        throw new HttpProblem('log.not_auditor', `${p.id} is not an auditor of the access log (cordon.yaml access_log.auditors)`);
      }
      return { principal: p.id, country: caller.country, site: caller.site };
    },
  });
  await app.register(accessRoutes, {
    broker,
    identify,
    now,
    subjects: subjectKeys(policy, placement, recordKeys),
    review: async (actor: Actor) => {
      const p = actor.principal;
      if (!isApprover(policy, p) && !isAuditor(policy, p))
        throw new HttpProblem('access.forbidden', `the standing-access review is for approvers and auditors; ${p.id} is neither`);
      const standing = standingAccessReview(policy);
      const grantFlags = broker.grantFlags();
      const flags = [...standing.flags, ...grantFlags];
      await log.append({
        v: 1,
        at: new Date(now()).toISOString(),
        type: 'broker.standing_review',
        principal: p.id,
        country: actor.country,
        site: actor.site,
        policyVersion: policy.versionHash,
        flags: flags.map((f) => ({ kind: f.kind, principal: f.principal ?? null })),
      });
      return { ...standing, grantFlags, flags, ok: flags.length === 0 };
    },
  });
  // The backdoor finder reads the enclave stores' own audit trails (cordon.yaml flows.audit).
  const backdoorFinder = new BackdoorFinder(policy, { storeUrls: resolveStoreUrls(policy, runtime.paths.root, options.storeUrls) });
  backdoorFinder.start(options.auditPollMs ?? DEFAULT_AUDIT_POLL_MS);
  closer.add('the backdoor finder', () => backdoorFinder.stop());
  let flowLeaks: (() => Promise<readonly Leak[]>) | undefined;
  await app.register(flowRoutes, {
    policy,
    expose: (leaks) => {
      flowLeaks = leaks;
    },
    store: globalStore,
    backdoors: backdoorFinder,
    identify,
    authorizeProducer: async (req) => {
      const p = (await identify(req)).principal;
      if (!isProducer(policy, p)) {
        const named = policy.deployment.flows.producers;
        throw new HttpProblem(
          'flows.not_producer',
          `${p.id} may not post lineage: cordon.yaml flows.producers ${named.length === 0 ? 'names nobody, so nobody may' : `names ${named.join(', ')}`}`,
        );
      }
    },
    authorizeReader: async (req) => {
      const p = (await identify(req)).principal;
      if (!isAuditor(policy, p) && !isApprover(policy, p))
        throw new HttpProblem('flows.forbidden', `the flow map is for auditors and approvers; ${p.id} is neither`);
    },
    errorHandler: problemHandler,
    maxEventBytes: options.maxLineageEventBytes,
  });
  await app.register(consoleRoutes, {
    policy,
    stores,
    globalStore,
    log,
    broker,
    stats,
    identify,
    personas: options.personas,
    signIn: options.consoleSignIn,
    logKeyFile: runtime.paths.logKey,
    flowLeaks: async () => {
      if (flowLeaks === undefined) throw new Error('the flow map routes did not start');
      return flowLeaks();
    },
  });
  app.get('/healthz', { schema: OPERATIONS_SCHEMAS.healthz }, async () => ({ status: 'ok' }));
  app.get('/readyz', { schema: OPERATIONS_SCHEMAS.readyz }, async (_req, reply) => {
    const results = await Promise.all(
      [...stores.values()].map(async (s) => ({
        store: s.name,
        ok: await s.ping().then(
          () => true,
          () => false,
        ),
      })),
    );
    const health = log.health();
    const ok = results.every((r) => r.ok) && health.ok;
    void reply.status(ok ? 200 : 503);
    return {
      status: ok ? 'ready' : 'unavailable',
      stores: results,
      log: health.ok ? { ok: true, size: log.size() } : health,
      ...(backdoorFinder.configured ? { backdoors: backdoorFinder.readiness() } : {}),
    };
  });
  app.get('/openapi.json', { schema: OPERATIONS_SCHEMAS.openapi }, async () => app.swagger());
  app.get('/metrics', { schema: OPERATIONS_SCHEMAS.metrics }, async (_req, reply) => {
    void reply.type(metrics.contentType);
    return metrics.text();
  });
  await app.ready();
  return {
    app,
    stores,
    placement,
    log,
    broker,
    decider,
    routes: () => [...routes],
    async keyAs(id, dataset, key) {
      const principal = policy.directory.principals.get(id);
      const found = principal && (await placement.read(dataset, key, { decrypt: new Set() }));
      if (!principal || !found) return undefined;
      const place = policy.deployment.locations.find((l) => l.site === principal.site);
      const caller: Caller = {
        principal,
        country: place?.country ?? principal.workCountry,
        site: principal.site,
        audience: audienceOf(principal),
        knownPlace: place !== undefined,
      };
      return recordKeys.out(caller, dataset, key, recordKeys.shownIn(caller, dataset, found));
    },
    pg,
    close: () => runtime.close(),
  };
}

/**
 * The broker's subjects as record keys of the scope's subject datasets (W6): out as the caller may
 * see each subject's key (clear where it sees that record's key in clear, otherwise its token, as
 * data responses give them), in as the caller was given them (its own token, or a clear key only of
 * a record whose key it sees in clear; anything else names no subject, whether or not a record has it).
 */
function subjectKeys(policy: Policy, placement: ReturnType<typeof createPlacement>, recordKeys: RecordKeys): SubjectKeys {
  const callerOf = (a: Actor): Caller => ({ ...a, audience: audienceOf(a.principal) });
  /** The datasets whose keys a scope's subjects are: each dataset's subject dataset (a user's videos: users). */
  const subjectDatasets = (datasets: readonly string[]): string[] => [
    ...new Set(datasets.flatMap((name) => policy.datasets.get(name) ?? []).map((d) => d.subjectDataset ?? d.name)),
  ];
  // What deciding on a key field reads of its record: the fields its category depends on.
  const inputs = new Map<string, ReadonlySet<string>>();
  const inputsOf = (dataset: string): ReadonlySet<string> => {
    let set = inputs.get(dataset);
    if (!set) {
      const d = policy.datasets.get(dataset)!;
      set = new Set(d.fields.get(d.key)?.conditions.map((c) => c.field) ?? []);
      inputs.set(dataset, set);
    }
    return set;
  };
  /** Whether `caller` sees the key of the record `key` of `dataset` in clear; undefined when there is none. */
  // A regional gateway's broker grants on its own region's subjects only: another region's subject
  // (OtherRegionError) is no subject here, whoever names it and however (no oracle, and no redirect
  // that a scope naming subjects of two regions would send round for ever).
  const hereOnly = async <T>(reading: () => T | Promise<T>): Promise<T | undefined> => {
    try {
      return await reading();
    } catch (err) {
      if (err instanceof OtherRegionError) return undefined;
      throw err;
    }
  };
  const shown = async (caller: Caller, dataset: string, key: string): Promise<boolean | undefined> => {
    const found = await hereOnly(() => placement.read(dataset, key, { decrypt: inputsOf(dataset) }));
    return found ? recordKeys.shownIn(caller, dataset, found) : undefined;
  };
  return {
    async in(actor, datasets, sent) {
      const caller = callerOf(actor);
      const sds = subjectDatasets(datasets);
      const opened = await Promise.all(
        sent.map(async (s) => {
          for (const sd of sds) {
            const k = await hereOnly(() => recordKeys.in(caller, sd, s));
            if (!k) continue;
            // A clear key is taken only for a record whose key the caller sees in clear, as data routes take it.
            if (!k.clear || (await shown(caller, sd, k.key)) === true) return k.key;
          }
          return undefined;
        }),
      );
      const unknown = opened.indexOf(undefined);
      return unknown >= 0 ? { unknown } : { keys: opened as string[] };
    },
    async out(actor, datasets, subjects) {
      const caller = callerOf(actor);
      const sds = subjectDatasets(datasets);
      return Promise.all(
        subjects.map(async (key) => {
          for (const sd of sds) {
            const clear = await shown(caller, sd, key);
            if (clear !== undefined) return recordKeys.out(caller, sd, key, clear);
          }
          // No record (deleted): in clear only for a caller who sees keys in clear in every jurisdiction.
          return sds[0] === undefined ? key : recordKeys.out(caller, sds[0], key);
        }),
      );
    },
  };
}

export { UNKNOWN_PLACE };
