// Reading what the flow map is built from: OpenLineage events from JSON and NDJSON files (or folders
// of them), each validated before any is used, and the tool inventory; and building the graph.

import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { Policy } from '../policy/index.js';
import { CordonError } from '../shared/errors.js';
import { didYouMean } from '../shared/suggest.js';
import { canonicalDataset } from '../shared/openlineage-naming.js';
import { FlowGraph, type GraphDataset, type GraphEvent } from './graph.js';
import { parseInventory, type Inventory } from './inventory.js';
import { parseLineageEvent, type LineageDataset } from './lineage-event.js';
import { createLineageValidator, isRecord, type LineageValidator } from './openlineage.js';

export interface SourcedEvent {
  /** `file:line` (NDJSON), `file#index` (a JSON array), `file` (one JSON object), or `api#n`. */
  readonly source: string;
  readonly event: unknown;
}

let sharedValidator: LineageValidator | undefined;
export function lineageValidator(): LineageValidator {
  sharedValidator ??= createLineageValidator();
  return sharedValidator;
}

/** Files under a path: the file itself, or every .json/.ndjson/.jsonl file below a folder, sorted. */
function filesUnder(path: string): string[] {
  if (!existsSync(path)) throw new CordonError('flows.unreadable', `${path} does not exist`);
  if (!statSync(path).isDirectory()) return [path];
  return readdirSync(path, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && /\.(json|ndjson|jsonl)$/.test(e.name))
    .map((e) => join(e.parentPath, e.name))
    .sort();
}

/** Reads the events of a file; throws flows.unreadable naming the file and line of a JSON error. */
export function readEventFile(file: string, shownAs = file): SourcedEvent[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new CordonError('flows.unreadable', `${shownAs}: ${(err as Error).message}`);
  }
  if (text.includes('\u0000')) throw new CordonError('flows.unreadable', `${shownAs}: a binary file, not JSON or NDJSON`);
  const trimmed = text.trimStart();
  if (trimmed.startsWith('[') || (trimmed.startsWith('{') && !/\n\s*\{/.test(trimmed.trimEnd()))) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (err) {
      throw new CordonError('flows.unreadable', `${shownAs}: not valid JSON: ${(err as Error).message}`);
    }
    return Array.isArray(parsed) ? parsed.map((event, i) => ({ source: `${shownAs}#${i}`, event })) : [{ source: shownAs, event: parsed }];
  }
  const out: SourcedEvent[] = [];
  text.split('\n').forEach((line, i) => {
    if (line.trim() === '') return;
    try {
      out.push({ source: `${shownAs}:${i + 1}`, event: JSON.parse(line) });
    } catch (err) {
      throw new CordonError('flows.unreadable', `${shownAs}:${i + 1}: not valid JSON: ${(err as Error).message}`);
    }
  });
  return out;
}

export function readEvents(paths: readonly string[], base = process.cwd()): SourcedEvent[] {
  return paths.flatMap((p) => filesUnder(p).flatMap((f) => readEventFile(f, relative(base, f) || f)));
}

/** Validates every event; throws flows.invalid_event naming each bad event and the schema path, and uses none. */
export function checkEvents(events: readonly SourcedEvent[]): void {
  const v = lineageValidator();
  const bad: string[] = [];
  for (const e of events) {
    const r = v.validate(e.event);
    if (!r.ok)
      bad.push(
        `${e.source}: ${r.errors
          .slice(0, 3)
          .map((x) => `${x.path || '/'} fails ${x.schemaPath}: ${x.message}`)
          .join('; ')}`,
      );
    if (bad.length >= 20) break;
  }
  if (bad.length > 0)
    throw new CordonError(
      'flows.invalid_event',
      `${bad.length === 20 ? 'at least ' : ''}${bad.length} event(s) fail the OpenLineage schema; none was used:\n${bad.join('\n')}`,
    );
}

