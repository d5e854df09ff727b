// Encryption at rest of protected fields: each value is AEAD ciphertext under its subject's data key
// (DEK), bound to where it lives (dataset, record key, field) by the associated data. DEKs are
// wrapped by the enclave's key-encryption key (KeyService) and kept, wrapped, in the table
// `_data_keys` of the same store. Destroying a subject's wrapped DEK (or the KEK generation it is
// wrapped under) makes every copy of that subject's protected values unreadable: crypto-shredding.
//
// Two formats, told apart by their prefix:
//  v2 (written): XChaCha20-Poly1305 (libsodium, through sodium-native), a random 192-bit nonce:
//     `cordon:enc:v2:<base64 nonce | ciphertext | tag>`.
//  v1 (read only): AES-256-GCM (node:crypto), a random 96-bit IV: `cordon:enc:v1:<base64 iv | tag |
//     ciphertext>`. Stores written before v2 keep working: a record's fields become v2 the next
//     time it is written (placement encrypts every protected field of a write afresh).
// Both keep 256-bit keys and 128-bit tags. v2 because a field costs 1.7 µs to open instead of 4.8 µs
// (Node's createDecipheriv builds a cipher context and key schedule per call; libsodium's one-shot
// call does not; `npm run bench -- fieldcrypto`), and a read opens every disclosed field.

import { createDecipheriv, randomBytes } from 'node:crypto';
import sodium from 'sodium-native';
import { randomSlices } from '../shared/random-pool.js';
import type { KeyService } from './keys.js';
import type { FieldValue, Store } from './types.js';

/** The table of wrapped data keys in each store that holds ciphertext. */
export const DATA_KEYS_TABLE = '_data_keys';
export const DATA_KEYS_FIELDS = ['kek', 'wrapped', 'created_at'] as const;
/** Marks a stored value (a jsonb string) as ciphertext of the format written today. */
export const CIPHERTEXT_PREFIX = 'cordon:enc:v2:';
/** The AES-256-GCM format written before v2; read, never written. */
export const CIPHERTEXT_PREFIX_V1 = 'cordon:enc:v1:';
const DEK_BYTES = 32;
const V1_IV_BYTES = 12;
const V1_TAG_BYTES = 16;
const NONCE_BYTES = sodium.crypto_aead_xchacha20poly1305_ietf_NPUBBYTES;
const TAG_BYTES = sodium.crypto_aead_xchacha20poly1305_ietf_ABYTES;

export function isCiphertext(v: unknown): v is string {
  return typeof v === 'string' && (v.startsWith(CIPHERTEXT_PREFIX) || v.startsWith(CIPHERTEXT_PREFIX_V1));
}

/** True for a value in a format no longer written (v1). */
export function isOldCiphertext(v: unknown): v is string {
  return typeof v === 'string' && v.startsWith(CIPHERTEXT_PREFIX_V1);
}

function aad(version: 'v1' | 'v2', dataset: string, key: string, field: string): Buffer {
  return Buffer.from(`cordon-field-${version}\u0000${dataset}\u0000${key}\u0000${field}`);
}

// Nonces are cut from a pool (one randomBytes() call per 4096): one call per value cost more than the
// encryption itself when a migration encrypts hundreds of thousands of fields.
const nextNonce = randomSlices(NONCE_BYTES, 4096);

/** Encrypts one field value (its JSON, so its type survives). Null stays null: an empty field is not hidden. */
export function encryptField(dek: Buffer, dataset: string, key: string, field: string, value: FieldValue): FieldValue {
  if (value === null) return null;
  const plain = Buffer.from(JSON.stringify(value), 'utf8');
  // nonce | ciphertext | tag in one buffer.
  const out = Buffer.allocUnsafe(NONCE_BYTES + plain.length + TAG_BYTES);
  const nonce = out.subarray(0, NONCE_BYTES);
  nextNonce().copy(nonce);
  sodium.crypto_aead_xchacha20poly1305_ietf_encrypt(out.subarray(NONCE_BYTES), plain, aad('v2', dataset, key, field), null, nonce, dek);
  return CIPHERTEXT_PREFIX + out.toString('base64');
}

/** Decrypts a value encryptField made (either format) for the same (dataset, key, field); throws when it does not authenticate. */
export function decryptField(dek: Buffer, dataset: string, key: string, field: string, stored: string): FieldValue {
  if (stored.startsWith(CIPHERTEXT_PREFIX_V1)) return decryptFieldV1(dek, dataset, key, field, stored);
  if (!stored.startsWith(CIPHERTEXT_PREFIX)) throw new Error('not a cordon ciphertext');
  const raw = Buffer.from(stored.slice(CIPHERTEXT_PREFIX.length), 'base64');
  if (raw.length < NONCE_BYTES + TAG_BYTES) throw new Error('ciphertext too short');
  const plain = Buffer.allocUnsafe(raw.length - NONCE_BYTES - TAG_BYTES);
  // Throws unless the tag authenticates: nothing is parsed before that.
  sodium.crypto_aead_xchacha20poly1305_ietf_decrypt(plain, null, raw.subarray(NONCE_BYTES), aad('v2', dataset, key, field), raw.subarray(0, NONCE_BYTES), dek);
  return JSON.parse(plain.toString('utf8')) as FieldValue;
}

