import { useState } from 'react';
import { api, type Json } from '../api';
import type { PageProps } from '../App';

interface Disclosed {
  key: string;
  jurisdiction: string | null;
  fields: Record<string, unknown>;
  transformed: Record<string, { disclosure: string; mask?: string; rules: string[]; category?: string; class?: string }>;
  withheld: { field: string; reason: string; rules: string[]; category?: string; class?: string }[];
  /** Each field sent in clear and why: its rules and the caller's own grant that released it (null: none needed). */
  released?: Record<string, { rules: string[]; category?: string; class?: string; grant: GrantRef | null }>;
}
interface GrantRef {
  id: string;
  reason: string;
  ticket: string;
  expiresAt: string;
  breakGlass: boolean;
}

const REASONS: Record<string, string> = {
  forbidden: 'a forbid rule blocks it',
  not_permitted: 'no rule permits it',
  unclassified: 'the field has no data category (treated as protected)',
  mask_failed: 'its value could not be masked',
  unreadable: 'its stored value cannot be read (its key was shredded, or it does not authenticate)',
};

function Value({ value }: { value: unknown }) {
  if (value === null || value === undefined) return <span className="null">null</span>;
  return <>{typeof value === 'string' ? value : JSON.stringify(value)}</>;
}

function Grant({ g }: { g: GrantRef }) {
  return (
    <span data-grant={g.id}>
      released by {g.breakGlass ? <strong className="break_glass">break-glass </strong> : ''}grant <code>{g.id}</code> (reason {g.reason || '?'}, ticket{' '}
      {g.ticket || 'none'}, expires {g.expiresAt ? new Date(g.expiresAt).toLocaleString() : '?'})
    </span>
  );
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
        <div className="scroll">
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
                  const c = record.released?.[f];
                  const value = (record.fields as Json)[f];
                  return (
                    <tr key={f} data-field={f} data-disclosure={disclosure} data-null={String(!w && f in record.fields && value === null)}>
                      <th scope="row">{f}</th>
                      <td>
                        <span className={`tag ${disclosure}`}>{disclosure}</span>
                      </td>
                      <td>{w ? '—' : f in record.fields ? <Value value={value} /> : <span className="null">absent</span>}</td>
                      <td>
                        {w ? (
                          `${REASONS[w.reason] ?? w.reason} (${w.reason}); rules: ${w.rules.join(', ') || 'none permits'}; class ${w.class ?? '?'}; category ${w.category ?? 'unclassified'}`
                        ) : t ? (
                          `${t.disclosure}${t.mask ? ` (${t.mask})` : ''} is the most the rules permit: ${t.rules.join(', ')}; class ${t.class ?? '?'}; category ${t.category ?? '?'}`
                        ) : c ? (
                          <>
                            clear by rule{c.rules.length === 1 ? '' : 's'} {c.rules.join(', ') || '?'}; class {c.class ?? '?'}; category {c.category ?? '?'};{' '}
                            {c.grant ? <Grant g={c.grant} /> : 'no grant needed'}
                          </>
                        ) : f in record.fields ? (
                          'clear'
                        ) : (
                          'the record has no such field'
                        )}
                      </td>
                    </tr>
                  );
                })}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
