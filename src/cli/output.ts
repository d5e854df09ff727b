// Small helpers for CLI output: exit codes, tables, JSON, and the errors that choose an exit code.

import { accessSync, constants } from 'node:fs';
import { CordonError } from '../shared/errors.js';
import { textTable } from '../shared/text-table.js';
import { CONNECTION_CODES } from '../shared/connection-codes.js';

export const EXIT_OK = 0;
/** A finding: tampering, a leak, a violation, a refusal, a signature that does not verify. */
export const EXIT_FINDING = 1;
/** Bad usage or input: a flag, a value, a file that is not what it must be. */
export const EXIT_USAGE = 2;
/** Could not reach or read what it needed: a server, a database, a file, a store another process holds. */
export const EXIT_UNAVAILABLE = 3;

/** Bad usage or input (exit 2): the message says which flag, value or file, and what it must be. */
export class UsageError extends CordonError {
  constructor(message: string) {
    super('usage.invalid_argument', message);
    this.name = 'UsageError';
  }
}

/**
 * Something the command needed could not be reached or read (exit 3): a server or database that
 * refuses, does not resolve, times out or answers 5xx; a file or folder named on the command line
 * that is missing or unreadable. The message names it (a URL without credentials, or a path) and
 * MUST NOT hold a protected value.
 */
export class Unreachable extends CordonError {
  constructor(message: string) {
    super('cli.unreachable', message);
    this.name = 'Unreachable';
  }
}

/** Error codes of a connection that failed: Node's and undici's for sockets and DNS, postgres.js's own. */
const NETWORK_CODES: ReadonlySet<string> = new Set([
  ...CONNECTION_CODES,
  'EAI_FAIL',
  'EADDRNOTAVAIL',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
]);

/** File errors that mean "missing or unreadable" (as opposed to a bug). */
const FILE_CODES = new Set(['ENOENT', 'EACCES', 'EPERM', 'EISDIR', 'ENOTDIR', 'ELOOP', 'ENAMETOOLONG', 'EROFS', 'ENOSPC', 'EMFILE']);

function codeOf(err: unknown): string | undefined {
  const code = err !== null && typeof err === 'object' ? (err as { code?: unknown }).code : undefined;
  return typeof code === 'string' ? code : undefined;
}

/**
 * Why a connection failed, in a few words (`ECONNREFUSED 127.0.0.1:7070`), or undefined when `err`
 * is not a failed connection. fetch hides the reason in `cause` (an AggregateError when every
 * address of a host was tried).
 */
export function networkFailure(err: unknown): string | undefined {
  const seen = new Set<unknown>();
  const find = (e: unknown): string | undefined => {
    if (e === null || typeof e !== 'object' || seen.has(e)) return undefined;
    seen.add(e);
    const code = codeOf(e);
    if (code !== undefined && NETWORK_CODES.has(code)) {
      const { address, port } = e as { address?: unknown; port?: unknown };
      return typeof address === 'string' ? `${code} ${address}${port === undefined ? '' : `:${String(port)}`}` : code;
    }
    for (const inner of e instanceof AggregateError ? e.errors : []) {
      const found = find(inner);
      if (found) return found;
    }
    return find((e as { cause?: unknown }).cause);
  };
  const found = find(err);
  if (found) return found;
  // undici's own wrapper: every failure to get a response is this TypeError.
  if (err instanceof TypeError && err.message === 'fetch failed') {
    const cause = (err as { cause?: unknown }).cause;
    return cause instanceof Error ? cause.message : 'fetch failed';
  }
  return undefined;
}

/** `ENOENT: no such file or directory` for a file error, or undefined when `err` is not one. */
export function fileFailure(err: unknown): string | undefined {
  const code = codeOf(err);
  if (code === undefined || !FILE_CODES.has(code)) return undefined;
  const message = err instanceof Error ? err.message : '';
  // Node's messages read `ENOENT: no such file or directory, open '/x'`; the path is said by the caller.
  return message.startsWith(`${code}:`) ? message.split(', ')[0]! : code;
}

/** A URL as it may be printed: scheme, host and path, never user or password. */
export function displayUrl(url: string): string {
  try {
    const u = new URL(url);
    u.username = '';
    u.password = '';
    u.search = '';
    return u.href.replace(/\/+$/, '');
  } catch {
    return url.replace(/\/\/[^@/]*@/, '//');
  }
}

/** fetch; a connection that fails (refused, DNS, timeout, reset) becomes Unreachable naming the URL, a URL that does not parse a UsageError. */
export async function fetchOrUnreachable(url: string, init?: RequestInit): Promise<Response> {
  try {
    return await fetch(url, init);
  } catch (err) {
    let parsed = true;
    try {
      new URL(url);
    } catch {
      parsed = false;
    }
    if (!parsed) throw new UsageError(`not an http(s) URL: ${JSON.stringify(displayUrl(url))}`);
    const why = networkFailure(err);
    if (why === undefined) throw err;
    throw new Unreachable(`cannot reach ${displayUrl(url)}: ${why}`);
  }
}

/** Throws Unreachable for a server error (5xx): the server is there but cannot do its work now. */
export async function throwIfUnavailable(res: Response, url: string): Promise<void> {
  if (res.status < 500) return;
  const body = (await res.json().catch(() => ({}))) as { code?: unknown; detail?: unknown };
  const what = [typeof body.code === 'string' ? body.code : '', typeof body.detail === 'string' ? body.detail : ''].filter(Boolean).join(': ');
  throw new Unreachable(`${displayUrl(url)} answered HTTP ${res.status}${what ? ` (${what})` : ''}`);
}

/** Throws Unreachable unless `path` (a file or folder named on the command line as `what`) exists and can be read. */
export function mustRead(path: string, what: string): void {
  try {
    accessSync(path, constants.R_OK);
  } catch (err) {
    throw new Unreachable(`cannot read ${what} ${path}: ${fileFailure(err) ?? (err instanceof Error ? err.message : String(err))}`);
  }
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** A plain text table: columns padded to their widest cell. */
export const table = textTable;
