// The registry of access-log record kinds, docs/log-records.md and the monitor agree; every kind
// written today has a typed sample that its schema accepts; every shape the log has ever held (from
// the git history) is still read; and the schemas refuse what no writer writes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { KeyService } from '../store/index.js';
import { isErrorCode } from '../shared/errors.js';
import { LOG_RECORDS, RECORD_CHECKS, checkLogRecord, recordKind } from './records.js';
import { renderChecks, renderKind } from './record-docs.js';
import { RECORD_JUDGES } from './monitor.js';
import { keyReleaseRecord, migrationKeyReleaseRecord } from './key-release.js';
import type { AccessRecordV1, AccessRecordV2, AuditReadRecordV1, BrokerScopeV1, LogRecord, LogRecordKind } from './record-types.js';
import type { JsonSchema } from './record-schemas.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const AT = '2026-11-25T10:00:00.000Z';
const H = 'x'.repeat(43);
const keys = { key: () => Buffer.alloc(32, 7) } as unknown as KeyService;
const scope: BrokerScopeV1 = { datasets: ['users'], categories: ['user.contact'], subjects: { users: [H] }, jurisdictions: ['US'] };
const actor = { principal: 'austin-engineer', country: 'US', site: 'austin' };

type RecordOf<K extends LogRecordKind> = K extends 'access_record'
  ? AccessRecordV2
  : K extends 'audit_read'
    ? AuditReadRecordV1
    : LogRecord & { readonly type: K };

/** What v1 and v2 access records share: everything but the fields. */
const accessCommon = {
  at: AT,
  ...actor,
  action: 'read',
  dataset: 'users',
  subject: H,
  grant: { id: 'g', reason: 'USER_SUPPORT', ticket: 'SUP-1', expiresAt: '2026-11-25T18:00:00.000Z', breakGlass: false },
  jurisdiction: 'US',
  enclaveCountries: ['US'],
  outcome: 'released',
  policyVersion: 'pv',
} as const;

const accessV1: AccessRecordV1 = {
  ...accessCommon,
  v: 1,
  fields: [
    { field: 'email', category: 'user.contact.email', class: 'protected', disclosure: 'clear', rules: ['enclave-grant-clear'] },
    { field: 'bio', category: null, class: null, disclosure: 'withheld', rules: [] },
  ],
};

const access: AccessRecordV2 = {
  ...accessCommon,
  v: 2,
  fields: [
    {
      class: 'protected',
      disclosure: 'clear',
      rules: ['enclave-grant-clear'],
      fields: { email: 'user.contact.email', phone_number: 'user.contact.phone_number' },
    },
    { class: null, disclosure: 'withheld', rules: [], fields: { bio: null } },
  ],
};

