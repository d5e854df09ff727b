// Recording decisions: every decision that releases or refuses data becomes an access record, and
// the response waits until it is durable in the access log (nothing unlogged).

import type { Decision, FieldDecision, GrantInfo } from '../policy/index.js';
import type { AccessFieldGroupV2, AccessRecordV2 } from '../log/index.js';

// The record's type belongs to the log's registry of record kinds (src/log/record-types.ts).
export type { AccessRecordV2, WriteEffect } from '../log/index.js';

/** What the gateway knows beside the decision: the grants in play and the policy's enclaves. */
export interface RecordContext {
  readonly grants: readonly GrantInfo[];
  readonly enclaveCountries: (jurisdiction: string) => readonly string[];
}

export interface AccessRecorder {
  /** Resolves when the record is durable; rejects when it could not be recorded (then send nothing protected). */
  record(r: AccessRecordV2): Promise<{ readonly index: number }>;
}

export function accessRecord(
  decision: Decision,
  action: AccessRecordV2['action'],
  where: { country: string; site: string },
  subject: string | null,
  outcome: AccessRecordV2['outcome'],
  now = new Date(),
  context: RecordContext = { grants: [], enclaveCountries: () => [] },
): AccessRecordV2 {
  const grantId = decision.fields.find((f) => f.grant !== undefined)?.grant;
  const grant = grantId === undefined ? undefined : context.grants.find((g) => g.id === grantId);
  const jurisdiction = decision.fields.find((f) => f.jurisdiction !== undefined)?.jurisdiction ?? null;
  return {
    v: 2,
    at: now.toISOString(),
    principal: decision.principal,
    country: where.country,
    site: where.site,
    action,
    dataset: decision.dataset,
    subject,
    fields: groupsOf(decision.fields),
    grant:
      grantId === undefined
        ? null
        : {
            id: grantId,
            reason: grant?.reason ?? '',
            ticket: grant?.ticket ?? '',
            expiresAt: grant ? new Date(grant.expiresAt).toISOString() : '',
            breakGlass: grant?.breakGlass ?? false,
          },
    jurisdiction,
    enclaveCountries: jurisdiction === null ? [] : context.enclaveCountries(jurisdiction),
    outcome,
    policyVersion: decision.policyVersion,
  };
}

// Field decisions repeat: the decider keeps each one (frozen), so a read of the same dataset by the
// same caller from the same place is decided by the same objects. The groups of such a sequence,
// and their canonical JSON, are made once and kept (frozen) beside its first decision; a sequence
// of other objects (a field decided anew) is grouped afresh.
interface Grouped {
  readonly of: readonly FieldDecision[];
  readonly groups: readonly AccessFieldGroupV2[];
}
const groupedBy = new WeakMap<FieldDecision, Grouped[]>();
/** Canonical JSON of a frozen groups array (encodeAccessRecord uses it when it is given that array). */
const encodedGroups = new WeakMap<readonly AccessFieldGroupV2[], string>();
const MAX_SEQUENCES_PER_FIRST = 16;
const NO_GROUPS: readonly AccessFieldGroupV2[] = Object.freeze([]);

function groupsOf(fields: readonly FieldDecision[]): readonly AccessFieldGroupV2[] {
  const first = fields[0];
  if (first === undefined) return NO_GROUPS;
  if (!Object.isFrozen(first)) return groupFields(fields);
  let seen = groupedBy.get(first);
  if (seen !== undefined) {
    for (const g of seen) if (g.of.length === fields.length && g.of.every((f, i) => f === fields[i])) return g.groups;
  } else {
    seen = [];
    groupedBy.set(first, seen);
  }
  const groups = groupFields(fields);
  for (const g of groups) {
    Object.freeze(g.fields);
    Object.freeze(g);
  }
  Object.freeze(groups);
  encodedGroups.set(groups, encodeGroups(groups));
  if (seen.length < MAX_SEQUENCES_PER_FIRST) seen.push({ of: [...fields], groups });
  return groups;
}

/** The decision's fields grouped by class, disclosure and rules, in the order of their first field. */
function groupFields(fields: readonly FieldDecision[]): AccessFieldGroupV2[] {
  const groups = new Map<
    string,
    { class: AccessFieldGroupV2['class']; disclosure: AccessFieldGroupV2['disclosure']; rules: readonly string[]; fields: Record<string, string | null> }
  >();
  for (const f of fields) {
    const cls = f.class ?? null;
    const id = f.rules.length === 0 ? `${cls}\u0000${f.disclosure}` : `${cls}\u0000${f.disclosure}\u0000${f.rules.join('\u0000')}`;
    let g = groups.get(id);
    if (g === undefined) {
      g = { class: cls, disclosure: f.disclosure, rules: f.rules, fields: Object.create(null) as Record<string, string | null> };
      groups.set(id, g);
    }
    g.fields[f.field] = f.category ?? null;
  }
  return [...groups.values()];
}

const str = JSON.stringify;
const strOrNull = (v: string | null): string => (v === null ? 'null' : str(v));

/**
 * An access record as canonical JSON (members sorted, no whitespace), written out directly: it is
 * made once per request, and this is several times faster than the generic encoder. It MUST equal
 * canonicalJson(r) byte for byte (the log entry commits to it); recorder.test.ts checks that.
 */
function encodeGroups(groups: readonly AccessFieldGroupV2[]): string {
  let fields = '';
  for (let i = 0; i < groups.length; i++) {
    const f = groups[i]!;
    let rules = '';
    for (let k = 0; k < f.rules.length; k++) rules += (k === 0 ? '' : ',') + str(f.rules[k]);
    // Canonical order: member names sorted by UTF-16 code units, as Array.prototype.sort does.
    const names = Object.keys(f.fields).sort();
    let members = '';
    for (let k = 0; k < names.length; k++) members += `${k === 0 ? '' : ','}${str(names[k])}:${strOrNull(f.fields[names[k]!]!)}`;
    fields += `${i === 0 ? '' : ','}{"class":${strOrNull(f.class)},"disclosure":${str(f.disclosure)},"fields":{${members}},"rules":[${rules}]}`;
  }
  return fields;
}

export function encodeAccessRecord(r: AccessRecordV2): string {
  const fields = encodedGroups.get(r.fields) ?? encodeGroups(r.fields);
  const g = r.grant;
  const grant =
    g === null
      ? 'null'
      : `{"breakGlass":${g.breakGlass},"expiresAt":${str(g.expiresAt)},"id":${str(g.id)},"reason":${str(g.reason)},"ticket":${str(g.ticket)}}`;
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
    `"site":${str(r.site)},"subject":${strOrNull(r.subject)},"v":2}`
  );
}
