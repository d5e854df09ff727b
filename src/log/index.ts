// The log module's public API: the RFC 9162 tree and proofs, C2SP signed notes, checkpoints and
// tiles, the access log (sequencer, serving, records), the verifier and the witness.
export { MerkleTree, MerkleProofError, hashLeaf, hashChildren, verifyInclusion, verifyConsistency, rootFromInclusionProof } from './merkle.js';
export { parseTilePath, tilePath, entriesPath, encodeEntryBundle, decodeEntryBundle, TilePathError, TILE_WIDTH } from './tiles.js';
export {
  parseNote,
  verifyNote,
  signNote,
  cosign,
  parseSignerKey,
  parseVerifierKey,
  parseWitnessKey,
  generateSignerKey,
  generateWitnessKey,
  isValidKeyName,
  NoteError,
  type NoteSigner,
  type NoteVerifier,
} from './note.js';
export {
  formatCheckpoint,
  parseCheckpoint,
  signCheckpoint,
  openCheckpoint,
  formatTlogProof,
  parseTlogProof,
  openTlogProof,
  type Checkpoint,
} from './checkpoint.js';
export { canonicalJson, commitment } from './commitment.js';
export {
  LOG_RECORDS,
  RECORD_CHECKS,
  checkLogRecord,
  recordKind,
  isLogRecordKind,
  InvalidLogRecordError,
  type LogRecordKindInfo,
  type RecordCheckName,
  type RecordProblem,
} from './records.js';
export { keyReleaseRecord, migrationKeyReleaseRecord } from './key-release.js';
export type * from './record-types.js';
export { accessRecordFields } from './record-types.js';
export {
  openAccessLog,
  LogUnavailableError,
  type AccessLog,
  type AccessLogOptions,
  type AccessLogStats,
  type StoredRecord,
  type LogHealth,
} from './access-log.js';
export { openLogSigner, LogKeyError } from './keys.js';
export { logRoutes, type LogRoutesOptions } from './routes.js';
export { verifyLog, readVerifyState, type VerifyOptions, type VerifyResult, type VerifyProblem, type VerifyState } from './verify.js';
export { checkRecords, checkRecord, anomaliesOf, RECORD_JUDGES, type RecordCheck, type RecordAnomaly, type Judgement } from './monitor.js';
export {
  createWitness,
  witnessRoutes,
  createWitnessCosigner,
  WitnessStateError,
  WITNESS_MAX_BODY_BYTES,
  TLOG_SIZE_CONTENT_TYPE,
  type Witness,
  type WitnessOptions,
  type WitnessLog,
  type WitnessResponse,
  type WitnessEvidence,
  type WitnessState,
  type WitnessEndpoint,
  type WitnessCosignerOptions,
  type CosignHook,
} from './witness.js';
export {
  tallyPeriod,
  figureDifferences,
  figuresSha256,
  snapshotSha256,
  type Figure,
  type PeriodTally,
  type TallyOptions,
  type GrantInReport,
  type WriteInReport,
} from './report-figures.js';