/** One record of each kind written today, typed: a kind without a sample does not compile. */
const SAMPLES: { readonly [K in LogRecordKind]: readonly RecordOf<K>[] } = {
  access_record: [
    access,
    {
      ...access,
      action: 'write',
      outcome: 'permitted',
      grant: null,
      effects: [{ action: 'declassify', dataset: 'videos', field: 'caption', from: 'protected', to: 'public', allowed: true, rules: ['app-acts-for-user'] }],
    },
    { ...access, action: 'write', outcome: 'failed', follows: 12 },
  ],
  audit_read: [{ v: 1, at: AT, ...actor, action: 'audit_read', from: 0, to: 99 }],
  'key.release': [
    keyReleaseRecord(keys, { at: AT, dataset: 'users', subject: 'demo-us-1', reason: 'read', everyMs: 60_000, policyVersion: 'pv' }),
    keyReleaseRecord(keys, { at: AT, dataset: 'users', subject: 'demo-us-1', reason: 'cordon scan --match-enclave', policyVersion: 'pv' }),
    migrationKeyReleaseRecord({ at: AT, step: 'verify', mapping: 'm', mappingSha256: 'ab', enclave: 'us', reason: 'r', policyVersion: 'pv' }),
  ],
  'migrate.run': [
    {
      v: 1,
      at: AT,
      type: 'migrate.run',
      mapping: 'm',
      mappingSha256: 'ab',
      enclave: 'us',
      counts: { rows: 3, inScope: 2, outOfScope: 1, noSubject: 0, unknownJurisdiction: 0 },
      policyVersion: 'pv',
    },
  ],
  'migrate.verify': [
    {
      v: 1,
      at: AT,
      type: 'migrate.verify',
      mapping: 'm',
      mappingSha256: 'ab',
      enclave: 'us',
      counts: { rows: 3, inScope: 2, outOfScope: 1, noSubject: 0, unknownJurisdiction: 0 },
      verified: 2,
      legacyPurged: 0,
      mismatches: 0,
      rowHashes: 'cd',
      policyVersion: 'pv',
      statement: 'note',
    },
  ],
  'migrate.purge': [
    {
      v: 1,
      at: AT,
      type: 'migrate.purge',
      mapping: 'm',
      enclave: 'us',
      verifyIndex: 4,
      rowHashes: 'cd',
      mode: 'null',
      purged: 2,
      columns: 4,
      notVerified: 0,
      verifiedLeft: 0,
      policyVersion: 'pv',
      statement: 'note',
    },
  ],
  'migrate.shred': [
    { v: 1, at: AT, type: 'migrate.shred', scope: 'kek', kek: 'enclave_us#1', store: 'enclave_us', rewrapped: 10, policyVersion: 'pv', statement: 'note' },
    { v: 1, at: AT, type: 'migrate.shred', scope: 'subjects', store: 'enclave_us', subjects: [H], destroyed: 1, policyVersion: 'pv', statement: 'note' },
  ],
  report: [
    {
      v: 2,
      at: AT,
      type: 'report',
      ...actor,
      from: '2026-11-01T00:00:00.000Z',
      to: AT,
      policyVersion: 'pv',
      checkpointSize: 40,
      figures: 'a'.repeat(64),
      snapshot: 'b'.repeat(64),
      standing: 3,
      leaks: 2,
      violations: 0,
    },
  ],
  'broker.request': [
    {
      v: 1,
      at: AT,
      type: 'broker.request',
      request: 'r',
      ...actor,
      reason: 'USER_SUPPORT',
      ticket: 'SUP-1',
      durationS: 28_800,
      group: 'enclave-security',
      scope,
      digest: 'd',
      expiresAt: AT,
      policyVersion: 'pv',
    },
  ],
  'broker.approve': [{ v: 1, at: AT, type: 'broker.approve', request: 'r', ...actor, comment: '', statement: 'note', policyVersion: 'pv' }],
  'broker.deny': [{ v: 1, at: AT, type: 'broker.deny', request: 'r', ...actor, comment: 'no', statement: 'note', policyVersion: 'pv' }],
  'broker.withdraw': [{ v: 1, at: AT, type: 'broker.withdraw', request: 'r', policyVersion: 'pv' }],
  'broker.grant': [
    {
      v: 1,
      at: AT,
      type: 'broker.grant',
      grant: 'g',
      request: 'r',
      principal: 'p',
      reason: 'USER_SUPPORT',
      ticket: 'SUP-1',
      justification: '',
      scope: { ...scope, subjects: null },
      notBefore: AT,
      expiresAt: AT,
      reviewBy: null,
      policyVersion: 'pv',
    },
  ],
  'broker.break_glass': [
    {
      v: 1,
      at: AT,
      type: 'broker.break_glass',
      grant: 'g',
      request: null,
      principal: 'p',
      reason: 'INCIDENT',
      ticket: 'INC-1',
      justification: 'outage',
      scope,
      notBefore: AT,
      expiresAt: AT,
      reviewBy: AT,
      policyVersion: 'pv',
    },
  ],
  'broker.revoke': [{ v: 1, at: AT, type: 'broker.revoke', grant: 'g', principal: 'p', policyVersion: 'pv' }],
  'broker.expire': [{ v: 1, at: AT, type: 'broker.expire', kind: 'grant', id: 'g', policyVersion: 'pv' }],
  'broker.review': [
    { v: 1, at: AT, type: 'broker.review', grant: 'g', principal: 'p', verdict: 'justified', comment: 'ok', statement: 'note', policyVersion: 'pv' },
  ],
  'broker.use': [{ v: 1, at: AT, type: 'broker.use', grant: 'g', policyVersion: 'pv' }],
  'broker.failed': [{ v: 1, at: AT, type: 'broker.failed', event: 'grant', follows: 3, policyVersion: 'pv' }],
  'broker.refused': [{ v: 1, at: AT, type: 'broker.refused', op: 'approve', target: 'r', ...actor, code: 'access.self_approval', policyVersion: 'pv' }],
  'broker.alert': [{ v: 1, at: AT, type: 'broker.alert', grant: 'g', principal: 'p', webhook: 'https://alerts.example', delivered: false, status: 0 }],
  'broker.standing_review': [
    {
      v: 1,
      at: AT,
      type: 'broker.standing_review',
      ...actor,
      policyVersion: 'pv',
      flags: [
        { kind: 'standing_access', principal: 'legacy-admin' },
        { kind: 'dormant_grant', principal: null },
      ],
    },
  ],
};

