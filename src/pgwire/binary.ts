// PostgreSQL's binary format for the common types (the typsend/typrecv functions' wire form):
// binary parameters become the text the executor takes (the text PostgreSQL's output function would
// give, so a value means the same in either format), and text cells become binary result values.
// Reference: PostgreSQL's src/backend/utils/adt/*.c, functions *recv and *send.

import { PgError, type ColumnDescription } from './protocol.js';

/** Type OIDs (pg_type.oid) the wire gateway reads or writes in binary. */
export const OID = {
  bool: 16,
  bytea: 17,
  char: 18,
  name: 19,
  int8: 20,
  int2: 21,
  int4: 23,
  text: 25,
  oid: 26,
  json: 114,
  float4: 700,
  float8: 701,
  unknown: 705,
  bpchar: 1042,
  varchar: 1043,
  date: 1082,
  timestamp: 1114,
  timestamptz: 1184,
  uuid: 2950,
  jsonb: 3802,
} as const;

/** Names of types a client may well send that have no binary form here, for the refusal. */
const OTHER_NAMES: Readonly<Record<number, string>> = {
  1700: 'numeric',
  1083: 'time',
  1266: 'timetz',
  1186: 'interval',
  869: 'inet',
  650: 'cidr',
  829: 'macaddr',
  142: 'xml',
  790: 'money',
  1560: 'bit',
  1562: 'varbit',
};
const NAMES: Readonly<Record<number, string>> = { ...Object.fromEntries(Object.entries(OID).map(([n, o]) => [o, n])), ...OTHER_NAMES };

/** The type's name for messages: `numeric`, or `oid 12345` for one this file does not know. */
export function typeName(oid: number): string {
  return NAMES[oid] ?? `oid ${oid}`;
}

const TEXT_LIKE = new Set<number>([OID.text, OID.varchar, OID.bpchar, OID.name, OID.char, OID.unknown, OID.json]);
const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Microseconds and days between 1970-01-01 and PostgreSQL's epoch, 2000-01-01. */
const PG_EPOCH_DAYS = 10_957;
const USEC_PER_DAY = 86_400_000_000n;
const DATE_END = 0x7fffffff;
const DATE_BEGIN = -0x80000000;
const TS_END = 0x7fffffffffffffffn;
const TS_BEGIN = -0x8000000000000000n;

/**
 * The text of binary parameter $`n` of type `oid` (0: unspecified, which the gateway takes as text),
 * as PostgreSQL's output function writes that type. Throws 22P03 when the bytes are not a value of
 * the type, 22021 for text that is not UTF-8, and 0A000 for a type with no binary form here.
 */
export function paramText(oid: number, bytes: Buffer, n: number): string {
  const wrongSize = () =>
    new PgError('22P03', `incorrect binary data format in bind parameter ${n}`, `a binary ${typeName(oid)} is not ${bytes.length} bytes long`);
  const fixed = (size: number) => {
    if (bytes.length !== size) throw wrongSize();
  };
  if (oid === 0 || TEXT_LIKE.has(oid)) return utf8Text(bytes, n);
  switch (oid) {
    case OID.bool:
      fixed(1);
      return bytes[0] === 0 ? 'false' : 'true';
    case OID.int2:
      fixed(2);
      return String(bytes.readInt16BE(0));
    case OID.int4:
      fixed(4);
      return String(bytes.readInt32BE(0));
    case OID.oid:
      fixed(4);
      return String(bytes.readUInt32BE(0));
    case OID.int8:
      fixed(8);
      return String(bytes.readBigInt64BE(0));
    case OID.float4:
      fixed(4);
      return floatText(bytes.readFloatBE(0));
    case OID.float8:
      fixed(8);
      return floatText(bytes.readDoubleBE(0));
    case OID.bytea:
      return `\\x${bytes.toString('hex')}`;
    case OID.uuid: {
      fixed(16);
      const h = bytes.toString('hex');
      return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
    }
    case OID.jsonb:
      if (bytes.length < 1 || bytes[0] !== 1)
        throw new PgError('22P03', `incorrect binary data format in bind parameter ${n}`, 'a binary jsonb starts with version 1');
      return utf8Text(bytes.subarray(1), n);
    case OID.date: {
      fixed(4);
      const days = bytes.readInt32BE(0);
      if (days === DATE_END) return 'infinity';
      if (days === DATE_BEGIN) return '-infinity';
      return dateText(days);
    }
    case OID.timestamp:
    case OID.timestamptz: {
      fixed(8);
      const us = bytes.readBigInt64BE(0);
      if (us === TS_END) return 'infinity';
      if (us === TS_BEGIN) return '-infinity';
      return timestampText(us, oid === OID.timestamptz);
    }
    default:
      throw new PgError(
        '0A000',
        `binary format for parameter $${n} of type ${typeName(oid)} is not supported by the cordon wire gateway`,
        'send it in text format (format code 0)',
      );
  }
}

function utf8Text(bytes: Buffer, n: number): string {
  try {
    return utf8.decode(bytes);
  } catch {
    throw new PgError('22021', `invalid byte sequence for encoding "UTF8" in bind parameter ${n}`);
  }
}

/** A double as float8out writes it: the shortest text that reads back as the same value. */
function floatText(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Number.POSITIVE_INFINITY) return 'Infinity';
  if (v === Number.NEGATIVE_INFINITY) return '-Infinity';
  if (Object.is(v, -0)) return '-0';
  return String(v);
}

