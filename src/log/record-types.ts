// The records cordon writes to the access log, as TypeScript types: one interface per kind and
// version (`v`), and LogRecord, their union, which is what AccessLog.append takes. The schemas that
// check them at run time, and the registry that says who writes each, are in records.ts.
//
// Records name subjects only by keyed hash (subjectHash), never by key or value.

/** A subject as the log names it: base64url of an HMAC-SHA-256 keyed by the key service (43 characters). */
export type SubjectHash = string;

// ---- Records without a `type` member, told apart by `action` (the gateway's, and auditors' reads).

/** One field of a gateway decision, as its access record keeps it. */
export interface AccessFieldV1 {
  readonly field: string;
  readonly category: string | null;
  readonly class: 'protected' | 'excepted' | 'public' | null;
  readonly disclosure: 'clear' | 'tokenized' | 'masked' | 'withheld';
  readonly rules: readonly string[];
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

/** The gateway's record of one decision that released, refused, permitted or failed data. */
export interface AccessRecordV1 {
  readonly v: 1;
  readonly at: string;
  readonly principal: string;
  readonly country: string;
  readonly site: string;
  readonly action: 'read' | 'write' | 'delete' | 'decide';
  readonly dataset: string;
  /** Keyed hash of the subject's key: no personal data in the record. */
  readonly subject: SubjectHash | null;
  readonly fields: readonly AccessFieldV1[];
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

/**
 * The fields of a decision that were decided alike: one class, one disclosure, the same rules. A
 * record of 20 fields holds a handful of these, and says each field's category once.
 */
export interface AccessFieldGroupV2 {
  readonly class: AccessFieldV1['class'];
  readonly disclosure: AccessFieldV1['disclosure'];
  readonly rules: readonly string[];
  /** Each field of the group and its data category (null when unclassified). */
  readonly fields: Readonly<Record<string, string | null>>;
}

/**
 * The gateway's record of one decision, as written since v2: what v1 holds, with the fields grouped
 * by how they were decided (less than half of v1's bytes for a 20-field record; each of those bytes
 * is encoded, hashed, sent and stored on the path of every read).
 */
export interface AccessRecordV2 extends Omit<AccessRecordV1, 'v' | 'fields'> {
  readonly v: 2;
  /** In the order of their first field in the decision; every field decided is in exactly one. */
  readonly fields: readonly AccessFieldGroupV2[];
}

/** Each field of an access record of any version, as v1 lists them (v2's groups in their order). */
export function accessRecordFields(r: AccessRecordV1 | AccessRecordV2): AccessFieldV1[] {
  if (r.v === 1) return [...r.fields];
  const out: AccessFieldV1[] = [];
  for (const g of r.fields) {
    for (const [field, category] of Object.entries(g.fields)) out.push({ field, category, class: g.class, disclosure: g.disclosure, rules: g.rules });
  }
  return out;
}

/** An auditor read full records (indexes `from`..`to`); logged before they are returned. */
export interface AuditReadRecordV1 {
  readonly v: 1;
  readonly at: string;
  readonly principal: string;
  readonly country: string;
  readonly site: string;
  readonly action: 'audit_read';
  readonly from: number;
  readonly to: number;
}

// ---- Key releases.

/**
 * A data key released to this process before anything is decrypted with it: one subject's key
 * (`scope` subject: the gateway, `cordon scan --match-enclave`) or the keys of every in-scope
 * subject of a migration mapping (`scope` migration: `cordon migrate verify|purge`). Members that
 * do not apply to the scope are null.
 */
export interface KeyReleaseRecordV2 {
  readonly v: 2;
  readonly at: string;
  readonly type: 'key.release';
  readonly scope: 'subject' | 'migration';
  readonly dataset: string | null;
  readonly subject: SubjectHash | null;
  readonly mapping: string | null;
  readonly mappingSha256: string | null;
  readonly enclave: string | null;
  readonly step: 'verify' | 'purge' | null;
  /** The gateway logs a subject's release at most once per this many ms; null: every release is logged. */
  readonly everyMs: number | null;
  readonly reason: string;
  readonly policyVersion: string;
}

// ---- Migration statements.

export interface MigrateCountsV1 {
  readonly rows: number;
  readonly inScope: number;
  readonly outOfScope: number;
  readonly noSubject: number;
  readonly unknownJurisdiction: number;
}

export interface MigrateRunRecordV1 {
  readonly v: 1;
  readonly at: string;
  readonly type: 'migrate.run';
  readonly mapping: string;
  readonly mappingSha256: string;
  readonly enclave: string;
  readonly counts: MigrateCountsV1;
  readonly policyVersion: string;
}

export interface MigrateVerifyRecordV1 {
  readonly v: 1;
  readonly at: string;
  readonly type: 'migrate.verify';
  readonly mapping: string;
  readonly mappingSha256: string;
  readonly enclave: string;
  readonly counts: MigrateCountsV1;
  readonly verified: number;
  readonly legacyPurged: number;
  readonly mismatches: number;
  readonly rowHashes: string;
  readonly policyVersion: string;
  readonly statement: string;
}

export interface MigratePurgeRecordV1 {
  readonly v: 1;
  readonly at: string;
  readonly type: 'migrate.purge';
  readonly mapping: string;
  readonly enclave: string;
  readonly verifyIndex: number;
  readonly rowHashes: string;
  readonly mode: 'null' | 'delete';
  readonly purged: number;
  readonly columns: number;
  readonly notVerified: number;
  readonly verifiedLeft: number;
  readonly policyVersion: string;
  readonly statement: string;
}

export type MigrateShredRecordV1 =
  | {
      readonly v: 1;
      readonly at: string;
      readonly type: 'migrate.shred';
      readonly scope: 'kek';
      readonly kek: string;
      readonly store: string;
      readonly rewrapped: number;
      readonly policyVersion: string;
      readonly statement: string;
    }
  | {
      readonly v: 1;
      readonly at: string;
      readonly type: 'migrate.shred';
      readonly scope: 'subjects';
      readonly store: string;
      readonly subjects: readonly SubjectHash[];
      readonly destroyed: number;
      readonly policyVersion: string;
      readonly statement: string;
    };

// ---- The oversight report.

export interface ReportRecordV1 {
  readonly v: 1;
  readonly at: string;
  readonly type: 'report';
  readonly principal: string;
  readonly country: string;
  readonly site: string;
  readonly from: string;
  readonly to: string;
}

export interface ReportRecordV2 extends Omit<ReportRecordV1, 'v'> {
  readonly v: 2;
  readonly policyVersion: string;
  readonly checkpointSize: number;
  readonly figures: string;
  readonly snapshot: string;
  readonly standing: number;
  readonly leaks: number;
  readonly violations: number;
}

// ---- The access broker.

/** A grant's or request's scope, subjects as keyed hashes per dataset (null: every subject of the jurisdictions). */
export interface BrokerScopeV1 {
  readonly datasets: readonly string[];
  readonly categories: readonly string[];
  readonly subjects: Readonly<Record<string, readonly SubjectHash[]>> | null;
  readonly jurisdictions: readonly string[];
}

interface BrokerBase {
  readonly v: 1;
  readonly at: string;
  readonly policyVersion: string;
}

export interface BrokerRequestRecordV1 extends BrokerBase {
  readonly type: 'broker.request';
  readonly request: string;
  readonly principal: string;
  readonly country: string;
  readonly site: string;
  readonly reason: string;
  readonly ticket: string;
  readonly durationS: number;
  readonly group: string;
  readonly scope: BrokerScopeV1;
  readonly digest: string;
  readonly expiresAt: string;
}

export interface BrokerDecisionRecordV1 extends BrokerBase {
  readonly type: 'broker.approve' | 'broker.deny';
  readonly request: string;
  readonly principal: string;
  readonly country: string;
  readonly site: string;
  readonly comment: string;
  readonly statement: string;
}

export interface BrokerWithdrawRecordV1 extends BrokerBase {
  readonly type: 'broker.withdraw';
  readonly request: string;
}

export interface BrokerGrantRecordV1 extends BrokerBase {
  readonly type: 'broker.grant' | 'broker.break_glass';
  readonly grant: string;
  readonly request: string | null;
  readonly principal: string;
  readonly reason: string;
  readonly ticket: string;
  readonly justification: string;
  readonly scope: BrokerScopeV1;
  readonly notBefore: string;
  readonly expiresAt: string;
  readonly reviewBy: string | null;
}

export interface BrokerRevokeRecordV1 extends BrokerBase {
  readonly type: 'broker.revoke';
  readonly grant: string;
  readonly principal: string;
}

export interface BrokerExpireRecordV1 extends BrokerBase {
  readonly type: 'broker.expire';
  readonly kind: 'request' | 'grant';
  readonly id: string;
}

export interface BrokerReviewRecordV1 extends BrokerBase {
  readonly type: 'broker.review';
  readonly grant: string;
  readonly principal: string;
  readonly verdict: 'approve' | 'deny' | 'justified' | 'unjustified';
  readonly comment: string;
  readonly statement: string;
}

export interface BrokerUseRecordV1 extends BrokerBase {
  readonly type: 'broker.use';
  readonly grant: string;
}

/** The broker event types a `broker.failed` record may name. */
export type BrokerEventType = 'request' | 'approval' | 'denial' | 'withdraw' | 'grant' | 'revoke' | 'expire' | 'review' | 'use';

export interface BrokerFailedRecordV1 extends BrokerBase {
  readonly type: 'broker.failed';
  readonly event: BrokerEventType;
  readonly follows: number;
}

export interface BrokerRefusedRecordV1 extends BrokerBase {
  readonly type: 'broker.refused';
  readonly op: string;
  readonly target: string | null;
  readonly principal: string;
  readonly country: string;
  readonly site: string;
  readonly code: string;
}

export interface BrokerAlertRecordV1 {
  readonly v: 1;
  readonly at: string;
  readonly type: 'broker.alert';
  readonly grant: string;
  readonly principal: string;
  readonly webhook: string;
  readonly delivered: boolean;
  readonly status: number;
}

export interface BrokerStandingReviewRecordV1 extends BrokerBase {
  readonly type: 'broker.standing_review';
  readonly principal: string;
  readonly country: string;
  readonly site: string;
  readonly flags: readonly { readonly kind: string; readonly principal: string | null }[];
}

/** The record of one broker event (log-records.ts in the access module makes these). */
export type BrokerEventRecord =
  | BrokerRequestRecordV1
  | BrokerDecisionRecordV1
  | BrokerWithdrawRecordV1
  | BrokerGrantRecordV1
  | BrokerRevokeRecordV1
  | BrokerExpireRecordV1
  | BrokerReviewRecordV1
  | BrokerUseRecordV1;

/** Every record cordon writes today: what AccessLog.append takes. */
export type LogRecord =
  | AccessRecordV2
  | AuditReadRecordV1
  | KeyReleaseRecordV2
  | MigrateRunRecordV1
  | MigrateVerifyRecordV1
  | MigratePurgeRecordV1
  | MigrateShredRecordV1
  | ReportRecordV1
  | ReportRecordV2
  | BrokerEventRecord
  | BrokerFailedRecordV1
  | BrokerRefusedRecordV1
  | BrokerAlertRecordV1
  | BrokerStandingReviewRecordV1;

/** The `type` of each typed record written today. */
export type LogRecordType = Extract<LogRecord, { readonly type: string }>['type'];

/**
 * The kind of a record: its `type`, or, for the records that have none, `access_record` (the
 * gateway's decisions) and `audit_read` (an auditor's read), told apart by `action`.
 */
export type LogRecordKind = LogRecordType | 'access_record' | 'audit_read';
