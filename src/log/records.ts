// The one registry of access-log record kinds: for each, the schema of every version ever written,
// the version written today, who writes it, who reads it and what `log verify --records` checks.
// AccessLog.append refuses a record that is of no registered kind or fails its schema (nothing is
// appended); the monitor reads every version, since logs are permanent. docs/log-records.md shows
// the same registry; records.test.ts keeps the two, and the monitor, in step.

import Ajv from 'ajv';
import type { ValidateFunction } from 'ajv';
import { CordonError } from '../shared/errors.js';
import {
  ACCESS_RECORD_V1,
  ACCESS_RECORD_V2,
  AUDIT_READ_V1,
  BROKER_SCHEMAS,
  KEY_RELEASE_V1,
  KEY_RELEASE_V2,
  MIGRATE_PURGE_V1,
  MIGRATE_RUN_V1,
  MIGRATE_SHRED_V1,
  MIGRATE_VERIFY_V1,
  REPORT_V1,
  REPORT_V2,
  type JsonSchema,
} from './record-schemas.js';

/** What `log verify --records` (monitor.ts) checks, by name. */
export const RECORD_CHECKS = {
  commitment: 'The record and its salt hash to the public entry at its index; a record changed after it was logged is a mismatch.',
  schema:
    "The record is of a registered kind and version and fits that version's schema; otherwise it is an `invalid_record` finding (and not judged further).",
  outside_enclave: "Protected fields shown in clear to a caller outside the countries of the subject's enclave.",
  no_grant: 'Protected fields shown in clear without a grant.',
  expired_grant: 'Protected fields shown in clear under a grant that had expired when the access was made.',
  transfer: 'A permitted write moved a field to another jurisdiction or subject (flagged for a person to judge).',
  declassify: 'A permitted write declassified a field (flagged for a person to judge).',
} as const;
export type RecordCheckName = keyof typeof RECORD_CHECKS;

export interface LogRecordKindInfo {
  /** One line: what the record says happened. */
  readonly summary: string;
  /** The version writers write today; null for a retired kind (still read, never written). */
  readonly current: number | null;
  /** Every version ever written, with the schema a stored record of it fits. */
  readonly versions: Readonly<Record<number, JsonSchema>>;
  /** Who writes it (module and file); none for a retired kind. */
  readonly writers: readonly string[];
  /** Who reads it besides the monitor. */
  readonly readers: readonly string[];
  /** What `log verify --records` checks about it (RECORD_CHECKS). */
  readonly checks: readonly RecordCheckName[];
  /** A retired kind's name today: its records have that kind's members, under the old `type`. */
  readonly renamedTo?: string;
}

const BASIC: readonly RecordCheckName[] = ['commitment', 'schema'];
const REPORT_READS = 'server/report.ts: the oversight report lists it among the migration statements';

/** A broker kind written today. */
function broker(name: string, writers: readonly string[], readers: readonly string[] = []): [string, LogRecordKindInfo] {
  const schema = BROKER_SCHEMAS[name]!(`broker.${name}`);
  return [`broker.${name}`, { summary: String(schema['description']), current: 1, versions: { 1: schema }, writers, readers, checks: BASIC }];
}

/** The name of a broker kind in commit e1b4790 (renamed broker.* in 20d6d76): read, never written. */
function retiredBroker(name: string): [string, LogRecordKindInfo] {
  return [
    `access.${name}`,
    {
      summary: `Retired: what commit e1b4790 called \`broker.${name}\` (renamed in 20d6d76).`,
      current: null,
      versions: { 1: BROKER_SCHEMAS[name]!(`access.${name}`) },
      writers: [],
      readers: [],
      checks: BASIC,
      renamedTo: `broker.${name}`,
    },
  ];
}
const RETIRED_BROKER_KINDS = [
  'request',
  'approve',
  'deny',
  'withdraw',
  'grant',
  'break_glass',
  'revoke',
  'expire',
  'review',
  'use',
  'refused',
  'alert',
  'standing_review',
];

const JOURNAL = ['access: src/access/log-records.ts (logRecord), appended by src/access/journal.ts before the event is stored'];