/** Shapes earlier versions of cordon wrote (commit named), which readers must go on accepting. */
const HISTORY: readonly { note: string; record: unknown; appendable: boolean }[] = [
  {
    note: '64fa126: a grant without ticket, before writes had outcomes of their own',
    record: { ...access, grant: { id: 'g', reason: 'USER_SUPPORT', expiresAt: '2026-11-25T18:00:00.000Z', breakGlass: false } },
    appendable: true,
  },
  {
    note: 'accessRecord: a grant that was not found any more',
    record: { ...access, grant: { id: 'g', reason: '', ticket: '', expiresAt: '', breakGlass: false } },
    appendable: true,
  },
  {
    note: 'c88456d: key.release v1 of the gateway',
    record: { v: 1, at: AT, type: 'key.release', dataset: 'users', subject: H, reason: 'read', everyMs: 60_000, policyVersion: 'pv' },
    appendable: false,
  },
  {
    note: 'e3195bf: key.release v1 of cordon scan',
    record: { v: 1, at: AT, type: 'key.release', dataset: 'users', subject: H, reason: 'cordon scan --match-enclave', policyVersion: 'pv' },
    appendable: false,
  },
  {
    note: 'b2fc1fb: key.release v1 of cordon migrate',
    record: {
      v: 1,
      at: AT,
      type: 'key.release',
      scope: 'migration',
      step: 'purge',
      mapping: 'm',
      mappingSha256: 'ab',
      enclave: 'us',
      reason: 'r',
      policyVersion: 'pv',
    },
    appendable: false,
  },
  { note: 'access_record v1: one member per field (before v2 grouped them)', record: accessV1, appendable: false },
  {
    note: 'report v1: before the report committed to its figures and snapshot',
    record: { v: 1, at: AT, type: 'report', ...actor, from: '2026-11-01T00:00:00.000Z', to: AT },
    appendable: false,
  },
  { note: 'access_record v1: a write', record: { ...accessV1, action: 'write', outcome: 'permitted', grant: null }, appendable: false },
  { note: 'f8a54b4: migrate.verify before legacyPurged', record: { ...SAMPLES['migrate.verify'][0], legacyPurged: undefined }, appendable: true },
  { note: 'f8a54b4: migrate.purge before verifiedLeft', record: { ...SAMPLES['migrate.purge'][0], verifiedLeft: undefined }, appendable: true },
  { note: 'e1b4790: access.request', record: { ...SAMPLES['broker.request'][0], type: 'access.request' }, appendable: false },
  { note: 'e1b4790: access.break_glass', record: { ...SAMPLES['broker.break_glass'][0], type: 'access.break_glass' }, appendable: false },
  { note: 'e1b4790: access.refused', record: { ...SAMPLES['broker.refused'][0], type: 'access.refused' }, appendable: false },
  { note: 'e1b4790: access.alert', record: { ...SAMPLES['broker.alert'][0], type: 'access.alert' }, appendable: false },
  { note: 'e1b4790: access.standing_review', record: { ...SAMPLES['broker.standing_review'][0], type: 'access.standing_review' }, appendable: false },
];

