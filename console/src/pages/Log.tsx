import { Fragment, useCallback, useEffect, useState } from 'react';
import { api, hashQuery, type Json } from '../api';
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

const PAGE = 50;
/** The filters the log API takes (GET /v1/log/records), as the page's hash carries them. */
const FILTERS = ['since', 'until', 'principal', 'dataset', 'country', 'outcome', 'disclosure', 'kind'] as const;
type Filters = Partial<Record<(typeof FILTERS)[number], string>>;
const KINDS = [
  ['', 'any'],
  ['access_record', 'gateway decisions'],
  ['transfer', 'transfers'],
  ['declassify', 'declassifications'],
  ['break_glass', 'break-glass'],
  ['audit_read', 'auditors’ reads'],
  ['broker.request', 'access requests'],
  ['broker.grant', 'grants'],
  ['broker.review', 'break-glass reviews'],
  ['broker.revoke', 'revocations'],
  ['broker.standing_review', 'standing-access reviews'],
  ['key.release', 'key releases'],
  ['migrate.run', 'migrations'],
  ['report', 'reports'],
] as const;

function filtersFromHash(): Filters {
  const q = hashQuery();
  const f: Filters = {};
  for (const k of FILTERS) {
    const v = q.get(k);
    if (v) f[k] = v;
  }
  return f;
}

/** An ISO time as a datetime-local input shows it (local time), and back. */
const toLocal = (iso: string | undefined) => {
  if (!iso) return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '';
  return new Date(d.getTime() - d.getTimezoneOffset() * 60_000).toISOString().slice(0, 16);
};
const fromLocal = (v: string) => (v ? new Date(v).toISOString() : undefined);

/** What a record did, beside its kind: transfers, declassifications and break-glass are called out. */
export function marks(r: Json): string[] {
  const out: string[] = [];
  const effects = Array.isArray(r['effects']) ? (r['effects'] as Json[]) : [];
  if (effects.some((e) => e['action'] === 'transfer')) out.push('transfer');
  if (effects.some((e) => e['action'] === 'declassify')) out.push('declassify');
  const g = r['grant'] as Json | null | undefined;
  if (r['type'] === 'broker.break_glass' || (g && g['breakGlass'] === true)) out.push('break_glass');
  return out;
}

const kindOf = (r: Json) => String(r['type'] ?? (r['action'] === 'audit_read' ? 'audit_read' : `access ${String(r['action'] ?? '?')}`));
const summary = (r: Json) =>
  [r['principal'] ?? r['by'], r['dataset'] ?? (Array.isArray(r['datasets']) ? (r['datasets'] as string[]).join(', ') : undefined), r['outcome'], r['country']]
    .filter((x) => x !== undefined && x !== null && x !== '')
    .join(' · ');

