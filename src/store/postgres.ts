// The PostgreSQL driver (postgres.js): a pool per store.

import postgres from 'postgres';
import { SqlStore } from './sql-store.js';

export const DEFAULT_POOL_SIZE = 10;

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
    close: () => sql.end({ timeout: 5 }),
  });
  await store.ping();
  return store;
}
