// The ground truth of the wall's model-based test (PRODUCT.md §7a): every record's fields, each
// subject's jurisdiction, the grants (who, datasets, categories, subjects, expiry), and what the
// contract (/work/contract-16.md; PRODUCT.md §7a) says a write may do. The checks of W1 (nothing
// protected to an outsider), W2 (stored protected values equal the model's), W3 (no protected value
// outside its enclave), W4 (no grant the broker may not give), W5 (the log matches what was
// released or written) and W7 (bad input changes nothing) compare the running server against it.
//
// "Outsider" is computed conservatively: a caller counts as an insider for a value whenever the
// model cannot rule it out (enclave staff, asking from the enclave's countries, holding a grant that
// may still be active and covers the dataset, category, subject and jurisdiction), so every W1
// finding is a value the caller certainly may not have. A write is judged "must be refused" only
// where the contract leaves no doubt; anything else the server answers 2xx to is applied.
import { classOf, type Policy, type Principal } from '../../src/policy/index.js';
import { categoryForRow } from '../../src/policy/catalog.js';
import type { FieldValue } from '../../src/store/index.js';
import { hashOf, type Place } from './wall-world.js';

export type Values = Record<string, FieldValue>;

/** A finding: the invariant and what broke it (protected values only as hashes). */
export interface Violation {
  readonly invariant: 'W1' | 'W2' | 'W3' | 'W4' | 'W5' | 'W6' | 'W7';
  readonly message: string;
}

export interface MRecord {
  readonly dataset: string;
  readonly key: string;
  values: Values;
  /** The jurisdiction whose enclave holds its protected data (kept when its subject is deleted). */
  jurStored: string | undefined;
  /** Bumped on every change the model makes (the W2 check re-reads changed records only). */
  version: number;
}

export interface Secret {
  readonly value: string;
  readonly dataset: string;
  readonly key: string;
  readonly field: string;
  readonly category: string | undefined;
  readonly subject: string | undefined;
  /** The subject's jurisdiction now (undefined: cannot be told, so nobody is an insider). */
  readonly jurNow: string | undefined;
  /** The one store that may hold it (its enclave's). */
  readonly store: string | undefined;
  /** Overwritten or deleted: nobody may see it any more. */
  readonly retired: boolean;
}

export interface MGrant {
  readonly id: string;
  readonly principal: string;
  readonly datasets: readonly string[];
  readonly categories: readonly string[];
  readonly subjects: readonly string[] | undefined;
  readonly jurisdictions: readonly string[];
  readonly notBefore: number;
  readonly expiresAt: number;
  revoked: boolean;
}

export interface MRequest {
  readonly id: string;
  readonly principal: string;
  readonly datasets: readonly string[];
  readonly categories: readonly string[];
  readonly subjects: readonly string[] | undefined;
  readonly jurisdictions: readonly string[];
  readonly durationMs: number;
  readonly expiresAt: number;
  readonly approvals: string[];
  state: 'pending' | 'approved' | 'denied' | 'withdrawn';
}

/** A protected field a write moves to another jurisdiction or subject, or declassifies. */
export interface Moved {
  readonly action: 'transfer' | 'declassify';
  readonly dataset: string;
  readonly key: string;
  readonly field: string;
  /** A record of another dataset whose subject is the written record (a user's videos). */
  readonly dependent: boolean;
}

export interface Judgement {
  /** Why the contract forbids this write (empty: it may be permitted). */
  readonly forbidden: string[];
  readonly moved: Moved[];
}

/** Shorter protected values are not searched for (they could match by chance); the test writes none. */
export const MIN_SECRET_LENGTH = 8;
/** A grant this close to its expiry counts as possibly active (the model's and the server's clock are one, but stay safe). */
const EXPIRY_SLACK_MS = 1000;
const ENCLAVE_STAFF = 'enclave-staff';

/** What the test needs of the policy, answered from the loaded policy itself. */
export class PolicyView {
  constructor(readonly policy: Policy) {}