export function LogPage({ session, info }: PageProps) {
  const [filters, setFilters] = useState<Filters>(filtersFromHash);
  const [draft, setDraft] = useState<Filters>(filtersFromHash);
  // Newest first: the cursors (before=) of the pages seen so far; the last is the page shown.
  const [cursors, setCursors] = useState<(number | undefined)[]>([undefined]);
  const [rows, setRows] = useState<Row[]>();
  const [next, setNext] = useState<number | null>(null);
  const [opened, setOpened] = useState<Opened>();
  const [verified, setVerified] = useState<Verified>();
  const [error, setError] = useState<string>();
  const [auditor, setAuditor] = useState<boolean>();
  const cursor = cursors.at(-1);
  useEffect(() => {
    api<{ auditor: boolean }>(session, 'GET', '/v1/console/whoami').then(
      (w) => setAuditor(w.auditor),
      (e: Error) => setError(e.message),
    );
  }, [session]);

  const load = useCallback(async () => {
    setError(undefined);
    // Newest first: the first page starts before the end of the log, whatever its size.
    const q = new URLSearchParams({ limit: String(PAGE), before: String(cursor ?? Number.MAX_SAFE_INTEGER) });
    for (const [k, v] of Object.entries(filters)) if (v) q.set(k, v);
    const page = await api<{ records: Row[]; next: number | null }>(session, 'GET', `/v1/log/records?${q}`);
    setRows(page.records);
    setNext(page.next);
  }, [session, filters, cursor]);
  useEffect(() => {
    if (auditor) load().catch((e: Error) => setError(e.message));
  }, [load, auditor]);

  const apply = (f: Filters) => {
    const clean: Filters = {};
    for (const k of FILTERS) if (f[k]) clean[k] = f[k];
    setFilters(clean);
    setDraft(clean);
    setCursors([undefined]);
    setOpened(undefined);
    const q = new URLSearchParams(clean as Record<string, string>).toString();
    window.history.replaceState(null, '', `#/log${q ? `?${q}` : ''}`);
  };

  const open = async (index: number) => {
    setVerified(undefined);
    setError(undefined);
    if (opened?.index === index) {
      setOpened(undefined);
      return;
    }
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
  const set = (k: keyof Filters, v: string) => setDraft({ ...draft, [k]: v || undefined });
  const active = Object.entries(filters).filter(([, v]) => v);

  if (auditor === false)
    return (
      <section aria-labelledby="log-title">
        <h2 id="log-title">Access log</h2>
        <p data-testid="not-auditor">
          The access log's records are for its auditors (cordon.yaml access_log.auditors), and {session.principal} is not one. Anyone may check the log itself:
          its signed checkpoint is public at <a href="/log/checkpoint">/log/checkpoint</a>, with its tiles and proofs.
        </p>
      </section>
    );
  return (
    <section aria-labelledby="log-title">
      <h2 id="log-title">Access log</h2>
      <form
        className="row"
        aria-label="Log filters"
        onSubmit={(e) => {
          e.preventDefault();
          apply(draft);
        }}
      >
        <label>
          From
          <input type="datetime-local" aria-label="From time" value={toLocal(draft.since)} onChange={(e) => set('since', fromLocal(e.target.value) ?? '')} />
        </label>
        <label>
          To
          <input type="datetime-local" aria-label="To time" value={toLocal(draft.until)} onChange={(e) => set('until', fromLocal(e.target.value) ?? '')} />
        </label>
        <label>
          Principal
          <input aria-label="Principal" value={draft.principal ?? ''} onChange={(e) => set('principal', e.target.value)} size={16} />
        </label>
        <label>
          Dataset
          <select aria-label="Dataset" value={draft.dataset ?? ''} onChange={(e) => set('dataset', e.target.value)}>
            <option value="">any</option>
            {info.datasets.map((d) => (
              <option key={d.name}>{d.name}</option>
            ))}
          </select>
        </label>
        <label>
          Outcome
          <select aria-label="Outcome" value={draft.outcome ?? ''} onChange={(e) => set('outcome', e.target.value)}>
            <option value="">any</option>
            {['released', 'refused', 'permitted', 'failed'].map((o) => (
              <option key={o}>{o}</option>
            ))}
          </select>
        </label>
        <label>
          Record type
          <select aria-label="Record type" value={draft.kind ?? ''} onChange={(e) => set('kind', e.target.value)}>
            {KINDS.map(([k, label]) => (
              <option key={k} value={k}>
                {label}
              </option>
            ))}
          </select>
        </label>
        <button type="submit">Filter</button>
        <button type="button" className="secondary" onClick={() => apply({})}>
          Clear
        </button>
      </form>
      {active.length > 0 && (
        <p className="muted" data-testid="active-filters">
          Filtered by {active.map(([k, v]) => `${k} = ${v}`).join(', ')}
        </p>
      )}
      {error && <p role="alert">{error}</p>}
      <div className="pager">
        <button type="button" className="secondary" disabled={cursors.length === 1} onClick={() => setCursors(cursors.slice(0, -1))}>
          Newer
        </button>
        <span className="muted" data-testid="page-number">
          page {cursors.length}
        </span>
        <button type="button" className="secondary" disabled={next === null} onClick={() => next !== null && setCursors([...cursors, next])}>
          Older
        </button>
      </div>
      <div className="scroll">
        <table aria-label="Access records">
          <thead>
            <tr>
              <th>Index</th>
              <th>Time</th>
              <th>Kind</th>
              <th>Record</th>
              <th></th>
            </tr>
          </thead>
          <tbody>
            {rows?.length === 0 && (
              <tr>
                <td colSpan={5} className="empty">
                  {next === null ? 'No record matches these filters.' : 'No match among the records read; press Older to look further back.'}
                </td>
              </tr>
            )}
            {rows?.map((r) => (
              <Fragment key={r.index}>
                <tr data-index={r.index} data-marks={marks(r.record).join(' ')} className={opened?.index === r.index ? 'opened' : undefined}>
                  <td>{r.index}</td>
                  <td>{String(r.record['at'] ?? '')}</td>
                  <td>
                    {kindOf(r.record)}{' '}
                    {marks(r.record).map((m) => (
                      <span key={m} className={`tag ${m}`} data-mark={m}>
                        {m.replace('_', '-')}
                      </span>
                    ))}
                  </td>
                  <td>{summary(r.record)}</td>
                  <td>
                    <button
                      type="button"
                      className="secondary"
                      onClick={() => void open(r.index)}
                      aria-label={`${opened?.index === r.index ? 'Close' : 'Open'} record ${r.index}`}
                      aria-expanded={opened?.index === r.index}
                    >
                      {opened?.index === r.index ? 'Close' : 'Open'}
                    </button>
                  </td>
                </tr>
                {opened?.index === r.index && (
                  <tr className="opened" data-opened={r.index}>
                    <td colSpan={5}>
                      <section aria-label={`Record ${opened.index}`}>
                        <pre>{JSON.stringify(opened.record, null, 2)}</pre>
                        <p>Commitment matches its entry: {opened.matches_entry ? <span className="ok">yes</span> : <span className="bad">no</span>}</p>
                        <button type="button" onClick={() => void verify()}>
                          Verify inclusion in this browser
                        </button>
                        {verified && (
                          <p data-testid="verification" data-root-matches={String(verified.rootMatches)} data-signature-valid={String(verified.signatureValid)}>
                            {verified.rootMatches && verified.signatureValid ? (
                              <span className="ok">✓ included</span>
                            ) : (
                              <span className="bad">✗ not verified</span>
                            )}{' '}
                            — leaf {verified.leafHash.slice(0, 16)}…, root of checkpoint {verified.size} {verified.rootMatches ? 'matches' : 'does not match'},
                            signature by {verified.signer} {verified.signatureValid ? 'valid' : 'invalid'} (WebCrypto)
                          </p>
                        )}
                      </section>
                    </td>
                  </tr>
                )}
              </Fragment>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}
