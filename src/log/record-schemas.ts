// The JSON Schemas (draft-07, for ajv) of every record kind and version the access log has ever
// held: closed objects (no member a schema does not name), each property with the description
// docs/log-records.md shows. A schema accepts every record of its version ever written, so members
// added later within a version are optional here (the TypeScript types in record-types.ts say what
// writers write today).

/** A JSON Schema as a plain object (ajv compiles it; record-docs.ts renders it). */
export type JsonSchema = { readonly [k: string]: unknown };

/** Date.prototype.toISOString(): every time a record holds is written so. */
export const ISO_TIME_PATTERN = '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}\\.\\d{3}Z$';
/** subjectHash(): base64url of an HMAC-SHA-256, never a key or a value. */
export const SUBJECT_HASH_PATTERN = '^[A-Za-z0-9_-]{43}$';

const str = (description: string, extra: JsonSchema = {}): JsonSchema => ({ type: 'string', description, ...extra });
const time = (description: string): JsonSchema => ({ type: 'string', pattern: ISO_TIME_PATTERN, description });
const count = (description: string): JsonSchema => ({ type: 'integer', minimum: 0, description });
const bool = (description: string): JsonSchema => ({ type: 'boolean', description });
const hash = (description: string): JsonSchema => ({ type: 'string', pattern: SUBJECT_HASH_PATTERN, description });
const values = (vals: readonly string[], description: string): JsonSchema => ({ type: 'string', enum: vals, description });
const list = (items: JsonSchema, description: string): JsonSchema => ({ type: 'array', items, description });
const strings = (description: string): JsonSchema => list({ type: 'string' }, description);

/** The same schema, also accepting null. */
function orNull(s: JsonSchema): JsonSchema {
  const out: Record<string, unknown> = { ...s, type: [s['type'], 'null'] };
  if (Array.isArray(s['enum'])) out['enum'] = [...(s['enum'] as unknown[]), null];
  return out;
}

/** A closed object: every property required except `optional`. */
function object(description: string, properties: Record<string, JsonSchema>, optional: readonly string[] = []): JsonSchema {
  return { type: 'object', description, additionalProperties: false, required: Object.keys(properties).filter((k) => !optional.includes(k)), properties };
}

/** A record: `v`, `at` and (for typed kinds) `type` first, then its own members. */
function record(
  type: string | undefined,
  v: number,
  description: string,
  properties: Record<string, JsonSchema>,
  optional: readonly string[] = [],
): JsonSchema {
  return object(
    description,
    {
      v: { type: 'integer', const: v, description: "Version of this kind's shape." },
      at: time('When the record was made (UTC).'),
      ...(type === undefined ? {} : { type: { type: 'string', const: type, description: 'The record kind.' } }),
      ...properties,
    },
    optional,
  );
}

const policyVersion = str('Hash of the policy in force (the policy version).');
const actor = {
  principal: str('Who acted (a principal of the directory).'),
  country: str('The country the actor was in, from the network map (`unknown` when the network does not place the request).'),
  site: str('The site the actor was at, from the network map.'),
};
const statement = str('The signed statement (C2SP signed note, by the statements key) that this record announces.');

// ---- Untyped records.

const accessField = object('One field of the decision.', {
  field: str('The field.'),
  category: orNull(str('Its data category (null when unclassified).')),
  class: orNull(values(['protected', 'excepted', 'public'], "Its class in the subject's jurisdiction (null when unclassified: treated as protected).")),
  disclosure: values(['clear', 'tokenized', 'masked', 'withheld'], 'What the caller got (reads) or was allowed to write (writes).'),
  rules: strings('The rules (Cedar @id) that decided.'),
});

const writeEffect = object('A field a write moved to another jurisdiction or subject, or declassified.', {
  action: values(['transfer', 'declassify'], '`transfer`: another jurisdiction or subject; `declassify`: from protected to a weaker class.'),
  dataset: str('The dataset.'),
  field: str('The field.'),
  from: str("Before: a jurisdiction, a subject's keyed hash, or a class."),
  to: str("After: a jurisdiction, a subject's keyed hash, or a class."),
  allowed: bool('Whether the rules permitted it (a refused write lists what it would have done).'),
  rules: strings('The rules that permitted it.'),
});

