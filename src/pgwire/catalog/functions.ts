// The functions a catalog query may call: the built-in ones whose answer depends on their arguments
// only, the set-returning ones (unnest, generate_series, _pg_expandarray), aggregates and window
// functions; any other is the World's (rows.ts) to answer.

import { child, isNode, list, type Node } from '../ast.js';
import { PgError } from '../protocol.js';
import {
  Rec,
  T,
  type V,
  type World,
  arrayOf,
  asText,
  cmp,
  distinctBy,
  elemOf,
  formatType,
  isArrayType,
  keyOf,
  toArray,
  toBool,
  toNumber,
  unsupported,
} from './values.js';
import { AGGREGATES, type Ex, type Opts, type Run, type Scope, type SortKey, type Typed, WINDOWS, type WinSlot, funcName, spend } from './context.js';
import { expr } from './expr.js';

/** The built-in functions whose answer depends on their arguments only. */
export const PURE: Record<string, { type: number | ((args: readonly Typed[]) => number); fn: (a: readonly V[], r: Run) => V; lenient?: boolean }> = {
  lower: { type: T.text, fn: ([x]) => String(asText(x!)).toLowerCase() },
  upper: { type: T.text, fn: ([x]) => String(asText(x!)).toUpperCase() },
  length: { type: T.int4, fn: ([x]) => [...String(asText(x!))].length },
  char_length: { type: T.int4, fn: ([x]) => [...String(asText(x!))].length },
  character_length: { type: T.int4, fn: ([x]) => [...String(asText(x!))].length },
  octet_length: { type: T.int4, fn: ([x]) => Buffer.byteLength(String(asText(x!))) },
  substring: { type: T.text, fn: substring },
  substr: { type: T.text, fn: substring },
  replace: {
    type: T.text,
    fn: ([x, a, b]) =>
      String(asText(x!))
        .split(String(asText(a!)))
        .join(String(asText(b!))),
  },
  left: { type: T.text, fn: ([x, n]) => [...String(asText(x!))].slice(0, Math.max(0, toNumber(n!))).join('') },
  right: { type: T.text, fn: ([x, n]) => [...String(asText(x!))].slice(-Math.max(0, toNumber(n!)) || Number.POSITIVE_INFINITY).join('') },
  btrim: { type: T.text, fn: ([x, c]) => trim(String(asText(x!)), c, true, true) },
  ltrim: { type: T.text, fn: ([x, c]) => trim(String(asText(x!)), c, true, false) },
  rtrim: { type: T.text, fn: ([x, c]) => trim(String(asText(x!)), c, false, true) },
  strpos: { type: T.int4, fn: ([x, y]) => String(asText(x!)).indexOf(String(asText(y!))) + 1 },
  position: { type: T.int4, fn: ([x, y]) => String(asText(x!)).indexOf(String(asText(y!))) + 1 },
  starts_with: { type: T.bool, fn: ([x, y]) => String(asText(x!)).startsWith(String(asText(y!))) },
  split_part: {
    type: T.text,
    fn: ([x, d, n]) => {
      const parts = String(asText(x!)).split(String(asText(d!)));
      const i = toNumber(n!);
      return (i > 0 ? parts[i - 1] : parts[parts.length + i]) ?? '';
    },
  },
  quote_ident: { type: T.text, fn: ([x]) => quoteIdent(String(asText(x!))) },
  quote_literal: { type: T.text, fn: ([x]) => `'${String(asText(x!)).replace(/'/g, "''")}'` },
  concat: { type: T.text, lenient: true, fn: (a) => a.map((x) => (x === null ? '' : asText(x))).join('') },
  concat_ws: {
    type: T.text,
    lenient: true,
    fn: ([sep, ...a]) =>
      sep === null || sep === undefined
        ? null
        : a
            .filter((x) => x !== null)
            .map(asText)
            .join(String(asText(sep))),
  },
  array_to_string: {
    type: T.text,
    fn: ([a, sep, nul]) =>
      toArray(a!)
        .flatMap((x) => (x === null ? (nul === undefined || nul === null ? [] : [asText(nul)]) : [asText(x)]))
        .join(String(asText(sep!))),
  },
  string_to_array: { type: T.textArray, fn: ([x, sep]) => (String(asText(x!)) === '' ? [] : String(asText(x!)).split(String(asText(sep!)))) },
  array_length: { type: T.int4, fn: ([a, d]) => (toNumber(d!) === 1 && toArray(a!).length > 0 ? toArray(a!).length : null) },
  array_upper: { type: T.int4, fn: ([a, d]) => (toNumber(d!) === 1 && toArray(a!).length > 0 ? toArray(a!).length : null) },
  array_lower: { type: T.int4, fn: ([a, d]) => (toNumber(d!) === 1 && toArray(a!).length > 0 ? 1 : null) },
  cardinality: { type: T.int4, fn: ([a]) => toArray(a!).length },
  array_remove: {
    type: (a) => a[0]?.type ?? T.textArray,
    lenient: true,
    fn: ([a, v], r) => (a === null ? null : toArray(a!).filter((x) => (v === null ? x !== null : x === null || cmp(x, v!, r.world) !== 0))),
  },
  array_position: {
    type: T.int4,
    lenient: true,
    fn: ([a, v], r) => (a === null ? null : toArray(a!).findIndex((x) => x !== null && v !== null && cmp(x, v!, r.world) === 0) + 1 || null),
  },
  array_append: { type: (a) => a[0]?.type ?? T.textArray, lenient: true, fn: ([a, v]) => [...(a === null ? [] : toArray(a!)), v ?? null] },
  array_cat: {
    type: (a) => a[0]?.type ?? T.textArray,
    lenient: true,
    fn: ([a, b]) => [...(a === null ? [] : toArray(a!)), ...(b === null ? [] : toArray(b!))],
  },
  format_type: { type: T.text, lenient: true, fn: ([oid]) => (oid === null || oid === undefined ? null : formatType(toNumber(oid))) },
  abs: { type: (a) => a[0]?.type ?? T.numeric, fn: ([x]) => Math.abs(toNumber(x!)) },
  pg_size_pretty: { type: T.text, fn: ([x]) => sizePretty(toNumber(x!)) },
};

