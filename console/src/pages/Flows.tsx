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
  backdoors?: Backdoor[];
  audit?: AuditHealth;
}

declare global {
  interface Window {
    cordonFlowGraph?: Core;
  }
}

const short = (id: string) => {
  const body = id.slice(id.indexOf(':') + 1);
  return body.length > 42 ? `…${body.slice(-40)}` : body;
};

export function FlowsPage({ session }: PageProps) {
  const [analysis, setAnalysis] = useState<Analysis>();
  const [selected, setSelected] = useState<string>();
  const [detail, setDetail] = useState<string>();
  const [error, setError] = useState<string>();
  const box = useRef<HTMLDivElement>(null);
  const cy = useRef<Core | undefined>(undefined);

  useEffect(() => {
    api<Analysis>(session, 'GET', '/v1/flows/leaks').then(setAnalysis, (e: Error) => setError(e.message));
  }, [session]);

  useEffect(() => {
    if (!analysis || !box.current) return;
    const nodes = new Map<string, { id: string; label: string; type: string }>();
    const edges = new Map<string, { id: string; source: string; target: string; leaks: string[]; via: string; evidence?: string }>();
    for (const l of analysis.leaks) {
      l.path.forEach((s, i) => {
        nodes.set(s.node, { id: s.node, label: short(s.node), type: s.node.slice(0, s.node.indexOf(':')) });
        if (i > 0) {
          const from = l.path[i - 1]!.node;
          const id = `${from}->${s.node}`;
          const e = edges.get(id) ?? { id, source: from, target: s.node, leaks: [], via: s.via, evidence: s.evidence };
          e.leaks.push(l.id);
          edges.set(id, e);
        }
      });
    }
    const graph = cytoscape({
      container: box.current,
      elements: [...[...nodes.values()].map((n) => ({ data: n, classes: n.type })), ...[...edges.values()].map((e) => ({ data: e, classes: 'leak' }))],
      layout: { name: 'breadthfirst', directed: true, spacingFactor: 1.1 },
      style: [
        {
          selector: 'node',
          style: { label: 'data(label)', 'font-size': 9, 'text-wrap': 'wrap', 'text-max-width': '120px', 'background-color': '#64748b', width: 18, height: 18 },
        },
        { selector: 'node.tool', style: { shape: 'round-rectangle', 'background-color': '#7c3aed' } },
        { selector: 'node.export', style: { shape: 'diamond', 'background-color': '#b91c1c' } },
        {
          selector: 'edge',
          style: { width: 2, 'curve-style': 'bezier', 'target-arrow-shape': 'triangle', 'line-color': '#f87171', 'target-arrow-color': '#f87171' },
        },
        { selector: 'edge.highlight', style: { width: 4, 'line-color': '#b91c1c', 'target-arrow-color': '#b91c1c' } },
        { selector: 'node.highlight', style: { 'border-width': 3, 'border-color': '#b91c1c' } },
      ],
    });
    graph.on('tap', 'node, edge', (e) => {
      const d = e.target.data() as { id: string; via?: string; evidence?: string; leaks?: string[] };
      setDetail(d.via ? `${d.id}\n${d.via}\nevidence: ${d.evidence ?? '—'}\nleaks: ${d.leaks?.join(', ')}` : d.id);
    });
    cy.current = graph;
    window.cordonFlowGraph = graph;
    return () => {
      graph.destroy();
      window.cordonFlowGraph = undefined;
    };
  }, [analysis]);

  // biome-ignore lint/correctness/useExhaustiveDependencies: a new analysis rebuilds the graph, whose elements must be highlighted again
  useEffect(() => {
    const graph = cy.current;
    if (!graph) return;
    graph.elements().removeClass('highlight');
    if (!selected) return;
    const edges = graph.edges().filter((e) => (e.data('leaks') as string[]).includes(selected));
    edges.addClass('highlight');
    edges.connectedNodes().addClass('highlight');
  }, [selected, analysis]);

  if (error) return <p role="alert">{error}</p>;
  if (!analysis) return <p>Loading…</p>;
  return (
    <section aria-labelledby="flows-title">
      <h2 id="flows-title">Flows: {analysis.leaks.length} leak path(s)</h2>
      <div
        className="graph"
        ref={box}
        role="img"
        aria-label="Flow graph of the leak paths"
        data-leaks={analysis.leaks.length}
        data-highlighted={selected ?? ''}
      />
      {detail && (
        <section aria-label="Evidence">
          <pre>{detail}</pre>
        </section>
      )}
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
