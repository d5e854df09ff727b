// Expressions of a catalog query compiled to functions of a row: column references resolved as
// PostgreSQL resolves them (through enclosing queries), operators, CASE, casts, subqueries, arrays.

import { child, constText, isNode, list, sval, type Node } from '../ast.js';
import { PgError } from '../protocol.js';
import {
  Rec,
  T,
  TYPE_BY_NAME,
  TYPE_BY_OID,
  type V,
  arrayOf,
  asText,
  cast,
  cmp,
  compare,
  elemOf,
  isArrayType,
  quantified,
  toArray,
  toBool,
  toNumber,
  unsupported,
} from './values.js';
import { likeTokens, matcher, regexTokens } from './patterns.js';
import { type Env, type Ex, MAX_DEPTH, type Opts, type Run, type Scope, type Typed, figureName } from './context.js';
import { funcCall, worldCall } from './functions.js';
import { compileSelect } from './select.js';

/** The type a TypeName names: its OID (an array type for `x[]`). */
export function typeOfName(tn: Node | undefined): number {
  const names = list(tn, 'names').map(sval);
  const name = names.filter((s) => s !== 'pg_catalog').join('.');
  const t = TYPE_BY_NAME.get(name) ?? (name === 'regprocedure' ? TYPE_BY_OID.get(2202) : undefined);
  if (!t) throw unsupported(`the type ${name}`);
  return list(tn, 'arrayBounds').length > 0 ? t.array || T.textArray : t.oid;
}

export type Resolved = { depth: number; src: number; col: number; type: number } | { depth: number; loose: true };

/** A column reference: how many levels up, which FROM entry, which column (a qualified name it resolves as PostgreSQL does). */
export function column(s: Scope, fields: readonly string[], depth = 0): Resolved {
  const [first, second] = fields.length >= 3 ? fields.slice(-2) : fields;
  if (second === undefined) {
    const name = first!;
    const found: [number, number][] = [];
    s.srcs.forEach((src, i) => {
      const c = src?.columns.findIndex((x) => x.name === name) ?? -1;
      if (c >= 0) found.push([i, c]);
    });
    const used = s.using.get(name);
    const pick = found.length > 1 && used !== undefined ? found.find(([i]) => i === used) : found.length === 1 ? found[0] : undefined;
    if (found.length > 1 && !pick) throw new PgError('42702', `column reference "${name}" is ambiguous`);
    if (pick) return { depth, src: pick[0], col: pick[1], type: s.srcs[pick[0]]!.columns[pick[1]]!.type };
    if (s.up) return column(s.up, fields, depth + 1);
    throw new PgError('42703', `column "${name}" does not exist`);
  }
  const i = s.srcs.findIndex((src) => src?.alias === first);
  if (i >= 0) {
    const src = s.srcs[i]!;
    const c = src.columns.findIndex((x) => x.name === second);
    if (c >= 0) return { depth, src: i, col: c, type: src.columns[c]!.type };
    if (src.loose) return { depth, loose: true };
    throw new PgError('42703', `column ${first}.${second} does not exist`);
  }
  if (s.up) return column(s.up, fields, depth + 1);
  throw new PgError('42P01', `missing FROM-clause entry for table "${first}"`);
}

/** An A_Const's value (undefined when the node is not a constant). */
export function constant(n: Node | undefined): V | undefined {
  const c = child(n, 'A_Const');
  if (!c) return undefined;
  if (c['isnull'] === true) return null;
  if (child(c, 'ival')) return Number(child(c, 'ival')!['ival'] ?? 0);
  if (child(c, 'fval')) return Number(child(c, 'fval')!['fval'] ?? 0);
  if (child(c, 'boolval')) return child(c, 'boolval')!['boolval'] === true;
  return constText(c);
}

