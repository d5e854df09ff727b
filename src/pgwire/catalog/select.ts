// A small evaluator of SELECT over the system catalog, so that the metadata queries real clients
// send (psql, pgcli, pgJDBC, psycopg, postgres.js) are answered as PostgreSQL would answer them:
// joins, subqueries, CASE, aggregates, ORDER BY, set operations. It reads only what a World gives it
// (rows.ts: rows made from the policy and the session, never from a store), so whatever SQL a
// caller writes over the catalog, no data can reach it; and it stays cheap whatever the SQL: every
// row it forms is counted against a budget.

import { child, list, sval, type Node } from '../ast.js';
import { PgError } from '../protocol.js';
import { type Column, Rec, type Schema, T, type V, type World, cmp, distinctBy, keyOf, out, toBool, toNumber, unsupported, wireTypeOf } from './values.js';
import {
  type Cte,
  DEFAULT_CATALOG_BUDGET,
  type Env,
  MAX_DEPTH,
  type Opts,
  type Query,
  type Run,
  type Scope,
  type Src,
  type Typed,
  type WinSlot,
  spend,
} from './context.js';
import { constant, expr } from './expr.js';
import { hasAggregate, sortCompare, sortKeys } from './functions.js';
import { equalities, joinItems, lookUp, probeOf, sameKind } from './plan.js';

// ---------------------------------------------------------------------------------------------
// FROM

export interface FromItem {
  readonly start: number;
  readonly srcs: readonly Src[];
  /** The rows of this item: one tuple per entry, in place in an array as long as the select's entries. */
  run(outer: Env | undefined, r: Run, width: number): (readonly V[] | null)[][];
  /** The catalog relation this item is, read whole by run() (plan.ts may look its rows up instead). */
  readonly relation?: { readonly schema: string | undefined; readonly name: string };
}

export interface FromBuild {
  readonly srcs: Src[];
  readonly using: Map<string, number>;
}

export function aliasOf(n: Node | undefined): { name: string | undefined; columns: string[] } {
  const a = child(n, 'alias');
  return { name: typeof a?.['aliasname'] === 'string' ? (a['aliasname'] as string) : undefined, columns: list(a, 'colnames').map((c) => sval(c) ?? '') };
}

export function renamed(columns: readonly Column[], names: readonly string[]): Column[] {
  if (names.length > columns.length) throw new PgError('42P10', `the alias names ${names.length} columns, the relation has ${columns.length}`);
  return columns.map((c, i) => ({ name: names[i] ?? c.name, type: c.type }));
}