/** Every record kind the access log has ever held. */
export const LOG_RECORDS: Readonly<Record<string, LogRecordKindInfo>> = Object.fromEntries([
  [
    'access_record',
    {
      summary: 'A decision of the gateway that released, refused, permitted or failed data (no `type`; `action` is read, write, delete or decide).',
      current: 2,
      versions: { 1: ACCESS_RECORD_V1, 2: ACCESS_RECORD_V2 },
      writers: [
        'gateway: src/gateway/routes.ts (accessRecord, every data API request and POST /v1/decide), appended by src/server/app.ts as encodeAccessRecord',
      ],
      readers: ['server/report.ts: access by reason, outcome, country and team; protected fields in clear; refused reads'],
      checks: [...BASIC, 'outside_enclave', 'no_grant', 'expired_grant', 'transfer', 'declassify'],
    },
  ],
  [
    'audit_read',
    {
      summary: 'An auditor read full records (no `type`; `action` is audit_read); logged before they are returned.',
      current: 1,
      versions: { 1: AUDIT_READ_V1 },
      writers: ['log: src/log/routes.ts (GET /v1/log/records, GET /v1/log/records/:index)'],
      readers: [],
      checks: BASIC,
    },
  ],
  [
    'key.release',
    {
      summary:
        "A data key was released to this process, before anything is decrypted with it: one subject's (scope `subject`) or those of a migration mapping's in-scope subjects (scope `migration`); v2 is one shape for both, members of the other scope null. Made by keyReleaseRecord and migrationKeyReleaseRecord (src/log/key-release.ts).",
      current: 2,
      versions: { 1: KEY_RELEASE_V1, 2: KEY_RELEASE_V2 },
      writers: [
        "server: src/server/app.ts (the gateway: a subject's key, at most once per everyMs)",
        "cli: src/cli/scan.ts (scan --match-enclave, a subject's key)",
        "migrate: src/migrate/statements.ts (verify and purge, the mapping's keys)",
      ],
      readers: [],
      checks: BASIC,
    },
  ],
  [
    'migrate.run',
    {
      summary: String(MIGRATE_RUN_V1['description']),
      current: 1,
      versions: { 1: MIGRATE_RUN_V1 },
      writers: ['cli: src/cli/migrate.ts (cordon migrate run)'],
      readers: [REPORT_READS],
      checks: BASIC,
    },
  ],
  [
    'migrate.verify',
    {
      summary: String(MIGRATE_VERIFY_V1['description']),
      current: 1,
      versions: { 1: MIGRATE_VERIFY_V1 },
      writers: ['migrate: src/migrate/verify.ts'],
      readers: [REPORT_READS, "migrate/purge.ts: purge checks that the statement it relies on is this record's"],
      checks: BASIC,
    },
  ],
  [
    'migrate.purge',
    {
      summary: String(MIGRATE_PURGE_V1['description']),
      current: 1,
      versions: { 1: MIGRATE_PURGE_V1 },
      writers: ['migrate: src/migrate/purge.ts'],
      readers: [REPORT_READS, 'migrate/purge.ts: a finished purge gives back its statement'],
      checks: BASIC,
    },
  ],
  [
    'migrate.shred',
    {
      summary: String(MIGRATE_SHRED_V1['description']),
      current: 1,
      versions: { 1: MIGRATE_SHRED_V1 },
      writers: ['migrate: src/migrate/shred.ts'],
      readers: [REPORT_READS],
      checks: BASIC,
    },
  ],
  [
    'report',
    {
      summary: String(REPORT_V2['description']),
      current: 2,
      versions: { 1: REPORT_V1, 2: REPORT_V2 },
      writers: ['server: src/server/report.ts (buildReport, for GET /v1/report)'],
      readers: ['cli: src/cli/report.ts (cordon report --verify)'],
      checks: BASIC,
    },
  ],
  broker('request', JOURNAL),
  broker('approve', JOURNAL),
  broker('deny', JOURNAL),
  broker('withdraw', JOURNAL),
  broker('grant', JOURNAL),
  broker('break_glass', JOURNAL),
  broker('revoke', JOURNAL),
  broker('expire', JOURNAL),
  broker('review', JOURNAL),
  broker('use', JOURNAL),
  broker('failed', ['access: src/access/journal.ts (commit, when the store fails after the record)']),
  broker('refused', ['access: src/access/journal.ts (act)'], ['server/report.ts: refused broker acts by code']),
  broker('alert', ['access: src/access/alerts.ts']),
  broker('standing_review', ['server: src/server/app.ts (GET /v1/access/review)']),
  ...RETIRED_BROKER_KINDS.map(retiredBroker),
]);

