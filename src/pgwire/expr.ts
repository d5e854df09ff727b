// Conditions of the SQL the wire gateway answers (WHERE, the extra conditions of a join's ON): their
// shape as planned, bound to a query's parameters and the columns' declared types, and evaluated
// with SQL's three-valued logic on a row's values. Only columns the caller may filter on reach an
// evaluation (execute.ts checks that before anything is read), so a condition never tests a
// protected value.

import { PgError } from './protocol.js';

/** A value in a condition, LIMIT or OFFSET: a literal from the SQL text, or parameter $n (1-based), bound later as a value. */
export type Value = { readonly literal: string | null } | { readonly param: number };

/** A column of relation `rel` (its place in FROM). */
export interface ColRef {
  readonly rel: number;
  readonly field: string;
}

export type Operand = { readonly col: ColRef } | Value;
export type CmpOp = '=' | '<>' | '<' | '<=' | '>' | '>=';

export type Expr =
  | { readonly k: 'and' | 'or'; readonly args: readonly Expr[] }
  | { readonly k: 'not'; readonly arg: Expr }
  | { readonly k: 'cmp'; readonly op: CmpOp; readonly l: Operand; readonly r: Operand }
  | { readonly k: 'in'; readonly col: ColRef; readonly values: readonly Value[] }
  | { readonly k: 'isnull'; readonly col: ColRef }
  | { readonly k: 'like'; readonly col: ColRef; readonly pattern: Value; readonly escape: Value | undefined; readonly ci: boolean }
  /** IS TRUE / IS FALSE / IS UNKNOWN (is: null) of a boolean column: never NULL itself. */
  | { readonly k: 'truth'; readonly col: ColRef; readonly is: boolean | null }
  /** A boolean column used as a condition. */
  | { readonly k: 'col'; readonly col: ColRef }
  | { readonly k: 'const'; readonly value: boolean | null };

/** A stored or disclosed cell as a condition sees it (undefined and null are both SQL NULL). */
export type Cell = string | number | boolean | null | undefined;
/** A row's cell of column `c`. */
export type Env = (c: ColRef) => Cell;
/** A bound condition: true, false or null (unknown); a row passes only on true. */
export type Predicate = (env: Env) => boolean | null;

/** What binding needs to know: each column's declared type, and how a value's text becomes a value of that type (22P02 when it is not one). */
export interface BindContext {
  typeOf(c: ColRef): 'string' | 'number' | 'boolean';
  /** The text of a value: the literal, or the parameter as bound (null: SQL NULL). */
  text(v: Value): string | null;
  /** `text` as a value of column `c`'s type; throws (22P02) when it is not one. */
  typed(c: ColRef, text: string): string | number | boolean;
  /** A column's name for messages (dataset.field). */
  nameOf(c: ColRef): string;
}

const isCol = (o: Operand): o is { readonly col: ColRef } => 'col' in o;

/** Every column `e` names, in order of appearance. */
export function columnsOf(e: Expr | undefined, out: ColRef[] = []): ColRef[] {
  if (!e) return out;
  switch (e.k) {
    case 'and':
    case 'or':
      for (const a of e.args) columnsOf(a, out);
      break;
    case 'not':
      columnsOf(e.arg, out);
      break;
    case 'cmp':
      for (const o of [e.l, e.r]) if (isCol(o)) out.push(o.col);
      break;
    case 'const':
      break;
    default:
      out.push(e.col);
  }
  return out;
}

/** The conjuncts of `e` (its top-level AND). */
export function conjuncts(e: Expr | undefined): readonly Expr[] {
  if (!e) return [];
  return e.k === 'and' ? e.args.flatMap(conjuncts) : [e];
}

const and3 = (a: boolean | null, b: boolean | null): boolean | null => (a === false || b === false ? false : a === null || b === null ? null : true);
const or3 = (a: boolean | null, b: boolean | null): boolean | null => (a === true || b === true ? true : a === null || b === null ? null : false);

