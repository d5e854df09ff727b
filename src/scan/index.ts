// The scan module's public API: detectors, file and store scanners, catalog comparison, reports.
export * from './types.js';
export { detect, isHint, DEFAULT_PHONE_COUNTRIES, DEFAULT_MIN_CONFIDENCE, type DetectOptions } from './detect.js';
export { findDates, type FoundDate } from './dates.js';
export { isLuhn, cardScheme, isValidSsn, isImei } from './validators.js';
export {
  scanFile,
  formatOf,
  DEFAULT_CHUNK_BYTES,
  DEFAULT_MAX_FINDINGS_PER_FILE,
  MAX_LINE_CHARS,
  type FileScanOptions,
  type FileScanResult,
  type FileFormat,
} from './file-scan.js';
export { splitCsvLine } from './csv-rows.js';
export { scanFiles, type PoolOptions } from './pool.js';
export { scanStore, datasetOfTable, DEFAULT_SAMPLE_ROWS, type StoreScanOptions, type StoreScanResult, type ColumnProfile } from './store-scan.js';
export { assess, DEFAULT_COLUMN_SHARE, type AssessOptions, type Assessment, type Violation, type ColumnVerdict } from './assess.js';
export {
  createFingerprints,
  fingerprintEnclave,
  fingerprintHash,
  FINGERPRINT_KEY_NAME,
  type Fingerprints,
  type FingerprintEntry,
  type FingerprintOptions,
} from './fingerprints.js';
export { recordJurisdictions, type RecordJurisdictions, type RecordSpec } from './record-jurisdiction.js';
export { scan, expandPaths, type ScanOptions, type ScanResultV1 } from './scan.js';
export { formatText, formatSummary, toSarif, whereText, TEXT_FINDINGS } from './report.js';
export { ColumnTally, MAX_EXAMPLES } from './summary.js';
