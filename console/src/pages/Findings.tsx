import { useState } from 'react';
import { api } from '../api';
import type { PageProps } from '../App';

interface Findings {
  target: string;
  complete: boolean;
  rows: number;
  findingCount: number;
  violationCount: number;
  summary: { target: string; column?: string; detector: string; count: number; rows: number; of: number; share: number; examples: string[] }[];
  findings: { detector: string; category: string; confidence: number; where: Record<string, unknown>; sample: string }[];
  violations: { message?: string; category?: string }[];
}

export function FindingsPage({ session }: PageProps) {
  const [f, setF] = useState<Findings>();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  const run = async () => {
    setBusy(true);
    setError(undefined);
    try {
      setF(await api<Findings>(session, 'GET', '/v1/console/findings'));
    } catch (e) {
      setError((e as Error).message);
    } finally {
      setBusy(false);
    }
  };
  return (
    <section aria-labelledby="findings-title">
      <h2 id="findings-title">Scanner findings</h2>
      <p>
        Scans the global store as <code>cordon scan store:global</code> does by default, for protected data that the policy keeps elsewhere (approvers and
        auditors).
      </p>
      <button type="button" onClick={() => void run()} disabled={busy}>
        {busy ? 'Scanning…' : 'Scan the global store'}
      </button>
      {error && <p role="alert">{error}</p>}
      {f && (
        <>
          <p>
            {f.target}: {f.rows} rows sampled, {f.findingCount} finding(s), <span data-testid="findings-violations">{f.violationCount}</span> violation(s)
            {f.complete ? '' : ' (incomplete)'}
          </p>
          <table aria-label="Summary by column">
            <thead>
              <tr>
                <th>Table and column</th>
                <th>Detector</th>
                <th>Findings</th>
                <th>Rows</th>
                <th>First at</th>
              </tr>
            </thead>
            <tbody>
              {f.summary.map((c) => (
                <tr key={`${c.target} ${c.column ?? ''} ${c.detector}`}>
                  <td>
                    {c.target}
                    {c.column === undefined ? '' : `.${c.column}`}
                  </td>
                  <td>{c.detector}</td>
                  <td>{c.count}</td>
                  <td>
                    {c.rows} of {c.of} ({(c.share * 100).toFixed(1)}%)
                  </td>
                  <td>{c.examples.join(', ')}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <table aria-label="Findings">
            <thead>
              <tr>
                <th>Detector</th>
                <th>Category</th>
                <th>Where</th>
                <th>Sample</th>
                <th>Confidence</th>
              </tr>
            </thead>
            <tbody>
              {f.findings.map((x, i) => (
                // biome-ignore lint/suspicious/noArrayIndexKey: a scan's findings are shown once, never reordered, and two may share every field
                <tr key={i}>
                  <td>{x.detector}</td>
                  <td>{x.category}</td>
                  <td>{Object.values(x.where).join(' · ')}</td>
                  <td>{x.sample}</td>
                  <td>{x.confidence.toFixed(2)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
    </section>
  );
}
