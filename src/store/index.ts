// The store module's public API: the Store interface, its two drivers, and field placement.
export * from './types.js';
export { openStore, type OpenStoreOptions } from './open.js';
export { openPgliteStore } from './pglite.js';
export { openPostgresStore, DEFAULT_POOL_SIZE } from './postgres.js';
export { quoteIdent, TABLE_PREFIX } from './sql-store.js';
export { createPlacement, changeLog, PlacementError, type Placement, type WriteResult, type PlacementRules, type PlacementClass, type PlacedRecord } from './placement.js';
export { openFileKeyService, subjectHash, KeyFileError, MASTER_KEY_BYTES, type KeyService, type KeyPurpose } from './keys.js';
