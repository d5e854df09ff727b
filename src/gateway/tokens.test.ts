// Tokens open again for their own audience and category only: round trips, unlinkability across
// audiences and categories, every flipped bit and every malformed spelling rejected, and lengths
// that hide a value's length to 16 bytes.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openFileKeyService } from '../store/index.js';
import { MAX_TOKEN_CHARS, openToken, tokenize, TOKEN_PREFIX } from './tokens.js';

const dir = mkdtempSync(join(tmpdir(), 'cordon-tokens-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const keys = openFileKeyService(join(dir, 'master.key'), { create: true });
const UID = 'user.unique_id';

const body = (token: string) => Buffer.from(token.slice(TOKEN_PREFIX.length), 'base64url');
const spell = (raw: Buffer) => TOKEN_PREFIX + raw.toString('base64url');

test('round trip: a token opens to its value for the same audience and category', () => {
  const values: unknown[] = ['demo-us-1', '', 'x'.repeat(15), 'x'.repeat(16), 'x'.repeat(1000), 'ünïcødé 🛡', 42, -0.5, true, null, ['a', 1], { a: 'b' }];
  for (const v of values) {
    const t = tokenize(keys, 'parent-engineering', UID, v);
    assert.match(t, /^tok_[A-Za-z0-9_-]+$/);
    assert.deepEqual(openToken(keys, 'parent-engineering', UID, t), v, JSON.stringify(v));
  }
  assert.throws(() => tokenize(keys, 'a', UID, undefined), TypeError);
});

test('equal values give equal tokens; other values, categories and audiences give unrelated ones', () => {
  const a = tokenize(keys, 'parent-engineering', UID, 'demo-us-1');
  assert.equal(tokenize(keys, 'parent-engineering', UID, 'demo-us-1'), a, 'stable for one audience and category');
  assert.notEqual(tokenize(keys, 'parent-engineering', UID, 'demo-us-2'), a);
  assert.notEqual(tokenize(keys, 'parent-engineering', 'user.device.device_id', 'demo-us-1'), a, 'categories differ');
  assert.notEqual(tokenize(keys, 'us-marketing', UID, 'demo-us-1'), a, 'audiences differ');
  // The string "1" and the number 1 are different values.
  assert.notEqual(tokenize(keys, 'parent-engineering', UID, '1'), tokenize(keys, 'parent-engineering', UID, 1));
  // Unrelated: no shared prefix beyond what chance gives (the IV comes first and is a PRF output).
  const other = tokenize(keys, 'us-marketing', UID, 'demo-us-1');
  assert.ok(body(a).subarray(0, 4).compare(body(other).subarray(0, 4)) !== 0);
  // Another master key: another token.
  const elsewhere = openFileKeyService(join(dir, 'other.key'), { create: true });
  assert.notEqual(tokenize(elsewhere, 'parent-engineering', UID, 'demo-us-1'), a);
  assert.equal(openToken(elsewhere, 'parent-engineering', UID, a), undefined);
});

test("another audience's or category's token does not open", () => {
  const mine = tokenize(keys, 'parent-engineering', UID, 'demo-us-1');
  assert.equal(openToken(keys, 'us-marketing', UID, mine), undefined, 'another audience');
  assert.equal(openToken(keys, 'enclave-staff', UID, mine), undefined, 'another audience');
  assert.equal(openToken(keys, 'parent-engineering', 'user.device.device_id', mine), undefined, 'another category');
  assert.equal(openToken(keys, 'parent-engineering', UID, mine), 'demo-us-1');
});

test('every flipped bit, truncation, extension and re-spelling is rejected', () => {
  const t = tokenize(keys, 'parent-engineering', UID, 'demo-us-1');
  const raw = body(t);
  assert.equal(raw.length, 32, 'a 16-byte IV and one block');
  let opened = 0;
  for (let i = 0; i < raw.length * 8; i++) {
    const flipped = Buffer.from(raw);
    flipped[i >> 3]! ^= 1 << (i & 7);
    if (openToken(keys, 'parent-engineering', UID, spell(flipped)) !== undefined) opened++;
  }
  assert.equal(opened, 0, 'no single-bit change opens');
  const rejected = [
    spell(raw.subarray(0, 16)),
    spell(raw.subarray(0, 31)),
    spell(Buffer.concat([raw, Buffer.alloc(16)])),
    spell(Buffer.concat([raw.subarray(0, 16), raw.subarray(16), raw.subarray(16)])),
    t.slice(TOKEN_PREFIX.length),
    `TOK_${t.slice(4)}`,
    `${t}=`,
    `${t.slice(0, -1)}${t.at(-1) === 'A' ? 'B' : 'A'}`,
    `${t.slice(0, 10)}+${t.slice(11)}`,
    'tok_',
    'tok_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA',
    'demo-us-1',
    '',
    TOKEN_PREFIX + 'A'.repeat(MAX_TOKEN_CHARS),
  ];
  for (const r of rejected) assert.equal(openToken(keys, 'parent-engineering', UID, r), undefined, r);
  // A non-canonical spelling of the same bytes (stray low bits in the last character) is not the token.
  const last = t.at(-1)!;
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
  const sibling = alphabet[alphabet.indexOf(last) ^ 1]!;
  assert.equal(openToken(keys, 'parent-engineering', UID, t.slice(0, -1) + sibling), undefined);
});

test("a token's length tells a value's length only to 16 bytes", () => {
  const length = (v: string) => body(tokenize(keys, 'a', UID, v)).length;
  // JSON adds two quotes and the padding at least one byte: 0..13 characters fill one block.
  const lengths = new Set(Array.from({ length: 14 }, (_, n) => length('x'.repeat(n))));
  assert.deepEqual([...lengths], [32]);
  assert.equal(length('x'.repeat(14)), 48);
  assert.equal(length('x'.repeat(29)), 48);
  assert.equal(length('x'.repeat(30)), 64);
});

test('a known answer: tokens handed out keep opening across releases (the format is fixed)', () => {
  const path = join(dir, 'fixed.key');
  writeFileSync(path, `${Buffer.from(Array.from({ length: 32 }, (_, i) => i + 1)).toString('base64')}\n`, { mode: 0o600 });
  const fixed = openFileKeyService(path);
  const t = tokenize(fixed, 'parent-engineering', UID, 'demo-us-1');
  assert.equal(t, KNOWN);
  assert.equal(openToken(fixed, 'parent-engineering', UID, KNOWN), 'demo-us-1');
});
// Computed independently (Python's `cryptography`: HKDF-SHA-256 as the key service, HMAC-SHA-256,
// AES-256-CTR) from the construction in tokens.ts and master key bytes 1..32.
const KNOWN = 'tok_Xefgy9XFywaPxHWxJnu8-DjCoqALkDDoww2uHEA4OiE';
