// The one maker of key.release records (v2, one shape for every writer): a subject's data key given
// to the gateway or to `cordon scan --match-enclave`, or a migration step's keys, each logged before
// anything is decrypted with it. Subjects are named by keyed hash only.

import { subjectHash, type KeyService } from '../store/index.js';
import type { KeyReleaseRecordV2 } from './record-types.js';

/** One subject's data key, released to this process (the gateway, the scanner). */
export function keyReleaseRecord(
  keys: KeyService,
  release: {
    readonly at: string;
    readonly dataset: string;
    readonly subject: string;
    readonly reason: string;
    readonly policyVersion: string;
    readonly everyMs?: number;
  },
): KeyReleaseRecordV2 {
  const { at, dataset, subject, reason, policyVersion, everyMs } = release;
  return {
    v: 2,
    at,
    type: 'key.release',
    scope: 'subject',
    dataset,
    subject: subjectHash(keys, dataset, subject),
    mapping: null,
    mappingSha256: null,
    enclave: null,
    step: null,
    everyMs: everyMs ?? null,
    reason,
    policyVersion,
  };
}

/** The data keys of every in-scope subject of a migration mapping, released to one step. */
export function migrationKeyReleaseRecord(release: {
  readonly at: string;
  readonly step: 'verify' | 'purge';
  readonly mapping: string;
  readonly mappingSha256: string;
  readonly enclave: string;
  readonly reason: string;
  readonly policyVersion: string;
}): KeyReleaseRecordV2 {
  const { at, step, mapping, mappingSha256, enclave, reason, policyVersion } = release;
  return {
    v: 2,
    at,
    type: 'key.release',
    scope: 'migration',
    dataset: null,
    subject: null,
    mapping,
    mappingSha256,
    enclave,
    step,
    everyMs: null,
    reason,
    policyVersion,
  };
}
