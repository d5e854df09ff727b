// Whose data a row of a store holds: the record's own jurisdiction, told as the gateway tells it. A
// catalog dataset with a jurisdiction field names a country, which the policy's placement rules map
// to a jurisdiction (the default one for a country no jurisdiction lists); a dataset whose subject is
// another dataset's record (a user's videos) takes that record's jurisdiction. A field the gateway
// would never have written (missing, empty, sealed, not two capital letters) or a subject that is
// not there cannot tell: the row is then treated as protected for every jurisdiction.

import { createPlacementRules, type Policy } from '../policy/index.js';
import { TABLE_PREFIX } from '../store/index.js';

/** The gateway's own check on a jurisdiction field at write (ISO 3166-1 alpha-2 in capitals). */
const COUNTRY = /^[A-Z]{2}$/;

/** How the records of one table tell their jurisdiction. */
export type RecordSpec =
  /** The row's own field names its country. */
  | { readonly kind: 'field'; readonly field: string }
  /** The row's field is the key of its subject's row in `table`, whose jurisdiction it takes. */
  | { readonly kind: 'subject'; readonly field: string; readonly table: string }
  /** A catalog dataset whose records do not say (treated as protected for every jurisdiction). */
  | { readonly kind: 'none' };

export interface RecordJurisdictions {
  /** How a table's rows tell their jurisdiction; undefined for a table that holds no catalog dataset. */
  spec(table: string): RecordSpec | undefined;
  /** The jurisdiction a jurisdiction field's stored value names, or null when it cannot tell. */
  ofCountry(value: string | null | undefined): string | null;
}

export function recordJurisdictions(policy: Policy): RecordJurisdictions {
  const rules = createPlacementRules(policy);
  return {
    spec(table) {
      const d = table.startsWith(TABLE_PREFIX) ? rules.dataset(table.slice(TABLE_PREFIX.length)) : undefined;
      if (!d) return undefined;
      // As placement's jurisdictionOf: the jurisdiction field first, else the subject's record.
      if (d.jurisdictionField !== undefined) return { kind: 'field', field: d.jurisdictionField };
      if (d.subjectDataset !== undefined) return { kind: 'subject', field: d.subjectField, table: `${TABLE_PREFIX}${d.subjectDataset}` };
      return { kind: 'none' };
    },
    ofCountry(value) {
      if (typeof value !== 'string' || !COUNTRY.test(value)) return null;
      return rules.jurisdictionOfCountry(value) ?? null;
    },
  };
}
