// The migration mapping file: which legacy tables and columns become which dataset fields, where
// each row's subject and jurisdiction come from, which enclave receives the data, and how purge
// treats legacy rows. A closed schema: unknown keys, datasets and fields are errors with
// file:line:col, and nothing is read from the legacy store until the file is valid.

import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { LineCounter, isMap, isScalar, parseDocument, type Node } from 'yaml';
import type { Policy } from '../policy/index.js';
import { didYouMean } from '../shared/suggest.js';
import { MigrateError } from './errors.js';

export const DEFAULT_BATCH_SIZE = 2000;
export const MAX_BATCH_SIZE = 10_000;
/** Value kinds a mapped column may hold (declared with `type:` or told from the legacy column's SQL type). */
export const VALUE_TYPES = ['string', 'number', 'boolean', 'date', 'timestamp'] as const;
export type ValueType = (typeof VALUE_TYPES)[number];

export interface ColumnMapping {
  readonly column: string;
  readonly field: string;
  /** The declared kind, checked against the legacy column's SQL type. */
  readonly type: ValueType | undefined;
}

export interface TableMapping {
  /** `table` or `schema.table` in the legacy database. */
  readonly table: string;
  readonly dataset: string;
  /** Unique, non-null legacy column the copy pages by (default: key). */
  readonly cursor: string;
  /** Legacy column holding the record key (the dataset's key field). */
  readonly key: string;
  /** Legacy column holding the subject's key. */
  readonly subject: string;
  readonly jurisdiction:
    | { readonly from: 'column'; readonly column: string; readonly as: 'country' | 'jurisdiction' }
    | { readonly from: 'lookup'; readonly table: string; readonly key: string; readonly column: string; readonly as: 'country' | 'jurisdiction' };
  /** Mapped columns other than the key (which maps to the dataset's key field). */
  readonly columns: readonly ColumnMapping[];
}

export interface Mapping {
  readonly file: string;
  /** sha256 of the file's bytes: statements name the exact mapping they were made under. */
  readonly sha256: string;
  readonly name: string;
  readonly enclave: string;
  /** What purge does to an in-scope legacy row: null its protected columns, or delete the row. */
  readonly purge: 'null' | 'delete';
  readonly batchSize: number;
  readonly tables: readonly TableMapping[];
}

const IDENT = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;
const TABLE = /^([A-Za-z_][A-Za-z0-9_]{0,62}\.)?[A-Za-z_][A-Za-z0-9_]{0,62}$/;
const NAME = /^[a-z0-9][a-z0-9-]{0,62}$/;

