// SQL to plans: PostgreSQL's own parser (libpg-query) reads the text, and this file accepts the
// small language the wire gateway answers — SELECT of a dataset's columns with equality filters
// joined by AND, ORDER BY the key, LIMIT — plus the session statements clients send at connect.
// Anything else is refused with 0A000 naming the construct. Planning reads no data and knows no
// caller: whether a column may be filtered on is decided when the plan runs, before anything is read.

import { loadModule, parseSync } from 'libpg-query';
import type { Dataset, Policy } from '../policy/index.js';
import { child, constText, isNode, list, sval, type Node } from './ast.js';
import { isCatalogRelation, planCatalog, relationsIn, type RowsPlan } from './catalog.js';
import { PgError } from './protocol.js';
import { planSessionStatement, type SessionPlan } from './settings.js';

/** A value in a condition or LIMIT: a literal from the SQL text, or parameter $n (1-based), bound later as a value. */
export type Value = { readonly literal: string } | { readonly param: number };

export interface Condition {
  readonly column: string;
  readonly value: Value;
}

export interface OutputColumn {
  /** The name the client sees (the alias, or the field's name). */
  readonly name: string;
  readonly field: string;
}

export interface SelectPlan {
  readonly kind: 'select';
  readonly dataset: Dataset;
  readonly columns: readonly OutputColumn[];
  readonly where: readonly Condition[];
  /** Columns the query's result depends on besides the projection (WHERE, ORDER BY): each must be one the caller may filter on. */
  readonly tested: readonly string[];
  /** Columns named that the dataset does not have (42703, told before anything else). */
  readonly unknownColumns: readonly string[];
  /** A construct the gateway does not answer yet (0A000), told after the column checks. */
  readonly unsupported: PgError | undefined;
  readonly orderByKey: boolean;
  readonly limit: Value | undefined;
}

export type Plan =
  | SelectPlan
  | { readonly kind: 'values'; readonly columns: readonly { readonly name: string; readonly value: ConstValue }[] }
  /** A query of the system catalog, answered from the policy's catalog (catalog.ts). */
  | RowsPlan
  /** SET, SHOW and transaction statements (settings.ts). */
  | SessionPlan;

/** A constant select-list item: a literal, or a session function answered when the plan runs. */
export type ConstValue =
  | { readonly text: string | null }
  | { readonly fn: 'version' | 'current_user' | 'current_database' | 'current_schema' | 'setting'; readonly arg?: string };

export interface Parsed {
  readonly plan: Plan;
  /** The highest parameter number ($n) the statement uses. */
  readonly params: number;
}

let loaded: Promise<void> | undefined;
/** Loads the parser (WebAssembly); MUST have resolved before `parseStatements` is called. */
export function loadParser(): Promise<void> {
  loaded ??= loadModule();
  return loaded;
}

const unsupported = (what: string) => new PgError('0A000', `${what} is not supported by the cordon wire gateway`);

/** The statements of `sql`, planned against the policy's catalog. Throws PgError 42601 when it does not parse, 0A000/42P01 when not answerable. */
export function parseStatements(sql: string, policy: Policy): Parsed[] {
  let tree: { stmts?: { stmt?: Node }[] };
  try {
    tree = parseSync(sql) as typeof tree;
  } catch (err) {
    throw new PgError('42601', err instanceof Error ? err.message : 'syntax error');
  }
  return (tree.stmts ?? []).map((s) => {
    const params = { max: 0 };
    const plan = planStatement(s.stmt ?? {}, policy, params);
    return { plan, params: params.max };
  });
}

function planStatement(stmt: Node, policy: Policy, params: { max: number }): Plan {
  const kind = Object.keys(stmt)[0] ?? '';
  const body = child(stmt, kind);
  switch (kind) {
    case 'SelectStmt':
      return planSelect(body!, policy, params);
    case 'VariableSetStmt':
    case 'VariableShowStmt':
    case 'TransactionStmt':
      return planSessionStatement(kind, body);
    case 'InsertStmt':
    case 'UpdateStmt':
    case 'DeleteStmt':
    case 'MergeStmt':
      throw unsupported(`${kind.replace('Stmt', '').toUpperCase()} (writes go through the HTTP data API for now)`);
    default:
      throw unsupported(`the statement ${kind.replace(/Stmt$/, '') || 'given'}`);
  }
}