/** A binary operator on two values (neither null): comparisons, patterns, ||, arithmetic, array containment. */
export function operator(op: string, integers = false): ((a: V, b: V, r: Run) => V) | undefined {
  if (['=', '<>', '!=', '<', '>', '<=', '>='].includes(op)) return (a, b, r) => compare(op, cmp(a, b, r.world));
  const pattern = (kind: 'regex' | 'like', ci: boolean, negate: boolean) => (a: V, b: V, r: Run) => {
    const p = String(asText(b));
    const key = `${kind}${ci ? 'i' : ''}:${p}`;
    let m = r.patterns.get(key);
    if (!m) {
      m = matcher(kind === 'regex' ? regexTokens(p) : likeTokens(p), ci);
      r.patterns.set(key, m);
    }
    return m(String(asText(a))) !== negate;
  };
  switch (op) {
    case '~':
      return pattern('regex', false, false);
    case '!~':
      return pattern('regex', false, true);
    case '~*':
      return pattern('regex', true, false);
    case '!~*':
      return pattern('regex', true, true);
    case '~~':
      return pattern('like', false, false);
    case '!~~':
      return pattern('like', false, true);
    case '~~*':
      return pattern('like', true, false);
    case '!~~*':
      return pattern('like', true, true);
    case '||':
      return (a, b) => (Array.isArray(a) || Array.isArray(b) ? [...toArray(a), ...toArray(b)] : `${asText(a)}${asText(b)}`);
    case '+':
      return (a, b) => toNumber(a) + toNumber(b);
    case '-':
      return (a, b) => toNumber(a) - toNumber(b);
    case '*':
      return (a, b) => toNumber(a) * toNumber(b);
    case '/':
      return (a, b) => {
        const d = toNumber(b);
        if (d === 0) throw new PgError('22012', 'division by zero');
        const q = toNumber(a) / d;
        return integers ? Math.trunc(q) : q;
      };
    case '^':
      return (a, b) => toNumber(a) ** toNumber(b);
    case '%':
      return (a, b) => {
        const d = toNumber(b);
        if (d === 0) throw new PgError('22012', 'division by zero');
        return toNumber(a) % d;
      };
    case '&':
      return (a, b) => toNumber(a) & toNumber(b);
    case '|':
      return (a, b) => toNumber(a) | toNumber(b);
    case '#':
      return (a, b) => toNumber(a) ^ toNumber(b);
    case '<<':
      return (a, b) => toNumber(a) << toNumber(b);
    case '>>':
      return (a, b) => toNumber(a) >> toNumber(b);
    case '@>':
      return (a, b, r) => toArray(b).every((x) => toArray(a).some((y) => x !== null && y !== null && cmp(x, y, r.world) === 0));
    case '<@':
      return (a, b, r) => toArray(a).every((x) => toArray(b).some((y) => x !== null && y !== null && cmp(x, y, r.world) === 0));
    case '&&':
      return (a, b, r) => toArray(a).some((x) => toArray(b).some((y) => x !== null && y !== null && cmp(x, y, r.world) === 0));
    default:
      return undefined;
  }
}

const INTEGER_TYPES = new Set<number>([T.int2, T.int4, T.int8]);
export const BOOL_OPS = new Set(['=', '<>', '!=', '<', '>', '<=', '>=', '~', '!~', '~*', '!~*', '~~', '!~~', '~~*', '!~~*', '@>', '<@', '&&']);

export function opType(op: string, l: Typed, r: Typed): number {
  if (BOOL_OPS.has(op)) return T.bool;
  if (op === '||') return isArrayType(l.type) ? l.type : isArrayType(r.type) ? r.type : T.text;
  if (op === '^') return T.float8;
  if ([l.type, r.type].some((t) => t === T.float8 || t === T.float4)) return T.float8;
  if ([l.type, r.type].includes(T.numeric)) return T.numeric;
  if ([l.type, r.type].includes(T.int8)) return T.int8;
  return T.int4;
}

/** A constant pattern is checked when the query is planned: one the gateway cannot match is refused before anything runs. */
export function checkPattern(op: string, rexpr: Node | undefined): void {
  const v = constant(rexpr) ?? constant(child(child(rexpr, 'TypeCast'), 'arg')) ?? constant(child(child(rexpr, 'CollateClause'), 'arg'));
  if (typeof v !== 'string') return;
  if (['~', '!~', '~*', '!~*'].includes(op)) regexTokens(v);
  else if (['~~', '!~~', '~~*', '!~~*'].includes(op)) likeTokens(v);
}

export function expr(n: Node | undefined, s: Scope, o: Opts): Typed {
  if (++o.depth.n > MAX_DEPTH) throw new PgError('54001', 'the catalog query is nested too deeply for the cordon wire gateway');
  try {
    return exprOf(n, s, o);
  } finally {
    o.depth.n--;
  }
}

