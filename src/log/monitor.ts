// An auditor's pass over the full records: each must hash to its public entry (salted commitment)
// and be of a registered kind and version that fits its schema (records.ts), and none may show
// protected data released to a place outside its enclave's countries, without a grant, or under a
// grant that had expired. Every write that moved protected data to another jurisdiction or subject
// (transfer) or declassified it is flagged too, for a person to judge.

import { commitment } from './commitment.js';
import { checkLogRecord, recordKind, type RecordCheckName } from './records.js';

/** The parts of an access record a monitor judges (the gateway writes them). */
interface RecordShape {
  readonly at?: string;
  readonly principal?: string;
  readonly country?: string;
  readonly enclaveCountries?: readonly string[];
  readonly grant?: { readonly id: string; readonly expiresAt: string } | null;
  /** v1: one member per field; v2: groups of fields decided alike (record-types.ts). */
  readonly fields?: readonly {
    readonly field?: string;
    readonly fields?: Readonly<Record<string, unknown>>;
    readonly class: string | null;
    readonly disclosure: string;
  }[];
  readonly dataset?: string;
  readonly action?: string;
  readonly outcome?: string;
  readonly effects?: readonly {
    readonly action: string;
    readonly dataset: string;
    readonly field: string;
    readonly from: string;
    readonly to: string;
    readonly allowed: boolean;
    readonly rules?: readonly string[];
  }[];
}

/** What the monitor judges of a record beyond its commitment and schema (names from RECORD_CHECKS). */
export type Judgement = Exclude<RecordCheckName, 'commitment' | 'schema'>;

export interface RecordAnomaly {
  readonly index: number;
  /** A judgement, or `invalid_record`: of no registered kind or version, or not fitting its schema. */
  readonly kind: Judgement | 'invalid_record';
  readonly message: string;
}

export interface RecordCheck {
  readonly checked: number;
  readonly mismatches: readonly { readonly index: number; readonly message: string }[];
  readonly anomalies: readonly RecordAnomaly[];
}

/** Protected fields a record shows released in clear (a write's fields were written, not shown). */
function protectedInClear(r: RecordShape): string[] {
  if (r.action === 'write' || r.action === 'delete') return [];
  if (r.outcome !== undefined && r.outcome !== 'released') return [];
  return (r.fields ?? [])
    .filter((f) => f.class === 'protected' && f.disclosure === 'clear')
    .flatMap((f) => (typeof f.field === 'string' ? [f.field] : Object.keys(f.fields ?? {})));
}

/** Transfers and declassifications a permitted write made. */
function movesOf(index: number, r: RecordShape): RecordAnomaly[] {
  if (r.outcome !== 'permitted') return [];
  return (r.effects ?? [])
    .filter((e) => e.allowed)
    .map((e) => ({
      index,
      kind: e.action === 'declassify' ? ('declassify' as const) : ('transfer' as const),
      message:
        e.action === 'declassify'
          ? `${r.principal ?? '?'} declassified ${e.dataset}.${e.field} from ${e.from} to ${e.to}${e.rules && e.rules.length > 0 ? ` (rules ${e.rules.join(', ')})` : ''}`
          : `${r.principal ?? '?'} transferred ${e.dataset}.${e.field} from ${e.from} to ${e.to}${e.rules && e.rules.length > 0 ? ` (rules ${e.rules.join(', ')})` : ''}`,
    }));
}

export function anomaliesOf(index: number, record: unknown): RecordAnomaly[] {
  const r = (record ?? {}) as RecordShape;
  const moves = movesOf(index, r);
  const shown = protectedInClear(r);
  if (shown.length === 0) return moves;
  const what = `${r.principal ?? '?'} was shown ${r.dataset ?? '?'}.${shown.join(', ')} (protected)`;
  const out: RecordAnomaly[] = [...moves];
  if (!r.country || !(r.enclaveCountries ?? []).includes(r.country)) {
    out.push({
      index,
      kind: 'outside_enclave',
      message: `${what} from ${r.country ?? 'an unknown country'}, outside the enclave's countries [${(r.enclaveCountries ?? []).join(', ')}]`,
    });
  }
  if (!r.grant) out.push({ index, kind: 'no_grant', message: `${what} without a grant` });
  else if (!r.at || !r.grant.expiresAt || Date.parse(r.grant.expiresAt) <= Date.parse(r.at)) {
    out.push({
      index,
      kind: 'expired_grant',
      message: `${what} under grant ${r.grant.id}, which expired at ${r.grant.expiresAt || '?'} (the access was at ${r.at ?? '?'})`,
    });
  }
  return out;
}