export const ACCESS_RECORD_V1 = record(
  undefined,
  1,
  'A decision of the gateway (read, write, delete, decide).',
  {
    ...actor,
    action: values(['read', 'write', 'delete', 'decide'], 'What was asked.'),
    dataset: str('The dataset.'),
    subject: orNull(hash('The subject, as a keyed hash (null when the decision has none).')),
    fields: list(accessField, 'Every field decided, with its disclosure.'),
    grant: orNull(
      object(
        'The grant that released a field (null: none did).',
        {
          id: str('The grant.'),
          reason: str('Its reason code (empty when the grant was not found).'),
          ticket: str('Its ticket (absent in records written before commit 5ee359c).'),
          expiresAt: str('When it expires (ISO 8601; empty when the grant was not found).'),
          breakGlass: bool('Whether it is a break-glass grant.'),
        },
        ['ticket'],
      ),
    ),
    jurisdiction: orNull(str("The subject's jurisdiction.")),
    enclaveCountries: strings("The countries the jurisdiction's enclave allows protected data to be seen from."),
    outcome: values(
      ['released', 'refused', 'permitted', 'failed'],
      '`released`: sent; `refused`: nothing was; `permitted`: a write about to be made; `failed`: the store failed after `follows` permitted it (the last two since commit 0a3b789).',
    ),
    policyVersion,
    effects: list(writeEffect, 'What a write moved or declassified besides its fields (absent when nothing).'),
    follows: count('For `failed`: the index of the record that permitted the write.'),
  },
  ['effects', 'follows'],
);

const accessFieldMembers = accessField['properties'] as Record<string, JsonSchema>;
const accessFieldGroup = object('Fields of the decision that were decided alike.', {
  class: accessFieldMembers['class']!,
  disclosure: accessFieldMembers['disclosure']!,
  rules: accessFieldMembers['rules']!,
  fields: {
    type: 'object',
    description: 'Each field of the group, and its data category (null when unclassified).',
    minProperties: 1,
    additionalProperties: orNull({ type: 'string' }),
  },
});

const accessV1 = ACCESS_RECORD_V1['properties'] as Record<string, JsonSchema>;

export const ACCESS_RECORD_V2 = record(
  undefined,
  2,
  "A decision of the gateway (read, write, delete, decide); v1's members, with the fields grouped by class, disclosure and rules.",
  {
    principal: accessV1['principal']!,
    country: accessV1['country']!,
    site: accessV1['site']!,
    action: accessV1['action']!,
    dataset: accessV1['dataset']!,
    subject: accessV1['subject']!,
    fields: list(accessFieldGroup, 'Every field decided, in groups decided alike (each field in one group), in the order of their first field.'),
    grant: accessV1['grant']!,
    jurisdiction: accessV1['jurisdiction']!,
    enclaveCountries: accessV1['enclaveCountries']!,
    outcome: accessV1['outcome']!,
    policyVersion,
    effects: accessV1['effects']!,
    follows: accessV1['follows']!,
  },
  ['effects', 'follows'],
);

export const AUDIT_READ_V1 = record(undefined, 1, 'An auditor read full records; logged before they are returned.', {
  principal: str('The auditor.'),
  country: actor.country,
  site: actor.site,
  action: { type: 'string', const: 'audit_read', description: "Tells this record from the gateway's." },
  from: count('The first index read.'),
  to: count('The last index read.'),
});

// ---- Key releases.

const KEY_RELEASE_REASON = str('Why the key was released.');

