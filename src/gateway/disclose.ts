// Applying a decision to a record: clear values as they are, tokenized values as a pseudonym the
// gateway can open again (tokens.ts: stable for one audience, unlinkable across audiences), masked
// values per category, and withheld fields listed with their reason, never silently dropped.

import { applyMask, type Decision, type FieldDecision, type GrantInfo } from '../policy/index.js';
import type { KeyService } from '../store/index.js';
import { tokenize } from './tokens.js';

export { openToken, tokenize, TOKEN_PREFIX } from './tokens.js';

export type WithheldReason = FieldDecision['reason'] | 'mask_failed' | 'unreadable';

export interface WithheldField {
  readonly field: string;
  readonly reason: WithheldReason;
  readonly rules: readonly string[];
  readonly category: string | undefined;
  readonly class: string | undefined;
}

export interface TransformedField {
  readonly disclosure: 'tokenized' | 'masked';
  readonly mask?: string;
  readonly rules: readonly string[];
  readonly category: string | undefined;
  readonly class: string | undefined;
}

export interface DisclosedRecordV1 {
  readonly dataset: string;
  /** Field -> value: clear, tokenized or masked. */
  readonly fields: Readonly<Record<string, unknown>>;
  /** Fields whose value is transformed: their disclosure (and mask), and why (the permitting rules, category, class). */
  readonly transformed: Readonly<Record<string, TransformedField>>;
  readonly withheld: readonly WithheldField[];
}

export interface DiscloseOptions {
  readonly keys: KeyService;
  /** Who the tokens are for (by default the principal's team): tokens differ between audiences. */
  readonly audience: string;
  /** Fields whose stored value cannot be read (its data key was shredded, or it does not authenticate): withheld, whatever the rules permit. */
  readonly unreadable?: Readonly<Record<string, string>>;
  /** A regional gateway's region: its tokens name it (tokens.ts). */
  readonly region?: string | undefined;
}

/** Applies `decision` to `record`. Fields the decision does not cover are withheld as unclassified. */
export function disclose(decision: Decision, record: Readonly<Record<string, unknown>>, options: DiscloseOptions): DisclosedRecordV1 {
  const fields: Record<string, unknown> = {};
  const transformed: Record<string, TransformedField> = {};
  const withheld: WithheldField[] = [];
  const decided = new Map<string, FieldDecision>();
  for (const f of decision.fields) decided.set(f.field, f);
  const hold = (f: string, reason: WithheldReason, d?: FieldDecision) =>
    withheld.push({ field: f, reason, rules: d?.rules ?? [], category: d?.category, class: d?.class });
  for (const name of Object.keys(record)) {
    const d = decided.get(name);
    const value = record[name];
    if (!d) {
      hold(name, 'unclassified');
      continue;
    }
    if (options.unreadable?.[name] !== undefined && d.disclosure !== 'withheld') {
      hold(name, 'unreadable', d);
      continue;
    }
    switch (d.disclosure) {
      case 'clear':
        fields[name] = value;
        break;
      case 'tokenized':
        fields[name] = value === null || value === undefined ? null : tokenize(options.keys, options.audience, d.category ?? '', value, options.region);
        transformed[name] = { disclosure: 'tokenized', rules: d.rules, category: d.category, class: d.class };
        break;
      case 'masked': {
        const masked = value === null || value === undefined || d.mask === undefined ? undefined : applyMask(d.mask, value);
        if (masked === undefined && value !== null && value !== undefined) {
          hold(name, 'mask_failed', d);
          break;
        }
        fields[name] = masked ?? null;
        transformed[name] = { disclosure: 'masked', mask: d.mask, rules: d.rules, category: d.category, class: d.class };
        break;
      }
      case 'withheld':
        hold(name, d.reason, d);
        break;
    }
  }
  return { dataset: decision.dataset, fields, transformed, withheld };
}

/** A field sent in clear, and why: the rules that permitted it and the caller's grant that released it (null: no grant was needed). */
export interface ReleasedField {
  readonly rules: readonly string[];
  readonly category?: string;
  readonly class?: string;
  readonly grant: { readonly id: string; readonly reason: string; readonly ticket: string; readonly expiresAt: string; readonly breakGlass: boolean } | null;
}

/**
 * Why each field sent in clear was: the permitting rules, and the grant that released it, described
 * as the access record names it. `grants` MUST be the caller's own (the ones the decision was made
 * with), so a caller learns of no grant but its own (W1).
 */
export function releasedInClear(decision: Decision, sent: Readonly<Record<string, unknown>>, grants: readonly GrantInfo[]): Record<string, ReleasedField> {
  const out: Record<string, ReleasedField> = {};
  for (const f of decision.fields) {
    if (f.disclosure !== 'clear' || !(f.field in sent)) continue;
    const g = f.grant === undefined ? undefined : grants.find((x) => x.id === f.grant);
    out[f.field] = {
      rules: f.rules,
      ...(f.category === undefined ? {} : { category: f.category }),
      ...(f.class === undefined ? {} : { class: f.class }),
      grant:
        f.grant === undefined
          ? null
          : {
              id: f.grant,
              reason: g?.reason ?? '',
              ticket: g?.ticket ?? '',
              expiresAt: g ? new Date(g.expiresAt).toISOString() : '',
              breakGlass: g?.breakGlass ?? false,
            },
    };
  }
  return out;
}