export function fromItem(n: Node, s: Scope, schema: Schema, depth: { n: number }, build: FromBuild): FromItem {
  const start = build.srcs.length;
  const add = (src: Src) => {
    if (build.srcs.some((x) => x.alias === src.alias && src.alias !== '')) throw new PgError('42712', `table name "${src.alias}" specified more than once`);
    build.srcs.push(src);
  };
  const rv = child(n, 'RangeVar');
  if (rv) {
    const schemaName = typeof rv['schemaname'] === 'string' ? (rv['schemaname'] as string) : undefined;
    const rel = String(rv['relname'] ?? '');
    const alias = aliasOf(rv);
    let cte: Cte | undefined;
    for (let x: Scope | undefined = s; x && !cte && schemaName === undefined; x = x.up) cte = x.ctes.get(rel);
    if (cte) {
      const found = cte;
      add({ alias: alias.name ?? rel, columns: renamed(found.columns, alias.columns), loose: false });
      return {
        start,
        srcs: build.srcs.slice(start),
        run: (outer, r, width) =>
          found.query.run(outer, r).map((row) => {
            const t: (readonly V[] | null)[] = new Array(width).fill(null);
            t[start] = row;
            return t;
          }),
      };
    }
    const columns = schema.columns(schemaName, rel);
    if (!columns) {
      const q = schemaName ? `${schemaName}.${rel}` : rel;
      throw schemaName === 'pg_catalog' || schemaName === 'information_schema' || (!schemaName && rel.startsWith('pg_'))
        ? new PgError('0A000', `the system catalog relation ${q} is not answered by the cordon wire gateway`)
        : // Only a name a WITH query shadows comes here (sql.ts sends a dataset's name to the dataset planner).
          new PgError('0A000', `${q} is not a system catalog relation: a query reads either the catalog or datasets, not both`);
    }
    add({ alias: alias.name ?? rel, columns: renamed(columns, alias.columns), loose: alias.columns.length === 0 });
    return {
      start,
      srcs: build.srcs.slice(start),
      relation: { schema: schemaName, name: rel },
      run: (_outer, r, width) => {
        const rows = r.world.rows(schemaName, rel);
        spend(r, rows.length);
        return rows.map((row) => {
          const t: (readonly V[] | null)[] = new Array(width).fill(null);
          t[start] = row;
          return t;
        });
      },
    };
  }
  const sub = child(n, 'RangeSubselect');
  if (sub) {
    if (sub['lateral'] === true) throw unsupported('LATERAL');
    const alias = aliasOf(sub);
    // A subquery in FROM sees the enclosing queries, not its siblings.
    const q = compileSelect(child(child(sub, 'subquery'), 'SelectStmt') ?? {}, s.up, schema, depth, s.ctes);
    add({ alias: alias.name ?? '', columns: renamed(q.columns, alias.columns), loose: false });
    return {
      start,
      srcs: build.srcs.slice(start),
      run: (outer, r, width) =>
        q.run(outer, r).map((row) => {
          const t: (readonly V[] | null)[] = new Array(width).fill(null);
          t[start] = row;
          return t;
        }),
    };
  }
  const rf = child(n, 'RangeFunction');
  if (rf) {
    if (rf['lateral'] === true) throw unsupported('LATERAL');
    const fns = list(rf, 'functions');
    if (fns.length !== 1 || rf['is_rowsfrom'] === true) throw unsupported('ROWS FROM');
    const call = list(child(fns[0], 'List'), 'items')[0];
    const outerScope: Scope = { srcs: [], using: new Map(), up: s.up, ctes: s.ctes };
    const f = expr(call, outerScope, { schema, agg: false, wins: undefined, depth });
    const alias = aliasOf(rf);
    // A function of composite rows gives a column per field; another, one column named by the alias or the function.
    const expand = f.fields !== undefined;
    const base: Column[] = f.fields ? [...f.fields] : [{ name: alias.name ?? f.name, type: f.type }];
    const ordinality = rf['ordinality'] === true;
    const columns = renamed(ordinality ? [...base, { name: 'ordinality', type: T.int8 }] : base, alias.columns);
    add({ alias: alias.name ?? f.name, columns, loose: false });
    return {
      start,
      srcs: build.srcs.slice(start),
      run: (outer, r, width) => {
        const env: Env = { t: [], up: outer, r };
        const v = f.ex(env);
        const values = f.srf ? (v as readonly V[]) : [v];
        return values.map((x, i) => {
          const t: (readonly V[] | null)[] = new Array(width).fill(null);
          const cells = x instanceof Rec && expand ? [...x.values] : [x];
          t[start] = ordinality ? [...cells, i + 1] : cells;
          return t;
        });
      },
    };
  }
  const j = child(n, 'JoinExpr');
  if (j) {
    if (j['isNatural'] === true) throw unsupported('NATURAL JOIN');
    if (child(j, 'alias')) throw unsupported('an alias on a join');
    const type = String(j['jointype'] ?? 'JOIN_INNER');
    if (!['JOIN_INNER', 'JOIN_LEFT', 'JOIN_RIGHT', 'JOIN_FULL'].includes(type)) throw unsupported(type.replace('JOIN_', '').toLowerCase());
    const left = fromItem(child(j, 'larg') ?? {}, s, schema, depth, build);
    const mid = build.srcs.length;
    const right = fromItem(child(j, 'rarg') ?? {}, s, schema, depth, build);
    const end = build.srcs.length;
    // The ON condition sees this join's entries only.
    const visible = build.srcs.map((src, i) => (i >= start && i < end ? src : undefined));
    const using = list(j, 'usingClause').map((u) => sval(u) ?? '');
    const joinScope: Scope = { srcs: visible, using: new Map(), up: s.up, ctes: s.ctes };
    const o: Opts = { schema, agg: false, wins: undefined, depth };
    const conds: { l: Typed; r: Typed }[] = [];
    for (const name of using) {
      const side = (from: number, to: number) => {
        const only = { ...joinScope, srcs: build.srcs.map((src, i) => (i >= from && i < to ? src : undefined)) };
        return expr({ ColumnRef: { fields: [{ String: { sval: name } }] } }, only, o);
      };
      conds.push({ l: side(start, mid), r: side(mid, end) });
      if (!build.using.has(name)) build.using.set(name, (side(start, mid).col?.src ?? start) as number);
    }
    const quals = child(j, 'quals');
    const on = quals ? expr(quals, joinScope, o).ex : undefined;
    // An equality between a column of each side is answered by a hash of the right side.
    const conjuncts = (q: Node | undefined): Node[] => {
      const be = child(q, 'BoolExpr');
      return be?.['boolop'] === 'AND_EXPR' ? list(be, 'args').flatMap(conjuncts) : q ? [q] : [];
    };
    for (const c of conjuncts(quals)) {
      const e = child(c, 'A_Expr');
      if (e?.['kind'] !== 'AEXPR_OP' || list(e, 'name').map(sval).pop() !== '=') continue;
      const a = expr(child(e, 'lexpr'), joinScope, o);
      const z = expr(child(e, 'rexpr'), joinScope, o);
      if (!a.col || !z.col) continue;
      const inLeft = (x: Typed) => x.col!.src < mid;
      if (inLeft(a) === inLeft(z)) continue;
      const [l, r] = inLeft(a) ? [a, z] : [z, a];
      conds.push({ l, r });
    }
    const hashable = conds.find(({ l, r }) => sameKind(l.type, r.type));
    const keep = (row: (readonly V[] | null)[], outer: Env | undefined, r: Run): boolean => {
      const env: Env = { t: row, up: outer, r };
      for (const c of conds) {
        const x = c.l.ex(env);
        const y = c.r.ex(env);
        if (x === null || y === null || cmp(x, y, r.world) !== 0) return false;
      }
      if (!on) return true;
      const v = on(env);
      return v !== null && toBool(v);
    };
    return {
      start,
      srcs: build.srcs.slice(start),
      run: (outer, r, width) => {
        const ls = left.run(outer, r, width);
        const rs = right.run(outer, r, width);
        const out: (readonly V[] | null)[][] = [];
        const matchedRight = new Set<number>();
        let index: Map<string, number[]> | undefined;
        if (hashable) {
          index = new Map();
          rs.forEach((row, i) => {
            const k = keyOf(hashable.r.ex({ t: row, up: outer, r }));
            const bucket = index!.get(k);
            if (bucket) bucket.push(i);
            else index!.set(k, [i]);
          });
        }
        if (!index) spend(r, ls.length * rs.length);
        for (const l of ls) {
          let matched = false;
          const candidates = index ? (index.get(keyOf(hashable!.l.ex({ t: l, up: outer, r }))) ?? []) : rs.keys();
          for (const i of candidates) {
            if (index) spend(r, 1);
            const row = merge(l, rs[i]!, start, mid, end);
            if (keep(row, outer, r)) {
              matched = true;
              matchedRight.add(i);
              out.push(row);
            }
          }
          if (!matched && (type === 'JOIN_LEFT' || type === 'JOIN_FULL')) out.push(merge(l, null, start, mid, end));
        }
        if (type === 'JOIN_RIGHT' || type === 'JOIN_FULL')
          for (const [i, row] of rs.entries()) if (!matchedRight.has(i)) out.push(merge(null, row, start, mid, end));
        return out;
      },
    };
  }
  throw unsupported(`${Object.keys(n)[0] ?? 'this'} in FROM`);
}

