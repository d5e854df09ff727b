import { useEffect, useRef, useState } from 'react';
import cytoscape, { type Core } from 'cytoscape';
import { api } from '../api';
import type { PageProps } from '../App';
import { type AuditHealth, type Backdoor, Backdoors } from './Backdoors';

interface Step {
  node: string;
  via: string;
  evidence?: string;
}
interface Leak {
  id: string;
  category: string;
  jurisdiction: string;
  mode: string;
  sink: { type: string; id: string; country?: string };
  reasons: { kind: string; rule: string }[];
  path: Step[];
}
interface Analysis {
  leaks: Leak[];
  undocumented: { type: string; id: string; missing: string[]; where?: string }[];
  unknownPlaces: string[];
  possiblyProtected?: { dataset: string; column: string; like: string[]; categories: string[]; evidence?: string }[];
  backdoors?: Backdoor[];
  audit?: AuditHealth;
}
interface GraphNode {
  id: string;
  type: string;
  label: string;
  country?: string;
  onLeakPath: boolean;
}
interface GraphEdge {
  id: string;
  from: string;
  to: string;
  kind: string;
  via?: string;
  evidence?: string;
  runId?: string;
  leaks: string[];
}
interface Overview {
  nodes: GraphNode[];
  edges: GraphEdge[];
}

declare global {
  interface Window {
    cordonFlowGraph?: Core;
  }
}

/** What each kind of node and edge looks like: the graph's styles and its legend come from here. */
const NODE_STYLES: { type: string; label: string; color: string; shape: string }[] = [
  { type: 'column', label: 'column (dataset · field, and its source)', color: '#475569', shape: 'ellipse' },
  { type: 'tool', label: 'tool', color: '#7c3aed', shape: 'round-rectangle' },
  { type: 'export', label: 'export', color: '#b91c1c', shape: 'diamond' },
  { type: 'team', label: 'team', color: '#0f766e', shape: 'hexagon' },
  { type: 'place', label: 'place (country · region)', color: '#b45309', shape: 'tag' },
];
const EDGE_STYLES: { kind: string; label: string; color: string; dashed: boolean }[] = [
  { kind: 'direct', label: 'column lineage, direct', color: '#f87171', dashed: false },
  { kind: 'indirect', label: 'column lineage, indirect', color: '#fb923c', dashed: true },
  { kind: 'reads', label: 'tool reads', color: '#f87171', dashed: false },
  { kind: 'exports', label: 'tool exports', color: '#f87171', dashed: false },
  { kind: 'uses', label: 'team uses / owns tool', color: '#5eead4', dashed: false },
  { kind: 'at', label: 'is at place', color: '#fcd34d', dashed: true },
];

function describeEdge(e: GraphEdge): string {
  return [
    `${e.from} → ${e.to}`,
    `${e.kind}${e.via ? `: ${e.via}` : ''}`,
    `evidence: ${e.evidence ?? '—'}`,
    ...(e.runId ? [`run: ${e.runId}`] : []),
    ...(e.leaks.length ? [`leaks: ${e.leaks.join(', ')}`] : []),
  ].join('\n');
}