function planSelect(sel: Node, policy: Policy, params: { max: number }): Plan {
  const rels = relationsIn(sel);
  // The system catalog, and SELECTs of no relation (version(), current_setting(), 1): catalog.ts.
  if (rels.every(isCatalogRelation)) {
    const count = (n: unknown): void => {
      if (Array.isArray(n)) for (const x of n) count(x);
      else if (isNode(n))
        for (const [k, v] of Object.entries(n)) {
          if (k === 'ParamRef' && isNode(v)) params.max = Math.max(params.max, Number(v['number'] ?? 0));
          else count(v);
        }
    };
    count(sel);
    return planCatalog(sel, policy);
  }
  const clauses: [string, string][] = [
    ['withClause', 'WITH'],
    ['intoClause', 'SELECT INTO'],
    ['distinctClause', 'DISTINCT'],
    ['groupClause', 'GROUP BY'],
    ['havingClause', 'HAVING'],
    ['windowClause', 'WINDOW'],
    ['lockingClause', 'FOR UPDATE/SHARE'],
    ['valuesLists', 'VALUES'],
    ['limitOffset', 'OFFSET'],
  ];
  for (const [k, what] of clauses) if (sel[k] !== undefined) throw unsupported(what);
  if (sel['op'] !== undefined && sel['op'] !== 'SETOP_NONE') throw unsupported(String(sel['op']).replace('SETOP_', ''));
  const from = list(sel, 'fromClause');
  const targets = list(sel, 'targetList').map((t) => child(t, 'ResTarget') ?? {});
  if (from.length === 0) return planValues(targets, sel);
  if (from.length > 1) throw unsupported('a join (more than one table in FROM)');
  const range = from[0]!;
  const rv = child(range, 'RangeVar');
  if (!rv) {
    const k = Object.keys(range)[0] ?? '';
    throw unsupported(
      k === 'JoinExpr' ? 'JOIN' : k === 'RangeSubselect' ? 'a subquery in FROM' : k === 'RangeFunction' ? 'a function in FROM' : `${k} in FROM`,
    );
  }
  const schema = rv['schemaname'];
  const relname = String(rv['relname'] ?? '');
  if (schema === 'pg_catalog' || schema === 'information_schema' || (schema === undefined && relname.startsWith('pg_')))
    throw unsupported(`the system catalog ${schema === undefined ? '' : `${String(schema)}.`}${relname}`);
  if (schema !== undefined && schema !== 'public') throw new PgError('42P01', `relation "${String(schema)}.${relname}" does not exist`);
  const d = policy.datasets.get(relname);
  if (!d) throw new PgError('42P01', `relation "${relname}" does not exist`);
  const alias = String(child(rv, 'alias')?.['aliasname'] ?? relname);
  const unknownColumns = new Set<string>();
  /** The field a ColumnRef names (checked against the dataset later); undefined for `*`. */
  const columnOf = (ref: Node): string | undefined => {
    const fields = list(ref, 'fields');
    const star = fields.some((f) => child(f, 'A_Star'));
    const names = fields.map(sval);
    if (names.length === 2 && names[0] !== alias) throw new PgError('42P01', `missing FROM-clause entry for table "${names[0]}"`);
    if (names.length > 2) throw unsupported('a column reference with more than two parts');
    if (star) return undefined;
    const name = names[names.length - 1]!;
    if (!d.fields.has(name)) unknownColumns.add(name);
    return name;
  };

  const columns: OutputColumn[] = [];
  let refusal: PgError | undefined;
  for (const t of targets) {
    const ref = child(child(t, 'val'), 'ColumnRef');
    if (!ref) {
      const k = Object.keys(child(t, 'val') ?? {})[0] ?? '';
      const fn =
        k === 'FuncCall'
          ? list(child(child(t, 'val'), 'FuncCall'), 'funcname')
              .map(sval)
              .join('.')
          : undefined;
      throw unsupported(fn !== undefined ? `the function ${fn}() in a select list` : `${k} in a select list`);
    }
    const field = columnOf(ref);
    if (field === undefined) for (const f of d.fields.keys()) columns.push({ name: f, field: f });
    else columns.push({ name: typeof t['name'] === 'string' ? (t['name'] as string) : field, field });
  }

  const where: Condition[] = [];
  const tested = new Set<string>();
  const refuse = (e: PgError) => {
    refusal ??= e;
  };
  // Every column the WHERE names is tested, supported construct or not: a protected one is refused (42501) first.
  const walk = (n: Node | undefined): void => {
    if (!n) return;
    for (const [k, v] of Object.entries(n)) {
      if (k === 'ColumnRef' && isNode(v)) {
        const c = columnOf(v);
        if (c !== undefined) tested.add(c);
      } else if (k === 'ParamRef' && isNode(v)) params.max = Math.max(params.max, Number(v['number'] ?? 0));
      else if (Array.isArray(v)) for (const x of v) walk(isNode(x) ? x : undefined);
      else if (isNode(v)) walk(v);
    }
  };
  const condition = (n: Node): void => {
    const bool = child(n, 'BoolExpr');
    if (bool) {
      if (bool['boolop'] !== 'AND_EXPR') {
        refuse(unsupported(`${String(bool['boolop']).replace('_EXPR', '')} in WHERE`));
        return;
      }
      for (const a of list(bool, 'args')) condition(a);
      return;
    }
    const e = child(n, 'A_Expr');
    if (!e) {
      refuse(unsupported(`${Object.keys(n)[0] ?? 'this expression'} in WHERE`));
      return;
    }
    const op = list(e, 'name').map(sval).join('.');
    if (e['kind'] !== 'AEXPR_OP' || op !== '=') {
      refuse(unsupported(`the operator ${op} (${String(e['kind']).replace('AEXPR_', '')}) in WHERE`));
      return;
    }
    const l = child(e, 'lexpr');
    const r = child(e, 'rexpr');
    const [colSide, valSide] = child(l, 'ColumnRef') ? [l, r] : [r, l];
    const ref = child(colSide, 'ColumnRef');
    const value = valueIn(valSide);
    if (!ref || !value) {
      refuse(unsupported('a WHERE condition other than column = value'));
      return;
    }
    const c = columnOf(ref);
    if (c === undefined) {
      refuse(unsupported('* in WHERE'));
      return;
    }
    where.push({ column: c, value });
  };
  const whereClause = child(sel, 'whereClause');
  walk(whereClause);
  if (whereClause) condition(whereClause);

  let orderByKey = false;
  for (const s of list(sel, 'sortClause')) {
    const by = child(s, 'SortBy');
    walk(by);
    const ref = child(child(by, 'node'), 'ColumnRef');
    const c = ref ? columnOf(ref) : undefined;
    if (c !== d.key || (by?.['sortby_dir'] !== 'SORTBY_DEFAULT' && by?.['sortby_dir'] !== 'SORTBY_ASC'))
      refuse(unsupported('ORDER BY other than the key, ascending'));
    else orderByKey = true;
  }
  const limitNode = child(sel, 'limitCount');
  walk(limitNode);
  let limit: Value | undefined;
  if (limitNode && !(child(limitNode, 'A_Const')?.['isnull'] === true)) {
    limit = valueIn(limitNode);
    if (!limit) refuse(unsupported('LIMIT other than a number or a parameter'));
  }
  return {
    kind: 'select',
    dataset: d,
    columns,
    where,
    tested: [...tested],
    unknownColumns: [...unknownColumns],
    unsupported: refusal,
    orderByKey,
    limit,
  };
}

