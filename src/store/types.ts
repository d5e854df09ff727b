// The Store interface: one table per dataset (a column per field, the record key as primary key),
// implemented by the PGlite (embedded) and PostgreSQL drivers. Stores know nothing of classes and
// rules; placement.ts decides which store each field goes to.

import { CordonError } from '../shared/errors.js';

export type FieldValue = string | number | boolean | null;
export type Row = Readonly<Record<string, FieldValue>>;

export interface TableSpec {
  /** The dataset name; the table is named after it. */
  readonly name: string;
  /** Field names (the key field is not among them; it is the `key` column). */
  readonly fields: readonly string[];
}

export interface ListOptions {
  /** Keys strictly greater than this (cursor pagination by key). */
  readonly after?: string;
  readonly limit: number;
  /** Equality filters on fields; values are bound as parameters, never spliced into SQL. */
  readonly where?: Readonly<Record<string, FieldValue>>;
}

export interface StoredRow {
  readonly key: string;
  readonly values: Row;
}

export interface ListPage {
  readonly rows: readonly StoredRow[];
  /** The cursor for the next page, or undefined when this page is the last. */
  readonly next: string | undefined;
}

export interface EntryRow {
  readonly entry: string;
  readonly payload: string;
}

export interface StoredEntryRow {
  readonly index: number;
  readonly entry: string;
  readonly payload?: string;
}

export interface Store {
  readonly name: string;
  readonly driver: 'pglite' | 'postgres';
  /** Creates the dataset's table if missing and adds any missing field column. Idempotent. */
  ensureTable(spec: TableSpec): Promise<void>;
  /**
   * Inserts or updates one record's fields. Fields absent from `values` keep their value; a null
   * clears one. MUST be given only fields of the table.
   */
  upsert(table: string, key: string, values: Row): Promise<void>;
  /** Inserts a new record; false (and nothing written) when the key exists. */
  insert(table: string, key: string, values: Row): Promise<boolean>;
  /**
   * Inserts or updates many records in one statement (all or none). Every row MUST name the same
   * fields, all fields of the table; a key MUST NOT appear twice.
   */
  upsertMany(table: string, rows: readonly StoredRow[]): Promise<void>;
  /** Inserts the records whose key is new (in one statement); returns the keys inserted. */
  insertMany(table: string, rows: readonly StoredRow[]): Promise<string[]>;
  get(table: string, key: string): Promise<Row | undefined>;
  /** The records of these keys that exist (in one query); absent keys are absent from the map. */
  getMany(table: string, keys: readonly string[]): Promise<Map<string, Row>>;
  /** Deletes the records of these keys (in one statement); returns how many were deleted. */
  deleteMany(table: string, keys: readonly string[]): Promise<number>;
  /** True when a record was deleted. */
  delete(table: string, key: string): Promise<boolean>;
  list(table: string, options: ListOptions): Promise<ListPage>;
  /** Every table this store holds (cordon's and any other), for scans. */
  tables(): Promise<string[]>;
  /** Every row of any table, each column as text (null as null), for scans. */
  dump(table: string): AsyncIterable<Readonly<Record<string, string | null>>>;
  /**
   * A digest of each table's rows (MD5 over every row as text, in text order), in one query: equal
   * while the rows are, different once any column of any row changes, a row comes or goes. Lets a
   * scan skip what has not changed since it last read it.
   */
  fingerprints(tables: readonly string[]): Promise<Map<string, string>>;
  /** Appends an entry to the append-only log `log` (created on first use); returns its index (from 1). */
  append(log: string, entry: unknown): Promise<number>;
  /** Appends several entries in one statement, in order; returns their indexes. */
  appendMany(log: string, entries: readonly unknown[]): Promise<number[]>;
  /**
   * The access log's entry table (`tlog_<log>`, append-only): at index i (from 0) a public entry
   * and a private payload, both text. Writes `rows` at `first`, `first + 1`, … in one statement
   * (one durable write); fails, writing nothing, when any of those indexes is taken, with an
   * EntryIndexTakenError (another writer got there first: the caller may read and try again).
   */
  appendEntries(log: string, first: number, rows: readonly EntryRow[]): Promise<void>;
  /** Entry rows with index > after, oldest first, at most `limit` (capped at MAX_LOG_READ); payloads only when asked. */
  readEntries(log: string, after: number, limit: number, options?: { readonly payload?: boolean }): Promise<StoredEntryRow[]>;
  /**
   * Entries of a log with index > after, oldest first, at most `limit` (capped at MAX_LOG_READ).
   * With `field`, each entry is only that top-level member of the stored object, as text (less to read).
   */
  readLog(log: string, after: number, limit: number, options?: { readonly field?: string }): Promise<{ readonly index: number; readonly entry: unknown }[]>;
  /** Resolves when the store answers a query. */
  /**
   * Runs `fn` while no other holder of `name` on this store runs: in this process, and in every other
   * process that opened the same PostgreSQL database (a session advisory lock, released by the
   * server if the process dies). Turns are taken in call order within a process.
   */
  exclusive<T>(name: string, fn: () => Promise<T>): Promise<T>;
  ping(): Promise<void>;
  close(): Promise<void>;
}

export const DEFAULT_LIST_LIMIT = 100;
export const MAX_LIST_LIMIT = 1000;
export const MAX_LOG_READ = 10_000;

/** appendEntries found an index already taken (another writer appended first); nothing was written. */
export class EntryIndexTakenError extends CordonError {
  constructor(
    readonly log: string,
    readonly first: number,
  ) {
    super('store.entry_index_taken', `log ${log}: an index from ${first} on is already taken; nothing was written`);
    this.name = 'EntryIndexTakenError';
  }
}
