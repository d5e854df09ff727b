// The migrate module's public API: the mapping file, the legacy database, and the steps plan, run,
// verify, purge and shred.
export { loadMapping, DEFAULT_BATCH_SIZE, MAX_BATCH_SIZE, VALUE_TYPES, type Mapping, type TableMapping, type ColumnMapping, type ValueType } from './mapping.js';
export { openLegacy, type LegacyDb, type LegacyTable, type LegacyRow } from './legacy.js';
export { MAX_LISTED, type MigrateContext, type Progress } from './context.js';
export type { Counts, Untouched } from './table-logic.js';
export { STATE_TABLE, ROW_HASH_TABLE } from './state.js';
export type { Mismatch } from './compare.js';
export { planMigration, type TablePlan, type PlanResult } from './plan.js';
export { runMigration, type RunResult } from './run.js';
export { verifyMigration, type VerifyResult } from './verify.js';
export { purgeMigration, type PurgeResult } from './purge.js';
export { shred, type ShredResult, type ShredOptions } from './engine.js';
export { MigrateError } from './errors.js';
