// C2SP checkpoints (c2sp.org/tlog-checkpoint): the signed tree heads of the access log, opened with
// the log key and a quorum of witness cosignatures; and offline proofs of inclusion (c2sp.org/tlog-proof).
import {
  NoteError,
  SIG_TYPE_COSIGNATURE_V1,
  decodeBase64Strict,
  keyLabel,
  parseNote,
  parseVerifierKey,
  signNote,
  verifyNote,
  type Note,
  type NoteSigner,
  type NoteVerifier,
} from './note.js';

export const HASH_SIZE = 32;
/** First line of a tlog-proof. */
export const TLOG_PROOF_HEADER = 'c2sp.org/tlog-proof@v1';

export interface Checkpoint {
  readonly origin: string;
  /** Number of leaves in the tree. */
  readonly size: number;
  /** RFC 6962 Merkle tree hash at `size` (32 bytes). */
  readonly root: Buffer;
  /** Opaque extension lines (NOT RECOMMENDED by the spec; not auditable by monitors). */
  readonly extensions: readonly string[];
}

export interface CheckpointInput {
  readonly origin: string;
  readonly size: number;
  readonly root: Buffer;
  readonly extensions?: readonly string[];
}

export interface OpenCheckpointOptions {
  /** Witness verifier keys (vkey strings or parsed), type 0x04 (cosignature/v1). */
  readonly witnesses?: readonly (string | NoteVerifier)[];
  /** How many distinct witnesses MUST have cosigned. Default 0. */
  readonly minCosignatures?: number;
  /** The origin line the checkpoint MUST carry. Default: the log key's name. */
  readonly origin?: string;
}

export interface Cosignature {
  readonly name: string;
  readonly keyId: Buffer;
  /** POSIX seconds the witness claims to have cosigned at. */
  readonly time: number;
}

export interface OpenedCheckpoint {
  readonly checkpoint: Checkpoint;
  /** The verified note text (the checkpoint body). */
  readonly text: string;
  /** Valid cosignatures by the configured witnesses, in note order, one per witness. */
  readonly cosignatures: readonly Cosignature[];
}

export interface TlogProofInput {
  readonly index: number;
  /** Inclusion proof, from the leaf's sibling up to the root's child (RFC 6962 §2.1.1). */
  readonly proof: readonly Buffer[];
  /** The signed checkpoint note, verbatim (with any cosignatures). */
  readonly checkpointNote: string;
  /** Opaque, unauthenticated extra data; callers MUST NOT trust it. */
  readonly extra?: Buffer;
}

export interface TlogProof extends TlogProofInput {
  /** The checkpoint body, parsed but NOT verified: use openTlogProof() to check signatures. */
  readonly checkpoint: Checkpoint;
}

export interface OpenedTlogProof extends OpenedCheckpoint {
  readonly index: number;
  readonly proof: readonly Buffer[];
  readonly extra?: Buffer;
}

function bad(message: string): NoteError {
  return new NoteError('log.bad_checkpoint', `malformed checkpoint: ${message}`);
}

function checkLine(line: string, what: string): void {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: a checkpoint line may hold no control character; this finds one
  if (/[\u0000-\u001f]/.test(line)) throw bad(`${what} contains a newline or control character`);
  if (/\p{Cs}/u.test(line)) throw bad(`${what} is not valid UTF-8`);
}

/** Parses a non-negative decimal with no leading zeroes ("0" itself allowed) up to 2^53-1. */
function parseCanonicalUint(s: string): number | undefined {
  if (!/^(?:0|[1-9][0-9]*)$/.test(s)) return undefined;
  const n = Number(s);
  return Number.isSafeInteger(n) ? n : undefined;
}

/** The checkpoint note text: origin, size, base64 root and extension lines, each ending in a newline. */
export function formatCheckpoint(cp: CheckpointInput): string {
  if (cp.origin === '') throw bad('origin is empty');
  checkLine(cp.origin, 'origin');
  if (!Number.isSafeInteger(cp.size) || cp.size < 0) throw bad(`size ${cp.size} is not a non-negative integer`);
  if (cp.root.length !== HASH_SIZE) throw bad(`root hash has ${cp.root.length} bytes, want ${HASH_SIZE}`);
  const extensions = cp.extensions ?? [];
  for (const [i, line] of extensions.entries()) {
    if (line === '') throw bad(`extension line ${i + 1} is empty`);
    checkLine(line, `extension line ${i + 1}`);
  }
  return [cp.origin, String(cp.size), cp.root.toString('base64'), ...extensions].map((l) => `${l}\n`).join('');
}