export function merge(l: (readonly V[] | null)[] | null, r: (readonly V[] | null)[] | null, start: number, mid: number, end: number): (readonly V[] | null)[] {
  const row = (l ?? r)!.slice();
  for (let i = start; i < mid; i++) row[i] = l?.[i] ?? null;
  for (let i = mid; i < end; i++) row[i] = r?.[i] ?? null;
  return row;
}

// ---------------------------------------------------------------------------------------------
// SELECT

/** Compiles a SelectStmt (the body, without its wrapper) in `up`'s scope. */
export function compileSelect(sel: Node, up: Scope | undefined, schema: Schema, depth: { n: number } = { n: 0 }, outerCtes?: ReadonlyMap<string, Cte>): Query {
  if (++depth.n > MAX_DEPTH) throw new PgError('54001', 'the catalog query is nested too deeply for the cordon wire gateway');
  try {
    return compileSelectOf(sel, up, schema, depth, outerCtes ?? up?.ctes ?? new Map());
  } finally {
    depth.n--;
  }
}

export function compileSelectOf(sel: Node, up: Scope | undefined, schema: Schema, depth: { n: number }, inherited: ReadonlyMap<string, Cte>): Query {
  const ctes = new Map(inherited);
  const withClause = child(sel, 'withClause');
  if (withClause) {
    if (withClause['recursive'] === true) throw unsupported('WITH RECURSIVE');
    for (const c of list(withClause, 'ctes')) {
      const cte = child(c, 'CommonTableExpr');
      const q = compileSelect(child(child(cte, 'ctequery'), 'SelectStmt') ?? {}, up, schema, depth, ctes);
      const names = list(cte, 'aliascolnames').map((x) => sval(x) ?? '');
      ctes.set(String(cte?.['ctename'] ?? ''), { columns: renamed(q.columns, names), query: q });
    }
  }
  for (const [k, what] of [
    ['intoClause', 'SELECT INTO'],
    ['lockingClause', 'FOR UPDATE/SHARE'],
    ['windowClause', 'WINDOW'],
  ] as const)
    if (sel[k] !== undefined) throw unsupported(what);
  const op = String(sel['op'] ?? 'SETOP_NONE');
  if (op !== 'SETOP_NONE') return setOperation(sel, op, up, schema, depth, ctes);
  if (sel['valuesLists'] !== undefined) return values(sel, up, schema, depth, ctes);

  const build: FromBuild = { srcs: [], using: new Map() };
  const pending: Scope = { srcs: build.srcs, using: build.using, up, ctes };
  const items = list(sel, 'fromClause').map((f) => fromItem(f, pending, schema, depth, build));
  const width = build.srcs.length;
  const scope: Scope = { srcs: build.srcs, using: build.using, up, ctes };
  const plain: Opts = { schema, agg: false, wins: undefined, depth };
  const where = child(sel, 'whereClause') ? expr(child(sel, 'whereClause'), scope, plain).ex : undefined;
  // WHERE's equalities look relations up and hash-join the items (plan.ts); WHERE is still applied whole after.
  const eqs = equalities(child(sel, 'whereClause'), scope, plain);
  const probes = items.map((item) => (item.relation ? probeOf(item.start, eqs) : undefined));
  const spans = items.map((item) => ({ start: item.start, end: item.start + item.srcs.length }));

  const targets = list(sel, 'targetList').map((t) => child(t, 'ResTarget') ?? {});
  const groupNodes = list(sel, 'groupClause');
  const grouped = groupNodes.length > 0 || hasAggregate(targets) || hasAggregate(sel['havingClause']) || hasAggregate(sel['sortClause']);
  const wins: WinSlot[] = [];
  const listOpts: Opts = { schema, agg: grouped, wins, depth };

  // The select list: `*` and `alias.*` expand to their entries' columns.
  const outs: Typed[] = [];
  const names: string[] = [];
  for (const t of targets) {
    const ref = child(child(t, 'val'), 'ColumnRef');
    const fields = list(ref, 'fields');
    if (fields.some((f) => child(f, 'A_Star'))) {
      const qualifier = fields.length === 2 ? sval(fields[0]) : undefined;
      const entries = build.srcs.map((src, i) => [src, i] as const).filter(([src]) => qualifier === undefined || src.alias === qualifier);
      if (qualifier !== undefined && entries.length === 0) throw new PgError('42P01', `missing FROM-clause entry for table "${qualifier}"`);
      if (entries.length === 0) throw new PgError('42601', 'SELECT * with no tables specified is not valid');
      for (const [src, i] of entries)
        src.columns.forEach((c, ci) => {
          outs.push({ ex: (e) => e.t[i]?.[ci] ?? null, type: c.type, name: c.name });
          names.push(c.name);
        });
      continue;
    }
    const x = expr(child(t, 'val'), scope, listOpts);
    outs.push(x);
    names.push(typeof t['name'] === 'string' ? (t['name'] as string) : x.name);
  }
  const columns = outs.map((x, i) => ({ name: names[i]!, type: wireTypeOf(x.type) }));

  /** An ORDER BY / GROUP BY / DISTINCT ON item: a position or an output name, else an expression. */
  const outputRef = (n: Node | undefined, inputFirst = false): number | undefined => {
    const c = constant(n);
    if (typeof c === 'number' && child(child(n, 'A_Const'), 'ival')) {
      if (c < 1 || c > outs.length) throw new PgError('42P10', `position ${c} is not in select list`);
      return c - 1;
    }
    const f = list(child(n, 'ColumnRef'), 'fields');
    if (f.length === 1 && sval(f[0]) !== undefined) {
      // ORDER BY prefers an output name, GROUP BY a column of FROM, as PostgreSQL does.
      const i = names.indexOf(sval(f[0])!);
      const inFrom = build.srcs.some((src) => src.columns.some((col) => col.name === sval(f[0])));
      if (i >= 0 && !(inputFirst && inFrom)) return i;
    }
    return undefined;
  };
  const groupKeys = groupNodes.map((g) => {
    const i = outputRef(g, true);
    return i !== undefined ? expr(child(targets[i], 'val'), scope, plain).ex : expr(g, scope, plain).ex;
  });
  const having = child(sel, 'havingClause') ? expr(child(sel, 'havingClause'), scope, { schema, agg: true, wins: undefined, depth }).ex : undefined;
  const sortOpts: Opts = { schema, agg: grouped, wins, depth };
  const sorts = sortKeys(list(sel, 'sortClause'), (n) => {
    const i = outputRef(n);
    if (i !== undefined) return (e: Env) => e.o?.[i] ?? null;
    return expr(n, scope, sortOpts).ex;
  });
  const distinct = list(sel, 'distinctClause');
  const distinctAll = sel['distinctClause'] !== undefined && distinct.every((d) => Object.keys(d).length === 0);
  const distinctOn = distinctAll
    ? []
    : distinct.map((n) => {
        const i = outputRef(n);
        return i !== undefined ? (e: Env) => e.o?.[i] ?? null : expr(n, scope, plain).ex;
      });
  const limit = child(sel, 'limitCount') ? expr(child(sel, 'limitCount'), { srcs: [], using: new Map(), up, ctes }, plain).ex : undefined;
  const offset = child(sel, 'limitOffset') ? expr(child(sel, 'limitOffset'), { srcs: [], using: new Map(), up, ctes }, plain).ex : undefined;
  if (sel['limitOption'] === 'LIMIT_OPTION_WITH_TIES') throw unsupported('FETCH … WITH TIES');

  return {
    columns,
    run(outer, r) {
      // FROM: the join of its items (one empty row without FROM), a relation looked up where an equality allows.
      const itemRows = items.map((item, k) => {
        const p = probes[k];
        if (!p || !item.relation) return item.run(outer, r, width);
        const { schema: s, name } = item.relation;
        const found = lookUp(`${s}.${name}`, r.world.rows(s, name), p, outer, r);
        spend(r, found.length);
        return found.map((row) => {
          const t: (readonly V[] | null)[] = new Array(width).fill(null);
          t[item.start] = row;
          return t;
        });
      });
      const rows = joinItems(spans, itemRows, eqs, outer, r, width);
      let envs: Env[] = rows.map((t) => ({ t, up: outer, r }));
      if (where)
        envs = envs.filter((e) => {
          const v = where(e);
          return v !== null && toBool(v);
        });
      if (grouped) {
        const groups = new Map<string, Env[]>();
        for (const e of envs) {
          const k = groupKeys.map((g) => keyOf(g(e))).join('\u0000');
          const g = groups.get(k);
          if (g) g.push(e);
          else groups.set(k, [e]);
        }
        if (groups.size === 0 && groupKeys.length === 0) groups.set('', []);
        envs = [...groups.values()].map((members) => ({ t: members[0]?.t ?? new Array(width).fill(null), up: outer, r, g: members }));
        if (having)
          envs = envs.filter((e) => {
            const v = having(e);
            return v !== null && toBool(v);
          });
      }
      for (const [i, w] of wins.entries()) window(w, i, envs, r);
      // The select list, a set-returning item expanding its row.
      const projected: Env[] = [];
      for (const e of envs) {
        const vals = outs.map((x) => x.ex(e));
        const srfs = outs.map((x, i) => (x.srf ? (vals[i] as readonly V[]) : undefined));
        if (srfs.every((x) => x === undefined)) projected.push({ ...e, o: vals });
        else {
          const n = Math.max(...srfs.map((x) => x?.length ?? 0));
          for (let k = 0; k < n; k++) projected.push({ ...e, o: vals.map((v, i) => (srfs[i] ? (srfs[i]![k] ?? null) : v)) });
        }
      }
      let result = projected;
      if (sorts.length > 0) {
        const keyed = result.map((e) => ({ e, k: sorts.map((s) => s.ex(e)) }));
        const c = sortCompare(sorts, r.world);
        keyed.sort((a, b) => c(a.k, b.k));
        result = keyed.map((x) => x.e);
      }
      if (distinctAll || distinctOn.length > 0) {
        const seen = new Set<string>();
        result = result.filter((e) => {
          const k = (distinctAll ? e.o! : distinctOn.map((d) => d(e))).map(keyOf).join('\u0000');
          if (seen.has(k)) return false;
          seen.add(k);
          return true;
        });
      }
      const env0: Env = { t: [], up: outer, r };
      const off = offset ? toNumber(offset(env0) ?? 0) : 0;
      const lim = limit ? limit(env0) : null;
      return result.slice(off, lim === null ? undefined : off + toNumber(lim)).map((e) => e.o!);
    },
  };
}

