// Benchmark of the flow map, in one run:
//  1. leak-path analysis of a generated graph (default 1,000,000 column edges over 100,000 columns,
//     10,000 datasets in 12 places, 200 tools with exports), against a baseline that only walks the
//     same edges (plain reachability from the same seed columns, no labels, no paths): the ratio is
//     cordon's time over the baseline's; goal: analysis <= 5 s;
//  2. peak memory (max RSS) of the process;
//  3. ingestion: OpenLineage events/s validated against the schemas, parsed and added to a graph,
//     against JSON.parse of the same events.
// Prints a table, then one JSON line.
//
//   npm run bench -- flows [--edges N] [--columns N] [--events N]

import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { loadPolicy, type FlowPlace, type Policy } from '../src/policy/index.js';
import { analyzeFlows, buildGraph, checkEvents, FlowGraph, lineageValidator, type Inventory, type SourcedEvent } from '../src/flows/index.js';
import { mulberry32 } from '../src/shared/random.js';

const { values: opts } = parseArgs({
  options: {
    edges: { type: 'string', default: '1000000' },
    columns: { type: 'string', default: '100000' },
    events: { type: 'string', default: '20000' },
  },
});
const EDGES = Number(opts.edges);
const COLUMNS = Number(opts.columns);
const EVENTS = Number(opts.events);
const PER_DATASET = 10;
const DEMO = fileURLToPath(new URL('../../policies/demo', import.meta.url));
const quiet = !process.stderr.isTTY;
const say = (s: string) => {
  if (!quiet) process.stderr.write(`${s}\n`);
};

const COUNTRIES = ['US', 'US', 'US', 'US', 'IE', 'DE', 'SG', 'CN', 'BR', 'US', 'FR', 'NL'];
const CATEGORIES = [
  'user.contact.phone_number',
  'user.contact.email',
  'user.device.device_id',
  'user.device.ip_address',
  'user.demographic.date_of_birth',
  'user.unique_id',
];

function benchPolicy(base: Policy): Policy {
  const places: FlowPlace[] = COUNTRIES.map((country, i) => ({ namespace: `postgres://db-${i}:5432`, country, region: undefined, holds: i < 3 ? ['US'] : [] }));
  return { ...base, deployment: { ...base.deployment, flows: { lineage: [], inventory: [], places, datasets: new Map(), stores: [], producers: [] } } };
}

function generate(rand: () => number): { graph: FlowGraph; inventory: Inventory; categories: Map<string, string[]>; seeds: number[] } {
  const g = new FlowGraph();
  const datasets = Math.ceil(COLUMNS / PER_DATASET);
  for (let d = 0; d < datasets; d++) for (let f = 0; f < PER_DATASET; f++) g.column(`postgres://db-${d % COUNTRIES.length}:5432`, `schema.t${d}`, `c${f}`);
  g.sources.push('generated');
  const n = g.columnIds.length;
  // Mostly forward edges (a pipeline), some backwards (cycles); 80% direct, 15% indirect, 5% masked.
  // The graph keeps one edge per (from, to, kind): draw until EDGES distinct ones are kept.
  for (let e = 0; g.edgeCount < EDGES; e++) {
    const from = Math.floor(rand() * n);
    const to = rand() < 0.9 ? Math.min(n - 1, from + 1 + Math.floor(rand() * 2000)) : Math.floor(rand() * n);
    const r = rand();
    g.addColumnEdge(from, to, r < 0.8 ? 0 : r < 0.95 ? 1 : 2, 0, `job-${e % 5000}`);
  }
  g.finish();
  const categories = new Map<string, string[]>();
  const seeds: number[] = [];
  for (let c = 0; c < n; c += 100) {
    categories.set(g.columnIds[c]!, [CATEGORIES[c % CATEGORIES.length]!]);
    seeds.push(c);
  }
  const tools = Array.from({ length: 200 }, (_, i) => ({
    name: `tool-${i}`,
    owner: 'us-marketing',
    purpose: 'reports',
    country: COUNTRIES[i % COUNTRIES.length],
    region: undefined,
    reads: [`postgres://db-${i % COUNTRIES.length}:5432/schema.t${Math.floor(rand() * datasets)}`],
    writes: [],
    exports: i % 4 === 0 ? [{ kind: 'chat', to: `slack://c${i}`, country: 'SG', line: i }] : [],
    users: ['us-marketing'],
    where: `generated:${i}`,
  }));
  return { graph: g, inventory: { tools, jobs: [] }, categories, seeds };
}

/** The baseline: breadth-first reachability from the seeds over the same edges (CSR), nothing else. */
function reachability(g: FlowGraph, seeds: readonly number[]): number {
  const n = g.columnIds.length;
  const start = new Int32Array(n + 1);
  for (let e = 0; e < g.edgeCount; e++) start[g.edgeFrom[e]! + 1]!++;
  for (let i = 0; i < n; i++) start[i + 1]! += start[i]!;
  const to = new Int32Array(g.edgeCount);
  const fill = start.slice(0, n);
  for (let e = 0; e < g.edgeCount; e++) to[fill[g.edgeFrom[e]!]!++] = g.edgeTo[e]!;
  const seen = new Uint8Array(n);
  const queue = [...seeds];
  for (const s of seeds) seen[s] = 1;
  for (let h = 0; h < queue.length; h++) {
    const c = queue[h]!;
    for (let k = start[c]!; k < start[c + 1]!; k++) {
      const t = to[k]!;
      if (!seen[t]) {
        seen[t] = 1;
        queue.push(t);
      }
    }
  }
  return queue.length;
}

