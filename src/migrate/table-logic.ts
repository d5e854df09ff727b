// The per-table logic every step shares: how a legacy row of a mapped table classifies (no subject,
// unknown jurisdiction, out of scope, or in scope with its protected fields and record), the counts
// of those classes, the untouched rows listed in reports, and a legacy table read page by page.

import { classOf, createPlacementRules, fieldCategories } from '../policy/index.js';
import type { FieldValue } from '../store/index.js';
import type { TableMapping } from './mapping.js';
import type { LegacyRow, LegacyTable } from './legacy.js';
import { MAX_LISTED, type MigrateContext } from './context.js';

/** Distinct jurisdiction values whose meaning a table's classification remembers. */
const MAX_REMEMBERED = 10_000;

export interface Counts {
  rows: number;
  inScope: number;
  outOfScope: number;
  noSubject: number;
  unknownJurisdiction: number;
}

export const zero = (): Counts => ({ rows: 0, inScope: 0, outOfScope: 0, noSubject: 0, unknownJurisdiction: 0 });
export const add = (a: Counts, b: Counts): Counts => ({
  rows: a.rows + b.rows,
  inScope: a.inScope + b.inScope,
  outOfScope: a.outOfScope + b.outOfScope,
  noSubject: a.noSubject + b.noSubject,
  unknownJurisdiction: a.unknownJurisdiction + b.unknownJurisdiction,
});

type Classified =
  | { readonly kind: 'no_subject' }
  | { readonly kind: 'unknown_jurisdiction'; readonly value: string | null }
  | { readonly kind: 'out_of_scope'; readonly jurisdiction: string }
  | {
      readonly kind: 'in_scope';
      readonly key: string;
      readonly jurisdiction: string;
      readonly subjectId: string;
      /** Every mapped field (the key field too). */
      readonly record: Readonly<Record<string, FieldValue>>;
      /** Fields protected for this row (placed in the enclave, encrypted), and their legacy columns (purged). */
      readonly protectedFields: readonly string[];
      readonly purgeColumns: readonly string[];
      /** Whether each of the table's mapped fields (TableLogic.fields, in order) is protected for this row. */
      readonly isProtected: readonly boolean[];
    };

export type InScope = Extract<Classified, { kind: 'in_scope' }>;

/** Up to MAX_LISTED keys of untouched rows, for the report (keys only, never values). */
export interface Untouched {
  readonly table: string;
  readonly key: string | null;
  readonly cursor: string;
  readonly why: 'no subject' | 'unknown jurisdiction';
}

function checkCountry(v: string): boolean {
  return /^[A-Z]{2}$/.test(v);
}