/** Reads and checks a mapping file against the policy; throws MigrateError('migrate.bad_mapping') listing every problem. */
export function loadMapping(file: string, policy: Policy): Mapping {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new MigrateError('migrate.bad_mapping', `${file}: cannot be read: ${(err as Error).message}`);
  }
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: true, strict: true });
  const problems: string[] = [];
  const at = (node: Node | null | undefined): string => {
    const p = node?.range ? lines.linePos(node.range[0]) : { line: 1, col: 1 };
    return `${file}:${p.line}:${p.col}`;
  };
  for (const e of doc.errors) problems.push(`${file}:${e.linePos?.[0]?.line ?? 1}:${e.linePos?.[0]?.col ?? 1} ${e.message.split('\n')[0]}`);
  if (problems.length > 0) throw new MigrateError('migrate.bad_mapping', problems.join('\n'));

  /** The members of a map node, checking keys against `allowed` and `required`. */
  const members = (
    node: Node | null | undefined,
    what: string,
    allowed: readonly string[],
    required: readonly string[],
  ): Map<string, Node | null> | undefined => {
    if (!isMap(node)) {
      problems.push(`${at(node)} ${what} must be a map`);
      return undefined;
    }
    const out = new Map<string, Node | null>();
    for (const pair of node.items) {
      const k = isScalar(pair.key) ? String(pair.key.value) : '';
      if (!allowed.includes(k)) problems.push(`${at(pair.key as Node)} unknown key ${JSON.stringify(k)} in ${what}${didYouMean(k, allowed)}`);
      else out.set(k, pair.value as Node | null);
    }
    for (const r of required) if (!out.has(r)) problems.push(`${at(node)} ${what} is missing ${JSON.stringify(r)}`);
    return out;
  };
  const str = (node: Node | null | undefined, what: string, re: RegExp, expected: string): string | undefined => {
    if (!isScalar(node) || typeof node.value !== 'string' || !re.test(node.value)) {
      problems.push(`${at(node)} ${what} must be ${expected}, got ${JSON.stringify(isScalar(node) ? node.value : (node?.toJSON?.() ?? null))}`);
      return undefined;
    }
    return node.value;
  };
  const oneOf = <T extends string>(node: Node | null | undefined, what: string, values: readonly T[]): T | undefined => {
    const v = isScalar(node) ? (node.value === null ? 'null' : String(node.value)) : undefined;
    if (v === undefined || !(values as readonly string[]).includes(v)) {
      problems.push(`${at(node)} ${what} must be one of ${values.join(', ')}, got ${JSON.stringify(v ?? null)}`);
      return undefined;
    }
    return v as T;
  };

  const top = members(
    doc.contents as Node | null,
    'the mapping',
    ['version', 'name', 'enclave', 'purge', 'batch_size', 'tables'],
    ['version', 'name', 'enclave', 'tables'],
  );
  if (!top) throw new MigrateError('migrate.bad_mapping', problems.join('\n'));
  const version = top.get('version');
  if (!isScalar(version) || version.value !== 1) problems.push(`${at(version)} version must be 1`);
  const name = str(top.get('name'), 'name', NAME, 'lower-case letters, digits and dashes');
  const enclaveNode = top.get('enclave');
  const enclave = str(enclaveNode, 'enclave', IDENT, 'an enclave name');
  if (enclave !== undefined && !policy.deployment.enclaves.has(enclave)) {
    problems.push(`${at(enclaveNode)} unknown enclave ${JSON.stringify(enclave)}${didYouMean(enclave, policy.deployment.enclaves.keys())}`);
  }
  if (enclave !== undefined && policy.deployment.enclaves.get(enclave)?.store === policy.deployment.globalStore) {
    problems.push(`${at(enclaveNode)} enclave ${JSON.stringify(enclave)} keeps its data in the global store; migration moves data into an enclave store`);
  }
  const purge = top.has('purge') ? oneOf(top.get('purge'), 'purge', ['null', 'delete'] as const) : 'null';
  let batchSize = DEFAULT_BATCH_SIZE;
  if (top.has('batch_size')) {
    const b = top.get('batch_size');
    if (!isScalar(b) || typeof b.value !== 'number' || !Number.isInteger(b.value) || b.value < 1 || b.value > MAX_BATCH_SIZE)
      problems.push(`${at(b)} batch_size must be an integer from 1 to ${MAX_BATCH_SIZE}`);
    else batchSize = b.value;
  }
  const tables: TableMapping[] = [];
  const tablesNode = top.get('tables');
  const items = tablesNode && 'items' in tablesNode && !isMap(tablesNode) ? (tablesNode.items as Node[]) : undefined;
  if (!items || items.length === 0) problems.push(`${at(tablesNode)} tables must be a non-empty list`);
  const seenTables = new Set<string>();
  for (const [i, item] of (items ?? []).entries()) {
    const what = `tables[${i}]`;
    const t = members(
      item,
      what,
      ['table', 'dataset', 'cursor', 'key', 'subject', 'jurisdiction', 'columns'],
      ['table', 'dataset', 'key', 'subject', 'jurisdiction', 'columns'],
    );
    if (!t) continue;
    const table = str(t.get('table'), `${what}.table`, TABLE, 'a table name (table or schema.table)');
    if (table !== undefined && seenTables.has(table)) problems.push(`${at(t.get('table'))} table ${table} is mapped twice`);
    if (table !== undefined) seenTables.add(table);
    const dsNode = t.get('dataset');
    const datasetName = str(dsNode, `${what}.dataset`, IDENT, 'a dataset name');
    const dataset = datasetName === undefined ? undefined : policy.datasets.get(datasetName);
    if (datasetName !== undefined && !dataset)
      problems.push(`${at(dsNode)} unknown dataset ${JSON.stringify(datasetName)}${didYouMean(datasetName, policy.datasets.keys())}`);
    const key = str(t.get('key'), `${what}.key`, IDENT, 'a column name');
    const cursor = t.has('cursor') ? str(t.get('cursor'), `${what}.cursor`, IDENT, 'a column name') : key;
    const subject = str(t.get('subject'), `${what}.subject`, IDENT, 'a column name');
    let jurisdiction: TableMapping['jurisdiction'] | undefined;
    const j = members(t.get('jurisdiction'), `${what}.jurisdiction`, ['column', 'as', 'lookup'], ['column', 'as']);
    if (j) {
      const column = str(j.get('column'), `${what}.jurisdiction.column`, IDENT, 'a column name');
      const as = oneOf(j.get('as'), `${what}.jurisdiction.as`, ['country', 'jurisdiction'] as const);
      if (j.has('lookup')) {
        const l = members(j.get('lookup'), `${what}.jurisdiction.lookup`, ['table', 'key'], ['table', 'key']);
        const lt = l && str(l.get('table'), `${what}.jurisdiction.lookup.table`, TABLE, 'a table name');
        const lk = l && str(l.get('key'), `${what}.jurisdiction.lookup.key`, IDENT, 'a column name');
        if (column && as && lt && lk) jurisdiction = { from: 'lookup', table: lt, key: lk, column, as };
      } else if (column && as) jurisdiction = { from: 'column', column, as };
    }
    const columns: ColumnMapping[] = [];
    const colsNode = t.get('columns');
    if (!isMap(colsNode)) problems.push(`${at(colsNode)} ${what}.columns must be a map of legacy column -> dataset field`);
    else {
      for (const pair of colsNode.items) {
        const column = isScalar(pair.key) ? String(pair.key.value) : '';
        if (!IDENT.test(column)) problems.push(`${at(pair.key as Node)} ${JSON.stringify(column)} is not a column name`);
        let field: string | undefined;
        let type: ValueType | undefined;
        const v = pair.value as Node | null;
        if (isMap(v)) {
          const c = members(v, `${what}.columns.${column}`, ['field', 'type'], ['field']);
          field = c && str(c.get('field'), `${what}.columns.${column}.field`, IDENT, 'a field name');
          if (c?.has('type')) type = oneOf(c.get('type'), `${what}.columns.${column}.type`, VALUE_TYPES);
        } else field = str(v, `${what}.columns.${column}`, IDENT, 'a field name');
        if (field === undefined) continue;
        if (dataset && !dataset.fields.has(field))
          problems.push(`${at(v)} dataset ${dataset.name} has no field ${JSON.stringify(field)}${didYouMean(field, dataset.fields.keys())}`);
        else if (dataset && field === dataset.key) problems.push(`${at(v)} ${dataset.name}.${field} is the dataset's key; map it with ${what}.key`);
        else if (columns.some((c) => c.field === field)) problems.push(`${at(v)} field ${JSON.stringify(field)} is mapped twice`);
        else columns.push({ column, field, type });
      }
    }
    if (dataset && subject !== undefined && key !== undefined) {
      // The subject column must be the one that fills the dataset's subject field.
      const filled = dataset.subjectField === dataset.key ? key : columns.find((c) => c.field === dataset.subjectField)?.column;
      if (filled === undefined) problems.push(`${at(t.get('columns'))} ${what} must map the dataset's subject field ${dataset.name}.${dataset.subjectField}`);
      else if (filled !== subject)
        problems.push(
          `${at(t.get('subject'))} ${what}.subject is ${subject}, but ${dataset.name}.${dataset.subjectField} (the subject) is mapped from ${filled}`,
        );
      // A row-dependent category needs the field it depends on.
      for (const c of columns) {
        for (const cond of dataset.fields.get(c.field)?.conditions ?? []) {
          if (cond.field !== dataset.key && !columns.some((x) => x.field === cond.field)) {
            problems.push(`${at(t.get('columns'))} ${dataset.name}.${c.field}'s category depends on ${cond.field}, which ${what} does not map`);
          }
        }
      }
    }
    if (table && datasetName && dataset && cursor && key && subject && jurisdiction)
      tables.push({ table, dataset: datasetName, cursor, key, subject, jurisdiction, columns });
  }
  if (problems.length > 0 || name === undefined || enclave === undefined || purge === undefined)
    throw new MigrateError('migrate.bad_mapping', problems.join('\n'));
  return { file, sha256: createHash('sha256').update(text).digest('hex'), name, enclave, purge, batchSize, tables };
}
