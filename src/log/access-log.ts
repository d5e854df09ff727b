// The access log: a sequencer that batches appends into one durable write each, integrates them
// into the RFC 9162 tree, and signs a C2SP checkpoint at least every second; plus what the log
// serves (tiles, entry bundles, proofs) and what auditors read (records and their salts).
//
// Storage, in one store: the append-only table `tlog_<name>` holds, at index i (from 0), the entry
// (the salted commitment, public) and a payload with the salt and the full record (never public);
// `log_<name>_checkpoints` holds every signed checkpoint. The tree is rebuilt from the entries when the log opens and checked
// against the last signed checkpoint: a log whose stored rows no longer match what it signed stops
// accepting appends (so nothing protected is released) and says why.
//
// Several processes may append to one log (the workers of a gateway, and the migrate or scan CLI
// beside it): a batch whose indexes another writer took first wrote nothing, so it is read past and
// tried again after theirs; each process also reads the others' entries before it signs, so all
// sign one tree. A process adopts a newer checkpoint another one stored rather than sign a smaller
// one, and catches up before it serves a checkpoint, so a client that asks different processes in
// turn never sees the log go back.

import { EventEmitter } from 'node:events';
import { EntryIndexTakenError, type EntryRow, type Store } from '../store/index.js';
import { CordonError } from '../shared/errors.js';
import { BucketCounts } from '../shared/bucket-counts.js';
import { assertAppendable, InvalidLogRecordError, recordKind } from './records.js';
import type { LogRecord } from './record-types.js';
import { canonicalJson, commitCanonical, newSalt, ENTRY_BYTES } from './commitment.js';
import { MerkleTree, hashLeaf } from './merkle.js';
import { encodeEntryBundle, tileContent, TILE_WIDTH } from './tiles.js';
import { parseCheckpoint, signCheckpoint, type Checkpoint } from './checkpoint.js';
import { addSignatures, parseSignerKey, verifyNote, parseVerifierKey, type NoteSigner } from './note.js';

export const DEFAULT_MAX_BATCH = 4096;
export const DEFAULT_CHECKPOINT_MS = 500;
const REBUILD_PAGE = 10_000;
/** Tries of one batch whose indexes other writers keep taking, before its appends fail. */
const MAX_TAKEN_RETRIES = 8;
/** Bounds (seconds) of the append latency buckets: a group commit takes about a store round trip. */
export const APPEND_SECONDS_BOUNDS: readonly number[] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];
/** Bounds (entries) of the batch size buckets, up to DEFAULT_MAX_BATCH. */
export const BATCH_SIZE_BOUNDS: readonly number[] = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096];

export interface AccessLogOptions {
  readonly store: Store;
  /** Table name suffix: `tlog_<name>` and `log_<name>_checkpoints`. */
  readonly name?: string;
  /** The log's signing key, a signed-note private key (`PRIVATE+KEY+origin+hex8+base64`). */
  readonly signerKey: string;
  /** Most entries in one durable write. */
  readonly maxBatch?: number;
  /** A new checkpoint is signed this often when the tree has grown (at most every second). */
  readonly checkpointEveryMs?: number;
  /**
   * Collects cosignature lines (`— name base64`) for a freshly signed checkpoint of `size` from
   * witnesses, which may ask for consistency proofs from the size they saw last. Failures are not
   * fatal: the checkpoint is published with whatever cosignatures arrived.
   */
  readonly cosign?: (signedNote: string, size: number, consistencyProof: (from: number, to: number) => Buffer[]) => Promise<string[]>;
}

export interface StoredRecord {
  readonly index: number;
  readonly record: unknown;
  /** base64 */
  readonly salt: string;
  /** base64 of the entry (the leaf data). */
  readonly entry: string;
}

/**
 * What the log has done since it opened, for metrics read at scrape time. The bucket counts are the
 * log's own, live: read them, never change them.
 */
export interface AccessLogStats {
  /** Entries integrated into the tree (as size()). */
  readonly entries: number;
  /** Appends queued or in the write in flight: not durable yet. */
  readonly queued: number;
  /** Entries this process made durable. */
  readonly appended: number;
  /** Appends this process refused because the log could not write them (not malformed records). */
  readonly failed: number;
  /** Seconds from enqueue to durable, per entry this process made durable. */
  readonly appendSeconds: BucketCounts;
  /** Entries per durable write. */
  readonly batchSize: BucketCounts;
  /** Entries the latest checkpoint covers; -1 before the first. */
  readonly checkpointSize: number;
  /** Epoch ms when this process signed the latest checkpoint, or found it current when it opened the log. */
  readonly checkpointAt: number | undefined;
  /** Checkpoints this process signed. */
  readonly checkpointsSigned: number;
  readonly healthy: boolean;
}

