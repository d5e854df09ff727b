// Queries of the system catalog (pg_catalog, information_schema) answered from the policy's catalog,
// as PostgreSQL would answer them, for the metadata queries of psql, pgcli, pgJDBC, psycopg,
// node-postgres and postgres.js. A SELECT is routed here when every relation it reads is a catalog
// relation (or it reads none: version(), current_setting()); it is compiled by catalog/select.ts
// when planned and runs over catalog/rows.ts, which holds nothing but what every authenticated
// caller may know: names, types, which field is the key.

import type { Policy } from '../policy/index.js';
import { isNode, type Node } from './ast.js';
import { likeTokens, matcher, regexTokens } from './catalog/patterns.js';
import { CATALOG_SCHEMA, CatalogWorld, type CatalogContext } from './catalog/rows.js';
import { compileSelect, runQuery } from './catalog/select.js';
import { T, typeInfo } from './catalog/values.js';
import { PgError } from './protocol.js';

export type { CatalogContext } from './catalog/rows.js';

/** A catalog query, compiled when it is planned: its columns are known then, its rows when it runs. */
export interface RowsPlan {
  readonly kind: 'rows';
  readonly columns: readonly { readonly name: string; readonly typeOid: number; readonly typlen: number }[];
  /** The rows as wire text, for this session and these parameters. */
  rows(ctx: CatalogContext, params: readonly (string | null)[]): (string | null)[][];
}

const CATALOG_SCHEMAS = new Set(['pg_catalog', 'information_schema']);

/** The deepest parse tree taken (in JSON levels; a level of SQL nesting is two to four): deeper is 54001. */
export const MAX_TREE_DEPTH = 600;

/**
 * Every relation the statement reads, anywhere in it (subqueries, joins, set operations), but the
 * WITH queries it names. Walked without recursion, and refused (54001) past MAX_TREE_DEPTH, so
 * that the planners' recursive walks after it never meet a tree deep enough to exhaust the stack.
 */
export function relationsIn(n: unknown): Node[] {
  const ctes = new Set<string>();
  const all: Node[] = [];
  const stack: [unknown, number][] = [[n, 0]];
  while (stack.length > 0) {
    const [x, depth] = stack.pop()!;
    if (depth > MAX_TREE_DEPTH) throw new PgError('54001', 'statement is too deeply nested for the cordon wire gateway');
    if (Array.isArray(x)) for (const y of x) stack.push([y, depth + 1]);
    else if (isNode(x))
      for (const [k, v] of Object.entries(x)) {
        if (k === 'RangeVar' && isNode(v)) all.push(v);
        else {
          if (k === 'CommonTableExpr' && isNode(v) && typeof v['ctename'] === 'string') ctes.add(v['ctename']);
          stack.push([v, depth + 1]);
        }
      }
  }
  return all.filter((rv) => rv['schemaname'] !== undefined || !ctes.has(String(rv['relname'] ?? '')));
}

/** Whether a RangeVar names a system catalog relation. */
export function isCatalogRelation(rv: Node): boolean {
  const schema = rv['schemaname'];
  const name = String(rv['relname'] ?? '');
  return typeof schema === 'string' ? CATALOG_SCHEMAS.has(schema) : name.startsWith('pg_') || name === 'information_schema';
}

/**
 * A name pattern as psql writes it (processSQLNamePattern for `\d NAME`, `^pg_toast` in `\dt`),
 * matched in linear time as wildcards; other regular expression syntax is refused (0A000).
 */
export function namePattern(pattern: string): (name: string) => boolean {
  return matcher(regexTokens(pattern));
}
/** A LIKE pattern (`%`, `_`, backslash escapes), matched in linear time. */
export const likePattern = (pattern: string): ((s: string) => boolean) => matcher(likeTokens(pattern));

/** Compiles a SELECT whose relations are all system catalog relations (or none): refused now if it names what the catalog has not. */
export function planCatalog(sel: Node, policy: Policy): RowsPlan {
  const q = compileSelect(sel, undefined, CATALOG_SCHEMA);
  return {
    kind: 'rows',
    // A type the gateway does not list in pg_type (a catalog column's pg_lsn, pg_ndistinct …) goes out as text.
    columns: q.columns.map((c) =>
      typeInfo(c.type) ? { name: c.name, typeOid: c.type, typlen: typeInfo(c.type)!.len } : { name: c.name, typeOid: T.text, typlen: -1 },
    ),
    rows: (ctx, params) => runQuery(q, new CatalogWorld(policy, ctx), params),
  };
}
