// Standing rules (PRODUCT.md §7 rule 4, §7a W4): a permit that would release protected data in clear
// without a grant. `policy check` reports each one, and the run-time decider leaves it out, so a
// rule that says "legacy-admin sees everything" is visible and inert.
//
// The gateway's inputs are finite: principals come from the directory, places from the network map
// (or the unknown place), reason and ticket are empty, `for_subject` is true or false, and a grant
// is what this check assumes absent. So every permit is asked, alone, for `disclose_clear` of every
// catalog field, under every category the field can take, in every jurisdiction where that category
// is protected, for every principal from every place: a rule that allows any of these is standing.

import { classOf } from './classes.js';
import { createCompiledEvaluator } from './compile.js';
import { fieldCategories, type Policy, type Principal, type Rule } from './model.js';
import { contextRecord, fieldEntity, principalEntity, teamEntities, type EntityData } from './request.js';
import type { CedarRecord } from './values.js';

/** A request from a network the map does not know (the server's UNKNOWN_PLACE). */
const UNKNOWN = 'unknown';

export interface StandingRule {
  readonly rule: Rule;
  /** One request the rule would answer with protected data in clear without a grant. */
  readonly example: {
    readonly principal: string;
    readonly dataset: string;
    readonly field: string;
    readonly category: string;
    readonly jurisdiction: string;
    readonly country: string;
    readonly site: string;
  };
}

const cache = new WeakMap<Policy, readonly StandingRule[]>();

/** The permits of `policy` that would release protected data in clear without a grant, each with an example. */
export function standingRules(policy: Policy): readonly StandingRule[] {
  const hit = cache.get(policy);
  if (hit) return hit;
  const out: StandingRule[] = [];
  const permits = policy.rules.filter((r) => r.effect === 'permit');
  if (permits.length > 0) {
    const teams = teamEntities(policy);
    const principals = [...policy.directory.principals.values()].map((p) => ({
      p,
      entity: principalEntity(policy, p),
      entities: teamsOf(teams, principalEntity(policy, p)),
    }));
    const places = placesOf(policy, [...policy.directory.principals.values()]);
    const resources: { dataset: string; field: string; category: string; jurisdiction: string; entity: EntityData }[] = [];
    for (const d of policy.datasets.values()) {
      for (const f of d.fields.values()) {
        for (const category of fieldCategories(f)) {
          for (const jurisdiction of policy.deployment.jurisdictions.keys()) {
            const cls = classOf(policy.classes, policy.taxonomy, jurisdiction, category);
            if (cls !== 'protected') continue;
            resources.push({
              dataset: d.name,
              field: f.name,
              category,
              jurisdiction,
              entity: fieldEntity(policy, { dataset: d.name, field: f.name, category, class: cls, jurisdiction }),
            });
          }
        }
      }
    }
    const contexts: { country: string; site: string; record: CedarRecord }[] = [];
    for (const place of places) {
      for (const forSubject of [false, true]) {
        contexts.push({
          ...place,
          record: contextRecord({ ...place, reason: '', ticket: '', grant: { active: false, id: '', reason: '', breakGlass: false }, forSubject }),
        });
      }
    }
    for (const rule of permits) {
      const evaluator = createCompiledEvaluator([rule]);
      const example = (() => {
        for (const who of principals) {
          for (const r of resources) {
            for (const c of contexts) {
              const a = evaluator.authorize({ principal: who.entity, action: 'disclose_clear', resource: r.entity, context: c.record, entities: who.entities });
              if (a.allow)
                return {
                  principal: who.p.id,
                  dataset: r.dataset,
                  field: r.field,
                  category: r.category,
                  jurisdiction: r.jurisdiction,
                  country: c.country,
                  site: c.site,
                };
            }
          }
        }
        return undefined;
      })();
      if (example) out.push({ rule, example });
    }
  }
  cache.set(policy, out);
  return out;
}

function teamsOf(teams: ReadonlyMap<string, EntityData>, e: EntityData): ReadonlyMap<string, EntityData> {
  return new Map([...e.ancestors].flatMap((k) => (teams.has(k) ? [[k, teams.get(k)!] as const] : [])));
}

function placesOf(policy: Policy, principals: readonly Principal[]): { country: string; site: string }[] {
  const places = new Map<string, { country: string; site: string }>();
  const add = (country: string, site: string) => places.set(`${country}\u0000${site}`, { country, site });
  for (const l of policy.deployment.locations) add(l.country, l.site);
  for (const p of principals) add(p.workCountry, p.site);
  add(UNKNOWN, UNKNOWN);
  return [...places.values()];
}