export function FlowsPage({ session }: PageProps) {
  const [analysis, setAnalysis] = useState<Analysis>();
  const [overview, setOverview] = useState<Overview>();
  const [selected, setSelected] = useState<string>();
  const [detail, setDetail] = useState<{ text: string; edge?: string }>();
  const [error, setError] = useState<string>();
  const box = useRef<HTMLDivElement>(null);
  const cy = useRef<Core | undefined>(undefined);

  // The flow map is for auditors and approvers: others are told so, not sent to be refused.
  const [reader, setReader] = useState<boolean>();
  useEffect(() => {
    api<{ auditor: boolean; approver: boolean }>(session, 'GET', '/v1/console/whoami').then(
      (w) => setReader(w.auditor || w.approver),
      (e: Error) => setError(e.message),
    );
  }, [session]);
  useEffect(() => {
    if (!reader) return;
    Promise.all([api<Analysis>(session, 'GET', '/v1/flows/leaks'), api<Overview>(session, 'GET', '/v1/flows/graph')]).then(
      ([a, o]) => {
        setAnalysis(a);
        setOverview(o);
      },
      (e: Error) => setError(e.message),
    );
  }, [session, reader]);

  useEffect(() => {
    if (!overview || !box.current) return;
    const graph = cytoscape({
      container: box.current,
      elements: [
        ...overview.nodes.map((n) => ({ data: { ...n }, classes: n.type })),
        ...overview.edges.map((e) => ({
          data: { ...e, source: e.from, target: e.to },
          classes: `${e.kind === 'owns' ? 'uses' : e.kind}${e.leaks.length ? ' leak' : ''}`,
        })),
      ],
      layout: { name: 'breadthfirst', directed: true, spacingFactor: 1.6, padding: 24 },
      minZoom: 0.4,
      style: [
        {
          selector: 'node',
          style: {
            label: 'data(label)',
            'font-size': 12,
            'text-wrap': 'wrap',
            'text-max-width': '170px',
            'text-valign': 'bottom',
            'text-margin-y': 4,
            'text-background-color': '#ffffff',
            'text-background-opacity': 0.85,
            'text-background-padding': '2px',
            width: 22,
            height: 22,
          },
        },
        ...NODE_STYLES.map((n) => ({ selector: `node.${n.type}`, style: { shape: n.shape, 'background-color': n.color } })),
        { selector: 'edge', style: { width: 2, 'curve-style': 'bezier', 'target-arrow-shape': 'triangle' } },
        ...EDGE_STYLES.map((e) => ({
          selector: `edge.${e.kind}`,
          style: { 'line-color': e.color, 'target-arrow-color': e.color, 'line-style': e.dashed ? 'dashed' : 'solid' },
        })),
        { selector: 'edge.highlight', style: { width: 4, 'line-color': '#b91c1c', 'target-arrow-color': '#b91c1c' } },
        { selector: 'node.highlight', style: { 'border-width': 3, 'border-color': '#b91c1c' } },
      ] as cytoscape.StylesheetJson,
    });
    const byId = new Map(overview.edges.map((e) => [e.id, e]));
    graph.on('tap', 'edge', (ev) => {
      const e = byId.get(ev.target.id() as string);
      if (e) setDetail({ text: describeEdge(e), edge: e.id });
    });
    graph.on('tap', 'node', (ev) => {
      const n = ev.target.data() as GraphNode;
      setDetail({ text: `${n.id}${n.country ? `\ncountry: ${n.country}` : ''}` });
    });
    cy.current = graph;
    window.cordonFlowGraph = graph;
    return () => {
      graph.destroy();
      window.cordonFlowGraph = undefined;
    };
  }, [overview]);

  // biome-ignore lint/correctness/useExhaustiveDependencies: a new analysis rebuilds the graph, whose elements must be highlighted again
  useEffect(() => {
    const graph = cy.current;
    if (!graph) return;
    graph.elements().removeClass('highlight');
    if (!selected) return;
    const edges = graph.edges().filter((e) => (e.data('leaks') as string[]).includes(selected));
    edges.addClass('highlight');
    edges.connectedNodes().addClass('highlight');
  }, [selected, overview]);

  if (error) return <p role="alert">{error}</p>;
  if (reader === false)
    return (
      <section aria-labelledby="flows-title">
        <h2 id="flows-title">Flows</h2>
        <p data-testid="not-flow-reader">
          The flow map (where protected data goes, and the backdoors around the gateway) is for auditors and approvers, and {session.principal} is neither.
        </p>
      </section>
    );
  if (!analysis || !overview) return <p>Loading…</p>;
  return (
    <section aria-labelledby="flows-title">
      <h2 id="flows-title">Flows: {analysis.leaks.length} leak path(s)</h2>
      <div
        className="graph"
        ref={box}
        role="img"
        aria-label="Flow graph of the leak paths, with the teams and places they reach"
        data-leaks={analysis.leaks.length}
        data-highlighted={selected ?? ''}
      />
      <ul className="legend" aria-label="Legend">
        {NODE_STYLES.map((n) => (
          <li key={n.type} data-legend={n.type}>
            <span className={`swatch shape-${n.shape}`} style={{ background: n.color }} /> {n.label}
          </li>
        ))}
        {EDGE_STYLES.map((e) => (
          <li key={e.kind} data-legend={`edge-${e.kind}`}>
            <span className={`line${e.dashed ? ' dashed' : ''}`} style={{ borderColor: e.color }} /> {e.label}
          </li>
        ))}
        <li data-legend="edge-highlight">
          <span className="line" style={{ borderColor: '#b91c1c', borderTopWidth: 4 }} /> the chosen leak path
        </li>
      </ul>
      <section aria-label="Evidence" data-edge={detail?.edge ?? ''}>
        <pre>{detail?.text ?? 'Click an edge to see its evidence (job, run id, event time, producer, or the inventory line), or a node for its id.'}</pre>
      </section>
      <h3>Leak paths</h3>
      {analysis.leaks.map((l) => (
        // biome-ignore lint/a11y/useSemanticElements: a leak path holds a list of steps, which a <button> may not contain
        <div
          key={l.id}
          className="leak"
          role="button"
          tabIndex={0}
          aria-pressed={selected === l.id}
          data-leak={l.id}
          onClick={() => setSelected(selected === l.id ? undefined : l.id)}
          onKeyDown={(e) => {
            if (e.key === 'Enter' || e.key === ' ') {
              e.preventDefault();
              setSelected(selected === l.id ? undefined : l.id);
            }
          }}
        >
          <strong>
            {l.category} ({l.jurisdiction})
          </strong>{' '}
          reaches {l.sink.type} {l.sink.id}
          {l.sink.country ? ` in ${l.sink.country}` : ''} — {l.reasons.map((r) => r.kind).join(', ')}
          {l.mode === 'indirect' ? ' (indirect)' : ''}
          <ol>
            {l.path.map((s) => (
              <li key={s.node}>
                {s.node}{' '}
                <span className="muted">
                  [{s.via}] {s.evidence ?? ''}
                </span>
              </li>
            ))}
          </ol>
        </div>
      ))}
      {analysis.possiblyProtected && analysis.possiblyProtected.length > 0 && (
        <>
          <h3>Possibly protected, unmapped</h3>
          <ul>
            {analysis.possiblyProtected.map((p) => (
              <li key={`${p.dataset}#${p.column}`}>
                {p.dataset}#{p.column}: named like {p.like.join(', ')} ({p.categories.join(', ')})
              </li>
            ))}
          </ul>
        </>
      )}
      <Backdoors backdoors={analysis.backdoors} audit={analysis.audit} />
      <h3>Undocumented</h3>
      <ul>
        {analysis.undocumented.map((u) => (
          <li key={u.type + u.id}>
            {u.type} {u.id}: no {u.missing.join(', no ')} {u.where ? `(${u.where})` : ''}
          </li>
        ))}
      </ul>
    </section>
  );
}
