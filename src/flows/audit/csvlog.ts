// PostgreSQL's csvlog (log_destination = 'csvlog'), and the pgaudit lines in it.
//
// A csvlog record is one CSV row of 26 fields in PostgreSQL 15 (23 before 13, 24 in 13, 26 from 14):
// log_time, user_name, database_name, process_id, connection_from, session_id, session_line_num,
// command_tag, session_start_time, virtual_transaction_id, transaction_id, error_severity,
// sql_state_code, message, … A quoted field may hold newlines, so a record is not a line.
//
// pgaudit writes its entries as the message: `AUDIT: ` and a CSV row of AUDIT_TYPE (SESSION or
// OBJECT), STATEMENT_ID, SUBSTATEMENT_ID, CLASS, COMMAND, OBJECT_TYPE, OBJECT_NAME, STATEMENT,
// PARAMETER (and ROWS after PARAMETER with pgaudit.log_rows). OBJECT_NAME is schema.relation, one
// entry per relation with pgaudit.log_relation (session) or in object mode.

import { parse as parseCsv } from 'csv-parse/sync';

/** Fields of a csvlog record (0-based) that cordon reads. */
const LOG_TIME = 0;
const USER_NAME = 1;
const DATABASE_NAME = 2;
const CONNECTION_FROM = 4;
const MESSAGE = 13;
const APPLICATION_NAME = 22;
/** The fewest fields a csvlog record has (PostgreSQL 9.0–12). */
const MIN_FIELDS = 23;

export interface AuditEntry {
  /** log_time as written (`2026-12-03 13:47:21.114 UTC`) and as an ISO instant. */
  readonly time: string;
  readonly role: string;
  readonly database: string;
  /** connection_from: `host:port`, or `[local]` for a unix socket; empty for background processes. */
  readonly client: string;
  readonly application: string;
  readonly auditType: 'SESSION' | 'OBJECT';
  readonly auditClass: string;
  readonly command: string;
  readonly objectType: string;
  /** `schema.relation` as pgaudit writes it (empty when the entry names no relation). */
  readonly objectName: string;
  /** The statement text as the client sent it: it may hold literals (protected values). Never print it. */
  readonly statement: string;
  /** 1-based line of the file on which the record starts. */
  readonly line: number;
}

export type CsvlogRecord =
  | { readonly kind: 'audit'; readonly entry: AuditEntry }
  | { readonly kind: 'other' }
  | { readonly kind: 'unparsed'; readonly line: number; readonly why: string };

/**
 * Splits text into complete csvlog records (a newline outside quotes ends one) and returns them
 * with the line each starts on, and how many characters of `text` they used: the rest is an
 * incomplete record still being written, to be read again with what follows.
 */
export function splitRecords(text: string, firstLine: number): { records: { text: string; line: number }[]; used: number; lines: number } {
  const records: { text: string; line: number }[] = [];
  let inQuote = false;
  let start = 0;
  let line = firstLine;
  let startLine = firstLine;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 34 /* " */) inQuote = !inQuote;
    else if (c === 10 /* \n */) {
      line++;
      if (!inQuote) {
        const rec = text.slice(start, text.charCodeAt(i - 1) === 13 ? i - 1 : i);
        if (rec.length > 0) records.push({ text: rec, line: startLine });
        start = i + 1;
        startLine = line;
      }
    }
  }
  return { records, used: start, lines: startLine - firstLine };
}

/** One csvlog record: a pgaudit entry, another message (ignored), or something cordon cannot read. */
export function parseRecord(text: string, line: number): CsvlogRecord {
  let fields: string[];
  try {
    const rows = parseCsv(text, { relax_column_count: true }) as string[][];
    if (rows.length !== 1) return { kind: 'unparsed', line, why: `${rows.length} CSV rows where one record was expected` };
    fields = rows[0]!;
  } catch (e) {
    return { kind: 'unparsed', line, why: `not CSV (${(e as { code?: string }).code ?? 'parse error'})` };
  }
  if (fields.length < MIN_FIELDS) return { kind: 'unparsed', line, why: `${fields.length} fields, a csvlog record has at least ${MIN_FIELDS}` };
  const message = fields[MESSAGE]!;
  if (!message.startsWith('AUDIT: ')) return { kind: 'other' };
  let audit: string[];
  try {
    const rows = parseCsv(message.slice('AUDIT: '.length), { relax_column_count: true }) as string[][];
    if (rows.length !== 1) return { kind: 'unparsed', line, why: 'the AUDIT message is not one CSV row' };
    audit = rows[0]!;
  } catch (e) {
    return { kind: 'unparsed', line, why: `the AUDIT message is not CSV (${(e as { code?: string }).code ?? 'parse error'})` };
  }
  const [auditType, , , auditClass, command, objectType, objectName, statement] = audit;
  if (audit.length < 9 || (auditType !== 'SESSION' && auditType !== 'OBJECT'))
    // Never any of the line's content in why: it may hold a protected value.
    return {
      kind: 'unparsed',
      line,
      why: `the AUDIT message has ${audit.length} field(s)${auditType === 'SESSION' || auditType === 'OBJECT' ? '' : ', and its type is neither SESSION nor OBJECT'}`,
    };
  const time = fields[LOG_TIME]!;
  if (Number.isNaN(logTime(time))) return { kind: 'unparsed', line, why: 'log_time is not a time' };
  return {
    kind: 'audit',
    entry: {
      time,
      role: fields[USER_NAME]!,
      database: fields[DATABASE_NAME]!,
      client: fields[CONNECTION_FROM]!,
      application: fields[APPLICATION_NAME] ?? '',
      auditType,
      auditClass: auditClass!,
      command: command!,
      objectType: objectType!,
      objectName: objectName!,
      statement: statement!,
      line,
    },
  };
}

/** log_time (`YYYY-MM-DD HH:MM:SS.mmm ZONE`; UTC or a numeric offset) as milliseconds since 1970. */
export function logTime(s: string): number {
  const m = /^(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d(?:\.\d+)?) (UTC|GMT|[+-]\d\d(?::?\d\d)?)$/.exec(s);
  if (!m) return Number.NaN;
  const zone =
    m[3] === 'UTC' || m[3] === 'GMT' ? 'Z' : m[3]!.length === 3 ? `${m[3]}:00` : m[3]!.includes(':') ? m[3]! : `${m[3]!.slice(0, 3)}:${m[3]!.slice(3)}`;
  return Date.parse(`${m[1]}T${m[2]}${zone}`);
}

/** `schema.relation` (either part may be double-quoted) -> its parts, unquoted. */
export function splitObjectName(name: string): { schema: string; relation: string } | undefined {
  const parts: string[] = [];
  let i = 0;
  while (i <= name.length) {
    if (name[i] === '"') {
      let s = '';
      i++;
      for (;;) {
        if (i >= name.length) return undefined;
        if (name[i] === '"') {
          if (name[i + 1] === '"') {
            s += '"';
            i += 2;
            continue;
          }
          i++;
          break;
        }
        s += name[i++];
      }
      parts.push(s);
    } else {
      const dot = name.indexOf('.', i);
      const end = dot < 0 ? name.length : dot;
      parts.push(name.slice(i, end));
      i = end;
    }
    if (i >= name.length) break;
    if (name[i] !== '.') return undefined;
    i++;
  }
  if (parts.length !== 2 || parts[0] === '' || parts[1] === '') return undefined;
  return { schema: parts[0]!, relation: parts[1]! };
}
