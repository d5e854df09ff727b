// Exact matching of real enclave records by keyed hash. Inside the enclave, each protected value is
// normalised (by the same detectors, so both sides agree) and HMAC-SHA-256'd with a key from the key
// service; the scanner gets only the hashes and the key, never a clear value, and reports a
// detection whose hash is in the set as a copy of an enclave record.
//
// The key MUST stay with the scanner (on the enclave's side of the wire, or in its key service):
// with key and hashes, low-entropy values such as phone numbers can be enumerated.

import { createDataKeys, decryptField, isCiphertext, DATA_KEYS_TABLE, type Store, type KeyService, type KeyUnavailable } from '../store/index.js';
import type { Policy } from '../policy/index.js';
import { classOf } from '../policy/index.js';
import { detect } from './detect.js';
import { FINGERPRINT_KEY_NAME, createFingerprints, fingerprintHash, type FingerprintEntry, type Fingerprints } from './fingerprint-set.js';

export { FINGERPRINT_KEY_NAME, fingerprintHash, createFingerprints, type FingerprintEntry, type Fingerprints } from './fingerprint-set.js';

/** The detected category and normalised value of a stored field value, as the scanner would see it. */
function normalise(value: string, field: string): { category: string; value: string } | undefined {
  const d = detect(value, { hint: field, minConfidence: 0 })[0];
  if (d && d.start === 0 && d.end === value.trim().length) return { category: d.category, value: d.value };
  return undefined;
}

/** Rows whose data keys are fetched together. */
const KEY_PAGE = 1000;

export interface FingerprintOptions {
  /** Where records' subject fields live when they are not in the enclave store. */
  readonly global?: Store;
  /**
   * Called with the subjects (`dataset/key`) whose data keys are about to be used, and the dataset
   * being fingerprinted, before any value is decrypted with them; it makes the release durable
   * (the CLI appends `key.release` records to the access log). If it throws, nothing of those
   * subjects is decrypted and fingerprinting stops with its error.
   */
  readonly onKeyRelease: (subjects: readonly string[], dataset: string) => Promise<void>;
  /** Called after each page with the records read so far (all datasets) and the dataset being read. */
  readonly onProgress?: (records: number, dataset: string) => void;
}

/**
 * Hashes every value of the enclave store's catalog fields whose category is protected in one of
 * the enclave's jurisdictions and that a detector recognises. Runs inside the enclave: values
 * encrypted at rest are decrypted here with their subject's data key, released through
 * `onKeyRelease` first (a shredded subject's values are skipped: nothing of them can be matched),
 * and only hashes leave this function.
 */
export async function fingerprintEnclave(
  policy: Policy,
  enclaveName: string,
  store: Store,
  keys: KeyService,
  options: FingerprintOptions,
): Promise<Fingerprints> {
  const enclave = policy.deployment.enclaves.get(enclaveName);
  if (!enclave) throw new Error(`unknown enclave ${enclaveName}`);
  const key = keys.key('tokenize', FINGERPRINT_KEY_NAME);
  const tables = new Set(await store.tables());
  const dataKeys = tables.has(`ds_${DATA_KEYS_TABLE}`) || tables.has(DATA_KEYS_TABLE) ? createDataKeys(store, keys) : undefined;
  const entries = new Map<string, FingerprintEntry>();
  const globalTables = options.global ? new Set(await options.global.tables()) : new Set<string>();
  const ensuredGlobal = new Set<string>();
  let read = 0;
  // jsonb columns come back as JSON text ("\"+1…\"").
  const text = (raw: string): string => (raw.startsWith('"') ? (JSON.parse(raw) as string) : raw);
  for (const ds of policy.datasets.values()) {
    const table = tables.has(`ds_${ds.name}`) ? `ds_${ds.name}` : tables.has(ds.name) ? ds.name : undefined;
    if (!table) continue;
    const fields = [...ds.fields.values()].filter((f) =>
      enclave.jurisdictions.some((j) => classOf(policy.classes, policy.taxonomy, j, f.category) === 'protected'),
    );
    if (fields.length === 0) continue;
    const add = (field: { name: string; category: string }, value: string) => {
      const n = normalise(value, field.name);
      if (!n) return;
      const hash = fingerprintHash(key, n.category, n.value);
      entries.set(hash, { hash, category: field.category, enclave: enclave.name });
    };
    const page: Readonly<Record<string, string | null>>[] = [];
    const flush = async () => {
      const needed = page.filter((row) => fields.some((f) => row[f.name] != null && isCiphertext(text(row[f.name]!))));
      // Each record's subject: its subject field, which is often not protected and so lives in the
      // global store (read there, keys only), or the record key when the key names the subject.
      const subjectKey = new Map<string, string>();
      const elsewhere: string[] = [];
      for (const row of needed) {
        const k = row['key'];
        if (k == null) continue;
        const raw = row[ds.subjectField];
        if (raw != null) subjectKey.set(k, text(raw));
        else if (ds.subjectField === ds.key) subjectKey.set(k, k);
        else elsewhere.push(k);
      }
      if (elsewhere.length > 0 && options.global && (globalTables.has(`ds_${ds.name}`) || globalTables.has(ds.name))) {
        // The columns the gateway gives the table (placement's init), so reading it alters nothing.
        if (!ensuredGlobal.has(ds.name)) {
          await options.global.ensureTable({ name: ds.name, fields: [...ds.fields.keys()] });
          ensuredGlobal.add(ds.name);
        }
        for (const [k, r] of await options.global.getMany(ds.name, elsewhere)) {
          const v = r[ds.subjectField];
          if (v !== null && v !== undefined) subjectKey.set(k, String(v));
        }
      }
      const subjectOf = (row: Readonly<Record<string, string | null>>) => {
        const s = row['key'] == null ? undefined : subjectKey.get(row['key']);
        return s === undefined ? undefined : `${ds.subjectDataset ?? ds.name}/${s}`;
      };
      const subjects = [...new Set(needed.map(subjectOf).filter((s): s is string => s !== undefined))];
      const deks = dataKeys && subjects.length > 0 ? await dataKeys.get(subjects, false) : new Map<string, Buffer | KeyUnavailable>();
      const released = subjects.filter((s) => Buffer.isBuffer(deks.get(s)));
      if (released.length > 0) await options.onKeyRelease(released, ds.name);
      for (const row of page) {
        for (const f of fields) {
          const raw = row[f.name];
          if (raw === null || raw === undefined) continue;
          let value: unknown = text(raw);
          if (isCiphertext(value)) {
            const subject = subjectOf(row);
            const dek = subject === undefined ? undefined : deks.get(subject);
            if (!Buffer.isBuffer(dek) || row['key'] == null) continue;
            try {
              value = decryptField(dek, ds.name, row['key'], f.name, value);
            } catch {
              continue; // does not authenticate where it lies: not a value of this record
            }
          }
          if (typeof value === 'string') add(f, value);
        }
      }
      page.length = 0;
    };
    for await (const row of store.dump(table)) {
      page.push(row);
      if (page.length >= KEY_PAGE) {
        read += page.length;
        await flush();
        options.onProgress?.(read, ds.name);
      }
    }
    read += page.length;
    await flush();
    options.onProgress?.(read, ds.name);
  }
  return createFingerprints(key, [...entries.values()]);
}
