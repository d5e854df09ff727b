// The SQL both drivers share. Field columns are jsonb (a value keeps its type); identifiers are
// quoted, values are always bound parameters. A driver supplies only how to run a query.

import type { FieldValue, ListOptions, ListPage, Row, Store, StoredRow, TableSpec } from './types.js';
import { EntryIndexTakenError, MAX_LIST_LIMIT, MAX_LOG_READ, type EntryRow, type StoredEntryRow } from './types.js';

export interface SqlExecutor {
  /** `once`: a statement whose text varies (e.g. with a row count), not worth preparing and caching. */
  query(sql: string, params?: readonly unknown[], options?: { readonly once?: boolean }): Promise<Record<string, unknown>[]>;
  close(): Promise<void>;
  /**
   * Runs `fn` holding the server's lock `key` (a session advisory lock on a connection of its own),
   * so that processes sharing the database take turns. Absent for an embedded database, which one
   * process holds.
   */
  exclusive?<T>(key: readonly [number, number], fn: () => Promise<T>): Promise<T>;
}

/**
 * The lock DDL takes: processes opening one database at once (a gateway's workers) would otherwise
 * race in CREATE TABLE / CREATE TRIGGER, which PostgreSQL does not make safe by IF NOT EXISTS.
 */
const SCHEMA_LOCK = 'schema';

/** The first half of cordon's advisory-lock keys ('cord'), so they keep clear of other users' locks. */
const LOCK_CLASS = 0x636f7264 | 0;

/** A lock name as the second half of an advisory-lock key: FNV-1a, as a signed 32-bit integer. */
function lockKey(name: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193);
  return h | 0;
}

/** Rows per INSERT of entry rows (3 parameters each; PostgreSQL allows 65,535 per statement). */
const ENTRY_ROWS_PER_STATEMENT = 16_384;

/** Tables of datasets are prefixed so they never collide with cordon's own or a user's tables. */
export const TABLE_PREFIX = 'ds_';
/** Append-only logs (the access recorder's table) are prefixed too. */
export const LOG_PREFIX = 'log_';
export const ENTRIES_PREFIX = 'tlog_';
const DUMP_BATCH = 500;

/** The INSERT of `slots` entry rows, NULL rows skipped (appendEntries pads to a power of two). */
const entryInserts = new Map<string, string>();
function entriesInsert(table: string, slots: number): string {
  const id = `${table}\u0000${slots}`;
  let text = entryInserts.get(id);
  if (text === undefined) {
    const values: string[] = new Array(slots);
    for (let i = 0; i < slots; i++) values[i] = `($${3 * i + 1}::bigint, $${3 * i + 2}::text, $${3 * i + 3}::text)`;
    text = `INSERT INTO ${table} (idx, entry, payload) SELECT idx, entry, payload FROM (VALUES ${values.join(', ')}) AS v (idx, entry, payload) WHERE idx IS NOT NULL`;
    entryInserts.set(id, text);
  }
  return text;
}

export function quoteIdent(name: string): string {
  if (name.length === 0 || name.length > 60 || name.includes('\u0000')) throw new Error(`invalid SQL identifier ${JSON.stringify(name)}`);
  return `"${name.replace(/"/g, '""')}"`;
}

function tableIdent(dataset: string): string {
  return quoteIdent(TABLE_PREFIX + dataset);
}

function decode(v: unknown): FieldValue {
  if (v === null || v === undefined) return null;
  if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return v;
  // A jsonb column holding an object or array would not come from cordon; keep it as text.
  return JSON.stringify(v);
}

function rowOf(r: Record<string, unknown>, columns: readonly string[]): Row {
  const out: Record<string, FieldValue> = {};
  for (const c of columns) out[c] = decode(r[c]);
  return out;
}

export class SqlStore implements Store {
  private readonly columns = new Map<string, readonly string[]>();

  constructor(
    readonly name: string,
    readonly driver: 'pglite' | 'postgres',
    private readonly db: SqlExecutor,
  ) {}

  private fieldsOf(table: string): readonly string[] {
    const cols = this.columns.get(table);
    if (!cols) throw new Error(`store ${this.name}: table ${table} was not ensured`);
    return cols;
  }

