// A C2SP transparency-log witness (c2sp.org/tlog-witness): it cosigns a log's checkpoint only when
// the checkpoint extends the last one it cosigned, and keeps that state durably; plus its HTTP route
// and the log-side client that collects cosignatures from a set of witnesses.

import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { open, rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { FastifyError, FastifyInstance } from 'fastify';
import { EMPTY_ROOT, MerkleProofError, verifyConsistency } from './merkle.js';
import { CordonError } from '../shared/errors.js';
import { parseCheckpoint, type Checkpoint } from './checkpoint.js';
import {
  NoteError,
  SIG_TYPE_COSIGNATURE_V1,
  SIG_TYPE_ED25519,
  cosign,
  decodeBase64Strict,
  formatSignatureLine,
  keyLabel,
  parseNote,
  parseVerifierKey,
  verifyNote,
  type Note,
  type NoteSigner,
  type NoteVerifier,
} from './note.js';

/** Largest add-checkpoint body accepted; a checkpoint, a few signatures and 63 proof lines fit easily. */
export const WITNESS_MAX_BODY_BYTES = 64 * 1024;
/** The spec's bound on consistency proof lines in one request. */
export const MAX_PROOF_LINES = 63;
/** Content type of a 409 body: the witness's current size for the origin, in decimal. */
export const TLOG_SIZE_CONTENT_TYPE = 'text/x.tlog.size';
export const DEFAULT_WITNESS_TIMEOUT_MS = 5_000;
/** Largest response read from a witness by the client. */
export const MAX_WITNESS_RESPONSE_BYTES = 64 * 1024;

const TEXT = 'text/plain; charset=utf-8';
const STATE_VERSION = 1;
const HASH_SIZE = 32;

export interface WitnessLog {
  /** The checkpoint origin line. */
  readonly origin: string;
  /** The log's verifier key (Ed25519 note key, type 0x01). An origin may be listed with several keys. */
  readonly vkey: string;
}

export interface WitnessOptions {
  /** The witness key: a cosignature/v1 (0x04) signer, e.g. from parseWitnessKey(). */
  readonly signer: NoteSigner;
  readonly logs: readonly WitnessLog[];
  /** JSON file of the last cosigned checkpoint per origin. MUST NOT be shared by two running witnesses. */
  readonly statePath: string;
  /** Milliseconds since the epoch, like Date.now (the default); cosignatures carry it in seconds. */
  readonly now?: () => number;
  /** Called with every piece of evidence of log misbehaviour (fork, rollback, bad proof). */
  readonly onEvidence?: (evidence: WitnessEvidence) => void;
}

export type WitnessStatus = 200 | 400 | 403 | 404 | 409 | 422;

export interface WitnessResponse {
  readonly status: WitnessStatus;
  readonly contentType: string;
  readonly body: string;
  /** Present when the request shows the log may be misbehaving; both sides, verbatim. */
  readonly evidence?: WitnessEvidence;
}

export interface WitnessedCheckpoint {
  readonly size: number;
  /** base64 */
  readonly root: string;
  /** The signed checkpoint note, verbatim. */
  readonly note: string;
}

export interface WitnessEvidence {
  /**
   * fork: a validly signed checkpoint of the size the witness cosigned, with another root.
   * rollback: a validly signed checkpoint smaller than the one the witness cosigned.
   * inconsistent: the consistency proof from the cosigned checkpoint to the new one does not verify.
   */
  readonly kind: 'fork' | 'rollback' | 'inconsistent';
  readonly origin: string;
  readonly message: string;
  /** What the witness had cosigned. */
  readonly witnessed: WitnessedCheckpoint;
  /** What was submitted (its log signature verified), with the request's old size and proof. */
  readonly submitted: WitnessedCheckpoint & { readonly old: number; readonly proof: readonly string[] };
}

export interface WitnessState {
  readonly size: number;
  readonly root: Buffer;
  readonly note: string;
}

export interface Witness {
  /** The witness's verifier key (cosignature/v1). */
  readonly vkey: string;
  /**
   * Handles one add-checkpoint request body. Never throws on bad input (those are 4xx values); throws
   * only when the state cannot be saved, and then returns no cosignature.
   */
  addCheckpoint(body: string | Buffer): Promise<WitnessResponse>;
  /** The last checkpoint cosigned for `origin`, if any. */
  state(origin: string): WitnessState | undefined;
}

/** The state file is unreadable or inconsistent; the witness refuses to start rather than forget. */
export class WitnessStateError extends CordonError {
  declare readonly code: 'log.bad_witness_state';
  constructor(message: string) {
    super('log.bad_witness_state', message);
    this.name = 'WitnessStateError';
  }
}

interface Entry {
  readonly size: number;
  readonly root: Buffer;
  readonly note: string;
}

interface ParsedRequest {
  readonly old: number;
  readonly proof: readonly Buffer[];
  readonly noteText: string;
  readonly note: Note;
  readonly checkpoint: Checkpoint;
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

function reply(status: WitnessStatus, body: string, evidence?: WitnessEvidence, contentType = TEXT): WitnessResponse {
  return evidence ? { status, contentType, body, evidence } : { status, contentType, body };
}

function sizeConflict(size: number, evidence?: WitnessEvidence): WitnessResponse {
  return reply(409, `${size}\n`, evidence, TLOG_SIZE_CONTENT_TYPE);
}

function parseDecimal(s: string): number | undefined {
  if (!/^(?:0|[1-9][0-9]{0,15})$/.test(s)) return undefined;
  const n = Number(s);
  return Number.isSafeInteger(n) ? n : undefined;
}

/** Parses the add-checkpoint body strictly; a string is the reason for a 400. */
function parseRequest(body: string | Buffer): ParsedRequest | string {
  let s: string;
  if (typeof body === 'string') {
    if (body.length > WITNESS_MAX_BODY_BYTES || Buffer.byteLength(body, 'utf8') > WITNESS_MAX_BODY_BYTES) return `body is over ${WITNESS_MAX_BODY_BYTES} bytes`;
    if (/\p{Cs}/u.test(body)) return 'body is not valid UTF-8';
    s = body;
  } else if (Buffer.isBuffer(body)) {
    if (body.length > WITNESS_MAX_BODY_BYTES) return `body is over ${WITNESS_MAX_BODY_BYTES} bytes`;
    try {
      s = utf8.decode(body);
    } catch {
      return 'body is not valid UTF-8';
    }
  } else {
    return 'body is not text';
  }
  let pos = 0;
  const nextLine = (): string | undefined => {
    const end = s.indexOf('\n', pos);
    if (end < 0) return undefined;
    const line = s.slice(pos, end);
    pos = end + 1;
    return line;
  };
  const first = nextLine();
  if (first === undefined) return 'no "old <size>" line ending in a newline';
  const m = /^old (.*)$/s.exec(first);
  const old = m ? parseDecimal(m[1]!) : undefined;
  if (old === undefined) return 'first line must be "old" and a decimal size without leading zeroes';
  const proof: Buffer[] = [];
  for (;;) {
    const line = nextLine();
    if (line === undefined) return 'no empty line between the proof and the checkpoint';
    if (line === '') break;
    if (proof.length === MAX_PROOF_LINES) return `more than ${MAX_PROOF_LINES} consistency proof lines`;
    const hash = decodeBase64Strict(line);
    if (!hash || hash.length !== HASH_SIZE) return `consistency proof line ${proof.length + 1} is not a base64 SHA-256 hash`;
    proof.push(hash);
  }
  const noteText = s.slice(pos);
  try {
    const note = parseNote(noteText);
    const checkpoint = parseCheckpoint(note.text);
    return { old, proof, noteText, note, checkpoint };
  } catch (err) {
    if (err instanceof NoteError) return err.message;
    throw err;
  }
}

function isErrno(err: unknown): err is NodeJS.ErrnoException {
  return err instanceof Error && typeof (err as NodeJS.ErrnoException).code === 'string';
}

function loadState(path: string): Map<string, Entry> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if (isErrno(err) && err.code === 'ENOENT') return new Map();
    throw new WitnessStateError(`cannot read witness state ${path}: ${(err as Error).message}`);
  }
  const bad = (why: string) => new WitnessStateError(`witness state ${path} is corrupt (${why}); refusing to start, since forgetting it would allow rollbacks`);
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw bad('not JSON');
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw bad('not an object');
  const { v, logs } = raw as { v?: unknown; logs?: unknown };
  if (v !== STATE_VERSION) throw bad(`version ${JSON.stringify(v)}, want ${STATE_VERSION}`);
  if (typeof logs !== 'object' || logs === null || Array.isArray(logs)) throw bad('"logs" is not an object');
  const out = new Map<string, Entry>();
  for (const [origin, e] of Object.entries(logs)) {
    const { size, root, note } = (e ?? {}) as { size?: unknown; root?: unknown; note?: unknown };
    const rootBytes = typeof root === 'string' ? decodeBase64Strict(root) : undefined;
    if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0 || !rootBytes || rootBytes.length !== HASH_SIZE || typeof note !== 'string') {
      throw bad(`entry ${JSON.stringify(origin)} is not {size, root, note}`);
    }
    let cp: Checkpoint;
    try {
      cp = parseCheckpoint(parseNote(note).text);
    } catch (err) {
      throw bad(`entry ${JSON.stringify(origin)}: ${(err as Error).message}`);
    }
    if (cp.origin !== origin || cp.size !== size || !cp.root.equals(rootBytes)) throw bad(`entry ${JSON.stringify(origin)} does not match its note`);
    out.set(origin, { size, root: rootBytes, note });
  }
  return out;
}

