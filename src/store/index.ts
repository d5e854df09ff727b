// The store module's public API: the Store interface, its two drivers, and field placement.
export * from './types.js';
export { openStore, type OpenStoreOptions } from './open.js';
export { openPgliteStore } from './pglite.js';
export { lockStore, StoreLockedError, type StoreLock, type LockHolder } from './lock.js';
export { openPostgresStore, DEFAULT_POOL_SIZE } from './postgres.js';
export { quoteIdent, TABLE_PREFIX } from './sql-store.js';
export { isStoreUnavailable } from './unavailable.js';
export {
  createPlacement,
  changeLog,
  subjectIdOf,
  PlacementError,
  DEFAULT_KEY_RELEASE_EVERY_MS,
  DEFAULT_KEY_CACHE_MS,
  DEFAULT_RELEASE_REASON,
  type PlacementOptions,
  type Placement,
  type WriteResult,
  type PlacementRules,
  type PlacementClass,
  type PlacedRecord,
} from './placement.js';
export {
  openFileKeyService,
  subjectHash,
  KeyFileError,
  KeyServiceError,
  MASTER_KEY_BYTES,
  KEYRING_FILE,
  type KeyService,
  type KeyPurpose,
  type WrappedKey,
  type KekGeneration,
} from './keys.js';
export {
  createDataKeys,
  encryptField,
  decryptField,
  isCiphertext,
  isOldCiphertext,
  DATA_KEYS_TABLE,
  CIPHERTEXT_PREFIX,
  CIPHERTEXT_PREFIX_V1,
  type DataKeys,
  type KeyUnavailable,
} from './at-rest.js';