/** pg_size_pretty(): bytes below 10 kB, then kB, MB, GB, TB, each rounded half away from zero. */
export function sizePretty(bytes: number): string {
  const limit = 10 * 1024;
  if (Math.abs(bytes) < limit) return `${bytes} bytes`;
  const half = (x: number) => Math.trunc((x + (x < 0 ? -1 : 1)) / 2);
  let size = Math.trunc(bytes / 512);
  for (const unit of ['kB', 'MB', 'GB', 'TB']) {
    if (Math.abs(size) < limit * 2 - 1 || unit === 'TB') return `${half(size)} ${unit}`;
    size = Math.trunc(size / 1024);
  }
  return `${half(size)} PB`;
}

export function substring([x, from, count]: readonly V[]): V {
  const chars = [...String(asText(x!))];
  const start = from === undefined ? 1 : toNumber(from);
  if (count === undefined) return chars.slice(Math.max(0, start - 1)).join('');
  const end = start + toNumber(count);
  if (toNumber(count) < 0) throw new PgError('22011', 'negative substring length not allowed');
  return chars.slice(Math.max(0, start - 1), Math.max(0, end - 1)).join('');
}

export function trim(x: string, chars: V | undefined, l: boolean, r: boolean): string {
  const set = chars === undefined || chars === null ? ' ' : String(asText(chars));
  let a = 0;
  let z = x.length;
  while (l && a < z && set.includes(x[a]!)) a++;
  while (r && z > a && set.includes(x[z - 1]!)) z--;
  return x.slice(a, z);
}

export function quoteIdent(s: string): string {
  return /^[a-z_][a-z0-9_$]*$/.test(s) ? s : `"${s.replace(/"/g, '""')}"`;
}

export function worldCall(fn: string, args: readonly Typed[], _s: Scope, o: Opts, name: string): Typed {
  const type = o.schema.functionType(fn);
  if (type === undefined) {
    // Compiled, so that a query over relations the gateway leaves empty still answers; refused when called.
    return {
      ex: () => {
        throw unsupported(`the function ${fn}()`);
      },
      type: T.text,
      name,
    };
  }
  return {
    ex: (e) =>
      e.r.world.call(
        fn,
        args.map((a) => a.ex(e)),
      ),
    type,
    name,
  };
}

