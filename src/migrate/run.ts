// Step run: in-scope rows copied into the enclave batch by batch (protected fields encrypted, the
// others to the global store), resuming from the checkpoint saved after each durable batch.

import { changeLog, createDataKeys, type FieldValue, type StoredRow } from '../store/index.js';
import { MigrateError } from './errors.js';
import type { TableMapping } from './mapping.js';
import { ahead, quiet } from './pipeline.js';
import type { CryptoPool } from './crypto-pool.js';
import { DEK_BYTES } from './row-crypto.js';
import { pingKeys, keyCache, withPool, type MigrateContext } from './context.js';
import { zero, add, tableLogic, tally, noteUntouched, pages, type Counts, type InScope, type Untouched, type TableLogic } from './table-logic.js';
import { ensureTables, loadState, saveState } from './state.js';

interface RunState {
  cursor: string | null;
  counts: Counts;
  done: boolean;
}

export interface RunResult {
  readonly tables: readonly { readonly table: string; readonly counts: Counts; readonly resumedFrom: string | null; readonly alreadyDone: boolean }[];
  readonly totals: Counts;
  readonly moved: number;
  readonly untouched: readonly Untouched[];
}

export async function runMigration(ctx: MigrateContext, options: { readonly restart?: boolean } = {}): Promise<RunResult> {
  return withPool(ctx, (pool) => runWith(ctx, options, pool));
}

/**
 * Copies in-scope rows into the enclave (protected fields encrypted, the others to the global
 * store, as placement would), batch by batch, resuming from the checkpoint. `restart` copies from
 * the beginning again (still idempotent).
 *
 * Pipelined: while batch N is written (enclave, then global store and change log, then the
 * checkpoint), batch N+1 is read, classified, given its data keys and encrypted. Batch N+1 writes
 * nothing before batch N's checkpoint is saved, so the checkpoint never runs ahead of durable data.
 */
async function runWith(ctx: MigrateContext, options: { readonly restart?: boolean }, pool: CryptoPool): Promise<RunResult> {
  await pingKeys(ctx.keys);
  await ensureTables(ctx);
  const dk = createDataKeys(ctx.enclaveStore, ctx.keys);
  await dk.ensure();
  const keysFor = keyCache(dk);
  const size = ctx.batchSize ?? ctx.mapping.batchSize;
  const out: RunResult['tables'][number][] = [];
  const untouched: Untouched[] = [];
  let totals = zero();
  for (const lt of ctx.legacy.tables) {
    const t = lt.mapping;
    const logic = tableLogic(ctx, t);
    const id = `run/${t.table}`;
    let state = (await loadState<RunState>(ctx, id)) ?? { cursor: null, counts: zero(), done: false };
    if (options.restart) state = { cursor: null, counts: zero(), done: false };
    const resumedFrom = state.cursor;
    if (state.done) {
      out.push({ table: t.table, counts: state.counts, resumedFrom, alreadyDone: true });
      totals = add(totals, state.counts);
      continue;
    }
    const total = ctx.onProgress ? await lt.count() : 0;
    // Read, classify and fetch or create the data keys of a batch (one batch ahead of the writes).
    async function* prepared(from: string | null) {
      for await (const rows of ahead(pages(lt, from, size))) {
        const batch = zero();
        // A key twice in one batch (a legacy table whose key column is not unique): the later row wins, as upserts would.
        const byKey = new Map<string, InScope>();
        for (const row of rows) {
          const c = logic.classify(row);
          tally(batch, c);
          noteUntouched(untouched, t.table, row, c);
          if (c.kind === 'in_scope') byKey.set(c.key, c);
        }
        const list = [...byKey.values()];
        const dks =
          list.length > 0
            ? await keysFor(
                list.map((c) => c.subjectId),
                true,
              )
            : new Map<string, Buffer | null>();
        yield { cursor: rows[rows.length - 1]!.cursor, batch, list, dks };
      }
    }
    let writing: Promise<void> = Promise.resolve();
    try {
      for await (const p of ahead(prepared(state.cursor))) {
        const { enclaveRows, globalRows } = await encryptBatch(pool, logic, t, p.list, p.dks);
        // The previous batch is durable and checkpointed before this one writes anything.
        await writing;
        const next: RunState = { cursor: p.cursor, counts: add(state.counts, p.batch), done: false };
        state = next;
        writing = quiet(
          (async () => {
            if (p.list.length > 0) {
              // Enclave first: a crash between the two leaves nothing protected outside it.
              await ctx.enclaveStore.upsertMany(t.dataset, enclaveRows);
              await ctx.globalStore.upsertMany(t.dataset, globalRows);
              await ctx.globalStore.appendMany(
                changeLog(t.dataset),
                p.list.map((c) => ({ key: c.key, op: 'write' })),
              );
            }
            await saveState(ctx, id, next);
            ctx.onProgress?.({ step: 'run', table: t.table, done: next.counts.rows, total });
          })(),
        );
      }
      await writing;
    } finally {
      // On a failure, let the batch in flight finish (or fail) before the error reaches the caller.
      await writing.catch(() => undefined);
    }
    state = { ...state, done: true };
    await saveState(ctx, id, state);
    out.push({ table: t.table, counts: state.counts, resumedFrom, alreadyDone: false });
    totals = add(totals, state.counts);
  }
  return { tables: out, totals, moved: totals.inScope, untouched };
}

/** The enclave part (protected fields encrypted, the subject field in clear) and the global part of each in-scope row. */
async function encryptBatch(
  pool: CryptoPool,
  logic: TableLogic,
  t: TableMapping,
  list: readonly InScope[],
  dks: ReadonlyMap<string, Buffer | null>,
): Promise<{ enclaveRows: StoredRow[]; globalRows: StoredRow[] }> {
  const { fields, subjectIndex } = logic;
  const F = fields.length;
  const values: FieldValue[] = new Array(list.length * F);
  const isProtected = new Uint8Array(list.length * F);
  const deks = new Uint8Array(list.length * DEK_BYTES);
  for (let n = 0; n < list.length; n++) {
    const c = list[n]!;
    const dek = dks.get(c.subjectId);
    if (!dek) throw new MigrateError('migrate.key_service_unavailable', `no data key could be made for a subject of ${t.table}`);
    deks.set(dek, n * DEK_BYTES);
    for (let i = 0; i < F; i++) {
      values[n * F + i] = c.record[fields[i]!] ?? null;
      isProtected[n * F + i] = c.isProtected[i] ? 1 : 0;
    }
  }
  const sealed = await pool.encrypt({ dataset: t.dataset, fields, subjectIndex, keys: list.map((c) => c.key), values, isProtected, deks });
  deks.fill(0);
  const enclaveRows: StoredRow[] = new Array(list.length);
  const globalRows: StoredRow[] = new Array(list.length);
  for (let n = 0; n < list.length; n++) {
    const e: Record<string, FieldValue> = {};
    const g: Record<string, FieldValue> = {};
    for (let i = 0; i < F; i++) {
      const f = fields[i]!;
      const at = n * F + i;
      e[f] = sealed[at] ?? null;
      g[f] = isProtected[at] === 1 ? null : values[at]!;
    }
    enclaveRows[n] = { key: list[n]!.key, values: e };
    globalRows[n] = { key: list[n]!.key, values: g };
  }
  return { enclaveRows, globalRows };
}
