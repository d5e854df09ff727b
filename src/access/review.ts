// The standing-access review, offline from the policy and its directory: which protected categories
// of which jurisdictions each principal reaches in clear without a grant (and with one), and from
// where; flags master admins, standing access, reach from outside an enclave, and enclave staff or
// approvers who, or whose reporting line, sit outside the enclave.

import {
  classOf,
  createDecider,
  fieldCategories,
  standingRules,
  type Decider,
  type Enclave,
  type GrantInfo,
  type Policy,
  type Principal,
  type PrincipalKind,
} from '../policy/index.js';
import type { Place } from './model.js';
import { textTable } from '../shared/text-table.js';

export interface Reach {
  readonly jurisdiction: string;
  readonly category: string;
  /** Countries of the places it is reached from, sorted; `unknown` is a request from an unknown network. */
  readonly countries: readonly string[];
}

export interface PrincipalReview {
  readonly id: string;
  readonly team: string;
  readonly kind: PrincipalKind;
  readonly reaches: readonly Reach[];
  readonly reachesWithGrant: readonly Reach[];
}

export interface TeamReview {
  readonly team: string;
  /** Principals whose team lineage contains the team. */
  readonly members: readonly string[];
  /** The union of the members' reaches without a grant. */
  readonly reaches: readonly Reach[];
}

export interface UniverseEntry {
  readonly jurisdiction: string;
  readonly category: string;
}

export const STANDING_FLAG_KINDS = [
  'master_admin',
  'standing_access',
  'outside_enclave',
  'reporting_line_outside',
  'staff_outside_enclave',
  'standing_rule',
] as const;
export type StandingFlagKind = (typeof STANDING_FLAG_KINDS)[number];

export interface StandingFlag {
  readonly kind: StandingFlagKind;
  readonly principal?: string;
  readonly team?: string;
  /** One English sentence naming who and what. */
  readonly message: string;
  readonly details: Readonly<Record<string, unknown>>;
}

export interface StandingReview {
  readonly policyVersion: string;
  readonly ok: boolean;
  /** Every (jurisdiction, category) a catalog field can take whose class there is protected. */
  readonly universe: readonly UniverseEntry[];
  readonly principals: readonly PrincipalReview[];
  readonly teams: readonly TeamReview[];
  /** Sorted by kind (in STANDING_FLAG_KINDS order), then principal. */
  readonly flags: readonly StandingFlag[];
}

/** Where the server places a request from a network the map does not know. */
export const UNKNOWN_PLACE: Place = { country: 'unknown', site: 'unknown' };
export const REVIEW_GRANT_ID = 'review-hypothetical-grant';

interface FieldRef {
  readonly dataset: string;
  readonly field: string;
}

interface Hit {
  readonly item: UniverseEntry;
  readonly place: Place;
}

interface Probe {
  readonly principal: Principal;
  readonly bare: readonly Hit[];
  readonly granted: readonly Hit[];
}

interface Universe {
  readonly entries: readonly UniverseEntry[];
  /** Category -> one dataset field that can carry it. */
  readonly fields: ReadonlyMap<string, FieldRef>;
}

const byString = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
const itemKey = (i: UniverseEntry): string => `${i.jurisdiction}\u0000${i.category}`;
const placeKey = (p: Place): string => `${p.country}\u0000${p.site}`;
const uniqueSorted = (xs: Iterable<string>): string[] => [...new Set(xs)].sort(byString);

/** The review of `policy`. Reads only the policy and its directory; runs a few decisions per principal, place and category. */
export function standingAccessReview(policy: Policy): StandingReview {
  const universe = protectedUniverse(policy);
  // What the rules say, standing rules included: the gateway leaves those out (W4), but the review
  // is where they are shown.
  const decider = createDecider(policy, { asWritten: true });
  const grant = reviewGrant(policy, universe);
  const now = Date.now();
  const principals = [...policy.directory.principals.values()].sort((a, b) => byString(a.id, b.id));
  const probes = principals.map((p) => probePrincipal(decider, p, universe, placesFor(policy, p), grant, now));
  const flags = [...probes.flatMap((pr) => flagsOf(policy, universe, pr)), ...standingRuleFlags(policy)].sort(compareFlags);
  return {
    policyVersion: policy.versionHash,
    ok: flags.length === 0,
    universe: universe.entries,
    principals: probes.map((pr) => ({
      id: pr.principal.id,
      team: pr.principal.team,
      kind: pr.principal.kind,
      reaches: reachesOf(pr.bare),
      reachesWithGrant: reachesOf(pr.granted),
    })),
    teams: teamReviews(policy, probes),
    flags,
  };
}

