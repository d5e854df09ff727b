// The migration's own tables in the enclave store: `_migrate_state` holds each step's progress (and
// the last verify, which purge checks against), `_migrate_rows` the verified row hashes.

import type { MigrateContext } from './context.js';
import type { Counts } from './table-logic.js';

/** Progress and statements live in the enclave store, beside the data they describe. */
export const STATE_TABLE = '_migrate_state';
export const ROW_HASH_TABLE = '_migrate_rows';

export async function ensureTables(ctx: MigrateContext): Promise<void> {
  await ctx.enclaveStore.ensureTable({ name: STATE_TABLE, fields: ['state'] });
  await ctx.enclaveStore.ensureTable({ name: ROW_HASH_TABLE, fields: ['hash', 'verify'] });
  for (const t of ctx.mapping.tables) {
    const d = ctx.policy.datasets.get(t.dataset)!;
    const fields = [...d.fields.keys()];
    await ctx.enclaveStore.ensureTable({ name: t.dataset, fields });
    await ctx.globalStore.ensureTable({ name: t.dataset, fields });
  }
}

export async function loadState<T>(ctx: MigrateContext, id: string): Promise<T | undefined> {
  const r = await ctx.enclaveStore.get(STATE_TABLE, `${ctx.mapping.name}/${id}`);
  return r && typeof r['state'] === 'string' ? (JSON.parse(r['state']) as T) : undefined;
}

export async function saveState(ctx: MigrateContext, id: string, state: unknown): Promise<void> {
  await ctx.enclaveStore.upsert(STATE_TABLE, `${ctx.mapping.name}/${id}`, { state: JSON.stringify(state) });
}

/** The last verify of a mapping (its `verify` state): what purge checks before it destroys anything. */
export interface VerifyState {
  verifyId: string;
  root: string;
  counts: Counts;
  verified: number;
  mismatches: number;
  mappingSha256: string;
  policyVersion: string;
  statement: string;
  logIndex: number;
  at: string;
}