/** Binds `e` to its values: each value typed as the column it is compared with. Throws PgError (22P02, 42883, 22025) on a value or operator that does not fit. */
export function bind(e: Expr | undefined, ctx: BindContext): Predicate {
  if (!e) return () => true;
  switch (e.k) {
    case 'const':
      return () => e.value;
    case 'and':
    case 'or': {
      const parts = e.args.map((a) => bind(a, ctx));
      const join = e.k === 'and' ? and3 : or3;
      return (env) => {
        let acc: boolean | null = e.k === 'and';
        for (const p of parts) {
          acc = join(acc, p(env));
          if (acc === (e.k === 'or')) return acc;
        }
        return acc;
      };
    }
    case 'not': {
      const p = bind(e.arg, ctx);
      return (env) => {
        const v = p(env);
        return v === null ? null : !v;
      };
    }
    case 'isnull':
      return (env) => isNull(env(e.col));
    case 'col': {
      if (ctx.typeOf(e.col) !== 'boolean') throw new PgError('42804', `argument of WHERE must be type boolean, not the column ${ctx.nameOf(e.col)}`);
      return (env) => {
        const v = env(e.col);
        return typeof v === 'boolean' ? v : null;
      };
    }
    case 'truth': {
      if (ctx.typeOf(e.col) !== 'boolean') throw new PgError('42883', `IS TRUE/FALSE/UNKNOWN needs a boolean, and ${ctx.nameOf(e.col)} is not one`);
      return (env) => {
        const v = env(e.col);
        return e.is === null ? typeof v !== 'boolean' : v === e.is;
      };
    }
    case 'in': {
      // A set of the values (of the column's type, so `===` is their equality): a long list costs one look-up a row.
      const values = e.values.map((v) => typedOrNull(e.col, v, ctx));
      const set = new Set(values.filter((v) => !isNull(v)));
      const hasNull = values.some(isNull);
      const type = ctx.typeOf(e.col);
      return (env) => {
        const x = env(e.col);
        // NULL, or a stored value of another type than the column's: unknown, as a comparison of it is.
        if (isNull(x) || typeof x !== type) return null;
        return set.has(x) ? true : hasNull ? null : false;
      };
    }
    case 'cmp': {
      const [l, r] = [e.l, e.r];
      if (isCol(l) && isCol(r)) {
        if (ctx.typeOf(l.col) !== ctx.typeOf(r.col))
          throw new PgError('42883', `operator does not exist: ${ctx.typeOf(l.col)} ${e.op} ${ctx.typeOf(r.col)} (${ctx.nameOf(l.col)}, ${ctx.nameOf(r.col)})`);
        return (env) => compareBy(e.op, env(l.col), env(r.col));
      }
      if (isCol(l) || isCol(r)) {
        const col = isCol(l) ? l.col : (r as { col: ColRef }).col;
        const v = typedOrNull(col, (isCol(l) ? r : l) as Value, ctx);
        return isCol(l) ? (env) => compareBy(e.op, env(col), v) : (env) => compareBy(e.op, v, env(col));
      }
      throw new PgError('0A000', 'a comparison without a column is not supported by the cordon wire gateway');
    }
    case 'like': {
      if (ctx.typeOf(e.col) !== 'string')
        throw new PgError('42883', `operator does not exist: ${ctx.typeOf(e.col)} ${e.ci ? '~~*' : '~~'} text (${ctx.nameOf(e.col)} is not text)`);
      const pattern = ctx.text(e.pattern);
      const esc = e.escape === undefined ? '\\' : ctx.text(e.escape);
      if (pattern === null || esc === null) return () => null;
      const match = likeMatcher(pattern, esc, e.ci);
      return (env) => {
        const v = env(e.col);
        return typeof v === 'string' ? match(v) : null;
      };
    }
  }
}

function typedOrNull(c: ColRef, v: Value, ctx: BindContext): Cell {
  const t = ctx.text(v);
  return t === null ? null : ctx.typed(c, t);
}

const isNull = (v: Cell): boolean => v === null || v === undefined;

function compareBy(op: CmpOp, a: Cell, b: Cell): boolean | null {
  const c = compareCells(a, b);
  if (c === undefined) return null;
  switch (op) {
    case '=':
      return c === 0;
    case '<>':
      return c !== 0;
    case '<':
      return c < 0;
    case '<=':
      return c <= 0;
    case '>':
      return c > 0;
    case '>=':
      return c >= 0;
  }
}