function protectedUniverse(policy: Policy): Universe {
  const fields = new Map<string, FieldRef>();
  for (const dataset of [...policy.datasets.keys()].sort(byString)) {
    for (const f of policy.datasets.get(dataset)!.fields.values()) {
      for (const category of fieldCategories(f)) {
        if (!fields.has(category)) fields.set(category, { dataset, field: f.name });
      }
    }
  }
  const entries: UniverseEntry[] = [];
  for (const jurisdiction of [...policy.deployment.jurisdictions.keys()].sort(byString)) {
    for (const category of [...fields.keys()].sort(byString)) {
      if (classOf(policy.classes, policy.taxonomy, jurisdiction, category) === 'protected') entries.push({ jurisdiction, category });
    }
  }
  return { entries, fields };
}

function placesFor(policy: Policy, p: Principal): Place[] {
  const places = new Map<string, Place>();
  for (const l of policy.deployment.locations) places.set(placeKey(l), { country: l.country, site: l.site });
  const own = { country: p.workCountry, site: p.site };
  if (!places.has(placeKey(own))) places.set(placeKey(own), own);
  if (!places.has(placeKey(UNKNOWN_PLACE))) places.set(placeKey(UNKNOWN_PLACE), UNKNOWN_PLACE);
  return [...places.values()];
}

/** One grant covering every dataset and every category of the universe, for every subject, forever. */
function reviewGrant(policy: Policy, universe: Universe): GrantInfo {
  return {
    id: REVIEW_GRANT_ID,
    datasets: [...policy.datasets.keys()].sort(byString),
    categories: uniqueSorted(universe.entries.map((e) => e.category)),
    notBefore: 0,
    expiresAt: Number.MAX_SAFE_INTEGER,
    reason: 'REVIEW',
  };
}

function probePrincipal(decider: Decider, principal: Principal, universe: Universe, places: readonly Place[], grant: GrantInfo, now: number): Probe {
  const bare: Hit[] = [];
  const granted: Hit[] = [];
  const clear = (item: UniverseEntry, ref: FieldRef, place: Place, grants: readonly GrantInfo[]): boolean =>
    decider.decideField({
      principal: principal.id,
      action: 'read',
      dataset: ref.dataset,
      field: ref.field,
      jurisdiction: item.jurisdiction,
      category: item.category,
      subject: undefined,
      context: { country: place.country, site: place.site, grants, now },
    }).disclosure === 'clear';
  for (const item of universe.entries) {
    const ref = universe.fields.get(item.category)!;
    for (const place of places) {
      if (clear(item, ref, place, [])) bare.push({ item, place });
      if (clear(item, ref, place, [grant])) granted.push({ item, place });
    }
  }
  return { principal, bare, granted };
}

function reachesOf(hits: readonly Hit[]): Reach[] {
  const byItem = new Map<string, { item: UniverseEntry; countries: string[] }>();
  for (const h of hits) {
    const k = itemKey(h.item);
    const e = byItem.get(k) ?? { item: h.item, countries: [] };
    e.countries.push(h.place.country);
    byItem.set(k, e);
  }
  return sortReaches([...byItem.values()].map((e) => ({ ...e.item, countries: uniqueSorted(e.countries) })));
}

function sortReaches(rs: Reach[]): Reach[] {
  return rs.sort((a, b) => byString(a.jurisdiction, b.jurisdiction) || byString(a.category, b.category));
}

