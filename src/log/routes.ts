// The access log over HTTP: the public C2SP tlog-tiles endpoints (checkpoint, hash tiles, entry
// bundles), inclusion and consistency proofs, and the auditors' view of full records.

import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { HttpProblem, PROBLEM_CONTENT_TYPE } from '../shared/problem.js';
import type { AccessLog, StoredRecord } from './access-log.js';
import { isLogRecordKind, recordKind } from './records.js';
import { parseTilePath, TILE_WIDTH, TilePathError } from './tiles.js';
import { formatTlogProof } from './checkpoint.js';
import { commitment } from './commitment.js';
import { hashLeaf } from './merkle.js';
import { LOG_SCHEMAS as S } from './schemas.js';
import { ensureSchemas } from '../shared/api-schema.js';

export interface LogRoutesOptions {
  readonly log: AccessLog;
  /** Throws an HttpProblem unless the request comes from an auditor (full records are not public). */
  readonly authorizeAuditor: (req: FastifyRequest) => Promise<Auditor>;
}

export interface Auditor {
  readonly principal: string;
  readonly country: string;
  readonly site: string;
}

const IMMUTABLE = 'public, max-age=31536000, immutable';
const MAX_TILE_PATH = 128;
const MAX_RECORDS_PAGE = 1000;

function problem(reply: FastifyReply, p: HttpProblem): FastifyReply {
  return reply.status(p.status).type(PROBLEM_CONTENT_TYPE).send(p.body());
}

function index(value: unknown, what: string): number {
  if (typeof value !== 'string' || !/^(0|[1-9][0-9]{0,15})$/.test(value) || !Number.isSafeInteger(Number(value))) {
    throw new HttpProblem('usage.invalid_argument', `${what} must be a non-negative integer, got ${JSON.stringify(String(value ?? '')).slice(0, 40)}`);
  }
  return Number(value);
}

/** How many records one request reads at most while filtering (it answers with `next` to go on from). */
export const MAX_RECORDS_SCAN = 20_000;
const SCAN_CHUNK = 1_000;
const OUTCOMES = ['released', 'refused', 'permitted', 'failed'];
const DISCLOSURES = ['clear', 'tokenized', 'masked', 'withheld'];
/** Kinds that are not a record's own kind but what it did: a write's effects, and break-glass (a grant or a read under one). */
export const DERIVED_KINDS = ['transfer', 'declassify', 'break_glass'] as const;

type Rec = Record<string, unknown>;

const text = (q: Record<string, unknown>, name: string): string | undefined => {
  const v = q[name];
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || v.length === 0 || v.length > 200) throw new HttpProblem('usage.invalid_argument', `${name} must be 1 to 200 characters`);
  return v;
};
const oneOf = (q: Record<string, unknown>, name: string, allowed: readonly string[]): string | undefined => {
  const v = text(q, name);
  if (v !== undefined && !allowed.includes(v))
    throw new HttpProblem('usage.invalid_argument', `${name} must be one of ${allowed.join(', ')}, got ${JSON.stringify(v.slice(0, 40))}`);
  return v;
};
const time = (q: Record<string, unknown>, name: string): number | undefined => {
  const v = text(q, name);
  if (v === undefined) return undefined;
  const t = Date.parse(v);
  if (!/^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:\d{2}))?$/.test(v) || Number.isNaN(t))
    throw new HttpProblem(
      'usage.invalid_argument',
      `${name} must be an ISO 8601 date or UTC time (2026-11-01 or 2026-11-01T00:00:00Z), got ${JSON.stringify(v.slice(0, 40))}`,
    );
  return t;
};

/** True when a record is breaking the glass: a break-glass grant, or data released under one. */
export function isBreakGlass(r: Rec): boolean {
  if (r['type'] === 'broker.break_glass') return true;
  const g = r['grant'];
  return typeof g === 'object' && g !== null && (g as Rec)['breakGlass'] === true;
}

function hasEffect(r: Rec, action: string): boolean {
  const e = r['effects'];
  return Array.isArray(e) && e.some((x) => typeof x === 'object' && x !== null && (x as Rec)['action'] === action);
}

