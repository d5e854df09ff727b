// Micro-benchmark of one protected field's encryption at rest, in one run: cordon's field format
// (encryptField/decryptField: XChaCha20-Poly1305 through sodium-native, v2) against the AEADs it
// could use instead, each doing the same work per value (a fresh random nonce, the same associated
// data, a 14-byte JSON value, base64 of the result):
//  - AES-256-GCM through node:crypto (createCipheriv per value: cordon's v1 format);
//  - AES-256-GCM and XChaCha20-Poly1305 from @noble/ciphers (pure JavaScript).
// Each is checked to open what it sealed. Prints a table, then one JSON line; `ratio` is the
// fastest alternative's decrypt time over cordon's (above 1: cordon's is faster).
//
//   npm run bench -- fieldcrypto [--values N]

import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { gcm } from '@noble/ciphers/aes.js';
import { xchacha20poly1305 } from '@noble/ciphers/chacha.js';
import { decryptField, encryptField } from '../src/store/index.js';
import { randomSlices } from '../src/shared/random-pool.js';

const { values: opts } = parseArgs({ options: { values: { type: 'string', default: '200000' } } });
const N = Number(opts.values);
const dek = randomBytes(32);
const [DATASET, KEY, FIELD] = ['profiles', 'bench-1', 'phone_number'];
const VALUE = '+15125550123';
// Nonces from a pool for every candidate, as cordon's own are (one CSPRNG call per 4096).
const iv12 = randomSlices(12, 4096);
const nonce24 = randomSlices(24, 4096);
const aad = Buffer.from(`cordon-field\u0000${DATASET}\u0000${KEY}\u0000${FIELD}`);

interface Candidate {
  readonly name: string;
  seal(): string;
  open(sealed: string): unknown;
}

const candidates: Candidate[] = [
  {
    name: 'cordon v2: XChaCha20-Poly1305 (sodium-native)',
    seal: () => encryptField(dek, DATASET, KEY, FIELD, VALUE) as string,
    open: (s) => decryptField(dek, DATASET, KEY, FIELD, s),
  },
  {
    name: 'cordon v1: AES-256-GCM (node:crypto)',
    seal: () => {
      const iv = iv12();
      const c = createCipheriv('aes-256-gcm', dek, iv);
      c.setAAD(aad);
      const ct = Buffer.concat([c.update(JSON.stringify(VALUE), 'utf8'), c.final()]);
      return Buffer.concat([iv, c.getAuthTag(), ct]).toString('base64');
    },
    open: (s) => {
      const raw = Buffer.from(s, 'base64');
      const d = createDecipheriv('aes-256-gcm', dek, raw.subarray(0, 12));
      d.setAAD(aad);
      d.setAuthTag(raw.subarray(12, 28));
      const plain = d.update(raw.subarray(28));
      d.final();
      return JSON.parse(plain.toString('utf8'));
    },
  },
  {
    name: 'AES-256-GCM (@noble/ciphers)',
    seal: () => {
      const iv = iv12();
      return Buffer.concat([iv, gcm(dek, iv, aad).encrypt(Buffer.from(JSON.stringify(VALUE)))]).toString('base64');
    },
    open: (s) => {
      const raw = Buffer.from(s, 'base64');
      return JSON.parse(Buffer.from(gcm(dek, raw.subarray(0, 12), aad).decrypt(raw.subarray(12))).toString('utf8'));
    },
  },
  {
    name: 'XChaCha20-Poly1305 (@noble/ciphers)',
    seal: () => {
      const nonce = nonce24();
      return Buffer.concat([nonce, xchacha20poly1305(dek, nonce, aad).encrypt(Buffer.from(JSON.stringify(VALUE)))]).toString('base64');
    },
    open: (s) => {
      const raw = Buffer.from(s, 'base64');
      return JSON.parse(Buffer.from(xchacha20poly1305(dek, raw.subarray(0, 24), aad).decrypt(raw.subarray(24))).toString('utf8'));
    },
  },
];

/** Nanoseconds per call of `fn` over `n` calls, after a warm-up of a tenth as many. */
function time(n: number, fn: () => void): number {
  for (let i = 0; i < Math.max(1, n / 10); i++) fn();
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) fn();
  return Number(process.hrtime.bigint() - t0) / n;
}

for (const c of candidates) if (c.open(c.seal()) !== VALUE) throw new Error(`${c.name}: does not open what it sealed`);
const sealed = candidates.map((c) => c.seal());
const totals = candidates.map(() => ({ seal: 0, open: 0 }));
// Interleaved rounds, so that the machine's other work weighs on all alike.
const ROUNDS = 5;
for (let r = 0; r < ROUNDS; r++) {
  candidates.forEach((c, i) => {
    totals[i]!.seal += time(N / ROUNDS, () => c.seal());
    totals[i]!.open += time(N / ROUNDS, () => c.open(sealed[i]!));
  });
}
const rows = candidates.map((c, i) => ({ name: c.name, sealNs: totals[i]!.seal / ROUNDS, openNs: totals[i]!.open / ROUNDS }));
const cordon = rows[0]!;
const others = rows.slice(1);
const fastestOther = Math.min(...others.map((r) => r.openNs));

const lines = [`field crypto — one 14-byte value sealed and opened ${N} times each (fresh nonce, associated data, base64)`, ''];
lines.push(`${'AEAD'.padEnd(48)} ${'encrypt µs'.padStart(11)} ${'decrypt µs'.padStart(11)}`);
for (const r of rows) lines.push(`${r.name.padEnd(48)} ${(r.sealNs / 1000).toFixed(2).padStart(11)} ${(r.openNs / 1000).toFixed(2).padStart(11)}`);
lines.push('', `cordon's decrypt is ${(fastestOther / cordon.openNs).toFixed(2)}× the fastest alternative's speed (goal >= 1)`);
process.stdout.write(`${lines.join('\n')}\n\n`);
process.stdout.write(
  `${JSON.stringify({
    bench: 'fieldcrypto',
    values: N,
    encrypt_ns: Math.round(cordon.sealNs),
    decrypt_ns: Math.round(cordon.openNs),
    alternatives: Object.fromEntries(others.map((r) => [r.name, { encrypt_ns: Math.round(r.sealNs), decrypt_ns: Math.round(r.openNs) }])),
    ratio: Number((fastestOther / cordon.openNs).toFixed(2)),
  })}\n`,
);