const samples = Object.values(SAMPLES).flat() as unknown as Record<string, unknown>[];

test('every kind written today has samples, each of its kind and appendable; the kinds written are exactly the registered ones with a current version', () => {
  for (const s of samples) assert.equal(checkLogRecord(s, 'append'), undefined, JSON.stringify(s));
  for (const [kind, list] of Object.entries(SAMPLES)) for (const s of list) assert.equal(recordKind(s), kind);
  const written = Object.entries(LOG_RECORDS)
    .filter(([, i]) => i.current !== null)
    .map(([k]) => k);
  assert.deepEqual(Object.keys(SAMPLES).sort(), written.sort());
});

test('every shape the log ever held is still read, and only current ones are appended', () => {
  for (const h of HISTORY) {
    assert.equal(checkLogRecord(h.record, 'read'), undefined, h.note);
    assert.equal(checkLogRecord(h.record, 'append') === undefined, h.appendable, h.note);
  }
  // Every retired kind has a shape in the history above.
  const retired = Object.entries(LOG_RECORDS)
    .filter(([, i]) => i.current === null)
    .map(([k]) => k);
  assert.ok(retired.length > 0);
  for (const kind of retired) {
    const info = LOG_RECORDS[kind]!;
    assert.equal(LOG_RECORDS[info.renamedTo!]?.current, 1, `${kind} is the old name of a kind written today`);
    // The docs show a retired kind's members as those of the kind it became: they must be the same.
    assert.deepEqual(
      JSON.parse(JSON.stringify(info.versions[1]).replaceAll(`"${kind}"`, `"${info.renamedTo}"`)),
      LOG_RECORDS[info.renamedTo!]!.versions[1],
      kind,
    );
  }
});

/** The object schema a sample fits: its version's, or of its `oneOf` shapes the one of its `scope`. */
function shapeOf(s: Record<string, unknown>): JsonSchema {
  const schema = LOG_RECORDS[recordKind(s)!]!.versions[s['v'] as number]!;
  const shapes = (schema['oneOf'] as JsonSchema[] | undefined) ?? [schema];
  const scopeOf = (x: JsonSchema) => (x['properties'] as Record<string, { const?: unknown }>)['scope']?.const;
  return shapes.find((x) => scopeOf(x) === undefined || scopeOf(x) === s['scope'])!;
}

test('the schemas refuse an unknown member, a missing required member and a version that never was, on append and on read', () => {
  for (const s of samples) {
    const kind = recordKind(s)!;
    const schema = shapeOf(s);
    for (const purpose of ['append', 'read'] as const) {
      assert.match(checkLogRecord({ ...s, extra: 1 }, purpose)?.message ?? '', /has a member "extra" that its schema does not name/, `${kind}: extra member`);
      assert.match(checkLogRecord({ ...s, v: 99 }, purpose)?.message ?? '', /has no version 99/, `${kind}: v 99`);
      for (const name of schema['required'] as string[]) {
        if (name === 'type' || name === 'action') continue; // without them the kind is another one (or none)
        const without = { ...s, [name]: undefined };
        assert.notEqual(checkLogRecord(without, purpose), undefined, `${kind}: without ${name}`);
      }
    }
  }
});

