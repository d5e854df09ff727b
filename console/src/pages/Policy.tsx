import { useEffect, useState } from 'react';
import { api } from '../api';
import type { PageProps } from '../App';

interface PolicySummary {
  previous: { version: string; at: string; changes: { jurisdiction: string; category: string; from: string | null; to: string | null }[] } | null;
  version: string;
  jurisdictions: { name: string; enclave: string; classes: Record<string, string[]> }[];
  rules: { id: string; effect: string; file: string; line: number; text: string; standing: { inert: boolean; example: string } | null }[];
}

export function PolicyPage({ session }: PageProps) {
  const [p, setP] = useState<PolicySummary>();
  const [error, setError] = useState<string>();
  useEffect(() => {
    api<PolicySummary>(session, 'GET', '/v1/console/policy').then(setP, (e: Error) => setError(e.message));
  }, [session]);
  if (error) return <p role="alert">{error}</p>;
  if (!p) return <p>Loading…</p>;
  return (
    <section aria-labelledby="policy-title">
      <h2 id="policy-title">
        Policy <span className="muted">{p.version.slice(0, 12)}</span>
      </h2>
      <table aria-label="Classes per jurisdiction">
        <thead>
          <tr>
            <th>Jurisdiction</th>
            <th>Enclave</th>
            <th>Protected</th>
            <th>Excepted</th>
            <th>Public</th>
          </tr>
        </thead>
        <tbody>
          {p.jurisdictions.map((j) => (
            <tr key={j.name}>
              <td>{j.name}</td>
              <td>{j.enclave}</td>
              {['protected', 'excepted', 'public'].map((c) => (
                <td key={c}>{(j.classes[c] ?? []).join(', ')}</td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
      <h3>Rules</h3>
      {p.rules.map((r) => (
        <details key={r.id} data-rule={r.id}>
          <summary>
            {r.effect} <strong>{r.id}</strong>{' '}
            <span className="muted">
              {r.file}:{r.line}
            </span>
            {r.standing && (
              <span className="bad" data-flag="standing">
                {' '}
                flagged: standing access ({r.standing.example}); inert at run time
              </span>
            )}
          </summary>
          {r.standing && (
            <p className="bad">
              This rule would release protected data in clear without a grant. No principal may have standing access (W4), so the gateway leaves it out: it has
              no effect.
            </p>
          )}
          <pre>{r.text}</pre>
        </details>
      ))}
      <h3>Changes since the previous version</h3>
      {p.previous ? (
        <>
          <p>
            From {p.previous.version.slice(0, 12)} (first run {p.previous.at}) to {p.version.slice(0, 12)}: {p.previous.changes.length} class change(s).
          </p>
          <table aria-label="Class changes">
            <thead>
              <tr>
                <th>Jurisdiction</th>
                <th>Category</th>
                <th>Was</th>
                <th>Is</th>
              </tr>
            </thead>
            <tbody>
              {p.previous.changes.map((c) => (
                <tr key={c.jurisdiction + c.category}>
                  <td>{c.jurisdiction}</td>
                  <td>{c.category}</td>
                  <td>{c.from ?? '—'}</td>
                  <td className={c.to === 'protected' ? 'ok' : c.from === 'protected' ? 'bad' : ''}>{c.to ?? '—'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      ) : (
        <p className="muted">This is the first policy version this deployment has run.</p>
      )}
      <p className="muted">
        Decisions that flip between two versions: <code>cordon policy diff OLD NEW</code>.
      </p>
    </section>
  );
}
