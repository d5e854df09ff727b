// The Cedar schema cordon generates for its entity types, so that Cedar's validator catches typos
// and type errors in rules. Entity ids and string values that the schema cannot type (team names,
// categories, classes) are checked by rules.ts against the loaded policy.

import * as cedar from './cedar.js';
import type { SchemaJson } from './cedar.js';
import { ALL_ACTIONS, READ_ACTIONS } from './model.js';

export const PRINCIPAL_TYPES = ['User', 'Service'] as const;
export const TEAM_TYPE = 'Team';
export const FIELD_TYPE = 'Field';
export const ACTION_TYPE = 'Action';
/** The action group that every disclose_* action belongs to. */
export const READ_GROUP = 'read';

const str = { type: 'String' } as const;
const bool = { type: 'Boolean' } as const;
const long = { type: 'Long' } as const;
const strSet = { type: 'Set', element: { type: 'String' } } as const;

/** Attributes of every principal (User for people, Service for services). */
export const PRINCIPAL_ATTRIBUTES = {
  kind: str,
  team: str,
  employer: str,
  work_country: str,
  site: str,
  clearance: long,
  approver_groups: strSet,
  manager: { ...str, required: false },
} as const;

/** Attributes of the resource: one field of one subject's record, as classified. */
export const FIELD_ATTRIBUTES = {
  dataset: str,
  field: str,
  category: str,
  /** The category and all its ancestors, so rules can test `resource.categories.contains("user.contact")`. */
  categories: strSet,
  class: str,
  jurisdiction: str,
  enclave: str,
  enclave_countries: strSet,
} as const;

/** Context of every request. Absent facts are empty strings, never missing attributes. */
export const CONTEXT_ATTRIBUTES = {
  country: str,
  site: str,
  reason: str,
  ticket: str,
  grant: {
    type: 'Record',
    attributes: { active: bool, id: str, reason: str, break_glass: bool },
  },
  /** The caller says it acts for the subject the record belongs to (as stored before a write), and it does. */
  for_subject: bool,
} as const;

export function generateCedarSchema(): SchemaJson<string> {
  const appliesTo = {
    principalTypes: [...PRINCIPAL_TYPES],
    resourceTypes: [FIELD_TYPE],
    context: { type: 'Record', attributes: CONTEXT_ATTRIBUTES },
  };
  const actions: Record<string, unknown> = { [READ_GROUP]: {} };
  for (const a of ALL_ACTIONS) {
    actions[a] = (READ_ACTIONS as readonly string[]).includes(a) ? { appliesTo, memberOf: [{ id: READ_GROUP }] } : { appliesTo };
  }
  const principalShape = { type: 'Record', attributes: PRINCIPAL_ATTRIBUTES };
  return {
    '': {
      entityTypes: {
        [TEAM_TYPE]: { memberOfTypes: [TEAM_TYPE], shape: { type: 'Record', attributes: {} } },
        User: { memberOfTypes: [TEAM_TYPE], shape: principalShape },
        Service: { memberOfTypes: [TEAM_TYPE], shape: principalShape },
        [FIELD_TYPE]: { shape: { type: 'Record', attributes: FIELD_ATTRIBUTES } },
      },
      actions,
    },
  } as unknown as SchemaJson<string>;
}

/** The generated schema in Cedar's schema syntax. */
export function cedarSchemaText(): string {
  const text = cedar.schemaToText(generateCedarSchema());
  if (text.type === 'failure') throw new Error(`cedar-wasm could not print cordon's schema: ${text.errors.map((e) => e.message).join('; ')}`);
  return text.text;
}
