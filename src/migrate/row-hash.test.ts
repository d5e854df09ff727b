// The fast row hash gives exactly the bytes of the canonical-JSON definition, for every kind of value
// and field names whose sorted order differs from the mapping's.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac, randomBytes } from 'node:crypto';
import { canonicalJson } from '../log/index.js';
import type { FieldValue } from '../store/index.js';
import { createRowHasher } from './row-hash.js';

const reference = (key: Buffer, dataset: string, recordKey: string, fields: readonly string[], values: readonly FieldValue[]) =>
  createHmac('sha256', key)
    .update(canonicalJson({ dataset, key: recordKey, fields: Object.fromEntries(fields.map((f, i) => [f, values[i] ?? null])) }))
    .digest('base64url');

test('row hash equals HMAC of the canonical JSON of {dataset, key, fields}', () => {
  const key = randomBytes(32);
  const cases: { note: string; fields: string[]; values: FieldValue[]; recordKey: string }[] = [
    {
      note: 'mapping order differs from sorted order',
      fields: ['uid', 'username', 'country', 'Zeta', '_x', 'a'],
      values: ['u1', 'handle_1', 'US', 'z', 'x', 'a'],
      recordKey: 'u1',
    },
    { note: 'nulls, numbers, booleans', fields: ['id', 'views', 'public', 'draft'], values: ['7', 42, true, null], recordKey: '7' },
    { note: 'strings needing escapes', fields: ['k', 'note'], values: ['a"b', 'line\nbreak \\ \u2028 é 😀'], recordKey: 'a"b\u0001' },
    { note: 'negative and zero numbers, false', fields: ['b', 'a'], values: [-12, 0], recordKey: 'x' },
    { note: 'a missing value counts as null', fields: ['a', 'b'], values: ['only a'], recordKey: 'k' },
  ];
  for (const c of cases) {
    const h = createRowHasher(key, 'users', c.fields);
    assert.equal(h(c.recordKey, c.values), reference(key, 'users', c.recordKey, c.fields, c.values), c.note);
  }
});

test('row hash refuses what canonical JSON refuses (a number that is not a safe integer)', () => {
  const h = createRowHasher(randomBytes(32), 'videos', ['id', 'ratio']);
  assert.throws(() => h('1', ['1', 0.5]), /not a safe integer/);
});
