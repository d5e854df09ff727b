// What every migration step is given (MigrateContext, and the progress it reports), and what a
// command holds for as long as it runs: the key service checked before anything else, a cache of
// unwrapped data keys, and a crypto pool.

import type { Policy } from '../policy/index.js';
import { KeyServiceError, type DataKeys, type KeyService, type Store } from '../store/index.js';
import type { AccessLog } from '../log/index.js';
import { MigrateError } from './errors.js';
import type { Mapping } from './mapping.js';
import type { LegacyDb } from './legacy.js';
import { createCryptoPool, type CryptoPool } from './crypto-pool.js';

/** Most differences listed in a refusal or a verify report. */
export const MAX_LISTED = 50;

/** Unwrapped data keys a command keeps in memory (a subject's rows are usually near each other). */
const MAX_CACHED_DATA_KEYS = 200_000;

export interface MigrateContext {
  readonly policy: Policy;
  readonly mapping: Mapping;
  readonly legacy: LegacyDb;
  /** The mapping's enclave store and the global store (opened by the caller). */
  readonly enclaveStore: Store;
  readonly globalStore: Store;
  readonly keys: KeyService;
  /** The access log statements are appended to (required by verify, purge and shred). */
  readonly log?: AccessLog;
  /** Signed-note private key for statements (the deployment's statements key). */
  readonly statementKey?: string;
  readonly batchSize?: number;
  /** Threads for encryption and row hashing, this one included (default: one per core). */
  readonly threads?: number;
  readonly onProgress?: (p: Progress) => void;
  readonly now?: () => number;
}

export interface Progress {
  readonly step: 'run' | 'verify' | 'purge' | 'recheck';
  readonly table: string;
  readonly done: number;
  readonly total: number;
}

export function keyServiceFailure(err: unknown): never {
  if (err instanceof MigrateError) throw err;
  if (err instanceof KeyServiceError || (err instanceof Error && /key file|keyring/.test(err.message))) {
    throw new MigrateError('migrate.key_service_unavailable', `the key service failed: ${err.message}; nothing was destroyed`);
  }
  throw err;
}

export async function pingKeys(keys: KeyService): Promise<void> {
  try {
    await keys.ping();
  } catch (err) {
    keyServiceFailure(err);
  }
}

/** Data keys of subjects, cached for one command (up to MAX_CACHED_DATA_KEYS, then started afresh). */
export function keyCache(dk: DataKeys) {
  const cache = new Map<string, Buffer | null>();
  return async (subjects: readonly string[], create: boolean): Promise<Map<string, Buffer | null>> => {
    let missing = [...new Set(subjects.filter((s) => !cache.has(s) || (create && cache.get(s) === null)))];
    if (missing.length > 0 && cache.size + missing.length > MAX_CACHED_DATA_KEYS) {
      cache.clear();
      missing = [...new Set(subjects)];
    }
    if (missing.length > 0) {
      let got: Awaited<ReturnType<DataKeys['get']>>;
      try {
        got = await dk.get(missing, create);
      } catch (err) {
        keyServiceFailure(err);
      }
      for (const [s, k] of got) cache.set(s, Buffer.isBuffer(k) ? k : null);
    }
    return new Map(subjects.map((s) => [s, cache.get(s) ?? null]));
  };
}

/** Runs a command with a crypto pool (worker threads), ended when the command ends. */
export async function withPool<T>(ctx: MigrateContext, f: (pool: CryptoPool) => Promise<T>): Promise<T> {
  const pool = createCryptoPool(ctx.threads);
  try {
    return await f(pool);
  } finally {
    await pool.close();
  }
}