export function funcCall(b: Node, s: Scope, o: Opts, name: string): Typed {
  const fn = funcName(b);
  const over = child(b, 'over');
  if (over) return windowCall(fn, b, over, s, o, name);
  if (AGGREGATES.has(fn)) return aggregate(fn, b, s, o, name);
  if (b['agg_star'] === true || b['agg_distinct'] === true || b['agg_order'] !== undefined || b['agg_filter'] !== undefined)
    throw unsupported(`${fn}() as an aggregate`);
  const args = list(b, 'args').map((a) => expr(a, s, o));
  if (args.some((a) => a.srf)) throw unsupported(`a set-returning function inside ${fn}()`);
  const srf = setReturning(fn, args);
  if (srf) return { ...srf, name };
  const pure = PURE[fn];
  if (pure) {
    const type = typeof pure.type === 'function' ? pure.type(args) : pure.type;
    return {
      ex: (e) => {
        const vals = args.map((a) => a.ex(e));
        if (!pure.lenient && vals.some((v) => v === null)) return null;
        return pure.fn(vals, e.r);
      },
      type,
      name,
    };
  }
  return worldCall(fn, args, s, o, name);
}

/** The elements of a (possibly nested) array, in order. */
export function flatten(a: readonly V[]): V[] {
  return a.flatMap((x) => (Array.isArray(x) ? flatten(x) : [x as V]));
}

/** unnest, generate_series, generate_subscripts, information_schema._pg_expandarray: a list of rows' values. */
export function setReturning(fn: string, args: readonly Typed[]): Omit<Typed, 'name'> | undefined {
  const a = args.map((x) => x.ex);
  switch (fn) {
    case 'unnest':
      if (a.length !== 1) throw unsupported('unnest() of more than one array');
      return {
        ex: (e) => {
          const v = a[0]!(e);
          if (v === null) return [];
          const arr = flatten(toArray(v));
          spend(e.r, arr.length);
          return arr;
        },
        type: isArrayType(args[0]!.type) ? elemOf(args[0]!.type) : T.text,
        srf: true,
      };
    case 'generate_series':
      return {
        ex: (e) => {
          const [lo, hi, st] = a.map((x) => x(e));
          if (lo === null || hi === null || st === null) return [];
          const from = toNumber(lo!);
          const to = toNumber(hi!);
          const step = st === undefined ? 1 : toNumber(st);
          if (step === 0) throw new PgError('22023', 'step size cannot equal zero');
          const n = Math.max(0, Math.floor((to - from) / step) + 1);
          spend(e.r, n);
          return Array.from({ length: n }, (_, i) => from + i * step);
        },
        type: args.some((x) => x.type === T.int8) ? T.int8 : T.int4,
        srf: true,
      };
    case 'generate_subscripts':
      return {
        ex: (e) => {
          const v = a[0]!(e);
          if (v === null || toNumber(a[1]!(e) ?? 0) !== 1) return [];
          const n = toArray(v).length;
          spend(e.r, n);
          return Array.from({ length: n }, (_, i) => i + 1);
        },
        type: T.int4,
        srf: true,
      };
    case 'information_schema._pg_expandarray':
      return {
        ex: (e) => {
          const v = a[0]!(e);
          if (v === null) return [];
          const arr = toArray(v);
          spend(e.r, arr.length);
          return arr.map((x, i) => new Rec(['x', 'n'], [x, i + 1]));
        },
        type: T.record,
        fields: [
          { name: 'x', type: isArrayType(args[0]!.type) ? elemOf(args[0]!.type) : T.text },
          { name: 'n', type: T.int4 },
        ],
        srf: true,
      };
    default:
      return undefined;
  }
}

export function sortKeys(nodes: readonly Node[], compileOne: (n: Node | undefined) => Ex): SortKey[] {
  return nodes.map((sb) => {
    const by = child(sb, 'SortBy');
    if (list(by, 'useOp').length > 0) throw unsupported('ORDER BY … USING');
    const desc = by?.['sortby_dir'] === 'SORTBY_DESC';
    const nulls = by?.['sortby_nulls'];
    return { ex: compileOne(child(by, 'node')), desc, nullsFirst: nulls === 'SORTBY_NULLS_FIRST' || (nulls !== 'SORTBY_NULLS_LAST' && desc) };
  });
}

export function sortCompare(keys: readonly SortKey[], world: World) {
  return (a: readonly V[], b: readonly V[]): number => {
    for (let i = 0; i < keys.length; i++) {
      const k = keys[i]!;
      const x = a[i]!;
      const y = b[i]!;
      if (x === null || y === null) {
        if (x === y) continue;
        return (x === null) === k.nullsFirst ? -1 : 1;
      }
      const c = cmp(x, y, world);
      if (c !== 0) return k.desc ? -c : c;
    }
    return 0;
  };
}

