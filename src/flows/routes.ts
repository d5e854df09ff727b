// The flow map over HTTP: OpenLineage intake (POST /api/v1/lineage, the path OpenLineage's HTTP
// transport uses), and for the console a node's neighbourhood, the leak paths and the undocumented
// tools. The graph is the policy's lineage files plus every event posted, judged by the policy.

import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Policy } from '../policy/index.js';
import type { Store } from '../store/index.js';
import { CordonError } from '../shared/errors.js';
import { HttpProblem, PROBLEM_CONTENT_TYPE } from '../shared/problem.js';
import type { FlowGraph } from './graph.js';
import type { FlowAnalysis, Leak } from './leaks.js';
import { eventKey, lineageValidator, loadFlowSources, type SourcedEvent } from './load.js';
import { flowMap, flowMapJson, type FlowMap } from './flow-map.js';
import { overviewGraph } from './overview.js';
import { canonicalDatasetUri } from '../shared/openlineage-naming.js';
import { FLOW_SCHEMAS as S } from './schemas.js';
import type { BackdoorFinder } from './audit/finder.js';
import { ensureSchemas } from '../shared/api-schema.js';

export const LINEAGE_LOG = 'lineage_events';
export const DEFAULT_MAX_EVENT_BYTES = 512 * 1024;
const MAX_BATCH = 1000;
const MAX_DEPTH = 5;
const MAX_NEIGHBOURS = 2000;

export interface FlowRoutesOptions {
  readonly policy: Policy;
  /** Where posted events are kept (append-only). */
  readonly store: Store;
  /** Identifies the caller (any directory principal may read the map). */
  identify(request: FastifyRequest): Promise<unknown>;
  /**
   * Identifies the caller and MUST throw (403 flows.forbidden) unless it may read the flow map
   * (auditors and approvers): the map names every place protected data goes, and how.
   */
  authorizeReader(request: FastifyRequest): Promise<void>;
  /**
   * Identifies the caller and MUST throw (403 flows.not_producer) unless the policy names it as a
   * lineage producer: posted events plant or hide leak paths. Called before the body is read.
   */
  authorizeProducer(request: FastifyRequest): Promise<void>;
  readonly errorHandler: (error: FastifyError | Error, request: FastifyRequest, reply: FastifyReply) => void;
  readonly maxEventBytes?: number;
  /** The backdoor finder: its findings and health join the leak analysis when it reads any audit trail. */
  readonly backdoors?: BackdoorFinder;
  /** Given, once the routes are made, what reads the map's current leak paths (the oversight report lists them). */
  readonly expose?: (leaks: () => Promise<readonly Leak[]>) => void;
}

interface Snapshot {
  readonly map: FlowMap;
  readonly analysis: FlowAnalysis;
  readonly adjacency: Map<string, { to: string; kind: string }[]>;
}