async function writeStateFile(path: string, entries: Map<string, Entry>): Promise<void> {
  const logs: Record<string, { size: number; root: string; note: string }> = {};
  for (const origin of [...entries.keys()].sort()) {
    const e = entries.get(origin)!;
    logs[origin] = { size: e.size, root: e.root.toString('base64'), note: e.note };
  }
  const text = `${JSON.stringify({ v: STATE_VERSION, logs }, null, 2)}\n`;
  const tmp = `${path}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  const fh = await open(tmp, 'wx', 0o600);
  try {
    try {
      await fh.writeFile(text, 'utf8');
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
  // The rename is durable only once the directory is; some platforms cannot fsync a directory.
  try {
    const dir = await open(dirname(path), 'r');
    try {
      await dir.sync();
    } finally {
      await dir.close();
    }
  } catch {
    // best effort
  }
}

/** Runs fn after every earlier call with the same key has finished. */
function createLocks(): <T>(key: string, fn: () => Promise<T>) => Promise<T> {
  const tails = new Map<string, Promise<void>>();
  return async (key, fn) => {
    const prev = tails.get(key) ?? Promise.resolve();
    let release!: () => void;
    const tail = prev.then(() => new Promise<void>((r) => (release = r)));
    tails.set(key, tail);
    await prev;
    try {
      return await fn();
    } finally {
      release();
      if (tails.get(key) === tail) tails.delete(key);
    }
  };
}

function describe(e: Entry): WitnessedCheckpoint {
  return { size: e.size, root: e.root.toString('base64'), note: e.note };
}

/**
 * A witness for the given logs. The state file is read now (a corrupt one throws WitnessStateError);
 * each cosigned checkpoint is written to it (temp file, fsync, rename) before its cosignature is
 * returned. Requests for one origin are handled one at a time, so two racing requests cannot both pass.
 */
export function createWitness(options: WitnessOptions): Witness {
  const { signer, statePath } = options;
  if (signer.type !== SIG_TYPE_COSIGNATURE_V1) throw new NoteError('log.bad_key', `witness key ${signer.name} must be a cosignature/v1 (0x04) key`);
  const now = options.now ?? Date.now;
  const keys = new Map<string, NoteVerifier[]>();
  for (const log of options.logs) {
    // biome-ignore lint/suspicious/noControlCharactersInRegex: an origin line may hold no control character; this finds one
    if (log.origin === '' || /[\u0000-\u001f]/.test(log.origin))
      throw new RangeError(`log origin ${JSON.stringify(log.origin)} is not a checkpoint origin line`);
    const v = parseVerifierKey(log.vkey);
    if (v.type !== SIG_TYPE_ED25519) throw new NoteError('log.bad_key', `log key ${keyLabel(v.name, v.keyId)} must be an Ed25519 note key (0x01)`);
    keys.set(log.origin, [...(keys.get(log.origin) ?? []), v]);
  }
  const committed = loadState(statePath);
  const perOrigin = createLocks();
  const fileLock = createLocks();

  // Saves `origin`'s new entry together with every other origin's committed one, then commits it.
  const persist = (origin: string, entry: Entry): Promise<void> =>
    fileLock('state', async () => {
      const next = new Map(committed);
      next.set(origin, entry);
      await writeStateFile(statePath, next);
      committed.set(origin, entry);
    });

  const evidenceFor = (kind: WitnessEvidence['kind'], message: string, origin: string, stored: Entry, req: ParsedRequest): WitnessEvidence => {
    const e: WitnessEvidence = {
      kind,
      origin,
      message,
      witnessed: describe(stored),
      submitted: {
        size: req.checkpoint.size,
        root: req.checkpoint.root.toString('base64'),
        note: req.noteText,
        old: req.old,
        proof: req.proof.map((h) => h.toString('base64')),
      },
    };
    options.onEvidence?.(e);
    return e;
  };

  async function decide(req: ParsedRequest): Promise<WitnessResponse> {
    const { checkpoint: cp, old, proof } = req;
    const origin = cp.origin;
    const stored = committed.get(origin);
    const storedSize = stored?.size ?? 0;
    let evidence: WitnessEvidence | undefined;
    if (stored && cp.size === stored.size && !cp.root.equals(stored.root)) {
      evidence = evidenceFor('fork', `the log signed two different trees of size ${cp.size}`, origin, stored, req);
    } else if (stored && cp.size < stored.size) {
      evidence = evidenceFor('rollback', `the log presented size ${cp.size} after the witness cosigned size ${stored.size}`, origin, stored, req);
    }
    if (old > cp.size) return reply(400, `old size ${old} is larger than the checkpoint size ${cp.size}\n`, evidence);
    if (old !== storedSize) return sizeConflict(storedSize, evidence);
    if (old === cp.size) {
      // Same size as cosigned before: the same tree, or a fork (409 per the spec).
      if (evidence) return sizeConflict(storedSize, evidence);
      if (proof.length !== 0) return reply(422, 'the consistency proof must be empty when the old size equals the checkpoint size\n');
      if (!stored) {
        if (!cp.root.equals(EMPTY_ROOT)) return reply(422, 'a checkpoint of size 0 must have the empty tree root\n');
        const entry = { size: 0, root: cp.root, note: req.noteText };
        await persist(origin, entry);
      }
      return reply(200, cosign(req.note.text, signer, Math.floor(now() / 1000)));
    }
    if (old === 0) {
      if (proof.length !== 0) return reply(422, 'the consistency proof must be empty when the old size is 0\n');
    } else {
      try {
        verifyConsistency(old, cp.size, stored!.root, cp.root, proof);
      } catch (err) {
        if (!(err instanceof MerkleProofError)) throw err;
        const e = evidenceFor('inconsistent', `consistency proof from size ${old} to ${cp.size} does not verify: ${err.message}`, origin, stored!, req);
        return reply(422, `consistency proof does not verify: ${err.message}\n`, e);
      }
    }
    const line = cosign(req.note.text, signer, Math.floor(now() / 1000));
    await persist(origin, { size: cp.size, root: Buffer.from(cp.root), note: req.noteText });
    return reply(200, line);
  }

  return {
    vkey: signer.vkey,
    async addCheckpoint(body) {
      const req = parseRequest(body);
      if (typeof req === 'string') return reply(400, `malformed add-checkpoint request: ${req}\n`);
      const verifiers = keys.get(req.checkpoint.origin);
      if (!verifiers) return reply(404, `unknown log origin ${JSON.stringify(req.checkpoint.origin.slice(0, 100))}\n`);
      try {
        // Signatures by unknown keys are ignored; any failing signature by a log key refuses the note.
        verifyNote(req.note, verifiers);
      } catch (err) {
        if (err instanceof NoteError) return reply(403, `checkpoint is not signed by a key of log ${req.checkpoint.origin}\n`);
        throw err;
      }
      return perOrigin(req.checkpoint.origin, () => decide(req));
    },
    state(origin) {
      const e = committed.get(origin);
      return e ? { size: e.size, root: Buffer.from(e.root), note: e.note } : undefined;
    },
  };
}

// ---------------------------------------------------------------------------------------------
// HTTP

export interface WitnessRoutesOptions {
  readonly witness: Witness;
  /** Default WITNESS_MAX_BODY_BYTES. */
  readonly bodyLimit?: number;
}

/**
 * `POST /add-checkpoint`. MUST be mounted with app.register() (it replaces the body parsers and the
 * error handler of its own scope: every body is read as bytes).
 */
export async function witnessRoutes(app: FastifyInstance, options: WitnessRoutesOptions): Promise<void> {
  const { witness } = options;
  const bodyLimit = options.bodyLimit ?? WITNESS_MAX_BODY_BYTES;
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit }, (_req, body, done) => done(null, body));
  app.setErrorHandler((err: FastifyError, req, res) => {
    const status = typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 500;
    if (status === 500) req.log.error({ err }, 'witness: internal error');
    void res
      .status(status)
      .type(TEXT)
      .send(status === 500 ? 'internal error\n' : `${err.message}\n`);
  });
  app.post('/add-checkpoint', { bodyLimit }, async (req, res) => {
    const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    const r = await witness.addCheckpoint(body);
    if (r.evidence) req.log.warn({ evidence: r.evidence }, `witness: ${r.evidence.kind}: ${r.evidence.message}`);
    return res.status(r.status).type(r.contentType).header('cache-control', 'no-store').send(r.body);
  });
}

// ---------------------------------------------------------------------------------------------
// The log's side

/** The access log's `cosign` hook (AccessLogOptions.cosign). */
export type CosignHook = (signedNote: string, size: number, consistencyProof: (from: number, to: number) => Buffer[]) => Promise<string[]>;

export interface WitnessEndpoint {
  /** The witness's submission prefix: `<url>/add-checkpoint` is posted to. */
  readonly url: string;
  /** The witness's cosignature/v1 verifier key. */
  readonly vkey: string;
}

export interface WitnessCosignerOptions {
  readonly fetch?: typeof fetch;
  /** Per request. Default DEFAULT_WITNESS_TIMEOUT_MS. */
  readonly timeoutMs?: number;
  /** Told why a witness gave no cosignature (the hook itself only skips it). */
  readonly onError?: (url: string, reason: string) => void;
}

/** Why a witness gave no cosignature; told to `onError`, never thrown out of the hook. */
class WitnessRefused extends CordonError {
  constructor(message: string) {
    super('log.witness_refused', message);
    this.name = 'WitnessRefused';
  }
}

async function readLimited(res: Response, limit: number): Promise<string> {
  if (!res.body) return '';
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > limit) {
      await reader.cancel().catch(() => undefined);
      throw new WitnessRefused(`response is over ${limit} bytes`);
    }
    chunks.push(value);
  }
  try {
    return utf8.decode(Buffer.concat(chunks));
  } catch {
    throw new WitnessRefused('response is not valid UTF-8');
  }
}

/**
 * The witnesses' cosignatures of a checkpoint, as the access log's cosign hook. Each witness is
 * asked with the size it last acknowledged (0 at first); a 409 tells its real size, and the request
 * is retried once with a proof from there. A cosignature is returned only after it verifies with the
 * witness's key; witnesses that fail are skipped. Calls for one witness run one at a time.
 */
export function createWitnessCosigner(witnesses: readonly WitnessEndpoint[], options: WitnessCosignerOptions = {}): CosignHook {
  const doFetch = options.fetch ?? fetch;
  const timeoutMs = options.timeoutMs ?? DEFAULT_WITNESS_TIMEOUT_MS;
  const clients = witnesses.map((w) => {
    const verifier = parseVerifierKey(w.vkey);
    if (verifier.type !== SIG_TYPE_COSIGNATURE_V1)
      throw new NoteError('log.bad_key', `witness key ${keyLabel(verifier.name, verifier.keyId)} must be a cosignature/v1 (0x04) key`);
    return { url: `${w.url.replace(/\/+$/, '')}/add-checkpoint`, verifier, label: keyLabel(verifier.name, verifier.keyId), known: 0 };
  });
  const locks = createLocks();

  type Client = (typeof clients)[number];

  async function post(c: Client, old: number, proof: readonly Buffer[], signedNote: string): Promise<{ status: number; text: string }> {
    const body = `old ${old}\n${proof.map((h) => `${h.toString('base64')}\n`).join('')}\n${signedNote}`;
    const res = await doFetch(c.url, {
      method: 'POST',
      headers: { 'content-type': 'text/plain; charset=utf-8' },
      body,
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await readLimited(res, MAX_WITNESS_RESPONSE_BYTES);
    return { status: res.status, text };
  }

  // The witness's own cosignature lines of `noteText`, once they verify; lines by other keys are dropped.
  function acceptCosignatures(c: Client, noteText: string, responseText: string): string[] {
    if (!responseText.endsWith('\n') || responseText.length === 0) throw new WitnessRefused('response is not signature lines ending in a newline');
    try {
      // Throws unless the witness key signed, and validly so (each of its lines); other keys are ignored.
      verifyNote(`${noteText}\n${responseText}`, [c.verifier]);
    } catch (err) {
      throw new WitnessRefused(`cosignature does not verify: ${(err as Error).message}`);
    }
    const mine = parseNote(`${noteText}\n${responseText}`).signatures.filter((s) => keyLabel(s.name, s.keyId) === c.label);
    return [...new Set(mine.map(formatSignatureLine))];
  }

  async function ask(c: Client, signedNote: string, noteText: string, size: number, proofOf: (from: number, to: number) => Buffer[]): Promise<string[]> {
    let old = c.known;
    for (let attempt = 0; ; attempt++) {
      if (old > size) throw new WitnessRefused(`witness has cosigned size ${old}, beyond this checkpoint (${size})`);
      const proof = old === 0 || old === size ? [] : proofOf(old, size);
      const r = await post(c, old, proof, signedNote);
      if (r.status === 200) {
        const lines = acceptCosignatures(c, noteText, r.text);
        c.known = size;
        return lines;
      }
      if (r.status === 409) {
        const m = /^(0|[1-9][0-9]{0,15})\n$/.exec(r.text);
        const theirs = m ? Number(m[1]) : undefined;
        if (theirs === undefined || !Number.isSafeInteger(theirs)) throw new WitnessRefused('409 without a tree size');
        c.known = theirs;
        if (attempt === 0 && theirs !== old) {
          old = theirs;
          continue;
        }
        throw new WitnessRefused(`409 Conflict: witness is at size ${theirs}`);
      }
      throw new WitnessRefused(`HTTP ${r.status}: ${r.text.slice(0, 200).trim()}`);
    }
  }

  return async (signedNote, size, consistencyProof) => {
    const noteText = parseNote(signedNote).text;
    const results = await Promise.all(
      clients.map((c) =>
        locks(c.url, () => ask(c, signedNote, noteText, size, consistencyProof)).catch((err: unknown) => {
          options.onError?.(c.url, err instanceof Error ? err.message : String(err));
          return [] as string[];
        }),
      ),
    );
    return results.flat();
  };
}
