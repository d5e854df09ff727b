// What compiled catalog queries are made of: a run (the world, the parameters, the budget of rows
// left), a row's environment, typed expressions, scopes of FROM entries; and the names PostgreSQL
// gives select-list items.

import { child, isNode, list, sval, type Node } from '../ast.js';
import { PgError } from '../protocol.js';
import type { Column, Schema, V, World } from './values.js';

/** The most rows a catalog query may form (joins, scans, subqueries, series) before it is refused. */
export const DEFAULT_CATALOG_BUDGET = 100_000;
export const MAX_DEPTH = 120;

export interface Run {
  readonly world: World;
  readonly params: readonly (string | null)[];
  left: number;
  readonly patterns: Map<string, (s: string) => boolean>;
  /** Indexes of relations' rows by a column, built once per run (plan.ts). */
  readonly indexes: Map<string, Map<string, (readonly V[])[]>>;
}
export interface Env {
  readonly t: (readonly V[] | null)[];
  readonly up: Env | undefined;
  readonly r: Run;
  /** The rows of this row's group (an aggregate reads them). */
  g?: readonly Env[];
  /** The values of the window functions for this row. */
  w?: V[];
  /** The row's output values, once projected (ORDER BY and DISTINCT ON read them by position). */
  o?: V[];
}
export type Ex = (e: Env) => V;
export interface Typed {
  readonly ex: Ex;
  readonly type: number;
  readonly name: string;
  /** A set-returning function: ex returns the array of its rows' values. */
  readonly srf?: boolean;
  /** A column of this level's FROM (a hash join reads it). */
  readonly col?: { readonly src: number; readonly index: number; readonly type: number };
  /** A composite's fields and their types (a field selection takes its type from here). */
  readonly fields?: readonly Column[];
}
export interface Src {
  readonly alias: string;
  readonly columns: readonly Column[];
  /** A catalog relation read through its alias: a column it lacks (a newer version's) is NULL. */
  readonly loose: boolean;
}
export interface Cte {
  readonly columns: readonly Column[];
  readonly query: Query;
}
export interface Scope {
  /** This level's FROM entries by position; undefined where an entry is not visible (outside a join's ON). */
  readonly srcs: readonly (Src | undefined)[];
  readonly using: ReadonlyMap<string, number>;
  readonly up: Scope | undefined;
  readonly ctes: ReadonlyMap<string, Cte>;
}
export interface Opts {
  readonly schema: Schema;
  /** Aggregates are allowed (a grouped select's list, HAVING, ORDER BY). */
  readonly agg: boolean;
  /** Where window functions go; undefined where they are not allowed. */
  readonly wins: WinSlot[] | undefined;
  depth: { n: number };
}
export interface WinSlot {
  readonly fn: string;
  readonly partition: readonly Ex[];
  readonly order: readonly SortKey[];
}
export interface SortKey {
  readonly ex: Ex;
  readonly desc: boolean;
  readonly nullsFirst: boolean;
}

export interface Query {
  readonly columns: readonly Column[];
  /** The rows; `outer` is the enclosing row of a correlated subquery. */
  run(outer: Env | undefined, r: Run): V[][];
}

export const AGGREGATES = new Set(['count', 'sum', 'min', 'max', 'avg', 'array_agg', 'string_agg', 'bool_and', 'bool_or', 'every']);
export const WINDOWS = new Set(['row_number', 'rank', 'dense_rank']);

export const spend = (r: Run, n: number) => {
  r.left -= n;
  if (r.left < 0)
    throw new PgError('54000', 'the catalog query forms too many rows for the cordon wire gateway (joins without conditions, or a long series); narrow it');
};

export function funcName(f: Node | undefined): string {
  return list(f, 'funcname')
    .map(sval)
    .filter((s) => s !== 'pg_catalog')
    .join('.');
}

/** The name PostgreSQL gives a select-list item without an alias (FigureColname). */
export function figureName(n: Node | undefined): string {
  return figure(n)[0];
}

/** A name and how strongly the expression gives it: 2 a name of its own, 1 a cast's type (an outer cast's wins), 0 none. */
function figure(n: Node | undefined): [string, number] {
  const none: [string, number] = ['?column?', 0];
  const [k, v] = Object.entries(n ?? {})[0] ?? ['', undefined];
  const b = isNode(v) ? v : undefined;
  switch (k) {
    case 'ColumnRef': {
      const last = sval(list(b, 'fields').at(-1));
      return last === undefined ? none : [last, 2];
    }
    case 'A_Indirection': {
      const s = list(b, 'indirection')
        .map(sval)
        .filter((x) => x !== undefined)
        .pop();
      return s === undefined ? figure(child(b, 'arg')) : [s, 2];
    }
    case 'FuncCall': {
      const f = list(b, 'funcname').map(sval).pop();
      return f === undefined ? none : [f, 2];
    }
    case 'A_Expr':
      return b?.['kind'] === 'AEXPR_NULLIF' ? ['nullif', 2] : none;
    case 'TypeCast': {
      const inner = figure(child(b, 'arg'));
      const type = list(child(b, 'typeName'), 'names').map(sval).pop();
      return inner[1] <= 1 && type !== undefined ? [type, 1] : inner;
    }
    case 'CollateClause':
      return figure(child(b, 'arg'));
    case 'CaseExpr': {
      // Named by its ELSE where that has a name of its own.
      const d = figure(child(b, 'defresult'));
      return d[1] === 2 ? d : ['case', 1];
    }
    case 'A_ArrayExpr':
      return ['array', 2];
    case 'CoalesceExpr':
      return ['coalesce', 2];
    case 'MinMaxExpr':
      return [b?.['op'] === 'IS_LEAST' ? 'least' : 'greatest', 2];
    case 'SQLValueFunction':
      return [
        String(b?.['op'] ?? '')
          .replace('SVFOP_', '')
          .toLowerCase(),
        2,
      ];
    case 'SubLink': {
      const t = b?.['subLinkType'];
      if (t === 'EXISTS_SUBLINK') return ['exists', 2];
      if (t === 'ARRAY_SUBLINK') return ['array', 2];
      if (t === 'EXPR_SUBLINK') {
        const target = child(list(child(child(b, 'subselect'), 'SelectStmt'), 'targetList')[0], 'ResTarget');
        return [typeof target?.['name'] === 'string' ? (target['name'] as string) : figure(child(target, 'val'))[0], 2];
      }
      return none;
    }
    default:
      return none;
  }
}
