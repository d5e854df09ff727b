// Which columns of a table a logged statement read, and the statement with its literals taken out.
// Both use PostgreSQL's own parser (libpg-query, compiled to WebAssembly), so names fold and quote as
// the server folds them: `"ds_users"`, `DS_USERS` and `public.ds_users` are one table.

import { loadModule, normalizeSync, parseSync, scanSync } from 'libpg-query';

let loaded: Promise<void> | undefined;
/** Loads the parser (once); call before columnsRead or redact. */
export function loadSqlParser(): Promise<void> {
  loaded ??= loadModule();
  return loaded;
}

/**
 * How the columns were told:
 * - `named`: the statement names the table and the columns read (in any clause: a filter reads too);
 * - `all`: it reads whole rows (`*`, `t.*`, `t` as a value, `COPY t TO` without a column list);
 * - `indirect`: the server logged a read of the table that the statement does not name (a view, a
 *   rule or a function read it): every column is assumed read;
 * - `unparsed`: the statement did not parse (cut short, another dialect): every column is assumed read;
 * - `function`: the role called a function of the enclave database (pgaudit's FUNCTION class); what a
 *   SECURITY DEFINER function reads is not in the trail, so no column is named.
 */
export type ColumnsHow = 'named' | 'all' | 'indirect' | 'unparsed' | 'function';

export interface ColumnsRead {
  readonly columns: readonly string[];
  readonly how: ColumnsHow;
}

type Json = { [k: string]: unknown };

/** The columns of `schema.relation` (whose columns are `tableColumns`) that `statement` read. */
export function columnsRead(statement: string, schema: string, relation: string, tableColumns: readonly string[]): ColumnsRead {
  let tree: unknown;
  try {
    tree = parseSync(statement);
  } catch {
    return { columns: tableColumns, how: 'unparsed' };
  }
  const refs: string[][] = [];
  const names = new Set<string>();
  let named = false;
  let wholeRow = false;
  const isTable = (rv: Json) => rv['relname'] === relation && (rv['schemaname'] === undefined || rv['schemaname'] === schema);
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) {
      for (const n of node) walk(n);
      return;
    }
    if (node === null || typeof node !== 'object') return;
    const o = node as Json;
    if (typeof o['relname'] === 'string' && isTable(o)) {
      named = true;
      const alias = (o['alias'] as Json | undefined)?.['aliasname'];
      if (typeof alias === 'string') names.add(alias);
      else {
        names.add(relation);
        names.add(`${schema}.${relation}`);
      }
    }
    const copy = o['CopyStmt'] as Json | undefined;
    if (copy && copy['is_from'] !== true && typeof (copy['relation'] as Json | undefined)?.['relname'] === 'string' && isTable(copy['relation'] as Json)) {
      const list = copy['attlist'] as Json[] | undefined;
      if (list === undefined) wholeRow = true;
      else for (const a of list) refs.push([String((a['String'] as Json | undefined)?.['sval'] ?? '')]);
    }
    const ref = o['ColumnRef'] as Json | undefined;
    if (ref) {
      const fields = (ref['fields'] as Json[] | undefined) ?? [];
      refs.push(fields.map((f) => (f['A_Star'] !== undefined ? '*' : String((f['String'] as Json | undefined)?.['sval'] ?? ''))));
    }
    for (const v of Object.values(o)) walk(v);
  };
  walk(tree);
  if (!named) return { columns: tableColumns, how: 'indirect' };
  const read = new Set<string>();
  for (const parts of refs) {
    const last = parts[parts.length - 1]!;
    const qualifier = parts.slice(0, -1).join('.');
    if (parts.length === 1) {
      if (last === '*' || names.has(last)) wholeRow = true;
      else if (tableColumns.includes(last)) read.add(last);
    } else if (names.has(qualifier)) {
      if (last === '*') wholeRow = true;
      else read.add(last);
    } else if (names.has(parts.join('.'))) wholeRow = true;
  }
  if (wholeRow) return { columns: tableColumns, how: 'all' };
  return { columns: tableColumns.filter((c) => read.has(c)), how: 'named' };
}

/**
 * The statement with every literal replaced by `$n` (PostgreSQL's normalization, as
 * pg_stat_statements shows queries) and its comments removed, whitespace collapsed and cut to `max`
 * characters; undefined when it does not parse, so no literal can be shown.
 */
export function redact(statement: string, max = 300): string | undefined {
  let s: string;
  try {
    const normalized = Buffer.from(normalizeSync(statement), 'utf8');
    // Token offsets are bytes of the UTF-8 text.
    const kept: Buffer[] = [];
    let at = 0;
    for (const t of scanSync(normalized.toString('utf8')).tokens) {
      if (t.tokenName !== 'SQL_COMMENT' && t.tokenName !== 'C_COMMENT') continue;
      kept.push(normalized.subarray(at, t.start), Buffer.from(' '));
      at = t.end;
    }
    kept.push(normalized.subarray(at));
    s = Buffer.concat(kept).toString('utf8');
  } catch {
    return undefined;
  }
  s = s.replace(/\s+/g, ' ').trim();
  return s.length > max ? `${s.slice(0, max - 1)}…` : s;
}

/** The tables a statement names (unqualified ones in `public`, where cordon keeps its tables); undefined when it does not parse. */
export function relationsNamed(statement: string): { schema: string; relation: string }[] | undefined {
  let tree: unknown;
  try {
    tree = parseSync(statement);
  } catch {
    return undefined;
  }
  const out = new Map<string, { schema: string; relation: string }>();
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) {
      for (const n of node) walk(n);
      return;
    }
    if (node === null || typeof node !== 'object') return;
    const o = node as Json;
    if (typeof o['relname'] === 'string') {
      const schema = typeof o['schemaname'] === 'string' ? o['schemaname'] : 'public';
      out.set(`${schema}.${o['relname']}`, { schema, relation: o['relname'] });
    }
    for (const v of Object.values(o)) walk(v);
  };
  walk(tree);
  return [...out.values()];
}
