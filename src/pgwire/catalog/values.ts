// Values and types of the catalog evaluator: PostgreSQL's built-in types (from data.ts), values as
// JavaScript holds them (reg* as Reg, composites as Rec), their text output, casts and ordering, and
// the two interfaces the evaluator is given: a Schema when it compiles, a World when it runs.

import { TYPES } from './data.js';
import { PgError } from '../protocol.js';

export type RegKind = 'regclass' | 'regtype' | 'regproc' | 'regnamespace' | 'regrole';
/** A reg* value: an OID shown by its name (regproc values are named, their OID unknown: 0). */
export class Reg {
  constructor(
    readonly kind: RegKind,
    readonly oid: number,
    readonly name: string,
  ) {}
}
/** A composite value (a row of named fields), as information_schema._pg_expandarray returns. */
export class Rec {
  constructor(
    readonly names: readonly string[],
    readonly values: readonly V[],
  ) {}
}
export type V = null | string | number | boolean | readonly V[] | Reg | Rec;

export interface Column {
  readonly name: string;
  readonly type: number;
}

/** What queries are compiled against: relations' columns and catalog functions' result types. */
export interface Schema {
  /** The columns of a catalog relation; undefined when the gateway has no such relation. */
  columns(schema: string | undefined, name: string): readonly Column[] | undefined;
  /** The result type OID of a function `call` answers; undefined when it answers no such function. */
  functionType(name: string): number | undefined;
}

/** What compiled queries run against: the rows, the catalog's functions and names of OIDs. */
export interface World extends Schema {
  rows(schema: string | undefined, name: string): readonly (readonly V[])[];
  call(name: string, args: readonly V[]): V;
  /** The reg* value of an OID or a name; throws PostgreSQL's error for a name that names nothing. */
  reg(kind: RegKind, v: string | number): Reg;
}

// ---------------------------------------------------------------------------------------------
// Types

export const T = {
  bool: 16,
  bytea: 17,
  char: 18,
  name: 19,
  int8: 20,
  int2: 21,
  int4: 23,
  regproc: 24,
  text: 25,
  oid: 26,
  float4: 700,
  float8: 701,
  unknown: 705,
  varchar: 1043,
  numeric: 1700,
  regclass: 2205,
  regtype: 2206,
  record: 2249,
  anyarray: 2277,
  textArray: 1009,
  timestamptz: 1184,
  regnamespace: 4089,
  regrole: 4096,
} as const;

export interface TypeInfo {
  readonly oid: number;
  readonly name: string;
  readonly len: number;
  readonly elem: number;
  readonly array: number;
  readonly category: string;
  readonly fields: readonly string[];
}

export const TYPE_LIST: readonly TypeInfo[] = TYPES.map((line) => {
  const f = line.split(' ');
  return { oid: Number(f[0]), name: f[1]!, len: Number(f[2]), category: f[5]!, elem: Number(f[7]), array: Number(f[8]), fields: f };
});
export const TYPE_BY_OID = new Map(TYPE_LIST.map((t) => [t.oid, t]));
export const TYPE_BY_NAME = new Map(TYPE_LIST.map((t) => [t.name, t]));
// SQL's spellings the parser leaves as written.
for (const [alias, name] of [
  ['integer', 'int4'],
  ['int', 'int4'],
  ['smallint', 'int2'],
  ['bigint', 'int8'],
  ['real', 'float4'],
  ['boolean', 'bool'],
  ['decimal', 'numeric'],
  ['character varying', 'varchar'],
  ['character', 'bpchar'],
] as const)
  TYPE_BY_NAME.set(alias, TYPE_BY_NAME.get(name)!);

export const typeInfo = (oid: number): TypeInfo | undefined => TYPE_BY_OID.get(oid);
export const typeNamed = (name: string): TypeInfo | undefined => TYPE_BY_NAME.get(name);
export const builtinTypes = (): readonly TypeInfo[] => TYPE_LIST;

/** format_type(): a type's SQL name as psql and drivers show it. */
export function formatType(oid: number): string | null {
  const sqlNames: Record<string, string> = {
    bool: 'boolean',
    int2: 'smallint',
    int4: 'integer',
    int8: 'bigint',
    float4: 'real',
    float8: 'double precision',
    varchar: 'character varying',
    bpchar: 'character',
    timestamptz: 'timestamp with time zone',
    timestamp: 'timestamp without time zone',
    time: 'time without time zone',
    char: '"char"',
  };
  const t = TYPE_BY_OID.get(oid);
  if (!t) return oid === 0 ? null : '???';
  if (t.category === 'A' && t.elem !== 0) return `${formatType(t.elem)}[]`;
  return sqlNames[t.name] ?? t.name;
}