function mergeReaches(lists: readonly (readonly Reach[])[]): Reach[] {
  const merged = new Map<string, Reach>();
  for (const r of lists.flat()) {
    const prior = merged.get(itemKey(r));
    merged.set(itemKey(r), { jurisdiction: r.jurisdiction, category: r.category, countries: uniqueSorted([...(prior?.countries ?? []), ...r.countries]) });
  }
  return sortReaches([...merged.values()]);
}

function teamReviews(policy: Policy, probes: readonly Probe[]): TeamReview[] {
  return [...policy.directory.teams.keys()].sort(byString).map((team) => {
    const members = probes.filter((pr) => policy.directory.teams.get(pr.principal.team)?.lineage.includes(team) ?? false);
    return { team, members: members.map((m) => m.principal.id), reaches: mergeReaches(members.map((m) => reachesOf(m.bare))) };
  });
}

function enclaveOf(policy: Policy, jurisdiction: string): Enclave | undefined {
  const j = policy.deployment.jurisdictions.get(jurisdiction);
  return j === undefined ? undefined : policy.deployment.enclaves.get(j.enclave);
}

function flagsOf(policy: Policy, universe: Universe, pr: Probe): StandingFlag[] {
  return [masterAdminFlag(universe, pr), standingAccessFlag(pr), outsideEnclaveFlag(policy, pr), ...enclaveLineFlags(policy, pr)].filter(
    (f): f is StandingFlag => f !== undefined,
  );
}

function flag(kind: StandingFlagKind, p: Principal, message: string, details: Record<string, unknown>): StandingFlag {
  return { kind, principal: p.id, team: p.team, message, details };
}

const INERT = 'Inert at run time: protected data is released in clear only under an active grant, whatever the rules say (W4).';

/** One flag per rule that would release protected data in clear without a grant (the gateway leaves it out). */
function standingRuleFlags(policy: Policy): StandingFlag[] {
  return standingRules(policy).map(({ rule, example: e }) => ({
    kind: 'standing_rule' as const,
    principal: e.principal,
    message: `rule ${rule.id} (${rule.file}:${rule.line}) would release protected data in clear without a grant, e.g. ${e.dataset}.${e.field} of a ${e.jurisdiction} subject to ${e.principal}. ${INERT}`,
    details: { rule: rule.id, file: rule.file, line: rule.line, example: e, inert: true },
  }));
}

function masterAdminFlag(universe: Universe, pr: Probe): StandingFlag | undefined {
  const reached = new Set(pr.bare.map((h) => itemKey(h.item)));
  const jurisdictions = uniqueSorted(universe.entries.map((e) => e.jurisdiction)).filter((j) =>
    universe.entries.filter((e) => e.jurisdiction === j).every((e) => reached.has(itemKey(e))),
  );
  if (jurisdictions.length === 0) return undefined;
  return flag(
    'master_admin',
    pr.principal,
    `${pr.principal.id} is a master admin: it reaches every protected category of ${jurisdictions.join(', ')} in clear without a grant. ${INERT}`,
    { jurisdictions, inert: true },
  );
}

function standingAccessFlag(pr: Probe): StandingFlag | undefined {
  const reaches = reachesOf(pr.bare);
  if (reaches.length === 0) return undefined;
  return flag('standing_access', pr.principal, `${pr.principal.id} reaches protected data in clear without a grant: ${describeReaches(reaches)}. ${INERT}`, {
    reaches,
    inert: true,
  });
}

/** `US: 8 categories from US; EU: user.contact.email from IE` */
function describeReaches(reaches: readonly Reach[]): string {
  return uniqueSorted(reaches.map((r) => r.jurisdiction))
    .map((j) => {
      const rs = reaches.filter((r) => r.jurisdiction === j);
      const what = rs.length === 1 ? rs[0]!.category : `${rs.length} categories`;
      return `${j}: ${what} from ${uniqueSorted(rs.flatMap((r) => r.countries)).join(', ')}`;
    })
    .join('; ');
}

interface OutsidePlace {
  readonly jurisdiction: string;
  readonly enclave: string;
  readonly country: string;
  readonly site: string;
  readonly categories: readonly string[];
  /** True when reached there without a grant too. */
  readonly withoutGrant: boolean;
}

