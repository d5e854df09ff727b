// The flow map drawn for people (GET /v1/flows/graph, the console's flow page): every leak path's
// steps, the teams that use and own the tools on them, and the places (country, region) where each
// dataset, tool and export is; each edge with its evidence (job, run id, event time, producer, or
// the inventory line), and a short readable label on every node.

import type { Policy } from '../policy/index.js';
import type { FlowMap } from './flow-map.js';
import { placeResolver } from './leaks.js';

export interface OverviewNode {
  readonly id: string;
  readonly type: 'column' | 'dataset' | 'tool' | 'export' | 'team' | 'place' | 'job';
  readonly label: string;
  readonly country?: string;
  readonly onLeakPath: boolean;
}

export interface OverviewEdge {
  readonly id: string;
  readonly from: string;
  readonly to: string;
  /** `direct`, `indirect`, `reads`, `exports` (a leak path's steps), `uses`, `owns`, `at`. */
  readonly kind: string;
  readonly via?: string;
  readonly evidence?: string;
  readonly runId?: string;
  /** Ids of the leaks whose path takes this edge. */
  readonly leaks: readonly string[];
}

const UNMAPPED = 'place:unmapped';

function placeId(country: string | undefined, region: string | undefined): string {
  return country === undefined ? UNMAPPED : `place:${country}${region ? `/${region}` : ''}`;
}

/** A node's label: what a reader recognises, never cut at the start. */
function labelOf(id: string): string {
  const body = id.slice(id.indexOf(':') + 1);
  if (id.startsWith('column:')) {
    const hash = body.lastIndexOf('#');
    const ds = body.slice(0, hash);
    const ns = ds.slice(0, ds.indexOf('/', ds.indexOf('://') + 3));
    // The table and field first, then the source without its scheme: short lines a graph can wrap.
    return `${ds.slice(ns.length + 1)} · ${body.slice(hash + 1)}\n${ns.replace(/^[a-z0-9+.-]+:\/\//i, '')}`;
  }
  if (id === UNMAPPED) return 'unmapped place';
  if (id.startsWith('place:')) return body.replace('/', ' · ');
  return body;
}

export function overviewGraph(policy: Policy, m: FlowMap): { nodes: OverviewNode[]; edges: OverviewEdge[] } {
  const placeOf = placeResolver(policy.deployment.flows.places);
  const nodes = new Map<string, OverviewNode>();
  const edges = new Map<string, { id: string; from: string; to: string; kind: string; via?: string; evidence?: string; runId?: string; leaks: string[] }>();
  const node = (id: string, type: OverviewNode['type'], onLeakPath: boolean, country?: string) => {
    const old = nodes.get(id);
    if (!old || (onLeakPath && !old.onLeakPath))
      nodes.set(id, { id, type, label: labelOf(id), ...(country === undefined ? {} : { country }), onLeakPath: onLeakPath || (old?.onLeakPath ?? false) });
  };
  const edge = (from: string, to: string, kind: string, extra: { via?: string; evidence?: string; runId?: string } = {}, leak?: string) => {
    const id = `${from}->${to}`;
    const e = edges.get(id) ?? { id, from, to, kind, ...extra, leaks: [] };
    if (leak && !e.leaks.includes(leak)) e.leaks.push(leak);
    edges.set(id, e);
  };
  const tools = new Map(m.inventory.tools.map((t) => [t.name, t]));
  const exportCountry = new Map(m.inventory.tools.flatMap((t) => t.exports.map((x) => [x.to, x.country] as const)));
  for (const l of m.analysis.leaks) {
    l.path.forEach((s, i) => {
      const type = s.node.slice(0, s.node.indexOf(':')) as OverviewNode['type'];
      node(s.node, type, true);
      if (i > 0) {
        const kind = s.via.startsWith('reads') ? 'reads' : s.via.startsWith('exports') ? 'exports' : s.via.startsWith('indirect') ? 'indirect' : 'direct';
        edge(l.path[i - 1]!.node, s.node, kind, { via: s.via, ...(s.evidence ? { evidence: s.evidence } : {}), ...(s.runId ? { runId: s.runId } : {}) }, l.id);
      }
    });
  }
  // Where each node on a path is, and who uses and owns its tools.
  for (const n of [...nodes.values()]) {
    let place: string | undefined;
    let country: string | undefined;
    let evidence: string | undefined;
    if (n.type === 'column') {
      const ds = m.graph.datasets.get(m.graph.columnDataset[m.graph.columnOf(n.id.slice('column:'.length))!]!);
      const p = ds ? placeOf(ds.namespace) : undefined;
      place = placeId(p?.country, p?.region);
      country = p?.country;
      evidence = p ? `cordon.yaml flows.places ${p.namespace}` : 'no entry of cordon.yaml flows.places maps it';
    } else if (n.type === 'tool') {
      const t = tools.get(n.id.slice('tool:'.length));
      place = placeId(t?.country, t?.region);
      country = t?.country;
      evidence = t?.where;
      for (const team of t?.users ?? []) {
        node(`team:${team}`, 'team', false);
        edge(`team:${team}`, n.id, 'uses', { evidence: t!.where });
      }
      if (t?.owner) {
        node(`team:${t.owner}`, 'team', false);
        edge(`team:${t.owner}`, n.id, 'owns', { evidence: t.where });
      }
    } else if (n.type === 'export') {
      country = exportCountry.get(n.id.slice('export:'.length));
      place = placeId(country, undefined);
    }
    if (place) {
      node(place, 'place', false, country);
      edge(n.id, place, 'at', evidence ? { evidence } : {});
    }
  }
  return { nodes: [...nodes.values()], edges: [...edges.values()] };
}
