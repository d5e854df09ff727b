// Running a SELECT plan for a caller through the gateway's own read path: a condition on the key
// addresses one record as GET /v1/data/{dataset}/{key} does (its value, or the caller's token for
// it); other conditions filter a list as GET /v1/data/{dataset}?filter.f=v does, on columns the
// caller may filter on only. Each row's decision is durable in the access log before the row is
// sent (W5); a withheld cell is NULL, and the query's notice says which columns were withheld and why.

import { MAX_PAGE_SIZE, type Caller, type GatewayReader, type ReadOne } from '../gateway/index.js';
import type { FieldValue } from '../store/index.js';
import { HttpProblem } from '../shared/problem.js';
import { PgError, type Report } from './protocol.js';
import type { SelectPlan, Value } from './sql.js';
import { cellText, fits, type WireType } from './types.js';

/** Where rows go: `send` resolves when the socket has taken them (backpressure for long results). */
export interface RowSink {
  send(rows: readonly (readonly (string | null)[])[]): Promise<void>;
  /** True once the client is gone: nothing more is read or recorded (W5: no record of a release that cannot happen). */
  closed(): boolean;
}

export interface SelectResult {
  readonly count: number;
  /** One notice for the query when any cell was withheld: the columns, their reasons and rules, and where the log holds the decisions. */
  readonly notice: Report | undefined;
}

/** HTTP problems of the read path as SQLSTATEs (the detail is the same text the HTTP gateway gives). */
export function pgErrorOf(err: unknown): unknown {
  if (!(err instanceof HttpProblem)) return err;
  const state: Record<string, string> = {
    'gateway.invalid_query': '22P02',
    'gateway.filter_refused': '42501',
    'gateway.unknown_location': '42501',
    'decide.unknown_dataset': '42P01',
    'log.unavailable': '58000',
    'decide.evaluation_failed': '58000',
  };
  const code = state[err.code];
  return code === undefined ? err : new PgError(code, err.detail);
}

/** A bound value's text: the literal, or parameter $n as the client sent it (null: SQL NULL). */
function textOfValue(v: Value, params: readonly (string | null)[]): string | null {
  if ('literal' in v) return v.literal;
  if (v.param < 1 || v.param > params.length) throw new PgError('08P01', `there is no parameter $${v.param}`);
  return params[v.param - 1]!;
}

/**
 * Runs `plan` for `caller`. Refusals come before anything is read: unknown columns (42703), a
 * column the caller may not filter on in WHERE or ORDER BY (42501, the HTTP list's rule: no oracle
 * on protected data), unsupported constructs (0A000), an unknown place for a list (42501).
 */
export const runSelect = (...args: Parameters<typeof run>): Promise<SelectResult> =>
  run(...args).catch((err: unknown) => {
    throw pgErrorOf(err);
  });