test('a record naming a subject by key, not keyed hash, is refused wherever a subject goes', () => {
  const raw = 'demo-us-1';
  const cases: [string, unknown][] = [
    ['access_record', { ...access, subject: raw }],
    ['key.release', { ...SAMPLES['key.release'][0], subject: raw }],
    ['migrate.shred', { ...SAMPLES['migrate.shred'][1], subjects: [raw] }],
    ['broker.request', { ...SAMPLES['broker.request'][0], scope: { ...scope, subjects: { users: [raw] } } }],
  ];
  for (const [kind, r] of cases) {
    const problem = checkLogRecord(r, 'append');
    assert.match(problem?.message ?? '', /must match pattern/, kind);
    assert.ok(!problem!.message.includes(raw), `${kind}: the message does not echo the value`);
  }
});

test('key.release v2: the members of the other scope are null, and those of its own are not', () => {
  const [gateway, , migration] = SAMPLES['key.release'];
  assert.match(checkLogRecord({ ...gateway, mapping: 'm' }, 'append')?.message ?? '', /\/mapping must be null/);
  assert.match(checkLogRecord({ ...gateway, subject: null }, 'append')?.message ?? '', /\/subject must be string/);
  assert.match(checkLogRecord({ ...migration, dataset: 'users' }, 'append')?.message ?? '', /\/dataset must be null/);
  assert.match(checkLogRecord({ ...migration, step: null }, 'append')?.message ?? '', /\/step must be string/);
});

const sections = (doc: string) => doc.split(/^(?=## `)/m).slice(1);

test('docs/log-records.md has one section per registered kind, in order, each equal to the registry', () => {
  const doc = readFileSync(join(ROOT, 'docs/log-records.md'), 'utf8');
  const found = sections(doc);
  assert.deepEqual(
    found.map((s) => /^## `([^`]+)`/.exec(s)![1]),
    Object.keys(LOG_RECORDS),
    'documented kinds = registered kinds',
  );
  for (const s of found) {
    const kind = /^## `([^`]+)`/.exec(s)![1]!;
    assert.equal(s.trimEnd(), renderKind(kind).trimEnd(), `section ${kind}`);
  }
  assert.ok(doc.includes(renderChecks()), 'the table of checks');
});

test('the monitor judges exactly the kinds, and reports exactly the checks, that the registry says', () => {
  const basic = ['commitment', 'schema'];
  for (const [kind, info] of Object.entries(LOG_RECORDS)) {
    assert.deepEqual(info.checks, [...basic, ...(RECORD_JUDGES[kind]?.reports ?? [])], kind);
  }
  for (const kind of Object.keys(RECORD_JUDGES)) assert.ok(kind in LOG_RECORDS, `the monitor judges ${kind}, which is registered`);
  const reported = new Set(Object.values(RECORD_JUDGES).flatMap((j) => j.reports));
  assert.deepEqual(
    Object.keys(RECORD_CHECKS)
      .filter((c) => !basic.includes(c))
      .sort(),
    [...reported].sort(),
    'every judgement is made by the monitor',
  );
});

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return e.name === 'data' || e.name === 'fixtures' ? [] : sources(p);
    return e.name.endsWith('.ts') ? [p] : [];
  });
}

test('every record type the source writes or reads is registered (and none is an error code)', () => {
  for (const kind of Object.keys(LOG_RECORDS)) assert.ok(!isErrorCode(kind), `${kind} is a record kind and an error code`);
  // Quoted names of the record areas: in key. and broker. only record kinds, in access. and migrate. error codes too.
  const re = /'((?:key|broker|access|migrate)\.[a-z_]+)'/g;
  const unknown: string[] = [];
  for (const file of [...sources(join(ROOT, 'src')), ...sources(join(ROOT, 'test'))]) {
    for (const m of readFileSync(file, 'utf8').matchAll(re)) {
      if (!(m[1]! in LOG_RECORDS) && !isErrorCode(m[1]!)) unknown.push(`${file.slice(ROOT.length)}: ${m[1]}`);
    }
  }
  assert.deepEqual(unknown, []);
});
