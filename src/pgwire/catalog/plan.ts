// How a catalog SELECT forms its rows cheaply: the equalities among the AND-ed conditions of its
// WHERE look a relation's rows up by an index (`a.attrelid = c.oid` in a correlated subquery, `c.oid
// = '16384'`) and hash-join the items of its FROM (`FROM pg_namespace n, pg_class c WHERE
// c.relnamespace = n.oid`); an empty item empties the product before anything is formed. The WHERE
// is still applied whole afterwards: these only leave out rows it would refuse. Without them pgJDBC's
// and psql's queries over a policy of a few thousand fields formed millions of rows.

import { child, isNode, list, sval, type Node } from '../ast.js';
import { AGGREGATES, type Env, type Opts, type Run, type Scope, type Typed, WINDOWS, funcName, spend } from './context.js';
import { column, expr } from './expr.js';
import { NUMERIC_TYPES, REG_TYPES, T, type V, asReg, asText, keyOf, toBool, toNumber } from './values.js';

type Tuples = (readonly V[] | null)[];

/** An equality of WHERE, each side compiled, with the FROM entries of this level each side reads. */
export interface Equality {
  readonly sides: readonly [Typed, Typed];
  readonly srcs: readonly [ReadonlySet<number>, ReadonlySet<number>];
}

/** A relation of FROM that an equality lets be looked up: which column, and the value to look for (of the enclosing rows only). */
export interface Probe {
  readonly col: number;
  readonly type: number;
  readonly value: Typed;
}

const SET_RETURNING = new Set(['unnest', 'generate_series', 'generate_subscripts', 'information_schema._pg_expandarray']);

/** The FROM entries of this level an expression reads; undefined when it is not a plain expression (a subquery, an aggregate …). */
function entriesRead(n: unknown, s: Scope, out = new Set<number>()): Set<number> | undefined {
  if (Array.isArray(n)) {
    for (const x of n) if (!entriesRead(x, s, out)) return undefined;
    return out;
  }
  if (!isNode(n)) return out;
  for (const [k, v] of Object.entries(n)) {
    if (k === 'SubLink' || k === 'ParamRef') {
      if (k === 'SubLink') return undefined;
      continue;
    }
    if (k === 'ColumnRef' && isNode(v)) {
      const fields = list(v, 'fields');
      if (fields.some((f) => child(f, 'A_Star'))) return undefined;
      const ref = column(
        s,
        fields.map((f) => sval(f) ?? ''),
      );
      if ('loose' in ref) return undefined;
      if (ref.depth === 0) out.add(ref.src);
      continue;
    }
    if (k === 'FuncCall' && isNode(v)) {
      const f = funcName(v);
      if (v['over'] !== undefined || AGGREGATES.has(f) || WINDOWS.has(f) || SET_RETURNING.has(f)) return undefined;
    }
    if (!entriesRead(v, s, out)) return undefined;
  }
  return out;
}

/** The equalities among the AND-ed conditions of a WHERE. */
export function equalities(where: Node | undefined, s: Scope, o: Opts): Equality[] {
  const conjuncts = (q: Node | undefined): Node[] => {
    const b = child(q, 'BoolExpr');
    return b?.['boolop'] === 'AND_EXPR' ? list(b, 'args').flatMap(conjuncts) : q ? [q] : [];
  };
  return conjuncts(where).flatMap((c): Equality[] => {
    const e = child(c, 'A_Expr');
    if (
      e?.['kind'] !== 'AEXPR_OP' ||
      list(e, 'name')
        .map(sval)
        .join('.')
        .replace(/^pg_catalog\./, '') !== '='
    )
      return [];
    const l = entriesRead(child(e, 'lexpr'), s);
    const r = entriesRead(child(e, 'rexpr'), s);
    if (!l || !r) return [];
    return [{ sides: [expr(child(e, 'lexpr'), s, o), expr(child(e, 'rexpr'), s, o)], srcs: [l, r] }];
  });
}

/** The kind of value a type holds, as equality compares it: a number (and reg* OIDs), text, a boolean; other types are not hashed. */
function kindOf(t: number): string | undefined {
  if (NUMERIC_TYPES.has(t) || (REG_TYPES.has(t) && REG_TYPES.get(t) !== 'regproc')) return 'n';
  if (([T.name, T.text, T.varchar, T.char, 1042] as number[]).includes(t)) return 's';
  return t === T.bool ? 'b' : undefined;
}
export const sameKind = (a: number, b: number): boolean => kindOf(a) !== undefined && kindOf(a) === kindOf(b);

/** An equality of a column of entry `src` to an expression of the enclosing rows or constants, if there is one. */
export function probeOf(src: number, eqs: readonly Equality[]): Probe | undefined {
  for (const { sides, srcs } of eqs)
    for (const i of [0, 1] as const) {
      const c = sides[i].col;
      const other = sides[1 - i]!;
      if (c?.src === src && srcs[i].size === 1 && srcs[1 - i]!.size === 0 && (other.type === T.unknown || sameKind(c.type, other.type)))
        return { col: c.index, type: c.type, value: other };
    }
  return undefined;
}

