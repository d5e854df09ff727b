// The CPU-bound part of a migration batch, as plain functions over flat arrays so that worker
// threads can run them on slices of a batch (crypto-pool.ts) and the calling thread can run them
// unchanged: encrypting the protected fields of in-scope rows (run), and hashing both sides of each
// row after decrypting the enclave side (verify, and purge's re-check).
//
// Layout: a batch of n rows over the table's F mapped fields is row-major, `values[r * F + i]` is
// field i of row r; `isProtected[r * F + i]` is 1 when that field is protected for the row; data
// keys are 32 bytes each, `deks[r * 32 …]`, with `hasDek[r]` 0 when the row's subject has none.

import { canonicalJson } from '../log/index.js';
import { decryptField, encryptField, isCiphertext, type FieldValue } from '../store/index.js';
import { createRowHasher } from './row-hash.js';

export const DEK_BYTES = 32;

export interface TableShape {
  readonly dataset: string;
  /** The mapped fields, in the table's order (the key field first). */
  readonly fields: readonly string[];
  /** The subject field's index among `fields` (it stays clear in the enclave), or -1. */
  readonly subjectIndex: number;
}

export interface EncryptTask extends TableShape {
  readonly keys: readonly string[];
  readonly values: readonly FieldValue[];
  readonly isProtected: Uint8Array;
  readonly deks: Uint8Array;
}

/** The enclave part of each row, flat like `values`: protected fields encrypted (the subject field clear), others null. */
export function encryptRows(t: EncryptTask): FieldValue[] {
  const F = t.fields.length;
  const out: FieldValue[] = new Array(t.keys.length * F);
  const deks = Buffer.from(t.deks.buffer, t.deks.byteOffset, t.deks.byteLength);
  for (let r = 0; r < t.keys.length; r++) {
    const dek = deks.subarray(r * DEK_BYTES, (r + 1) * DEK_BYTES);
    const key = t.keys[r]!;
    for (let i = 0; i < F; i++) {
      const at = r * F + i;
      const v = t.values[at] ?? null;
      out[at] = t.isProtected[at] === 1 ? (i === t.subjectIndex ? v : encryptField(dek, t.dataset, key, t.fields[i]!, v)) : null;
    }
  }
  return out;
}

export interface CompareTask extends TableShape {
  /** HMAC key of the row hashes. */
  readonly hashKey: Uint8Array;
  readonly keys: readonly string[];
  readonly legacy: readonly FieldValue[];
  /** The stored enclave and global parts (flat; a missing part is all null), and whether the enclave part exists. */
  readonly enclave: readonly FieldValue[];
  readonly global: readonly FieldValue[];
  readonly hasEnclave: Uint8Array;
  readonly isProtected: Uint8Array;
  readonly deks: Uint8Array;
  readonly hasDek: Uint8Array;
}

export interface CompareResult {
  /** Row hash of the legacy side. */
  readonly legacy: string[];
  /** Row hash of the enclave side (decrypted), or null when the enclave has no copy. */
  readonly enclave: (string | null)[];
  /** What is wrong with the row (field names only, never values), or null when both sides agree. */
  readonly problem: (string | null)[];
}

/** Hashes each row's legacy values and its decrypted enclave copy, and says why they differ when they do. */
export function compareRows(t: CompareTask): CompareResult {
  const F = t.fields.length;
  const n = t.keys.length;
  const hash = createRowHasher(Buffer.from(t.hashKey), t.dataset, t.fields);
  const deks = Buffer.from(t.deks.buffer, t.deks.byteOffset, t.deks.byteLength);
  const out: CompareResult = { legacy: new Array(n), enclave: new Array(n), problem: new Array(n) };
  const legacyValues: FieldValue[] = new Array(F);
  const placed: FieldValue[] = new Array(F);
  for (let r = 0; r < n; r++) {
    const key = t.keys[r]!;
    for (let i = 0; i < F; i++) legacyValues[i] = t.legacy[r * F + i] ?? null;
    const legacy = hash(key, legacyValues);
    out.legacy[r] = legacy;
    if (t.hasEnclave[r] !== 1) {
      out.enclave[r] = null;
      out.problem[r] = 'missing from the enclave';
      continue;
    }
    const dek = t.hasDek[r] === 1 ? deks.subarray(r * DEK_BYTES, (r + 1) * DEK_BYTES) : undefined;
    let problem: string | null = null;
    for (let i = 0; i < F; i++) {
      const field = t.fields[i]!;
      const ev = t.enclave[r * F + i] ?? null;
      let v: FieldValue = ev;
      if (isCiphertext(ev)) {
        if (!dek) {
          problem = 'the data key is missing (shredded?)';
          v = null;
        } else {
          try {
            v = decryptField(dek, t.dataset, key, field, ev);
          } catch {
            problem = `${field} does not decrypt`;
            v = null;
          }
        }
      } else if (t.isProtected[r * F + i] === 1 && ev !== null && i !== t.subjectIndex) {
        problem = `${field} is stored in clear in the enclave`;
      }
      placed[i] = v !== null ? v : (t.global[r * F + i] ?? null);
    }
    const enclave = hash(key, placed);
    out.enclave[r] = enclave;
    if (enclave === legacy) out.problem[r] = null;
    else
      out.problem[r] =
        problem ?? `fields differ: ${t.fields.filter((_, i) => canonicalJson(placed[i] ?? null) !== canonicalJson(legacyValues[i] ?? null)).join(', ')}`;
  }
  return out;
}