export function windowCall(fn: string, b: Node, over: Node, s: Scope, o: Opts, name: string): Typed {
  if (!o.wins) throw new PgError('42P20', 'window functions are not allowed here');
  if (!WINDOWS.has(fn)) throw unsupported(`the window function ${fn}()`);
  if (over['name'] !== undefined || over['refname'] !== undefined) throw unsupported('a named window');
  const inner: Opts = { ...o, wins: undefined };
  const slot: WinSlot = {
    fn,
    partition: list(over, 'partitionClause').map((p) => expr(p, s, inner).ex),
    order: sortKeys(list(over, 'orderClause'), (n) => expr(n, s, inner).ex),
  };
  void b;
  const i = o.wins.push(slot) - 1;
  return { ex: (e) => e.w?.[i] ?? null, type: T.int8, name };
}

export function aggregate(fn: string, b: Node, s: Scope, o: Opts, name: string): Typed {
  if (!o.agg) throw new PgError('42803', `aggregate functions are not allowed here (${fn})`);
  if (b['agg_filter'] !== undefined) throw unsupported('an aggregate FILTER');
  const inner: Opts = { ...o, agg: false, wins: undefined };
  const args = list(b, 'args').map((a) => expr(a, s, inner));
  const star = b['agg_star'] === true;
  const distinct = b['agg_distinct'] === true;
  const order = sortKeys(list(b, 'agg_order'), (n) => expr(n, s, inner).ex);
  const arg = args[0];
  if (!star && !arg) throw new PgError('42883', `function ${fn}() does not exist`);
  const type =
    fn === 'count'
      ? T.int8
      : fn === 'array_agg'
        ? arrayOf(arg!.type)
        : fn === 'string_agg'
          ? T.text
          : fn.startsWith('bool') || fn === 'every'
            ? T.bool
            : fn === 'avg'
              ? T.numeric
              : fn === 'sum'
                ? arg!.type === T.int4 || arg!.type === T.int2
                  ? T.int8
                  : arg!.type
                : arg!.type === T.name
                  ? T.text
                  : arg!.type;
  return {
    ex: (e) => {
      const rows = e.g ?? [];
      if (star) return rows.length;
      let items = rows.map((g) => ({ v: arg!.ex(g), keys: order.map((k) => k.ex(g)), sep: args[1]?.ex(g) ?? null }));
      if (order.length > 0) {
        const c = sortCompare(order, e.r.world);
        items = items.sort((x, y) => c(x.keys, y.keys));
      }
      if (distinct) {
        items = distinctBy(items, (x) => keyOf(x.v));
      }
      const vals = items.map((x) => x.v);
      const present = vals.filter((x) => x !== null);
      switch (fn) {
        case 'count':
          return present.length;
        case 'array_agg':
          return rows.length === 0 ? null : vals;
        case 'string_agg': {
          const kept = items.filter((x) => x.v !== null);
          return kept.length === 0 ? null : kept.map((x, i) => (i === 0 ? '' : String(asText(x.sep ?? ''))) + String(asText(x.v))).join('');
        }
        case 'min':
        case 'max':
          return present.reduce<V>((best, x) => (best === null || cmp(x, best, e.r.world) * (fn === 'min' ? -1 : 1) > 0 ? x : best), null);
        case 'sum':
          return present.length === 0 ? null : present.reduce<number>((t, x) => t + toNumber(x), 0);
        case 'avg':
          return present.length === 0 ? null : present.reduce<number>((t, x) => t + toNumber(x), 0) / present.length;
        case 'bool_and':
        case 'every':
          return present.length === 0 ? null : present.every((x) => toBool(x));
        default:
          return present.length === 0 ? null : present.some((x) => toBool(x));
      }
    },
    type,
    name,
  };
}

/** Whether the expression holds an aggregate of this level (not one inside a subquery). */
export function hasAggregate(n: unknown): boolean {
  if (Array.isArray(n)) return n.some(hasAggregate);
  if (!isNode(n)) return false;
  for (const [k, v] of Object.entries(n)) {
    if (k === 'SubLink') continue;
    if (k === 'FuncCall' && isNode(v) && AGGREGATES.has(funcName(v)) && v['over'] === undefined) return true;
    if (hasAggregate(v)) return true;
  }
  return false;
}
