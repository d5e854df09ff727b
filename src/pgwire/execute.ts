// Running a SELECT plan for a caller through the gateway's own read path. A condition on the key
// addresses records as GET /v1/data/{dataset}/{key} does (its value, or the caller's token for it);
// everything else lists the dataset as GET /v1/data/{dataset} does, filtering only on columns the
// caller may filter on. Conditions are evaluated on the values stored in the global store before
// any record is decided, so a row a condition rejects is neither decided nor recorded; each row
// sent is decided and its decision durable in the access log before it is sent (W5). A withheld
// cell is NULL, and the query's notice says which columns were withheld and why.
//
// Audit semantics, by construct (README: The PostgreSQL wire gateway):
// - A row is one access record per dataset it shows, naming the columns the query decided of it:
//   the select list, and the columns it filters, sorts, groups or joins on (and the key where a
//   condition addresses records by it). Rows OFFSET skips, or that a condition rejects, are not
//   decided (a join's excepted: below).
// - ORDER BY other than the key sorts in memory: at most MAX_SORTED_ROWS rows pass the conditions
//   (or OFFSET + LIMIT of them are kept), else 54000 before anything is decided. The key order
//   streams, page by page, with the socket's backpressure.
// - count() and GROUP BY read the rows a list with the same WHERE would read (at most
//   MAX_SORTED_ROWS, else 54000 before anything is decided), decide each as that list would with
//   the grouped and counted columns as its columns (the key alone for a bare count(*): a list
//   shows every row's key), record every row's decision once all are made, and only then send the
//   aggregates. A caller at a place the network map does not know is refused, as for lists.
// - A join lists the dataset holding the reference and reads each referenced record by the value
//   the caller was shown of the reference (the key in clear, or the caller's token: record-keys.ts),
//   as a client of the HTTP API listing one and reading the other would, so it tells no more than
//   those reads; each side's cells are disclosed by its own dataset's rules, and each side of a
//   row sent is one record. Whether the reference can be followed is known only once the listed
//   record is decided: a row then left out (an INNER JOIN's reference the caller cannot follow, a
//   LEFT JOIN's condition on the other side) and a row OFFSET skips are decided, never recorded.

import { MAX_PAGE_SIZE, type Caller, type GatewayReader, type ReadOne } from '../gateway/index.js';
import { classOf, fieldCategories, type Dataset, type Policy } from '../policy/index.js';
import { MAX_LIST_LIMIT, type FieldValue, type Row } from '../store/index.js';
import { HttpProblem } from '../shared/problem.js';
import { bind, compareForSort, compareText, conjuncts, type BindContext, type Cell, type ColRef, type Env, type Value } from './expr.js';
import { PgError, type Report } from './protocol.js';
import type { Item, SelectPlan } from './sql.js';
import { cellText, fits, wireType, type WireType } from './types.js';

/** Most rows a query sorts (other than by key) or aggregates in memory; beyond, it is refused (54000) before anything is decided. */
export const MAX_SORTED_ROWS = 100_000;

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

// count() is bigint on the wire, as PostgreSQL types it.
const INT8: WireType = { oid: 20, typlen: 8, type: undefined };

/** The wire type of each output column of `plan` for `caller`: a column's by its dataset's disclosure (types.ts), a count int8. */
export function selectTypes(reader: GatewayReader, caller: Caller, plan: SelectPlan): WireType[] {
  return plan.columns.map((c) => ('col' in c.item ? wireType(reader, caller, plan.relations[c.item.col.rel]!.dataset, c.item.col.field) : INT8));
}

/** Whether `field` of `d` is protected in no jurisdiction, under none of the categories it may have (an unknown category is protected). */
function neverProtected(policy: Policy, d: Dataset, field: string): boolean {
  const f = d.fields.get(field);
  if (!f) return false;
  for (const j of policy.deployment.jurisdictions.keys())
    for (const category of fieldCategories(f)) if (classOf(policy.classes, policy.taxonomy, j, category) === 'protected') return false;
  return true;
}

/**
 * Runs `plan` for `caller`. Refusals come before anything is read: unknown columns (42703), a
 * column the caller may not filter on anywhere in WHERE, ON, ORDER BY, GROUP BY or an expression
 * (42501, the HTTP list's rule: no oracle on protected data), a join on a protected column (42501),
 * unsupported constructs (0A000), an unknown place for a list, aggregate or join (42501).
 */
