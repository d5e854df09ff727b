import { useEffect, useState } from 'react';
import { api, logLink } from '../api';
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

const HOUR = 3_600_000;

/**
 * A bar chart as a grid of label, bar and count: the count sits beside its bar, never on it, so it
 * reads whatever the bar's length; each row links to the log records behind it.
 */
function Bars({ id, title, unit, data, link }: { id: string; title: string; unit: string; data: Record<string, number>; link: (key: string) => string }) {
  const entries = Object.entries(data).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  const max = Math.max(1, ...entries.map(([, n]) => n));
  return (
    <figure className="card" aria-labelledby={`${id}-caption`} data-chart={id}>
      <figcaption id={`${id}-caption`}>
        {title} <span className="muted">({unit})</span>
      </figcaption>
      {entries.length === 0 ? (
        <p className="muted">none in the last 24 hours</p>
      ) : (
        <ul className="bars">
          {entries.map(([k, n]) => (
            <li key={k} data-key={k}>
              <a className="label" href={link(k)} title={`the log records behind ${k}`}>
                {k}
              </a>
              <span className="track" aria-hidden="true">
                <span className="fill" style={{ width: `${(n / max) * 100}%` }} />
              </span>
              <span className="n" data-count={n}>
                {n}
              </span>
            </li>
          ))}
        </ul>
      )}
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
  // The counts cover the hours since the start of the hour 23 hours ago: so does each drill-down.
  const since = new Date((Math.floor(Date.now() / HOUR) - 23) * HOUR).toISOString();
  const decisions = (extra: Record<string, string>) => logLink({ kind: 'access_record', since, ...extra });
  return (
    <section aria-labelledby="overview-title">
      <h2 id="overview-title">Overview</h2>
      <div className="cards">
        <div className="card">
          <div className="muted">Open requests</div>
          <a className="count" href="#/access" title="the requests on the Access page">
            <span className="big" data-testid="open-requests">
              {data.openRequests}
            </span>
          </a>
        </div>
        <div className="card">
          <div className="muted">Open violations</div>
          <a className="count" href="#/findings" title="the violations on the Findings page">
            <span className={`big ${data.openViolations ? 'bad' : 'ok'}`} data-testid="open-violations">
              {data.openViolations}
            </span>
          </a>
          <div className="muted">in the latest scan of the global store</div>
        </div>
        <div className="card">
          <div className="muted">Break-glass to review</div>
          <a className="count" href="#/access" title="the break-glass reviews on the Access page">
            <span className={`big ${data.unreviewedBreakGlass ? 'bad' : 'ok'}`} data-testid="unreviewed-break-glass">
              {data.unreviewedBreakGlass}
            </span>
          </a>
        </div>
        <div className="card">
          <div className="muted">Access log ({data.checkpoint.origin})</div>
          <a className="count" href="#/log" title="the records on the Log page">
            <span className="big" data-testid="log-size">
              {data.checkpoint.size}
            </span>
          </a>
          <div className={data.checkpoint.health.ok ? 'ok' : 'bad'}>{data.checkpoint.health.ok ? 'healthy' : data.checkpoint.health.reason}</div>
          <div className="muted">cosigned by {data.checkpoint.cosignedBy.length ? data.checkpoint.cosignedBy.join(', ') : 'no witness'}</div>
        </div>
      </div>
      <h3>Decisions in the last 24 hours</h3>
      <p className="muted">Each row links to the log records behind it.</p>
      <div className="cards">
        <Bars id="disclosure" title="Fields by disclosure" unit="fields" data={data.decisions.byDisclosure} link={(k) => decisions({ disclosure: k })} />
        <Bars id="country" title="Requests by country" unit="requests" data={data.decisions.byCountry} link={(k) => decisions({ country: k })} />
        <Bars id="outcome" title="Requests by outcome" unit="requests" data={data.decisions.byOutcome} link={(k) => decisions({ outcome: k })} />
      </div>
      <h3>Enclaves and stores</h3>
      <div className="scroll">
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
      </div>
    </section>
  );
}