export const NUMERIC_TYPES = new Set<number>([T.int2, T.int4, T.int8, T.oid, T.float4, T.float8, T.numeric, 28]);
export const REG_TYPES: ReadonlyMap<number, RegKind> = new Map<number, RegKind>([
  [T.regclass, 'regclass'],
  [T.regtype, 'regtype'],
  [T.regproc, 'regproc'],
  [2202, 'regproc'],
  [T.regnamespace, 'regnamespace'],
  [T.regrole, 'regrole'],
]);
export const isArrayType = (t: number) => TYPE_BY_OID.get(t)?.category === 'A' || t === T.anyarray;
export const arrayOf = (t: number) => TYPE_BY_OID.get(t === T.unknown ? T.text : t)?.array || T.textArray;
export const elemOf = (t: number) => TYPE_BY_OID.get(t)?.elem || T.text;
/** A result column's type as the client is told it: an unknown literal is text. */
export const wireTypeOf = (t: number) => (t === T.unknown ? T.text : t);

// ---------------------------------------------------------------------------------------------
// Values

export const unsupported = (what: string) => new PgError('0A000', `${what} is not supported by the cordon wire gateway in a catalog query`);

export function numText(n: number): string {
  if (Number.isInteger(n) || !Number.isFinite(n)) return Number.isNaN(n) ? 'NaN' : n === Infinity ? 'Infinity' : n === -Infinity ? '-Infinity' : String(n);
  return String(n);
}