/** The records filter of a query (each member validated; a bad one is a 400 naming it), as a predicate. */
export function recordFilter(q: Record<string, unknown>): ((r: Rec) => boolean) | undefined {
  const since = time(q, 'since');
  const until = time(q, 'until');
  if (since !== undefined && until !== undefined && since >= until) throw new HttpProblem('usage.invalid_argument', 'since must be before until');
  const principal = text(q, 'principal');
  const dataset = text(q, 'dataset');
  const country = text(q, 'country');
  const outcome = oneOf(q, 'outcome', OUTCOMES);
  const disclosure = oneOf(q, 'disclosure', DISCLOSURES);
  const kind = text(q, 'kind');
  if (kind !== undefined && !isLogRecordKind(kind) && !(DERIVED_KINDS as readonly string[]).includes(kind))
    throw new HttpProblem(
      'usage.invalid_argument',
      `kind must be a record kind of docs/log-records.md or one of ${DERIVED_KINDS.join(', ')}, got ${JSON.stringify(kind.slice(0, 40))}`,
    );
  const tests: ((r: Rec) => boolean)[] = [];
  if (since !== undefined || until !== undefined) {
    tests.push((r) => {
      const at = typeof r['at'] === 'string' ? Date.parse(r['at']) : Number.NaN;
      return !Number.isNaN(at) && (since === undefined || at >= since) && (until === undefined || at < until);
    });
  }
  if (principal !== undefined) tests.push((r) => r['principal'] === principal);
  if (dataset !== undefined) tests.push((r) => r['dataset'] === dataset || (Array.isArray(r['datasets']) && r['datasets'].includes(dataset)));
  if (country !== undefined) tests.push((r) => r['country'] === country);
  if (outcome !== undefined) tests.push((r) => r['outcome'] === outcome);
  if (disclosure !== undefined)
    tests.push((r) => Array.isArray(r['fields']) && r['fields'].some((f) => typeof f === 'object' && f !== null && (f as Rec)['disclosure'] === disclosure));
  if (kind === 'break_glass') tests.push(isBreakGlass);
  else if (kind === 'transfer' || kind === 'declassify') tests.push((r) => hasEffect(r, kind));
  else if (kind !== undefined) tests.push((r) => recordKind(r) === kind);
  return tests.length === 0 ? undefined : (r) => tests.every((t) => t(r));
}

/**
 * A page of records: after `after` oldest first, or before `before` newest first; with a filter,
 * only matching ones, reading at most MAX_RECORDS_SCAN records. `next` is where to go on from
 * (after= or before=), null when the log has no more.
 */
async function scan(
  log: AccessLog,
  o: { after: number; before: number | undefined; limit: number; filter: ((r: Rec) => boolean) | undefined },
): Promise<{ records: StoredRecord[]; next: number | null }> {
  const out: StoredRecord[] = [];
  let scanned = 0;
  if (o.before === undefined) {
    let cursor = o.after;
    for (;;) {
      const want = o.filter ? SCAN_CHUNK : o.limit - out.length;
      const chunk = await log.records(cursor, want);
      for (const r of chunk) {
        cursor = r.index;
        scanned++;
        if (!o.filter || o.filter(r.record as Rec)) out.push(r);
        if (out.length === o.limit) return { records: out, next: r.index };
      }
      // A short chunk is the log's end: `next` is null there, or a reader paging to the end would
      // never get there (each page it reads appends its audit_read record after the last).
      if (chunk.length < want) return { records: out, next: null };
      if (scanned >= MAX_RECORDS_SCAN) return { records: out, next: cursor };
    }
  }
  await log.catchUp();
  let cursor = Math.min(o.before, log.size());
  while (cursor > 0) {
    const from = Math.max(0, cursor - (o.filter ? SCAN_CHUNK : o.limit - out.length));
    const chunk = (await log.records(from - 1, cursor - from)).filter((r) => r.index < cursor).reverse();
    if (chunk.length === 0) break;
    for (const r of chunk) {
      cursor = r.index;
      scanned++;
      if (!o.filter || o.filter(r.record as Rec)) out.push(r);
      if (out.length === o.limit) return { records: out, next: r.index > 0 ? r.index : null };
    }
    if (scanned >= MAX_RECORDS_SCAN) return { records: out, next: cursor > 0 ? cursor : null };
  }
  return { records: out, next: null };
}