function event(i: number): unknown {
  const ns = `postgres://db-${i % COUNTRIES.length}:5432`;
  const field = (name: string) => ({ name, type: 'VARCHAR' });
  return {
    eventType: 'COMPLETE',
    eventTime: '2026-11-20T01:00:00.000Z',
    run: { runId: `0198a3b2-7c4d-7e5f-8a9b-${String(i).padStart(12, '0')}` },
    job: { namespace: 'bench', name: `job-${i % 500}` },
    producer: 'https://github.com/cordon/bench',
    schemaURL: 'https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent',
    inputs: [
      {
        namespace: ns,
        name: `schema.t${i}`,
        facets: {
          schema: {
            _producer: 'https://github.com/cordon/bench',
            _schemaURL: 'https://openlineage.io/spec/facets/1-2-0/SchemaDatasetFacet.json#/$defs/SchemaDatasetFacet',
            fields: ['a', 'b', 'c', 'd'].map(field),
          },
        },
      },
    ],
    outputs: [
      {
        namespace: ns,
        name: `schema.t${i + 1}`,
        facets: {
          schema: {
            _producer: 'https://github.com/cordon/bench',
            _schemaURL: 'https://openlineage.io/spec/facets/1-2-0/SchemaDatasetFacet.json#/$defs/SchemaDatasetFacet',
            fields: ['a', 'b', 'c', 'd'].map(field),
          },
          columnLineage: {
            _producer: 'https://github.com/cordon/bench',
            _schemaURL: 'https://openlineage.io/spec/facets/1-2-0/ColumnLineageDatasetFacet.json#/$defs/ColumnLineageDatasetFacet',
            fields: Object.fromEntries(
              ['a', 'b', 'c', 'd'].map((f) => [
                f,
                {
                  inputFields: [{ namespace: ns, name: `schema.t${i}`, field: f, transformations: [{ type: 'DIRECT', subtype: 'IDENTITY', masking: false }] }],
                },
              ]),
            ),
          },
        },
      },
    ],
  };
}

async function main(): Promise<void> {
  const loaded = loadPolicy(DEMO);
  if (!loaded.ok) throw new Error('the demo policy does not load');
  const policy = benchPolicy(loaded.policy);
  const rand = mulberry32(7);

  say(`generating ${EDGES} edges over ${COLUMNS} columns…`);
  const t0 = performance.now();
  const { graph, inventory, categories, seeds } = generate(rand);
  const buildMs = performance.now() - t0;

  reachability(graph, seeds); // warm
  const b0 = performance.now();
  const reached = reachability(graph, seeds);
  const baselineMs = performance.now() - b0;

  say('analysing…');
  const a0 = performance.now();
  const analysis = analyzeFlows(policy, graph, inventory, { columnCategories: categories });
  const analysisMs = performance.now() - a0;
  const peakRssMb = process.resourceUsage().maxRSS / 1024;

  say(`ingesting ${EVENTS} events…`);
  const events: SourcedEvent[] = Array.from({ length: EVENTS }, (_, i) => ({ source: `bench#${i}`, event: event(i) }));
  const texts = events.map((e) => JSON.stringify(e.event));
  lineageValidator();
  const p0 = performance.now();
  for (const t of texts) JSON.parse(t);
  const parseMs = performance.now() - p0;
  const i0 = performance.now();
  const parsed = texts.map((t, i) => ({ source: `bench#${i}`, event: JSON.parse(t) as unknown }));
  checkEvents(parsed);
  const ingested = buildGraph(parsed);
  const ingestMs = performance.now() - i0;
  const eventsPerS = EVENTS / (ingestMs / 1000);

  const rows: [string, string][] = [
    [
      'graph',
      `${graph.columnIds.length} columns, ${graph.edgeCount} column edges, ${graph.datasets.size} datasets, ${inventory.tools.length} tools (generated in ${buildMs.toFixed(0)} ms)`,
    ],
    ['baseline: reachability', `${baselineMs.toFixed(0)} ms (${reached} columns reached)`],
    [
      'cordon: leak paths',
      `${analysisMs.toFixed(0)} ms (goal <= 5000 ms): ${analysis.leaks.length} leak paths, ${analysis.stats.labelledColumns} labelled columns, ${analysis.stats.labels} labels`,
    ],
    ['ratio (cordon / baseline)', `${(analysisMs / baselineMs).toFixed(1)}x`],
    ['peak memory (max RSS)', `${peakRssMb.toFixed(0)} MB`],
    ['ingestion (validate, parse, graph)', `${Math.round(eventsPerS)} events/s (${EVENTS} events; ${ingested.edgeCount} column edges)`],
    ['baseline: JSON.parse only', `${Math.round(EVENTS / (parseMs / 1000))} events/s`],
  ];
  const w = Math.max(...rows.map((r) => r[0].length));
  process.stdout.write(`${rows.map(([k, v]) => `${k.padEnd(w)}  ${v}`).join('\n')}\n`);
  process.stdout.write(
    `${JSON.stringify({ bench: 'flows', edges: graph.edgeCount, columns: graph.columnIds.length, analysis_ms: Math.round(analysisMs), baseline_ms: Math.round(baselineMs), ratio: Number((analysisMs / baselineMs).toFixed(2)), goal_ms: 5000, leaks: analysis.leaks.length, peak_rss_mb: Math.round(peakRssMb), ingest_events_per_s: Math.round(eventsPerS), parse_only_events_per_s: Math.round(EVENTS / (parseMs / 1000)) })}\n`,
  );
}

await main();
