// C2SP signed notes (c2sp.org/signed-note), their keys (vkey / skey strings) and Ed25519 witness
// cosignatures (c2sp.org/tlog-cosignature, cosignature/v1): the envelope of the access log's checkpoints.
import { createHash, createPrivateKey, createPublicKey, randomBytes, sign as ed25519Sign, verify as ed25519Verify, type KeyObject } from 'node:crypto';
import { CordonError } from '../shared/errors.js';

/** Note signature type of plain Ed25519 signatures over the note text (c2sp.org/signed-note). */
export const SIG_TYPE_ED25519 = 0x01;
/** Note signature type of timestamped Ed25519 witness cosignatures (c2sp.org/tlog-cosignature). */
export const SIG_TYPE_COSIGNATURE_V1 = 0x04;
/** The spec asks verifiers to accept at least 16; golang.org/x/mod/sumdb/note rejects more than 100. */
export const MAX_SIGNATURES = 100;
/** Bound on a whole note, so a hostile note cannot make us decode megabytes (100 PQ signatures fit). */
export const MAX_NOTE_BYTES = 1_000_000;

const ED25519_KEY_SIZE = 32;
const ED25519_SIG_SIZE = 64;
const COSIGNATURE_SIG_SIZE = 8 + ED25519_SIG_SIZE;
const MAX_COSIGNATURE_TIME = 2n ** 63n - 1n;
const SIG_LINE_PREFIX = '\u2014 ';
const SKEY_PREFIX = 'PRIVATE+KEY+';
// DER framing of a raw Ed25519 key (RFC 8410), so node:crypto can take the 32 raw bytes.
const PKCS8_ED25519_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
const SPKI_ED25519_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

export type NoteErrorCode =
  | 'log.bad_note'
  | 'log.bad_key'
  | 'log.bad_signature'
  | 'log.untrusted_note'
  | 'log.bad_checkpoint'
  | 'log.bad_proof'
  | 'log.missing_cosignatures';

/** An expected failure of parsing or verifying notes, keys, checkpoints and proofs. */
export class NoteError extends CordonError {
  declare readonly code: NoteErrorCode;
  /** Evidence: the keys that were missing or failed, one `name+keyid` per entry. */
  readonly details: readonly string[];
  constructor(code: NoteErrorCode, message: string, details: readonly string[] = []) {
    super(code, message);
    this.name = 'NoteError';
    this.details = details;
  }
}

export interface NoteVerifier {
  readonly name: string;
  readonly keyId: Buffer;
  readonly type: number;
  readonly publicKey: Buffer;
  /** The verifier key string `name+keyid+base64(type||publicKey)`. */
  readonly vkey: string;
  /** Checks `sig` (the signature bytes after the 4-byte key ID) over the note text `msg`. Never throws. */
  verify(msg: string | Buffer, sig: Buffer): boolean;
}

export interface NoteSigner {
  readonly name: string;
  readonly keyId: Buffer;
  readonly type: number;
  readonly publicKey: Buffer;
  readonly vkey: string;
  /** Raw Ed25519 signature of `msg`. Callers MUST go through signNote() or cosign(), which frame the message. */
  sign(msg: string | Buffer): Buffer;
  /** Redacted: a signer never serialises its private key. */
  toJSON(): { name: string; vkey: string };
}

export interface NoteSignature {
  readonly name: string;
  readonly keyId: Buffer;
  /** The signature bytes after the key ID. */
  readonly sig: Buffer;
}

export interface Note {
  /** The signed text, ending in a newline, without the separating blank line. */
  readonly text: string;
  readonly signatures: readonly NoteSignature[];
}

export interface VerifiedSignature extends NoteSignature {
  readonly type: number;
  /** For cosignature/v1 signatures: the POSIX time the witness claims to have signed at. */
  readonly time?: number;
}

export interface VerifiedNote {
  readonly text: string;
  readonly verified: readonly VerifiedSignature[];
  readonly unverified: readonly NoteSignature[];
}

