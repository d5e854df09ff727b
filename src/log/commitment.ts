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
  // Plain loops and string concatenation: this runs once per log record, on the request path.
  if (Array.isArray(value)) {
    let out = '[';
    for (let i = 0; i < value.length; i++) out += (i === 0 ? '' : ',') + canonicalJson(value[i]);
    return `${out}]`;
  }
  if (typeof value === 'object') {
    const o = value as Record<string, unknown>;
    const shape = shapeOf(Object.keys(o));
    let out = '{';
    let first = true;
    for (let i = 0; i < shape.sorted.length; i++) {
      const v = o[shape.sorted[i]!];
      if (v === undefined) continue;
      out += (first ? '' : ',') + shape.prefixes[i]! + canonicalJson(v);
      first = false;
    }
    return `${out}}`;
  }
  throw new TypeError(`canonicalJson: cannot encode a ${typeof value}`);
}

/** An object shape's members in canonical order, each with its encoded `"name":` prefix. */
interface Shape {
  readonly keys: readonly string[];
  readonly sorted: readonly string[];
  readonly prefixes: readonly string[];
}

// Records of one kind share a few shapes, so their member order is worked out once (sorting the
// keys and encoding their names took most of the encoder's time). A cached shape is used only when
// its keys are exactly the object's, in order: names holding the separator cannot alias.
const shapes = new Map<string, Shape>();
const MAX_SHAPES = 4096;

function shapeOf(keys: string[]): Shape {
  const id = keys.join('\u0000');
  const hit = shapes.get(id);
  if (hit && hit.keys.length === keys.length && hit.keys.every((k, i) => k === keys[i])) return hit;
  const sorted = [...keys].sort();
  const shape: Shape = { keys, sorted, prefixes: sorted.map((k) => `${JSON.stringify(k)}:`) };
  if (!hit) {
    if (shapes.size >= MAX_SHAPES) shapes.clear();
    shapes.set(id, shape);
  }
  return shape;
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
