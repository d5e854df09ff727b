// Scanning a store (PGlite or PostgreSQL, through the Store interface): every table, N rows per
// table by default or all of them with `full`, each column's values through the detectors with the
// column name as context. A table that fails (the store went away, a permission) is reported and
// the scan goes on with the next.

import type { Store } from '../store/index.js';
import { TABLE_PREFIX } from '../store/index.js';
import { detect, type DetectOptions } from './detect.js';
import { maskSample, type ColumnSummary, type Finding, type ScanProblem, type StoreLocation } from './types.js';
import { ColumnTally } from './summary.js';
import type { Fingerprints } from './fingerprints.js';
import type { RecordJurisdictions } from './record-jurisdiction.js';

/** Rows read per table unless `full`. */
export const DEFAULT_SAMPLE_ROWS = 1000;
/** Subject rows whose jurisdiction a store scan keeps while it reads them. */
const MAX_REMEMBERED = 200_000;
/** Keys tried, in order, as the row key a finding names. */
const KEY_COLUMNS = ['key', 'id', 'uid', 'uuid'];

export interface StoreScanOptions extends DetectOptions {
  /** Rows per table (default DEFAULT_SAMPLE_ROWS); ignored when `full`. */
  readonly sample?: number;
  readonly full?: boolean;
  /** Only these tables (default: every table). */
  readonly tables?: readonly string[];
  readonly fingerprints?: Fingerprints;
  readonly maxFindings?: number;
  /** With a policy: each catalog row's own jurisdiction is put in its findings' location. */
  readonly records?: RecordJurisdictions;
}

/** What one column's sampled values looked like. */
export interface ColumnProfile {
  readonly store: string;
  readonly table: string;
  readonly column: string;
  /** Non-empty values read. */
  readonly values: number;
  /** Detected category -> values with at least one detection of it. */
  readonly categories: Readonly<Record<string, number>>;
}

export interface StoreScanResult {
  readonly store: string;
  readonly rows: number;
  readonly findings: Finding[];
  readonly columns: ColumnProfile[];
  readonly problems: ScanProblem[];
  readonly dropped: number;
  /** Every finding counted by table, column and detector. */
  readonly summary: ColumnSummary[];
}

/** The dataset a table holds: cordon's own tables are `ds_<dataset>`; any other is its own name. */
export function datasetOfTable(table: string): string {
  return table.startsWith(TABLE_PREFIX) ? table.slice(TABLE_PREFIX.length) : table;
}

/** Scans a store. MUST NOT throw for what the store holds or for the store failing; see problems. */
export async function scanStore(store: Store, options: StoreScanOptions = {}): Promise<StoreScanResult> {
  const findings: Finding[] = [];
  const columns: ColumnProfile[] = [];
  const problems: ScanProblem[] = [];
  const summary: ColumnSummary[] = [];
  const limit = options.full ? Infinity : (options.sample ?? DEFAULT_SAMPLE_ROWS);
  const max = options.maxFindings ?? 100_000;
  let rows = 0;
  let dropped = 0;
  let tables: string[];
  try {
    tables = await store.tables();
  } catch (e) {
    problems.push({ code: 'scan.store_unavailable', target: store.name, message: `cannot list tables: ${(e as Error).message}` });
    return { store: store.name, rows, findings, columns, problems, dropped, summary };
  }
  if (options.tables) tables = tables.filter((t) => options.tables!.includes(t) || options.tables!.includes(datasetOfTable(t)));
  const records = options.records;
  const subjects = new SubjectJurisdictions(store, records);
  /** Findings whose row takes its subject's jurisdiction: index in `findings`, subject table and key. */
  const pending: { index: number; table: string; key: string }[] = [];
  for (const table of tables) {
    const profiles = new Map<string, { values: number; categories: Record<string, number> }>();
    const spec = records?.spec(table);
    const tally = new ColumnTally(`${store.name}/${table}`);
    let n = 0;
    try {
      for await (const row of store.dump(table)) {
        if (n >= limit) break;
        n++;
        const names = Object.keys(row);
        const rowKey = rowKeyOf(row, names, n);
        let jurisdiction: string | null | undefined;
        let subjectKey: string | undefined;
        if (spec?.kind === 'field') {
          const raw = row[spec.field];
          jurisdiction = records!.ofCountry(raw === null || raw === undefined ? raw : unjson(raw));
          subjects.remember(table, rowKey, jurisdiction);
        } else if (spec?.kind === 'subject') {
          const raw = row[spec.field];
          if (raw === null || raw === undefined || raw === '') jurisdiction = null;
          else subjectKey = unjson(raw);
        } else if (spec?.kind === 'none') jurisdiction = null;
        for (const column of names) {
          const raw = row[column];
          if (raw === null || raw === undefined || raw === '') continue;
          const value = unjson(raw);
          let p = profiles.get(column);
          if (!p) {
            p = { values: 0, categories: {} };
            profiles.set(column, p);
          }
          p.values++;
          const seen = new Set<string>();
          for (const d0 of detect(value, { ...options, hint: column })) {
            const d = options.fingerprints?.match(d0) ?? d0;
            if (!seen.has(d0.category)) {
              seen.add(d0.category);
              p.categories[d0.category] = (p.categories[d0.category] ?? 0) + 1;
            }
            tally.add(column, d.detector, d.category, n, `row ${rowKey}`);
            if (findings.length >= max) {
              dropped++;
              continue;
            }
            if (subjectKey !== undefined && spec?.kind === 'subject') pending.push({ index: findings.length, table: spec.table, key: subjectKey });
            findings.push({
              detector: d.detector,
              category: d.category,
              confidence: d.confidence,
              where: {
                kind: 'store',
                store: store.name,
                table,
                column,
                row: rowKey,
                ...(jurisdiction !== undefined ? { jurisdiction } : {}),
              },
              sample: maskSample(d.value),
              span: [d.start, d.end],
              ...(d.country ? { country: d.country } : {}),
              ...(d.enclave ? { enclave: d.enclave } : {}),
              ...(d.reasons ? { reasons: d.reasons } : {}),
            });
          }
        }
      }
    } catch (e) {
      problems.push({
        code: 'scan.store_unavailable',
        target: `${store.name}/${table}`,
        message: `stopped after ${n} rows: ${(e as Error).message.split('\n')[0]}`,
      });
    }
    rows += n;
    summary.push(...tally.summary(n));
    for (const [column, p] of profiles) columns.push({ store: store.name, table, column, values: p.values, categories: p.categories });
  }
  if (pending.length > 0) {
    const told = await subjects.resolve(pending);
    for (const p of pending) {
      const f = findings[p.index]!;
      findings[p.index] = { ...f, where: { ...(f.where as StoreLocation), jurisdiction: told.get(`${p.table}\u0000${p.key}`) ?? null } };
    }
  }
  return { store: store.name, rows, findings, columns, problems, dropped, summary };
}

