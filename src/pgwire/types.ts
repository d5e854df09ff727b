// Column types on the wire: a column is sent as its catalog type (number as float8, boolean as bool,
// string as text) only when every cell the caller can get of it is the stored value or NULL. A column
// that may carry a token or a mask for this caller is text, decided before the RowDescription, so a
// client that parses by type OID never meets a token where it expects a number.

import type { GatewayReader, Caller } from '../gateway/index.js';
import type { Dataset, FieldType } from '../policy/index.js';

/** A column's type on the wire: its PostgreSQL type OID and length, and the catalog type its cells are (text: any). */
export interface WireType {
  readonly oid: number;
  readonly typlen: number;
  /** The JSON type every non-null cell has; undefined for text (a cell is sent as its text, whatever it is). */
  readonly type: Exclude<FieldType, 'string'> | undefined;
}

export const TEXT: WireType = { oid: 25, typlen: -1, type: undefined };
// A catalog number is a JSON number, an IEEE double: float8 holds every one exactly.
const FLOAT8: WireType = { oid: 701, typlen: 8, type: 'number' };
const BOOL: WireType = { oid: 16, typlen: 1, type: 'boolean' };

/** The wire type of `field` of `d` for `caller`. */
export function wireType(reader: GatewayReader, caller: Caller, d: Dataset, field: string): WireType {
  const type = d.fields.get(field)?.type;
  if (type === undefined || type === 'string' || !reader.untransformed(caller, d, field)) return TEXT;
  return type === 'number' ? FLOAT8 : BOOL;
}

/** Whether `value` (a disclosed cell) is a value of `t`. */
export function fits(t: WireType, value: unknown): boolean {
  return t.type === undefined || value === null || value === undefined || typeof value === t.type;
}

/** A cell's text in PostgreSQL's text format for its column's type (bool is t/f; float8 takes JavaScript's number text). */
export function cellText(t: WireType, v: unknown): string | null {
  if (v === null || v === undefined) return null;
  if (t.type === 'boolean') return v === true ? 't' : 'f';
  return typeof v === 'string' ? v : typeof v === 'object' ? JSON.stringify(v) : String(v);
}
