// The legacy PostgreSQL database a migration reads from and purges: schema checks against the
// mapping, paged reads in cursor order (every value read as text, converted by its kind), and the
// purge statements (one UPDATE or DELETE per batch, so a batch is purged wholly or not at all).

import postgres from 'postgres';
import { quoteIdent, type FieldValue } from '../store/index.js';
import { MigrateError } from './errors.js';
import type { Mapping, TableMapping, ValueType } from './mapping.js';

const KINDS: Readonly<Record<string, ValueType>> = {
  text: 'string',
  varchar: 'string',
  bpchar: 'string',
  uuid: 'string',
  citext: 'string',
  name: 'string',
  int2: 'number',
  int4: 'number',
  int8: 'number',
  float4: 'number',
  float8: 'number',
  numeric: 'number',
  bool: 'boolean',
  date: 'date',
  timestamp: 'timestamp',
  timestamptz: 'timestamp',
};

interface ColumnInfo {
  readonly type: string;
  readonly typname: string;
  readonly notNull: boolean;
}

/** One legacy row as read: identifiers as text, mapped values converted by kind. */
export interface LegacyRow {
  readonly cursor: string;
  readonly key: string | null;
  readonly subject: string | null;
  readonly jurisdiction: string | null;
  /** Column name -> value. */
  readonly values: Readonly<Record<string, FieldValue>>;
}

export interface LegacyTable {
  readonly mapping: TableMapping;
  readonly kinds: ReadonlyMap<string, ValueType>;
  readonly notNull: ReadonlySet<string>;
  /** Rows with cursor > after, in cursor order, at most `limit`. */
  batch(after: string | null, limit: number): Promise<LegacyRow[]>;
  count(): Promise<number>;
  /** Sets `columns` to NULL in the rows of these cursors (one statement). */
  nullColumns(cursors: readonly string[], columns: readonly string[]): Promise<number>;
  deleteRows(cursors: readonly string[]): Promise<number>;
  /** Which of these cursors still have a row. */
  existing(cursors: readonly string[]): Promise<Set<string>>;
}

export interface LegacyDb {
  readonly tables: readonly LegacyTable[];
  close(): Promise<void>;
}

function qualified(table: string): string {
  return table.split('.').map(quoteIdent).join('.');
}

