// cordon as a library. The package's root is the policy core — load and check a policy, decide,
// explain, diff — and the error class every module throws. Each module's whole public API is its own
// subpath (package.json "exports"): cordon/policy, cordon/store, cordon/log, cordon/access,
// cordon/gateway, cordon/flows, cordon/scan, cordon/migrate, cordon/server.
export * from './policy/index.js';
export { CordonError, ERROR_CODES, isErrorCode, type ErrorCode, type ErrorCodeInfo } from './shared/errors.js';