async function run(
  reader: GatewayReader,
  caller: Caller,
  plan: SelectPlan,
  types: readonly WireType[],
  params: readonly (string | null)[],
  sink: RowSink,
): Promise<SelectResult> {
  const d = plan.dataset;
  if (plan.unknownColumns.length > 0) throw new PgError('42703', `column "${plan.unknownColumns[0]}" does not exist`);
  const addressed = plan.where.filter((c) => c.column === d.key);
  for (const c of plan.tested) {
    // The key addresses a record as a path does (its value, or the caller's token for it: record-keys.ts decides).
    if (c === d.key && addressed.length > 0 && !plan.orderByKey) continue;
    if (!reader.filterable(caller, d, c))
      throw new PgError('42501', `permission denied: ${d.name}.${c} cannot be a filter for ${caller.principal.id}`, 'nothing was read');
  }
  if (plan.unsupported) throw plan.unsupported;
  if (addressed.length > 1) throw new PgError('0A000', `more than one condition on the key ${d.key} is not supported by the cordon wire gateway`);

  const empty: SelectResult = { count: 0, notice: undefined };
  // A text value cannot hold a NUL byte (PostgreSQL: 22021); refused before any store is asked.
  const textOf = (v: Parameters<typeof textOfValue>[0]): string | null => {
    const t = textOfValue(v, params);
    if (t?.includes('\0')) throw new PgError('22021', 'invalid byte sequence for encoding "UTF8": 0x00 (a value holds a NUL byte)', 'nothing was read');
    return t;
  };
  let limit = Number.POSITIVE_INFINITY;
  if (plan.limit) {
    const t = textOf(plan.limit);
    if (t !== null) {
      if (!/^[0-9]{1,15}$/.test(t)) throw new PgError('22P02', `LIMIT must be a whole number, not ${JSON.stringify(t.slice(0, 40))}`);
      limit = Number(t);
    }
  }
  const where: Record<string, FieldValue> = {};
  for (const c of plan.where) {
    if (c.column === d.key && addressed.length > 0) continue;
    const t = textOf(c.value);
    // `column = NULL` is never true: nothing is read.
    if (t === null) return empty;
    const v = reader.filterValue(d, c.column, c.column, t);
    if (c.column in where && where[c.column] !== v) return empty;
    where[c.column] = v;
  }
  if (limit === 0) return empty;
  const fields = [...new Set([...plan.columns.map((c) => c.field), ...Object.keys(where), ...(addressed.length > 0 ? [d.key] : [])])];
  const withheld = new Map<string, { reasons: Set<string>; rules: Set<string> }>();
  const indexes: number[] = [];
  const cells = (r: ReadOne): (string | null)[] => {
    for (const w of r.out.withheld) {
      let e = withheld.get(w.field);
      if (!e) {
        e = { reasons: new Set(), rules: new Set() };
        withheld.set(w.field, e);
      }
      e.reasons.add(w.reason);
      for (const rule of w.rules) e.rules.add(rule);
    }
    return plan.columns.map((c, i) => (Object.hasOwn(r.out.fields, c.field) ? cellText(types[i]!, r.out.fields[c.field]) : null));
  };
  // The RowDescription promised each column's type; a read whose cells would break that (a grant that
  // came or went since) is refused before it is recorded.
  const checkTypes = (rs: readonly ReadOne[]) => {
    for (const r of rs)
      plan.columns.forEach((c, i) => {
        if (!fits(types[i]!, r.out.fields[c.field]) || (types[i]!.type !== undefined && c.field in r.out.transformed))
          throw new PgError('40001', `the disclosure of ${d.name}.${c.field} changed while the query ran; run it again`, 'nothing was sent of it');
      });
  };
  // A filter is on a column the caller sees in clear, unprotected, everywhere: its disclosed value is the stored one.
  const matches = (r: ReadOne) => Object.entries(where).every(([f, v]) => r.out.fields[f] === v);
  let count = 0;

  if (addressed.length === 1) {
    const sent = textOf(addressed[0]!.value);
    if (sent === null) return empty;
    const k = reader.recordKeys.in(caller, d.name, sent);
    // From a place the network map does not know, the whole record is decided, as GET decides it: a
    // record with any protected field is refused, whichever columns were asked for.
    const r = k && (await reader.readOne(caller, d.name, k.key, { clearKey: k.clear, ...(caller.knownPlace ? { fields } : {}) }));
    // As a path naming no record (or a clear key the caller may not use): no row, nothing recorded.
    if (!k || !r || !matches(r)) return empty;
    checkTypes([r]);
    if (reader.refusedForPlace(caller, r.decision)) {
      await reader.record(r.decision, 'read', caller, r.subject, 'refused');
      throw new PgError(
        '42501',
        'the connection comes from a place the network map does not know (or the token names another place); protected data is not released to it',
      );
    }
    if (sink.closed()) return empty;
    indexes.push(await reader.record(r.decision, 'read', caller, r.subject, r.released ? 'released' : 'refused'));
    const row = cells(r);
    await sink.send([row]);
    count = 1;
  } else {
    if (!caller.knownPlace)
      throw new PgError(
        '42501',
        'the connection comes from a place the network map does not know (or the token names another place); lists are refused to it',
        'nothing was read',
      );
    let after: string | undefined;
    while (count < limit && !sink.closed()) {
      const page = await reader.globalStore.list(d.name, { limit: Math.min(MAX_PAGE_SIZE, limit - count), after, where });
      // As the HTTP list: every decision of the page is made before the first is recorded, then they are recorded at once.
      const read = (await Promise.all(page.rows.map((row) => reader.readOne(caller, d.name, row.key, { fields })))).filter(
        (r): r is ReadOne => r !== undefined,
      );
      checkTypes(read);
      if (sink.closed()) break;
      indexes.push(...(await Promise.all(read.map((r) => reader.record(r.decision, 'read', caller, r.subject, r.released ? 'released' : 'refused')))));
      if (read.length > 0) await sink.send(read.map(cells));
      count += read.length;
      if (page.next === undefined || page.rows.length === 0) break;
      after = page.next;
    }
  }
  return { count, notice: noticeOf(plan, withheld, indexes) };
}

function noticeOf(plan: SelectPlan, withheld: Map<string, { reasons: Set<string>; rules: Set<string> }>, indexes: readonly number[]): Report | undefined {
  const shown = new Set(plan.columns.map((c) => c.field));
  const cols = [...withheld].filter(([f]) => shown.has(f));
  if (cols.length === 0) return undefined;
  const parts = cols.map(([f, e]) => `${f} (${[...e.reasons].join(', ')}${e.rules.size > 0 ? `; rules: ${[...e.rules].join(', ')}` : ''})`);
  let lo = Number.POSITIVE_INFINITY;
  let hi = Number.NEGATIVE_INFINITY;
  for (const i of indexes) {
    if (i < lo) lo = i;
    if (i > hi) hi = i;
  }
  return {
    severity: 'NOTICE',
    code: '01000',
    message: `cordon withheld ${cols.map(([f]) => f).join(', ')}: NULL where the rules do not disclose the value`,
    detail: `withheld: ${parts.join('; ')}. The decisions are in the access log, one record per row (${indexes.length} records, indexes ${lo === hi ? lo : `${lo}..${hi}`}).`,
  };
}