export async function flowRoutes(app: FastifyInstance, options: FlowRoutesOptions): Promise<void> {
  const { policy, store } = options;
  const maxBytes = options.maxEventBytes ?? DEFAULT_MAX_EVENT_BYTES;
  ensureSchemas(app);
  app.setErrorHandler((error: FastifyError, request, reply) => {
    if ((error as FastifyError).code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      const p = new HttpProblem('flows.event_too_large', `the lineage body is over ${maxBytes} bytes (the configured limit)`);
      void reply.status(p.status).type(PROBLEM_CONTENT_TYPE).send(p.body());
      return;
    }
    options.errorHandler(error, request, reply);
  });

  const files = loadFlowSources(policy);
  // Posted events live in the global store's LINEAGE_LOG (durable: a restart reads them back),
  // each distinct event (eventKey) once.
  let posted: { events: SourcedEvent[]; keys: Set<string> } | undefined;
  let snapshot: Snapshot | undefined;
  const postedEvents = async (): Promise<{ events: SourcedEvent[]; keys: Set<string> }> => {
    if (!posted) {
      const loaded = { events: [] as SourcedEvent[], keys: new Set<string>() };
      for (let after = 0; ; ) {
        const page = await store.readLog(LINEAGE_LOG, after, 5000);
        for (const row of page) {
          loaded.events.push({ source: `api#${row.index}`, event: row.entry });
          loaded.keys.add(eventKey(row.entry));
        }
        if (page.length < 5000) break;
        after = page[page.length - 1]!.index;
      }
      posted = loaded;
    }
    return posted;
  };
  const current = async (): Promise<Snapshot> => {
    if (!snapshot) {
      const map = flowMap(policy, [...files.events, ...(await postedEvents()).events], files.inventory);
      snapshot = { map, analysis: map.analysis, adjacency: adjacencyOf(map.graph, map.inventory.tools) };
    }
    return snapshot;
  };
  options.expose?.(async () => (await current()).analysis.leaks);
  // One intake at a time, so that an event posted twice at once is stored once.
  let intake: Promise<unknown> = Promise.resolve();

  // Who posts is decided on the request's headers, before its body is parsed: a caller who may not
  // post gets 403 whatever it sent (even a body over the limit), and nothing is stored.
  app.post(
    '/api/v1/lineage',
    {
      schema: S.lineage,
      config: { invalidCode: 'flows.invalid_event' },
      bodyLimit: maxBytes,
      onRequest: async (req) => options.authorizeProducer(req),
    },
    async (req, reply) => {
      const body = req.body;
      const events = Array.isArray(body) ? body : [body];
      if (events.length === 0 || events.length > MAX_BATCH)
        throw new HttpProblem('flows.invalid_event', `post one OpenLineage event, or a list of 1 to ${MAX_BATCH}`);
      const v = lineageValidator();
      const bad: { index: number; errors: unknown[] }[] = [];
      events.forEach((e, index) => {
        const r = v.validate(e);
        if (!r.ok) bad.push({ index, errors: r.errors.slice(0, 5) });
      });
      if (bad.length > 0) {
        const first = bad[0]!.errors[0] as { path: string; schemaPath: string; message: string };
        throw new HttpProblem(
          'flows.invalid_event',
          `${bad.length} of ${events.length} event(s) fail the OpenLineage schema (event ${bad[0]!.index}: ${first.path || '/'} fails ${first.schemaPath}: ${first.message}); none was stored`,
          { invalid: bad },
        );
      }
      const run = intake.then(async () => {
        const p = await postedEvents();
        const fresh: unknown[] = [];
        const freshKeys: string[] = [];
        for (const e of events) {
          const key = eventKey(e);
          if (p.keys.has(key) || freshKeys.includes(key)) continue;
          fresh.push(e);
          freshKeys.push(key);
        }
        if (fresh.length > 0) {
          const indexes = await store.appendMany(LINEAGE_LOG, fresh);
          for (const [i, index] of indexes.entries()) {
            p.events.push({ source: `api#${index}`, event: fresh[i] });
            p.keys.add(freshKeys[i]!);
          }
          snapshot = undefined;
        }
        return fresh.length;
      });
      intake = run.catch(() => undefined);
      const stored = await run;
      return reply.status(201).send({ stored, duplicates: events.length - stored });
    },
  );

  app.get('/v1/flows/leaks', { schema: S.leaks }, async (req) => {
    await options.authorizeReader(req);
    const finder = options.backdoors?.configured ? options.backdoors : undefined;
    return { ...flowMapJson((await current()).map), ...(finder ? { backdoors: finder.backdoors(), audit: finder.health() } : {}) };
  });
  app.get('/v1/flows/undocumented', { schema: S.undocumented }, async (req) => {
    await options.authorizeReader(req);
    return { undocumented: (await current()).analysis.undocumented };
  });
  app.get<{ Querystring: { after?: number; limit?: number } }>(
    '/v1/flows/events',
    { schema: S.events, config: { invalidCode: 'usage.invalid_argument' } },
    async (req) => {
      await options.authorizeReader(req);
      const after = req.query.after ?? 0;
      const limit = req.query.limit ?? 1000;
      const page = await store.readLog(LINEAGE_LOG, after, limit);
      return { events: page.map((r) => ({ index: r.index, event: r.entry })), next: page.length < limit ? null : page[page.length - 1]!.index };
    },
  );
  app.get('/v1/flows/graph', { schema: S.graph }, async (req) => {
    await options.authorizeReader(req);
    return overviewGraph(policy, (await current()).map);
  });
  app.get<{ Params: { id: string }; Querystring: { depth?: number } }>(
    '/v1/flows/nodes/:id',
    { schema: S.node, config: { invalidCode: 'usage.invalid_argument' } },
    async (req) => {
      await options.authorizeReader(req);
      // A whole number from 0 to MAX_DEPTH (the route's schema).
      const depth = Math.min(req.query.depth ?? 1, MAX_DEPTH);
      const s = await current();
      const id = req.params.id;
      if (!s.adjacency.has(id))
        throw new CordonError(
          'flows.not_found',
          `no node ${JSON.stringify(id.slice(0, 200))}; ids are dataset:<namespace>/<name>, column:<namespace>/<name>#<field>, job:<namespace>/<name>, tool:<name>`,
        );
      const seen = new Set([id]);
      const edges: { from: string; to: string; kind: string }[] = [];
      let frontier = [id];
      for (let d = 0; d < depth && frontier.length > 0 && seen.size < MAX_NEIGHBOURS; d++) {
        const next: string[] = [];
        for (const n of frontier) {
          for (const e of s.adjacency.get(n) ?? []) {
            edges.push({ from: n, to: e.to, kind: e.kind });
            if (!seen.has(e.to) && seen.size < MAX_NEIGHBOURS) {
              seen.add(e.to);
              next.push(e.to);
            }
          }
        }
        frontier = next;
      }
      const leaking = new Set(s.analysis.leaks.flatMap((l) => l.path.map((p) => p.node)));
      const uniq = new Map(edges.filter((e) => seen.has(e.to)).map((e) => [[e.from, e.to].sort().join('\u0000') + e.kind, e]));
      return {
        node: id,
        depth,
        nodes: [...seen].map((n) => ({
          id: n,
          type: n.slice(0, n.indexOf(':')),
          labels: n.startsWith('column:') ? s.analysis.labelsOf(n.slice('column:'.length)) : [],
          onLeakPath: leaking.has(n),
        })),
        edges: [...uniq.values()],
      };
    },
  );
}