/** Two cells of one type compared (strings by code point, as PostgreSQL's "C" collation orders UTF-8); undefined when either is NULL or their types differ. */
export function compareCells(a: Cell, b: Cell): number | undefined {
  if (isNull(a) || isNull(b) || typeof a !== typeof b) return undefined;
  if (typeof a === 'string') return compareText(a, b as string);
  if (typeof a === 'number') return a < (b as number) ? -1 : a > (b as number) ? 1 : 0;
  return Number(a) - Number(b as boolean);
}

/** Code point order: UTF-16 order, except that surrogate pairs (above U+FFFF) sort after U+E000..U+FFFF. */
export function compareText(a: string, b: string): number {
  if (a === b) return 0;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x === y) continue;
    if (x >= 0xd800 || y >= 0xd800) {
      x = x >= 0xe000 ? x - 0x800 : x >= 0xd800 ? x + 0x2000 : x;
      y = y >= 0xe000 ? y - 0x800 : y >= 0xd800 ? y + 0x2000 : y;
    }
    return x - y;
  }
  return a.length - b.length;
}

/**
 * The order of a sort key: NULLs first or last as asked, values by `compareCells`, values of
 * another type than the column's (stored before a type was declared) after the others.
 */
export function compareForSort(a: Cell, b: Cell, desc: boolean, nullsFirst: boolean): number {
  const an = isNull(a);
  const bn = isNull(b);
  if (an || bn) return an && bn ? 0 : an === nullsFirst ? -1 : 1;
  const c = compareCells(a, b);
  if (c === undefined) {
    const rank = (v: Cell) => ['boolean', 'number', 'string'].indexOf(typeof v);
    return rank(a) - rank(b);
  }
  return desc ? -c : c;
}

type Token = { readonly any: true } | { readonly one: true } | { readonly text: string };

/**
 * A LIKE pattern as a matcher: `%` any run of characters, `_` one character, the escape character
 * (backslash unless ESCAPE says otherwise; none when it is empty) taking the next one literally.
 * Matching takes at most (pattern length × value length) steps, whatever the pattern: no
 * backtracking blow-up for a client to trigger.
 */
export function likeMatcher(pattern: string, escapeChar: string, ci: boolean): (value: string) => boolean {
  // ILIKE: pattern and value lowercased whole (so a character whose lowercase is two stays two on both sides).
  const esc = [...(ci ? escapeChar.toLowerCase() : escapeChar)];
  if (esc.length > 1) throw new PgError('22019', 'invalid escape string: it must be empty or one character');
  const tokens: Token[] = [];
  const chars = [...(ci ? pattern.toLowerCase() : pattern)];
  for (let i = 0; i < chars.length; i++) {
    const c = chars[i]!;
    if (esc.length === 1 && c === esc[0]) {
      if (i + 1 >= chars.length) throw new PgError('22025', 'LIKE pattern must not end with escape character');
      tokens.push({ text: chars[++i]! });
    } else if (c === '%') {
      if (!('any' in (tokens[tokens.length - 1] ?? {}))) tokens.push({ any: true });
    } else if (c === '_') tokens.push({ one: true });
    else tokens.push({ text: c });
  }
  // A value shorter than the characters the pattern needs cannot match: so a pattern is walked only
  // against values at least about half its length, and matching costs at most (value length)² steps.
  const needs = tokens.filter((t) => !('any' in t)).length;
  return (value) => {
    const v = [...(ci ? value.toLowerCase() : value)];
    if (v.length < needs) return false;
    // Greedy with one resume point (the last %): each % moves the resume point forward for good.
    let p = 0;
    let s = 0;
    let starP = -1;
    let starS = 0;
    while (s < v.length) {
      const t = tokens[p];
      if (t !== undefined && 'any' in t) {
        starP = p++;
        starS = s;
      } else if (t !== undefined && ('one' in t || t.text === v[s])) {
        p++;
        s++;
      } else if (starP >= 0) {
        p = starP + 1;
        s = ++starS;
      } else return false;
    }
    while (p < tokens.length && 'any' in tokens[p]!) p++;
    return p === tokens.length;
  };
}
