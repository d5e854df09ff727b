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

export interface PostgresStoreOptions {
  readonly poolSize?: number;
}

export async function openPostgresStore(name: string, url: string, options: PostgresStoreOptions = {}): Promise<SqlStore> {
  const sql = postgres(url, { max: options.poolSize ?? DEFAULT_POOL_SIZE, onnotice: () => {}, prepare: true });
  const store = new SqlStore(name, 'postgres', {
    async query(text, params, options) {
      // sql.unsafe does not prepare unless asked: unprepared, a query with parameters costs two
      // round trips (Parse/Describe, then Bind/Execute once the parameter types are back).
      return (await sql.unsafe(text, params ? ([...params] as never[]) : [], { prepare: !options?.once })) as unknown as Record<string, unknown>[];
    },
    async exclusive(key, fn) {
      // A connection of its own for the lock's session, so pooled queries (fn's among them) go on.
      const conn = await sql.reserve();
      try {
        await conn.unsafe('SELECT pg_advisory_lock($1, $2)', [key[0], key[1]]);
        try {
          return await fn();
        } finally {
          await conn.unsafe('SELECT pg_advisory_unlock($1, $2)', [key[0], key[1]]).catch(() => undefined);
        }
      } finally {
        conn.release();
      }
    },
    close: () => sql.end({ timeout: 5 }),
  });
  await store.ping();
  return store;
}