/** Connects and checks every mapped table and column; throws migrate.bad_mapping / migrate.type_mismatch / migrate.legacy_unavailable. */
export async function openLegacy(url: string, mapping: Mapping): Promise<LegacyDb> {
  if (!/^postgres(ql)?:\/\//.test(url)) throw new MigrateError('usage.invalid_argument', `--from must be a postgres:// URL`);
  const sql = postgres(url, { max: 4, onnotice: () => {}, connect_timeout: 10 });
  try {
    await sql`SELECT 1`;
  } catch (err) {
    await sql.end({ timeout: 1 }).catch(() => undefined);
    throw new MigrateError('migrate.legacy_unavailable', `the legacy database cannot be reached: ${(err as Error).message}`);
  }
  try {
    const problems: string[] = [];
    const typeProblems: string[] = [];
    const infoOf = async (table: string): Promise<Map<string, ColumnInfo> | undefined> => {
      const rows = await sql.unsafe(
        `SELECT a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type, t.typname AS typname, a.attnotnull AS notnull
           FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid
          WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped`,
        [qualified(table)],
      );
      if (rows.length === 0) return undefined;
      return new Map(rows.map((r) => [String(r['name']), { type: String(r['type']), typname: String(r['typname']), notNull: Boolean(r['notnull']) }]));
    };
    const tables: LegacyTable[] = [];
    for (const t of mapping.tables) {
      const info = await infoOf(t.table);
      if (!info) {
        problems.push(`${mapping.file}: table ${t.table} does not exist in the legacy database`);
        continue;
      }
      const need = (column: string, role: string, allowed: readonly ValueType[]): ColumnInfo | undefined => {
        const c = info.get(column);
        if (!c) {
          problems.push(`${mapping.file}: ${t.table} has no column ${JSON.stringify(column)} (${role})`);
          return undefined;
        }
        const kind = KINDS[c.typname];
        if (kind === undefined || !allowed.includes(kind))
          typeProblems.push(`${mapping.file}: ${t.table}.${column} (${role}) is ${c.type}; expected ${allowed.join(' or ')}`);
        return c;
      };
      const cursor = need(t.cursor, 'cursor', ['string', 'number']);
      const key = need(t.key, 'key', ['string', 'number']);
      const subject = need(t.subject, 'subject', ['string', 'number']);
      if (cursor && !cursor.notNull) typeProblems.push(`${mapping.file}: ${t.table}.${t.cursor} (cursor) must be NOT NULL and unique`);
      const kinds = new Map<string, ValueType>();
      const notNull = new Set<string>();
      for (const c of t.columns) {
        const ci = need(c.column, `mapped to ${t.dataset}.${c.field}`, c.type ? [c.type] : ['string', 'number', 'boolean', 'date', 'timestamp']);
        if (ci) {
          kinds.set(c.column, KINDS[ci.typname] ?? 'string');
          if (ci.notNull) notNull.add(c.column);
        }
      }
      let jexpr: string;
      let join = '';
      if (t.jurisdiction.from === 'column') {
        need(t.jurisdiction.column, 'jurisdiction', ['string']);
        jexpr = `t.${quoteIdent(t.jurisdiction.column)}::text`;
      } else {
        const li = await infoOf(t.jurisdiction.table);
        if (!li) {
          problems.push(`${mapping.file}: lookup table ${t.jurisdiction.table} does not exist in the legacy database`);
          continue;
        }
        const lk = li.get(t.jurisdiction.key);
        const lc = li.get(t.jurisdiction.column);
        if (!lk) problems.push(`${mapping.file}: ${t.jurisdiction.table} has no column ${JSON.stringify(t.jurisdiction.key)} (lookup key)`);
        if (!lc) problems.push(`${mapping.file}: ${t.jurisdiction.table} has no column ${JSON.stringify(t.jurisdiction.column)} (jurisdiction)`);
        if (!lk || !lc || !subject) continue;
        const same = lk.type === subject.type;
        const left = same ? `l.${quoteIdent(t.jurisdiction.key)}` : `l.${quoteIdent(t.jurisdiction.key)}::text`;
        const right = same ? `t.${quoteIdent(t.subject)}` : `t.${quoteIdent(t.subject)}::text`;
        join = ` LEFT JOIN LATERAL (SELECT l.${quoteIdent(t.jurisdiction.column)}::text AS v FROM ${qualified(t.jurisdiction.table)} l WHERE ${left} = ${right} LIMIT 1) lj ON true`;
        jexpr = 'lj.v';
      }
      if (!cursor || !key || !subject) continue;
      const colExpr = (column: string): string => {
        const q = `t.${quoteIdent(column)}`;
        const c = info.get(column)!;
        if (c.typname === 'timestamptz') return `to_char(${q} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;
        if (c.typname === 'timestamp') return `to_char(${q}, 'YYYY-MM-DD"T"HH24:MI:SS.US')`;
        return `${q}::text`;
      };
      const cols = t.columns.filter((c) => info.has(c.column));
      const qt = qualified(t.table);
      const qc = `t.${quoteIdent(t.cursor)}`;
      // Two statements rather than `$1 IS NULL OR …`, so each page is an index range scan.
      const base =
        `SELECT ${qc}::text AS k_cursor, t.${quoteIdent(t.key)}::text AS k_key, t.${quoteIdent(t.subject)}::text AS k_subject, ${jexpr} AS k_jur` +
        cols.map((c, i) => `, ${colExpr(c.column)} AS c${i}`).join('') +
        ` FROM ${qt} t${join}`;
      const selectFirst = `${base} ORDER BY ${qc} LIMIT $1::int`;
      const selectAfter = `${base} WHERE ${qc} > $1::text::${cursor.type} ORDER BY ${qc} LIMIT $2::int`;
      const convert = (column: string, v: unknown, cursor: unknown): FieldValue => {
        if (v === null || v === undefined) return null;
        const s = String(v);
        switch (kinds.get(column)) {
          case 'number': {
            const n = exactNumber(s);
            if (n === undefined) {
              // The value itself is never printed: only where it is.
              throw new MigrateError(
                'migrate.type_mismatch',
                `${t.table}.${column} at cursor ${String(cursor)} holds a number that a JSON number cannot hold exactly (more significant digits than a double keeps, or NaN/Infinity); nothing was written`,
              );
            }
            return n;
          }
          case 'boolean':
            return s === 'true';
          default:
            return s;
        }
      };
      const cursorArray = `$1::text[]::${cursor.type}[]`;
      tables.push({
        mapping: t,
        kinds,
        notNull,
        async batch(after, limit) {
          const rows = after === null ? await sql.unsafe(selectFirst, [limit]) : await sql.unsafe(selectAfter, [after, limit]);
          return rows.map((r) => {
            const values: Record<string, FieldValue> = {};
            for (const [i, c] of cols.entries()) values[c.column] = convert(c.column, r[`c${i}`], r['k_cursor']);
            return {
              cursor: String(r['k_cursor']),
              key: (r['k_key'] as string | null) ?? null,
              subject: (r['k_subject'] as string | null) ?? null,
              jurisdiction: (r['k_jur'] as string | null) ?? null,
              values,
            };
          });
        },
        async count() {
          const r = await sql.unsafe(`SELECT count(*)::int AS n FROM ${qt}`);
          return Number(r[0]!['n']);
        },
        async nullColumns(cursors, columns) {
          if (cursors.length === 0 || columns.length === 0) return 0;
          const r = await sql.unsafe(
            `UPDATE ${qt} SET ${columns.map((c) => `${quoteIdent(c)} = NULL`).join(', ')} WHERE ${quoteIdent(t.cursor)} = ANY(${cursorArray})`,
            [[...cursors]],
          );
          return r.count;
        },
        async deleteRows(cursors) {
          if (cursors.length === 0) return 0;
          const r = await sql.unsafe(`DELETE FROM ${qt} WHERE ${quoteIdent(t.cursor)} = ANY(${cursorArray})`, [[...cursors]]);
          return r.count;
        },
        async existing(cursors) {
          if (cursors.length === 0) return new Set();
          const rows = await sql.unsafe(`SELECT ${quoteIdent(t.cursor)}::text AS c FROM ${qt} WHERE ${quoteIdent(t.cursor)} = ANY(${cursorArray})`, [
            [...cursors],
          ]);
          return new Set(rows.map((r) => String(r['c'])));
        },
      });
    }
    if (problems.length > 0) throw new MigrateError('migrate.bad_mapping', problems.join('\n'));
    if (typeProblems.length > 0) throw new MigrateError('migrate.type_mismatch', typeProblems.join('\n'));
    return { tables, close: () => sql.end({ timeout: 5 }) };
  } catch (err) {
    await sql.end({ timeout: 1 }).catch(() => undefined);
    if (err instanceof MigrateError) throw err;
    throw new MigrateError('migrate.legacy_unavailable', `the legacy database failed: ${(err as Error).message}`);
  }
}

/** A decimal string as sign, significant digits and exponent (e.g. "-120.50" -> "-12e1"), or undefined. */
function normalDecimal(s: string): string | undefined {
  const m = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/.exec(s);
  if (!m || (m[2] === '' && (m[3] ?? '') === '')) return undefined;
  let digits = `${m[2]}${m[3] ?? ''}`.replace(/^0+/, '');
  if (digits === '') return '0';
  let exp = Number(m[4] ?? 0) - (m[3]?.length ?? 0);
  const trailing = /0*$/.exec(digits)![0].length;
  digits = digits.slice(0, digits.length - trailing);
  exp += trailing;
  return `${m[1] === '-' ? '-' : ''}${digits}e${exp}`;
}

/**
 * The number a legacy numeric value's text denotes, when a double holds it exactly (as decimal
 * digits: "12.50" is 12.5); undefined when it would be rounded (int8 beyond 2^53, long numerics) or
 * is NaN or infinite. Migrating a rounded value would verify as equal and then purge the original.
 */
export function exactNumber(s: string): number | undefined {
  const n = Number(s);
  if (!Number.isFinite(n)) return undefined;
  const a = normalDecimal(s.trim());
  return a !== undefined && a === normalDecimal(String(n)) ? n : undefined;
}