export const runSelect = (...args: Parameters<typeof run>): Promise<SelectResult> =>
  run(...args).catch((err: unknown) => {
    throw pgErrorOf(err);
  });

/** A record of the listed relation that may be a row: its key (and whether it was sent in clear), its stored values, and the stored record it refers to. */
interface Candidate {
  readonly key: string;
  readonly clear: boolean;
  readonly values: Row | undefined;
  readonly rightKey?: string | undefined;
  readonly right?: Row | undefined;
}

/** What the log needs of a record read. */
type Recordable = Pick<ReadOne, 'decision' | 'subject' | 'released'>;
const recordable = (r: ReadOne): Recordable => ({ decision: r.decision, subject: r.subject, released: r.released });

/** A row decided: the listed record, and the record it joins (undefined: none, the other side NULL). */
interface Decided {
  readonly left: ReadOne;
  readonly right: ReadOne | undefined;
}

async function run(
  reader: GatewayReader,
  caller: Caller,
  plan: SelectPlan,
  types: readonly WireType[],
  params: readonly (string | null)[],
  sink: RowSink,
): Promise<SelectResult> {
  const rels = plan.relations;
  const ds = (c: ColRef) => rels[c.rel]!.dataset;
  const nameOf = (c: ColRef) => `${ds(c).name}.${c.field}`;
  if (plan.unknownColumns.length > 0) throw new PgError('42703', `column "${plan.unknownColumns[0]}" does not exist`);
  for (const c of plan.tested)
    if (!reader.filterable(caller, ds(c), c.field))
      throw new PgError('42501', `permission denied: ${nameOf(c)} cannot be a filter for ${caller.principal.id}`, 'nothing was read');
  for (const c of plan.references)
    if (!neverProtected(reader.policy, ds(c), c.field))
      throw new PgError('42501', `permission denied: ${nameOf(c)} is protected in some jurisdiction, so it cannot join`, 'nothing was read');
  if (plan.unsupported) throw plan.unsupported;
  const listed = plan.listed;
  const dl = rels[listed]!.dataset;
  const join = plan.join;
  const followed = join?.key.rel;
  const dr = followed === undefined ? undefined : rels[followed]!.dataset;
  const isList = join !== undefined || plan.aggregate || plan.addressed.length === 0;
  if (isList && !caller.knownPlace)
    throw new PgError(
      '42501',
      'the connection comes from a place the network map does not know (or the token names another place); lists, aggregates and joins are refused to it',
      'nothing was read',
    );

  // Values bound: a NUL byte is refused (PostgreSQL: 22021) before any store is asked.
  const text = (v: Value): string | null => {
    let t: string | null;
    if ('literal' in v) t = v.literal;
    else {
      if (v.param < 1 || v.param > params.length) throw new PgError('08P01', `there is no parameter $${v.param}`);
      t = params[v.param - 1]!;
    }
    if (t?.includes('\0')) throw new PgError('22021', 'invalid byte sequence for encoding "UTF8": 0x00 (a value holds a NUL byte)', 'nothing was read');
    return t;
  };
  const whole = (v: Value | undefined, what: 'LIMIT' | 'OFFSET'): number | undefined => {
    const t = v && text(v);
    if (t === undefined || t === null) return undefined;
    if (!/^-?[0-9]{1,15}$/.test(t)) throw new PgError('22P02', `${what} must be a whole number, not ${JSON.stringify(t.slice(0, 40))}`);
    const n = Number(t);
    if (n < 0) throw new PgError(what === 'LIMIT' ? '2201W' : '2201X', `${what} must not be negative`);
    return n;
  };
  const limit = whole(plan.limit, 'LIMIT') ?? Number.POSITIVE_INFINITY;
  const offset = whole(plan.offset, 'OFFSET') ?? 0;
  const ctx: BindContext = {
    typeOf: (c) => ds(c).fields.get(c.field)?.type ?? 'string',
    text,
    typed: (c, t) => reader.filterValue(ds(c), c.field, c.field, t) as string | number | boolean,
    nameOf,
  };
  const where = bind(plan.where, ctx);
  const on = bind(join?.on, ctx);
  // The store's own filter takes the equalities on the listed dataset's columns (the rest is evaluated on each page).
  const push: Record<string, FieldValue> = {};
  let none = false;
  let pushedAll = true;
  for (const c of conjuncts(plan.where)) {
    const [col, v] = c.k === 'cmp' && c.op === '=' ? ('col' in c.l ? [c.l.col, c.r] : [('col' in c.r && c.r.col) || undefined, c.l]) : [undefined, undefined];
    if (!col || 'col' in v! || col.rel !== listed || col.field === dl.key) {
      pushedAll = false;
      continue;
    }
    const t = text(v!);
    const typed = t === null ? null : ctx.typed(col, t);
    if (typed === null || (col.field in push && push[col.field] !== typed)) none = true;
    else push[col.field] = typed;
  }

  // The columns each side decides: what the query shows or tests of it, the reference and the key it follows.
  const fieldsOf = rels.map(() => new Set<string>());
  const use = (c: ColRef | undefined) => c && fieldsOf[c.rel]!.add(c.field);
  const itemCol = (i: Item) => ('col' in i ? i.col : i.count);
  for (const c of plan.columns) use(itemCol(c.item));
  for (const c of [...plan.tested, ...plan.groupBy, ...plan.orderBy.map((o) => itemCol(o.item))]) use(c);
  if (join) {
    use(join.ref);
    use(join.key);
  }
  if (plan.addressed.length > 0) use({ rel: listed, field: dl.key });
  rels.forEach((r, i) => {
    if (fieldsOf[i]!.size === 0) fieldsOf[i]!.add(r.dataset.key);
  });
  // From an unknown place (a record by key, no list), the whole record is decided, as GET decides it:
  // a record with any protected field is refused, whichever columns were asked for.
  const listedFields = caller.knownPlace ? { fields: [...fieldsOf[listed]!] } : {};
  const followedFields = followed === undefined ? [] : [...fieldsOf[followed]!];

  // Phase 1: candidates from the store, conditions evaluated on the stored values (nothing decided yet).
  const storedEnv =
    (c: Candidate, withRight: boolean): Env =>
    (col) => {
      if (col.rel === listed) return col.field === dl.key ? c.key : c.values?.[col.field];
      if (!withRight || c.right === undefined) return null;
      return col.field === dr!.key ? c.rightKey : c.right[col.field];
    };
  const passes = (c: Candidate): boolean => {
    if (!join) return where(storedEnv(c, false)) === true;
    const joined = c.right !== undefined && on(storedEnv(c, true)) === true;
    if (join.type === 'inner') return joined && where(storedEnv(c, true)) === true;
    // LEFT JOIN: whether the caller can follow the reference is known only once the row is decided;
    // a row is left out here only when it fails either way (so no condition tells of a record the caller cannot reach).
    return (joined && where(storedEnv(c, true)) === true) || where(storedEnv(c, false)) === true;
  };
  const needStored = plan.where !== undefined || join !== undefined || plan.orderBy.length > 0;
  const withRight = async (cands: Candidate[]): Promise<Candidate[]> => {
    if (!join) return cands;
    const refs = [
      ...new Set(cands.map((c) => c.values?.[join.ref.field]).filter((v): v is string | number => typeof v === 'string' || typeof v === 'number')),
    ].map(String);
    const found = refs.length > 0 ? await reader.globalStore.getMany(dr!.name, refs) : new Map<string, Row>();
    return cands.map((c) => {
      const ref = c.values?.[join.ref.field];
      const rightKey = typeof ref === 'string' || typeof ref === 'number' ? String(ref) : undefined;
      return { ...c, rightKey, right: rightKey === undefined ? undefined : found.get(rightKey) };
    });
  };
  async function* candidates(pageSize: number): AsyncGenerator<Candidate[]> {
    if (none) return;
    if (plan.addressed.length > 0) {
      // Each value names a record as a path does (record-keys.ts): the caller's token, or a key in
      // clear the caller may use; anything else names none. Several conditions: the records all name.
      let keys: Map<string, boolean> | undefined;
      for (const values of plan.addressed) {
        const named = new Map<string, boolean>();
        for (const v of values) {
          const t = text(v);
          const k = t === null ? undefined : reader.recordKeys.in(caller, dl.name, t);
          if (k) named.set(k.key, (named.get(k.key) ?? false) || k.clear);
        }
        keys = keys === undefined ? named : new Map([...named].filter(([k]) => keys!.has(k)).map(([k, clear]) => [k, clear || keys!.get(k)!]));
      }
      const sorted = [...keys!].sort((a, b) => compareText(a[0], b[0]));
      for (let i = 0; i < sorted.length; i += pageSize) {
        const page = sorted.slice(i, i + pageSize);
        const stored = needStored
          ? await reader.globalStore.getMany(
              dl.name,
              page.map(([k]) => k),
            )
          : undefined;
        const cands = page.flatMap(([key, clear]) => (stored && !stored.has(key) ? [] : [{ key, clear, values: stored?.get(key) }]));
        yield (await withRight(cands)).filter(passes);
      }
      return;
    }
    let after: string | undefined;
    for (;;) {
      const page = await reader.globalStore.list(dl.name, { limit: pageSize, after, where: push });
      yield (await withRight(page.rows.map((r) => ({ key: r.key, clear: false, values: r.values })))).filter(passes);
      if (page.next === undefined || page.rows.length === 0) return;
      after = page.next;
    }
  }

  // Phase 2: decide (the listed record, then the record its reference names, by the value shown).
  const decidedEnv =
    (row: Decided): Env =>
    (c) =>
      (c.rel === listed ? row.left : row.right)?.out.fields[c.field] as Cell;
  const decide = async (cands: readonly Candidate[]): Promise<Decided[]> => {
    const lefts = await Promise.all(cands.map((c) => reader.readOne(caller, dl.name, c.key, { clearKey: c.clear, ...listedFields })));
    const rows: Decided[] = [];
    const reads = new Map<string, Promise<ReadOne | undefined>>();
    const follow = (l: ReadOne): Promise<ReadOne | undefined> | undefined => {
      const shown = l.out.fields[join!.ref.field];
      if (typeof shown !== 'string' && typeof shown !== 'number') return undefined;
      const k = reader.recordKeys.in(caller, dr!.name, String(shown));
      if (!k) return undefined;
      const id = `${k.clear ? 'c' : 't'}${k.key}`;
      let p = reads.get(id);
      if (!p) {
        p = reader.readOne(caller, dr!.name, k.key, { clearKey: k.clear, fields: followedFields });
        reads.set(id, p);
      }
      return p;
    };
    const rights = await Promise.all(lefts.map((l) => (l && join ? follow(l) : undefined)));
    lefts.forEach((left, i) => {
      if (!left) return;
      let right = rights[i];
      if (join && right !== undefined && on(decidedEnv({ left, right })) !== true) right = undefined;
      if (join?.type === 'inner' && right === undefined) return;
      const row = { left, right };
      // On the disclosed values (a column tested is disclosed as stored): a record changed since its page was read is left out.
      if (where(decidedEnv(row)) === true) rows.push(row);
    });
    return rows;
  };

  // The RowDescription promised each column's type; a read whose cells would break that (a grant that
  // came or went since) is refused before it is recorded.
  const sideOf = (row: Decided, c: ColRef) => (c.rel === listed ? row.left : row.right);
  const checkTypes = (rows: readonly Decided[]) => {
    for (const row of rows)
      plan.columns.forEach((c, i) => {
        if (!('col' in c.item)) return;
        const r = sideOf(row, c.item.col);
        const v = r?.out.fields[c.item.col.field];
        if (r && (!fits(types[i]!, v) || (types[i]!.type !== undefined && c.item.col.field in r.out.transformed)))
          throw new PgError('40001', `the disclosure of ${nameOf(c.item.col)} changed while the query ran; run it again`, 'nothing was sent of it');
      });
  };
  const withheld = new Map<string, { reasons: Set<string>; rules: Set<string> }>();
  const shown = new Set(plan.columns.flatMap((c) => ('col' in c.item ? [`${c.item.col.rel}.${c.item.col.field}`] : [])));
  const columnName = (rel: number, field: string) => (rels.length === 1 ? field : `${rels[rel]!.dataset.name}.${field}`);
  const noteWithheld = (r: ReadOne | undefined, rel: number) => {
    for (const w of r?.out.withheld ?? []) {
      if (!shown.has(`${rel}.${w.field}`)) continue;
      const name = columnName(rel, w.field);
      let e = withheld.get(name);
      if (!e) {
        e = { reasons: new Set(), rules: new Set() };
        withheld.set(name, e);
      }
      e.reasons.add(w.reason);
      for (const rule of w.rules) e.rules.add(rule);
    }
  };
  const cells = (row: Decided): (string | null)[] => {
    noteWithheld(row.left, listed);
    if (followed !== undefined) noteWithheld(row.right, followed);
    return plan.columns.map((c, i) => {
      if (!('col' in c.item)) return null;
      const r = sideOf(row, c.item.col);
      return r && Object.hasOwn(r.out.fields, c.item.col.field) ? cellText(types[i]!, r.out.fields[c.item.col.field]) : null;
    });
  };
  const indexes: number[] = [];
  const recordOf = (r: Recordable) => reader.record(r.decision, 'read', caller, r.subject, r.released ? 'released' : 'refused');
  /** Records the rows' decisions (each side of each row), all durable before it resolves. */
  const record = async (rows: readonly { readonly left: Recordable; readonly right: Recordable | undefined }[]) => {
    const out = await Promise.all(rows.flatMap((row) => [recordOf(row.left), ...(row.right ? [recordOf(row.right)] : [])]));
    indexes.push(...out);
  };
  /** From a place the network map does not know, a record with a protected field is refused, and the refusal recorded. */
  const refuseUnplaced = async (rows: readonly Decided[]) => {
    if (caller.knownPlace) return;
    const refused = rows.filter((row) => reader.refusedForPlace(caller, row.left.decision));
    if (refused.length === 0) return;
    await Promise.all(refused.map((row) => reader.record(row.left.decision, 'read', caller, row.left.subject, 'refused')));
    throw new PgError(
      '42501',
      'the connection comes from a place the network map does not know (or the token names another place); protected data is not released to it',
    );
  };

  let count = 0;
  if (plan.aggregate) count = await aggregate();
  else if (plan.orderBy.length > 0 && !keyOrder()) count = await sorted();
  else count = await streamed();
  return { count, notice: noticeOf(withheld, indexes) };

  /** Whether ORDER BY is the listed dataset's key ascending first (the order pages come in). */
  function keyOrder(): boolean {
    const first = plan.orderBy[0]!;
    return 'col' in first.item && first.item.col.rel === listed && first.item.col.field === dl.key && !first.desc;
  }

  /** Sends decided rows past OFFSET up to LIMIT (a join's, which is known only once decided); returns how many more the query wants. */
  async function emit(rows: Decided[], state: { skip: number; left: number; sent: number }): Promise<void> {
    if (join) {
      const skipped = Math.min(state.skip, rows.length);
      state.skip -= skipped;
      rows = rows.slice(skipped, skipped + state.left);
    }
    if (rows.length === 0) return;
    checkTypes(rows);
    await refuseUnplaced(rows);
    if (sink.closed()) {
      state.left = 0;
      return;
    }
    await record(rows);
    await sink.send(rows.map(cells));
    state.left -= rows.length;
    state.sent += rows.length;
  }

  async function streamed(): Promise<number> {
    const state = { skip: offset, left: limit, sent: 0 };
    if (limit === 0) return 0;
    // Pages no larger than the query can use, where the store's filter is the whole condition.
    const size = !join && pushedAll ? Math.max(1, Math.min(MAX_PAGE_SIZE, offset + limit)) : MAX_PAGE_SIZE;
    for await (let page of candidates(size)) {
      if (sink.closed()) break;
      if (!join) {
        const skipped = Math.min(state.skip, page.length);
        state.skip -= skipped;
        page = page.slice(skipped, skipped + state.left);
      }
      if (page.length > 0) await emit(await decide(page), state);
      if (state.left <= 0) break;
    }
    return state.sent;
  }

  async function sorted(): Promise<number> {
    if (limit === 0) return 0;
    const keys = plan.orderBy.map((o) => ({ ...o, col: 'col' in o.item ? o.item.col : undefined }));
    type Sortable = { readonly c: Candidate; readonly by: readonly Cell[] };
    const order = (a: Sortable, b: Sortable): number => {
      for (let i = 0; i < keys.length; i++) {
        const d = compareForSort(a.by[i], b.by[i], keys[i]!.desc, keys[i]!.nullsFirst);
        if (d !== 0) return d;
      }
      return compareText(a.c.key, b.c.key);
    };
    // Without a join, only OFFSET + LIMIT rows can be sent: the best of them are kept as rows come.
    const keep = !join && offset + limit <= MAX_SORTED_ROWS ? offset + limit : undefined;
    let all: Sortable[] = [];
    for await (const page of candidates(MAX_LIST_LIMIT)) {
      if (sink.closed()) return 0;
      for (const c of page) {
        const env = storedEnv(c, true);
        all.push({ c: { key: c.key, clear: c.clear, values: undefined }, by: keys.map((k) => (k.col ? env(k.col) : null)) });
      }
      if (keep !== undefined && all.length > Math.max(2 * keep, 1000)) all = all.sort(order).slice(0, keep);
      if (keep === undefined && all.length > MAX_SORTED_ROWS) throw tooMany('sort');
    }
    all.sort(order);
    if (!join) all = all.slice(offset, offset + limit);
    const state = { skip: join ? offset : 0, left: limit, sent: 0 };
    for (let i = 0; i < all.length && state.left > 0; i += MAX_PAGE_SIZE) {
      if (sink.closed()) break;
      await emit(await decide(all.slice(i, i + MAX_PAGE_SIZE).map((s) => s.c)), state);
    }
    return state.sent;
  }

  async function aggregate(): Promise<number> {
    const found: Candidate[] = [];
    if (limit > 0)
      for await (const page of candidates(MAX_LIST_LIMIT)) {
        if (sink.closed()) return 0;
        for (const c of page) found.push({ key: c.key, clear: c.clear, values: undefined });
        if (found.length > MAX_SORTED_ROWS) throw tooMany('aggregate');
      }
    type Group = { readonly values: readonly Cell[]; readonly counts: number[] };
    const groups = new Map<string, Group>();
    const counted = plan.columns.map((c) => c.item).concat(plan.orderBy.map((o) => o.item));
    // What each row counted needs to be recorded (not its cells: an aggregate holds up to MAX_SORTED_ROWS of them).
    const decided: { readonly left: Recordable; readonly right: Recordable | undefined }[] = [];
    for (let i = 0; i < found.length; i += MAX_PAGE_SIZE) {
      if (sink.closed()) return 0;
      for (const row of await decide(found.slice(i, i + MAX_PAGE_SIZE))) {
        decided.push({ left: recordable(row.left), right: row.right && recordable(row.right) });
        const env = decidedEnv(row);
        const values = plan.groupBy.map((g) => env(g) ?? null);
        const id = JSON.stringify(values);
        let g = groups.get(id);
        if (!g) {
          g = { values, counts: counted.map(() => 0) };
          groups.set(id, g);
        }
        counted.forEach((item, j) => {
          if ('count' in item && (item.count === undefined || (env(item.count) ?? null) !== null)) g.counts[j]!++;
        });
      }
    }
    if (plan.groupBy.length === 0 && groups.size === 0) groups.set('', { values: [], counts: counted.map(() => 0) });
    const cellOf = (g: Group, item: Item, j: number): Cell => {
      if ('count' in item) return g.counts[j];
      return g.values[plan.groupBy.findIndex((c) => c.rel === item.col.rel && c.field === item.col.field)];
    };
    let out = [...groups.values()];
    if (plan.orderBy.length > 0)
      out.sort((a, b) => {
        for (const [i, o] of plan.orderBy.entries()) {
          const j = plan.columns.length + i;
          const d = compareForSort(cellOf(a, o.item, j), cellOf(b, o.item, j), o.desc, o.nullsFirst);
          if (d !== 0) return d;
        }
        return 0;
      });
    out = out.slice(offset, offset + limit);
    if (sink.closed()) return 0;
    // Every row that went into the answer is recorded before any of it is sent.
    for (let i = 0; i < decided.length; i += MAX_LIST_LIMIT) await record(decided.slice(i, i + MAX_LIST_LIMIT));
    const rows = out.map((g) =>
      plan.columns.map((c, j) => {
        const v = cellOf(g, c.item, j);
        return v === null || v === undefined ? null : 'count' in c.item ? String(v) : cellText(types[j]!, v);
      }),
    );
    if (rows.length > 0) await sink.send(rows);
    return rows.length;
  }
}

function tooMany(what: 'sort' | 'aggregate'): PgError {
  return new PgError(
    '54000',
    what === 'sort'
      ? `ORDER BY other than the key sorts in memory, over at most ${MAX_SORTED_ROWS} rows, and more rows match: narrow them with WHERE, add a LIMIT (only OFFSET + LIMIT rows are kept), or order by the key (which streams)`
      : `count() and GROUP BY are computed in memory, over at most ${MAX_SORTED_ROWS} rows, and more rows match: narrow them with WHERE`,
    'nothing was decided or recorded',
  );
}

function noticeOf(withheld: Map<string, { reasons: Set<string>; rules: Set<string> }>, indexes: readonly number[]): Report | undefined {
  if (withheld.size === 0) return undefined;
  const cols = [...withheld];
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
    detail: `withheld: ${parts.join('; ')}. The decisions are in the access log, one record per row and dataset (${indexes.length} records, indexes ${lo === hi ? lo : `${lo}..${hi}`}).`,
  };
}