  principal(id: string): Principal {
    return this.policy.directory.principals.get(id)!;
  }
  teams(id: string): readonly string[] {
    const p = this.principal(id);
    return this.policy.directory.teams.get(p.team)?.lineage ?? [p.team];
  }
  isStaff(id: string): boolean {
    return this.teams(id).includes(ENCLAVE_STAFF);
  }
  jurisdictionOfCountry(country: unknown): string | undefined {
    if (typeof country !== 'string') return undefined;
    return this.policy.deployment.countryJurisdiction.get(country) ?? this.policy.deployment.defaultJurisdiction;
  }
  enclaveOf(jurisdiction: string): { countries: readonly string[]; store: string; jurisdictions: readonly string[] } {
    const j = this.policy.deployment.jurisdictions.get(jurisdiction)!;
    const e = this.policy.deployment.enclaves.get(j.enclave)!;
    return { countries: e.allowedCountries, store: e.store, jurisdictions: e.jurisdictions };
  }
  /** True when a request from `place` is inside the enclave of `jurisdiction`. */
  inEnclave(place: Place, jurisdiction: string | undefined): boolean {
    return jurisdiction !== undefined && place.country !== undefined && this.enclaveOf(jurisdiction).countries.includes(place.country);
  }
  keyField(dataset: string): string {
    return this.policy.datasets.get(dataset)!.key;
  }
  fields(dataset: string): string[] {
    return [...this.policy.datasets.get(dataset)!.fields.keys()];
  }
  subjectField(dataset: string): string {
    return this.policy.datasets.get(dataset)!.subjectField;
  }
  subjectDataset(dataset: string): string | undefined {
    return this.policy.datasets.get(dataset)!.subjectDataset;
  }
  jurisdictionField(dataset: string): string | undefined {
    return this.policy.datasets.get(dataset)!.jurisdictionField;
  }
  category(dataset: string, field: string, row: Values): string | undefined {
    const f = this.policy.datasets.get(dataset)?.fields.get(field);
    return f && categoryForRow(f, row);
  }
  /** Unclassified (no category for this row) counts as protected. */
  isProtected(dataset: string, field: string, row: Values, jurisdiction: string): boolean {
    const category = this.category(dataset, field, row);
    return category === undefined || classOf(this.policy.classes, this.policy.taxonomy, jurisdiction, category) === 'protected';
  }
  isProtectedAnywhere(dataset: string, field: string, row: Values): boolean {
    return [...this.policy.deployment.jurisdictions.keys()].some((j) => this.isProtected(dataset, field, row, j));
  }
  lineage(category: string): readonly string[] {
    return this.policy.taxonomy.categories.get(category)?.lineage ?? [category];
  }
  approverGroup() {
    return [...this.policy.deployment.access.approverGroups.values()][0]!;
  }
  isApprover(id: string): boolean {
    const g = this.approverGroup();
    const p = this.principal(id);
    return p.approverGroups.includes(g.name) && (g.teams.length === 0 || g.teams.includes(id) || this.teams(id).some((t) => g.teams.includes(t)));
  }
  mayBreakGlass(id: string): boolean {
    const bg = this.policy.deployment.access.breakGlass;
    return bg !== undefined && (bg.allowed.includes(id) || this.teams(id).some((t) => bg.allowed.includes(t)));
  }
}

/** True when `value` occurs in `text` not as part of a longer word or number. */
export function containsValue(text: string, value: string): boolean {
  for (let at = text.indexOf(value); at >= 0; at = text.indexOf(value, at + 1)) {
    const before = at === 0 ? '' : text[at - 1]!;
    const after = text[at + value.length] ?? '';
    if (!/[A-Za-z0-9]/.test(before) && !/[A-Za-z0-9]/.test(after)) return true;
  }
  return false;
}

export class WallModel {
  now: number;
  readonly records = new Map<string, MRecord>();
  /** Keys (dataset/key) the model knows are gone or were never made: the stores must not hold them. */
  readonly gone = new Set<string>();
  readonly retired: Secret[] = [];
  readonly grants: MGrant[] = [];
  readonly requests: MRequest[] = [];
  /** persona -> record key of a user -> the token that persona was given for it. */
  readonly tokens = new Map<string, Map<string, string>>();
  readonly listNext = new Map<string, string>();
  readonly egressNext = new Map<string, number>();
  private readonly used = new Set<string>();
  private versions = 0;

