// Scanning a store (PGlite or PostgreSQL, through the Store interface): every table, N rows per
// table by default or all of them with `full`, each column's values through the detectors with the
// column name as context. A table that fails (the store went away, a permission) is reported and
// the scan goes on with the next.

import type { Store } from '../store/index.js';
import { TABLE_PREFIX } from '../store/index.js';
import { detect, type DetectOptions } from './detect.js';
import { maskSample, type Finding, type ScanProblem } from './types.js';
import type { Fingerprints } from './fingerprints.js';

/** Rows read per table unless `full`. */
export const DEFAULT_SAMPLE_ROWS = 1000;
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
  const limit = options.full ? Infinity : (options.sample ?? DEFAULT_SAMPLE_ROWS);
  const max = options.maxFindings ?? 100_000;
  let rows = 0;
  let dropped = 0;
  let tables: string[];
  try {
    tables = await store.tables();
  } catch (e) {
    problems.push({ code: 'scan.store_unavailable', target: store.name, message: `cannot list tables: ${(e as Error).message}` });
    return { store: store.name, rows, findings, columns, problems, dropped };
  }
  if (options.tables) tables = tables.filter((t) => options.tables!.includes(t) || options.tables!.includes(datasetOfTable(t)));
  for (const table of tables) {
    const profiles = new Map<string, { values: number; categories: Record<string, number> }>();
    let n = 0;
    try {
      for await (const row of store.dump(table)) {
        if (n >= limit) break;
        n++;
        const names = Object.keys(row);
        const keyColumn = KEY_COLUMNS.find((k) => k in row) ?? names[0];
        const rowKey = keyColumn === undefined ? String(n) : unjson(row[keyColumn] ?? String(n));
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
            if (findings.length >= max) {
              dropped++;
              continue;
            }
            findings.push({
              detector: d.detector,
              category: d.category,
              confidence: d.confidence,
              where: { kind: 'store', store: store.name, table, column, row: rowKey },
              sample: maskSample(d.value),
              span: [d.start, d.end],
              ...(d.country ? { country: d.country } : {}),
              ...(d.enclave ? { enclave: d.enclave } : {}),
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
    for (const [column, p] of profiles) columns.push({ store: store.name, table, column, values: p.values, categories: p.categories });
  }
  return { store: store.name, rows, findings, columns, problems, dropped };
}

/** cordon's jsonb columns come back as JSON text: `"+1 202…"` is the string inside. */
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