function outsideEnclaveFlag(policy: Policy, pr: Probe): StandingFlag | undefined {
  const places = new Map<string, { jurisdiction: string; enclave: string; place: Place; categories: string[]; withoutGrant: boolean }>();
  const note = (h: Hit, withoutGrant: boolean) => {
    const enclave = enclaveOf(policy, h.item.jurisdiction);
    if (enclave?.allowedCountries.includes(h.place.country)) return;
    const k = `${h.item.jurisdiction}\u0000${placeKey(h.place)}`;
    const e = places.get(k) ?? { jurisdiction: h.item.jurisdiction, enclave: enclave?.name ?? '', place: h.place, categories: [], withoutGrant: false };
    e.categories.push(h.item.category);
    e.withoutGrant ||= withoutGrant;
    places.set(k, e);
  };
  for (const h of pr.bare) note(h, true);
  for (const h of pr.granted) note(h, false);
  if (places.size === 0) return undefined;
  const outside: OutsidePlace[] = [...places.values()]
    .map((e) => ({
      jurisdiction: e.jurisdiction,
      enclave: e.enclave,
      country: e.place.country,
      site: e.place.site,
      categories: uniqueSorted(e.categories),
      withoutGrant: e.withoutGrant,
    }))
    .sort((a, b) => byString(a.jurisdiction, b.jurisdiction) || byString(a.country, b.country) || byString(a.site, b.site));
  const said = uniqueSorted(outside.map((o) => o.jurisdiction)).map((j) => {
    const at = outside.filter((o) => o.jurisdiction === j).map((o) => `${o.country} (${o.site})${o.withoutGrant ? '' : ' with a grant'}`);
    return `${j} from ${at.join(', ')}`;
  });
  return flag('outside_enclave', pr.principal, `${pr.principal.id} reaches protected data from outside its enclave's countries: ${said.join('; ')}.`, {
    places: outside,
  });
}

/**
 * Enclave name -> why the principal is bound by it: `approver (<group>)`, or `staff` when it reaches
 * the enclave's protected data with a grant from inside the enclave's countries. Staff is counted
 * only for enclaves an approver group serves: the broker scopes every grant (break-glass too) to a
 * group's enclave, so no grant can ever open another enclave's data, and reach there without a
 * grant is already flagged as standing access.
 */
function enclaveRoles(policy: Policy, pr: Probe): Map<string, string[]> {
  const roles = new Map<string, Set<string>>();
  const add = (enclave: string, role: string) => roles.set(enclave, (roles.get(enclave) ?? new Set<string>()).add(role));
  const grantable = new Set([...policy.deployment.access.approverGroups.values()].map((g) => g.enclave));
  for (const h of pr.granted) {
    const enclave = enclaveOf(policy, h.item.jurisdiction);
    if (enclave && grantable.has(enclave.name) && enclave.allowedCountries.includes(h.place.country)) add(enclave.name, 'staff');
  }
  for (const g of pr.principal.approverGroups) {
    const group = policy.deployment.access.approverGroups.get(g);
    if (group) add(group.enclave, `approver (${g})`);
  }
  return new Map([...roles].sort(([a], [b]) => byString(a, b)).map(([e, rs]) => [e, [...rs].sort(byString)]));
}

/** Why `who` is outside `enclave`; empty when inside. */
function outsideReasons(enclave: Enclave, who: Principal): string[] {
  const reasons: string[] = [];
  if (enclave.employer !== undefined && who.employer !== enclave.employer) reasons.push(`employer ${who.employer}, not ${enclave.employer}`);
  if (!enclave.allowedCountries.includes(who.workCountry)) reasons.push(`works in ${who.workCountry}, not in ${enclave.allowedCountries.join(', ')}`);
  return reasons;
}