/** A literal or a parameter, looking through casts ('x'::text, $1::int). */
function valueIn(n: Node | undefined): Value | undefined {
  const cast = child(n, 'TypeCast');
  if (cast) return valueIn(child(cast, 'arg'));
  const p = child(n, 'ParamRef');
  if (p) return { param: Number(p['number'] ?? 0) };
  const c = child(n, 'A_Const');
  if (!c) return undefined;
  const text = constText(c);
  return text === null ? undefined : { literal: text };
}

/** SELECT without FROM: constants and the session functions clients ask at connect (version(), current_setting()). */
function planValues(targets: Node[], sel: Node): Plan {
  if (sel['whereClause'] !== undefined || sel['sortClause'] !== undefined || sel['limitCount'] !== undefined)
    throw unsupported('WHERE, ORDER BY or LIMIT without FROM');
  const columns = targets.map((t): { name: string; value: ConstValue } => {
    let val = child(t, 'val');
    const cast = child(val, 'TypeCast');
    if (cast) val = child(cast, 'arg');
    const alias = typeof t['name'] === 'string' ? (t['name'] as string) : undefined;
    const c = child(val, 'A_Const');
    if (c) return { name: alias ?? '?column?', value: { text: constText(c) } };
    const svf = child(val, 'SQLValueFunction');
    if (svf) {
      const op = String(svf['op'] ?? '');
      if (op === 'SVFOP_CURRENT_USER' || op === 'SVFOP_SESSION_USER' || op === 'SVFOP_USER')
        return { name: alias ?? op.replace('SVFOP_', '').toLowerCase(), value: { fn: 'current_user' as const } };
      throw unsupported(op.replace('SVFOP_', '').toLowerCase());
    }
    const f = child(val, 'FuncCall');
    const name = list(f, 'funcname')
      .map(sval)
      .filter((s) => s !== 'pg_catalog')
      .join('.');
    const args = list(f, 'args');
    if (f && args.length === 0 && (name === 'version' || name === 'current_database' || name === 'current_schema' || name === 'current_user'))
      return { name: alias ?? name, value: { fn: name as 'version' } };
    if (f && name === 'current_setting' && args.length === 1 && child(args[0], 'A_Const'))
      return { name: alias ?? name, value: { fn: 'setting' as const, arg: constText(child(args[0], 'A_Const')) ?? '' } };
    throw unsupported(f ? `the function ${name}()` : `${Object.keys(val ?? {})[0] ?? 'this expression'} in a select list`);
  });
  return { kind: 'values', columns };
}