/** The proleptic Gregorian date `days` after 1970-01-01 (Howard Hinnant's civil_from_days). */
function civil(days: number): { y: number; m: number; d: number } {
  const z = days + 719_468;
  const era = Math.floor(z / 146_097);
  const doe = z - era * 146_097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36_524) - Math.floor(doe / 146_096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const d = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const m = mp < 10 ? mp + 3 : mp - 9;
  return { y: yoe + era * 400 + (m <= 2 ? 1 : 0), m, d };
}

const pad = (n: number, width: number) => String(n).padStart(width, '0');

/** ISO date text of PostgreSQL day `pgDays` (days since 2000-01-01): year 0 and before are written as BC. */
function dateText(pgDays: number): string {
  const { y, m, d } = civil(pgDays + PG_EPOCH_DAYS);
  return `${pad(y > 0 ? y : 1 - y, 4)}-${pad(m, 2)}-${pad(d, 2)}${y > 0 ? '' : ' BC'}`;
}

function timestampText(us: bigint, zoned: boolean): string {
  let days = us / USEC_PER_DAY;
  let rest = us % USEC_PER_DAY;
  if (rest < 0n) {
    rest += USEC_PER_DAY;
    days -= 1n;
  }
  const date = dateText(Number(days));
  const bc = date.endsWith(' BC');
  const secs = Number(rest / 1_000_000n);
  const micros = Number(rest % 1_000_000n);
  const frac = micros === 0 ? '' : `.${pad(micros, 6).replace(/0+$/, '')}`;
  const time = `${pad(Math.floor(secs / 3600), 2)}:${pad(Math.floor(secs / 60) % 60, 2)}:${pad(secs % 60, 2)}${frac}`;
  // The session's TimeZone is UTC (settings.ts): a timestamptz is written with +00, as PostgreSQL writes it there.
  return `${bc ? date.slice(0, -3) : date} ${time}${zoned ? '+00' : ''}${bc ? ' BC' : ''}`;
}

/** Whether a result column of type `oid` can be sent in binary. */
export function sendsBinary(oid: number): boolean {
  return (
    TEXT_LIKE.has(oid) ||
    oid === OID.bool ||
    oid === OID.int2 ||
    oid === OID.int4 ||
    oid === OID.oid ||
    oid === OID.int8 ||
    oid === OID.float8 ||
    oid === OID.float4
  );
}

/**
 * The binary value of a cell of type `oid` from its text (the text format the gateway makes: t/f,
 * JavaScript's number text, decimal integers). MUST only be called for a type `sendsBinary` accepts.
 */
export function binaryCell(oid: number, text: string): Buffer {
  if (TEXT_LIKE.has(oid)) return Buffer.from(text, 'utf8');
  let out: Buffer;
  switch (oid) {
    case OID.bool:
      return Buffer.from([text === 't' || text === 'true' ? 1 : 0]);
    case OID.int2:
      out = Buffer.alloc(2);
      out.writeInt16BE(Number(text));
      return out;
    case OID.int4:
      out = Buffer.alloc(4);
      out.writeInt32BE(Number(text));
      return out;
    case OID.oid:
      out = Buffer.alloc(4);
      out.writeUInt32BE(Number(text));
      return out;
    case OID.int8:
      out = Buffer.alloc(8);
      out.writeBigInt64BE(BigInt(text));
      return out;
    case OID.float4:
      out = Buffer.alloc(4);
      out.writeFloatBE(Number(text));
      return out;
    case OID.float8:
      out = Buffer.alloc(8);
      out.writeDoubleBE(Number(text));
      return out;
    default:
      throw new Error(`binaryCell: no binary form for type ${typeName(oid)}`);
  }
}

/** A format code of Bind: 0 text, 1 binary; anything else is refused as PostgreSQL refuses it. */
function formatCode(code: number): 0 | 1 {
  if (code !== 0 && code !== 1) throw new PgError('22023', `unsupported format code: ${code}`);
  return code;
}

/** The format of item `i` of `n` by Bind's rule: no codes, all text; one code, for all; else one each. */
function formatOf(codes: readonly number[], i: number): 0 | 1 {
  return formatCode(codes.length === 1 ? codes[0]! : (codes[i] ?? 0));
}

/**
 * A Bind's parameter values as the text the executor takes: text ones as sent, binary ones as
 * `paramText` reads them for their type from Parse (`types`). Throws 08P01 when there are format
 * codes for neither one nor every value, and what `paramText` throws.
 */
export function bindParams(values: readonly (Buffer | null)[], formats: readonly number[], types: readonly number[]): (string | null)[] {
  if (formats.length > 1 && formats.length !== values.length)
    throw new PgError('08P01', `bind message has ${formats.length} parameter formats but ${values.length} parameters`);
  return values.map((b, i) => {
    const format = formatOf(formats, i);
    if (b === null) return null;
    return format === 0 ? b.toString('utf8') : paramText(types[i] ?? 0, b, i + 1);
  });
}

/** Each result column's format by a Bind's result format codes; 0A000 for a binary column of a type `binaryCell` cannot write. */
export function bindResultFormats(columns: readonly ColumnDescription[], results: readonly number[]): (0 | 1)[] {
  if (results.length > 1 && results.length !== columns.length)
    throw new PgError('08P01', `bind message has ${results.length} result formats but query has ${columns.length} columns`);
  return columns.map((col, i) => {
    const format = formatOf(results, i);
    if (format === 1 && !sendsBinary(col.typeOid))
      throw new PgError('0A000', `binary format for result column "${col.name}" of type ${typeName(col.typeOid)} is not supported by the cordon wire gateway`);
    return format;
  });
}