/** The principal's managers, nearest first, stopping at a cycle or an unknown id. */
function managerChain(policy: Policy, p: Principal): Principal[] {
  const chain: Principal[] = [];
  const seen = new Set([p.id]);
  for (let m = p.manager; m !== undefined && !seen.has(m); ) {
    const manager = policy.directory.principals.get(m);
    if (!manager) break;
    seen.add(m);
    chain.push(manager);
    m = manager.manager;
  }
  return chain;
}

function enclaveLineFlags(policy: Policy, pr: Probe): (StandingFlag | undefined)[] {
  const p = pr.principal;
  const self: { enclave: string; roles: string[]; reasons: string[] }[] = [];
  const line: { enclave: string; roles: string[]; manager: string; employer: string; workCountry: string; reasons: string[] }[] = [];
  for (const [name, roles] of enclaveRoles(policy, pr)) {
    const enclave = policy.deployment.enclaves.get(name);
    if (!enclave) continue;
    const own = outsideReasons(enclave, p);
    if (own.length > 0) self.push({ enclave: name, roles, reasons: own });
    for (const m of managerChain(policy, p)) {
      const reasons = outsideReasons(enclave, m);
      if (reasons.length > 0) line.push({ enclave: name, roles, manager: m.id, employer: m.employer, workCountry: m.workCountry, reasons });
    }
  }
  const role = (e: { enclave: string; roles: string[] }) => `${e.roles.join(' and ')} of the ${e.enclave} enclave`;
  return [
    self.length === 0
      ? undefined
      : flag(
          'staff_outside_enclave',
          p,
          `${p.id} is outside the enclave it serves: ${self.map((s) => `${role(s)}, but ${s.reasons.join(' and ')}`).join('; ')}.`,
          { enclaves: self },
        ),
    line.length === 0
      ? undefined
      : flag(
          'reporting_line_outside',
          p,
          `${p.id} has a reporting line outside the enclave it serves: ${line.map((l) => `${role(l)}, reports to ${l.manager} (${l.reasons.join(' and ')})`).join('; ')}.`,
          { managers: line },
        ),
  ];
}

function compareFlags(a: StandingFlag, b: StandingFlag): number {
  return (
    STANDING_FLAG_KINDS.indexOf(a.kind) - STANDING_FLAG_KINDS.indexOf(b.kind) ||
    byString(a.principal ?? '', b.principal ?? '') ||
    byString(a.team ?? '', b.team ?? '')
  );
}

/** A text report: principals and what they reach (without, then with a grant), the flags, and a summary line. */
export function formatStandingReview(r: StandingReview): string {
  const rows = r.principals.map((p) => [p.id, p.team, p.kind, summarize(p.reaches, r.universe), summarize(p.reachesWithGrant, r.universe)]);
  const flags = r.flags.map((f) => `FLAG ${f.kind}: ${f.message}`);
  return [
    `standing-access review of policy ${r.policyVersion.slice(0, 12)}`,
    '',
    textTable(['principal', 'team', 'kind', 'without a grant', 'with a grant'], rows),
    '',
    ...(flags.length > 0 ? [...flags, ''] : []),
    summaryLine(r.flags),
  ].join('\n');
}

/** `US 8/8 from US; EU 8/8 from IE`, or `-` when nothing protected is reached. */
function summarize(reaches: readonly Reach[], universe: readonly UniverseEntry[]): string {
  if (reaches.length === 0) return '-';
  return uniqueSorted(reaches.map((x) => x.jurisdiction))
    .map((j) => {
      const rs = reaches.filter((x) => x.jurisdiction === j);
      const total = universe.filter((u) => u.jurisdiction === j).length;
      return `${j} ${rs.length}/${total} from ${uniqueSorted(rs.flatMap((x) => x.countries)).join(',')}`;
    })
    .join('; ');
}

function summaryLine(flags: readonly StandingFlag[]): string {
  if (flags.length === 0) return 'no flags';
  const counts = STANDING_FLAG_KINDS.map((k) => [k, flags.filter((f) => f.kind === k).length] as const).filter(([, n]) => n > 0);
  return `${flags.length} flag${flags.length === 1 ? '' : 's'}: ${counts.map(([k, n]) => `${n} ${k}`).join(', ')}`;
}
