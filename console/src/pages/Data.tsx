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
  const [dataset, setDataset] = useState(info.datasets.some((d) => d.name === 'users') ? 'users' : (info.datasets[0]?.name ?? ''));
  const [key, setKey] = useState('demo-us-1');
  const [record, setRecord] = useState<Disclosed>();
  const [error, setError] = useState<string>();
  const [findField, setFindField] = useState('username');
  const [findValue, setFindValue] = useState('');
  const [found, setFound] = useState<string[]>();
  const fields = info.datasets.find((d) => d.name === dataset)?.fields ?? [];
  const keyField = info.datasets.find((d) => d.name === dataset)?.key;
  const findBy = fields.includes(findField) ? findField : (fields[0] ?? '');
  const open = async (k = key) => {
    setError(undefined);
    try {
      setRecord(await api<Disclosed>(session, 'GET', `/v1/data/${encodeURIComponent(dataset)}/${encodeURIComponent(k)}`));
    } catch (e) {
      setRecord(undefined);
      setError((e as Error).message);
    }
  };
  // Keys the principal may not see in clear are its own tokens (tok_…): a record is found by a field
  // it may filter on, and opened by the key the list gives.
  const find = async () => {
    setError(undefined);
    try {
      const page = await api<{ items: { key: string }[] }>(
        session,
        'GET',
        `/v1/data/${encodeURIComponent(dataset)}?limit=20&filter.${encodeURIComponent(findBy)}=${encodeURIComponent(findValue)}`,
      );
      setFound(page.items.map((i) => i.key));
    } catch (e) {
      setFound(undefined);
      setError((e as Error).message);
    }
  };
  return (
    <section aria-labelledby="data-title">
      <h2 id="data-title">Data as {session.principal} sees it</h2>
      <form
        className="row"
        onSubmit={(e) => {
          e.preventDefault();
          void open();
        }}
      >
        <label>
          Dataset
          <select aria-label="Dataset" value={dataset} onChange={(e) => setDataset(e.target.value)}>
            {info.datasets.map((d) => (
              <option key={d.name}>{d.name}</option>
            ))}
          </select>
        </label>
        <label>
          Record key
          <input aria-label="Record key" value={key} onChange={(e) => setKey(e.target.value)} />
        </label>
        <button type="submit">Open</button>
      </form>
      <form
        className="row"
        onSubmit={(e) => {
          e.preventDefault();
          void find();
        }}
      >
        <label>
          Find by
          <select aria-label="Find by field" value={findBy} onChange={(e) => setFindField(e.target.value)}>
            {fields.map((f) => (
              <option key={f}>{f}</option>
            ))}
          </select>
        </label>
        <label>
          Value
          <input aria-label="Find value" value={findValue} onChange={(e) => setFindValue(e.target.value)} />
        </label>
        <button type="submit">Find</button>
      </form>
      {found && (
        <ul aria-label="Found records">
          {found.length === 0 && <li>no record</li>}
          {found.map((k) => (
            <li key={k}>
              <button
                type="button"
                data-key={k}
                onClick={() => {
                  setKey(k);
                  void open(k);
                }}
              >
                {k}
              </button>
            </li>
          ))}
        </ul>
      )}
      {error && <p role="alert">{error}</p>}
      {record && (
        <table aria-label="Record fields">
          <thead>
            <tr>
              <th>Field</th>
              <th>Disclosure</th>
              <th>Value</th>
              <th>Why</th>
            </tr>
          </thead>
          <tbody>
            {[keyField, ...fields]
              .filter((f): f is string => f !== undefined)
              .filter((f, i, all) => all.indexOf(f) === i)
              .map((f) => {
                const w = record.withheld.find((x) => x.field === f);
                const t = record.transformed[f];
                const disclosure = w ? 'withheld' : t ? t.disclosure : f in record.fields ? 'clear' : 'absent';
                return (
                  <tr key={f} data-field={f} data-disclosure={disclosure}>
                    <th scope="row">{f}</th>
                    <td>
                      <span className={`tag ${disclosure}`}>{disclosure}</span>
                    </td>
                    <td>{w ? '—' : String((record.fields as Json)[f] ?? '')}</td>
                    <td>
                      {w
                        ? `${w.reason}; rules: ${w.rules.join(', ') || 'none permits'}; class ${w.class ?? '?'}; category ${w.category ?? 'unclassified'}`
                        : t
                          ? `${t.disclosure}${t.mask ? ` (${t.mask})` : ''} is the most the rules permit: ${t.rules.join(', ')}; class ${t.class ?? '?'}; category ${t.category ?? '?'}`
                          : ''}
                    </td>
                  </tr>
                );
              })}
          </tbody>
        </table>
      )}
    </section>
  );
}