/**
 * The record kinds the monitor judges, with what it may report of each; a record of another kind is
 * checked for its commitment and schema only. records.ts lists the same checks per kind (a test
 * keeps the two equal).
 */
export const RECORD_JUDGES: Readonly<
  Record<string, { readonly reports: readonly Judgement[]; readonly judge: (index: number, record: unknown) => RecordAnomaly[] }>
> = {
  access_record: { reports: ['outside_enclave', 'no_grant', 'expired_grant', 'transfer', 'declassify'], judge: anomaliesOf },
};

/** The findings of one stored record: whether it hashes to its entry, fits its schema, and how it is judged. */
export function checkRecord(index: number, record: unknown, salt: Buffer, expected: Buffer): { mismatch?: string; anomalies: RecordAnomaly[] } {
  let mismatch: string | undefined;
  try {
    if (!commitment(record, salt).equals(expected)) mismatch = `the record and salt do not hash to the public entry ${expected.toString('base64')}`;
  } catch {
    mismatch = `the record cannot be encoded as canonical JSON, so it cannot hash to the public entry ${expected.toString('base64')}`;
  }
  const problem = checkLogRecord(record, 'read');
  if (problem) return { mismatch, anomalies: [{ index, kind: 'invalid_record', message: problem.message }] };
  const judge = RECORD_JUDGES[recordKind(record)!];
  return { mismatch, anomalies: judge ? judge.judge(index, record) : [] };
}

export interface CheckRecordsOptions {
  readonly url: string;
  readonly token: string;
  /** The verified entries, index = position. */
  readonly entries: readonly Buffer[];
  readonly fetch?: (url: string, init: RequestInit) => Promise<Response>;
  readonly pageSize?: number;
  /** Called with each record read (index below the entries' count), in order, whether it checks or not. */
  readonly onRecord?: (index: number, record: unknown) => void;
}

export async function checkRecords(options: CheckRecordsOptions): Promise<RecordCheck> {
  const get = options.fetch ?? ((u: string, init: RequestInit) => fetch(u, init));
  const base = options.url.replace(/\/+$/, '');
  const limit = options.pageSize ?? 1000;
  const mismatches: { index: number; message: string }[] = [];
  const anomalies: RecordAnomaly[] = [];
  let checked = 0;
  for (let after = -1; after + 1 < options.entries.length; ) {
    const res = await get(`${base}/v1/log/records?after=${after}&limit=${limit}`, { headers: { authorization: `Bearer ${options.token}` } });
    const body = (await res.json()) as { records?: { index: number; record: unknown; salt: string; entry: string }[]; detail?: string; code?: string };
    if (!res.ok || !Array.isArray(body.records)) throw new Error(`reading records after ${after}: ${body.code ?? `HTTP ${res.status}`}: ${body.detail ?? ''}`);
    if (body.records.length === 0) break;
    for (const rec of body.records) {
      after = rec.index;
      if (rec.index >= options.entries.length) break;
      checked++;
      options.onRecord?.(rec.index, rec.record);
      const found = checkRecord(rec.index, rec.record, Buffer.from(typeof rec.salt === 'string' ? rec.salt : '', 'base64'), options.entries[rec.index]!);
      if (found.mismatch !== undefined) mismatches.push({ index: rec.index, message: found.mismatch });
      anomalies.push(...found.anomalies);
    }
  }
  if (checked < options.entries.length) mismatches.push({ index: checked, message: `only ${checked} of ${options.entries.length} records could be read` });
  return { checked, mismatches, anomalies };
}