/** Parses a checkpoint note text strictly (the body of the note, not the signed note). */
export function parseCheckpoint(text: string): Checkpoint {
  if (!text.endsWith('\n')) throw bad('text does not end in a newline');
  const lines = text.slice(0, -1).split('\n');
  const [origin, sizeLine, rootLine, ...extensions] = lines;
  if (origin === undefined || sizeLine === undefined || rootLine === undefined) {
    throw bad(`${lines.length} lines, want at least 3 (origin, size, root hash)`);
  }
  if (origin === '') throw bad('origin line is empty');
  checkLine(origin, 'origin');
  const size = parseCanonicalUint(sizeLine);
  if (size === undefined) {
    throw bad(`tree size ${JSON.stringify(sizeLine)} is not a decimal without leading zeroes up to 2^53-1`);
  }
  const root = decodeBase64Strict(rootLine);
  if (!root) throw bad(`root hash ${JSON.stringify(rootLine)} is not standard base64`);
  if (root.length !== HASH_SIZE) throw bad(`root hash has ${root.length} bytes, want ${HASH_SIZE}`);
  for (const [i, line] of extensions.entries()) {
    if (line === '') throw bad(`extension line ${i + 1} is empty`);
    checkLine(line, `extension line ${i + 1}`);
  }
  return { origin, size, root, extensions };
}

/** The signed checkpoint note (log signature only; witnesses add theirs with addSignatures()). */
export function signCheckpoint(cp: CheckpointInput, signer: NoteSigner): string {
  return signNote(formatCheckpoint(cp), [signer]);
}

function toVerifier(k: string | NoteVerifier): NoteVerifier {
  return typeof k === 'string' ? parseVerifierKey(k) : k;
}

function openParsed(note: Note, logKey: string | NoteVerifier, options: OpenCheckpointOptions): OpenedCheckpoint {
  const log = toVerifier(logKey);
  const witnesses = (options.witnesses ?? []).map(toVerifier);
  for (const w of witnesses) {
    if (w.type !== SIG_TYPE_COSIGNATURE_V1) {
      throw new NoteError('log.bad_key', `witness key ${keyLabel(w.name, w.keyId)} is not a cosignature/v1 (0x04) key`);
    }
  }
  const min = options.minCosignatures ?? 0;
  if (!Number.isSafeInteger(min) || min < 0 || min > witnesses.length) {
    throw new RangeError(`minCosignatures must be an integer from 0 to the ${witnesses.length} witnesses given, got ${min}`);
  }
  const logLabel = keyLabel(log.name, log.keyId);
  if (witnesses.some((w) => keyLabel(w.name, w.keyId) === logLabel)) throw new RangeError(`the log key ${logLabel} is also given as a witness`);
  if (!note.signatures.some((s) => keyLabel(s.name, s.keyId) === logLabel)) {
    throw new NoteError('log.untrusted_note', `checkpoint has no signature by the log key ${logLabel}`, [logLabel]);
  }
  // Any failing signature by the log or a configured witness rejects the whole note (signed-note: SHOULD).
  const verified = verifyNote(note, [log, ...witnesses]);
  const checkpoint = parseCheckpoint(note.text);
  const origin = options.origin ?? log.name;
  if (checkpoint.origin !== origin) {
    throw new NoteError('log.bad_checkpoint', `checkpoint origin ${JSON.stringify(checkpoint.origin)} is not the expected ${JSON.stringify(origin)}`);
  }
  const cosignatures: Cosignature[] = [];
  for (const s of verified.verified) {
    // Every verified signature but the log's is by a witness, and witnesses are 0x04 keys, so it has a time.
    if (keyLabel(s.name, s.keyId) !== logLabel && s.time !== undefined) cosignatures.push({ name: s.name, keyId: s.keyId, time: s.time });
  }
  if (cosignatures.length < min) {
    const have = new Set(cosignatures.map((c) => keyLabel(c.name, c.keyId)));
    const missing = witnesses.map((w) => keyLabel(w.name, w.keyId)).filter((l) => !have.has(l));
    throw new NoteError(
      'log.missing_cosignatures',
      `checkpoint has ${cosignatures.length} of the ${min} witness cosignatures required; missing: ${missing.join(', ')}`,
      missing,
    );
  }
  return { checkpoint, text: note.text, cosignatures };
}

/**
 * Opens a signed checkpoint: the log signature MUST verify, the origin MUST match, and at least
 * `minCosignatures` of the given witnesses MUST have cosigned. Signatures by other keys are ignored.
 */
export function openCheckpoint(noteText: string | Buffer, logKey: string | NoteVerifier, options: OpenCheckpointOptions = {}): OpenedCheckpoint {
  return openParsed(parseNote(noteText), logKey, options);
}

/** Number of hashes in an RFC 6962 inclusion proof for leaf `index` of a tree of `size` leaves. */
export function inclusionProofLength(index: number, size: number): number {
  if (!(index >= 0 && index < size)) throw new RangeError(`leaf index ${index} is outside a tree of size ${size}`);
  let diff = BigInt(index) ^ BigInt(size - 1);
  let inner = 0;
  for (; diff > 0n; diff >>= 1n) inner += 1;
  let border = 0;
  for (let rest = BigInt(index) >> BigInt(inner); rest > 0n; rest >>= 1n) border += Number(rest & 1n);
  return inner + border;
}

function badProof(message: string): NoteError {
  return new NoteError('log.bad_proof', `malformed tlog-proof: ${message}`);
}