/** A dataset with its namespace and name, and those its column lineage names, in canonical form (OpenLineage naming). */
function canonical(ds: LineageDataset): GraphDataset {
  const c = canonicalDataset(ds.namespace, ds.name);
  const columnLineage = ds.columnLineage.map((cl) => ({
    field: cl.field,
    inputs: cl.inputs.map((i) => {
      const ci = canonicalDataset(i.namespace, i.name);
      return { ...i, namespace: ci.namespace, name: ci.name };
    }),
  }));
  return {
    namespace: c.namespace,
    name: c.name,
    fields: ds.fields,
    columnLineage,
    datasetTags: ds.datasetTags,
    ...(c.problem === undefined ? {} : { namingProblem: c.problem }),
  };
}

export function toGraphEvent(e: SourcedEvent): GraphEvent {
  const p = parseLineageEvent(e.event);
  const outputs = p.dataset ? [...p.outputs, p.dataset] : p.outputs;
  return {
    source: e.source,
    job: p.job,
    runId: p.runId,
    eventType: p.eventType ?? (p.kind === 'RunEvent' ? undefined : p.kind),
    eventTime: p.eventTime,
    producer: p.producer,
    jobOwners: p.jobOwners,
    jobDescription: p.jobDescription,
    inputs: p.inputs.map(canonical),
    outputs: outputs.map(canonical),
  };
}

/**
 * What makes two events the same: the run id and event type, and the SHA-256 of the event's JSON
 * with its keys sorted. The same event posted twice (a transport's retry, a replayed file) counts
 * once; two different events of one run with one type both count, and fold (FlowGraph.addEvent).
 */
export function eventKey(event: unknown): string {
  const run = isRecord(event) && isRecord(event.run) && typeof event.run.runId === 'string' ? event.run.runId : '-';
  const type = isRecord(event) && typeof event.eventType === 'string' ? event.eventType : '-';
  return `${run}|${type}|${createHash('sha256').update(sortedJson(event)).digest('hex')}`;
}

function sortedJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(sortedJson).join(',')}]`;
  if (isRecord(value))
    return `{${Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${sortedJson(value[k])}`)
      .join(',')}}`;
  return JSON.stringify(value) ?? 'null';
}

/** The graph of the events, each distinct event (`eventKey`) once, in the order given. */
export function buildGraph(events: readonly SourcedEvent[]): FlowGraph {
  const g = new FlowGraph();
  const seen = new Set<string>();
  for (const e of events) {
    const key = eventKey(e.event);
    if (seen.has(key)) continue;
    seen.add(key);
    g.addEvent(toGraphEvent(e));
  }
  g.finish();
  return g;
}

export interface FlowSources {
  readonly events: SourcedEvent[];
  readonly inventory: Inventory;
}

/** The lineage and inventory files a policy names (cordon.yaml flows), checked. */
export function loadFlowSources(policy: Policy): FlowSources {
  const flows = policy.deployment.flows;
  for (const [lineageDataset, catalog] of flows.datasets) {
    if (!policy.datasets.has(catalog))
      throw new CordonError(
        'flows.unknown_dataset',
        `cordon.yaml flows.datasets maps ${lineageDataset} to ${JSON.stringify(catalog)}, which the catalog does not define${didYouMean(catalog, policy.datasets.keys())}`,
      );
  }
  const events = readEvents(
    flows.lineage.map((p) => join(policy.dir, p)),
    policy.dir,
  );
  checkEvents(events);
  const tools: Inventory['tools'][number][] = [];
  const jobs: Inventory['jobs'][number][] = [];
  for (const p of flows.inventory) {
    const file = join(policy.dir, p);
    if (!existsSync(file)) throw new CordonError('flows.unreadable', `${p} (cordon.yaml flows.inventory) does not exist`);
    const inv = parseInventory(readFileSync(file, 'utf8'), p, policy.directory);
    tools.push(...inv.tools);
    jobs.push(...inv.jobs);
  }
  return { events, inventory: { tools, jobs } };
}
