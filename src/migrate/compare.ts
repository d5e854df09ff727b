// Comparing legacy rows with their enclave copies (verify, and purge with its re-check): a page
// fetched with the enclave and global parts and data keys of its in-scope rows, both sides hashed
// per row, and how a row purged after an earlier verify is told from one that changed.

import type { FieldValue, Row } from '../store/index.js';
import type { TableMapping } from './mapping.js';
import type { LegacyRow, LegacyTable } from './legacy.js';
import { ahead } from './pipeline.js';
import type { CryptoPool } from './crypto-pool.js';
import { DEK_BYTES } from './row-crypto.js';
import type { keyCache, MigrateContext } from './context.js';
import { zero, tally, pages, type Counts, type InScope, type TableLogic } from './table-logic.js';
import { ROW_HASH_TABLE } from './state.js';

/** Per-row keyed hashes: HMAC-SHA-256 under a key-service key (protected values are low-entropy), computed by the pool. */
export interface RowHashing {
  readonly key: Buffer;
  readonly pool: CryptoPool;
}

export function rowHashing(ctx: MigrateContext, pool: CryptoPool): RowHashing {
  return { key: ctx.keys.key('migrate', `row-hash:${ctx.mapping.name}`), pool };
}

export interface Compared {
  readonly key: string;
  readonly cursor: string;
  readonly legacy: string;
  /** undefined: no enclave copy. */
  readonly enclave: string | undefined;
  /** Fields that differ (names only), or why the enclave copy cannot be read. */
  readonly problem: string | undefined;
  readonly c: InScope;
  readonly legacyRow: LegacyRow;
}

/** A page of legacy rows with what comparing them needs from the enclave side. */
interface Fetched {
  readonly rows: readonly LegacyRow[];
  /** How the page's rows classify (this page only). */
  readonly counts: Counts;
  readonly inScope: readonly { readonly c: InScope; readonly row: LegacyRow }[];
  readonly enclave: ReadonlyMap<string, Row>;
  readonly global: ReadonlyMap<string, Row>;
  readonly keys: ReadonlyMap<string, Buffer | null>;
  /** The verified row hashes of the page's in-scope rows (fetched for purge and its re-check only). */
  readonly stored: ReadonlyMap<string, Row>;
}

export const rowHashId = (ctx: MigrateContext, t: TableMapping, key: string) => `${ctx.mapping.name}/${t.table}/${key}`;

/** Classifies a page and reads, in parallel, the enclave and global parts of its in-scope rows and their data keys (and verified hashes). */
export async function fetchBatch(
  ctx: MigrateContext,
  t: TableMapping,
  logic: TableLogic,
  rows: readonly LegacyRow[],
  keysFor: ReturnType<typeof keyCache>,
  withStored: boolean,
): Promise<Fetched> {
  const counts = zero();
  const inScope: { c: InScope; row: LegacyRow }[] = [];
  for (const row of rows) {
    const c = logic.classify(row);
    tally(counts, c);
    if (c.kind === 'in_scope') inScope.push({ c, row });
  }
  const keys = inScope.map((x) => x.c.key);
  const none = new Map<string, Row>();
  const [enclave, global, dks, stored] = await Promise.all([
    ctx.enclaveStore.getMany(t.dataset, keys),
    ctx.globalStore.getMany(t.dataset, keys),
    keysFor(
      inScope.map((x) => x.c.subjectId),
      false,
    ),
    withStored
      ? ctx.enclaveStore.getMany(
          ROW_HASH_TABLE,
          keys.map((k) => rowHashId(ctx, t, k)),
        )
      : Promise.resolve(none),
  ]);
  return { rows, counts, inScope, enclave, global, keys: dks, stored };
}

/** Hashes a page's in-scope rows on both sides: legacy as read, enclave decrypted (inside this process, in the enclave). */
export async function compareFetched(t: TableMapping, logic: TableLogic, hashing: RowHashing, f: Fetched): Promise<Compared[]> {
  const { fields, subjectIndex } = logic;
  const F = fields.length;
  const n = f.inScope.length;
  const legacy: FieldValue[] = new Array(n * F);
  const enclave: FieldValue[] = new Array(n * F).fill(null);
  const global: FieldValue[] = new Array(n * F).fill(null);
  const hasEnclave = new Uint8Array(n);
  const isProtected = new Uint8Array(n * F);
  const deks = new Uint8Array(n * DEK_BYTES);
  const hasDek = new Uint8Array(n);
  for (let r = 0; r < n; r++) {
    const { c } = f.inScope[r]!;
    const e = f.enclave.get(c.key);
    const g = f.global.get(c.key);
    const dek = f.keys.get(c.subjectId);
    if (e) hasEnclave[r] = 1;
    if (dek) {
      hasDek[r] = 1;
      deks.set(dek, r * DEK_BYTES);
    }
    for (let i = 0; i < F; i++) {
      const field = fields[i]!;
      legacy[r * F + i] = c.record[field] ?? null;
      if (e) enclave[r * F + i] = e[field] ?? null;
      if (g) global[r * F + i] = g[field] ?? null;
      isProtected[r * F + i] = c.isProtected[i] ? 1 : 0;
    }
  }
  const res = await hashing.pool.compare({
    dataset: t.dataset,
    fields,
    subjectIndex,
    hashKey: hashing.key,
    keys: f.inScope.map((x) => x.c.key),
    legacy,
    enclave,
    global,
    hasEnclave,
    isProtected,
    deks,
    hasDek,
  });
  deks.fill(0);
  const out: Compared[] = new Array(n);
  for (let r = 0; r < n; r++) {
    const { c, row } = f.inScope[r]!;
    out[r] = {
      key: c.key,
      cursor: row.cursor,
      legacy: res.legacy[r]!,
      enclave: res.enclave[r] ?? undefined,
      problem: res.problem[r] ?? undefined,
      c,
      legacyRow: row,
    };
  }
  return out;
}

/** Pages of a legacy table, each fetched with its enclave side, one page ahead of the caller (read-only steps). */
export async function* fetchedPages(
  ctx: MigrateContext,
  lt: LegacyTable,
  logic: TableLogic,
  keysFor: ReturnType<typeof keyCache>,
  withStored: boolean,
): AsyncGenerator<Fetched, void, undefined> {
  for await (const rows of ahead(pages(lt, null, ctx.batchSize ?? ctx.mapping.batchSize)))
    yield await fetchBatch(ctx, lt.mapping, logic, rows, keysFor, withStored);
}

/** Whether a row's protected legacy columns are all empty (as a purge leaves them). */
export function legacyCleared(r: Compared): boolean {
  return r.c.purgeColumns.every((col) => r.legacyRow.values[col] === null);
}

/**
 * The verified hash of a row whose legacy copy was purged after an earlier verify: its protected
 * legacy columns are empty and its enclave copy still hashes to what that verify stored. Undefined
 * for any other row (which then has to match on both sides).
 */
export function purgedAfterVerify(r: Compared, stored: Row | undefined): string | undefined {
  if (!stored || r.enclave === undefined) return undefined;
  const want = String(stored['hash']);
  if (r.enclave !== want || r.legacy === want) return undefined;
  return r.c.purgeColumns.length > 0 && legacyCleared(r) ? want : undefined;
}

export interface Mismatch {
  readonly table: string;
  readonly key: string;
  readonly problem: string;
}