export function isLogRecordKind(kind: string): boolean {
  return Object.hasOwn(LOG_RECORDS, kind);
}

/**
 * The kind of a record: its `type`; for a record without one, `audit_read` or `access_record` by
 * its `action`. Undefined when it is not an object, or has neither a string `type` nor `action`.
 */
export function recordKind(record: unknown): string | undefined {
  if (typeof record !== 'object' || record === null || Array.isArray(record)) return undefined;
  const r = record as { type?: unknown; action?: unknown };
  if (r.type !== undefined) return typeof r.type === 'string' ? r.type : undefined;
  if (typeof r.action !== 'string') return undefined;
  return r.action === 'audit_read' ? 'audit_read' : 'access_record';
}

/** What is wrong with a record: which kind and version it claims, where, and what (never a value). */
export interface RecordProblem {
  readonly kind: string | undefined;
  readonly message: string;
}

// Compiled on first use, once per kind and version: most processes use a few kinds.
let ajv: InstanceType<typeof Ajv.default> | undefined;
const compiled = new Map<string, ValidateFunction>();
function validatorOf(kind: string, v: number, schema: JsonSchema): ValidateFunction {
  const id = `${kind}@${v}`;
  let fn = compiled.get(id);
  if (!fn) {
    // ajv is CommonJS; under NodeNext its default import is module.exports, whose `default` is the class.
    ajv ??= new Ajv.default({ strict: true, allowUnionTypes: true, discriminator: true, allErrors: false });
    fn = ajv.compile(schema);
    compiled.set(id, fn);
  }
  return fn;
}

const quoted = (s: string) => JSON.stringify(s.length > 60 ? `${s.slice(0, 60)}…` : s);

/**
 * The first problem of a record, or undefined when it is fine. `append`: of a kind written today,
 * at its current version. `read`: of any kind and version ever written. Messages name kinds,
 * versions, paths and member names, never a member's value.
 */
export function checkLogRecord(record: unknown, purpose: 'append' | 'read'): RecordProblem | undefined {
  const kind = recordKind(record);
  if (kind === undefined) return { kind, message: 'a log record is an object with a string `type`, or without one an `action`' };
  const info = LOG_RECORDS[kind];
  if (!info || !isLogRecordKind(kind)) return { kind, message: `${quoted(kind)} is not a registered log record type` };
  if (purpose === 'append' && info.current === null) return { kind, message: `${kind} is retired: it is read in old logs, never written` };
  const v = (record as { v?: unknown }).v;
  const versions = Object.keys(info.versions).map(Number);
  if (typeof v !== 'number' || !versions.includes(v))
    return { kind, message: `${kind} has no version ${typeof v === 'number' ? v : quoted(String(v))} (versions ${versions.join(', ')})` };
  if (purpose === 'append' && v !== info.current) return { kind, message: `${kind} is written at version ${info.current}, not ${v}` };
  const validate = validatorOf(kind, v, info.versions[v]!);
  if (validate(record)) return undefined;
  const e = validate.errors?.find((x) => x.keyword !== 'oneOf' && x.keyword !== 'if') ?? validate.errors?.[0];
  const where = e?.instancePath ? e.instancePath : 'the record';
  const what =
    e?.keyword === 'additionalProperties'
      ? `has a member ${quoted(String((e.params as { additionalProperty?: unknown }).additionalProperty))} that its schema does not name`
      : (e?.message ?? 'does not fit its schema');
  return { kind, message: `${kind} v${v}: ${where} ${what}` };
}

/** A record refused by AccessLog.append: nothing of it was appended. */
export class InvalidLogRecordError extends CordonError {
  constructor(readonly problem: RecordProblem) {
    super('log.invalid_record', `the access log refused a record: ${problem.message}; nothing was appended`);
  }
}

/** Throws InvalidLogRecordError unless `record` is of a kind written today and fits its schema. */
export function assertAppendable(record: unknown): void {
  const problem = checkLogRecord(record, 'append');
  if (problem) throw new InvalidLogRecordError(problem);
}