function decryptFieldV1(dek: Buffer, dataset: string, key: string, field: string, stored: string): FieldValue {
  const raw = Buffer.from(stored.slice(CIPHERTEXT_PREFIX_V1.length), 'base64');
  const d = createDecipheriv('aes-256-gcm', dek, raw.subarray(0, V1_IV_BYTES));
  d.setAAD(aad('v1', dataset, key, field));
  d.setAuthTag(raw.subarray(V1_IV_BYTES, V1_IV_BYTES + V1_TAG_BYTES));
  const plain = d.update(raw.subarray(V1_IV_BYTES + V1_TAG_BYTES));
  d.final(); // throws unless the tag authenticates: nothing is parsed before that
  return JSON.parse(plain.toString('utf8')) as FieldValue;
}

/** Why a subject's values cannot be decrypted. */
export type KeyUnavailable = { readonly unavailable: 'shredded' | 'kek_destroyed' | 'key_service'; readonly message: string };

export interface DataKeys {
  readonly store: Store;
  /** The KEK scope (the store's name). */
  readonly scope: string;
  ensure(): Promise<void>;
  /**
   * The DEKs of these subjects. With `create`, a subject without one gets a new one (two writers
   * racing keep the first). Without, a subject without a DEK (never had one, or shredded) maps to
   * `{ unavailable: 'shredded' }`. Throws KeyServiceError when the key service cannot be reached.
   */
  get(subjects: readonly string[], create: boolean): Promise<Map<string, Buffer | KeyUnavailable>>;
}

export function createDataKeys(store: Store, keys: KeyService): DataKeys {
  const scope = store.name;
  const context = (subject: string) => `${scope}\u0000${subject}`;
  let ready: Promise<void> | undefined;
  const api: DataKeys = {
    store,
    scope,
    ensure() {
      ready ??= store.ensureTable({ name: DATA_KEYS_TABLE, fields: [...DATA_KEYS_FIELDS] });
      return ready;
    },
    async get(subjects, create) {
      await api.ensure();
      const unique = [...new Set(subjects)];
      const out = new Map<string, Buffer | KeyUnavailable>();
      const rows = await store.getMany(DATA_KEYS_TABLE, unique);
      // Keys this call made and stored: used as made, not unwrapped again.
      const made = new Map<string, Buffer>();
      const missing = unique.filter((s) => !rows.has(s));
      if (create && missing.length > 0) {
        const material = randomBytes(DEK_BYTES * missing.length);
        const fresh = missing.map((_, i) => Buffer.from(material.subarray(i * DEK_BYTES, (i + 1) * DEK_BYTES)));
        material.fill(0);
        const wrapped = await keys.wrapMany(
          scope,
          missing.map((s, i) => ({ dataKey: fresh[i]!, context: context(s) })),
        );
        const createdAt = new Date().toISOString();
        const inserted = new Set(
          await store.insertMany(
            DATA_KEYS_TABLE,
            missing.map((s, i) => ({ key: s, values: { kek: wrapped[i]!.kek, wrapped: wrapped[i]!.wrapped, created_at: createdAt } })),
          ),
        );
        missing.forEach((s, i) => {
          if (inserted.has(s)) made.set(s, fresh[i]!);
        });
        // A racing writer inserted first: read back what won.
        const lost = missing.filter((s) => !inserted.has(s));
        if (lost.length > 0) for (const [k, r] of await store.getMany(DATA_KEYS_TABLE, lost)) rows.set(k, r);
      }
      const stored = unique.filter((s) => !made.has(s) && rows.has(s));
      const unwrapped = await keys.unwrapMany(
        stored.map((s) => ({ wrapped: { kek: String(rows.get(s)!['kek']), wrapped: String(rows.get(s)!['wrapped']) }, context: context(s) })),
      );
      const byStored = new Map(stored.map((s, i) => [s, unwrapped[i]!]));
      for (const s of unique) {
        const k = made.get(s) ?? byStored.get(s);
        if (k === undefined) {
          out.set(s, { unavailable: 'shredded', message: 'the data key of this subject was destroyed (crypto-shredded) or never existed' });
        } else if (Buffer.isBuffer(k)) {
          out.set(s, k);
        } else if (k.reason === 'destroyed' || k.reason === 'unknown_kek') {
          out.set(s, { unavailable: 'kek_destroyed', message: k.message });
        } else {
          throw k;
        }
      }
      return out;
    },
  };
  return api;
}
