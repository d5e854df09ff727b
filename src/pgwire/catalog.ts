// Queries of the system catalog (pg_catalog, information_schema) answered from the policy's catalog,
// enough for psql's \dt, \d and \l and for drivers' queries at connect: datasets are tables of schema
// public, fields their columns with their catalog types, one database. Only what every authenticated
// caller may know goes out — dataset, field and type names, which field is the key — never data.
// A query is recognised by the catalog relations its FROM reads and the conditions psql puts on them
// (an oid, a name pattern, a relkind list); any other catalog query gets no rows, with its columns.

import type { Dataset, FieldType, Policy } from '../policy/index.js';
import { child, constText, isNode, list, sval, type Node } from './ast.js';
import { PgError } from './protocol.js';

/** Rows known when the statement is planned (they depend on the policy only). */
export interface RowsPlan {
  readonly kind: 'rows';
  readonly columns: readonly { readonly name: string; readonly typeOid: number }[];
  readonly rows: readonly (readonly (string | null)[])[];
}

type Cell = string | number | boolean | null;
/** An entity's attributes by the names a query's columns have (lower case). */
type Entity = ReadonlyMap<string, Cell>;

const OWNER = 'cordon';
export const DATABASE = 'cordon';
/** The first OID PostgreSQL gives user objects; dataset i is FIRST_OID + i. */
const FIRST_OID = 16384;
const TYPE_NAME: Record<FieldType, string> = { string: 'text', number: 'double precision', boolean: 'boolean' };
const TYPE_OID: Record<FieldType, number> = { string: 25, number: 701, boolean: 16 };

const CATALOG_SCHEMAS = new Set(['pg_catalog', 'information_schema']);

/** Every relation the statement reads, anywhere in it (subqueries, joins, set operations). */
export function relationsIn(n: unknown, out: Node[] = []): Node[] {
  if (Array.isArray(n)) for (const x of n) relationsIn(x, out);
  else if (isNode(n))
    for (const [k, v] of Object.entries(n)) {
      if (k === 'RangeVar' && isNode(v)) out.push(v);
      else relationsIn(v, out);
    }
  return out;
}

/** Whether a RangeVar names a system catalog relation. */
export function isCatalogRelation(rv: Node): boolean {
  const schema = rv['schemaname'];
  const name = String(rv['relname'] ?? '');
  return typeof schema === 'string' ? CATALOG_SCHEMAS.has(schema) : name.startsWith('pg_') || name === 'information_schema';
}

/** The relations a FROM clause names at its top level, through joins: [name, alias]. */
function fromRelations(nodes: Node[]): [string, string][] {
  return nodes.flatMap((n): [string, string][] => {
    const rv = child(n, 'RangeVar');
    if (rv) {
      const name = String(rv['relname'] ?? '');
      return [[name, String(child(rv, 'alias')?.['aliasname'] ?? name)]];
    }
    const j = child(n, 'JoinExpr');
    if (j) return fromRelations([child(j, 'larg') ?? {}, child(j, 'rarg') ?? {}]);
    return [['', '']];
  });
}

/** The name PostgreSQL gives a select-list item without an alias. */
function columnName(val: Node | undefined): string {
  const [k, v] = Object.entries(val ?? {})[0] ?? ['', undefined];
  const n = isNode(v) ? v : undefined;
  if (k === 'ColumnRef') return list(n, 'fields').map(sval).pop() ?? '?column?';
  if (k === 'FuncCall') return list(n, 'funcname').map(sval).pop() ?? '?column?';
  if (k === 'TypeCast') {
    const inner = columnName(child(n, 'arg'));
    return inner === '?column?' ? (list(child(n, 'typeName'), 'names').map(sval).pop() ?? inner) : inner;
  }
  if (k === 'CaseExpr') return 'case';
  return '?column?';
}

/** A condition's column and constant operand(s), through casts and COLLATE. */
function operands(e: Node): { column: string; values: string[] } | undefined {
  const strip = (n: Node | undefined): Node | undefined => {
    const inner = child(n, 'TypeCast') ?? child(n, 'CollateClause');
    return inner ? strip(child(inner, 'arg')) : n;
  };
  const l = strip(child(e, 'lexpr'));
  const r = strip(child(e, 'rexpr'));
  const [col, val] = child(l, 'ColumnRef') ? [l, r] : [r, l];
  const column = list(child(col, 'ColumnRef'), 'fields').map(sval).pop();
  const items = child(val, 'List') ? list(child(val, 'List'), 'items').map(strip) : [val];
  const values = items.map((i) => (child(i, 'A_Const') ? constText(child(i, 'A_Const')) : undefined));
  if (column === undefined || values.some((v) => v === undefined || v === null)) return undefined;
  return { column, values: values as string[] };
}