export function window(w: WinSlot, slot: number, envs: readonly Env[], r: Run): void {
  const keyed = envs.map((e, i) => ({ e, i, p: w.partition.map((p) => keyOf(p(e))).join('\u0000'), k: w.order.map((o) => o.ex(e)) }));
  const c = sortCompare(w.order, r.world);
  keyed.sort((a, b) => (a.p < b.p ? -1 : a.p > b.p ? 1 : c(a.k, b.k) || a.i - b.i));
  let part: string | undefined;
  let n = 0;
  let rank = 0;
  let dense = 0;
  let prev: readonly V[] | undefined;
  for (const x of keyed) {
    if (x.p !== part) {
      part = x.p;
      n = 0;
      rank = 0;
      dense = 0;
      prev = undefined;
    }
    n++;
    const tie = prev !== undefined && c(prev, x.k) === 0;
    if (!tie) {
      rank = n;
      dense++;
    }
    prev = x.k;
    x.e.w ??= [];
    x.e.w[slot] = w.fn === 'row_number' ? n : w.fn === 'rank' ? rank : dense;
  }
}

export function setOperation(sel: Node, op: string, up: Scope | undefined, schema: Schema, depth: { n: number }, ctes: ReadonlyMap<string, Cte>): Query {
  const l = compileSelect(child(sel, 'larg') ?? {}, up, schema, depth, ctes);
  const rq = compileSelect(child(sel, 'rarg') ?? {}, up, schema, depth, ctes);
  if (l.columns.length !== rq.columns.length) throw new PgError('42601', `each ${op.replace('SETOP_', '')} query must have the same number of columns`);
  const all = sel['all'] === true;
  const names = l.columns.map((c) => c.name);
  const columns = l.columns.map((c, i) => ({ name: c.name, type: c.type === T.text && rq.columns[i]!.type !== T.text ? rq.columns[i]!.type : c.type }));
  const sorts = sortKeys(list(sel, 'sortClause'), (n) => {
    const c = constant(n);
    const f = list(child(n, 'ColumnRef'), 'fields');
    const i = typeof c === 'number' ? c - 1 : f.length === 1 ? names.indexOf(sval(f[0]) ?? '') : -1;
    if (i < 0 || i >= names.length) throw unsupported('ORDER BY of a set operation other than by an output column');
    return (e: Env) => e.o?.[i] ?? null;
  });
  const scope0: Scope = { srcs: [], using: new Map(), up, ctes };
  const plain: Opts = { schema, agg: false, wins: undefined, depth };
  const limit = child(sel, 'limitCount') ? expr(child(sel, 'limitCount'), scope0, plain).ex : undefined;
  const offset = child(sel, 'limitOffset') ? expr(child(sel, 'limitOffset'), scope0, plain).ex : undefined;
  return {
    columns,
    run(outer, r) {
      const a = l.run(outer, r);
      const b = rq.run(outer, r);
      const key = (row: readonly V[]) => row.map(keyOf).join('\u0000');
      let rows: V[][];
      if (op === 'SETOP_UNION') rows = [...a, ...b];
      else {
        const counts = new Map<string, number>();
        for (const row of b) counts.set(key(row), (counts.get(key(row)) ?? 0) + 1);
        rows = a.filter((row) => {
          const n = counts.get(key(row)) ?? 0;
          if (all && n > 0) counts.set(key(row), n - 1);
          return op === 'SETOP_INTERSECT' ? n > 0 : n === 0;
        });
      }
      if (!all) {
        rows = distinctBy(rows, key);
      }
      if (sorts.length > 0) {
        const c = sortCompare(sorts, r.world);
        const keyed = rows.map((o) => ({ o, k: sorts.map((s) => s.ex({ t: [], up: outer, r, o } as Env)) }));
        keyed.sort((x, y) => c(x.k, y.k));
        rows = keyed.map((x) => x.o);
      }
      const env0: Env = { t: [], up: outer, r };
      const off = offset ? toNumber(offset(env0) ?? 0) : 0;
      const lim = limit ? limit(env0) : null;
      return rows.slice(off, lim === null ? undefined : off + toNumber(lim));
    },
  };
}

export function values(sel: Node, up: Scope | undefined, schema: Schema, depth: { n: number }, ctes: ReadonlyMap<string, Cte>): Query {
  const scope: Scope = { srcs: [], using: new Map(), up, ctes };
  const o: Opts = { schema, agg: false, wins: undefined, depth };
  const rows = list(sel, 'valuesLists').map((l) => list(child(l, 'List'), 'items').map((i) => expr(i, scope, o)));
  const first = rows[0] ?? [];
  return {
    columns: first.map((_, i) => ({
      name: `column${i + 1}`,
      type: wireTypeOf(rows.map((r) => r[i]?.type ?? T.unknown).find((t) => t !== T.unknown) ?? T.unknown),
    })),
    run: (outer, r) => rows.map((row) => row.map((x) => x.ex({ t: [], up: outer, r }))),
  };
}

/** Runs a compiled query: its rows as wire text. */
export function runQuery(q: Query, world: World, params: readonly (string | null)[], budget = DEFAULT_CATALOG_BUDGET): (string | null)[][] {
  const r: Run = { world, params, left: budget, patterns: new Map(), indexes: new Map() };
  return q.run(undefined, r).map((row) => row.map(out));
}
