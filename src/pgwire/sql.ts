// SQL to plans: PostgreSQL's own parser (libpg-query) reads the text, and this file sorts its
// statements: a SELECT of datasets (planned by select.ts), of the system catalog (catalog.ts), or of
// constants, and the session statements clients send at connect. Anything else is refused with
// 0A000 naming the construct. Planning reads no data and knows no caller: whether a column may be
// filtered on is decided when the plan runs, before anything is read.

import { loadModule, parseSync } from 'libpg-query';
import type { Policy } from '../policy/index.js';
import { child, constText, isNode, list, sval, type Node } from './ast.js';
import { isCatalogRelation, planCatalog, relationsIn, type RowsPlan } from './catalog.js';
import { PgError } from './protocol.js';
import { planSelect, unsupported, UNSUPPORTED_CLAUSES, type SelectPlan } from './select.js';
import { planSessionStatement, type SessionPlan } from './settings.js';

export type { ColRef, Expr, Value } from './expr.js';
export type { Item, JoinPlan, OutputColumn, Relation, SelectPlan, SortKey } from './select.js';

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
      return planSelectStatement(body!, policy, params);
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

function planSelectStatement(sel: Node, policy: Policy, params: { max: number }): Plan {
  const rels = relationsIn(sel);
  const countParams = (n: unknown): void => {
    if (Array.isArray(n)) for (const x of n) countParams(x);
    else if (isNode(n))
      for (const [k, v] of Object.entries(n)) {
        if (k === 'ParamRef' && isNode(v)) params.max = Math.max(params.max, Number(v['number'] ?? 0));
        else countParams(v);
      }
  };
  countParams(sel);
  // The system catalog, and SELECTs of no relation (version(), current_setting(), 1): catalog.ts.
  if (rels.every(isCatalogRelation)) return planCatalog(sel, policy);
  if (sel['op'] !== undefined && sel['op'] !== 'SETOP_NONE') throw unsupported(String(sel['op']).replace('SETOP_', ''));
  const from = list(sel, 'fromClause');
  const targets = list(sel, 'targetList').map((t) => child(t, 'ResTarget') ?? {});
  if (from.length === 0) {
    for (const [k, what] of UNSUPPORTED_CLAUSES) if (sel[k] !== undefined) throw unsupported(what);
    if (sel['groupClause'] !== undefined || sel['limitOffset'] !== undefined) throw unsupported('GROUP BY or OFFSET without FROM');
    return planValues(targets, sel);
  }
  if (from.length > 1) throw unsupported('more than one table in FROM (write a join as JOIN … ON)');
  return planSelect(sel, policy);
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