/** The key under which a value looked for meets the rows of a column of type `type` (as `=` would coerce it); undefined for NULL. */
function probeKey(v: V, type: number, r: Run): string | undefined {
  if (v === null) return undefined;
  const kind = REG_TYPES.get(type);
  if (kind) return keyOf(asReg(kind, v, r.world));
  if (NUMERIC_TYPES.has(type)) return `n${toNumber(v)}`;
  if (type === T.bool) return `b${toBool(v)}`;
  return `s${asText(v)}`;
}

/** The rows of a relation whose column `probe.col` equals the probe's value, through an index built once per run. */
export function lookUp(relation: string, rows: readonly (readonly V[])[], probe: Probe, outer: Env | undefined, r: Run): readonly (readonly V[])[] {
  const key = probeKey(probe.value.ex({ t: [], up: outer, r }), probe.type, r);
  if (key === undefined) return [];
  const name = `${relation}#${probe.col}`;
  let index = r.indexes.get(name);
  if (!index) {
    spend(r, rows.length);
    index = new Map();
    for (const row of rows) {
      const k = keyOf(row[probe.col] ?? null);
      const bucket = index.get(k);
      if (bucket) bucket.push(row);
      else index.set(k, [row]);
    }
    r.indexes.set(name, index);
  }
  return index.get(key) ?? [];
}

/** Row `b`'s entries from..to written over a copy of row `a` (a row of the select's width). */
export function merge(a: Tuples | null, b: Tuples | null, from: number, to: number, width: number): Tuples {
  const row: Tuples = a ? a.slice() : new Array(width).fill(null);
  for (let i = from; i < to; i++) row[i] = b?.[i] ?? null;
  return row;
}

/**
 * The inner join of FROM's items (their rows given, each a row of the select's width with its own
 * entries filled): an empty item gives no rows at once; the items are taken smallest first, each
 * next one hash-joined by an equality to those already taken where there is one, else crossed.
 */
export function joinItems(
  items: readonly { readonly start: number; readonly end: number }[],
  itemRows: readonly Tuples[][],
  eqs: readonly Equality[],
  outer: Env | undefined,
  r: Run,
  width: number,
): Tuples[] {
  if (items.length === 0) return [new Array(width).fill(null)];
  if (itemRows.some((rows) => rows.length === 0)) return [];
  const left = new Set(items.keys());
  const taken = new Set<number>();
  const inTaken = (srcs: ReadonlySet<number>) => srcs.size > 0 && [...srcs].every((s) => [...taken].some((k) => s >= items[k]!.start && s < items[k]!.end));
  const inItem = (srcs: ReadonlySet<number>, k: number) => srcs.size > 0 && [...srcs].every((s) => s >= items[k]!.start && s < items[k]!.end);
  let rows: Tuples[] | undefined;
  while (left.size > 0) {
    let pick: { k: number; eq?: { mine: Typed; theirs: Typed } } | undefined;
    for (const k of [...left].sort((a, b) => itemRows[a]!.length - itemRows[b]!.length)) {
      if (!rows) {
        pick = { k };
        break;
      }
      for (const { sides, srcs } of eqs)
        for (const i of [0, 1] as const)
          if (inItem(srcs[i], k) && inTaken(srcs[1 - i]!) && sameKind(sides[i].type, sides[1 - i]!.type))
            pick ??= { k, eq: { mine: sides[i], theirs: sides[1 - i]! } };
      if (pick) break;
    }
    pick ??= { k: [...left].sort((a, b) => itemRows[a]!.length - itemRows[b]!.length)[0]! };
    const { start, end } = items[pick.k]!;
    const got = itemRows[pick.k]!;
    left.delete(pick.k);
    taken.add(pick.k);
    if (!rows) {
      rows = got;
      continue;
    }
    const next: Tuples[] = [];
    if (pick.eq) {
      const { mine, theirs } = pick.eq;
      spend(r, got.length + rows.length);
      const index = new Map<string, Tuples[]>();
      for (const b of got) {
        const v = mine.ex({ t: b, up: outer, r });
        if (v === null) continue;
        const bucket = index.get(keyOf(v));
        if (bucket) bucket.push(b);
        else index.set(keyOf(v), [b]);
      }
      for (const a of rows) {
        const v = theirs.ex({ t: a, up: outer, r });
        const match = v === null ? undefined : index.get(keyOf(v));
        if (!match) continue;
        spend(r, match.length);
        for (const b of match) next.push(merge(a, b, start, end, width));
      }
    } else {
      // Counted before it is formed: a product past the budget is refused at once.
      spend(r, rows.length * got.length);
      for (const a of rows) for (const b of got) next.push(merge(a, b, start, end, width));
    }
    rows = next;
    if (rows.length === 0) return [];
  }
  return rows ?? [];
}