  private checkFields(table: string, values: Row): string[] {
    const known = this.fieldsOf(table);
    const names = Object.keys(values);
    for (const n of names) if (!known.includes(n)) throw new Error(`store ${this.name}: ${table} has no field ${JSON.stringify(n)}`);
    return names;
  }

  async ensureTable(spec: TableSpec): Promise<void> {
    const t = tableIdent(spec.name);
    await this.exclusive(SCHEMA_LOCK, async () => {
      await this.db.query(`CREATE TABLE IF NOT EXISTS ${t} (key text PRIMARY KEY, _updated_at timestamptz NOT NULL DEFAULT now())`);
      for (const f of spec.fields) await this.db.query(`ALTER TABLE ${t} ADD COLUMN IF NOT EXISTS ${quoteIdent(f)} jsonb`);
    });
    this.columns.set(spec.name, [...spec.fields]);
  }

  async upsert(table: string, key: string, values: Row): Promise<void> {
    const names = this.checkFields(table, values);
    const cols = names.map(quoteIdent);
    const params = [key, ...names.map((n) => (values[n] === null ? null : JSON.stringify(values[n])))];
    const placeholders = names.map((_, i) => `$${i + 2}::text::jsonb`);
    const updates = [...cols.map((c) => `${c} = EXCLUDED.${c}`), '_updated_at = now()'];
    await this.db.query(
      `INSERT INTO ${tableIdent(table)} (key${cols.map((c) => `, ${c}`).join('')}) VALUES ($1${placeholders.map((p) => `, ${p}`).join('')}) ` +
        `ON CONFLICT (key) DO UPDATE SET ${updates.join(', ')}`,
      params,
    );
  }

  async insert(table: string, key: string, values: Row): Promise<boolean> {
    const names = this.checkFields(table, values);
    const params = [key, ...names.map((n) => (values[n] === null ? null : JSON.stringify(values[n])))];
    const rows = await this.db.query(
      `INSERT INTO ${tableIdent(table)} (key${names.map((n) => `, ${quoteIdent(n)}`).join('')}) ` +
        `VALUES ($1${names.map((_, i) => `, $${i + 2}::text::jsonb`).join('')}) ON CONFLICT (key) DO NOTHING RETURNING key`,
      params,
    );
    return rows.length === 1;
  }

  async upsertMany(table: string, rows: readonly StoredRow[]): Promise<void> {
    await this.writeMany(table, rows, 'update');
  }

  async insertMany(table: string, rows: readonly StoredRow[]): Promise<string[]> {
    return this.writeMany(table, rows, 'nothing');
  }

  /**
   * One INSERT … SELECT over the elements of one JSON array of rows (`[key, value, …]`), bound as a
   * single text parameter: a fixed statement text (prepared once) whatever the row count, all rows
   * or none, and about half the work on both sides of one text array per column (whose per-element
   * escaping and parsing dominated bulk writes). A JSON null becomes SQL NULL, as `null` does in
   * upsert(). Only insertMany asks for the keys back.
   */
  private async writeMany(table: string, rows: readonly StoredRow[], conflict: 'update' | 'nothing'): Promise<string[]> {
    if (rows.length === 0) return [];
    const names = this.checkFields(table, rows[0]!.values);
    const payload: unknown[][] = new Array(rows.length);
    for (let i = 0; i < rows.length; i++) {
      const r = rows[i]!;
      const k = Object.keys(r.values);
      if (k.length !== names.length || k.some((n) => !names.includes(n)))
        throw new Error(`store ${this.name}: ${table} rows of one write must name the same fields`);
      const row: unknown[] = new Array(names.length + 1);
      row[0] = r.key;
      for (let j = 0; j < names.length; j++) row[j + 1] = r.values[names[j]!] ?? null;
      payload[i] = row;
    }
    const cols = names.map(quoteIdent);
    const select = `SELECT e ->> 0${names.map((_, i) => `, NULLIF(e -> ${i + 1}, 'null'::jsonb)`).join('')} FROM jsonb_array_elements($1::text::jsonb) AS e`;
    const onConflict =
      conflict === 'update'
        ? `ON CONFLICT (key) DO UPDATE SET ${[...cols.map((c) => `${c} = EXCLUDED.${c}`), '_updated_at = now()'].join(', ')}`
        : 'ON CONFLICT (key) DO NOTHING RETURNING key';
    const out = await this.db.query(`INSERT INTO ${tableIdent(table)} (key${cols.map((c) => `, ${c}`).join('')}) ${select} ${onConflict}`, [
      JSON.stringify(payload),
    ]);
    return conflict === 'update' ? [] : out.map((r) => String(r['key']));
  }

