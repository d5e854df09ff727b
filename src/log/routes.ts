// The access log over HTTP: the public C2SP tlog-tiles endpoints (checkpoint, hash tiles, entry
// bundles), inclusion and consistency proofs, and the auditors' view of full records.

import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { HttpProblem, PROBLEM_CONTENT_TYPE } from '../shared/problem.js';
import type { AccessLog } from './access-log.js';
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
    const after = q['after'] === undefined || q['after'] === '-1' ? -1 : index(q['after'], 'after');
    const limit = q['limit'] === undefined ? 100 : index(q['limit'], 'limit');
    if (limit < 1 || limit > MAX_RECORDS_PAGE) throw new HttpProblem('usage.invalid_argument', `limit must be 1..${MAX_RECORDS_PAGE}, got ${limit}`);
    const records = await log.records(after, limit);
    if (records.length > 0) {
      await logAuditRead(auditor, records[0]!.index, records.at(-1)!.index);
    }
    return { records, next: records.length === limit ? records.at(-1)!.index : null };
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