/** The conditions of a WHERE joined by AND that can narrow an answer: column, operator, constants. */
function conditions(where: Node | undefined): { column: string; op: string; values: string[] }[] {
  if (!where) return [];
  const b = child(where, 'BoolExpr');
  if (b) return b['boolop'] === 'AND_EXPR' ? list(b, 'args').flatMap(conditions) : [];
  const e = child(where, 'A_Expr');
  const o = e && operands(e);
  if (!e || !o) return [];
  const op = e['kind'] === 'AEXPR_IN' ? 'in' : (list(e, 'name').map(sval).pop() ?? '');
  return [{ ...o, op }];
}

/** The longest name pattern taken (psql's are a name or two with wildcards). */
const MAX_PATTERN = 512;

/**
 * A name pattern as psql writes it (processSQLNamePattern for `\d NAME`, `^pg_toast` in `\dt`):
 * literal characters, `.*` for `*`, `.` for `?`, backslash escapes, and `^`/`$` anchors around an
 * optional group. Matched in linear time
 * by wildcard matching, never handed to a backtracking regular expression engine (a pattern of
 * nested `.*` from any caller would hold the whole process). Other regular expression syntax is
 * refused (0A000).
 */
export function namePattern(pattern: string): (name: string) => boolean {
  if (pattern.length > MAX_PATTERN) throw new PgError('54000', `a name pattern is at most ${MAX_PATTERN} characters`);
  // Anchors as psql writes them: `^(name)$` for a name, `^pg_toast` for a prefix; a side without its
  // anchor matches any run there.
  let p = pattern;
  const start = p.startsWith('^');
  if (start) p = p.slice(1);
  const end = p.endsWith('$') && !p.endsWith('\\$');
  if (end) p = p.slice(0, -1);
  if (p.startsWith('(') && p.endsWith(')')) p = p.slice(1, -1);
  // Tokens: a literal character, ANY (one character) or STAR (any run).
  const tokens: (string | 0 | 1)[] = start ? [] : [1];
  for (let i = 0; i < p.length; i++) {
    const c = p[i]!;
    if (c === '\\') {
      if (i + 1 >= p.length) throw new PgError('2201B', 'invalid regular expression: a trailing backslash');
      tokens.push(p[++i]!);
    } else if (c === '.' && p[i + 1] === '*') {
      if (tokens.at(-1) !== 1) tokens.push(1);
      i++;
    } else if (c === '.') tokens.push(0);
    else if ('()|[]{}+?*^$'.includes(c))
      throw new PgError('0A000', `the cordon wire gateway takes name patterns as psql writes them; ${JSON.stringify(c)} is other regular expression syntax`);
    else tokens.push(c);
  }
  if (!end && tokens.at(-1) !== 1) tokens.push(1);
  return (name) => {
    // Wildcard matching with one star to return to: O(name × pattern) at worst, no backtracking blow-up.
    let n = 0;
    let t = 0;
    let star = -1;
    let mark = 0;
    while (n < name.length) {
      const tok = tokens[t];
      if (t < tokens.length && (tok === 0 || tok === name[n])) {
        n++;
        t++;
      } else if (tok === 1) {
        star = t++;
        mark = n;
      } else if (star >= 0) {
        t = star + 1;
        n = ++mark;
      } else return false;
    }
    while (tokens[t] === 1) t++;
    return t === tokens.length;
  };
}

/** Whether `value` passes the condition (`~` takes a name pattern as psql writes it). */
function passes(value: string, op: string, values: string[]): boolean {
  if (op === '=' || op === 'in') return values.includes(value);
  if (op === '<>' || op === '!=') return !values.includes(value);
  if (op === '~' || op === '!~') return namePattern(values[0]!)(value) === (op === '~');
  return true;
}

function tables(policy: Policy): { d: Dataset; oid: number; entity: Map<string, Cell> }[] {
  return [...policy.datasets.values()].map((d, i) => {
    const oid = FIRST_OID + i;
    const entity = new Map<string, Cell>([
      ['oid', oid],
      ['schema', 'public'],
      ['nspname', 'public'],
      ['table_schema', 'public'],
      ['name', d.name],
      ['relname', d.name],
      ['table_name', d.name],
      ['type', 'table'],
      ['relkind', 'r'],
      ['owner', OWNER],
      ['relchecks', 0],
      ['relnatts', d.fields.size],
      ['relpersistence', 'p'],
      ['relreplident', 'd'],
      ['amname', 'heap'],
      ['reltablespace', 0],
      ['description', null],
    ]);
    for (const b of ['relhasindex', 'relhasrules', 'relhastriggers', 'relrowsecurity', 'relforcerowsecurity', 'relhasoids', 'relispartition'])
      entity.set(b, false);
    return { d, oid, entity };
  });
}