export interface KeyPairStrings {
  /** The private key string; keep it secret. */
  readonly skey: string;
  readonly vkey: string;
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Standard base64 (RFC 4648 §4) with padding, canonical only; undefined for anything else. */
export function decodeBase64Strict(s: string): Buffer | undefined {
  if (!/^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/.test(s)) return undefined;
  const bytes = Buffer.from(s, 'base64');
  // Non-zero padding bits would give a second spelling of the same bytes.
  return bytes.toString('base64') === s ? bytes : undefined;
}

function keyNameProblem(name: string): string | undefined {
  if (name.length === 0) return 'is empty';
  if (name.includes('+')) return 'contains "+"';
  if (/\p{White_Space}/u.test(name)) return 'contains a space';
  // biome-ignore lint/suspicious/noControlCharactersInRegex: a key name may hold no control character; this finds one
  if (/[\u0000-\u001f]/.test(name)) return 'contains a control character';
  if (/\p{Cs}/u.test(name)) return 'is not valid UTF-8';
  return undefined;
}

/** Key names MUST be non-empty and MUST NOT contain Unicode spaces or "+". */
export function isValidKeyName(name: string): boolean {
  return keyNameProblem(name) === undefined;
}

/** The recommended key ID: SHA-256(name || 0x0A || type || publicKey)[:4]. */
export function keyId(name: string, type: number, publicKey: Buffer): Buffer {
  return createHash('sha256')
    .update(Buffer.from(name, 'utf8'))
    .update(Buffer.from([0x0a, type]))
    .update(publicKey)
    .digest()
    .subarray(0, 4);
}

/** `name+keyid`, how notes, errors and results name a key. */
export function keyLabel(name: string, id: Buffer): string {
  return `${name}+${id.toString('hex')}`;
}

function typeName(type: number): string {
  return `0x${type.toString(16).padStart(2, '0')}`;
}

function ed25519PublicKeyObject(raw: Buffer): KeyObject {
  return createPublicKey({ key: Buffer.concat([SPKI_ED25519_PREFIX, raw]), format: 'der', type: 'spki' });
}

function cosignatureMessage(time: bigint | number, text: string | Buffer): Buffer {
  return Buffer.concat([Buffer.from(`cosignature/v1\ntime ${time}\n`, 'utf8'), Buffer.from(text)]);
}

function createVerifier(name: string, type: number, publicKey: Buffer, vkey: string): NoteVerifier {
  let key: KeyObject;
  try {
    key = ed25519PublicKeyObject(publicKey);
  } catch {
    throw new NoteError('log.bad_key', `vkey for ${name}: not a valid Ed25519 public key`);
  }
  const verifyEd25519 = (msg: Buffer, sig: Buffer): boolean => {
    if (sig.length !== ED25519_SIG_SIZE) return false;
    try {
      return ed25519Verify(null, msg, key, sig);
    } catch {
      return false;
    }
  };
  return {
    name,
    keyId: keyId(name, type, publicKey),
    type,
    publicKey: Buffer.from(publicKey),
    vkey,
    verify(msg, sig) {
      if (type === SIG_TYPE_ED25519) return verifyEd25519(Buffer.from(msg), sig);
      if (sig.length !== COSIGNATURE_SIG_SIZE) return false;
      const time = sig.readBigUInt64BE(0);
      if (time > MAX_COSIGNATURE_TIME) return false;
      return verifyEd25519(cosignatureMessage(time, msg), sig.subarray(8));
    },
  };
}

function formatVerifierKey(name: string, type: number, publicKey: Buffer): string {
  const id = keyId(name, type, publicKey);
  return `${name}+${id.toString('hex')}+${Buffer.concat([Buffer.from([type]), publicKey]).toString('base64')}`;
}

// Name, hex key ID and base64 key material; split on the first two "+" only, base64 may contain "+".
function splitKey(what: string, s: string): [string, string, Buffer] {
  const a = s.indexOf('+');
  const b = a < 0 ? -1 : s.indexOf('+', a + 1);
  if (a < 0 || b < 0) throw new NoteError('log.bad_key', `${what}: expected name+keyid+base64key`);
  const name = s.slice(0, a);
  const hex = s.slice(a + 1, b);
  const problem = keyNameProblem(name);
  if (problem) throw new NoteError('log.bad_key', `${what}: key name ${problem}`);
  if (!/^[0-9a-f]{8}$/.test(hex)) throw new NoteError('log.bad_key', `${what} ${name}: key ID must be 8 lowercase hex digits`);
  const material = decodeBase64Strict(s.slice(b + 1));
  if (!material || material.length === 0) throw new NoteError('log.bad_key', `${what} ${name}: key is not standard base64`);
  return [name, hex, material];
}

function checkKeyType(what: string, name: string, type: number): void {
  if (type !== SIG_TYPE_ED25519 && type !== SIG_TYPE_COSIGNATURE_V1) {
    throw new NoteError('log.bad_key', `${what} ${name}: unsupported key type ${typeName(type)} (supported: 0x01 Ed25519, 0x04 cosignature/v1)`);
  }
}

/**
 * Parses a verifier key `name+keyid+base64(type||publicKey)`: type 0x01 (Ed25519 note signatures)
 * or 0x04 (Ed25519 cosignature/v1). The key ID MUST equal the recommended SHA-256 key ID.
 */
export function parseVerifierKey(vkey: string): NoteVerifier {
  const [name, hex, material] = splitKey('vkey', vkey);
  const type = material[0]!;
  checkKeyType('vkey', name, type);
  const publicKey = material.subarray(1);
  if (publicKey.length !== ED25519_KEY_SIZE) {
    throw new NoteError('log.bad_key', `vkey ${name}: Ed25519 public key has ${publicKey.length} bytes, want 32`);
  }
  const want = keyId(name, type, publicKey).toString('hex');
  if (hex !== want) throw new NoteError('log.bad_key', `vkey ${name}: key ID ${hex} does not match the key (want ${want})`);
  return createVerifier(name, type, publicKey, vkey);
}

/**
 * A signer from a 32-byte Ed25519 seed. Type 0x01 signs notes (signNote), type 0x04 cosigns
 * checkpoints (cosign). The two types MUST NOT share a seed: cosignature/v1 messages do not
 * commit to the key name.
 */
export function createSigner(name: string, seed: Buffer, type: number = SIG_TYPE_ED25519): NoteSigner {
  const problem = keyNameProblem(name);
  if (problem) throw new NoteError('log.bad_key', `signer key name ${problem}`);
  checkKeyType('signer', name, type);
  if (seed.length !== ED25519_KEY_SIZE) throw new NoteError('log.bad_key', `signer ${name}: Ed25519 seed must be 32 bytes`);
  const privateKey = createPrivateKey({ key: Buffer.concat([PKCS8_ED25519_PREFIX, seed]), format: 'der', type: 'pkcs8' });
  const spki = createPublicKey(privateKey).export({ format: 'der', type: 'spki' });
  const publicKey = Buffer.from(spki.subarray(SPKI_ED25519_PREFIX.length));
  const vkey = formatVerifierKey(name, type, publicKey);
  return {
    name,
    keyId: keyId(name, type, publicKey),
    type,
    publicKey,
    vkey,
    sign: (msg) => ed25519Sign(null, Buffer.from(msg), privateKey),
    toJSON: () => ({ name, vkey }),
  };
}

function formatSignerKey(name: string, type: number, seed: Buffer): string {
  const signer = createSigner(name, seed, type);
  return `${SKEY_PREFIX}${name}+${signer.keyId.toString('hex')}+${Buffer.concat([Buffer.from([type]), seed]).toString('base64')}`;
}

/**
 * Parses a private key `PRIVATE+KEY+name+keyid+base64(type||seed32)` (the golang.org/x/mod/sumdb/note
 * encoding; C2SP does not define one). Type 0x01 is a note signer. For witness keys cordon uses the
 * same encoding with type byte 0x04 and the key ID computed with 0x04. Error messages never echo the key.
 */
export function parseSignerKey(skey: string): NoteSigner {
  if (!skey.startsWith(SKEY_PREFIX)) throw new NoteError('log.bad_key', 'skey: must start with PRIVATE+KEY+');
  const [name, hex, material] = splitKey('skey', skey.slice(SKEY_PREFIX.length));
  const type = material[0]!;
  checkKeyType('skey', name, type);
  const seed = material.subarray(1);
  if (seed.length !== ED25519_KEY_SIZE) throw new NoteError('log.bad_key', `skey ${name}: Ed25519 seed must be 32 bytes`);
  const signer = createSigner(name, seed, type);
  if (signer.keyId.toString('hex') !== hex) throw new NoteError('log.bad_key', `skey ${name}: key ID ${hex} does not match the key`);
  return signer;
}

/** Parses a witness private key (type 0x04); rejects note-signing keys. */
export function parseWitnessKey(skey: string): NoteSigner {
  const signer = parseSignerKey(skey);
  if (signer.type !== SIG_TYPE_COSIGNATURE_V1) {
    throw new NoteError('log.bad_key', `skey ${signer.name}: a witness key must have type 0x04, not ${typeName(signer.type)}`);
  }
  return signer;
}

/** A fresh Ed25519 note-signing key pair (type 0x01) as skey / vkey strings. */
export function generateSignerKey(name: string): KeyPairStrings {
  const seed = randomBytes(ED25519_KEY_SIZE);
  return { skey: formatSignerKey(name, SIG_TYPE_ED25519, seed), vkey: createSigner(name, seed).vkey };
}

/** A fresh Ed25519 witness key pair (type 0x04, cosignature/v1) as skey / vkey strings. */
export function generateWitnessKey(name: string): KeyPairStrings {
  const seed = randomBytes(ED25519_KEY_SIZE);
  return {
    skey: formatSignerKey(name, SIG_TYPE_COSIGNATURE_V1, seed),
    vkey: createSigner(name, seed, SIG_TYPE_COSIGNATURE_V1).vkey,
  };
}

function malformed(why: string): NoteError {
  return new NoteError('log.bad_note', `malformed note: ${why}`);
}

function checkNoteChars(s: string, what: string): void {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: signed-note text may hold no control character but newline; this finds one
  const control = /[\u0000-\u0009\u000b-\u001f]/.exec(s);
  if (control) {
    const code = control[0].charCodeAt(0).toString(16).padStart(4, '0');
    throw malformed(`${what} contains control character U+${code.toUpperCase()}`);
  }
}

function toNoteString(input: string | Buffer, what: string): string {
  if (typeof input === 'string') {
    if (/\p{Cs}/u.test(input)) throw malformed(`${what} is not valid UTF-8`);
    if (Buffer.byteLength(input, 'utf8') > MAX_NOTE_BYTES) throw malformed(`${what} is longer than ${MAX_NOTE_BYTES} bytes`);
    return input;
  }
  if (input.length > MAX_NOTE_BYTES) throw malformed(`${what} is longer than ${MAX_NOTE_BYTES} bytes`);
  try {
    return utf8.decode(input);
  } catch {
    throw malformed(`${what} is not valid UTF-8`);
  }
}

function parseSignatureLine(line: string): NoteSignature {
  if (!line.startsWith(SIG_LINE_PREFIX)) throw malformed(`signature line does not start with "\u2014 ": ${JSON.stringify(line.slice(0, 40))}`);
  const rest = line.slice(SIG_LINE_PREFIX.length);
  const space = rest.indexOf(' ');
  if (space < 0) throw malformed('signature line has no space between key name and signature');
  const name = rest.slice(0, space);
  const problem = keyNameProblem(name);
  if (problem) throw malformed(`signature key name ${problem}`);
  const bytes = decodeBase64Strict(rest.slice(space + 1));
  if (!bytes) throw malformed(`signature by ${name} is not standard base64`);
  if (bytes.length < 5) throw malformed(`signature by ${name} is shorter than a key ID and one byte`);
  return { name, keyId: Buffer.from(bytes.subarray(0, 4)), sig: Buffer.from(bytes.subarray(4)) };
}

/** The signature line `— name base64(keyId||sig)\n` of a signature. */
export function formatSignatureLine(s: NoteSignature): string {
  return `${SIG_LINE_PREFIX}${s.name} ${Buffer.concat([s.keyId, s.sig]).toString('base64')}\n`;
}

/**
 * Parses a signed note strictly: valid UTF-8, no control characters but newline, the text ends in a
 * newline and is separated by the last blank line from 1..MAX_SIGNATURES signature lines, each
 * ending in a newline. Parsing verifies nothing: the text MUST NOT be used before verifyNote().
 */
export function parseNote(input: string | Buffer): Note {
  const s = toNoteString(input, 'note');
  checkNoteChars(s, 'note');
  const split = s.lastIndexOf('\n\n');
  if (split < 0) throw malformed('no blank line between text and signatures');
  const text = s.slice(0, split + 1);
  const block = s.slice(split + 2);
  if (block === '') throw malformed('no signature lines');
  if (!block.endsWith('\n')) throw malformed('the last signature line does not end in a newline');
  const lines = block.slice(0, -1).split('\n');
  if (lines.length > MAX_SIGNATURES) throw malformed(`${lines.length} signatures, more than ${MAX_SIGNATURES}`);
  return { text, signatures: lines.map(parseSignatureLine) };
}

function indexVerifiers(verifiers: readonly NoteVerifier[]): Map<string, NoteVerifier> {
  const byLabel = new Map<string, NoteVerifier>();
  for (const v of verifiers) {
    const label = keyLabel(v.name, v.keyId);
    const seen = byLabel.get(label);
    if (seen && !(seen.type === v.type && seen.publicKey.equals(v.publicKey))) {
      throw new NoteError('log.bad_key', `two different verifier keys are both named ${label}`);
    }
    byLabel.set(label, v);
  }
  return byLabel;
}

/**
 * Verifies a note against known keys. Signatures by unknown keys (unknown name+ID pair, or a
 * signature type we do not support) are returned as unverified. Throws log.bad_signature if a
 * signature by a known key fails, log.untrusted_note if no known key signed. Each key is listed once.
 */
export function verifyNote(note: Note | string | Buffer, verifiers: readonly NoteVerifier[]): VerifiedNote {
  const parsed = typeof note === 'string' || Buffer.isBuffer(note) ? parseNote(note) : note;
  const known = indexVerifiers(verifiers);
  const verified: VerifiedSignature[] = [];
  const unverified: NoteSignature[] = [];
  const seen = new Set<string>();
  const text = Buffer.from(parsed.text, 'utf8');
  for (const s of parsed.signatures) {
    const label = keyLabel(s.name, s.keyId);
    const v = known.get(label);
    if (!v) {
      if (!seen.has(label)) unverified.push(s);
      seen.add(label);
      continue;
    }
    if (!v.verify(text, s.sig)) throw new NoteError('log.bad_signature', `invalid signature for key ${label}`, [label]);
    if (seen.has(label)) continue;
    seen.add(label);
    verified.push(v.type === SIG_TYPE_COSIGNATURE_V1 ? { ...s, type: v.type, time: cosignatureTime(s.sig) } : { ...s, type: v.type });
  }
  if (verified.length === 0) {
    const by = unverified.map((s) => keyLabel(s.name, s.keyId));
    throw new NoteError('log.untrusted_note', `note has no verifiable signatures (signed by ${by.join(', ')})`, by);
  }
  return { text: parsed.text, verified, unverified };
}

function checkText(text: string): void {
  toNoteString(text, 'note text');
  if (!text.endsWith('\n')) throw malformed('note text must end in a newline');
  checkNoteChars(text, 'note text');
}

/**
 * Signs `text` (which MUST end in a newline) with type-0x01 signers, in order. Ed25519 is
 * deterministic, so the same text and keys give the same bytes.
 */
export function signNote(text: string, signers: readonly NoteSigner[]): string {
  checkText(text);
  if (signers.length === 0) throw new NoteError('log.bad_key', 'signNote needs at least one signer');
  if (signers.length > MAX_SIGNATURES) throw malformed(`more than ${MAX_SIGNATURES} signatures`);
  const lines = signers.map((signer) => {
    if (signer.type !== SIG_TYPE_ED25519) {
      throw new NoteError('log.bad_key', `signer ${signer.name} has type ${typeName(signer.type)}; cosignature keys sign with cosign()`);
    }
    return formatSignatureLine({ name: signer.name, keyId: signer.keyId, sig: signer.sign(text) });
  });
  const note = `${text}\n${lines.join('')}`;
  toNoteString(note, 'note');
  return note;
}

/**
 * Appends signature lines (e.g. witness cosignatures) to a signed note, keeping its bytes.
 * A line identical to one already present is dropped; a different signature by a key that already
 * signed is rejected. Lines may omit the final newline. Verifies nothing.
 */
export function addSignatures(noteText: string, extraSigLines: readonly string[]): string {
  const note = parseNote(noteText);
  const present = new Map(note.signatures.map((s) => [keyLabel(s.name, s.keyId), formatSignatureLine(s)]));
  let out = noteText;
  for (const raw of extraSigLines) {
    const body = raw.endsWith('\n') ? raw.slice(0, -1) : raw;
    if (body.includes('\n')) throw malformed('a signature line contains a newline');
    checkNoteChars(body, 'signature line');
    const s = parseSignatureLine(body);
    const line = formatSignatureLine(s);
    const label = keyLabel(s.name, s.keyId);
    const existing = present.get(label);
    if (existing === line) continue;
    if (existing !== undefined) throw malformed(`note already has a different signature by ${label}`);
    present.set(label, line);
    out += line;
  }
  parseNote(out);
  return out;
}

/**
 * The cosignature/v1 line a witness adds to a checkpoint: Ed25519 over
 * "cosignature/v1\ntime <t>\n" || checkpointText, encoded as keyId || uint64be(t) || sig.
 * `checkpointText` is the note text (body), not the signed note.
 */
export function cosign(checkpointText: string, witness: NoteSigner, timestampSeconds: number): string {
  checkText(checkpointText);
  if (witness.type !== SIG_TYPE_COSIGNATURE_V1) {
    throw new NoteError('log.bad_key', `signer ${witness.name} has type ${typeName(witness.type)}; cosignatures need a 0x04 key`);
  }
  if (!Number.isSafeInteger(timestampSeconds) || timestampSeconds < 0) {
    throw new RangeError(`cosignature timestamp must be a non-negative integer of seconds, got ${timestampSeconds}`);
  }
  const time = Buffer.alloc(8);
  time.writeBigUInt64BE(BigInt(timestampSeconds));
  const sig = witness.sign(cosignatureMessage(timestampSeconds, checkpointText));
  return formatSignatureLine({ name: witness.name, keyId: witness.keyId, sig: Buffer.concat([time, sig]) });
}

/** The timestamp of a cosignature/v1 signature (`sig` without the key ID). Does not verify it. */
export function cosignatureTime(sig: Buffer): number {
  if (sig.length !== COSIGNATURE_SIG_SIZE) {
    throw new NoteError('log.bad_signature', `not a cosignature/v1 signature: ${sig.length} bytes, want ${COSIGNATURE_SIG_SIZE}`);
  }
  const time = sig.readBigUInt64BE(0);
  if (time > BigInt(Number.MAX_SAFE_INTEGER)) throw new NoteError('log.bad_signature', `cosignature timestamp ${time} is out of range`);
  return Number(time);
}