export function exprOf(n: Node | undefined, s: Scope, o: Opts): Typed {
  const [k, v] = Object.entries(n ?? {})[0] ?? ['', undefined];
  const b = isNode(v) ? v : undefined;
  const name = figureName(n);
  switch (k) {
    case 'A_Const': {
      const c = constant(n) ?? null;
      const type =
        c === null
          ? T.unknown
          : typeof c === 'boolean'
            ? T.bool
            : typeof c === 'number'
              ? child(b, 'fval')
                ? T.numeric
                : Math.abs(c) > 2 ** 31 - 1
                  ? T.int8
                  : T.int4
              : child(b, 'bsval')
                ? T.text
                : T.unknown;
      return { ex: () => c, type, name };
    }
    case 'ColumnRef': {
      const fields = list(b, 'fields');
      if (fields.some((f) => child(f, 'A_Star'))) throw unsupported('* in an expression');
      const ref = column(
        s,
        fields.map((f) => sval(f) ?? ''),
      );
      if ('loose' in ref) return { ex: () => null, type: T.text, name };
      const { depth, src, col, type } = ref;
      const ex: Ex =
        depth === 0
          ? (e) => e.t[src]?.[col] ?? null
          : (e) => {
              let x: Env | undefined = e;
              for (let d = 0; d < depth; d++) x = x?.up;
              return x?.t[src]?.[col] ?? null;
            };
      return { ex, type, name, ...(depth === 0 ? { col: { src, index: col, type } } : {}) };
    }
    case 'ParamRef': {
      const i = Number(b?.['number'] ?? 0);
      return {
        ex: (e) => {
          if (i < 1 || i > e.r.params.length) throw new PgError('08P01', `there is no parameter $${i}`);
          return e.r.params[i - 1] ?? null;
        },
        type: T.unknown,
        name,
      };
    }
    case 'A_Expr':
      return aExpr(b!, s, o, name);
    case 'BoolExpr': {
      const args = list(b, 'args').map((a) => expr(a, s, o).ex);
      const op = b?.['boolop'];
      if (op === 'NOT_EXPR') {
        const a = args[0]!;
        return {
          ex: (e) => {
            const x = a(e);
            return x === null ? null : !toBool(x);
          },
          type: T.bool,
          name,
        };
      }
      const and = op === 'AND_EXPR';
      return {
        ex: (e) => {
          let unknown = false;
          for (const a of args) {
            const x = a(e);
            if (x === null) unknown = true;
            else if (toBool(x) !== and) return !and;
          }
          return unknown ? null : and;
        },
        type: T.bool,
        name,
      };
    }
    case 'NullTest': {
      const a = expr(child(b, 'arg'), s, o).ex;
      const isNull = b?.['nulltesttype'] === 'IS_NULL';
      return { ex: (e) => (a(e) === null) === isNull, type: T.bool, name };
    }
    case 'BooleanTest': {
      const a = expr(child(b, 'arg'), s, o).ex;
      const t = String(b?.['booltesttype'] ?? '');
      return {
        ex: (e) => {
          const x = a(e);
          const val = x === null ? null : toBool(x);
          switch (t) {
            case 'IS_TRUE':
              return val === true;
            case 'IS_NOT_TRUE':
              return val !== true;
            case 'IS_FALSE':
              return val === false;
            case 'IS_NOT_FALSE':
              return val !== false;
            case 'IS_UNKNOWN':
              return val === null;
            default:
              return val !== null;
          }
        },
        type: T.bool,
        name,
      };
    }
    case 'TypeCast': {
      const a = expr(child(b, 'arg'), s, o);
      const type = typeOfName(child(b, 'typeName'));
      if (a.srf) return { ex: (e) => (a.ex(e) as readonly V[]).map((x) => cast(x, type, e.r.world)), type, name, srf: true };
      return { ex: (e) => cast(a.ex(e), type, e.r.world), type, name };
    }
    case 'CollateClause':
      return { ...expr(child(b, 'arg'), s, o), name };
    case 'FuncCall':
      return funcCall(b!, s, o, name);
    case 'CaseExpr': {
      const arg = child(b, 'arg') ? expr(child(b, 'arg'), s, o).ex : undefined;
      const whens = list(b, 'args').map((w) => {
        const cw = child(w, 'CaseWhen');
        return { when: expr(child(cw, 'expr'), s, o).ex, result: expr(child(cw, 'result'), s, o) };
      });
      const def = child(b, 'defresult') ? expr(child(b, 'defresult'), s, o) : undefined;
      const type = [...whens.map((w) => w.result.type), def?.type ?? T.unknown].find((t) => t !== T.unknown) ?? T.unknown;
      return {
        ex: (e) => {
          const test = arg?.(e) ?? null;
          for (const w of whens) {
            const x = w.when(e);
            if (arg ? test !== null && x !== null && cmp(test, x, e.r.world) === 0 : x !== null && toBool(x)) return w.result.ex(e);
          }
          return def ? def.ex(e) : null;
        },
        type,
        name,
      };
    }
    case 'CoalesceExpr':
    case 'MinMaxExpr': {
      const args = list(b, 'args').map((a) => expr(a, s, o));
      const type = args.map((a) => a.type).find((t) => t !== T.unknown) ?? T.unknown;
      if (k === 'CoalesceExpr')
        return {
          ex: (e) => {
            for (const a of args) {
              const x = a.ex(e);
              if (x !== null) return x;
            }
            return null;
          },
          type,
          name,
        };
      const least = b?.['op'] === 'IS_LEAST';
      return {
        ex: (e) => {
          let best: V = null;
          for (const a of args) {
            const x = a.ex(e);
            if (x !== null && (best === null || cmp(x, best, e.r.world) * (least ? -1 : 1) > 0)) best = x;
          }
          return best;
        },
        type,
        name,
      };
    }
    case 'SubLink':
      return subLink(b!, s, o, name);
    case 'A_ArrayExpr': {
      const els = list(b, 'elements').map((x) => expr(x, s, o));
      const et = els.map((x) => x.type).find((t) => t !== T.unknown) ?? T.text;
      return { ex: (e) => els.map((x) => x.ex(e)), type: isArrayType(et) ? et : arrayOf(et), name };
    }
    case 'A_Indirection': {
      const a = expr(child(b, 'arg'), s, o);
      let type = a.type;
      const ops = list(b, 'indirection').map((ind): { field: string } | { index: Ex } => {
        const f = sval(ind);
        if (f !== undefined) {
          type = a.fields?.find((c) => c.name === f)?.type ?? T.text;
          return { field: f };
        }
        const idx = child(ind, 'A_Indices');
        if (idx?.['is_slice'] === true) throw unsupported('an array slice');
        type = isArrayType(type) ? elemOf(type) : T.text;
        return { index: expr(child(idx, 'uidx'), s, o).ex };
      });
      const apply = (value: V, e: Env): V => {
        let x = value;
        for (const op of ops) {
          if (x === null) return null;
          if ('field' in op) x = x instanceof Rec ? (x.values[x.names.indexOf(op.field)] ?? null) : null;
          else {
            const i = op.index(e);
            if (i === null) return null;
            x = toArray(x)[toNumber(i) - 1] ?? null;
          }
        }
        return x;
      };
      // A field of a set-returning function's rows, (_pg_expandarray(a)).n, is itself set-returning.
      if (a.srf) return { ex: (e) => (a.ex(e) as readonly V[]).map((x) => apply(x, e)), type, name, srf: true };
      return { ex: (e) => apply(a.ex(e), e), type, name };
    }
    case 'SQLValueFunction': {
      const op = String(b?.['op'] ?? '');
      const fn: Record<string, string> = {
        SVFOP_CURRENT_USER: 'current_user',
        SVFOP_SESSION_USER: 'current_user',
        SVFOP_USER: 'current_user',
        SVFOP_CURRENT_ROLE: 'current_user',
        SVFOP_CURRENT_CATALOG: 'current_database',
        SVFOP_CURRENT_SCHEMA: 'current_schema',
        SVFOP_CURRENT_TIMESTAMP: 'now',
        SVFOP_LOCALTIMESTAMP: 'now',
      };
      const f = fn[op];
      if (!f) throw unsupported(op.replace('SVFOP_', '').toLowerCase());
      return worldCall(f, [], s, o, name);
    }
    default:
      throw unsupported(k || 'an empty expression');
  }
}

