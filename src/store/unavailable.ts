// Whether an error is a store that cannot be reached or went away (the server stopped, restarting,
// refusing connections, a network cut), as opposed to a bug or bad input: the request is refused
// as unavailable (503), and may be retried.

/** Node's socket errors and postgres.js's own connection errors. */
const CONNECTION_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'ENETUNREACH',
  'ENETDOWN',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'CONNECT_TIMEOUT',
  'CONNECTION_CLOSED',
  'CONNECTION_DESTROYED',
  'CONNECTION_ENDED',
]);

/**
 * PostgreSQL's SQLSTATEs for the same: class 08 (connection exception) and 57P01–57P03 (the server
 * shutting down, crashed, or not yet accepting connections).
 */
const SQLSTATE = /^(08[0-9A-Z]{3}|57P0[123])$/;

export function isStoreUnavailable(err: unknown): boolean {
  const seen = new Set<unknown>();
  const check = (e: unknown): boolean => {
    if (e === null || typeof e !== 'object' || seen.has(e)) return false;
    seen.add(e);
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && (CONNECTION_CODES.has(code) || SQLSTATE.test(code))) return true;
    if (e instanceof AggregateError && e.errors.some(check)) return true;
    return check((e as { cause?: unknown }).cause);
  };
  return check(err);
}
