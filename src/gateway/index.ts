// The gateway module's public API: applying decisions to records (disclose), the HTTP data API
// and egress feed (routes), record keys as the caller may see them, and access records.
export {
  disclose,
  openToken,
  tokenize,
  TOKEN_PREFIX,
  type DisclosedRecordV1,
  type DiscloseOptions,
  type WithheldField,
  type WithheldReason,
} from './disclose.js';
export { gatewayRoutes, LOG_INDEX_HEADER, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, type GatewayOptions } from './routes.js';
export { createGatewayReader, type GatewayReader, type GatewayReaderOptions, type ReadOne, type ReadOneOptions } from './reader.js';
export { problemHandler, setRegionRouting, REGION_HEADER, type RegionRouting } from './problem-handler.js';
export type { Caller } from './caller.js';
export { createRecordKeys, type KeyIn, type RecordKeys, type RecordKeysOptions } from './record-keys.js';
export { accessRecord, encodeAccessRecord, type AccessRecorder, type AccessRecordV2 } from './recorder.js';