export async function logRoutes(app: FastifyInstance, options: LogRoutesOptions): Promise<void> {
  const { log } = options;
  ensureSchemas(app);
  // Bad input here is a usage error, as the handlers' own checks say.
  const invalidCode = 'usage.invalid_argument' as const;

  /** Reading records is itself an access: it is logged before anything is returned. */
  const logAuditRead = async (auditor: Auditor, from: number, to: number): Promise<void> => {
    await log.append({ v: 1, at: new Date().toISOString(), ...auditor, action: 'audit_read', from, to }).catch((err: Error) => {
      throw new HttpProblem('log.unavailable', err.message);
    });
  };

  // Other processes (a gateway's workers) append to the same log and sign its checkpoints: each
  // serves the newest stored one, and the tiles and proofs behind it, so a client that asks them in
  // turn never sees the log shrink.
  app.get('/log/checkpoint', { schema: S.checkpoint }, async (_req, reply) => {
    await log.catchUp();
    const cp = log.checkpoint();
    return reply.header('cache-control', 'no-store').type('text/plain; charset=utf-8').send(cp.note);
  });

  app.get('/log/tile/*', { schema: S.tile, config: { openapiWildcard: 'tile_path', invalidCode } }, async (req, reply) => {
    const path = `tile/${(req.params as { '*': string })['*']}`;
    if (path.length > MAX_TILE_PATH)
      return problem(reply, new HttpProblem('log.bad_tile_path', `tile path is ${path.length} characters long (at most ${MAX_TILE_PATH})`));
    let tile: ReturnType<typeof parseTilePath>;
    try {
      tile = parseTilePath(path);
    } catch (err) {
      if (err instanceof TilePathError) return problem(reply, new HttpProblem('log.bad_tile_path', err.message));
      throw err;
    }
    const read = () => (tile.kind === 'hash' ? log.tile(tile.level, tile.index, tile.width) : log.entryBundle(tile.index, tile.width));
    // Beyond this process's tree: another may have appended it (and served its checkpoint).
    const body = (await read()) ?? (await log.catchUp().then(read));
    if (!body) return problem(reply, new HttpProblem('log.not_found', `${path} is beyond the log's current tree (size ${log.size()})`));
    const full = tile.width === TILE_WIDTH;
    return reply
      .header('cache-control', full ? IMMUTABLE : 'no-cache')
      .type('application/octet-stream')
      .send(body);
  });

  app.get('/v1/log/proof', { schema: S.proof, config: { invalidCode } }, async (req) => {
    const q = req.query as Record<string, unknown>;
    await log.catchUp();
    const cp = log.checkpoint();
    if (q['index'] !== undefined) {
      const i = index(q['index'], 'index');
      if (i >= cp.size) throw new HttpProblem('log.not_found', `index ${i} is not in the latest checkpoint (size ${cp.size}); retry within a second`);
      const proof = log.inclusionProof(i, cp.size);
      return {
        index: i,
        size: cp.size,
        proof: proof.map((h) => h.toString('base64')),
        checkpoint: cp.note,
        tlog_proof: formatTlogProof({ index: i, proof, checkpointNote: cp.note }),
      };
    }
    if (q['from'] !== undefined) {
      const from = index(q['from'], 'from');
      const to = q['to'] === undefined ? cp.size : index(q['to'], 'to');
      if (from < 1 || from > to || to > cp.size)
        throw new HttpProblem('usage.invalid_argument', `need 1 <= from <= to <= ${cp.size}, got from=${from} to=${to}`);
      return { from, to, proof: log.consistencyProof(from, to).map((h) => h.toString('base64')) };
    }
    throw new HttpProblem('usage.invalid_argument', 'give index=N for an inclusion proof, or from=M[&to=N] for a consistency proof');
  });

  app.get('/v1/log/records', { schema: S.records, config: { invalidCode }, exposeHeadRoute: false }, async (req) => {
    const auditor = await options.authorizeAuditor(req);
    const q = req.query as Record<string, unknown>;
    if (q['after'] !== undefined && q['before'] !== undefined)
      throw new HttpProblem('usage.invalid_argument', 'give after (oldest first) or before (newest first), not both');
    const after = q['after'] === undefined || q['after'] === '-1' ? -1 : index(q['after'], 'after');
    const before = q['before'] === undefined ? undefined : index(q['before'], 'before');
    const limit = q['limit'] === undefined ? 100 : index(q['limit'], 'limit');
    if (limit < 1 || limit > MAX_RECORDS_PAGE) throw new HttpProblem('usage.invalid_argument', `limit must be 1..${MAX_RECORDS_PAGE}, got ${limit}`);
    const filter = recordFilter(q);
    const { records, next } = await scan(log, { after, before, limit, filter });
    if (records.length > 0) {
      const indexes = records.map((r) => r.index);
      await logAuditRead(auditor, Math.min(...indexes), Math.max(...indexes));
    }
    return { records, next };
  });

  app.get('/v1/log/records/:index', { schema: S.record, config: { invalidCode }, exposeHeadRoute: false }, async (req) => {
    const auditor = await options.authorizeAuditor(req);
    const i = index((req.params as { index: string }).index, 'index');
    const stored = await log.record(i);
    if (!stored) throw new HttpProblem('log.not_found', `no access record at index ${i}`);
    await logAuditRead(auditor, i, i);
    const entry = Buffer.from(stored.entry, 'base64');
    const recomputed = commitment(stored.record, Buffer.from(stored.salt, 'base64'));
    const cp = log.checkpoint();
    return {
      index: i,
      record: stored.record,
      salt: stored.salt,
      entry: stored.entry,
      leaf_hash: hashLeaf(entry).toString('base64'),
      matches_entry: recomputed.equals(entry),
      proof: i < cp.size ? log.inclusionProof(i, cp.size).map((h) => h.toString('base64')) : null,
      checkpoint: cp.note,
      read_by: auditor.principal,
    };
  });
}