export type LogHealth = { readonly ok: true } | { readonly ok: false; readonly reason: string };

export class LogUnavailableError extends CordonError {
  constructor(message: string) {
    super('log.unavailable', message);
  }
}

export interface AccessLog {
  readonly origin: string;
  /** The verifier key outsiders use: `origin+hex8+base64`. */
  readonly vkey: string;
  /**
   * Resolves with the entry's index once it is durable; rejects when it could not be written. A
   * record of no registered kind, or one that fails its kind's schema (records.ts), is refused
   * with InvalidLogRecordError (`log.invalid_record`) before anything is queued: nothing is appended.
   */
  append(record: LogRecord): Promise<{ readonly index: number }>;
  /**
   * The same for a record its caller has already encoded: `canonical` MUST be exactly what
   * canonicalJson(record) gives (the entry commits to these bytes, and auditors recompute them).
   * The record is checked as append checks it.
   */
  appendCanonical(record: LogRecord, canonical: string): Promise<{ readonly index: number }>;
  /** Entries integrated into the tree (durable). */
  size(): number;
  /** The latest signed checkpoint, with any cosignatures. */
  checkpoint(): { readonly size: number; readonly note: string; readonly root: Buffer };
  /** Signs a checkpoint for the current tree now (when it grew). */
  publish(): Promise<void>;
  /**
   * Reads into the tree what other processes appended, and adopts the newest checkpoint they stored
   * (after this process's write in flight, if any). Before serving a checkpoint or what one needs.
   */
  catchUp(): Promise<void>;
  health(): LogHealth;
  stats(): AccessLogStats;
  tile(level: number, index: number, width: number): Buffer | undefined;
  entryBundle(index: number, width: number): Promise<Buffer | undefined>;
  inclusionProof(index: number, size?: number): Buffer[];
  consistencyProof(size1: number, size2: number): Buffer[];
  /** The stored record behind an entry (auditors only: it is not public). */
  record(index: number): Promise<StoredRecord | undefined>;
  /** Stored records with index > after, oldest first. */
  records(after: number, limit: number): Promise<StoredRecord[]>;
  /** Emits 'checkpoint' with each newly published checkpoint. */
  readonly events: EventEmitter;
  close(): Promise<void>;
}

interface Pending {
  readonly row: EntryRow;
  readonly leafHash: Buffer;
  /** performance.now() at enqueue, for the append latency. */
  readonly at: number;
  readonly resolve: (v: { index: number }) => void;
  readonly reject: (err: unknown) => void;
}

/** The private payload stored beside an entry: the record and its salt, as canonical JSON. */
interface Payload {
  readonly r: unknown;
  readonly s: string;
}

