// The embedded driver: PGlite (PostgreSQL compiled to WebAssembly), in memory or in a directory.

import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { SqlStore } from './sql-store.js';
import { lockStore, type StoreLock } from './lock.js';

export interface PgliteStoreOptions {
  /** Told when the lock of a process that is gone was taken over (default: a line on stderr). */
  readonly onNotice?: (message: string) => void;
}

/**
 * Opens a PGlite store: `dir` undefined means in memory. A directory is locked for this process
 * (`<dir>.lock`, see lock.ts) before PGlite touches it, and unlocked after it is closed.
 */
export async function openPgliteStore(name: string, dir: string | undefined, options: PgliteStoreOptions = {}): Promise<SqlStore> {
  let lock: StoreLock | undefined;
  if (dir !== undefined) {
    mkdirSync(dirname(dir), { recursive: true, mode: 0o700 });
    lock = lockStore(name, dir);
    const gone = lock.tookOverFrom;
    if (gone) (options.onNotice ?? ((m) => process.stderr.write(`cordon: ${m}\n`)))(`store ${name}: took over the lock left by process ${gone.pid} (${gone.command}), which is no longer running`);
  }
  let db: PGlite;
  try {
    db = dir === undefined ? new PGlite() : new PGlite(dir);
    await db.waitReady;
  } catch (err) {
    lock?.release();
    throw err;
  }
  return new SqlStore(name, 'pglite', {
    async query(sql, params) {
      const r = await db.query<Record<string, unknown>>(sql, params ? [...params] : undefined);
      return r.rows;
    },
    close: async () => {
      try {
        await db.close();
      } finally {
        lock?.release();
      }
    },
  });
}
