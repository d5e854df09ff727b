// Recording decisions: every decision that releases or refuses data becomes an access record, and
// the response waits for it (nothing unlogged). The access-log issue replaces this simple recorder
// (an append-only table) with the Merkle log; the interface stays.

import { createHmac } from 'node:crypto';
import type { Decision } from '../policy/index.js';
import type { KeyService, Store } from '../store/index.js';

export interface AccessRecordV1 {
  readonly v: 1;
  readonly at: string;
  readonly principal: string;
  readonly country: string;
  readonly site: string;
  readonly action: 'read' | 'write' | 'delete' | 'decide';
  readonly dataset: string;
  /** Keyed hash of the subject's key: no personal data in the record. */
  readonly subject: string | null;
  readonly fields: readonly { readonly field: string; readonly category: string | null; readonly class: string | null; readonly disclosure: string; readonly rules: readonly string[] }[];
  readonly grant: string | null;
  readonly outcome: 'released' | 'refused';
  readonly policyVersion: string;
}

export interface AccessRecorder {
  /** Resolves when the record is durable; rejects when it could not be recorded (then send nothing protected). */
  record(r: AccessRecordV1): Promise<{ readonly index: number }>;
}

export const ACCESS_LOG = 'access';

/**
 * Records into an append-only table of `store`. Records that arrive together are written in one
 * statement (group commit): each caller still waits until its own record is durable.
 */
export function createStoreRecorder(store: Store): AccessRecorder {
  let pending: { record: AccessRecordV1; done: (index: number) => void; fail: (err: unknown) => void }[] = [];
  const flush = async () => {
    const batch = pending;
    pending = [];
    try {
      const indexes = await store.appendMany(ACCESS_LOG, batch.map((b) => b.record));
      batch.forEach((b, i) => b.done(indexes[i]!));
    } catch (err) {
      for (const b of batch) b.fail(err);
    }
  };
  return {
    record: (record) =>
      new Promise((done, fail) => {
        if (pending.length === 0) setImmediate(() => void flush());
        pending.push({ record, done: (index) => done({ index }), fail });
      }),
  };
}

export function subjectHash(keys: KeyService, dataset: string, subject: string | undefined): string | null {
  if (subject === undefined) return null;
  return createHmac('sha256', keys.key('tokenize', 'access-log-subjects')).update(`${dataset}\u0000${subject}`).digest('base64url');
}

export function accessRecord(
  decision: Decision,
  action: AccessRecordV1['action'],
  where: { country: string; site: string },
  subject: string | null,
  outcome: AccessRecordV1['outcome'],
  now = new Date(),
): AccessRecordV1 {
  return {
    v: 1,
    at: now.toISOString(),
    principal: decision.principal,
    country: where.country,
    site: where.site,
    action,
    dataset: decision.dataset,
    subject,
    fields: decision.fields.map((f) => ({ field: f.field, category: f.category ?? null, class: f.class ?? null, disclosure: f.disclosure, rules: f.rules })),
    grant: decision.fields.find((f) => f.grant !== undefined)?.grant ?? null,
    outcome,
    policyVersion: decision.policyVersion,
  };
}