  async getMany(table: string, keys: readonly string[]): Promise<Map<string, Row>> {
    const fields = this.fieldsOf(table);
    const out = new Map<string, Row>();
    if (keys.length === 0) return out;
    // The fields only (no _updated_at to parse into a Date per row).
    const rows = await this.db.query(`SELECT key${fields.map((f) => `, ${quoteIdent(f)}`).join('')} FROM ${tableIdent(table)} WHERE key = ANY($1::text[])`, [
      [...keys],
    ]);
    for (const r of rows) out.set(String(r['key']), rowOf(r, fields));
    return out;
  }

  async deleteMany(table: string, keys: readonly string[]): Promise<number> {
    this.fieldsOf(table);
    if (keys.length === 0) return 0;
    const rows = await this.db.query(`DELETE FROM ${tableIdent(table)} WHERE key = ANY($1::text[]) RETURNING key`, [[...keys]]);
    return rows.length;
  }

  async get(table: string, key: string): Promise<Row | undefined> {
    const fields = this.fieldsOf(table);
    // The fields only: no _updated_at to parse into a Date.
    const rows = await this.db.query(`SELECT ${fields.map(quoteIdent).join(', ')} FROM ${tableIdent(table)} WHERE key = $1`, [key]);
    return rows[0] ? rowOf(rows[0], fields) : undefined;
  }

  async delete(table: string, key: string): Promise<boolean> {
    this.fieldsOf(table);
    const rows = await this.db.query(`DELETE FROM ${tableIdent(table)} WHERE key = $1 RETURNING key`, [key]);
    return rows.length === 1;
  }

  async list(table: string, options: ListOptions): Promise<ListPage> {
    const fields = this.fieldsOf(table);
    const limit = Math.max(1, Math.min(options.limit, MAX_LIST_LIMIT));
    const params: unknown[] = [];
    const conds: string[] = [];
    if (options.after !== undefined) {
      params.push(options.after);
      conds.push(`key COLLATE "C" > $${params.length}`);
    }
    for (const [field, value] of Object.entries(options.where ?? {})) {
      if (!fields.includes(field)) throw new Error(`store ${this.name}: ${table} has no field ${JSON.stringify(field)}`);
      if (value === null) conds.push(`${quoteIdent(field)} IS NULL`);
      else {
        params.push(JSON.stringify(value));
        conds.push(`${quoteIdent(field)} = $${params.length}::text::jsonb`);
      }
    }
    params.push(limit + 1);
    const rows = await this.db.query(
      // Named columns, not *: a prepared `*` would keep the columns it had when a field is added.
      `SELECT key, ${fields.map(quoteIdent).join(', ')} FROM ${tableIdent(table)}${conds.length ? ` WHERE ${conds.join(' AND ')}` : ''} ORDER BY key COLLATE "C" LIMIT $${params.length}`,
      params,
    );
    const page: StoredRow[] = rows.slice(0, limit).map((r) => ({ key: String(r['key']), values: rowOf(r, fields) }));
    return { rows: page, next: rows.length > limit ? page[page.length - 1]!.key : undefined };
  }

  async tables(): Promise<string[]> {
    const rows = await this.db.query(
      `SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY table_name`,
    );
    return rows.map((r) => String(r['table_name']));
  }