export async function openAccessLog(options: AccessLogOptions): Promise<AccessLog> {
  const { store } = options;
  const name = options.name ?? 'access';
  const checkpoints = `${name}_checkpoints`;
  const signer: NoteSigner = parseSignerKey(options.signerKey);
  const verifier = parseVerifierKey(signer.vkey);
  const maxBatch = options.maxBatch ?? DEFAULT_MAX_BATCH;
  const every = Math.min(options.checkpointEveryMs ?? DEFAULT_CHECKPOINT_MS, 1000);
  const events = new EventEmitter();

  const tree = new MerkleTree();
  let health: LogHealth = { ok: true };
  let resync = false;
  // Counted per batch where possible: a read appends one entry, so the per-entry cost stays one
  // timestamp and one bucket scan when the batch lands.
  let appended = 0;
  let failed = 0;
  let inFlight = 0;
  let checkpointsSigned = 0;
  let checkpointAt: number | undefined;
  const appendSeconds = new BucketCounts(APPEND_SECONDS_BOUNDS);
  const batchSize = new BucketCounts(BATCH_SIZE_BOUNDS);

  /** Reads stored entries after the tree's size into the tree; stops at the first gap or bad entry. */
  async function integrateStored(): Promise<void> {
    for (;;) {
      const rows = await store.readEntries(name, tree.size - 1, REBUILD_PAGE);
      const hashes: Buffer[] = [];
      for (const row of rows) {
        const entry = Buffer.from(row.entry, 'base64');
        if (row.index !== tree.size + hashes.length || entry.length !== ENTRY_BYTES) {
          tree.appendLeafHashes(hashes);
          health = { ok: false, reason: `stored entry ${tree.size} is missing or malformed (found index ${row.index})` };
          return;
        }
        hashes.push(hashLeaf(entry));
      }
      tree.appendLeafHashes(hashes);
      if (rows.length < REBUILD_PAGE) return;
    }
  }

  // The last checkpoint this log signed must still describe the stored tree. It is read before the
  // entries: a checkpoint is stored only after the entries it signs, so entries read after it cover
  // it even while another process appends and signs.
  let latest: { size: number; note: string; root: Buffer } | undefined;
  // The index of the last checkpoint row read: newer ones are read from there.
  let checkpointRow = 0;
  const stored = await lastStoredCheckpoint();
  await integrateStored();
  if (stored) {
    let cp: Checkpoint | undefined;
    try {
      cp = parseCheckpoint(verifyNote(stored, [verifier]).text);
    } catch (err) {
      health = { ok: false, reason: `the last stored checkpoint does not verify: ${(err as Error).message}` };
    }
    if (cp) {
      latest = { size: cp.size, note: stored, root: cp.root };
      // Its signing time is not stored; checked just now against the tree, it is as fresh as this open.
      checkpointAt = Date.now();
      if (cp.origin !== signer.name) health = { ok: false, reason: `the last stored checkpoint is for origin ${cp.origin}, not ${signer.name}` };
      else if (cp.size > tree.size) {
        health = { ok: false, reason: `the last signed checkpoint has size ${cp.size} but the store holds ${tree.size} consecutive entries` };
      } else if (!tree.root(cp.size).equals(cp.root)) {
        health = {
          ok: false,
          reason: `the stored entries give root ${tree.root(cp.size).toString('base64')} at size ${cp.size}, but the signed checkpoint says ${cp.root.toString('base64')}`,
        };
      }
    }
  }

  /**
   * The largest checkpoint stored after row `checkpointRow` (which moves past it): not the last
   * stored, since processes store theirs in the order their witnesses answer, not by size. The size
   * is read from the note's text here; the note chosen is verified by the caller.
   */
  async function lastStoredCheckpoint(): Promise<string | undefined> {
    let last: string | undefined;
    let largest = -1;
    for (;;) {
      const rows = await store.readLog(checkpoints, checkpointRow, REBUILD_PAGE, { field: 'note' });
      for (const r of rows) {
        if (typeof r.entry !== 'string') continue;
        const size = Number(r.entry.split('\n', 2)[1]);
        if (last === undefined || (Number.isSafeInteger(size) && size > largest)) {
          last = r.entry;
          largest = Number.isSafeInteger(size) ? size : largest;
        }
      }
      if (rows.length > 0) checkpointRow = rows.at(-1)!.index;
      if (rows.length < REBUILD_PAGE) return last;
    }
  }

  /**
   * Reads the checkpoints other processes stored since the last read, then their entries, and takes
   * the newest checkpoint as this process's own when it is larger. One that does not match the
   * entries (another signer with this key, or rows changed) stops appends, as at open. MUST run as
   * the tree's one mutator (see sync).
   */
  async function adoptStored(): Promise<void> {
    const note = await lastStoredCheckpoint();
    await integrateStored();
    if (note === undefined || !health.ok) return;
    let cp: Checkpoint;
    try {
      cp = parseCheckpoint(verifyNote(note, [verifier]).text);
    } catch (err) {
      health = { ok: false, reason: `a stored checkpoint does not verify: ${(err as Error).message}` };
      return;
    }
    if (latest && cp.size <= latest.size) return;
    if (cp.size > tree.size || !tree.root(cp.size).equals(cp.root)) {
      health = { ok: false, reason: `a stored checkpoint of size ${cp.size} does not match the ${tree.size} stored entries` };
      return;
    }
    latest = { size: cp.size, note, root: cp.root };
    // Signed a moment ago by the process that stored it.
    checkpointAt = Date.now();
    events.emit('checkpoint', latest);
  }

  let publishing: Promise<void> | undefined;
  let queuedCatchUp: Promise<void> | undefined;
  async function publishNow(): Promise<void> {
    if (!health.ok) return;
    // Another process may have signed this tree, or a larger one, already.
    await mutating(adoptStored).catch(() => undefined);
    if (!health.ok) return;
    const size = tree.size;
    if (latest && latest.size >= size) return;
    const root = tree.root(size);
    let note = signCheckpoint({ origin: signer.name, size, root }, signer);
    if (options.cosign) {
      const lines = await options.cosign(note, size, (from, to) => tree.consistencyProof(from, to)).catch(() => []);
      note = addSignatures(note, lines);
    }
    await store.append(checkpoints, { note, size });
    checkpointsSigned++;
    // While this one waited for its witnesses, a larger one (another process's) may have been adopted.
    if (latest && latest.size >= size) return;
    latest = { size, note, root };
    checkpointAt = Date.now();
    events.emit('checkpoint', latest);
  }
  /** Signs the tree as it is now: one signing at a time, and a call never returns an older one's result. */
  const publish = async (): Promise<void> => {
    while (publishing) await publishing.catch(() => undefined);
    publishing = publishNow().finally(() => (publishing = undefined));
    return publishing;
  };
  // A new log signs its empty tree; a reopened one signs what it holds (entries written just before a crash).
  if (health.ok && (!latest || latest.size !== tree.size)) await publish();
  // Entries another process appended (the migrate or scan CLI beside a running server) are read
  // into the tree before each signing, so the checkpoints this process serves include them.
  const timer = setInterval(
    () =>
      void sync()
        .then(publish)
        .catch(() => undefined),
    every,
  );
  timer.unref();

  // Group commit: one write in flight; everything that arrives meanwhile goes into the next one.
  let queue: Pending[] = [];
  let writing = false;
  let closed = false;

  /** Reads what other writers appended, when no write of ours is in flight (one tree mutator at a time). */
  async function sync(): Promise<void> {
    if (writing || !health.ok) return;
    writing = true;
    try {
      await integrateStored();
      resync = false;
    } finally {
      writing = false;
      if (queue.length > 0 || waiting.length > 0) {
        writing = true;
        setImmediate(() => void flush());
      }
    }
  }

  // Work that changes the tree, waiting for the write in flight: run between two batches by flush,
  // or at once when nothing is being written.
  let waiting: { fn: () => Promise<void>; done: (err?: unknown) => void }[] = [];
  async function runWaiting(): Promise<void> {
    const now = waiting;
    waiting = [];
    for (const w of now) await w.fn().then(() => w.done(), w.done);
  }
  function mutating(fn: () => Promise<void>): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      waiting.push({ fn, done: (err) => (err === undefined ? resolve() : reject(err)) });
      if (writing) return;
      writing = true;
      void runWaiting().finally(() => {
        writing = false;
        if (queue.length > 0 || waiting.length > 0) {
          writing = true;
          setImmediate(() => void flush());
        }
      });
    });
  }

  async function flush(): Promise<void> {
    writing = true;
    try {
      await runWaiting();
      while (queue.length > 0) {
        const batch = queue.slice(0, maxBatch);
        queue = queue.slice(batch.length);
        inFlight = batch.length;
        for (let attempt = 1; ; attempt++) {
          try {
            if (resync) {
              await integrateStored();
              resync = false;
            }
            if (!health.ok) throw new LogUnavailableError(`the access log is unavailable: ${health.reason}`);
            const first = tree.size;
            await store.appendEntries(
              name,
              first,
              batch.map((p) => p.row),
            );
            tree.appendLeafHashes(batch.map((p) => p.leafHash));
            const durable = performance.now();
            for (const [i, p] of batch.entries()) {
              appendSeconds.observe((durable - p.at) / 1000);
              p.resolve({ index: first + i });
            }
            appended += batch.length;
            batchSize.observe(batch.length);
            break;
          } catch (err) {
            // The write may or may not have landed: read back what the store holds before the next one.
            resync = true;
            // Another writer took those indexes and nothing of this batch was written: it goes after theirs.
            if (err instanceof EntryIndexTakenError && attempt < MAX_TAKEN_RETRIES) continue;
            const failure = err instanceof LogUnavailableError ? err : new LogUnavailableError(`the access log could not append: ${(err as Error).message}`);
            failed += batch.length;
            for (const p of batch) p.reject(failure);
            break;
          }
        }
        inFlight = 0;
        await runWaiting();
      }
    } finally {
      inFlight = 0;
      writing = false;
      // Asked for while the last batch was written.
      if (waiting.length > 0) void mutating(async () => {});
    }
  }

  /** Queues an encoded, checked record for the next durable write. */
  function enqueue(canonical: string): Promise<{ index: number }> {
    if (closed) {
      failed++;
      return Promise.reject(new LogUnavailableError('the access log is closed'));
    }
    // The commitment is made here, in the caller's turn, so it overlaps the write in flight.
    const salt = newSalt();
    const entry = commitCanonical(canonical, salt);
    // Payload {"r":…,"s":…}: canonical JSON too, built without serialising the record twice.
    const row = { entry: entry.toString('base64'), payload: `{"r":${canonical},"s":"${salt.toString('base64')}"}` };
    const leafHash = hashLeaf(entry);
    return new Promise((resolve, reject) => {
      queue.push({ row, leafHash, at: performance.now(), resolve, reject });
      if (!writing) {
        writing = true;
        setImmediate(() => void flush());
      }
    });
  }

  const log: AccessLog = {
    origin: signer.name,
    vkey: signer.vkey,
    events,
    append(record) {
      let canonical: string;
      try {
        assertAppendable(record);
        canonical = canonicalJson(record);
      } catch (err) {
        // A number canonical JSON cannot hold (not a safe integer) makes a malformed record too;
        // the encoder's message would show the value, so it is not passed on.
        const kind = recordKind(record);
        return Promise.reject(
          err instanceof TypeError ? new InvalidLogRecordError({ kind, message: `${kind ?? 'the record'}: holds a number that is not a safe integer` }) : err,
        );
      }
      return enqueue(canonical);
    },
    appendCanonical(record, canonical) {
      try {
        assertAppendable(record);
      } catch (err) {
        return Promise.reject(err);
      }
      return enqueue(canonical);
    },
    size: () => tree.size,
    checkpoint() {
      if (!latest) throw new LogUnavailableError(`the access log has no checkpoint: ${health.ok ? 'not yet signed' : health.reason}`);
      return { size: latest.size, note: latest.note, root: latest.root };
    },
    publish,
    catchUp() {
      if (!health.ok) return Promise.resolve();
      // One queued catch-up serves every caller that asks before it starts (a flood of checkpoint or
      // tile requests costs one read of the store per write in flight, not one each); one that has
      // started may have read before what a caller saw elsewhere, so later callers queue another.
      if (queuedCatchUp) return queuedCatchUp;
      let started = false;
      const run = mutating(async () => {
        started = true;
        queuedCatchUp = undefined;
        await adoptStored();
      });
      // It may have started at once (nothing being written).
      if (!started) queuedCatchUp = run;
      void run.catch(() => undefined);
      return run;
    },
    health: () => health,
    stats: () => ({
      entries: tree.size,
      queued: queue.length + inFlight,
      appended,
      failed,
      appendSeconds,
      batchSize,
      checkpointSize: latest?.size ?? -1,
      checkpointAt,
      checkpointsSigned,
      healthy: health.ok,
    }),
    tile(level, index, width) {
      try {
        return tileContent(tree, level, index, width);
      } catch {
        return undefined;
      }
    },
    async entryBundle(index, width) {
      const start = index * TILE_WIDTH;
      if (width < 1 || width > TILE_WIDTH || start + width > tree.size) return undefined;
      const rows = await store.readEntries(name, start - 1, width);
      // Served as stored: a tampered row shows up as an entry that does not match the tiles.
      return encodeEntryBundle(rows.filter((r) => r.index < start + width).map((r) => Buffer.from(r.entry, 'base64')));
    },
    inclusionProof: (index, size = latest?.size ?? tree.size) => tree.inclusionProof(index, size),
    consistencyProof: (size1, size2) => tree.consistencyProof(size1, size2),
    async record(index) {
      const row = (await log.records(index - 1, 1))[0];
      return row && row.index === index ? row : undefined;
    },
    async records(after, limit) {
      const rows = await store.readEntries(name, after, limit, { payload: true });
      return rows.map((row) => {
        const p = JSON.parse(row.payload!) as Payload;
        return { index: row.index, record: p.r, salt: p.s, entry: row.entry };
      });
    },
    async close() {
      closed = true;
      clearInterval(timer);
      while (writing || queue.length > 0) await new Promise((r) => setTimeout(r, 5));
      await publish().catch(() => undefined);
    },
  };
  return log;
}
