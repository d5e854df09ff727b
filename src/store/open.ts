// Opening a store from its URL in cordon.yaml: `pglite://memory`, `pglite://<dir>` (relative to the
// data directory's parent, like `.cordon/enclave-us`), or `postgres://…` / `postgresql://…`.

import { isAbsolute, resolve } from 'node:path';
import { openPgliteStore } from './pglite.js';
import { openPostgresStore, type PostgresStoreOptions } from './postgres.js';
import type { Store } from './types.js';

export interface OpenStoreOptions extends PostgresStoreOptions {
  /** Where relative PGlite directories are resolved (default: the working directory). */
  readonly baseDir?: string;
}

export async function openStore(name: string, url: string, options: OpenStoreOptions = {}): Promise<Store> {
  if (url.startsWith('pglite://')) {
    const path = url.slice('pglite://'.length);
    if (path === 'memory' || path === '') return openPgliteStore(name, undefined);
    return openPgliteStore(name, isAbsolute(path) ? path : resolve(options.baseDir ?? process.cwd(), path));
  }
  if (url.startsWith('postgres://') || url.startsWith('postgresql://')) return openPostgresStore(name, url, options);
  throw new Error(`store ${name}: unsupported URL scheme in ${JSON.stringify(url.replace(/\/\/[^@/]*@/, '//***@'))} (use pglite:// or postgres://)`);
}
