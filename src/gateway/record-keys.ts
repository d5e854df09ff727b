// Keys are fields (PRODUCT.md §7a W6): a record's key goes out as the caller may see its key field
// (clear, or the caller's token: the same token that field's value has in `fields`), and comes back
// in as the caller's own token, or as a clear key only from a caller who may see it in clear. A clear
// key from anyone else is answered exactly as a key no record has: no oracle for guessed keys.

import { fieldCategories, type Decider, type Decision, type GrantInfo, type Policy, type RequestContext } from '../policy/index.js';
import type { KeyService } from '../store/index.js';
import type { Caller } from './caller.js';
import { openToken, tokenize, type TokenRegion } from './tokens.js';

/** A regional gateway's token region (tokens.ts), from the policy as its region sees it. */
export function tokenRegionOf(policy: Policy): TokenRegion | undefined {
  const own = policy.deployment.region;
  return own === undefined ? undefined : { own, known: new Set(policy.deployment.enclaves.keys()) };
}

export interface RecordKeysOptions {
  readonly policy: Policy;
  readonly decider: Decider;
  readonly keys: KeyService;
  grantsOf?(principal: string): readonly GrantInfo[];
  now(): number;
}

/** What a path or cursor names: the stored key, and whether it was sent in clear. */
export interface KeyIn {
  readonly key: string;
  /** True when sent in clear: it MUST then be checked (`shown`, `shownIn`) against the record it names before anything of that record is answered. */
  readonly clear: boolean;
}

export interface RecordKeys {
  /**
   * The key of a record of `dataset` as `caller` may see it: in clear where `shown` (the caller's
   * read decision on that record, or whether it shows the key field in clear) says so, otherwise
   * the caller's token. Without it (a deleted record, a cursor): in clear only for a caller who
   * sees that key field in clear in every jurisdiction.
   */
  out(caller: Caller, dataset: string, key: string, shown?: Decision | boolean): string;
  /**
   * What `sent` (a path segment) names: the key the caller's own token opens to, or `sent` itself
   * as a clear key when the caller may see the key field in clear somewhere; undefined otherwise,
   * to be answered as a record that does not exist.
   */
  in(caller: Caller, dataset: string, sent: string): KeyIn | undefined;
  /** The key a list cursor (`after`) names: the caller's token, or a clear key from a caller who sees keys in clear in every jurisdiction; undefined otherwise. */
  cursor(caller: Caller, dataset: string, sent: string): string | undefined;
  /** Whether `decision` (a read decision) shows the key field in clear. */
  shown(dataset: string, decision: Decision): boolean;
  /**
   * Whether `caller` sees the key field in clear in `jurisdiction` whatever the record (every
   * category the key field can have): a record of another region (cordon up --region) is redirected
   * there only then; a clear key from anyone else is answered as a key no record has.
   */
  clearInJurisdiction(caller: Caller, dataset: string, jurisdiction: string): boolean;
  /** Whether `caller` may see the key field of this stored record in clear. */
  shownIn(caller: Caller, dataset: string, record: { readonly values: Readonly<Record<string, unknown>>; readonly jurisdiction: string | undefined }): boolean;
}

export function createRecordKeys(options: RecordKeysOptions): RecordKeys {
  const { policy, decider, keys } = options;
  const keyFieldOf = (dataset: string) => {
    const d = policy.datasets.get(dataset);
    if (!d) throw new Error(`record keys of unknown dataset ${dataset}`);
    const f = d.fields.get(d.key);
    // Every category the key field can have (its default and its row-conditional ones): a token
    // was made under one of them.
    const categories = f ? fieldCategories(f) : [];
    return { name: d.key, categories };
  };
  const context = (caller: Caller): RequestContext => ({
    country: caller.country,
    site: caller.site,
    grants: options.grantsOf?.(caller.principal.id) ?? [],
    now: options.now(),
  });

  /** The key field's read disclosure for `caller` in every jurisdiction and category (no subject: grants scoped to subjects do not count). */
  const clearIn = (caller: Caller, dataset: string): { every: boolean; some: boolean } => {
    const k = keyFieldOf(dataset);
    const ctx = context(caller);
    let every = k.categories.length > 0;
    let some = false;
    for (const jurisdiction of policy.deployment.jurisdictions.keys()) {
      for (const category of k.categories) {
        const clear =
          decider.decideField({ principal: caller.principal, action: 'read', dataset, field: k.name, category, jurisdiction, context: ctx }).disclosure ===
          'clear';
        every &&= clear;
        some ||= clear;
      }
    }
    return { every, some };
  };

  const region = tokenRegionOf(policy);
  const open = (caller: Caller, dataset: string, sent: string): string | undefined => {
    for (const category of keyFieldOf(dataset).categories) {
      const v = openToken(keys, caller.audience, category, sent, region);
      if (typeof v === 'string') return v;
    }
    return undefined;
  };

  const shown = (dataset: string, decision: Decision): boolean => {
    const name = keyFieldOf(dataset).name;
    return decision.fields.find((f) => f.field === name)?.disclosure === 'clear';
  };

  return {
    out(caller, dataset, key, decision) {
      const k = keyFieldOf(dataset);
      const clear = typeof decision === 'boolean' ? decision : decision ? shown(dataset, decision) : clearIn(caller, dataset).every;
      if (clear) return key;
      const category = (typeof decision === 'object' ? decision.fields.find((f) => f.field === k.name)?.category : undefined) ?? k.categories[0] ?? '';
      return tokenize(keys, caller.audience, category, key, region?.own);
    },
    in(caller, dataset, sent) {
      const opened = open(caller, dataset, sent);
      if (opened !== undefined) return { key: opened, clear: false };
      return clearIn(caller, dataset).some ? { key: sent, clear: true } : undefined;
    },
    cursor(caller, dataset, sent) {
      return open(caller, dataset, sent) ?? (clearIn(caller, dataset).every ? sent : undefined);
    },
    shown,
    clearInJurisdiction(caller, dataset, jurisdiction) {
      const k = keyFieldOf(dataset);
      const ctx = context(caller);
      return (
        k.categories.length > 0 &&
        k.categories.every(
          (category) =>
            decider.decideField({ principal: caller.principal, action: 'read', dataset, field: k.name, category, jurisdiction, context: ctx }).disclosure ===
            'clear',
        )
      );
    },
    shownIn(caller, dataset, record) {
      const d = decider.decideField({
        principal: caller.principal,
        action: 'read',
        dataset,
        field: keyFieldOf(dataset).name,
        jurisdiction: record.jurisdiction ?? '',
        row: record.values,
        context: context(caller),
      });
      return d.disclosure === 'clear';
    },
  };
}