  constructor(
    readonly pv: PolicyView,
    now: number,
    /** Fresh random bits for protected values (not from fast-check's seed: a replay gets new values, so a value left behind by an earlier run can never match). */
    private readonly random: (bytes: number) => string,
  ) {
    this.now = now;
  }

  id(dataset: string, key: string): string {
    return `${dataset}/${key}`;
  }
  rec(dataset: string, key: string): MRecord | undefined {
    return this.records.get(this.id(dataset, key));
  }
  keysOf(dataset: string): string[] {
    return [...this.records.values()].filter((r) => r.dataset === dataset).map((r) => r.key);
  }
  /** A record of `dataset` picked by `ref` (stable order: the seeded world first). */
  pick(dataset: string, ref: number): MRecord | undefined {
    const all = [...this.records.values()].filter((r) => r.dataset === dataset);
    return all.length === 0 ? undefined : all[ref % all.length];
  }

  // ---- jurisdictions and subjects ----

  subjectOf(dataset: string, values: Values): string | undefined {
    const v = values[this.pv.subjectField(dataset)];
    return v === undefined || v === null ? undefined : String(v);
  }
  /** The jurisdiction the server tells for these values now (a dependent's from its subject's record). */
  jurisdictionOf(dataset: string, values: Values): string | undefined {
    const jf = this.pv.jurisdictionField(dataset);
    if (jf !== undefined) return this.pv.jurisdictionOfCountry(values[jf]);
    const sd = this.pv.subjectDataset(dataset);
    const subject = this.subjectOf(dataset, values);
    if (sd === undefined || subject === undefined) return undefined;
    const owner = this.rec(sd, subject);
    return owner ? this.jurisdictionOf(sd, owner.values) : undefined;
  }
  jurNow(r: MRecord): string | undefined {
    return this.jurisdictionOf(r.dataset, r.values);
  }
  private refreshStored(): void {
    for (const r of this.records.values()) {
      const j = this.jurNow(r);
      if (j !== undefined && j !== r.jurStored) {
        r.jurStored = j;
        r.version = ++this.versions;
      }
    }
  }
  /** Records whose subject is `key` of `dataset` (a user's videos and comments). */
  dependents(dataset: string, key: string): MRecord[] {
    return [...this.records.values()].filter(
      (r) => this.pv.subjectDataset(r.dataset) === dataset && this.pv.jurisdictionField(r.dataset) === undefined && this.subjectOf(r.dataset, r.values) === key,
    );
  }

  // ---- protected values ----

  secretsOf(r: MRecord, retired = false): Secret[] {
    const out: Secret[] = [];
    const j = r.jurStored;
    for (const field of this.pv.fields(r.dataset)) {
      const v = r.values[field];
      if (v === null || v === undefined || typeof v !== 'string' || v.length < MIN_SECRET_LENGTH) continue;
      // A record whose jurisdiction cannot be told: what is protected anywhere counts.
      if (j !== undefined ? !this.pv.isProtected(r.dataset, field, r.values, j) : !this.pv.isProtectedAnywhere(r.dataset, field, r.values)) continue;
      out.push({
        value: v,
        dataset: r.dataset,
        key: r.key,
        field,
        category: this.pv.category(r.dataset, field, r.values),
        subject: this.subjectOf(r.dataset, r.values),
        jurNow: retired ? undefined : this.jurNow(r),
        store: j === undefined ? undefined : this.pv.enclaveOf(j).store,
        retired,
      });
    }
    return out;
  }
  secrets(): Secret[] {
    return [...[...this.records.values()].flatMap((r) => this.secretsOf(r)), ...this.retired];
  }

  /** True when the model cannot rule out that the caller may see the value in clear. */
  mayBeInsider(persona: string, place: Place, s: Secret): boolean {
    if (s.retired || s.jurNow === undefined || s.category === undefined || s.subject === undefined) return false;
    if (!this.pv.isStaff(persona) || !this.pv.inEnclave(place, s.jurNow)) return false;
    const lineage = this.pv.lineage(s.category);
    return this.grants.some((g) => g.principal === persona && this.covers(g, s.dataset, lineage, s.subject!, s.jurNow!));
  }
  possiblyActive(g: MGrant): boolean {
    return !g.revoked && g.notBefore <= this.now && this.now < g.expiresAt + EXPIRY_SLACK_MS;
  }
  covers(g: MGrant, dataset: string, lineage: readonly string[], subject: string, jurisdiction: string): boolean {
    return (
      this.possiblyActive(g) &&
      g.datasets.includes(dataset) &&
      g.categories.some((c) => lineage.includes(c)) &&
      (g.subjects === undefined || g.subjects.includes(subject)) &&
      g.jurisdictions.includes(jurisdiction)
    );
  }