export function aExpr(b: Node, s: Scope, o: Opts, name: string): Typed {
  const kind = String(b['kind'] ?? '');
  const op = list(b, 'name').map(sval).pop() ?? '';
  const lx = child(b, 'lexpr');
  const rx = child(b, 'rexpr');
  switch (kind) {
    case 'AEXPR_OP':
    case 'AEXPR_LIKE':
    case 'AEXPR_ILIKE': {
      const r = expr(rx, s, o);
      if (!lx) {
        if (op !== '-' && op !== '+' && op !== '~') throw unsupported(`the prefix operator ${op}`);
        return {
          ex: (e) => {
            const x = r.ex(e);
            return x === null ? null : op === '~' ? ~toNumber(x) : (op === '-' ? -1 : 1) * toNumber(x);
          },
          type: r.type === T.unknown ? T.numeric : r.type,
          name,
        };
      }
      const l = expr(lx, s, o);
      // Division of integers is integer division, as PostgreSQL's int4 / int4.
      const f = operator(op, [l.type, r.type].every((t) => INTEGER_TYPES.has(t) || t === T.unknown) && [l.type, r.type].some((t) => INTEGER_TYPES.has(t)));
      if (!f) throw unsupported(`the operator ${op}`);
      checkPattern(op, rx);
      return {
        ex: (e) => {
          const x = l.ex(e);
          if (x === null) return null;
          const y = r.ex(e);
          return y === null ? null : f(x, y, e.r);
        },
        type: opType(op, l, r),
        name,
      };
    }
    case 'AEXPR_OP_ANY':
    case 'AEXPR_OP_ALL': {
      const l = expr(lx, s, o);
      const r = expr(rx, s, o);
      const f = operator(op);
      if (!f || !BOOL_OPS.has(op)) throw unsupported(`the operator ${op} with ${kind === 'AEXPR_OP_ANY' ? 'ANY' : 'ALL'}`);
      const any = kind === 'AEXPR_OP_ANY';
      return {
        ex: (e) => {
          const x = l.ex(e);
          const arr = r.ex(e);
          if (arr === null) return null;
          return quantified(x, toArray(arr), (a, c) => f(a, c, e.r) as boolean, any);
        },
        type: T.bool,
        name,
      };
    }
    case 'AEXPR_IN': {
      const l = expr(lx, s, o);
      const items = list(child(rx, 'List'), 'items').map((i) => expr(i, s, o).ex);
      const any = op === '=';
      return {
        ex: (e) =>
          quantified(
            l.ex(e),
            items.map((i) => i(e)),
            (a, c) => compare(op, cmp(a, c, e.r.world)),
            any,
          ),
        type: T.bool,
        name,
      };
    }
    case 'AEXPR_DISTINCT':
    case 'AEXPR_NOT_DISTINCT': {
      const l = expr(lx, s, o).ex;
      const r = expr(rx, s, o).ex;
      const distinct = kind === 'AEXPR_DISTINCT';
      return {
        ex: (e) => {
          const x = l(e);
          const y = r(e);
          const same = x === null || y === null ? x === y : cmp(x, y, e.r.world) === 0;
          return same !== distinct;
        },
        type: T.bool,
        name,
      };
    }
    case 'AEXPR_NULLIF': {
      const l = expr(lx, s, o);
      const r = expr(rx, s, o).ex;
      return {
        ex: (e) => {
          const x = l.ex(e);
          const y = r(e);
          return x !== null && y !== null && cmp(x, y, e.r.world) === 0 ? null : x;
        },
        type: l.type,
        name,
      };
    }
    case 'AEXPR_BETWEEN':
    case 'AEXPR_NOT_BETWEEN': {
      const l = expr(lx, s, o).ex;
      const [lo, hi] = list(child(rx, 'List'), 'items').map((i) => expr(i, s, o).ex);
      const not = kind === 'AEXPR_NOT_BETWEEN';
      return {
        ex: (e) => {
          const x = l(e);
          const a = lo!(e);
          const z = hi!(e);
          if (x === null || a === null || z === null) return null;
          return (cmp(x, a, e.r.world) >= 0 && cmp(x, z, e.r.world) <= 0) !== not;
        },
        type: T.bool,
        name,
      };
    }
    default:
      throw unsupported(`${kind.replace('AEXPR_', '')} ${op}`.trim());
  }
}