function columnsOf(d: Dataset, oid: number): Entity[] {
  return [...d.fields.values()].map(
    (f, i) =>
      new Map<string, Cell>([
        ['attrelid', oid],
        ['attname', f.name],
        ['column_name', f.name],
        ['attnum', i + 1],
        ['atttypid', TYPE_OID[f.type]],
        ['format_type', TYPE_NAME[f.type]],
        ['data_type', TYPE_NAME[f.type]],
        ['attnotnull', f.name === d.key],
        ['is_nullable', f.name === d.key ? 'NO' : 'YES'],
        ['attisdropped', false],
        ['attstorage', f.type === 'string' ? 'x' : 'p'],
        ['attidentity', ''],
        ['attgenerated', ''],
      ]),
  );
}

const DATABASE_ENTITY: Entity = new Map<string, Cell>([
  ['name', DATABASE],
  ['datname', DATABASE],
  ['owner', OWNER],
  ['encoding', 'UTF8'],
  ['collate', 'C'],
  ['datcollate', 'C'],
  ['ctype', 'C'],
  ['datctype', 'C'],
  ['locale provider', 'libc'],
  ['datallowconn', true],
]);

/** Answers a SELECT whose relations are all system catalog relations. */
export function planCatalog(sel: Node, policy: Policy): RowsPlan {
  const targets = list(sel, 'targetList').map((t) => child(t, 'ResTarget') ?? {});
  const names = targets.map((t) => (typeof t['name'] === 'string' ? (t['name'] as string) : columnName(child(t, 'val'))));
  const from = fromRelations(list(sel, 'fromClause')).map(([name]) => name);
  const where = conditions(child(sel, 'whereClause'));
  const setOp = sel['op'] !== undefined && sel['op'] !== 'SETOP_NONE';
  let entities: Entity[] = [];
  if (!setOp && from.length > 0 && from.every((r) => r === 'pg_class' || r === 'pg_namespace' || r === 'pg_am')) {
    entities = tables(policy)
      .filter(({ entity }) =>
        where.every((c) => {
          // Every dataset is a table (relkind r): a relkind list without r asks for something else.
          if (c.column === 'relkind') return (c.op !== 'in' && c.op !== '=') || c.values.includes('r');
          const v = entity.get(c.column);
          return v === undefined || passes(String(v), c.op, c.values);
        }),
      )
      .map((t) => t.entity);
  } else if (!setOp && from.length === 1 && from[0] === 'pg_attribute') {
    entities = tables(policy)
      .flatMap(({ d, oid }) => columnsOf(d, oid))
      .filter((a) => where.every((c) => (c.column !== 'attrelid' && c.column !== 'attname') || passes(String(a.get(c.column)), c.op, c.values)));
  } else if (!setOp && from.length === 1 && from[0] === 'pg_database') {
    entities = where.every((c) => c.column !== 'datname' || passes(DATABASE, c.op, c.values)) ? [DATABASE_ENTITY] : [];
  } else if (!setOp && from.length === 1 && from[0] === 'tables') {
    entities = tables(policy)
      .filter(({ entity }) => where.every((c) => !['table_name', 'table_schema'].includes(c.column) || passes(String(entity.get(c.column)), c.op, c.values)))
      .map((t) => t.entity);
  } else if (!setOp && from.length === 1 && from[0] === 'columns') {
    entities = tables(policy)
      .flatMap(({ d, oid }) => columnsOf(d, oid).map((a) => new Map([...a, ['table_schema', 'public'], ['table_name', d.name]])))
      .filter((a) => where.every((c) => !['table_name', 'table_schema', 'column_name'].includes(c.column) || passes(String(a.get(c.column)), c.op, c.values)));
  }
  const cells = entities.map((e) =>
    targets.map((t, i): Cell => {
      const c = child(child(t, 'val'), 'A_Const');
      if (c) return c['isnull'] === true ? null : child(c, 'boolval') ? child(c, 'boolval')!['boolval'] === true : constText(c);
      return e.get(names[i]!.toLowerCase()) ?? null;
    }),
  );
  const columns = names.map((name, i) => {
    const v = cells.map((r) => r[i]).find((x) => x !== null && x !== undefined);
    const typeOid = typeof v === 'boolean' ? 16 : typeof v === 'number' ? (/oid$|relid$/.test(name) ? 26 : 23) : 25;
    return { name, typeOid };
  });
  const rows = cells.map((r) => r.map((v) => (v === null ? null : typeof v === 'boolean' ? (v ? 't' : 'f') : String(v))));
  return { kind: 'rows', columns, rows };
}
