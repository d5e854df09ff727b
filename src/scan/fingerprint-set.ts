// The set of enclave fingerprints a scanner matches detections against: keyed hashes only, no clear
// value. Apart from fingerprints.ts (which builds the set inside the enclave and needs the policy)
// so that worker threads load only this.
//
// The key MUST stay with the scanner (on the enclave's side of the wire, or in its key service):
// with key and hashes, low-entropy values such as phone numbers can be enumerated.

import { createHmac } from 'node:crypto';
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
