// Field encryption at rest: the v2 format (XChaCha20-Poly1305) round-trips every field type, binds
// each ciphertext to its dataset, record and field, refuses any tampering, and the v1 format
// (AES-256-GCM) that earlier versions wrote is still read.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createCipheriv, createHash, randomBytes } from 'node:crypto';
import { CIPHERTEXT_PREFIX, CIPHERTEXT_PREFIX_V1, decryptField, encryptField, isCiphertext, isOldCiphertext } from './at-rest.js';

const dek = randomBytes(32);
/** Values are compared as hashes, so that a failure prints none of them. */
const sha = (v: unknown) =>
  createHash('sha256')
    .update(JSON.stringify(v) ?? 'undefined')
    .digest('hex');

/** A value as cordon 0.1 stored it before v2: AES-256-GCM, `iv | tag | ciphertext`, the v1 associated data. */
function encryptV1(key: Buffer, dataset: string, record: string, field: string, value: unknown): string {
  const iv = randomBytes(12);
  const c = createCipheriv('aes-256-gcm', key, iv);
  c.setAAD(Buffer.from(`cordon-field-v1\u0000${dataset}\u0000${record}\u0000${field}`));
  const ct = Buffer.concat([c.update(JSON.stringify(value), 'utf8'), c.final()]);
  return CIPHERTEXT_PREFIX_V1 + Buffer.concat([iv, c.getAuthTag(), ct]).toString('base64');
}

test('v2 round-trips strings, numbers, booleans and text with any characters; null stays null', () => {
  for (const v of ['+15125550123', '', 'ü 🔒 "quoted" \\ \n', 0, -1.5, 2 ** 53 - 1, true, false]) {
    const stored = encryptField(dek, 'users', 'u1', 'phone', v);
    assert.equal(typeof stored, 'string');
    assert.ok((stored as string).startsWith(CIPHERTEXT_PREFIX), 'written as v2');
    assert.ok(isCiphertext(stored) && !isOldCiphertext(stored));
    assert.equal(sha(decryptField(dek, 'users', 'u1', 'phone', stored as string)), sha(v));
  }
  assert.equal(encryptField(dek, 'users', 'u1', 'phone', null), null);
});

test('v2: nonce | ciphertext | tag, a fresh nonce per value', () => {
  const a = encryptField(dek, 'users', 'u1', 'phone', '+15125550123') as string;
  const b = encryptField(dek, 'users', 'u1', 'phone', '+15125550123') as string;
  assert.notEqual(a, b, 'the same value encrypts differently each time');
  const raw = Buffer.from(a.slice(CIPHERTEXT_PREFIX.length), 'base64');
  assert.equal(raw.length, 24 + JSON.stringify('+15125550123').length + 16);
  assert.notDeepEqual(raw.subarray(0, 24), Buffer.from(b.slice(CIPHERTEXT_PREFIX.length), 'base64').subarray(0, 24));
});

test('a ciphertext opens only where it was made: another dataset, record, field or key refuses it', () => {
  const stored = encryptField(dek, 'users', 'u1', 'phone', '+15125550123') as string;
  assert.throws(() => decryptField(dek, 'users', 'u2', 'phone', stored), 'moved to another record');
  assert.throws(() => decryptField(dek, 'users', 'u1', 'email', stored), 'moved to another field');
  assert.throws(() => decryptField(dek, 'profiles', 'u1', 'phone', stored), 'moved to another dataset');
  assert.throws(() => decryptField(randomBytes(32), 'users', 'u1', 'phone', stored), 'another subject’s key');
});

test('every flipped byte of a v2 ciphertext is refused, and a truncated one', () => {
  const stored = encryptField(dek, 'users', 'u1', 'phone', '+15125550123') as string;
  const raw = Buffer.from(stored.slice(CIPHERTEXT_PREFIX.length), 'base64');
  for (let i = 0; i < raw.length; i++) {
    const bad = Buffer.from(raw);
    bad[i]! ^= 0x01;
    assert.throws(() => decryptField(dek, 'users', 'u1', 'phone', CIPHERTEXT_PREFIX + bad.toString('base64')), `byte ${i} flipped`);
  }
  assert.throws(() => decryptField(dek, 'users', 'u1', 'phone', CIPHERTEXT_PREFIX + raw.subarray(0, 30).toString('base64')));
  assert.throws(() => decryptField(dek, 'users', 'u1', 'phone', `${CIPHERTEXT_PREFIX}`));
});

test('v1 values (AES-256-GCM, written before v2) are read, bound and checked as before', () => {
  const old = encryptV1(dek, 'users', 'u1', 'email', 'a@example.com');
  assert.ok(isCiphertext(old) && isOldCiphertext(old));
  assert.equal(sha(decryptField(dek, 'users', 'u1', 'email', old)), sha('a@example.com'));
  assert.throws(() => decryptField(dek, 'users', 'u2', 'email', old), 'moved to another record');
  const raw = Buffer.from(old.slice(CIPHERTEXT_PREFIX_V1.length), 'base64');
  raw[raw.length - 1]! ^= 0x01;
  assert.throws(() => decryptField(dek, 'users', 'u1', 'email', CIPHERTEXT_PREFIX_V1 + raw.toString('base64')), 'tampered');
  // A v1 ciphertext under the v2 prefix (or the reverse) does not open: the formats do not mix.
  assert.throws(() => decryptField(dek, 'users', 'u1', 'email', CIPHERTEXT_PREFIX + old.slice(CIPHERTEXT_PREFIX_V1.length)));
  const v2 = encryptField(dek, 'users', 'u1', 'email', 'a@example.com') as string;
  assert.throws(() => decryptField(dek, 'users', 'u1', 'email', CIPHERTEXT_PREFIX_V1 + v2.slice(CIPHERTEXT_PREFIX.length)));
});

test('text that only looks like ciphertext is not taken for it', () => {
  assert.equal(isCiphertext('cordon:enc:v3:AAAA'), false);
  assert.equal(isCiphertext('cordon:enc:'), false);
  assert.equal(isCiphertext(42), false);
  assert.throws(() => decryptField(dek, 'users', 'u1', 'email', 'cordon:enc:v3:AAAA'));
});
