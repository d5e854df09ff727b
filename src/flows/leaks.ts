// Leak paths: every path by which a category that is protected in a jurisdiction reaches a dataset,
// tool or export outside that jurisdiction's enclave countries (or at a place nobody mapped), or a
// tool used by a team the rules never let see it. Categories start at columns (from the catalog and
// from OpenLineage tags), labelled with the jurisdictions whose data their place holds, and spread
// along column lineage.

import { classOf, createDecider, type Decider, type FlowPlace, type GrantInfo, type Policy } from '../policy/index.js';
import { DIRECT, INDIRECT, MASKED, type FlowGraph } from './graph.js';
import type { Inventory } from './inventory.js';
import { datasetResolver } from './resolve.js';
import { canonicalDatasetUri, canonicalNamespace } from '../shared/openlineage-naming.js';

export type LeakKind = 'outside_enclave' | 'unknown_place' | 'team_not_allowed';

export interface PathStep {
  /** `column:…`, `tool:…`, `export:…` */
  readonly node: string;
  /** How the step was reached: `origin`, `direct`, `indirect` (column lineage, with the job), `reads`, `exports`. */
  readonly via: string;
  readonly evidence: string | undefined;
  /** The run whose event stated the step (column lineage from a run event). */
  readonly runId?: string;
}

export interface Leak {
  readonly id: string;
  readonly sink: { readonly type: 'dataset' | 'tool' | 'export'; readonly id: string; readonly country: string | undefined };
  readonly category: string;
  readonly jurisdiction: string;
  /** `indirect`: the category reaches only through indirect lineage (filters, joins, aggregates). */
  readonly mode: 'direct' | 'indirect';
  readonly reasons: readonly { readonly kind: LeakKind; readonly rule: string }[];
  readonly path: readonly PathStep[];
}

export interface Undocumented {
  readonly type: 'tool' | 'job';
  readonly id: string;
  readonly missing: readonly ('owner' | 'purpose' | 'inventory')[];
  readonly where: string | undefined;
}

export interface FlowAnalysis {
  readonly leaks: readonly Leak[];
  readonly undocumented: readonly Undocumented[];
  /** Namespaces no place maps (reported, never assumed safe). */
  readonly unknownPlaces: readonly string[];
  readonly dangling: readonly string[];
  /** The protected categories a column carries after propagation, per jurisdiction, and how. */
  labelsOf(columnId: string): { readonly category: string; readonly jurisdiction: string; readonly mode: 'direct' | 'indirect' }[];
  readonly stats: {
    readonly datasets: number;
    readonly columns: number;
    readonly columnEdges: number;
    readonly jobs: number;
    readonly tools: number;
    readonly labels: number;
    readonly labelledColumns: number;
  };
}

interface Label {
  readonly category: string;
  readonly jurisdiction: string;
}

/** The place of a (canonical) namespace: the longest mapped prefix (a namespace, or namespace + `/…`), places compared in canonical form. */
export function placeResolver(places: readonly FlowPlace[]): (namespace: string) => FlowPlace | undefined {
  const sorted = places.map((p) => ({ ...p, namespace: canonicalNamespace(p.namespace) })).sort((a, b) => b.namespace.length - a.namespace.length);
  const cache = new Map<string, FlowPlace | undefined>();
  return (ns) => {
    if (cache.has(ns)) return cache.get(ns);
    const p = sorted.find((x) => ns === x.namespace || ns.startsWith(x.namespace.endsWith('/') ? x.namespace : `${x.namespace}/`));
    cache.set(ns, p);
    return p;
  };
}

/** Categories a tag names: the tag, or either side of `key:value` / `key=value`, when the taxonomy knows it. */
function tagCategories(policy: Policy, tag: string): string[] {
  const out: string[] = [];
  for (const t of [tag, ...tag.split(/[:=]/)]) {
    const c = policy.taxonomy.resolve(t.trim());
    if (c && !out.includes(c.key)) out.push(c.key);
  }
  return out;
}

export interface AnalyzeOptions {
  /** Extra column categories (`namespace/name#field` -> category keys), e.g. from a scan. */
  readonly columnCategories?: ReadonlyMap<string, readonly string[]>;
}

