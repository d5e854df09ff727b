import type { ReactElement } from 'react';

/** A read of an enclave table by a database role other than cordon's own (GET /v1/flows/leaks `backdoors`). */
export interface Backdoor {
  id: string;
  role: string;
  store: string;
  table: string;
  dataset?: string;
  columns: string[];
  columnsHow: string;
  protected: { column: string; category: string; jurisdiction: string }[];
  client: string;
  statement?: string;
  lastSeen: string;
  reads: number;
  evidence: string;
}

export interface AuditHealth {
  ok: boolean;
  stale: boolean;
  sources: { store: string; ok: boolean; error?: string; unparsed: number; lastRead?: string }[];
}

/** The backdoors the databases' own audit trails show, and whether that view is stale. Nothing when no trail is configured. */
export function Backdoors({ backdoors, audit }: { backdoors?: Backdoor[]; audit?: AuditHealth }): ReactElement | null {
  if (!audit) return null;
  return (
    <section aria-labelledby="backdoors-title">
      <h3 id="backdoors-title">Backdoors: {backdoors?.length ?? 0} (from the databases' audit trails)</h3>
      {audit.stale && (
        <p role="alert" data-backdoors-stale="true">
          The backdoor view is stale:{' '}
          {audit.sources
            .filter((s) => !s.ok)
            .map((s) => `${s.store} (${s.error ?? 'unreadable'}, last read ${s.lastRead ?? 'never'})`)
            .join('; ')}
        </p>
      )}
      {audit.sources
        .filter((s) => s.unparsed > 0)
        .map((s) => (
          <p key={s.store} className="muted">
            {s.store}: {s.unparsed} audit log line(s) could not be parsed
          </p>
        ))}
      <ul>
        {(backdoors ?? []).map((b) => (
          <li key={b.id} data-backdoor={b.role}>
            role <code>{JSON.stringify(b.role)}</code> {b.columnsHow === 'function' ? 'called' : 'read'} {b.store} {b.table}
            {b.columns.length > 0 ? ` (${b.columns.join(', ')})` : ''} from {b.client || '?'} at {b.lastSeen}
            {b.reads > 1 ? `, ${b.reads} times` : ''}
            {b.protected.length > 0 ? ` — protected: ${b.protected.map((p) => `${p.column} (${p.jurisdiction})`).join(', ')}` : ''}
            <div className="muted">
              {b.statement ?? '(statement not shown)'} — {b.evidence}
            </div>
          </li>
        ))}
      </ul>
    </section>
  );
}
