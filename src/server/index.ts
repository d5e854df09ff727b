// The server module's public API: who is asking (bearer tokens mapped to directory principals) and
// from where (network locations, X-Forwarded-For behind trusted proxies).
export {
  AuthError,
  createTokenVerifier,
  principalFromToken,
  createDemoIssuer,
  DEFAULT_ALGORITHMS,
  type TokenVerifier,
  type TokenVerifierOptions,
  type VerifiedToken,
  type TokenLocation,
  type DemoIssuer,
  type DemoSignOptions,
  type JSONWebKeySet,
  type JWTPayload,
} from './identity.js';
export {
  createLocationResolver,
  reconcile,
  normalizeAddress,
  isLoopbackHost,
  UNKNOWN_PLACE,
  type LocationResolver,
  type LocationResolverOptions,
  type ResolvedLocation,
  type RequestLocation,
} from './location.js';
export { createCordonServer, DEFAULT_BODY_LIMIT, type CordonServer, type PgWireOptions, type ServerOptions } from './app.js';
export { API_VERSION, OPENAPI_VERSION, registerOpenApi } from './openapi.js';
export {
  DEMO_FIXED_USERS,
  DEMO_FIXED_VIDEOS,
  DEMO_FIXED_COMMENTS,
  DEFAULT_DEMO_SEED,
  DEFAULT_DEMO_USERS,
  generateDemoWorld,
  seedDemoWorld,
  demoWorldCounts,
  demoUserKey,
  demoVideoKey,
  demoCommentKey,
  type DemoRecord,
  type DemoDataset,
  type DemoWorldOptions,
  type SeedOptions,
} from './demo-data.js';
export { openRuntime, dataPaths, resolveStoreUrls, ensureDataDir, Closer, RuntimeError, type Runtime, type RuntimeOptions, type DataPaths } from './runtime.js';
export { LOG_LEVELS, safeError, scrubMessage, type LogLevel, type LoggingOptions } from './logging.js';
export {
  discoverProvider,
  discoveryUrl,
  checkProviderUrl,
  DEFAULT_DISCOVERY_TIMEOUT_MS,
  type ProviderMetadata,
  type DiscoveryOptions,
} from './oidc-discovery.js';
export type { ConsoleSignIn } from './console.js';
