// The part of the oversight report that the access log alone decides: every count of the period and
// the grants made in it, each count with the first and last log index of the records it counts.
// The server makes the report with this function over the records of its checkpoint, and
// `cordon report --verify` runs the same function over the records it fetched and checked against
// that checkpoint, as an auditor: a figure that differs is one the log does not back.

import { createHash } from 'node:crypto';
import { canonicalJson } from './commitment.js';

type Counts = Record<string, number>;

/** One number of the report, with the log entries behind it (first and last index; null: none). */
export interface Figure {
  /** What is counted: `decisions.total`, `decisions.byReason:no grant`, `grants.breakGlass`, … */
  readonly name: string;
  readonly value: number;
  readonly first: number | null;
  readonly last: number | null;
}

export interface WriteInReport {
  readonly index: number;
  readonly at: string;
  readonly action: 'transfer' | 'declassify';
  readonly principal: string;
  readonly dataset: string;
  readonly field: string;
  readonly from: string;
  readonly to: string;
  readonly allowed: boolean;
}

export interface GrantInReport {
  readonly id: string;
  /** The log index of the record that made the grant. */
  readonly index: number;
  readonly principal: string;
  readonly reason: string;
  readonly ticket: string;
  readonly breakGlass: boolean;
  readonly state: 'active' | 'revoked' | 'expired';
  readonly notBefore: string;
  readonly expiresAt: string;
  readonly review: string;
}

export interface PeriodTally {
  readonly access: {
    readonly total: number;
    readonly byReason: Counts;
    readonly byOutcome: Counts;
    readonly byCountry: Counts;
    readonly byTeam: Counts;
    readonly protectedInClear: number;
  };
  readonly refused: { readonly reads: number; readonly brokerActs: Counts };
  readonly statements: readonly { index: number; type: string; at: string }[];
  readonly writes: readonly WriteInReport[];
  readonly grants: readonly GrantInReport[];
  readonly recordsInPeriod: number;
  readonly range: { readonly first: number | null; readonly last: number | null };
  readonly figures: readonly Figure[];
}

export interface TallyOptions {
  readonly from: Date;
  readonly to: Date;
  /** Records at or past this index are not counted (the report's checkpoint size). */
  readonly size: number;
  /** The report's time: a grant past its expiry then is expired, a break-glass past its review deadline overdue. */
  readonly now: Date;
  /** The team of a principal, from the policy's directory (undefined: `unknown`). */
  teamOf(principal: string): string | undefined;
}

/** Counts with the range of indexes behind each key. */
class Tally {
  readonly figures = new Map<string, { value: number; first: number; last: number }>();
  add(name: string, index: number): void {
    const f = this.figures.get(name);
    if (f === undefined) this.figures.set(name, { value: 1, first: index, last: index });
    else {
      f.value++;
      f.last = index;
    }
  }
  /** The counts of names `prefix:<key>`, by key. */
  counts(prefix: string): Counts {
    const out: Counts = {};
    for (const [name, f] of this.figures) if (name.startsWith(`${prefix}:`)) out[name.slice(prefix.length + 1)] = f.value;
    return out;
  }
  value(name: string): number {
    return this.figures.get(name)?.value ?? 0;
  }
}

/** Figures that are always listed, at 0 when nothing in the period counts toward them. */
const ALWAYS = [
  'records',
  'decisions.total',
  'decisions.protectedInClear',
  'decisions.refused',
  'writes.transfer',
  'writes.declassify',
  'statements',
  'grants',
  'grants.breakGlass',
  'grants.breakGlassUnreviewed',
];

/**
 * Tallies the period from the log's records, oldest first (records at or past `size`, and records
 * outside the period, are read for what they say of grants made in the period and not counted).
 */
