// The embedded driver: PGlite (PostgreSQL compiled to WebAssembly), in memory or in a directory.

import { mkdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { SqlStore } from './sql-store.js';
import { lockStore, type StoreLock } from './lock.js';
import { copyTemplate, isUnstartedDir, pgliteTemplate, pgliteTemplateArchive } from './pglite-template.js';

/**
 * PostgreSQL's shared buffers per embedded store. PostgreSQL's default (128 MB) is zeroed at every
 * start, which makes all of it resident: three stores held 570 MB before serving anything and
 * spent about a second each in memset. An embedded store's pages are also in the kernel's page
 * cache (PGlite reads them through the file system), so a small pool costs little: inserts and
 * reads by key ran as fast with 8, 16, 32 or 128 MB.
 */
export const DEFAULT_PGLITE_SHARED_BUFFERS = '8MB';

export interface PgliteStoreOptions {
  /** PostgreSQL's shared_buffers (default DEFAULT_PGLITE_SHARED_BUFFERS). */
  readonly sharedBuffers?: string;
  /**
   * The prebuilt empty data directory a new on-disk store starts from, and whose archive
   * (`<template>.tar.gz`) an in-memory store loads (default: the one the build made for the installed
   * PGlite, if any); false runs initdb.
   */
  readonly template?: string | false;
  /** Told when the lock of a process that is gone was taken over (default: a line on stderr). */
  readonly onNotice?: (message: string) => void;
}

/** PGlite's start parameters with `shared_buffers` set; checked, since they reach PostgreSQL's command line. */
export function pgliteStartParams(sharedBuffers: string = DEFAULT_PGLITE_SHARED_BUFFERS): string[] {
  if (!/^\d+(kB|MB|GB)$/.test(sharedBuffers)) throw new RangeError(`sharedBuffers must be a size like 16MB, got ${JSON.stringify(sharedBuffers)}`);
  return [...PGlite.defaultStartParams, '-c', `shared_buffers=${sharedBuffers}`];
}

/**
 * Opens a PGlite store: `dir` undefined means in memory. A directory is locked for this process
 * (`<dir>.lock`, see lock.ts) before anything touches it, and unlocked after it is closed; a new one
 * starts as a copy of the build's empty template.
 */
export async function openPgliteStore(name: string, dir: string | undefined, options: PgliteStoreOptions = {}): Promise<SqlStore> {
  const startParams = pgliteStartParams(options.sharedBuffers);
  let lock: StoreLock | undefined;
  let db: PGlite;
  try {
    if (dir !== undefined) {
      mkdirSync(dirname(dir), { recursive: true, mode: 0o700 });
      lock = lockStore(name, dir);
      const gone = lock.tookOverFrom;
      if (gone)
        (options.onNotice ?? ((m) => process.stderr.write(`cordon: ${m}\n`)))(
          `store ${name}: took over the lock left by process ${gone.pid} (${gone.command}), which is no longer running`,
        );
      const template = options.template === false ? undefined : (options.template ?? pgliteTemplate());
      if (template !== undefined && isUnstartedDir(dir)) copyTemplate(template, dir);
    }
    if (dir === undefined) {
      const archive = options.template === false ? undefined : pgliteTemplateArchive(options.template ?? pgliteTemplate());
      db = archive === undefined ? new PGlite({ startParams }) : new PGlite({ startParams, loadDataDir: new Blob([readFileSync(archive)]) });
    } else {
      db = new PGlite(dir, { startParams });
    }
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
