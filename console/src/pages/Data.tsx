import { useState } from 'react';
import { api, type Json } from '../api';
import type { PageProps } from '../App';

interface Disclosed {
  key: string;
  jurisdiction: string | null;
  fields: Record<string, unknown>;
  transformed: Record<string, { disclosure: string; mask?: string; rules: string[]; category?: string; class?: string }>;
  withheld: { field: string; reason: string; rules: string[]; category?: string; class?: string }[];
}

export function DataPage({ session, info }: PageProps) {
  const [dataset, setDataset] = useState(info.datasets.some((d) => d.name === 'users') ? 'users' : info.datasets[0]?.name ?? '');
  const [key, setKey] = useState('demo-us-1');
  const [record, setRecord] = useState<Disclosed>();
  const [error, setError] = useState<string>();
  const open = async () => {
    setError(undefined);
    try {
      setRecord(await api<Disclosed>(session, 'GET', `/v1/data/${encodeURIComponent(dataset)}/${encodeURIComponent(key)}`));
    } catch (e) {
      setRecord(undefined);
      setError((e as Error).message);
    }
  };
  const fields = info.datasets.find((d) => d.name === dataset)?.fields ?? [];
  const keyField = info.datasets.find((d) => d.name === dataset)?.key;
  return (
    <section aria-labelledby="data-title">
      <h2 id="data-title">Data as {session.principal} sees it</h2>
      <form className="row" onSubmit={(e) => { e.preventDefault(); void open(); }}>
        <label>Dataset<select aria-label="Dataset" value={dataset} onChange={(e) => setDataset(e.target.value)}>{info.datasets.map((d) => <option key={d.name}>{d.name}</option>)}</select></label>
        <label>Record key<input aria-label="Record key" value={key} onChange={(e) => setKey(e.target.value)} /></label>
        <button type="submit">Open</button>
      </form>
      {error && <p role="alert">{error}</p>}
      {record && (
        <table aria-label="Record fields">
          <thead><tr><th>Field</th><th>Disclosure</th><th>Value</th><th>Why</th></tr></thead>
          <tbody>
            {[keyField, ...fields].filter((f): f is string => f !== undefined).filter((f, i, all) => all.indexOf(f) === i).map((f) => {
              const w = record.withheld.find((x) => x.field === f);
              const t = record.transformed[f];
              const disclosure = w ? 'withheld' : t ? t.disclosure : f in record.fields ? 'clear' : 'absent';
              return (
                <tr key={f} data-field={f} data-disclosure={disclosure}>
                  <th scope="row">{f}</th>
                  <td><span className={`tag ${disclosure}`}>{disclosure}</span></td>
                  <td>{w ? '—' : String((record.fields as Json)[f] ?? '')}</td>
                  <td>{w ? `${w.reason}; rules: ${w.rules.join(', ') || 'none permits'}; class ${w.class ?? '?'}; category ${w.category ?? 'unclassified'}` : t ? `${t.disclosure}${t.mask ? ` (${t.mask})` : ''} is the most the rules permit: ${t.rules.join(', ')}; class ${t.class ?? '?'}; category ${t.category ?? '?'}` : ''}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
    </section>
  );
}
