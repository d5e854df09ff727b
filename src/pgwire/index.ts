// The PostgreSQL wire-protocol gateway's public API (issue 24): psql, BI tools and drivers connect
// as to PostgreSQL and get exactly what the HTTP gateway gives the same caller, through its read path.
export { createPgGateway, type PgGateway, type PgGatewayOptions, type PgTlsOptions } from './server.js';
export type { AuthenticateInput } from './session.js';
export { FORWARDED_FOR_OPTION, optionValue } from './settings.js';
export { PgError } from './protocol.js';
export { isPgCancelRelay, type PgCancelRelay } from './cancel.js';
export { proxyV2Header, parseProxyV2, PROXY_V2_SIGNATURE } from './proxy-header.js';
export { SERVER_VERSION } from './settings.js';
