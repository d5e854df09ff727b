import { useEffect, useState } from 'react';
import { api } from '../api';
import type { PageProps } from '../App';

interface OverviewData {
  enclaves: { name: string; jurisdictions: string[]; store: string; allowedCountries: string[] }[];
  stores: { store: string; driver: string; ok: boolean }[];
  checkpoint: { origin: string; size: number; root: string; cosignedBy: string[]; health: { ok: boolean; reason?: string } };
  decisions: { byDisclosure: Record<string, number>; byCountry: Record<string, number>; byOutcome: Record<string, number> };
  openRequests: number;
  openViolations: number;
  unreviewedBreakGlass: number;
}

function Bars({ title, data }: { title: string; data: Record<string, number> }) {
  const entries = Object.entries(data).sort((a, b) => b[1] - a[1]);
  const max = Math.max(1, ...entries.map(([, n]) => n));
  return (
    <figure className="card" aria-label={title}>
      <figcaption>{title}</figcaption>
      {entries.length === 0 && <p className="muted">none yet</p>}
      <svg width="100%" height={entries.length * 22} role="img" aria-label={`${title}: ${entries.map(([k, n]) => `${k} ${n}`).join(', ')}`}>
        {entries.map(([k, n], i) => (
          <g key={k} transform={`translate(0, ${i * 22})`}>
            <text x="0" y="14" fontSize="12">
              {k}
            </text>
            <rect x="90" y="3" height="14" width={`${(n / max) * 60}%`} fill="#1d4ed8" />
            <text x="92" y="14" fontSize="11" fill="#fff">
              {n}
            </text>
          </g>
        ))}
      </svg>
    </figure>
  );
}

export function Overview({ session }: PageProps) {
  const [data, setData] = useState<OverviewData>();
  const [error, setError] = useState<string>();
  useEffect(() => {
    api<OverviewData>(session, 'GET', '/v1/console/overview').then(setData, (e: Error) => setError(e.message));
  }, [session]);
  if (error) return <p role="alert">{error}</p>;
  if (!data) return <p>Loading…</p>;
  return (
    <section aria-labelledby="overview-title">
      <h2 id="overview-title">Overview</h2>
      <div className="cards">
        <div className="card">
          <div className="muted">Open requests</div>
          <div className="big" data-testid="open-requests">
            {data.openRequests}
          </div>
        </div>
        <div className="card">
          <div className="muted">Open violations</div>
          <div className={`big ${data.openViolations ? 'bad' : 'ok'}`} data-testid="open-violations">
            {data.openViolations}
          </div>
          <div className="muted">in the latest scan of the global store</div>
        </div>
        <div className="card">
          <div className="muted">Break-glass to review</div>
          <div className={`big ${data.unreviewedBreakGlass ? 'bad' : 'ok'}`} data-testid="unreviewed-break-glass">
            {data.unreviewedBreakGlass}
          </div>
        </div>
        <div className="card">
          <div className="muted">Access log ({data.checkpoint.origin})</div>
          <div className="big">{data.checkpoint.size}</div>
          <div className={data.checkpoint.health.ok ? 'ok' : 'bad'}>{data.checkpoint.health.ok ? 'healthy' : data.checkpoint.health.reason}</div>
          <div className="muted">cosigned by {data.checkpoint.cosignedBy.length ? data.checkpoint.cosignedBy.join(', ') : 'no witness'}</div>
        </div>
      </div>
      <h3>Decisions in the last 24 hours</h3>
      <div className="cards">
        <Bars title="Fields by disclosure" data={data.decisions.byDisclosure} />
        <Bars title="Requests by country" data={data.decisions.byCountry} />
        <Bars title="Requests by outcome" data={data.decisions.byOutcome} />
      </div>
      <h3>Enclaves and stores</h3>
      <table>
        <thead>
          <tr>
            <th>Enclave</th>
            <th>Jurisdictions</th>
            <th>Store</th>
            <th>Allowed countries</th>
          </tr>
        </thead>
        <tbody>
          {data.enclaves.map((e) => (
            <tr key={e.name}>
              <td>{e.name}</td>
              <td>{e.jurisdictions.join(', ')}</td>
              <td>
                {e.store} {data.stores.find((s) => s.store === e.store)?.ok ? <span className="ok">up</span> : <span className="bad">down</span>}
              </td>
              <td>{e.allowedCountries.join(', ')}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
