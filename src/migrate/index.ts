// The migrate module's public API: the mapping file, the legacy database, and the steps plan, run,
// verify, purge and shred.
//
// Migration into the enclave: plan (reads only), run (copy in batches, encrypting, with a progress
// checkpoint in the enclave store), verify (per-row keyed hashes of legacy and decrypted enclave
// values, a signed statement in the access log), purge (only what a still-valid verify covers,
// each batch re-checked row by row just before it is destroyed) and shred (data keys of subjects,
// or a whole KEK generation after its live keys are re-wrapped).
//
// Safe to kill at any point (PRODUCT.md §7.6): every write is an idempotent upsert or a single
// statement, progress is saved only after the batch it covers is durable, a batch redone after a
// crash gives the same state, and no legacy value is purged unless, at that moment, the enclave holds
// a copy that decrypts to the verified value.
export {
  loadMapping,
  DEFAULT_BATCH_SIZE,
  MAX_BATCH_SIZE,
  VALUE_TYPES,
  type Mapping,
  type TableMapping,
  type ColumnMapping,
  type ValueType,
} from './mapping.js';
export { openLegacy, type LegacyDb, type LegacyTable, type LegacyRow } from './legacy.js';
export { MAX_LISTED, type MigrateContext, type Progress } from './context.js';
export type { Counts, Untouched } from './table-logic.js';
export { STATE_TABLE, ROW_HASH_TABLE } from './state.js';
export type { Mismatch } from './compare.js';
export { planMigration, type TablePlan, type PlanResult } from './plan.js';
export { runMigration, type RunResult } from './run.js';
export { verifyMigration, type VerifyResult } from './verify.js';
export { purgeMigration, type PurgeResult } from './purge.js';
export { shred, type ShredResult, type ShredOptions } from './shred.js';
export { MigrateError } from './errors.js';
