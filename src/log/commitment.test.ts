// Canonical JSON, which every log entry commits to: the shape-cached encoder writes exactly what the
// plain definition (members sorted by UTF-16 code units, no whitespace) writes, for random objects,
// for objects whose member names alias under the cache's separator, and for shapes seen before.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { canonicalJson } from './commitment.js';
import { mulberry32 } from '../shared/random.js';

/** The definition, written plainly: what canonicalJson must equal. */
function reference(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(reference).join(',')}]`;
  const o = value as Record<string, unknown>;
  const keys = Object.keys(o)
    .filter((k) => o[k] !== undefined)
    .sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${reference(o[k])}`).join(',')}}`;
}

const NAMES = ['a', 'b', 'B', '10', '2', '', 'é', '🔒', 'a\u0000b', 'c', 'a\u0000', '\u0000c', 'fields', 'v', '"q"', '\\'];

test('equals the plain definition on random records (seed printed; CANONICAL_SEED=N repeats one)', () => {
  const seed = Number(process.env['CANONICAL_SEED'] ?? Date.now() % 1_000_000);
  process.stdout.write(`# canonical JSON seed ${seed}\n`);
  const rand = mulberry32(seed);
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(rand() * xs.length)]!;
  const gen = (depth: number): unknown => {
    const r = rand();
    if (depth > 3 || r < 0.3) return pick<unknown>(['x', 'ü\n"', 0, -7, 2 ** 53 - 1, true, false, null, undefined]);
    if (r < 0.5) return Array.from({ length: Math.floor(rand() * 4) }, () => gen(depth + 1) ?? null);
    const o: Record<string, unknown> = {};
    for (let i = Math.floor(rand() * 6); i > 0; i--) o[pick(NAMES)] = gen(depth + 1);
    return o;
  };
  for (let i = 0; i < 5000; i++) {
    const v = gen(0) ?? null;
    assert.equal(canonicalJson(v), reference(v), `case ${i} of seed ${seed}`);
  }
});

test('names that alias under the shape cache’s separator are kept apart', () => {
  const a = { 'a\u0000b': 1, c: 2 };
  const b = { a: 1, 'b\u0000c': 2 };
  for (let i = 0; i < 3; i++) {
    assert.equal(canonicalJson(a), reference(a));
    assert.equal(canonicalJson(b), reference(b));
  }
  // The same keys in another insertion order are another shape with the same canonical form.
  assert.equal(canonicalJson({ z: 1, a: 2 }), canonicalJson({ a: 2, z: 1 }));
  assert.equal(canonicalJson({ z: 1, a: 2 }), '{"a":2,"z":1}');
});

test('refuses what it cannot encode one way', () => {
  assert.throws(() => canonicalJson(1.5), TypeError);
  assert.throws(() => canonicalJson({ a: Number.NaN }), TypeError);
  assert.throws(() => canonicalJson({ f: () => 1 }), TypeError);
});
