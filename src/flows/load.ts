// Reading what the flow map is built from: OpenLineage events from JSON and NDJSON files (or folders
// of them), each validated before any is used, and the tool inventory; and building the graph.

import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { Policy } from '../policy/index.js';
import { CordonError } from '../shared/errors.js';
import { didYouMean } from '../shared/suggest.js';
import { FlowGraph, type GraphEvent } from './graph.js';
import { parseInventory, type Inventory } from './inventory.js';
import { parseLineageEvent } from './lineage-event.js';
import { createLineageValidator, type LineageValidator } from './openlineage.js';

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

export function toGraphEvent(e: SourcedEvent): GraphEvent {
  const p = parseLineageEvent(e.event);
  return { source: e.source, job: p.job, runId: p.runId, inputs: p.inputs, outputs: p.dataset ? [...p.outputs, p.dataset] : p.outputs };
}

export function buildGraph(events: readonly SourcedEvent[]): FlowGraph {
  const g = new FlowGraph();
  for (const e of events) g.addEvent(toGraphEvent(e));
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