export function quoteElement(s: string): string {
  return s === '' || /[{},"\\\s]/.test(s) || s.toUpperCase() === 'NULL' ? `"${s.replace(/["\\]/g, '\\$&')}"` : s;
}

/** A value in PostgreSQL's text output format (bool as t/f, arrays and records as their literals). */
export function out(v: V): string | null {
  if (v === null) return null;
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return numText(v);
  if (typeof v === 'boolean') return v ? 't' : 'f';
  if (v instanceof Reg) return v.name;
  if (v instanceof Rec)
    return `(${v.values.map((x) => (x === null ? '' : /[(),"\\\s]/.test(out(x)!) ? `"${out(x)!.replace(/["\\]/g, '\\$&')}"` : out(x))).join(',')})`;
  return `{${v.map((x) => (x === null ? 'NULL' : Array.isArray(x) ? out(x) : quoteElement(out(x)!))).join(',')}}`;
}

/** A value as text, as a cast to text gives it (bool as true/false). */
export function asText(v: V): string | null {
  return typeof v === 'boolean' ? (v ? 'true' : 'false') : out(v);
}

/** An array literal ('{a,"b c",NULL}') as an array of text and nulls. */
export function parseArray(s: string): V[] {
  let at = 0;
  const bad = () => new PgError('22P02', `malformed array literal: ${JSON.stringify(s.length > 60 ? `${s.slice(0, 60)}…` : s)}`);
  const ws = () => {
    while (at < s.length && /\s/.test(s[at]!)) at++;
  };
  const level = (): V[] => {
    if (s[at] !== '{') throw bad();
    at++;
    const items: V[] = [];
    ws();
    if (s[at] === '}') {
      at++;
      return items;
    }
    for (;;) {
      ws();
      if (s[at] === '{') items.push(level());
      else if (s[at] === '"') {
        at++;
        let v = '';
        while (at < s.length && s[at] !== '"') {
          if (s[at] === '\\') at++;
          v += s[at++] ?? '';
        }
        if (s[at] !== '"') throw bad();
        at++;
        items.push(v);
      } else {
        let v = '';
        while (at < s.length && !',}'.includes(s[at]!)) {
          if (s[at] === '\\') at++;
          v += s[at++] ?? '';
        }
        v = v.trim();
        if (v === '') throw bad();
        items.push(v.toUpperCase() === 'NULL' ? null : v);
      }
      ws();
      if (s[at] === ',') {
        at++;
        continue;
      }
      if (s[at] === '}') {
        at++;
        return items;
      }
      throw bad();
    }
  };
  ws();
  const r = level();
  ws();
  if (at !== s.length) throw bad();
  return r;
}

export function toNumber(v: V, type = 'integer'): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (v instanceof Reg) return v.oid;
  const s = typeof v === 'string' ? v.trim() : '';
  if (typeof v === 'string' && /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(s)) return Number(s);
  throw new PgError('22P02', `invalid input syntax for type ${type}: ${JSON.stringify(String(asText(v)).slice(0, 60))}`);
}

export function toBool(v: V): boolean {
  if (typeof v === 'boolean') return v;
  if (typeof v === 'number') return v !== 0;
  const s = typeof v === 'string' ? v.trim().toLowerCase() : '';
  if (['t', 'true', 'y', 'yes', 'on', '1'].includes(s)) return true;
  if (['f', 'false', 'n', 'no', 'off', '0'].includes(s)) return false;
  throw new PgError('22P02', `invalid input syntax for type boolean: ${JSON.stringify(String(asText(v)).slice(0, 60))}`);
}

export function toArray(v: V): readonly V[] {
  if (Array.isArray(v)) return v;
  if (typeof v === 'string') return parseArray(v);
  throw new PgError('42804', 'an array was expected');
}

export function asReg(kind: RegKind, v: V, world: World): Reg {
  if (v instanceof Reg) return v.kind === kind ? v : world.reg(kind, v.oid);
  if (typeof v === 'number') return world.reg(kind, v);
  const s = String(asText(v)).trim();
  return world.reg(kind, /^\d+$/.test(s) ? Number(s) : s);
}

/** PostgreSQL's ordering of two non-null values, coercing an untyped literal to the other side's type. */
export function cmp(a: V, b: V, world: World): number {
  if (a === null || b === null) return a === b ? 0 : a === null ? 1 : -1;
  if (a instanceof Reg || b instanceof Reg) {
    const x = a instanceof Reg ? a : asReg((b as Reg).kind, a, world);
    const y = b instanceof Reg ? (a instanceof Reg && b.kind !== a.kind ? asReg(a.kind, b, world) : b) : asReg(x.kind, b, world);
    if (x.kind === 'regproc' || x.oid === 0 || y.oid === 0) return strcmp(x.name.replace(/^pg_catalog\./, ''), y.name.replace(/^pg_catalog\./, ''));
    return Math.sign(x.oid - y.oid);
  }
  if (typeof a === 'number' || typeof b === 'number') return Math.sign(toNumber(a) - toNumber(b));
  if (typeof a === 'boolean' || typeof b === 'boolean') return Number(toBool(a)) - Number(toBool(b));
  if (Array.isArray(a) || Array.isArray(b)) {
    const x = toArray(a);
    const y = toArray(b);
    for (let i = 0; i < Math.min(x.length, y.length); i++) {
      const c = cmp(x[i]!, y[i]!, world);
      if (c !== 0) return c;
    }
    return Math.sign(x.length - y.length);
  }
  return strcmp(String(out(a)), String(out(b)));
}
export const strcmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** A key under which equal values (as `=` sees them within one column) meet: grouping, DISTINCT, hash joins. */
export function keyOf(v: V): string {
  if (v === null) return 'N';
  if (typeof v === 'number') return `n${v}`;
  if (typeof v === 'boolean') return `b${v}`;
  if (v instanceof Reg) return v.kind === 'regproc' ? `p${v.name}` : `n${v.oid}`;
  if (typeof v === 'string') return `s${v}`;
  if (v instanceof Rec) return `r${out(v)}`;
  return `[${v.map(keyOf).join(',')}]`;
}

export function cast(v: V, type: number, world: World): V {
  if (v === null) return null;
  const kind = REG_TYPES.get(type);
  if (kind) return asReg(kind, v, world);
  if (isArrayType(type)) return toArray(v).map((x) => cast(x, elemOf(type), world));
  if (type === T.bool) return toBool(v);
  if (NUMERIC_TYPES.has(type)) {
    const n = toNumber(v, TYPE_BY_OID.get(type)?.name);
    return [T.int2, T.int4, T.int8, T.oid].includes(type as 21) ? Math.round(n) : n;
  }
  if (type === T.char) return String(asText(v)).slice(0, 1);
  return asText(v);
}

/** Whether a comparison holds, given the ordering of its two sides. */
export function compare(op: string, c: number): boolean {
  switch (op) {
    case '=':
      return c === 0;
    case '<>':
    case '!=':
      return c !== 0;
    case '<':
      return c < 0;
    case '>':
      return c > 0;
    case '<=':
      return c <= 0;
    default:
      return c >= 0;
  }
}

/** x op ANY/ALL (items), with SQL's three-valued logic. */
export function quantified(x: V, items: readonly V[], test: (a: V, b: V) => boolean, any: boolean): V {
  if (x === null) return items.length === 0 ? !any : null;
  let unknown = false;
  for (const i of items) {
    if (i === null) unknown = true;
    else if (test(x, i) === any) return any;
  }
  return unknown ? null : !any;
}

/** The items whose key has not come before, in order (DISTINCT, UNION). */
export function distinctBy<T>(items: readonly T[], key: (x: T) => string): T[] {
  const seen = new Set<string>();
  return items.filter((x) => {
    const k = key(x);
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}
