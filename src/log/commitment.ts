// What the public log holds for an access record: a salted commitment, never the record itself
// (PRODUCT.md §7 rule 5). The entry is SHA-256 over a domain tag, a random per-record salt and the
// record's canonical JSON; an auditor given the record and its salt recomputes the entry and checks
// it against the leaf, while anyone else learns nothing from it.

import { createHash } from 'node:crypto';
import { randomSlices } from '../shared/random-pool.js';

export const COMMITMENT_TAG = 'cordon/access-record/v1\u0000';
export const SALT_BYTES = 16;
export const ENTRY_BYTES = 32;

/**
 * Canonical JSON: object members sorted by key (UTF-16 code units, as RFC 8785), no whitespace,
 * strings as JSON.stringify writes them. Records hold strings, safe integers, booleans, null,
 * arrays and objects only; anything else is refused rather than encoded two ways.
 */
export function canonicalJson(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (value === null || typeof value === 'boolean') return String(value);
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) throw new TypeError(`canonicalJson: ${value} is not a safe integer`);
    return String(value);
  }
  // Plain loops and string concatenation: this runs once per access record, on the request path.
  if (Array.isArray(value)) {
    let out = '[';
    for (let i = 0; i < value.length; i++) out += (i === 0 ? '' : ',') + canonicalJson(value[i]);
    return `${out}]`;
  }
  if (typeof value === 'object') {
    const o = value as Record<string, unknown>;
    const keys = Object.keys(o).sort();
    let out = '{';
    let first = true;
    for (const k of keys) {
      const v = o[k];
      if (v === undefined) continue;
      out += `${first ? '' : ','}${JSON.stringify(k)}:${canonicalJson(v)}`;
      first = false;
    }
    return `${out}}`;
  }
  throw new TypeError(`canonicalJson: cannot encode a ${typeof value}`);
}

/** A fresh random salt (cut from a pool of 1024: one CSPRNG call per record cost more than the hashing). */
export const newSalt: () => Buffer = randomSlices(SALT_BYTES, 1024);

/** The log entry (leaf data) committing to `record` under `salt`. */
export function commitment(record: unknown, salt: Uint8Array): Buffer {
  return commitCanonical(canonicalJson(record), salt);
}

/** The same, for a record already in canonical JSON. */
export function commitCanonical(canonical: string, salt: Uint8Array): Buffer {
  return createHash('sha256').update(COMMITMENT_TAG).update(salt).update(canonical).digest();
}