export function analyzeFlows(policy: Policy, graph: FlowGraph, inventory: Inventory, options: AnalyzeOptions = {}): FlowAnalysis {
  const flows = policy.deployment.flows;
  const placeOf = placeResolver(flows.places);
  const resolve = datasetResolver(policy);
  const jurisdictions = [...policy.deployment.jurisdictions.keys()];
  const allowed = (j: string) => policy.deployment.enclaves.get(policy.deployment.jurisdictions.get(j)!.enclave)!.allowedCountries;

  // Labels: (category, jurisdiction) pairs that are protected, interned.
  const labels: Label[] = [];
  const labelIndex = new Map<string, number>();
  const labelOf = (category: string, jurisdiction: string): number | undefined => {
    const key = `${category}\u0000${jurisdiction}`;
    let i = labelIndex.get(key);
    if (i === undefined) {
      if (classOf(policy.classes, policy.taxonomy, jurisdiction, category) !== 'protected') return undefined;
      i = labels.length;
      labels.push({ category, jurisdiction });
      labelIndex.set(key, i);
    }
    return i;
  };

  // Seeds: each column's categories, for the jurisdictions its place holds (anyone's, when unknown or unsaid).
  const n = graph.columnIds.length;
  const seeds: [number, number][] = [];
  for (let c = 0; c < n; c++) {
    const datasetKey = graph.columnDataset[c]!;
    const field = graph.columnIds[c]!.slice(datasetKey.length + 1);
    const cats = new Set<string>();
    const ds = graph.datasets.get(datasetKey)!;
    const resolved = resolve(ds.namespace, ds.name);
    const cf = resolved.catalog === undefined ? undefined : policy.datasets.get(resolved.catalog)?.fields.get(field);
    if (cf) {
      cats.add(cf.category);
      for (const cond of cf.conditions) cats.add(cond.category);
    }
    for (const t of graph.columnTags[c]!) for (const k of tagCategories(policy, t)) cats.add(k);
    for (const k of options.columnCategories?.get(graph.columnIds[c]!) ?? []) cats.add(k);
    if (cats.size === 0) continue;
    const placeHolds = placeOf(ds.namespace)?.holds ?? [];
    const holds = placeHolds.length > 0 ? placeHolds : resolved.holds;
    for (const j of holds.length > 0 ? holds : jurisdictions) {
      for (const cat of cats) {
        const l = labelOf(cat, j);
        if (l !== undefined) seeds.push([c, l]);
      }
    }
  }

  // Propagation over column edges (CSR by source), direct and indirect label sets per column.
  const L = labels.length;
  const W = Math.max(1, Math.ceil(L / 32));
  const direct = new Uint32Array(n * W);
  const indirect = new Uint32Array(n * W);
  /** Predecessor edge (+1) through which a column first got a label; 0 at a seed or not reached. */
  const predD = new Int32Array(n * L);
  const predI = new Int32Array(n * L);
  const m = graph.edgeCount;
  const start = new Int32Array(n + 1);
  for (let e = 0; e < m; e++) start[graph.edgeFrom[e]! + 1]!++;
  for (let i = 0; i < n; i++) start[i + 1]! += start[i]!;
  const order = new Int32Array(m);
  const fill = start.slice(0, n);
  for (let e = 0; e < m; e++) order[fill[graph.edgeFrom[e]!]!++] = e;

  const queue: number[] = [];
  const queued = new Uint8Array(n);
  for (const [c, l] of seeds) {
    direct[c * W + (l >>> 5)]! |= 1 << (l & 31);
    if (!queued[c]) {
      queued[c] = 1;
      queue.push(c);
    }
  }
  for (let head = 0; head < queue.length; head++) {
    const c = queue[head]!;
    queued[c] = 0;
    for (let k = start[c]!; k < start[c + 1]!; k++) {
      const e = order[k]!;
      const kind = graph.edgeKind[e]!;
      if (kind === MASKED) continue;
      const t = graph.edgeTo[e]!;
      let changed = false;
      for (let w = 0; w < W; w++) {
        const d = direct[c * W + w]!;
        const ind = indirect[c * W + w]!;
        const addD = kind === DIRECT ? d & ~direct[t * W + w]! : 0;
        const incoming = kind === DIRECT ? ind : d | ind;
        const addI = incoming & ~indirect[t * W + w]! & ~(direct[t * W + w]! | addD);
        if (addD | addI) {
          changed = true;
          direct[t * W + w]! |= addD;
          indirect[t * W + w]! |= addI;
          for (let b = addD; b !== 0; b &= b - 1) predD[t * L + w * 32 + (31 - Math.clz32(b & -b))] = e + 1;
          for (let b = addI; b !== 0; b &= b - 1) predI[t * L + w * 32 + (31 - Math.clz32(b & -b))] = e + 1;
        }
      }
      if (changed && !queued[t]) {
        queued[t] = 1;
        queue.push(t);
      }
    }
  }

  const has = (arr: Uint32Array, c: number, l: number) => (arr[c * W + (l >>> 5)]! & (1 << (l & 31))) !== 0;
  const columnPath = (c: number, l: number, mode: 'direct' | 'indirect'): PathStep[] => {
    const steps: PathStep[] = [];
    let cur = c;
    let useIndirect = mode === 'indirect';
    for (let guard = 0; guard <= n; guard++) {
      const e = (useIndirect ? predI : predD)[cur * L + l]! - 1;
      if (e < 0) {
        steps.push({ node: `column:${graph.columnIds[cur]!}`, via: 'origin', evidence: undefined });
        break;
      }
      const kind = graph.edgeKind[e] === INDIRECT ? 'indirect' : 'direct';
      const runId = graph.sourceRuns[graph.edgeSource[e]!];
      steps.push({
        node: `column:${graph.columnIds[cur]!}`,
        via: `${kind} (job ${graph.edgeJobs[graph.edgeJob[e]!] || '?'})`,
        evidence: graph.sources[graph.edgeSource[e]!],
        ...(runId === undefined ? {} : { runId }),
      });
      const from = graph.edgeFrom[e]!;
      // An indirect label came from a direct or an indirect one upstream.
      if (useIndirect && graph.edgeKind[e] === INDIRECT && has(direct, from, l) && !has(indirect, from, l)) useIndirect = false;
      else if (useIndirect && !has(indirect, from, l)) useIndirect = false;
      cur = from;
    }
    return steps.reverse();
  };

  const classRule = (l: Label) => `${l.category} is protected in ${l.jurisdiction} (classes.yaml)`;
  const countriesRule = (l: Label) =>
    `data of ${l.jurisdiction} may be only in ${allowed(l.jurisdiction).join(', ')} (cordon.yaml enclave ${policy.deployment.jurisdictions.get(l.jurisdiction)!.enclave})`;
  const leaks = new Map<string, Leak>();
  const addLeak = (sink: Leak['sink'], l: Label, mode: Leak['mode'], reason: { kind: LeakKind; rule: string }, path: PathStep[]) => {
    const id = `${sink.type}:${sink.id}|${l.category}|${l.jurisdiction}`;
    const old = leaks.get(id);
    if (old) {
      const better = (mode === 'direct' && old.mode === 'indirect') || (mode === old.mode && path.length < old.path.length);
      const reasons = old.reasons.some((r) => r.kind === reason.kind) ? old.reasons : [...old.reasons, reason];
      leaks.set(id, better ? { ...old, mode, path, reasons } : { ...old, reasons });
      return;
    }
    leaks.set(id, { id, sink, category: l.category, jurisdiction: l.jurisdiction, mode, reasons: [reason], path });
  };
  const placeReason = (country: string | undefined, l: Label, what: string): { kind: LeakKind; rule: string } | undefined => {
    if (country === undefined)
      return { kind: 'unknown_place', rule: `${classRule(l)}; ${what} is at a place cordon.yaml flows.places does not map, so it is not assumed safe` };
    if (!allowed(l.jurisdiction).includes(country)) return { kind: 'outside_enclave', rule: `${classRule(l)}; ${countriesRule(l)}; ${what} is in ${country}` };
    return undefined;
  };

  const unknownPlaces = new Set<string>();
  for (const ds of graph.datasets.values()) {
    const place = placeOf(ds.namespace);
    if (!place) unknownPlaces.add(ds.namespace);
    for (const c of ds.columns) {
      for (let l = 0; l < L; l++) {
        const mode = has(direct, c, l) ? 'direct' : has(indirect, c, l) ? 'indirect' : undefined;
        if (!mode) continue;
        const reason = placeReason(place?.country, labels[l]!, `dataset ${ds.id}`);
        if (reason) addLeak({ type: 'dataset', id: ds.id, country: place?.country }, labels[l]!, mode, reason, columnPath(c, l, mode));
      }
    }
  }

  // Tools: what they read (every label of every column of the datasets), where they run, who uses them, where they export.
  const decider = createDecider(policy);
  const anyField = (() => {
    const d = [...policy.datasets.values()][0]!;
    return { dataset: d.name, field: [...d.fields.keys()][0]! };
  })();
  const everything: GrantInfo = {
    id: 'flows-hypothetical-grant',
    datasets: [...policy.datasets.keys()],
    categories: [...policy.taxonomy.categories.keys()],
    expiresAt: Number.MAX_SAFE_INTEGER,
    reason: 'REVIEW',
  };
  const teamCache = new Map<string, boolean>();
  const teamMaySee = (team: string, l: Label, country: string): boolean => {
    const key = `${team}\u0000${l.category}\u0000${l.jurisdiction}\u0000${country}`;
    let ok = teamCache.get(key);
    if (ok === undefined) {
      const members = [...policy.directory.principals.values()].filter((p) => p.id === team || policy.directory.teams.get(p.team)?.lineage.includes(team));
      ok = members.some((p) => seeClear(decider, p.id, anyField, l, country, everything));
      teamCache.set(key, ok);
    }
    return ok;
  };
  for (const tool of inventory.tools) {
    const reached = new Map<number, { mode: 'direct' | 'indirect'; path: PathStep[] }>();
    for (const read of tool.reads) {
      const ds = graph.datasets.get(canonicalDatasetUri(read));
      for (const c of ds?.columns ?? []) {
        for (let l = 0; l < L; l++) {
          const mode = has(direct, c, l) ? 'direct' : has(indirect, c, l) ? 'indirect' : undefined;
          const prev = reached.get(l);
          if (!mode || (prev && (prev.mode === 'direct' || mode === 'indirect'))) continue;
          reached.set(l, { mode, path: [...columnPath(c, l, mode), { node: `tool:${tool.name}`, via: `reads ${read}`, evidence: tool.where }] });
        }
      }
    }
    for (const [l, r] of reached) {
      const label = labels[l]!;
      const sink = { type: 'tool' as const, id: tool.name, country: tool.country };
      const reason = placeReason(tool.country, label, `tool ${tool.name}`);
      if (reason) addLeak(sink, label, r.mode, reason, r.path);
      for (const team of tool.users) {
        if (!teamMaySee(team, label, tool.country ?? 'unknown')) {
          addLeak(
            sink,
            label,
            r.mode,
            {
              kind: 'team_not_allowed',
              rule: `${classRule(label)}; no rule lets ${team}, who use tool ${tool.name}, see it in clear even with a grant${tool.country ? ` from ${tool.country}` : ''}`,
            },
            r.path,
          );
        }
      }
      for (const ex of tool.exports) {
        const exReason = placeReason(ex.country, label, `${ex.kind} export ${ex.to} of tool ${tool.name}`);
        if (exReason)
          addLeak({ type: 'export', id: `${tool.name} -> ${ex.to}`, country: ex.country }, label, r.mode, exReason, [
            ...r.path,
            { node: `export:${ex.to}`, via: `exports (${ex.kind})`, evidence: `${tool.where.slice(0, tool.where.lastIndexOf(':'))}:${ex.line}` },
          ]);
      }
    }
  }

  const rank = (x: Leak) => (x.mode === 'direct' ? 0 : 2) + (x.reasons.some((r) => r.kind !== 'unknown_place') ? 0 : 1);
  const sorted = [...leaks.values()].sort((a, b) => rank(a) - rank(b) || a.path.length - b.path.length || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));

  const undocumented: Undocumented[] = [];
  for (const t of inventory.tools) {
    const missing = [...(t.owner ? [] : ['owner' as const]), ...(t.purpose ? [] : ['purpose' as const])];
    if (missing.length) undocumented.push({ type: 'tool', id: t.name, missing, where: t.where });
  }
  const documented = new Map(inventory.jobs.map((j) => [j.id, j]));
  for (const j of graph.jobs.values()) {
    const inv = documented.get(j.id) ?? documented.get(j.name);
    const missing = inv ? [...(inv.owner ? [] : ['owner' as const]), ...(inv.purpose ? [] : ['purpose' as const])] : ['inventory' as const];
    if (missing.length) undocumented.push({ type: 'job', id: j.id, missing, where: inv?.where ?? j.evidence[0] });
  }
  undocumented.sort((a, b) => (a.type + a.id < b.type + b.id ? -1 : 1));

  let labelledColumns = 0;
  for (let c = 0; c < n; c++) {
    for (let w = 0; w < W; w++) {
      if (direct[c * W + w] || indirect[c * W + w]) {
        labelledColumns++;
        break;
      }
    }
  }
  return {
    leaks: sorted,
    undocumented,
    unknownPlaces: [...unknownPlaces].sort(),
    dangling: [...graph.dangling].sort(),
    labelsOf(columnId) {
      const c = graph.columnOf(columnId);
      if (c === undefined) return [];
      const out: { category: string; jurisdiction: string; mode: 'direct' | 'indirect' }[] = [];
      for (let l = 0; l < L; l++) {
        if (has(direct, c, l)) out.push({ ...labels[l]!, mode: 'direct' });
        else if (has(indirect, c, l)) out.push({ ...labels[l]!, mode: 'indirect' });
      }
      return out;
    },
    stats: { datasets: graph.datasets.size, columns: n, columnEdges: m, jobs: graph.jobs.size, tools: inventory.tools.length, labels: L, labelledColumns },
  };
}

function seeClear(decider: Decider, principal: string, at: { dataset: string; field: string }, l: Label, country: string, grant: GrantInfo): boolean {
  const d = decider.decideField({
    principal,
    action: 'read',
    dataset: at.dataset,
    field: at.field,
    jurisdiction: l.jurisdiction,
    category: l.category,
    context: { country, site: '', grants: [grant], now: 0 },
  });
  return d.disclosure === 'clear';
}
