// explain(): one field decision with everything that made it: the category (and whether the row
// chose it), the class and the classes.yaml entry it comes from, the rules asked and their answers.

import { classOf } from './classes.js';
import type { Decider, DecideAction, FieldDecision, GrantInfo } from './decide.js';
import { fieldCategories, type DataClass, type Policy } from './model.js';
import { CordonError } from '../shared/errors.js';
import { didYouMean } from '../shared/suggest.js';

export interface ExplainRequest {
  readonly principal: string;
  readonly action: DecideAction;
  /** `dataset.field` */
  readonly field: string;
  readonly jurisdiction: string;
  readonly country?: string;
  readonly site?: string;
  readonly row?: Readonly<Record<string, string>>;
  readonly category?: string;
  /** When true, an active grant covering exactly this field is in the context. */
  readonly grant?: boolean;
  readonly reason?: string;
}

export interface ClassSource {
  readonly class: DataClass;
  /** The classes.yaml entry (category or ancestor) the class comes from; undefined means the default. */
  readonly listedAs: string | undefined;
}

export interface RuleRef {
  readonly id: string;
  readonly effect: 'permit' | 'forbid';
  readonly at: string;
}

export interface Explanation {
  readonly principal: string;
  readonly action: DecideAction;
  readonly dataset: string;
  readonly field: string;
  readonly jurisdiction: string;
  readonly enclave: string;
  readonly enclaveCountries: readonly string[];
  readonly country: string;
  readonly site: string;
  readonly grant: boolean;
  readonly classSource: ClassSource | undefined;
  readonly decision: FieldDecision;
  readonly rules: readonly RuleRef[];
  readonly policyVersion: string;
}

export function classSource(policy: Policy, jurisdiction: string, category: string): ClassSource {
  const listed = policy.classes.listed.get(jurisdiction);
  const lineage = policy.taxonomy.resolve(category)?.lineage ?? [category];
  const listedAs = listed ? lineage.find((k) => listed.has(k)) : undefined;
  return { class: classOf(policy.classes, policy.taxonomy, jurisdiction, category), listedAs };
}

function rootCategories(policy: Policy): string[] {
  return [...policy.taxonomy.categories.values()].filter((c) => c.parent === undefined).map((c) => c.key);
}

/** Explains one decision. Throws CordonError (usage.invalid_argument) naming what was wrong. */
export function explain(decider: Decider, req: ExplainRequest): Explanation {
  const policy = decider.policy;
  const bad = (msg: string): never => {
    throw new CordonError('usage.invalid_argument', msg);
  };
  const principal =
    policy.directory.principals.get(req.principal) ??
    bad(`unknown principal ${JSON.stringify(req.principal)}${didYouMean(req.principal, policy.directory.principals.keys())}`);
  const dot = req.field.indexOf('.');
  if (dot <= 0) bad(`--field must be dataset.field, got ${JSON.stringify(req.field)}`);
  const datasetName = req.field.slice(0, dot);
  const fieldName = req.field.slice(dot + 1);
  const dataset = policy.datasets.get(datasetName) ?? bad(`unknown dataset ${JSON.stringify(datasetName)}${didYouMean(datasetName, policy.datasets.keys())}`);
  const cf = dataset.fields.get(fieldName);
  if (!cf) bad(`unknown field ${JSON.stringify(fieldName)} of ${datasetName}${didYouMean(fieldName, dataset.fields.keys())}`);
  const jurisdiction =
    policy.deployment.jurisdictions.get(req.jurisdiction) ??
    bad(`unknown jurisdiction ${JSON.stringify(req.jurisdiction)}${didYouMean(req.jurisdiction, policy.deployment.jurisdictions.keys())}`);
  if (req.category !== undefined) {
    const allowed = fieldCategories(cf!);
    if (!allowed.includes(req.category)) bad(`${req.field} is never ${JSON.stringify(req.category)}; its categories are ${allowed.join(', ')}`);
  }
  for (const key of Object.keys(req.row ?? {})) {
    if (!dataset.fields.has(key)) bad(`--row names unknown field ${JSON.stringify(key)} of ${datasetName}${didYouMean(key, dataset.fields.keys())}`);
  }
  const country = req.country ?? principal.workCountry;
  const site = req.site ?? principal.site;
  const now = Date.now();
  const grants: GrantInfo[] = req.grant
    ? [{ id: 'explain-grant', datasets: [datasetName], categories: rootCategories(policy), expiresAt: now + 3_600_000, reason: req.reason ?? 'USER_SUPPORT' }]
    : [];
  const decision = decider.decideField({
    principal: req.principal,
    action: req.action,
    dataset: datasetName,
    field: fieldName,
    jurisdiction: jurisdiction.name,
    row: req.row,
    category: req.category,
    context: { country, site, reason: req.reason, grants, now },
  });
  const enclave = policy.deployment.enclaves.get(jurisdiction.enclave)!;
  const ruleIds = new Set([...decision.rules, ...decision.steps.flatMap((s) => [...s.rules, ...s.errors])]);
  const rules = policy.rules.filter((r) => ruleIds.has(r.id)).map((r) => ({ id: r.id, effect: r.effect, at: `${r.file}:${r.line}:${r.col}` }));
  return {
    principal: req.principal,
    action: req.action,
    dataset: datasetName,
    field: fieldName,
    jurisdiction: jurisdiction.name,
    enclave: enclave.name,
    enclaveCountries: enclave.allowedCountries,
    country,
    site,
    grant: req.grant ?? false,
    classSource: decision.category === undefined ? undefined : classSource(policy, jurisdiction.name, decision.category),
    decision,
    rules,
    policyVersion: policy.versionHash,
  };
}