/** Undirected neighbourhood edges: dataset-column, job-dataset (input/output), column lineage, tool reads. */
function adjacencyOf(graph: FlowGraph, tools: readonly { name: string; reads: readonly string[] }[]): Map<string, { to: string; kind: string }[]> {
  const adj = new Map<string, { to: string; kind: string }[]>();
  const link = (a: string, b: string, kind: string) => {
    (adj.get(a) ?? adj.set(a, []).get(a)!).push({ to: b, kind });
    (adj.get(b) ?? adj.set(b, []).get(b)!).push({ to: a, kind });
  };
  for (const d of graph.datasets.values()) {
    adj.set(`dataset:${d.id}`, adj.get(`dataset:${d.id}`) ?? []);
    for (const c of d.columns) link(`dataset:${d.id}`, `column:${graph.columnIds[c]!}`, 'column');
  }
  for (const j of graph.jobs.values()) {
    for (const i of j.inputs) link(`dataset:${i}`, `job:${j.id}`, 'input');
    for (const o of j.outputs) link(`job:${j.id}`, `dataset:${o}`, 'output');
  }
  for (let e = 0; e < graph.edgeCount; e++)
    link(
      `column:${graph.columnIds[graph.edgeFrom[e]!]!}`,
      `column:${graph.columnIds[graph.edgeTo[e]!]!}`,
      ['direct', 'indirect', 'masked'][graph.edgeKind[e]!]!,
    );
  for (const t of tools) {
    adj.set(`tool:${t.name}`, adj.get(`tool:${t.name}`) ?? []);
    for (const r of t.reads) link(`tool:${t.name}`, `dataset:${canonicalDatasetUri(r)}`, 'reads');
  }
  return adj;
}
