// Planning a SELECT over the catalog's datasets: one dataset, or two joined on a reference; WHERE
// conditions, ORDER BY, LIMIT/OFFSET, count() and GROUP BY. Planning reads no data and knows no
// caller: it names every column the result depends on (`tested`), and execute.ts refuses the query
// (42501) when the caller may not filter on one of them, before anything is read. A construct not
// answered is kept as a refusal (0A000 naming it), told only after those checks.

import type { Dataset, Policy } from '../policy/index.js';
import { child, constText, isNode, list, sval, type Node } from './ast.js';
import { isCatalogRelation } from './catalog.js';
import type { CmpOp, ColRef, Expr, Operand, Value } from './expr.js';
import { PgError } from './protocol.js';

export const unsupported = (what: string) => new PgError('0A000', `${what} is not supported by the cordon wire gateway`);

/** A relation of FROM: a dataset, and the name its columns are qualified by. */
export interface Relation {
  readonly dataset: Dataset;
  readonly alias: string;
}

/** What an output column (or a sort key) is: a column of a relation, or count(*) (col undefined) / count(col). */
export type Item = { readonly col: ColRef } | { readonly count: ColRef | undefined };

export interface OutputColumn {
  /** The name the client sees (the alias, the field's name, or count). */
  readonly name: string;
  readonly item: Item;
}

export interface SortKey {
  readonly item: Item;
  readonly desc: boolean;
  readonly nullsFirst: boolean;
}

/** A join of two datasets on a reference: the listed relation's column `ref` holds the key of the other relation's records. */
export interface JoinPlan {
  /** inner: a listed row whose reference finds no record is left out; left: it is kept, the other side NULL. */
  readonly type: 'inner' | 'left';
  readonly ref: ColRef;
  /** The followed relation's key column. */
  readonly key: ColRef;
  /** The ON clause's other conditions (AND): the followed record joins only where they hold. */
  readonly on: Expr | undefined;
}

export interface SelectPlan {
  readonly kind: 'select';
  /** FROM's relations, in the order written (one, or two with a join). */
  readonly relations: readonly Relation[];
  /** The relation whose records are listed; with a join, the one holding the reference. */
  readonly listed: number;
  readonly join: JoinPlan | undefined;
  readonly columns: readonly OutputColumn[];
  /** WHERE without the conditions that address records by key. */
  readonly where: Expr | undefined;
  /** Conditions `key = v` / `key IN (…)` on the listed relation's key: each names records as GET /v1/data/{dataset}/{key} does. */
  readonly addressed: readonly (readonly Value[])[];
  /** count() or GROUP BY: only aggregates go out. */
  readonly aggregate: boolean;
  readonly groupBy: readonly ColRef[];
  readonly orderBy: readonly SortKey[];
  readonly limit: Value | undefined;
  readonly offset: Value | undefined;
  /** Columns the result depends on besides the projection (WHERE, ON, ORDER BY, GROUP BY, count(col), any expression): each must be one the caller may filter on. */
  readonly tested: readonly ColRef[];
  /** A join's reference column and the key it names: each must be protected in no jurisdiction. */
  readonly references: readonly ColRef[];
  /** Columns named that no relation has (42703, told before anything else). */
  readonly unknownColumns: readonly string[];
  /** A construct the gateway does not answer (0A000, 42803, …), told after the column checks. */
  readonly unsupported: PgError | undefined;
}

/** Clauses of a SELECT the gateway does not answer, by the parse tree's member and the name told in the 0A000. */
export const UNSUPPORTED_CLAUSES: readonly [string, string][] = [
  ['withClause', 'WITH'],
  ['intoClause', 'SELECT INTO'],
  ['distinctClause', 'DISTINCT'],
  ['havingClause', 'HAVING'],
  ['windowClause', 'WINDOW'],
  ['lockingClause', 'FOR UPDATE/SHARE'],
  ['valuesLists', 'VALUES'],
];

const COMPARISONS = new Set(['=', '<>', '<', '<=', '>', '>=']);

