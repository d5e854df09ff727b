// The PostgreSQL driver (postgres.js): a pool per store.

import postgres from 'postgres';
import { SqlStore } from './sql-store.js';

/**
 * Connections per store. postgres.js pipelines queries on a busy connection and sends those queued
 * in one turn in one write, so a few connections carry a gateway's load with fewer socket writes
 * than many: on two cores, bench gateway (PostgreSQL) served 2,861 req/s with 4 against 2,494 with
 * 10, in alternating runs of the same build.
 */
export const DEFAULT_POOL_SIZE = 4;

/**
 * Seconds before a connection is tried again after `retries` failures in a row: 50 ms doubling, at
 * most one second. postgres.js's own (3^retries / 100 s, at most 20 s) grew with every failed
 * query while a store was down, so each read of a gateway whose log store had stopped waited up
 * to 20 s for its 503, and reads came back that much later after the store did.
 */
export function reconnectDelay(retries: number): number {
  return Math.min(0.05 * 2 ** retries, 1);
}

export interface PostgresStoreOptions {
  readonly poolSize?: number;
}

export async function openPostgresStore(name: string, url: string, options: PostgresStoreOptions = {}): Promise<SqlStore> {
  const sql = postgres(url, { max: options.poolSize ?? DEFAULT_POOL_SIZE, onnotice: () => {}, prepare: true, backoff: reconnectDelay });
  const store = new SqlStore(name, 'postgres', {
    async query(text, params, options) {
      // sql.unsafe does not prepare unless asked: unprepared, a query with parameters costs two
      // round trips (Parse/Describe, then Bind/Execute once the parameter types are back).
      return (await sql.unsafe(text, params ? ([...params] as never[]) : [], { prepare: !options?.once })) as unknown as Record<string, unknown>[];
    },
    async exclusive(key, fn) {
      // A transaction-level advisory lock, held by a transaction of its own while fn runs (fn's
      // queries go through the pool beside it) and released at its end, or by the server if the
      // process dies. Not sql.reserve(): a reserved connection whose server had stopped left
      // postgres.js's pool waiting for a connection for good, and every query of the store with it.
      let out: unknown;
      await sql.begin(async (tx) => {
        await tx.unsafe('SELECT pg_advisory_xact_lock($1, $2)', [key[0], key[1]]);
        out = await fn();
      });
      return out as Awaited<ReturnType<typeof fn>>;
    },
    close: () => sql.end({ timeout: 5 }),
  });
  await store.ping();
  return store;
}
