import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { decryptField, isCiphertext, type FieldValue } from '../store/index.js';
import { createCryptoPool } from './crypto-pool.js';
import { DEK_BYTES, compareRows, type CompareTask, type EncryptTask } from './row-crypto.js';

const fields = ['id', 'owner', 'phone', 'note', 'count'];
const ROWS = 1500;

function task(): EncryptTask {
  const values: FieldValue[] = [];
  const isProtected = new Uint8Array(ROWS * fields.length);
  for (let r = 0; r < ROWS; r++) {
    values.push(`k${r}`, `u${r % 97}`, r % 5 === 0 ? null : `+1512555${String(r).padStart(4, '0')}`, `note ${r}`, r);
    // owner (the subject field) and phone are protected; the note only on odd rows.
    isProtected.set([0, 1, 1, r % 2, 0], r * fields.length);
  }
  return {
    dataset: 'accounts',
    fields,
    subjectIndex: 1,
    keys: Array.from({ length: ROWS }, (_, r) => `k${r}`),
    values,
    isProtected,
    deks: randomBytes(ROWS * DEK_BYTES),
  };
}

test('the pool encrypts and compares a batch across threads exactly as one thread does, in order', async () => {
  const t = task();
  const pool = createCryptoPool(3);
  const one = createCryptoPool(1);
  try {
    const sealed = await pool.encrypt(t);
    assert.equal(sealed.length, ROWS * fields.length);
    const F = fields.length;
    for (let r = 0; r < ROWS; r++) {
      const dek = Buffer.from(t.deks.subarray(r * DEK_BYTES, (r + 1) * DEK_BYTES));
      for (let i = 0; i < F; i++) {
        const at = r * F + i;
        const v = sealed[at];
        if (t.isProtected[at] === 0) assert.equal(v, null);
        else if (i === 1) assert.equal(v, t.values[at], 'the subject field stays clear');
        else if (t.values[at] === null) assert.equal(v, null);
        else {
          assert.ok(isCiphertext(v));
          // Compared without printing: a failure names the row and field, never the value.
          assert.ok(decryptField(dek, 'accounts', `k${r}`, fields[i]!, v) === t.values[at], `row ${r} field ${fields[i]} decrypts to its value`);
        }
      }
    }
    // The enclave part as stored, the global part beside it; one row missing, one tampered, one without its key.
    const enclave = [...sealed];
    const global = t.values.map((v, at) => (t.isProtected[at] === 1 ? null : v));
    const hasEnclave = new Uint8Array(ROWS).fill(1);
    const hasDek = new Uint8Array(ROWS).fill(1);
    hasEnclave[10] = 0;
    const tampered = 11 * F + 2;
    enclave[tampered] = `${String(enclave[tampered]).slice(0, -4)}AAA=`;
    hasDek[12] = 0;
    global[13 * F + 4] = 999;
    const c: CompareTask = { ...t, hashKey: randomBytes(32), legacy: t.values, enclave, global, hasEnclave, hasDek };
    const spread = await pool.compare(c);
    const here = await one.compare(c);
    assert.deepEqual(spread, here);
    assert.deepEqual(spread, compareRows(c));
    const problems = spread.problem.flatMap((p, r) => (p === null ? [] : [`${r}:${p}`]));
    assert.deepEqual(problems, [
      '10:missing from the enclave',
      '11:phone does not decrypt',
      '12:the data key is missing (shredded?)',
      '13:fields differ: count',
    ]);
    assert.equal(spread.enclave[10], null);
    assert.equal(spread.legacy[0], spread.enclave[0]);
  } finally {
    await pool.close();
    await one.close();
  }
});
