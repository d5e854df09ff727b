import { useEffect, useState } from 'react';
import { api } from '../api';
import type { PageProps } from '../App';

interface PolicySummary {
  version: string;
  jurisdictions: { name: string; enclave: string; classes: Record<string, string[]> }[];
  rules: { id: string; effect: string; file: string; line: number; text: string }[];
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
      <h2 id="policy-title">Policy <span className="muted">{p.version.slice(0, 12)}</span></h2>
      <table aria-label="Classes per jurisdiction">
        <thead><tr><th>Jurisdiction</th><th>Enclave</th><th>Protected</th><th>Excepted</th><th>Public</th></tr></thead>
        <tbody>{p.jurisdictions.map((j) => <tr key={j.name}><td>{j.name}</td><td>{j.enclave}</td>{['protected', 'excepted', 'public'].map((c) => <td key={c}>{(j.classes[c] ?? []).join(', ')}</td>)}</tr>)}</tbody>
      </table>
      <h3>Rules</h3>
      {p.rules.map((r) => (
        <details key={r.id}>
          <summary>{r.effect} <strong>{r.id}</strong> <span className="muted">{r.file}:{r.line}</span></summary>
          <pre>{r.text}</pre>
        </details>
      ))}
      <p className="muted">To compare two versions, run <code>cordon policy diff OLD NEW</code>.</p>
    </section>
  );
}