  // ---- fresh, distinctive values ----

  private unique(make: () => string): string {
    for (;;) {
      const v = make();
      if (!this.used.has(v)) {
        this.used.add(v);
        return v;
      }
    }
  }
  private int(n: number): number {
    return parseInt(this.random(6), 16) % n;
  }
  fresh(kind: string): string {
    switch (kind) {
      case 'phone_number':
        return this.unique(() => `+1${200 + this.int(700)}${String(this.int(10_000_000)).padStart(7, '0')}`);
      case 'email':
        return this.unique(() => `w${this.random(5)}@example.org`);
      case 'birthday':
        // 1900–1949: never a year of the fixed users, nor of any timestamp the server writes.
        return this.unique(() => new Date(Date.UTC(1900, 0, 1) + this.int(50 * 365) * 86_400_000).toISOString().slice(0, 10));
      case 'device_id':
        return this.unique(() => {
          const h = this.random(16);
          return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-${'89ab'[this.int(4)]}${h.slice(17, 20)}-${h.slice(20, 32)}`;
        });
      case 'ip_address':
        // Not 10.x (the places), not 127.x; the last octet never 0, so the /24 mask never spells the value.
        return this.unique(() => `${11 + this.int(89)}.${this.int(256)}.${this.int(256)}.${11 + this.int(244)}`);
      case 'caption':
        return this.unique(() => `clip ${this.random(5)} at the lake`);
      case 'draft_body':
        return this.unique(() => `draft notes ${this.random(5)}`);
      case 'body':
        return this.unique(() => `comment ${this.random(5)}`);
      case 'username':
        return this.unique(() => `w_${this.random(4)}`);
      case 'bio':
        return this.unique(() => `bio ${this.random(4)}`);
      case 'key':
        return this.unique(() => `w-${this.random(4)}`);
      default:
        throw new Error(`no fresh ${kind}`);
    }
  }

  // ---- what the contract says of a write ----

  /**
   * Judges a write by `persona` from `place` against the contract: the body's fields under the
   * record's classification before and after; every stored protected value declassified or moved to
   * another jurisdiction or subject (and, for a subject record, its dependents'); delete as writing
   * every stored field. `forbidden` lists only what certainly must be refused.
   */
  judge(
    persona: string,
    place: Place,
    dataset: string,
    mode: 'create' | 'update' | 'delete',
    key: string,
    body: Values,
    onBehalfOf: string | undefined,
  ): Judgement {
    const pv = this.pv;
    const forbidden: string[] = [];
    const moved: Moved[] = [];
    const before = mode === 'create' ? undefined : this.rec(dataset, key);
    if (mode !== 'create' && !before) return { forbidden, moved };
    const after: Values | undefined =
      mode === 'delete' ? undefined : { ...Object.fromEntries(pv.fields(dataset).map((f) => [f, null])), ...(before?.values ?? {}), ...body };
    const jb = before && this.jurNow(before);
    const ja = after && this.jurisdictionOf(dataset, after);
    const staff = pv.isStaff(persona);
    const writer = (j: string | undefined) => staff && pv.inEnclave(place, j);
    // A record whose subject is gone has no jurisdiction: its protected data stays where it is (fail closed).
    if (before && jb === undefined) {
      const held = pv
        .fields(dataset)
        .filter((f) => before.values[f] !== null && before.values[f] !== undefined && pv.isProtectedAnywhere(dataset, f, before.values));
      if (held.length > 0)
        forbidden.push(
          `${mode} of ${dataset}/${key}, whose jurisdiction cannot be told (its subject is gone) and which holds ${held.map((f) => `${dataset}.${f}`).join(', ')}`,
        );
      return { forbidden, moved };
    }

    if (mode === 'delete') {
      if (jb !== undefined) {
        for (const f of pv.fields(dataset)) {
          const v = before!.values[f];
          if (v !== null && v !== undefined && pv.isProtected(dataset, f, before!.values, jb) && !writer(jb))
            forbidden.push(`delete erases protected ${dataset}.${f}`);
        }
      }
      return { forbidden, moved };
    }

    // Body fields, under the classification before (updates) and after.
    for (const f of Object.keys(body)) {
      if (!pv.fields(dataset).includes(f)) continue;
      if (before && jb !== undefined && pv.isProtected(dataset, f, before.values, jb) && !writer(jb))
        forbidden.push(`write of ${dataset}.${f}, protected before the write`);
      else if (after && ja !== undefined && pv.isProtected(dataset, f, after, ja) && !writer(ja) && (before === undefined || jb !== undefined))
        forbidden.push(`write of ${dataset}.${f}, protected after the write`);
    }
    if (!before || jb === undefined || ja === undefined || !after) return { forbidden, moved };

    // Declassified and moved stored values.
    const sb = this.subjectOf(dataset, before.values);
    const sa = this.subjectOf(dataset, after);
    const stored = pv
      .fields(dataset)
      .filter((f) => before.values[f] !== null && before.values[f] !== undefined && pv.isProtected(dataset, f, before.values, jb));
    for (const f of stored) if (!pv.isProtected(dataset, f, after, ja)) moved.push({ action: 'declassify', dataset, key, field: f, dependent: false });
    if (ja !== jb || sa !== sb) {
      for (const f of stored) moved.push({ action: 'transfer', dataset, key, field: f, dependent: false });
      if (ja !== jb) {
        for (const d of this.dependents(dataset, key)) {
          for (const f of pv.fields(d.dataset)) {
            const v = d.values[f];
            if (v !== null && v !== undefined && pv.isProtected(d.dataset, f, d.values, jb))
              moved.push({ action: 'transfer', dataset: d.dataset, key: d.key, field: f, dependent: true });
          }
        }
      }
    }
    if (moved.length === 0) return { forbidden, moved };
    // Who may: the app backend acting for the subject, or enclave staff under a grant for the
    // subject as stored before the write; either inside the enclave's countries (the wall forbids
    // every action on protected data from outside them). The contract judges a declassification under
    // the classification before the write and leaves open which one a transfer is judged under, so
    // a place inside either enclave is given the benefit of the doubt.
    const forSubject = onBehalfOf !== undefined && sb !== undefined && (onBehalfOf === sb || this.tokens.get(persona)?.get(sb) === onBehalfOf);
    const inside = pv.inEnclave(place, jb) || (ja !== jb && pv.inEnclave(place, ja));
    const app = persona === 'app-backend' && forSubject && inside;
    const granted = (m: Moved) => {
      const r = this.rec(m.dataset, m.key)!;
      const category = pv.category(m.dataset, m.field, r.values);
      const subject = this.subjectOf(m.dataset, r.values);
      return (
        category !== undefined &&
        subject !== undefined &&
        this.grants.some((g) => g.principal === persona && this.covers(g, m.dataset, pv.lineage(category), subject, jb))
      );
    };
    const enclaveMove = staff && inside && moved.filter((m) => !m.dependent).every(granted);
    if (!app && !enclaveMove) {
      const names = [...new Set(moved.map((m) => `${m.action} ${m.dataset}.${m.field}`))].join(', ');
      forbidden.push(
        `${names} (${ja !== jb ? `jurisdiction ${jb} -> ${ja}` : sa !== sb ? 'subject changes' : 'class protected -> not'}) without an enclave grant or the subject's backend`,
      );
    }
    return { forbidden, moved };
  }

  // ---- applying what the server did (and the model allows) ----

  private retire(r: MRecord, fields?: ReadonlySet<string>): void {
    for (const s of this.secretsOf(r, true)) if (!fields || fields.has(s.field)) this.retired.push(s);
  }
  create(dataset: string, key: string, body: Values): void {
    const values: Values = { ...Object.fromEntries(this.pv.fields(dataset).map((f) => [f, null])), ...body, [this.pv.keyField(dataset)]: key };
    this.records.set(this.id(dataset, key), { dataset, key, values, jurStored: this.jurisdictionOf(dataset, values), version: ++this.versions });
    this.gone.delete(this.id(dataset, key));
    this.refreshStored();
  }
  update(dataset: string, key: string, body: Values): void {
    const r = this.rec(dataset, key)!;
    const changed = new Set(Object.keys(body).filter((f) => body[f] !== r.values[f]));
    this.retire(r, changed);
    r.values = { ...r.values, ...body };
    r.version = ++this.versions;
    this.refreshStored();
  }
  remove(dataset: string, key: string): void {
    const r = this.rec(dataset, key)!;
    this.retire(r);
    this.records.delete(this.id(dataset, key));
    this.gone.add(this.id(dataset, key));
    this.refreshStored();
  }

  /** Learns the tokens a persona was given for users' keys (by the public username beside them, or the record they were in). */
  learnTokens(persona: string, dataset: string, item: unknown): void {
    if (typeof item !== 'object' || item === null) return;
    const it = item as { key?: unknown; fields?: Record<string, unknown> };
    const fields = it.fields ?? {};
    let mine = this.tokens.get(persona);
    if (!mine) {
      mine = new Map();
      this.tokens.set(persona, mine);
    }
    const isToken = (v: unknown): v is string => typeof v === 'string' && v.startsWith('tok_');
    if (dataset === 'users') {
      const user = [...this.records.values()].find(
        (r) => r.dataset === 'users' && typeof fields['username'] === 'string' && r.values['username'] === fields['username'],
      );
      if (!user) return;
      const token = isToken(it.key) ? it.key : isToken(fields['uid']) ? fields['uid'] : undefined;
      if (token !== undefined && (isToken(it.key) || !mine.has(user.key))) mine.set(user.key, token);
      return;
    }
    const sf = this.pv.subjectField(dataset);
    const key = typeof it.key === 'string' ? it.key : undefined;
    const r = key === undefined ? undefined : this.rec(dataset, key);
    const subject = r && this.subjectOf(dataset, r.values);
    if (subject !== undefined && isToken(fields[sf]) && !mine.has(subject)) mine.set(subject, fields[sf]);
  }
  /** The clear key a persona's token names, if the model learned it. */
  keyOfToken(persona: string, token: string): string | undefined {
    for (const [k, t] of this.tokens.get(persona) ?? []) if (t === token) return k;
    return undefined;
  }
}

/**
 * W1: the response to `persona` at `place` holds no protected value the model knows it may not have.
 * `insiders` counts the protected values it held for a caller the model could not rule out.
 */
export function checkConfidentiality(
  m: WallModel,
  persona: string,
  place: Place,
  sent: { path: string; body: string | undefined; headers: Readonly<Record<string, string>> },
  answer: { status: number; headers: Readonly<Record<string, string>>; text: string },
): { violations: Violation[]; insiders: number } {
  const out: Violation[] = [];
  let insiders = 0;
  const haystack = `${Object.entries(answer.headers)
    .map(([k, v]) => `${k}: ${v}`)
    .join('\n')}\n${answer.text}`;
  let decoded = haystack;
  try {
    decoded = decodeURIComponent(haystack);
  } catch {
    // not URL-encoded text: the raw search stands
  }
  // What the caller sent, it knows: an echo of it is no leak (a filter's answer is checked as an oracle instead).
  const asked = `${sent.path}\n${sent.body ?? ''}\n${Object.entries(sent.headers)
    .filter(([k]) => k !== 'authorization')
    .map(([, v]) => v)
    .join('\n')}`;
  for (const s of m.secrets()) {
    if (asked.includes(s.value)) continue;
    const found = containsValue(haystack, s.value) || containsValue(decoded, s.value);
    if (!found) continue;
    if (m.mayBeInsider(persona, place, s)) insiders++;
    else {
      out.push({
        invariant: 'W1',
        message: `${persona} from ${place.id} got ${s.dataset}.${s.field} of ${s.dataset}/${s.key} (${s.retired ? 'overwritten or deleted' : `subject jurisdiction ${s.jurNow ?? 'unknown'}`}) in its ${answer.status} response: value sha256:${hashOf(s.value)}`,
      });
    }
  }
  return { violations: out, insiders };
}