/** v1 had two shapes: one subject's key (the gateway, scan), and a migration step's keys. */
export const KEY_RELEASE_V1: JsonSchema = {
  description: 'A data key released to this process (v1: two shapes).',
  oneOf: [
    record(
      'key.release',
      1,
      "One subject's data key (the gateway, `cordon scan --match-enclave`).",
      {
        dataset: str("The subject's dataset."),
        subject: hash('The subject, as a keyed hash.'),
        reason: KEY_RELEASE_REASON,
        everyMs: count("The gateway logs a subject's release at most once per this many ms (absent: every release is logged)."),
        policyVersion,
      },
      ['everyMs'],
    ),
    record('key.release', 1, "The data keys of a migration mapping's in-scope subjects (`cordon migrate verify|purge`).", {
      scope: { type: 'string', const: 'migration', description: 'Whose keys.' },
      step: values(['verify', 'purge'], 'The step that decrypts.'),
      mapping: str("The mapping's name."),
      mappingSha256: str('SHA-256 (hex) of the mapping file.'),
      enclave: str('The enclave.'),
      reason: KEY_RELEASE_REASON,
      policyVersion,
    }),
  ],
};

export const KEY_RELEASE_V2: JsonSchema = {
  ...record('key.release', 2, 'A data key released to this process, before anything is decrypted with it; members that do not apply to the scope are null.', {
    scope: values(['subject', 'migration'], "`subject`: one subject's key; `migration`: the keys of every in-scope subject of a migration mapping."),
    dataset: orNull(str("`subject`: the subject's dataset.")),
    subject: orNull(hash('`subject`: the subject, as a keyed hash.')),
    mapping: orNull(str("`migration`: the mapping's name.")),
    mappingSha256: orNull(str('`migration`: SHA-256 (hex) of the mapping file.')),
    enclave: orNull(str('`migration`: the enclave.')),
    step: orNull(values(['verify', 'purge'], '`migration`: the step that decrypts.')),
    everyMs: orNull(count("The gateway logs a subject's release at most once per this many ms; null: every release is logged.")),
    reason: KEY_RELEASE_REASON,
    policyVersion,
  }),
  // The members of the other scope are null, and those of its own are not.
  if: { properties: { scope: { const: 'subject' } } },
  // biome-ignore lint/suspicious/noThenProperty: JSON Schema's if/then keyword, not a thenable
  then: {
    properties: {
      dataset: { type: 'string' },
      subject: { type: 'string' },
      mapping: { type: 'null' },
      mappingSha256: { type: 'null' },
      enclave: { type: 'null' },
      step: { type: 'null' },
    },
  },
  else: {
    properties: {
      dataset: { type: 'null' },
      subject: { type: 'null' },
      everyMs: { type: 'null' },
      mapping: { type: 'string' },
      mappingSha256: { type: 'string' },
      enclave: { type: 'string' },
      step: { type: 'string' },
    },
  },
};

// ---- Migration statements.

const counts = object('Rows read, by what became of them.', {
  rows: count('Rows read.'),
  inScope: count("Rows of subjects of the enclave's jurisdictions."),
  outOfScope: count('Rows of other jurisdictions (left alone).'),
  noSubject: count('Rows whose subject could not be found (left alone).'),
  unknownJurisdiction: count('Rows whose jurisdiction could not be told (left alone).'),
});
const mapping = {
  mapping: str("The mapping's name."),
  mappingSha256: str('SHA-256 (hex) of the mapping file.'),
  enclave: str('The enclave.'),
};

export const MIGRATE_RUN_V1 = record('migrate.run', 1, 'Rows were copied into the enclave (encrypted).', { ...mapping, counts, policyVersion });

export const MIGRATE_VERIFY_V1 = record(
  'migrate.verify',
  1,
  'Every in-scope row was compared with its enclave copy; purge needs this statement.',
  {
    ...mapping,
    counts,
    verified: count('Rows whose enclave copy matches.'),
    legacyPurged: count('Of those, rows whose legacy copy a purge had already cleared (absent before commit b70ee34).'),
    mismatches: count('Rows whose enclave copy is missing or differs.'),
    rowHashes: str('Root (hex) of the row hashes compared.'),
    policyVersion,
    statement,
  },
  ['legacyPurged'],
);