export function tallyPeriod(records: Iterable<{ readonly index: number; readonly record: unknown }>, options: TallyOptions): PeriodTally {
  const from = options.from.getTime();
  const to = options.to.getTime();
  const t = new Tally();
  const statements: { index: number; type: string; at: string }[] = [];
  const writes: WriteInReport[] = [];
  const made = new Map<string, { index: number; r: Record<string, unknown> }>();
  const reviews = new Map<string, string>();
  const ended = new Map<string, 'revoked' | 'expired'>();
  for (const { index, record } of records) {
    if (index >= options.size) continue;
    const r = (record ?? {}) as Record<string, unknown>;
    const type = typeof r['type'] === 'string' ? r['type'] : undefined;
    // What happens to a grant counts whenever it happened before the checkpoint.
    if (type === 'broker.review' && typeof r['grant'] === 'string' && !reviews.has(r['grant']))
      reviews.set(r['grant'], `${String(r['verdict'])} by ${String(r['principal'])}`);
    else if (type === 'broker.revoke' && typeof r['grant'] === 'string') ended.set(r['grant'], 'revoked');
    else if (type === 'broker.expire' && r['kind'] === 'grant' && typeof r['id'] === 'string' && !ended.has(r['id'])) ended.set(r['id'], 'expired');
    const at = Date.parse(String(r['at'] ?? ''));
    if (!(at >= from && at < to)) continue;
    t.add('records', index);
    for (const e of Array.isArray(r['effects']) ? (r['effects'] as Record<string, unknown>[]) : []) {
      if (e['action'] !== 'transfer' && e['action'] !== 'declassify') continue;
      writes.push({
        index,
        at: String(r['at']),
        action: e['action'],
        principal: String(r['principal']),
        dataset: String(e['dataset']),
        field: String(e['field']),
        from: String(e['from']),
        to: String(e['to']),
        allowed: e['allowed'] === true,
      });
      t.add(`writes.${e['action']}`, index);
    }
    if (type === undefined && typeof r['action'] === 'string' && r['action'] !== 'audit_read') {
      t.add('decisions.total', index);
      const grant = r['grant'] as { reason?: string } | null;
      t.add(`decisions.byReason:${grant?.reason || 'no grant'}`, index);
      t.add(`decisions.byOutcome:${String(r['outcome'] ?? 'unknown')}`, index);
      t.add(`decisions.byCountry:${String(r['country'] ?? 'unknown')}`, index);
      t.add(`decisions.byTeam:${options.teamOf(String(r['principal'])) ?? 'unknown'}`, index);
      // v1 lists fields, v2 groups them: both say class and disclosure on each member.
      const fields = (r['fields'] as { class: string | null; disclosure: string }[] | undefined) ?? [];
      if (fields.some((f) => f.class === 'protected' && f.disclosure === 'clear')) t.add('decisions.protectedInClear', index);
      if (r['outcome'] === 'refused') t.add('decisions.refused', index);
    } else if (type === 'broker.refused') {
      t.add(`broker.refused:${String(r['code'])}`, index);
    } else if (type !== undefined && /^(migrate|shred|purge)/.test(type)) {
      statements.push({ index, type, at: String(r['at']) });
      t.add('statements', index);
    } else if ((type === 'broker.grant' || type === 'broker.break_glass') && typeof r['grant'] === 'string') {
      const notBefore = Date.parse(String(r['notBefore'] ?? ''));
      if (notBefore >= from && notBefore < to) made.set(r['grant'], { index, r });
    }
  }
  const now = options.now.getTime();
  const grants: GrantInReport[] = [];
  for (const [id, { index, r }] of made) {
    const breakGlass = r['type'] === 'broker.break_glass';
    const expiresAt = String(r['expiresAt']);
    const reviewBy = typeof r['reviewBy'] === 'string' ? Date.parse(r['reviewBy']) : undefined;
    const review = !breakGlass
      ? 'approved request'
      : (reviews.get(id) ?? (reviewBy !== undefined && reviewBy <= now ? 'OVERDUE: not reviewed' : 'pending review'));
    grants.push({
      id,
      index,
      principal: String(r['principal']),
      reason: String(r['reason']),
      ticket: String(r['ticket']),
      breakGlass,
      state: ended.get(id) ?? (Date.parse(expiresAt) <= now ? 'expired' : 'active'),
      notBefore: String(r['notBefore']),
      expiresAt,
      review,
    });
    t.add('grants', index);
    if (breakGlass) {
      t.add('grants.breakGlass', index);
      if (!reviews.has(id)) t.add('grants.breakGlassUnreviewed', index);
    }
  }
  const figures: Figure[] = [];
  for (const name of ALWAYS) if (!t.figures.has(name)) figures.push({ name, value: 0, first: null, last: null });
  for (const [name, f] of t.figures) figures.push({ name, value: f.value, first: f.first, last: f.last });
  figures.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const all = t.figures.get('records');
  return {
    access: {
      total: t.value('decisions.total'),
      byReason: t.counts('decisions.byReason'),
      byOutcome: t.counts('decisions.byOutcome'),
      byCountry: t.counts('decisions.byCountry'),
      byTeam: t.counts('decisions.byTeam'),
      protectedInClear: t.value('decisions.protectedInClear'),
    },
    refused: { reads: t.value('decisions.refused'), brokerActs: t.counts('broker.refused') },
    statements,
    writes,
    grants,
    recordsInPeriod: t.value('records'),
    range: { first: all?.first ?? null, last: all?.last ?? null },
    figures,
  };
}

/** How two lists of figures differ, one line per figure (empty: they agree). */
export function figureDifferences(stated: readonly Figure[], recomputed: readonly Figure[]): string[] {
  const show = (f: Figure | undefined) => (f === undefined ? 'absent' : `${f.value} (entries ${f.first ?? '–'}..${f.last ?? '–'})`);
  const byName = new Map(recomputed.map((f) => [f.name, f]));
  const out: string[] = [];
  for (const s of stated) {
    const r = byName.get(s.name);
    byName.delete(s.name);
    if (r === undefined || r.value !== s.value || r.first !== s.first || r.last !== s.last)
      out.push(`${s.name}: the report says ${show(s)}, the log says ${show(r)}`);
  }
  for (const r of byName.values()) out.push(`${r.name}: the report leaves it out, the log says ${show(r)}`);
  return out;
}

/** The SHA-256 (hex) of the figures' canonical JSON, as the report's own log record holds it. */
export function figuresSha256(figures: readonly Figure[]): string {
  return createHash('sha256').update(canonicalJson(figures)).digest('hex');
}

/** What a report states beyond the log, as its own log record commits to it: the SHA-256 (hex) of their canonical JSON. */
export function snapshotSha256(r: { readonly standing: unknown; readonly leaks: unknown; readonly violations: unknown; readonly teams: unknown }): string {
  return createHash('sha256')
    .update(canonicalJson({ standing: r.standing, leaks: r.leaks, violations: r.violations, teams: r.teams }))
    .digest('hex');
}
