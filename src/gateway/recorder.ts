// Recording decisions: every decision that releases or refuses data becomes an access record, and
// the response waits until it is durable in the access log (nothing unlogged).

import type { Decision, GrantInfo } from '../policy/index.js';

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
  /** The grant that released a field, with what a monitor needs to judge it (expired? break-glass?). */
  readonly grant: { readonly id: string; readonly reason: string; readonly ticket: string; readonly expiresAt: string; readonly breakGlass: boolean } | null;
  /** The subject's jurisdiction and the countries its enclave allows protected data to be seen from. */
  readonly jurisdiction: string | null;
  readonly enclaveCountries: readonly string[];
  /**
   * `released`: the fields were sent (reads). `refused`: nothing was. `permitted`: a write was allowed
   * and is about to be made (written before the store changes, so it never claims the write took);
   * `failed`: the store failed after the record `follows` permitted it.
   */
  readonly outcome: 'released' | 'refused' | 'permitted' | 'failed';
  readonly policyVersion: string;
  /** What a write moved or declassified besides its body's fields (absent when nothing). */
  readonly effects?: readonly WriteEffect[];
  /** For `failed`: the index of the record that permitted the write. */
  readonly follows?: number;
}

/** A field a write moved to another jurisdiction or subject (`transfer`), or declassified (`declassify`). */
export interface WriteEffect {
  readonly action: 'transfer' | 'declassify';
  readonly dataset: string;
  readonly field: string;
  /** Jurisdictions (or subjects' keyed hashes) for a transfer; classes for a declassification. */
  readonly from: string;
  readonly to: string;
  /** Whether the rules permitted it (a refused write lists what it would have done). */
  readonly allowed: boolean;
  readonly rules: readonly string[];
}

/** What the gateway knows beside the decision: the grants in play and the policy's enclaves. */
export interface RecordContext {
  readonly grants: readonly GrantInfo[];
  readonly enclaveCountries: (jurisdiction: string) => readonly string[];
}

export interface AccessRecorder {
  /** Resolves when the record is durable; rejects when it could not be recorded (then send nothing protected). */
  record(r: AccessRecordV1): Promise<{ readonly index: number }>;
}

export function accessRecord(
  decision: Decision,
  action: AccessRecordV1['action'],
  where: { country: string; site: string },
  subject: string | null,
  outcome: AccessRecordV1['outcome'],
  now = new Date(),
  context: RecordContext = { grants: [], enclaveCountries: () => [] },
): AccessRecordV1 {
  const grantId = decision.fields.find((f) => f.grant !== undefined)?.grant;
  const grant = grantId === undefined ? undefined : context.grants.find((g) => g.id === grantId);
  const jurisdiction = decision.fields.find((f) => f.jurisdiction !== undefined)?.jurisdiction ?? null;
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
    grant: grantId === undefined ? null : { id: grantId, reason: grant?.reason ?? '', ticket: grant?.ticket ?? '', expiresAt: grant ? new Date(grant.expiresAt).toISOString() : '', breakGlass: grant?.breakGlass ?? false },
    jurisdiction,
    enclaveCountries: jurisdiction === null ? [] : context.enclaveCountries(jurisdiction),
    outcome,
    policyVersion: decision.policyVersion,
  };
}

const str = JSON.stringify;
const strOrNull = (v: string | null): string => (v === null ? 'null' : str(v));

/**
 * An access record as canonical JSON (members sorted, no whitespace), written out directly: it is
 * made once per request, and this is several times faster than the generic encoder. It MUST equal
 * canonicalJson(r) byte for byte (the log entry commits to it); recorder.test.ts checks that.
 */
export function encodeAccessRecord(r: AccessRecordV1): string {
  let fields = '';
  for (let i = 0; i < r.fields.length; i++) {
    const f = r.fields[i]!;
    let rules = '';
    for (let k = 0; k < f.rules.length; k++) rules += (k === 0 ? '' : ',') + str(f.rules[k]);
    fields += `${i === 0 ? '' : ','}{"category":${strOrNull(f.category)},"class":${strOrNull(f.class)},"disclosure":${str(f.disclosure)},"field":${str(f.field)},"rules":[${rules}]}`;
  }
  const g = r.grant;
  const grant = g === null ? 'null' : `{"breakGlass":${g.breakGlass},"expiresAt":${str(g.expiresAt)},"id":${str(g.id)},"reason":${str(g.reason)},"ticket":${str(g.ticket)}}`;
  let countries = '';
  for (let k = 0; k < r.enclaveCountries.length; k++) countries += (k === 0 ? '' : ',') + str(r.enclaveCountries[k]);
  let effects = '';
  if (r.effects !== undefined) {
    for (let i = 0; i < r.effects.length; i++) {
      const e = r.effects[i]!;
      let rules = '';
      for (let k = 0; k < e.rules.length; k++) rules += (k === 0 ? '' : ',') + str(e.rules[k]);
      effects += `${i === 0 ? '' : ','}{"action":${str(e.action)},"allowed":${e.allowed},"dataset":${str(e.dataset)},"field":${str(e.field)},"from":${str(e.from)},"rules":[${rules}],"to":${str(e.to)}}`;
    }
    effects = `"effects":[${effects}],`;
  }
  return (
    `{"action":${str(r.action)},"at":${str(r.at)},"country":${str(r.country)},"dataset":${str(r.dataset)},${effects}"enclaveCountries":[${countries}],"fields":[${fields}],` +
    `${r.follows === undefined ? '' : `"follows":${r.follows},`}"grant":${grant},"jurisdiction":${strOrNull(r.jurisdiction)},"outcome":${str(r.outcome)},"policyVersion":${str(r.policyVersion)},"principal":${str(r.principal)},` +
    `"site":${str(r.site)},"subject":${strOrNull(r.subject)},"v":1}`
  );
}
