// Conditions of the wire gateway's SQL: LIKE against a plain recursive reference on random patterns
// (seeded: SEED=n to replay), text order by code point, and SQL's three-valued logic.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mulberry32 } from '../shared/random.js';
import { bind, compareText, likeMatcher, type BindContext, type ColRef, type Expr } from './expr.js';
import { PgError } from './protocol.js';

/** LIKE as its definition reads, by recursion over both strings (exponential, for short strings only). */
function reference(pattern: string[], value: string[], esc: string): boolean {
  if (pattern.length === 0) return value.length === 0;
  const [p, ...rest] = pattern;
  if (p === esc) return value.length > 0 && value[0] === rest[0] && reference(rest.slice(1), value.slice(1), esc);
  if (p === '%') return reference(rest, value, esc) || (value.length > 0 && reference(pattern, value.slice(1), esc));
  if (p === '_') return value.length > 0 && reference(rest, value.slice(1), esc);
  return value.length > 0 && value[0] === p && reference(rest, value.slice(1), esc);
}

test('LIKE matches as its definition says, on random patterns with %, _ and escapes', () => {
  const seed = Number(process.env['SEED'] ?? Date.now() % 100_000);
  console.log(`expr.test LIKE seed ${seed} (SEED=${seed} to replay)`);
  const rand = mulberry32(seed);
  const pick = (s: string) => s[Math.floor(rand() * s.length)]!;
  let agreed = 0;
  for (let n = 0; n < 3000; n++) {
    const pattern = [...Array.from({ length: Math.floor(rand() * 7) }, () => pick('ab%_\\')).join('')];
    const value = Array.from({ length: Math.floor(rand() * 7) }, () => pick('ab%_\\')).join('');
    // Escapes pair from the left; a pattern ending in a lone escape is an error (22025, below).
    let lone = false;
    for (let i = 0; i < pattern.length; i++) if (pattern[i] === '\\') lone = ++i >= pattern.length;
    if (lone) continue;
    const expected = reference(pattern, [...value], '\\');
    assert.equal(
      likeMatcher(pattern.join(''), '\\', false)(value),
      expected,
      `seed ${seed}: ${JSON.stringify(value)} LIKE ${JSON.stringify(pattern.join(''))}`,
    );
    agreed++;
  }
  assert.ok(agreed > 2000, `${agreed} cases compared`);
  assert.throws(
    () => likeMatcher('ab\\', '\\', false),
    (e: unknown) => e instanceof PgError && e.sqlstate === '22025',
  );
  assert.equal(likeMatcher('a!%', '!', false)('a%'), true, 'ESCAPE names another escape character');
  assert.equal(likeMatcher('a!%', '!', false)('ab'), false);
  assert.equal(likeMatcher('a\\%', '', false)('a\\xyz'), true, 'an empty ESCAPE: none, the backslash is a character');
  assert.equal(likeMatcher('%LENS%', '\\', true)('sunny_lens7'), true, 'ILIKE');
  assert.equal(likeMatcher('%LENS%', '\\', false)('sunny_lens7'), false);
  assert.equal(likeMatcher('_', '\\', false)('😀'), true, '_ is one character, not one UTF-16 unit');
  // A pattern built to make a backtracking matcher take exponential time answers at once.
  assert.equal(likeMatcher(`${'%a'.repeat(30)}%b`, '\\', false)('a'.repeat(5000)), false);
});

test('text is ordered by code point, as PostgreSQL\'s "C" collation orders UTF-8', () => {
  const words = ['b', 'a', 'ab', '', '\uffff', '😀', 'Z', '\ue000', 'é'];
  const byBytes = [...words].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)));
  assert.deepEqual([...words].sort(compareText), byBytes);
});

test('conditions use three-valued logic: NULL compared is unknown, NOT unknown is unknown, OR true wins', () => {
  const col: ColRef = { rel: 0, field: 'x' };
  const ctx: BindContext = {
    typeOf: () => 'number',
    text: (v) => ('literal' in v ? v.literal : null),
    typed: (_c, t) => Number(t),
    nameOf: () => 't.x',
  };
  const env = (x: number | null) => () => x;
  const eq: Expr = { k: 'cmp', op: '=', l: { col }, r: { literal: '1' } };
  const cases: [string, Expr, number | null, boolean | null][] = [
    ['NULL = 1 is unknown', eq, null, null],
    ['NOT (NULL = 1) is unknown', { k: 'not', arg: eq }, null, null],
    ['unknown OR true is true', { k: 'or', args: [eq, { k: 'const', value: true }] }, null, true],
    ['unknown AND false is false', { k: 'and', args: [eq, { k: 'const', value: false }] }, null, false],
    ['x IN (2, NULL) is unknown when x is 1', { k: 'in', col, values: [{ literal: '2' }, { literal: null }] }, 1, null],
    ['x IN (1, NULL) is true when x is 1', { k: 'in', col, values: [{ literal: '1' }, { literal: null }] }, 1, true],
    ['x IS NULL is never unknown', { k: 'isnull', col }, null, true],
    ['x <> 1 with x = 2', { k: 'cmp', op: '<>', l: { col }, r: { literal: '1' } }, 2, true],
    ['1 < x with x = 2 (the column on the right)', { k: 'cmp', op: '<', l: { literal: '1' }, r: { col } }, 2, true],
  ];
  for (const [note, e, x, want] of cases) assert.equal(bind(e, ctx)(env(x)), want, note);
});