  async *dump(table: string): AsyncIterable<Readonly<Record<string, string | null>>> {
    const t = quoteIdent(table);
    let offset = 0;
    for (;;) {
      // Every column cast to text through a row-to-json round trip, whatever its type.
      const rows = await this.db.query(
        `SELECT (SELECT json_object_agg(e.key, e.value) FROM json_each_text(row_to_json(x)) e) AS r FROM (SELECT * FROM ${t} ORDER BY 1 LIMIT ${DUMP_BATCH} OFFSET ${offset}) x`,
      );
      for (const row of rows) {
        const r = (typeof row['r'] === 'string' ? JSON.parse(row['r']) : row['r']) as Record<string, string | null> | null;
        yield r ?? {};
      }
      if (rows.length < DUMP_BATCH) return;
      offset += DUMP_BATCH;
    }
  }

  async fingerprints(tables: readonly string[]): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    if (tables.length === 0) return out;
    const parts = tables.map(
      // ROW(f.*): the whole row even when a column is named like the alias.
      (t, i) => `SELECT ${i} AS i, md5(coalesce(string_agg(ROW(f.*)::text, E'\\n' ORDER BY ROW(f.*)::text), '')) AS d FROM ${quoteIdent(t)} f`,
    );
    for (const r of await this.db.query(parts.join(' UNION ALL '))) out.set(tables[Number(r['i'])]!, String(r['d']));
    return out;
  }

  /** One creation per log, shared by concurrent first appends (DDL racing itself fails on PostgreSQL). */
  private readonly logs = new Map<string, Promise<string>>();

  private ensureLog(log: string): Promise<string> {
    let ready = this.logs.get(log);
    if (!ready) {
      ready = this.createLog(log);
      this.logs.set(log, ready);
      ready.catch(() => this.logs.delete(log));
    }
    return ready;
  }

  private async createLog(log: string): Promise<string> {
    const t = quoteIdent(LOG_PREFIX + log);
    await this.exclusive(SCHEMA_LOCK, async () => {
      await this.db.query(`CREATE TABLE IF NOT EXISTS ${t} (idx bigserial PRIMARY KEY, entry jsonb NOT NULL, at timestamptz NOT NULL DEFAULT now())`);
      await this.appendOnly(t);
    });
    return t;
  }

  /** The table refuses updates and deletes. */
  private async appendOnly(t: string): Promise<void> {
    await this.db.query(
      `CREATE OR REPLACE FUNCTION cordon_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'append-only log'; END $$`,
    );
    await this.db.query(`DROP TRIGGER IF EXISTS append_only ON ${t}`);
    await this.db.query(`CREATE TRIGGER append_only BEFORE UPDATE OR DELETE ON ${t} FOR EACH ROW EXECUTE FUNCTION cordon_append_only()`);
  }

  async append(log: string, entry: unknown): Promise<number> {
    const t = await this.ensureLog(log);
    const rows = await this.db.query(`INSERT INTO ${t} (entry) VALUES ($1::text::jsonb) RETURNING idx`, [JSON.stringify(entry)]);
    return Number(rows[0]!['idx']);
  }

  async appendMany(log: string, entries: readonly unknown[]): Promise<number[]> {
    if (entries.length === 0) return [];
    const t = await this.ensureLog(log);
    const rows = await this.db.query(`INSERT INTO ${t} (entry) SELECT e::jsonb FROM unnest($1::text[]) WITH ORDINALITY AS u(e, n) ORDER BY n RETURNING idx`, [
      entries.map((e) => JSON.stringify(e)),
    ]);
    return rows.map((r) => Number(r['idx'])).sort((a, b) => a - b);
  }

  private readonly entryTables = new Map<string, Promise<string>>();

  private ensureEntries(log: string): Promise<string> {
    let ready = this.entryTables.get(log);
    if (!ready) {
      ready = (async () => {
        const t = quoteIdent(ENTRIES_PREFIX + log);
        await this.exclusive(SCHEMA_LOCK, async () => {
          await this.db.query(`CREATE TABLE IF NOT EXISTS ${t} (idx bigint PRIMARY KEY, entry text NOT NULL, payload text NOT NULL)`);
          // A gateway's record of a 20-field read is about 2.8 KB, over PostgreSQL's 2 KB threshold for
          // compressing a row: lz4 instead of the default pglz made inserts of such rows about 30%
          // faster here, at the same size on disk. A server built without lz4 (and PGlite) keeps pglz.
          await this.db.query(`ALTER TABLE ${t} ALTER COLUMN payload SET COMPRESSION lz4`).catch(() => undefined);
          await this.appendOnly(t);
        });
        return t;
      })();
      this.entryTables.set(log, ready);
      ready.catch(() => this.entryTables.delete(log));
    }
    return ready;
  }

  async appendEntries(log: string, first: number, rows: readonly EntryRow[]): Promise<void> {
    if (rows.length === 0) return;
    if (!Number.isSafeInteger(first) || first < 0) throw new Error(`appendEntries: index ${first} is not a non-negative integer`);
    const t = await this.ensureEntries(log);
    // A multi-row VALUES list with one parameter per value: several times faster than unnest() of
    // text arrays (whose parsing dominates), and one statement, so all rows or none. The list is
    // padded with NULL rows (filtered out) to the next power of two, so a handful of statement
    // texts serve every batch size and each is prepared once per connection: an unprepared
    // statement with parameters costs two round trips.
    if (rows.length > ENTRY_ROWS_PER_STATEMENT) throw new Error(`appendEntries: at most ${ENTRY_ROWS_PER_STATEMENT} rows per call, got ${rows.length}`);
    let slots = 1;
    while (slots < rows.length) slots *= 2;
    const params: unknown[] = new Array(3 * slots).fill(null);
    for (let i = 0; i < rows.length; i++) {
      params[3 * i] = first + i;
      params[3 * i + 1] = rows[i]!.entry;
      params[3 * i + 2] = rows[i]!.payload;
    }
    try {
      await this.db.query(entriesInsert(t, slots), params);
    } catch (err) {
      // 23505 unique_violation: the statement wrote nothing, and the index is another writer's.
      if ((err as { code?: unknown }).code === '23505') throw new EntryIndexTakenError(log, first);
      throw err;
    }
  }

  async readEntries(log: string, after: number, limit: number, options: { readonly payload?: boolean } = {}): Promise<StoredEntryRow[]> {
    const t = await this.ensureEntries(log);
    const rows = await this.db.query(`SELECT idx, entry${options.payload ? ', payload' : ''} FROM ${t} WHERE idx > $1 ORDER BY idx LIMIT $2`, [
      after,
      Math.max(1, Math.min(limit, MAX_LOG_READ)),
    ]);
    return rows.map((r) =>
      options.payload
        ? { index: Number(r['idx']), entry: String(r['entry']), payload: String(r['payload']) }
        : { index: Number(r['idx']), entry: String(r['entry']) },
    );
  }

  async readLog(log: string, after: number, limit: number, options: { readonly field?: string } = {}): Promise<{ index: number; entry: unknown }[]> {
    const t = await this.ensureLog(log);
    const column = options.field === undefined ? 'entry::text' : 'entry ->> $3::text';
    const params: unknown[] = [after, Math.max(1, Math.min(limit, MAX_LOG_READ))];
    if (options.field !== undefined) params.push(options.field);
    const rows = await this.db.query(`SELECT idx, ${column} AS entry FROM ${t} WHERE idx > $1 ORDER BY idx LIMIT $2`, params);
    if (options.field !== undefined) return rows.map((r) => ({ index: Number(r['idx']), entry: r['entry'] }));
    // As text, parsed here: a driver that parses jsonb itself would hand back a string entry as a bare string.
    return rows.map((r) => ({ index: Number(r['idx']), entry: JSON.parse(String(r['entry'])) }));
  }

  /** In-process turns, for a database no other process opens (and under the server lock, too). */
  private readonly turns = new Map<string, Promise<unknown>>();

  async exclusive<T>(name: string, fn: () => Promise<T>): Promise<T> {
    const before = this.turns.get(name) ?? Promise.resolve();
    const locked = () => (this.db.exclusive ? this.db.exclusive([LOCK_CLASS, lockKey(`${this.name}\u0000${name}`)], fn) : fn());
    const run = before.then(locked, locked);
    const settled = run.catch(() => undefined);
    this.turns.set(name, settled);
    void settled.then(() => {
      if (this.turns.get(name) === settled) this.turns.delete(name);
    });
    return run;
  }

  async ping(): Promise<void> {
    await this.db.query('SELECT 1');
  }

  async close(): Promise<void> {
    await this.db.close();
  }
}
