// Exact matching of real enclave records by keyed hash. Inside the enclave, each protected value is
// normalised (by the same detectors, so both sides agree) and HMAC-SHA-256'd with a key from the key
// service; the scanner gets only the hashes and the key, never a clear value, and reports a
// detection whose hash is in the set as a copy of an enclave record.
//
// The key MUST stay with the scanner (on the enclave's side of the wire, or in its key service):
// with key and hashes, low-entropy values such as phone numbers can be enumerated.

import { createHmac } from 'node:crypto';
import type { Store, KeyService } from '../store/index.js';
import type { Policy } from '../policy/index.js';
import { classOf } from '../policy/index.js';
import { detect } from './detect.js';
import type { Detection } from './types.js';

/** The key-service name of the fingerprint key. */
export const FINGERPRINT_KEY_NAME = 'scan-fingerprints';

export interface FingerprintEntry {
  /** base64url HMAC of `category NUL normalised value`. */
  readonly hash: string;
  /** The catalog category of the enclave field the value came from. */
  readonly category: string;
  readonly enclave: string;
}

export interface Fingerprints {
  readonly size: number;
  /** The detection as an enclave match when its value is a known enclave value, else undefined. */
  match(d: Detection): Detection | undefined;
  /** The hashes only (no key), for handing to worker threads with the key beside them. */
  readonly entries: readonly FingerprintEntry[];
  readonly key: Buffer;
}

export function fingerprintHash(key: Buffer, detectedCategory: string, value: string): string {
  return createHmac('sha256', key).update(`${detectedCategory}\u0000${value}`).digest('base64url');
}

export function createFingerprints(key: Buffer, entries: readonly FingerprintEntry[]): Fingerprints {
  const byHash = new Map(entries.map((e) => [e.hash, e]));
  return {
    size: byHash.size,
    entries,
    key,
    match(d) {
      const e = byHash.get(fingerprintHash(key, d.category, d.value));
      return e ? { ...d, detector: 'enclave_match', category: e.category, confidence: 1, enclave: e.enclave } : undefined;
    },
  };
}

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