/** The per-table logic shared by every step: classification of a legacy row, and its record. */
export function tableLogic(ctx: Pick<MigrateContext, 'policy' | 'mapping'>, t: TableMapping) {
  const { policy, mapping } = ctx;
  const rules = createPlacementRules(policy);
  const dataset = policy.datasets.get(t.dataset)!;
  const jurisdictions = new Set(policy.deployment.enclaves.get(mapping.enclave)!.jurisdictions);
  const kept = new Set([t.cursor, t.key, t.subject, t.jurisdiction.from === 'column' ? t.jurisdiction.column : '']);
  const subjectDataset = dataset.subjectDataset ?? dataset.name;
  const known = new Map<string, string | undefined>();
  const jurisdictionOf = (raw: string | null): string | undefined => {
    if (raw === null) return undefined;
    if (known.has(raw)) return known.get(raw);
    const j =
      t.jurisdiction.as === 'jurisdiction'
        ? policy.deployment.jurisdictions.has(raw)
          ? raw
          : undefined
        : checkCountry(raw)
          ? rules.jurisdictionOfCountry(raw)
          : undefined;
    if (known.size < MAX_REMEMBERED) known.set(raw, j);
    return j;
  };
  // Mapped fields in record order (the key field first) and their legacy columns.
  const fields = [dataset.key, ...t.columns.map((c) => c.field)];
  const columns = [t.key, ...t.columns.map((c) => c.column)];
  // A field whose category does not depend on the row has one class per jurisdiction: asked once.
  const rowDependent = fields.map((f) => dataset.fields.get(f)!.conditions.length > 0);
  const fixedClass = new Map<string, (string | undefined)[]>();
  // Rows of one jurisdiction share their protected fields (row-dependent fields aside): one shape each.
  const shapes = new Map<string, { protectedFields: string[]; purgeColumns: string[]; isProtected: boolean[] }>();
  const scratch: boolean[] = new Array(fields.length).fill(false);
  const classify = (row: LegacyRow): Classified => {
    if (row.subject === null || row.subject === '' || row.key === null) return { kind: 'no_subject' };
    const jurisdiction = jurisdictionOf(row.jurisdiction);
    if (jurisdiction === undefined) return { kind: 'unknown_jurisdiction', value: row.jurisdiction };
    if (!jurisdictions.has(jurisdiction)) return { kind: 'out_of_scope', jurisdiction };
    const record: Record<string, FieldValue> = { [dataset.key]: row.key };
    for (const c of t.columns) record[c.field] = row.values[c.column] ?? null;
    let fixed = fixedClass.get(jurisdiction);
    if (!fixed) {
      fixed = fields.map((f, i) => (rowDependent[i] ? undefined : rules.classOf(t.dataset, f, record, jurisdiction)));
      fixedClass.set(jurisdiction, fixed);
    }
    let signature = jurisdiction;
    for (let i = 0; i < fields.length; i++) {
      const cls = rowDependent[i] ? rules.classOf(t.dataset, fields[i]!, record, jurisdiction) : fixed[i];
      scratch[i] = cls === undefined || cls === 'protected';
      if (rowDependent[i]) signature += scratch[i] ? '\u0000p' : '\u0000-';
    }
    let shape = shapes.get(signature);
    if (!shape) {
      const isProtected = [...scratch];
      const protectedFields = fields.filter((_, i) => isProtected[i]);
      const purgeColumns = columns.filter((c, i) => isProtected[i] && !kept.has(c));
      shape = { protectedFields, purgeColumns, isProtected };
      shapes.set(signature, shape);
    }
    return {
      kind: 'in_scope',
      key: row.key,
      jurisdiction,
      subjectId: `${subjectDataset}/${row.subject}`,
      record,
      protectedFields: shape.protectedFields,
      purgeColumns: shape.purgeColumns,
      isProtected: shape.isProtected,
    };
  };
  /** Legacy columns that may be protected for some row (what purge may clear), and those kept for joins. */
  const mayBeProtected = (): { purgeable: string[]; keptProtected: string[] } => {
    const purgeable: string[] = [];
    const keptProtected: string[] = [];
    const cols = [{ column: t.key, field: dataset.key }, ...t.columns];
    for (const c of cols) {
      const f = dataset.fields.get(c.field)!;
      const cats = fieldCategories(f);
      const prot = [...jurisdictions].some((j) => cats.some((cat) => classOf(policy.classes, policy.taxonomy, j, cat) === 'protected'));
      if (!prot) continue;
      (kept.has(c.column) ? keptProtected : purgeable).push(c.column);
    }
    return { purgeable, keptProtected };
  };
  /** Index of the subject field among `fields` (it stays clear in the enclave: it names the data key), or -1. */
  const subjectIndex = fields.indexOf(dataset.subjectField);
  return { dataset, classify, mayBeProtected, fields, subjectIndex };
}

export type TableLogic = ReturnType<typeof tableLogic>;

export function tally(counts: Counts, c: Classified): void {
  counts.rows++;
  if (c.kind === 'in_scope') counts.inScope++;
  else if (c.kind === 'out_of_scope') counts.outOfScope++;
  else if (c.kind === 'no_subject') counts.noSubject++;
  else counts.unknownJurisdiction++;
}

export function noteUntouched(list: Untouched[], table: string, row: LegacyRow, c: Classified): void {
  if (list.length >= MAX_LISTED) return;
  if (c.kind === 'no_subject') list.push({ table, key: row.key, cursor: row.cursor, why: 'no subject' });
  if (c.kind === 'unknown_jurisdiction') list.push({ table, key: row.key, cursor: row.cursor, why: 'unknown jurisdiction' });
}

export async function* pages(lt: LegacyTable, after: string | null, size: number): AsyncIterable<LegacyRow[]> {
  let cursor = after;
  for (;;) {
    const rows = await lt.batch(cursor, size);
    if (rows.length === 0) return;
    yield rows;
    cursor = rows[rows.length - 1]!.cursor;
    if (rows.length < size) return;
  }
}