export function subLink(b: Node, s: Scope, o: Opts, name: string): Typed {
  const t = String(b['subLinkType'] ?? '');
  const q = compileSelect(child(child(b, 'subselect'), 'SelectStmt') ?? {}, s, o.schema, o.depth);
  switch (t) {
    case 'EXISTS_SUBLINK':
      return { ex: (e) => q.run(e, e.r).length > 0, type: T.bool, name };
    case 'EXPR_SUBLINK':
      return {
        ex: (e) => {
          const rows = q.run(e, e.r);
          if (rows.length > 1) throw new PgError('21000', 'more than one row returned by a subquery used as an expression');
          return rows[0]?.[0] ?? null;
        },
        type: q.columns[0]?.type ?? T.unknown,
        name,
      };
    case 'ARRAY_SUBLINK':
      return { ex: (e) => q.run(e, e.r).map((r) => r[0] ?? null), type: arrayOf(q.columns[0]?.type ?? T.text), name };
    case 'ANY_SUBLINK':
    case 'ALL_SUBLINK': {
      const l = expr(child(b, 'testexpr'), s, o).ex;
      const op = list(b, 'operName').map(sval).pop() ?? '=';
      const f = operator(op);
      if (!f || !BOOL_OPS.has(op)) throw unsupported(`the operator ${op} with a subquery`);
      const any = t === 'ANY_SUBLINK';
      return {
        ex: (e) =>
          quantified(
            l(e),
            q.run(e, e.r).map((r) => r[0] ?? null),
            (a, c) => f(a, c, e.r) as boolean,
            any,
          ),
        type: T.bool,
        name,
      };
    }
    default:
      throw unsupported(`a ${t.replace('_SUBLINK', '').toLowerCase()} subquery`);
  }
}
