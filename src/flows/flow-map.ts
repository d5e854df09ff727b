// The flow map as the CLI prints it and the server serves it: the graph of the lineage (each
// distinct event once, every run folded), the inventory completed by the jobs' own ownership and
// documentation facets, the leak analysis, and what the analysis could not judge: datasets whose
// names follow no OpenLineage convention, and unmapped datasets with columns named like protected
// catalog fields that no protected category reached.

import { classOf, type Policy } from '../policy/index.js';
import type { FlowGraph } from './graph.js';
import type { Inventory, InventoryJob } from './inventory.js';
import { analyzeFlows, type FlowAnalysis } from './leaks.js';
import { buildGraph, type SourcedEvent } from './load.js';
import { datasetResolver } from './resolve.js';
import { canonicalDatasetUri } from '../shared/openlineage-naming.js';

export interface PossiblyProtected {
  /** `namespace/name` of a dataset no catalog dataset maps. */
  readonly dataset: string;
  readonly column: string;
  /** Catalog fields (`dataset.field`) it is named like, and their protected categories. */
  readonly like: readonly string[];
  readonly categories: readonly string[];
  readonly evidence: string | undefined;
}

export interface Unconventional {
  readonly dataset: string;
  readonly problem: string;
  readonly evidence: string | undefined;
}

export interface FlowMap {
  readonly graph: FlowGraph;
  readonly inventory: Inventory;
  readonly analysis: FlowAnalysis;
  readonly possiblyProtected: readonly PossiblyProtected[];
  readonly unconventional: readonly Unconventional[];
}

/** Judges the lineage events (files first, then posted ones) and the inventory by the policy. */
export function flowMap(policy: Policy, events: readonly SourcedEvent[], fileInventory: Inventory): FlowMap {
  const graph = buildGraph(events);
  const inventory = withJobFacets(fileInventory, graph);
  const analysis = analyzeFlows(policy, graph, inventory);
  return { graph, inventory, analysis, possiblyProtected: possiblyProtected(policy, graph, analysis), unconventional: unconventional(policy, graph) };
}

/** The JSON of `cordon flows leaks --json` and GET /v1/flows/leaks (the same, byte for byte, on the same events). */
export function flowMapJson(m: FlowMap): Record<string, unknown> {
  const { labelsOf: _labelsOf, stats, ...rest } = m.analysis;
  return { ...rest, possiblyProtected: m.possiblyProtected, unconventional: m.unconventional, stats: { ...stats, runs: m.graph.runs.size } };
}

/** True when the map has something to act on: a leak path, or a column that may be protected and is not mapped. */
export function hasFindings(m: FlowMap): boolean {
  return m.analysis.leaks.length > 0 || m.possiblyProtected.length > 0;
}

/**
 * Jobs the inventory files do not describe, or describe without owner or purpose, take them from
 * their `ownership` facet (owner names) and `documentation` facet (description); the inventory
 * files win where both say something.
 */
export function withJobFacets(inventory: Inventory, graph: FlowGraph): Inventory {
  const byId = new Map(inventory.jobs.map((j) => [j.id, j]));
  const jobs: InventoryJob[] = [];
  const used = new Set<InventoryJob>();
  for (const g of graph.jobs.values()) {
    if (g.owners.length === 0 && g.description === undefined) continue;
    const inv = byId.get(g.id) ?? byId.get(g.name);
    if (inv && inv.owner !== undefined && inv.purpose !== undefined) continue;
    if (inv) used.add(inv);
    jobs.push({
      id: inv?.id ?? g.id,
      owner: inv?.owner ?? g.owners[0],
      purpose: inv?.purpose ?? g.description,
      country: inv?.country,
      where: inv?.where ?? `${g.evidence[0] ?? g.id} (ownership and documentation facets)`,
    });
  }
  return { tools: inventory.tools, jobs: [...inventory.jobs.filter((j) => !used.has(j)), ...jobs] };
}

const normal = (name: string): string => name.toLowerCase().replace(/[^a-z0-9]/g, '');

function possiblyProtected(policy: Policy, graph: FlowGraph, analysis: FlowAnalysis): PossiblyProtected[] {
  const jurisdictions = [...policy.deployment.jurisdictions.keys()];
  // Normalised field name -> catalog fields of that name whose category is protected somewhere.
  const protectedNames = new Map<string, { like: string; category: string }[]>();
  for (const d of policy.datasets.values()) {
    for (const [name, f] of d.fields) {
      for (const category of new Set([f.category, ...f.conditions.map((c) => c.category)])) {
        if (!jurisdictions.some((j) => classOf(policy.classes, policy.taxonomy, j, category) === 'protected')) continue;
        const key = normal(name);
        const list = protectedNames.get(key) ?? protectedNames.set(key, []).get(key)!;
        list.push({ like: `${d.name}.${name}`, category });
      }
    }
  }
  const resolve = datasetResolver(policy);
  const out: PossiblyProtected[] = [];
  for (const d of graph.datasets.values()) {
    if (resolve(d.namespace, d.name).catalog !== undefined) continue;
    for (const c of d.columns) {
      const id = graph.columnIds[c]!;
      const column = id.slice(d.id.length + 1);
      const matches = protectedNames.get(normal(column.slice(column.lastIndexOf('.') + 1)));
      if (!matches || analysis.labelsOf(id).length > 0) continue;
      out.push({
        dataset: d.id,
        column,
        like: [...new Set(matches.map((m) => m.like))].sort(),
        categories: [...new Set(matches.map((m) => m.category))].sort(),
        evidence: d.evidence[0],
      });
    }
  }
  return out.sort((a, b) => (a.dataset + a.column < b.dataset + b.column ? -1 : 1));
}

function unconventional(policy: Policy, graph: FlowGraph): Unconventional[] {
  // A dataset the policy names exactly (flows.datasets) is vouched for, whatever its name.
  const named = new Set([...policy.deployment.flows.datasets.keys()].map(canonicalDatasetUri));
  const out: Unconventional[] = [];
  for (const [id, problem] of graph.namingProblems) {
    if (named.has(id)) continue;
    out.push({ dataset: id, problem, evidence: graph.datasets.get(id)!.evidence[0] });
  }
  return out.sort((a, b) => (a.dataset < b.dataset ? -1 : 1));
}