export const MIGRATE_PURGE_V1 = record(
  'migrate.purge',
  1,
  'Verified legacy rows were purged.',
  {
    mapping: mapping.mapping,
    enclave: mapping.enclave,
    verifyIndex: count('The index of the `migrate.verify` record the purge relied on.'),
    rowHashes: str("The verify's row-hash root (hex)."),
    mode: values(['null', 'delete'], 'How rows were purged: protected columns set to null, or rows deleted.'),
    purged: count('Rows purged (now or by an earlier, interrupted run).'),
    columns: count('Columns cleared.'),
    notVerified: count('Rows left because they were not verified.'),
    verifiedLeft: count('Verified rows neither purged nor found purged (absent before commit fc990ae).'),
    policyVersion,
    statement,
  },
  ['verifiedLeft'],
);

export const MIGRATE_SHRED_V1: JsonSchema = {
  type: 'object',
  description: 'Keys were destroyed for good (crypto-shredding).',
  required: ['scope'],
  properties: { scope: values(['kek', 'subjects'], 'What was shredded.') },
  discriminator: { propertyName: 'scope' },
  oneOf: [
    record('migrate.shred', 1, 'A KEK generation was destroyed (live data keys rewrapped first).', {
      scope: { type: 'string', const: 'kek', description: 'What was shredded.' },
      kek: str('The KEK generation destroyed (`store#N`).'),
      store: str('The enclave store.'),
      rewrapped: count('Live data keys rewrapped under the active generation first.'),
      policyVersion,
      statement,
    }),
    record('migrate.shred', 1, 'The data keys of subjects were destroyed.', {
      scope: { type: 'string', const: 'subjects', description: 'What was shredded.' },
      store: str('The enclave store.'),
      subjects: list(hash('A subject, as a keyed hash.'), 'The subjects whose keys were destroyed.'),
      destroyed: count('Data keys destroyed.'),
      policyVersion,
      statement,
    }),
  ],
};

// ---- The oversight report.

export const REPORT_V1 = record('report', 1, 'An oversight report was made for a period.', {
  ...actor,
  from: time('Start of the period.'),
  to: time('End of the period.'),
});

export const REPORT_V2 = record('report', 2, 'An oversight report was made for a period; the record commits to what the report states.', {
  ...actor,
  from: time('Start of the period.'),
  to: time('End of the period.'),
  policyVersion,
  checkpointSize: count('The checkpoint the report counts: records at or past this index are not in its figures.'),
  figures: str("SHA-256 (hex) of the canonical JSON of the report's figures, each count with the log range behind it.", { pattern: '^[0-9a-f]{64}$' }),
  snapshot: str(
    'SHA-256 (hex) of the canonical JSON of what the report states beyond the log as of its making: standing-access flags, leak paths, scanner violations and the teams counted by.',
    { pattern: '^[0-9a-f]{64}$' },
  ),
  standing: count('Standing-access and grant flags the report lists.'),
  leaks: count('Leak paths of the flow map the report lists.'),
  violations: count('Scanner violations the report counts.'),
});

// ---- The access broker (written as broker.*; e1b4790 wrote the same shapes as access.*).

const scope = object('What the grant or request covers.', {
  datasets: strings('Datasets.'),
  categories: strings('Categories (each covers its sub-categories).'),
  subjects: orNull({
    type: 'object',
    additionalProperties: list(hash('A subject, as a keyed hash.'), 'Subjects of the dataset.'),
    description: 'Subjects per dataset, as keyed hashes (null: every subject of the jurisdictions).',
  }),
  jurisdictions: strings("The subjects' jurisdictions."),
});

function decision(type: string, description: string): JsonSchema {
  return record(type, 1, description, {
    request: str('The request.'),
    ...actor,
    comment: str("The approver's comment."),
    statement: str("The approver's signed statement (C2SP signed note)."),
    policyVersion,
  });
}

