import { useEffect, useState } from 'react';
import { api, apiText, type Json } from '../api';
import type { PageProps } from '../App';
import { verifyInclusion, type Verified } from '../verify';

interface Row {
  index: number;
  record: Json;
}
interface Opened {
  index: number;
  record: Json;
  entry: string;
  proof: string[] | null;
  checkpoint: string;
  matches_entry: boolean;
}

export function LogPage({ session, info }: PageProps) {
  const [rows, setRows] = useState<Row[]>([]);
  const [filter, setFilter] = useState('');
  const [opened, setOpened] = useState<Opened>();
  const [verified, setVerified] = useState<Verified>();
  const [error, setError] = useState<string>();

  useEffect(() => {
    (async () => {
      const size = Number((await apiText('/log/checkpoint')).split('\n')[1]);
      const page = await api<{ records: Row[] }>(session, 'GET', `/v1/log/records?after=${Math.max(-1, size - 201)}&limit=200`);
      setRows(page.records.reverse());
    })().catch((e: Error) => setError(e.message));
  }, [session]);

  const open = async (index: number) => {
    setVerified(undefined);
    setError(undefined);
    try {
      setOpened(await api<Opened>(session, 'GET', `/v1/log/records/${index}`));
    } catch (e) {
      setError((e as Error).message);
    }
  };
  const verify = async () => {
    if (!opened) return;
    try {
      let record = opened;
      // A record newer than the latest checkpoint is proved once the next checkpoint is signed (within a second).
      for (let tries = 0; !record.proof && tries < 5; tries++) {
        await new Promise((r) => setTimeout(r, 600));
        record = await api<Opened>(session, 'GET', `/v1/log/records/${opened.index}`);
      }
      setOpened(record);
      setVerified(await verifyInclusion(record, info.logVkey));
    } catch (e) {
      setError((e as Error).message);
    }
  };
  const shown = rows.filter((r) => !filter || JSON.stringify(r.record).toLowerCase().includes(filter.toLowerCase()));
  const summary = (r: Json) => [r['type'] ?? r['action'], r['principal'], r['dataset'], r['outcome'], r['country']].filter(Boolean).join(' · ');

  return (
    <section aria-labelledby="log-title">
      <h2 id="log-title">Access log</h2>
      {error && <p role="alert">{error}</p>}
      <label>
        Search records
        <input aria-label="Search records" value={filter} onChange={(e) => setFilter(e.target.value)} />
      </label>
      <table aria-label="Access records">
        <thead>
          <tr>
            <th>Index</th>
            <th>Time</th>
            <th>Record</th>
            <th></th>
          </tr>
        </thead>
        <tbody>
          {shown.slice(0, 100).map((r) => (
            <tr key={r.index} data-index={r.index}>
              <td>{r.index}</td>
              <td>{String(r.record['at'] ?? '')}</td>
              <td>{summary(r.record)}</td>
              <td>
                <button type="button" className="secondary" onClick={() => void open(r.index)} aria-label={`Open record ${r.index}`}>
                  Open
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {opened && (
        <section className="card" aria-label={`Record ${opened.index}`}>
          <h3>Record {opened.index}</h3>
          <pre>{JSON.stringify(opened.record, null, 2)}</pre>
          <p>Commitment matches its entry: {opened.matches_entry ? <span className="ok">yes</span> : <span className="bad">no</span>}</p>
          <button type="button" onClick={() => void verify()}>
            Verify inclusion in this browser
          </button>
          {verified && (
            <p data-testid="verification" data-root-matches={String(verified.rootMatches)} data-signature-valid={String(verified.signatureValid)}>
              {verified.rootMatches && verified.signatureValid ? <span className="ok">✓ included</span> : <span className="bad">✗ not verified</span>} — leaf{' '}
              {verified.leafHash.slice(0, 16)}…, root of checkpoint {verified.size} {verified.rootMatches ? 'matches' : 'does not match'}, signature by{' '}
              {verified.signer} {verified.signatureValid ? 'valid' : 'invalid'} (WebCrypto)
            </p>
          )}
        </section>
      )}
    </section>
  );
}