// The note is checked here so that a proof that parses is well-formed all the way down.
function checkProofParts(index: number, proof: readonly Buffer[], checkpointNote: string | Buffer): { note: Note; checkpoint: Checkpoint } {
  let note: Note;
  let checkpoint: Checkpoint;
  try {
    note = parseNote(checkpointNote);
    checkpoint = parseCheckpoint(note.text);
  } catch (err) {
    if (err instanceof NoteError) throw badProof(`checkpoint: ${err.message}`);
    throw err;
  }
  if (index >= checkpoint.size) throw badProof(`index ${index} is not below the checkpoint size ${checkpoint.size}`);
  const want = inclusionProofLength(index, checkpoint.size);
  if (proof.length !== want) {
    throw badProof(`${proof.length} proof hashes, but leaf ${index} of a tree of ${checkpoint.size} needs ${want}`);
  }
  return { note, checkpoint };
}

/**
 * Formats a c2sp.org/tlog-proof@v1 (format from C2SP/C2SP tlog-proof.md): the header line, an
 * optional `extra <base64>` line, `index <N>`, one base64 hash per line, an empty line, then the
 * checkpoint note verbatim. The proof length MUST fit the index and the checkpoint size.
 */
export function formatTlogProof(p: TlogProofInput): string {
  if (!Number.isSafeInteger(p.index) || p.index < 0) throw badProof(`index ${p.index} is not a non-negative integer`);
  for (const [i, h] of p.proof.entries()) {
    if (h.length !== HASH_SIZE) throw badProof(`proof hash ${i} has ${h.length} bytes, want ${HASH_SIZE}`);
  }
  if (p.extra !== undefined && p.extra.length === 0) throw badProof('extra data is empty; omit it instead');
  checkProofParts(p.index, p.proof, p.checkpointNote);
  const lines = [TLOG_PROOF_HEADER];
  if (p.extra !== undefined) lines.push(`extra ${p.extra.toString('base64')}`);
  lines.push(`index ${p.index}`, ...p.proof.map((h) => h.toString('base64')), '');
  return `${lines.join('\n')}\n${p.checkpointNote}`;
}

/** Parses a c2sp.org/tlog-proof@v1 strictly. Verifies no signature and no hash. */
export function parseTlogProof(text: string | Buffer): TlogProof {
  let s: string;
  if (typeof text === 'string') {
    s = text;
  } else {
    try {
      s = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(text);
    } catch {
      throw badProof('not valid UTF-8');
    }
  }
  let pos = 0;
  const nextLine = (what: string): string => {
    const end = s.indexOf('\n', pos);
    if (end < 0) throw badProof(`missing ${what}`);
    const line = s.slice(pos, end);
    pos = end + 1;
    return line;
  };
  const header = nextLine('header line');
  if (header !== TLOG_PROOF_HEADER) throw badProof(`first line is ${JSON.stringify(header.slice(0, 40))}, want ${TLOG_PROOF_HEADER}`);
  let line = nextLine('index line');
  let extra: Buffer | undefined;
  if (line.startsWith('extra')) {
    const data = line.startsWith('extra ') ? decodeBase64Strict(line.slice('extra '.length)) : undefined;
    if (!data || data.length === 0) throw badProof('extra line is not "extra" followed by a space and non-empty standard base64');
    extra = data;
    line = nextLine('index line');
  }
  const indexMatch = /^index (0|[1-9][0-9]*)$/.exec(line);
  const index = indexMatch ? parseCanonicalUint(indexMatch[1]!) : undefined;
  if (index === undefined) {
    throw badProof(`${JSON.stringify(line.slice(0, 40))} is not "index" and a decimal without leading zeroes up to 2^53-1`);
  }
  const proof: Buffer[] = [];
  for (;;) {
    line = nextLine('empty line before the checkpoint');
    if (line === '') break;
    const hash = decodeBase64Strict(line);
    if (!hash || hash.length !== HASH_SIZE) throw badProof(`proof line ${proof.length + 1} is not a base64 SHA-256 hash`);
    proof.push(hash);
  }
  const checkpointNote = s.slice(pos);
  const { checkpoint } = checkProofParts(index, proof, checkpointNote);
  return extra === undefined ? { index, proof, checkpointNote, checkpoint } : { index, proof, extra, checkpointNote, checkpoint };
}

/**
 * Parses a tlog-proof and opens its checkpoint (log signature, origin, witness quorum). The caller
 * MUST still check the inclusion proof against the entry's leaf hash and the checkpoint root.
 */
export function openTlogProof(text: string | Buffer, logKey: string | NoteVerifier, options: OpenCheckpointOptions = {}): OpenedTlogProof {
  const p = parseTlogProof(text);
  const opened = openParsed(parseNote(p.checkpointNote), logKey, options);
  return p.extra === undefined ? { ...opened, index: p.index, proof: p.proof } : { ...opened, index: p.index, proof: p.proof, extra: p.extra };
}