function grant(type: string, description: string): JsonSchema {
  return record(type, 1, description, {
    grant: str('The grant.'),
    request: orNull(str('The request it answers (null for break-glass).')),
    principal: str('Who holds it.'),
    reason: str('The reason code.'),
    ticket: str('The ticket.'),
    justification: str('Break-glass: why the glass was broken (empty otherwise).'),
    scope,
    notBefore: time('From when.'),
    expiresAt: time('Until when.'),
    reviewBy: orNull(time('Break-glass: reviewers must decide by then.')),
    policyVersion,
  });
}

/** Broker records, by kind: `type` is filled in per kind (so the access.* aliases can share them). */
export const BROKER_SCHEMAS: Readonly<Record<string, (type: string) => JsonSchema>> = {
  request: (type) =>
    record(type, 1, 'Access to protected data was requested.', {
      request: str('The request.'),
      ...actor,
      reason: str('The reason code.'),
      ticket: str('The ticket.'),
      durationS: count("The grant's duration asked for, in seconds."),
      group: str('The approver group.'),
      scope,
      digest: str("SHA-256 (base64) of the request's canonical form, its subjects as keyed hashes as in `scope`: what approvals sign."),
      expiresAt: time('When the request expires if not decided.'),
      policyVersion,
    }),
  approve: (type) => decision(type, 'An approver approved a request (with enough approvals, a `broker.grant` follows).'),
  deny: (type) => decision(type, 'An approver denied a request.'),
  withdraw: (type) => record(type, 1, 'A pending request was withdrawn.', { request: str('The request.'), policyVersion }),
  grant: (type) => grant(type, 'A grant was made: its request got the approvals it needed.'),
  break_glass: (type) => grant(type, 'A principal broke glass: a short grant without approvals, alerted and to be reviewed.'),
  revoke: (type) => record(type, 1, 'A grant was revoked.', { grant: str('The grant.'), principal: str('Who revoked it.'), policyVersion }),
  expire: (type) =>
    record(type, 1, 'A pending request or a grant expired.', {
      kind: values(['request', 'grant'], 'What expired.'),
      id: str('Its id.'),
      policyVersion,
    }),
  review: (type) =>
    record(type, 1, 'A break-glass grant was reviewed.', {
      grant: str('The grant.'),
      principal: str('The reviewer.'),
      verdict: values(['justified', 'unjustified'], 'The verdict.'),
      comment: str("The reviewer's comment."),
      statement: str("The reviewer's signed statement (C2SP signed note)."),
      policyVersion,
    }),
  use: (type) => record(type, 1, 'A grant was used for the first time in a while (dormant-grant review).', { grant: str('The grant.'), policyVersion }),
  failed: (type) =>
    record(type, 1, 'The store failed after the record `follows` announced a broker change: the change did not happen.', {
      event: values(['request', 'approval', 'denial', 'withdraw', 'grant', 'revoke', 'expire', 'review', 'use'], 'The event that failed.'),
      follows: count('The index of the record that announced it.'),
      policyVersion,
    }),
  refused: (type) =>
    record(type, 1, 'The broker refused an act (who tried what, and the code).', {
      op: str('The act (request, approve, deny, revoke, break_glass, review).'),
      target: orNull(str('The request or grant acted on (first 100 characters; null for none).', { maxLength: 100 })),
      ...actor,
      code: str('The error code of the refusal (`access.*`).'),
      policyVersion,
    }),
  alert: (type) =>
    record(type, 1, 'A break-glass alert was sent to the webhook (or could not be).', {
      grant: str('The break-glass grant.'),
      principal: str('Who broke the glass.'),
      webhook: str("The webhook's origin (no path or query)."),
      delivered: bool('Whether the webhook answered 2xx.'),
      status: count('Its last HTTP status (0: no answer).'),
    }),
  standing_review: (type) =>
    record(type, 1, 'Someone ran the standing-access review (online).', {
      ...actor,
      policyVersion,
      flags: list(
        object('A flag.', {
          kind: str('What was flagged (standing access, dormant grant, rubber-stamp approver, …).'),
          principal: orNull(str('Whom it is about.')),
        }),
        'What the review flagged.',
      ),
    }),
};