/** The plan of a SELECT whose FROM names datasets (not the system catalog). */
export function planSelect(sel: Node, policy: Policy): SelectPlan {
  const from = list(sel, 'fromClause');
  const targets = list(sel, 'targetList').map((t) => child(t, 'ResTarget') ?? {});
  // FROM: one dataset, or two joined.
  const relations: Relation[] = [];
  const relationOf = (n: Node | undefined): void => {
    const rv = child(n, 'RangeVar');
    if (!rv) {
      const k = Object.keys(n ?? {})[0] ?? '';
      throw unsupported(
        k === 'JoinExpr'
          ? 'a join of more than two tables'
          : k === 'RangeSubselect'
            ? 'a subquery in FROM'
            : k === 'RangeFunction'
              ? 'a function in FROM'
              : `${k} in FROM`,
      );
    }
    const schema = rv['schemaname'];
    const relname = String(rv['relname'] ?? '');
    if (isCatalogRelation(rv)) throw unsupported(`the system catalog ${schema === undefined ? '' : `${String(schema)}.`}${relname} beside a dataset`);
    if (schema !== undefined && schema !== 'public') throw new PgError('42P01', `relation "${String(schema)}.${relname}" does not exist`);
    const d = policy.datasets.get(relname);
    if (!d) throw new PgError('42P01', `relation "${relname}" does not exist`);
    const alias = String(child(rv, 'alias')?.['aliasname'] ?? relname);
    if (relations.some((r) => r.alias === alias)) throw new PgError('42712', `table name "${alias}" specified more than once`);
    relations.push({ dataset: d, alias });
  };
  const joinExpr = child(from[0], 'JoinExpr');
  if (joinExpr) {
    relationOf(child(joinExpr, 'larg'));
    relationOf(child(joinExpr, 'rarg'));
  } else relationOf(from[0]);

  let refusal: PgError | undefined;
  const refuse = (e: PgError): undefined => {
    refusal ??= e;
    return undefined;
  };
  const unknownColumns = new Set<string>();
  const tested: ColRef[] = [];
  const references: ColRef[] = [];

  type Resolved = ColRef | { readonly star: number | undefined } | undefined;
  /** The column a ColumnRef names: a relation's field, `*` (star: undefined) or `alias.*`, or undefined when no relation has it (kept for 42703). */
  const resolve = (ref: Node): Resolved => {
    const fields = list(ref, 'fields');
    const star = fields.some((f) => child(f, 'A_Star'));
    const names = fields.map(sval);
    if (names.length > 2) return refuse(unsupported('a column reference with more than two parts'));
    const qualifier = names.length === 2 ? names[0]! : undefined;
    const rel = qualifier === undefined ? undefined : relations.findIndex((r) => r.alias === qualifier);
    if (rel === -1) throw new PgError('42P01', `missing FROM-clause entry for table "${qualifier}"`);
    if (star) return { star: rel };
    const name = names[names.length - 1]!;
    if (rel !== undefined) {
      if (relations[rel]!.dataset.fields.has(name)) return { rel, field: name };
      unknownColumns.add(`${qualifier}.${name}`);
      return undefined;
    }
    const having = relations.flatMap((r, i) => (r.dataset.fields.has(name) ? [i] : []));
    if (having.length > 1) throw new PgError('42702', `column reference "${name}" is ambiguous`);
    if (having.length === 0) {
      unknownColumns.add(name);
      return undefined;
    }
    return { rel: having[0]!, field: name };
  };
  const colOf = (n: Node | undefined): ColRef | undefined => {
    const ref = child(n, 'ColumnRef');
    const r = ref && resolve(ref);
    return r && 'field' in r ? r : undefined;
  };
  /** Every column named anywhere under `n` becomes a tested one (it decides what the result holds); a subquery is refused unread. */
  const walk = (n: unknown): void => {
    if (Array.isArray(n)) for (const x of n) walk(x);
    else if (isNode(n))
      for (const [k, v] of Object.entries(n)) {
        if (k === 'ColumnRef' && isNode(v)) {
          const r = resolve(v);
          if (r && 'field' in r) tested.push(r);
        } else if (k === 'SubLink') refuse(unsupported('a subquery'));
        else walk(v);
      }
  };

  /** A value operand: a literal (NULL included) or a parameter, looking through casts ('x'::text, $1::int). */
  const valueIn = (n: Node | undefined): Value | undefined => {
    const cast = child(n, 'TypeCast');
    if (cast) return valueIn(child(cast, 'arg'));
    const p = child(n, 'ParamRef');
    if (p) return { param: Number(p['number'] ?? 0) };
    const c = child(n, 'A_Const');
    return c ? { literal: constText(c) } : undefined;
  };
  const operand = (n: Node | undefined): Operand | undefined => {
    if (child(n, 'ColumnRef')) {
      const c = colOf(n);
      return c ? { col: c } : undefined;
    }
    return valueIn(n) ?? refuse(unsupported(`${describe(n)} as an operand`));
  };
  const kindOf = (n: Node | undefined) => Object.keys(n ?? {})[0] ?? 'this expression';
  function describe(n: Node | undefined): string {
    const k = kindOf(n);
    if (k === 'FuncCall')
      return `the function ${list(child(n, 'FuncCall'), 'funcname')
        .map(sval)
        .filter((x) => x !== 'pg_catalog')
        .join('.')}()`;
    if (k === 'CaseExpr') return 'CASE';
    if (k === 'TypeCast') return 'a cast of a column';
    if (k === 'SubLink') return 'a subquery';
    return k;
  }
  const columnOperand = (n: Node | undefined, what: string): ColRef | undefined =>
    colOf(n) ?? (child(n, 'ColumnRef') ? undefined : refuse(unsupported(`${what} of ${describe(n)} (only of a column)`)));

  /** A condition as an Expr; undefined (and a refusal kept) for a construct not answered. */
  const expr = (n: Node | undefined): Expr | undefined => {
    const bool = child(n, 'BoolExpr');
    if (bool) {
      const args = list(bool, 'args').map(expr);
      if (args.some((a) => a === undefined)) return undefined;
      const op = bool['boolop'];
      if (op === 'NOT_EXPR') return { k: 'not', arg: args[0]! };
      return { k: op === 'OR_EXPR' ? 'or' : 'and', args: args as Expr[] };
    }
    const nt = child(n, 'NullTest');
    if (nt) {
      const col = columnOperand(child(nt, 'arg'), 'IS NULL');
      if (!col) return undefined;
      const e: Expr = { k: 'isnull', col };
      return nt['nulltesttype'] === 'IS_NOT_NULL' ? { k: 'not', arg: e } : e;
    }
    const bt = child(n, 'BooleanTest');
    if (bt) {
      const col = columnOperand(child(bt, 'arg'), 'IS TRUE/FALSE/UNKNOWN');
      if (!col) return undefined;
      const t = String(bt['booltesttype'] ?? '');
      const e: Expr = { k: 'truth', col, is: t.endsWith('TRUE') ? true : t.endsWith('FALSE') ? false : null };
      return t.includes('_NOT_') ? { k: 'not', arg: e } : e;
    }
    if (child(n, 'ColumnRef')) {
      const col = colOf(n);
      return col && { k: 'col', col };
    }
    const c = child(n, 'A_Const');
    if (c) {
      if (c['isnull'] === true) return { k: 'const', value: null };
      const b = child(c, 'boolval');
      return b ? { k: 'const', value: b['boolval'] === true } : refuse(new PgError('42804', 'argument of WHERE must be type boolean, not a number or text'));
    }
    const e = child(n, 'A_Expr');
    if (!e) return refuse(unsupported(`${describe(n)} in a condition`));
    const kind = String(e['kind'] ?? '');
    const op = list(e, 'name').map(sval).join('.');
    const l = child(e, 'lexpr');
    const r = child(e, 'rexpr');
    if (kind === 'AEXPR_OP') {
      if (!COMPARISONS.has(op)) return refuse(unsupported(`the operator ${op}`));
      const [a, b] = [operand(l), operand(r)];
      return a && b && { k: 'cmp', op: op as CmpOp, l: a, r: b };
    }
    if (kind === 'AEXPR_IN') {
      const col = columnOperand(l, 'IN');
      const values = list(child(r, 'List'), 'items').map(valueIn);
      if (values.some((v) => v === undefined)) return refuse(unsupported('IN with other than values (literals or parameters)'));
      if (!col) return undefined;
      const inList: Expr = { k: 'in', col, values: values as Value[] };
      return op === '<>' ? { k: 'not', arg: inList } : inList;
    }
    if (kind === 'AEXPR_LIKE' || kind === 'AEXPR_ILIKE') {
      const col = columnOperand(l, 'LIKE');
      const esc = child(r, 'FuncCall');
      const escName = list(esc, 'funcname').map(sval).at(-1);
      const [pattern, escapeChar] = esc && escName === 'like_escape' ? list(esc, 'args').map(valueIn) : [valueIn(r), undefined];
      if (!pattern || (esc && !escapeChar)) return refuse(unsupported('LIKE with a pattern other than a value (a literal or a parameter)'));
      if (!col) return undefined;
      const like: Expr = { k: 'like', col, pattern, escape: escapeChar, ci: kind === 'AEXPR_ILIKE' };
      return op.startsWith('!') ? { k: 'not', arg: like } : like;
    }
    if (kind === 'AEXPR_BETWEEN' || kind === 'AEXPR_NOT_BETWEEN') {
      const col = columnOperand(l, 'BETWEEN');
      const [lo, hi] = list(child(r, 'List'), 'items').map(valueIn);
      if (!lo || !hi) return refuse(unsupported('BETWEEN with bounds other than values'));
      if (!col) return undefined;
      const between: Expr = {
        k: 'and',
        args: [
          { k: 'cmp', op: '>=', l: { col }, r: lo },
          { k: 'cmp', op: '<=', l: { col }, r: hi },
        ],
      };
      return kind === 'AEXPR_NOT_BETWEEN' ? { k: 'not', arg: between } : between;
    }
    return refuse(unsupported(`${kind.replace('AEXPR_', '').replace(/_/g, ' ')}${op ? ` (${op})` : ''} in a condition`));
  };
  const andOf = (es: readonly Expr[]): Expr | undefined => (es.length === 0 ? undefined : es.length === 1 ? es[0] : { k: 'and', args: es });
  const splitAnd = (n: Node | undefined): Node[] => {
    const b = child(n, 'BoolExpr');
    return !n ? [] : b && b['boolop'] === 'AND_EXPR' ? list(b, 'args').flatMap(splitAnd) : [n];
  };

  // The join: one condition `a.ref = b.key` (a reference, or a column the caller may filter on that
  // holds the other's key), and any other conditions on columns the caller may filter on.
  let join: JoinPlan | undefined;
  let listed = 0;
  if (joinExpr) {
    const type = String(joinExpr['jointype'] ?? '');
    if (joinExpr['isNatural'] === true || joinExpr['usingClause'] !== undefined) refuse(unsupported('NATURAL JOIN and JOIN … USING (write JOIN … ON)'));
    const conds = splitAnd(child(joinExpr, 'quals'));
    type Pair = { ref: ColRef; key: ColRef; declared: boolean; at: number };
    const pairs: Pair[] = [];
    conds.forEach((n, at) => {
      const e = child(n, 'A_Expr');
      if (e?.['kind'] !== 'AEXPR_OP' || list(e, 'name').map(sval).join('.') !== '=') return;
      const a = child(child(e, 'lexpr'), 'ColumnRef') ? colOf(child(e, 'lexpr')) : undefined;
      const b = child(child(e, 'rexpr'), 'ColumnRef') ? colOf(child(e, 'rexpr')) : undefined;
      if (!a || !b || a.rel === b.rel) return;
      for (const [ref, key] of [
        [a, b],
        [b, a],
      ] as const) {
        const kd = relations[key.rel]!.dataset;
        const rd = relations[ref.rel]!.dataset;
        if (key.field === kd.key) pairs.push({ ref, key, declared: rd.subjectField === ref.field && rd.subjectDataset === kd.name, at });
      }
    });
    const pair = pairs.find((p) => p.declared) ?? pairs[0];
    if (!pair) {
      walk(conds);
      refuse(unsupported("a join condition other than a reference = the other table's key (such as videos.owner_uid = users.uid)"));
    } else {
      listed = pair.ref.rel;
      // A column that is not the dataset's declared reference joins only where the caller may filter on it.
      if (pair.declared) references.push(pair.ref, pair.key);
      else {
        tested.push(pair.ref);
        references.push(pair.key);
      }
      const rest = conds.filter((_, i) => i !== pair.at);
      walk(rest);
      const on = rest.map(expr);
      const preserved = type === 'JOIN_LEFT' ? 0 : type === 'JOIN_RIGHT' ? 1 : undefined;
      if (type === 'JOIN_FULL') refuse(unsupported('FULL JOIN'));
      else if (type !== 'JOIN_INNER' && type !== 'JOIN_LEFT' && type !== 'JOIN_RIGHT') refuse(unsupported(`${type.replace('JOIN_', '')} JOIN`));
      else if (preserved !== undefined && preserved !== listed) {
        const [kept, other] = [relations[preserved]!.dataset.name, relations[listed]!.dataset.name];
        refuse(
          unsupported(
            `a ${type.replace('JOIN_', '')} JOIN keeping every row of ${kept}, the table referred to (write ${other} LEFT JOIN ${kept}: rows of ${other}, each with its ${kept} record)`,
          ),
        );
      }
      if (on.every((e) => e !== undefined)) join = { type: type === 'JOIN_INNER' ? 'inner' : 'left', ref: pair.ref, key: pair.key, on: andOf(on as Expr[]) };
    }
  }
  const listedKey: ColRef = { rel: listed, field: relations[listed]!.dataset.key };
  const isListedKey = (c: ColRef | undefined) => c !== undefined && c.rel === listedKey.rel && c.field === listedKey.field;

  // The select list.
  const columns: OutputColumn[] = [];
  const countOf = (f: Node): Item | undefined => {
    const name = list(f, 'funcname')
      .map(sval)
      .filter((x) => x !== 'pg_catalog')
      .join('.');
    const args = list(f, 'args');
    if (name !== 'count' || f['agg_distinct'] === true || f['agg_filter'] !== undefined || f['over'] !== undefined || list(f, 'agg_order').length > 0) {
      walk(args);
      walk(f['agg_filter']);
      return refuse(
        unsupported(
          name !== 'count'
            ? `the function ${name}()`
            : f['agg_distinct'] === true
              ? 'count(DISTINCT …)'
              : f['over'] !== undefined
                ? 'a window function'
                : 'count with FILTER or ORDER BY',
        ),
      );
    }
    if (f['agg_star'] === true) return { count: undefined };
    if (args.length === 1 && child(args[0], 'A_Const') && child(args[0], 'A_Const')?.['isnull'] !== true) return { count: undefined };
    walk(args);
    const col = args.length === 1 ? colOf(args[0]) : undefined;
    return col ? { count: col } : child(args[0], 'ColumnRef') ? undefined : refuse(unsupported('count() of an expression (only of *, or of a column)'));
  };
  for (const t of targets) {
    const val = child(t, 'val');
    const alias = typeof t['name'] === 'string' ? (t['name'] as string) : undefined;
    const ref = child(val, 'ColumnRef');
    if (ref) {
      const r = resolve(ref);
      if (r && 'star' in r)
        relations.forEach((rel, i) => {
          if (r.star === undefined || r.star === i) for (const f of rel.dataset.fields.keys()) columns.push({ name: f, item: { col: { rel: i, field: f } } });
        });
      else if (r) columns.push({ name: alias ?? r.field, item: { col: r } });
      continue;
    }
    const f = child(val, 'FuncCall');
    const item = f ? countOf(f) : undefined;
    if (!f) {
      // Any column an expression of the select list reads is tested: what it computes would tell of the value.
      walk(val);
      refuse(unsupported(`${describe(val)} in a select list`));
    }
    if (item) columns.push({ name: alias ?? 'count', item });
  }

  // WHERE: conditions addressing the listed relation's records by key, and the rest.
  const addressed: Value[][] = [];
  const where: Expr[] = [];
  for (const n of splitAnd(child(sel, 'whereClause'))) {
    const e = child(n, 'A_Expr');
    const kind = e?.['kind'];
    const op = list(e, 'name').map(sval).join('.');
    const [l, r] = [child(e, 'lexpr'), child(e, 'rexpr')];
    if (kind === 'AEXPR_OP' && op === '=') {
      const [col, v] = child(l, 'ColumnRef') ? [l, r] : [r, l];
      const value = child(col, 'ColumnRef') && isListedKey(colOf(col)) ? valueIn(v) : undefined;
      if (value) {
        addressed.push([value]);
        continue;
      }
    }
    if (kind === 'AEXPR_IN' && op === '=' && isListedKey(child(l, 'ColumnRef') ? colOf(l) : undefined)) {
      const values = list(child(r, 'List'), 'items').map(valueIn);
      if (values.every((v) => v !== undefined)) {
        addressed.push(values as Value[]);
        continue;
      }
    }
    walk(n);
    const x = expr(n);
    if (x) where.push(x);
  }

  // GROUP BY (an input column, or an output column by name or position), ORDER BY (an output column by name or position, or an input column).
  const outputAt = (n: Node | undefined, clause: string): Item | undefined => {
    const c = child(n, 'A_Const');
    const i = Number(child(c, 'ival')?.['ival'] ?? Number.NaN);
    if (!Number.isInteger(i) || i < 1 || i > columns.length) throw new PgError('42P10', `${clause} position ${constText(c) ?? '?'} is not in select list`);
    return columns[i - 1]!.item;
  };
  const byName = (n: Node | undefined): Item | undefined => {
    const names = list(child(n, 'ColumnRef'), 'fields').map(sval);
    return names.length === 1 ? columns.find((c) => c.name === names[0])?.item : undefined;
  };
  const groupBy: ColRef[] = [];
  for (const g of list(sel, 'groupClause')) {
    const byPosition = child(g, 'A_Const') ? outputAt(g, 'GROUP BY') : undefined;
    const named = child(g, 'ColumnRef') && !byPosition ? byName(g) : undefined;
    const direct =
      child(g, 'ColumnRef') &&
      (() => {
        const names = list(child(g, 'ColumnRef'), 'fields').map(sval);
        return names.length === 2 || relations.some((r) => r.dataset.fields.has(names[0] ?? ''));
      })();
    const item = byPosition ?? (direct ? undefined : named);
    if (item && 'count' in item) refuse(new PgError('42803', 'aggregate functions are not allowed in GROUP BY'));
    else if (item) {
      tested.push(item.col);
      groupBy.push(item.col);
    } else if (child(g, 'ColumnRef')) {
      walk(g);
      const c = colOf(g);
      if (c) groupBy.push(c);
    } else {
      walk(g);
      refuse(unsupported(`GROUP BY ${describe(g)} (only columns)`));
    }
  }
  const orderBy: SortKey[] = [];
  for (const s of list(sel, 'sortClause')) {
    const by = child(s, 'SortBy') ?? {};
    const node = child(by, 'node');
    const dir = String(by['sortby_dir'] ?? 'SORTBY_DEFAULT');
    if (dir === 'SORTBY_USING') refuse(unsupported('ORDER BY … USING'));
    const desc = dir === 'SORTBY_DESC';
    const nulls = String(by['sortby_nulls'] ?? 'SORTBY_NULLS_DEFAULT');
    const nullsFirst = nulls === 'SORTBY_NULLS_DEFAULT' ? desc : nulls === 'SORTBY_NULLS_FIRST';
    let item: Item | undefined;
    if (child(node, 'A_Const')) item = outputAt(node, 'ORDER BY');
    else if (child(node, 'ColumnRef')) {
      item = byName(node);
      if (!item) {
        walk(node);
        const c = colOf(node);
        item = c && { col: c };
      }
    } else if (child(node, 'FuncCall')) item = countOf(child(node, 'FuncCall')!);
    else {
      walk(node);
      refuse(unsupported(`ORDER BY ${describe(node)} (only columns and count)`));
    }
    if (item && 'col' in item) tested.push(item.col);
    if (item && 'count' in item && item.count) tested.push(item.count);
    if (item) orderBy.push({ item, desc, nullsFirst });
  }

  for (const [k, what] of UNSUPPORTED_CLAUSES)
    if (sel[k] !== undefined) {
      walk(sel[k]);
      refuse(unsupported(what));
    }
  const aggregate =
    groupBy.length > 0 || sel['groupClause'] !== undefined || [...columns.map((c) => c.item), ...orderBy.map((o) => o.item)].some((i) => 'count' in i);
  if (aggregate) {
    const grouped = (c: ColRef) => groupBy.some((g) => g.rel === c.rel && g.field === c.field);
    for (const i of [...columns.map((c) => c.item), ...orderBy.map((o) => o.item)])
      if ('col' in i && !grouped(i.col))
        refuse(
          new PgError('42803', `column "${relations[i.col.rel]!.alias}.${i.col.field}" must appear in the GROUP BY clause or be used in an aggregate function`),
        );
  } else if (join?.type === 'left')
    for (const o of orderBy)
      if ('col' in o.item && o.item.col.rel !== listed)
        refuse(unsupported(`ORDER BY a column of ${relations[o.item.col.rel]!.alias}, the side of a LEFT JOIN that may be NULL`));

  if (sel['limitOption'] === 'LIMIT_OPTION_WITH_TIES') refuse(unsupported('FETCH … WITH TIES'));
  const bound = (k: string, what: string): Value | undefined => {
    const n = child(sel, k);
    if (!n || child(n, 'A_Const')?.['isnull'] === true) return undefined;
    walk(n);
    return valueIn(n) ?? refuse(unsupported(`${what} other than a number or a parameter`));
  };
  const limit = bound('limitCount', 'LIMIT');
  const offset = bound('limitOffset', 'OFFSET');
  return {
    kind: 'select',
    relations,
    listed,
    join,
    columns,
    where: andOf(where),
    addressed,
    aggregate,
    groupBy,
    orderBy,
    limit,
    offset,
    tested,
    references,
    unknownColumns: [...unknownColumns],
    unsupported: refusal,
  };
}