/**
 * The jurisdictions of subject rows (a video's owner), for findings in rows that take their
 * subject's: those read while scanning are remembered, the others are looked up in one more pass
 * over the subject's table (stopping once all are found), subjects of subjects in turn. A subject
 * not found, or a table that cannot be read, tells nothing (null).
 */
class SubjectJurisdictions {
  private readonly known = new Map<string, string | null>();
  constructor(
    private readonly store: Store,
    private readonly records: RecordJurisdictions | undefined,
  ) {}

  /** Keeps what a scanned row told, up to MAX_REMEMBERED rows (a full scan of millions looks the rest up). */
  remember(table: string, key: string, jurisdiction: string | null): void {
    if (this.known.size < MAX_REMEMBERED) this.known.set(`${table}\u0000${key}`, jurisdiction);
  }

  async resolve(wanted: readonly { table: string; key: string }[]): Promise<Map<string, string | null>> {
    const out = new Map<string, string | null>();
    // subject table\0key -> the ids (table\0key of the rows asking) waiting on it
    let asks = new Map<string, string[]>();
    for (const w of wanted) {
      const id = `${w.table}\u0000${w.key}`;
      if (!asks.has(id)) asks.set(id, [id]);
    }
    for (let depth = 0; depth < 4 && asks.size > 0; depth++) {
      const next = new Map<string, string[]>();
      const byTable = new Map<string, Set<string>>();
      for (const id of asks.keys()) {
        const known = this.known.get(id);
        if (known !== undefined || !this.records) {
          for (const origin of asks.get(id)!) out.set(origin, known ?? null);
          continue;
        }
        const [table, key] = id.split('\u0000') as [string, string];
        const keys = byTable.get(table) ?? new Set<string>();
        byTable.set(table, keys);
        keys.add(key);
      }
      for (const [table, keys] of byTable) {
        const spec = this.records!.spec(table);
        const found = new Map<string, { j: string | null } | { subject: string }>();
        try {
          for await (const row of this.store.dump(table)) {
            const keyColumn = KEY_COLUMNS.find((k) => k in row) ?? Object.keys(row)[0];
            const raw = keyColumn === undefined ? null : row[keyColumn];
            const key = raw === null || raw === undefined ? undefined : unjson(raw);
            if (key === undefined || !keys.has(key)) continue;
            const f = spec?.kind === 'field' || spec?.kind === 'subject' ? row[spec.field] : null;
            const v = f === null || f === undefined ? f : unjson(f);
            if (spec?.kind === 'field') found.set(key, { j: this.records!.ofCountry(v) });
            else if (spec?.kind === 'subject' && v) found.set(key, { subject: `${spec.table}\u0000${v}` });
            else found.set(key, { j: null });
            if (found.size === keys.size) break;
          }
        } catch {
          // Unreadable: these subjects tell nothing.
        }
        for (const key of keys) {
          const id = `${table}\u0000${key}`;
          const r = found.get(key);
          if (r && 'subject' in r) next.set(r.subject, [...(next.get(r.subject) ?? []), ...asks.get(id)!]);
          else {
            const j = r ? r.j : null;
            this.known.set(id, j);
            for (const origin of asks.get(id)!) out.set(origin, j);
          }
        }
      }
      asks = next;
    }
    for (const origins of asks.values()) for (const origin of origins) out.set(origin, null);
    return out;
  }
}

/** cordon's jsonb columns come back as JSON text: `"+1 202…"` is the string inside. */
/**
 * The name a finding gives its row: the first of KEY_COLUMNS the row has, else its first column —
 * unless that value is itself something a detector finds (a legacy table keyed by email or phone
 * number), which is never printed: the row is then named by its position in the scan (`#n`).
 */
function rowKeyOf(row: Record<string, string | null>, names: readonly string[], n: number): string {
  const keyColumn = KEY_COLUMNS.find((k) => k in row) ?? names[0];
  const raw = keyColumn === undefined ? null : row[keyColumn];
  if (raw === null || raw === undefined || raw === '') return `#${n}`;
  const key = unjson(raw);
  return detect(key, { hint: keyColumn }).length > 0 ? `#${n}` : key;
}

function unjson(raw: string): string {
  if (raw.length >= 2 && raw.startsWith('"') && raw.endsWith('"')) {
    try {
      const v: unknown = JSON.parse(raw);
      if (typeof v === 'string') return v;
    } catch {
      // Not JSON: the text as it is.
    }
  }
  return raw;
}
