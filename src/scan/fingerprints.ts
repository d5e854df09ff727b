// Exact matching of real enclave records by keyed hash. Inside the enclave, each protected value is
// normalised (by the same detectors, so both sides agree) and HMAC-SHA-256'd with a key from the key
// service; the scanner gets only the hashes and the key, never a clear value, and reports a
// detection whose hash is in the set as a copy of an enclave record.
//
// The key MUST stay with the scanner (on the enclave's side of the wire, or in its key service):
// with key and hashes, low-entropy values such as phone numbers can be enumerated.

import type { Store, KeyService } from '../store/index.js';
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

/**
 * Hashes every value of the enclave store's catalog fields whose category is protected in one of
 * the enclave's jurisdictions and that a detector recognises. Runs inside the enclave.
 */
export async function fingerprintEnclave(policy: Policy, enclaveName: string, store: Store, keys: KeyService): Promise<Fingerprints> {
  const enclave = policy.deployment.enclaves.get(enclaveName);
  if (!enclave) throw new Error(`unknown enclave ${enclaveName}`);
  const key = keys.key('tokenize', FINGERPRINT_KEY_NAME);
  const tables = new Set(await store.tables());
  const entries = new Map<string, FingerprintEntry>();
  for (const ds of policy.datasets.values()) {
    const table = tables.has(`ds_${ds.name}`) ? `ds_${ds.name}` : tables.has(ds.name) ? ds.name : undefined;
    if (!table) continue;
    const fields = [...ds.fields.values()].filter((f) => enclave.jurisdictions.some((j) => classOf(policy.classes, policy.taxonomy, j, f.category) === 'protected'));
    if (fields.length === 0) continue;
    for await (const row of store.dump(table)) {
      for (const f of fields) {
        const raw = row[f.name];
        if (raw === null || raw === undefined) continue;
        // jsonb columns come back as JSON text ("\"+1…\"").
        const text = raw.startsWith('"') ? (JSON.parse(raw) as string) : raw;
        const n = normalise(text, f.name);
        if (!n) continue;
        const hash = fingerprintHash(key, n.category, n.value);
        entries.set(hash, { hash, category: f.category, enclave: enclave.name });
      }
    }
  }
  return createFingerprints(key, [...entries.values()]);
}

