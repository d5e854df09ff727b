// The embedded driver: PGlite (PostgreSQL compiled to WebAssembly), in memory or in a directory.

import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { SqlStore } from './sql-store.js';

/** Opens a PGlite store: `dir` undefined means in memory. */
export async function openPgliteStore(name: string, dir: string | undefined): Promise<SqlStore> {
  if (dir !== undefined) mkdirSync(dirname(dir), { recursive: true, mode: 0o700 });
  const db = dir === undefined ? new PGlite() : new PGlite(dir);
  await db.waitReady;
  return new SqlStore(name, 'pglite', {
    async query(sql, params) {
      const r = await db.query<Record<string, unknown>>(sql, params ? [...params] : undefined);
      return r.rows;
    },
    close: () => db.close(),
  });
}
