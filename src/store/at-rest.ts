// Encryption at rest of protected fields: each value is AES-256-GCM ciphertext under its subject's
// data key (DEK), bound to where it lives (dataset, record key, field) by the associated data. DEKs
// are wrapped by the enclave's key-encryption key (KeyService) and kept, wrapped, in the table
// `_data_keys` of the same store. Destroying a subject's wrapped DEK (or the KEK generation it is
// wrapped under) makes every copy of that subject's protected values unreadable: crypto-shredding.

import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { KeyServiceError, type KeyService } from './keys.js';
import type { FieldValue, Store } from './types.js';

/** The table of wrapped data keys in each store that holds ciphertext. */
export const DATA_KEYS_TABLE = '_data_keys';
export const DATA_KEYS_FIELDS = ['kek', 'wrapped', 'created_at'] as const;
/** Marks a stored value as ciphertext (a jsonb string): `cordon:enc:v1:<base64 iv|tag|ciphertext>`. */
export const CIPHERTEXT_PREFIX = 'cordon:enc:v1:';
const DEK_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;

export function isCiphertext(v: unknown): v is string {
  return typeof v === 'string' && v.startsWith(CIPHERTEXT_PREFIX);
}

function aad(dataset: string, key: string, field: string): Buffer {
  return Buffer.from(`cordon-field-v1\u0000${dataset}\u0000${key}\u0000${field}`);
}

/** Encrypts one field value (its JSON, so its type survives). Null stays null: an empty field is not hidden. */
export function encryptField(dek: Buffer, dataset: string, key: string, field: string, value: FieldValue): FieldValue {
  if (value === null) return null;
  const iv = randomBytes(IV_BYTES);
  const c = createCipheriv('aes-256-gcm', dek, iv);
  c.setAAD(aad(dataset, key, field));
  const ct = Buffer.concat([c.update(JSON.stringify(value), 'utf8'), c.final()]);
  return CIPHERTEXT_PREFIX + Buffer.concat([iv, c.getAuthTag(), ct]).toString('base64');
}

/** Decrypts a value encryptField made for the same (dataset, key, field); throws when it does not authenticate. */
export function decryptField(dek: Buffer, dataset: string, key: string, field: string, stored: string): FieldValue {
  const raw = Buffer.from(stored.slice(CIPHERTEXT_PREFIX.length), 'base64');
  const d = createDecipheriv('aes-256-gcm', dek, raw.subarray(0, IV_BYTES));
  d.setAAD(aad(dataset, key, field));
  d.setAuthTag(raw.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
  const text = Buffer.concat([d.update(raw.subarray(IV_BYTES + TAG_BYTES)), d.final()]).toString('utf8');
  return JSON.parse(text) as FieldValue;
}

/** Why a subject's values cannot be decrypted. */
export type KeyUnavailable = { readonly unavailable: 'shredded' | 'kek_destroyed' | 'key_service' ; readonly message: string };

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
      let rows = await store.getMany(DATA_KEYS_TABLE, unique);
      const missing = unique.filter((s) => !rows.has(s));
      if (create && missing.length > 0) {
        const fresh = await Promise.all(
          missing.map(async (s) => {
            const w = await keys.wrap(scope, randomBytes(DEK_BYTES), context(s));
            return { key: s, values: { kek: w.kek, wrapped: w.wrapped, created_at: new Date().toISOString() } };
          }),
        );
        await store.insertMany(DATA_KEYS_TABLE, fresh);
        // A racing writer may have inserted first: read back what won.
        const again = await store.getMany(DATA_KEYS_TABLE, missing);
        rows = new Map([...rows, ...again]);
      }
      await Promise.all(
        unique.map(async (s) => {
          const r = rows.get(s);
          if (!r) {
            out.set(s, { unavailable: 'shredded', message: 'the data key of this subject was destroyed (crypto-shredded) or never existed' });
            return;
          }
          try {
            out.set(s, await keys.unwrap({ kek: String(r['kek']), wrapped: String(r['wrapped']) }, context(s)));
          } catch (err) {
            if (err instanceof KeyServiceError && (err.reason === 'destroyed' || err.reason === 'unknown_kek')) {
              out.set(s, { unavailable: 'kek_destroyed', message: err.message });
              return;
            }
            throw err;
          }
        }),
      );
      return out;
    },
  };
  return api;
}
