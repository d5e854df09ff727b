// The keyed hash of one migrated row, the unit verify compares and purge re-checks: HMAC-SHA-256
// (under a key-service key: protected values are low-entropy) of the canonical JSON of
// {dataset, fields, key}. Built by string concatenation in the canonical member order, because
// verify hashes every in-scope row twice (legacy and enclave side) and a generic canonical encoder
// per row was a large part of its time; row-hash.test.ts checks that both give the same bytes.

import { createHmac } from 'node:crypto';
import { canonicalJson } from '../log/index.js';
import type { FieldValue } from '../store/index.js';

/** The hash of a row of `dataset` whose mapped fields are `fields` (values read by position). */
export type RowHash = (recordKey: string, values: readonly FieldValue[]) => string;

/**
 * A hasher for one dataset and list of fields. `values[i]` is the value of `fields[i]`. The result
 * MUST equal HMAC(key, canonicalJson({ dataset, key: recordKey, fields: {field: value} })) in
 * base64url: hashes stored by an earlier verify are compared with it.
 */
export function createRowHasher(hmacKey: Buffer, dataset: string, fields: readonly string[]): RowHash {
  // canonicalJson sorts members by UTF-16 code units, as Array.prototype.sort does by default.
  const order = fields.map((f, i) => ({ f, i })).sort((a, b) => (a.f < b.f ? -1 : a.f > b.f ? 1 : 0));
  const names = order.map((o, n) => `${n === 0 ? '' : ','}${JSON.stringify(o.f)}:`);
  const index = order.map((o) => o.i);
  // "dataset" < "fields" < "key".
  const head = `{"dataset":${JSON.stringify(dataset)},"fields":{`;
  return (recordKey, values) => {
    let s = head;
    for (let n = 0; n < index.length; n++) {
      const v = values[index[n]!] ?? null;
      s += names[n]! + (typeof v === 'string' ? JSON.stringify(v) : canonicalJson(v));
    }
    s += `},"key":${JSON.stringify(recordKey)}}`;
    return createHmac('sha256', hmacKey).update(s).digest('base64url');
  };
}
