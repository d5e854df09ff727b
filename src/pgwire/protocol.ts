// PostgreSQL's frontend/backend protocol 3.0, the framing only: splitting the byte stream into
// messages (with limits, so a peer cannot make the gateway buffer without bound), reading their
// fields with bounds checks, and writing the backend messages the gateway sends.
// Reference: https://www.postgresql.org/docs/current/protocol-message-formats.html

import { CordonError } from '../shared/errors.js';

/** Protocol 3.0 in a StartupMessage. */
export const PROTOCOL_3_0 = 196608;
export const SSL_REQUEST = 80877103;
export const GSSENC_REQUEST = 80877104;
export const CANCEL_REQUEST = 80877102;
/** PostgreSQL's own limit on a startup packet (MAX_STARTUP_PACKET_LENGTH). */
export const MAX_STARTUP_BYTES = 10_000;
export const DEFAULT_MAX_MESSAGE_BYTES = 1024 * 1024;

/** An error the client is told as an ErrorResponse with its SQLSTATE; the connection stays usable. */
export class PgError extends CordonError {
  constructor(
    readonly sqlstate: string,
    message: string,
    readonly detail?: string,
  ) {
    super('pgwire.refused', message);
    this.name = 'PgError';
  }
}

/** A protocol error: the message is not what the protocol allows. The connection ends (FATAL), as PostgreSQL ends it. */
export class FrameError extends PgError {
  constructor(sqlstate: string, message: string) {
    super(sqlstate, message);
    this.name = 'FrameError';
  }
}

export interface FrontendMessage {
  /** The type byte as a character ('Q', 'P', ...). */
  readonly type: string;
  readonly body: Buffer;
}

/**
 * Splits bytes into messages. The first message of a connection has no type byte (startup, SSL
 * and cancel requests); every later one has. A length below its minimum or above the limit is a
 * FrameError as soon as the length is read, before the body is waited for.
 */
export class Framer {
  private buf: Buffer = Buffer.alloc(0);
  constructor(private readonly maxMessageBytes = DEFAULT_MAX_MESSAGE_BYTES) {}

  push(chunk: Buffer): void {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
  }

  /** Bytes received and not yet taken. */
  get pending(): number {
    return this.buf.length;
  }

  /** Takes `n` raw bytes (a PROXY protocol header), or undefined until they have arrived. */
  take(n: number): Buffer | undefined {
    if (this.buf.length < n) return undefined;
    const out = this.buf.subarray(0, n);
    this.buf = this.buf.subarray(n);
    return out;
  }

  peek(n: number): Buffer {
    return this.buf.subarray(0, n);
  }

  /** The body of a startup-phase packet (after its length), or undefined until it is whole. */
  nextStartup(): Buffer | undefined {
    if (this.buf.length < 4) return undefined;
    const len = this.buf.readInt32BE(0);
    if (len < 8 || len > MAX_STARTUP_BYTES) throw new FrameError('08P01', `invalid length of startup packet: ${len}`);
    if (this.buf.length < len) return undefined;
    const body = this.buf.subarray(4, len);
    this.buf = this.buf.subarray(len);
    return body;
  }

  /** The next typed message, or undefined until it is whole. */
  next(): FrontendMessage | undefined {
    if (this.buf.length < 5) return undefined;
    const len = this.buf.readInt32BE(1);
    if (len < 4) throw new FrameError('08P01', `invalid message length ${len}`);
    if (len > this.maxMessageBytes) throw new FrameError('54000', `message of ${len} bytes is longer than the limit of ${this.maxMessageBytes}`);
    if (this.buf.length < len + 1) return undefined;
    const type = String.fromCharCode(this.buf[0]!);
    const body = this.buf.subarray(5, len + 1);
    this.buf = this.buf.subarray(len + 1);
    return { type, body };
  }
}

/** Reads a message body's fields; a read past its end or an unterminated string is a FrameError (08P01). */
export class Cursor {
  private at = 0;
  constructor(
    private readonly body: Buffer,
    private readonly what: string,
  ) {}
  private need(n: number): void {
    if (n < 0 || this.at + n > this.body.length) throw new FrameError('08P01', `invalid ${this.what} message: it ends early`);
  }
  int16(): number {
    this.need(2);
    const v = this.body.readInt16BE(this.at);
    this.at += 2;
    return v;
  }
  int32(): number {
    this.need(4);
    const v = this.body.readInt32BE(this.at);
    this.at += 4;
    return v;
  }
  byte(): string {
    this.need(1);
    return String.fromCharCode(this.body[this.at++]!);
  }
  bytes(n: number): Buffer {
    this.need(n);
    const v = this.body.subarray(this.at, this.at + n);
    this.at += n;
    return v;
  }
  /** A NUL-terminated UTF-8 string. */
  cstring(): string {
    const end = this.body.indexOf(0, this.at);
    if (end < 0) throw new FrameError('08P01', `invalid ${this.what} message: a string is not terminated`);
    const s = this.body.toString('utf8', this.at, end);
    this.at = end + 1;
    return s;
  }
  get done(): boolean {
    return this.at === this.body.length;
  }
  /** Throws unless every byte was read (a message with trailing bytes is malformed). */
  end(): void {
    if (this.at !== this.body.length) throw new FrameError('08P01', `invalid ${this.what} message: ${this.body.length - this.at} bytes too many`);
  }
}

// Backend messages.

function message(type: string, body: Buffer): Buffer {
  const out = Buffer.allocUnsafe(5 + body.length);
  out[0] = type.charCodeAt(0);
  out.writeInt32BE(body.length + 4, 1);
  body.copy(out, 5);
  return out;
}
const cstr = (s: string): Buffer => Buffer.from(`${s}\u0000`, 'utf8');
const int16 = (n: number): Buffer => {
  const b = Buffer.allocUnsafe(2);
  b.writeInt16BE(n);
  return b;
};
const int32 = (n: number): Buffer => {
  const b = Buffer.allocUnsafe(4);
  b.writeInt32BE(n);
  return b;
};

export const authenticationOk = (): Buffer => message('R', int32(0));
export const authenticationCleartextPassword = (): Buffer => message('R', int32(3));
export const parameterStatus = (name: string, value: string): Buffer => message('S', Buffer.concat([cstr(name), cstr(value)]));
export const backendKeyData = (pid: number, secret: number): Buffer => message('K', Buffer.concat([int32(pid), int32(secret)]));
export type TransactionStatus = 'I' | 'T' | 'E';
export const readyForQuery = (status: TransactionStatus): Buffer => message('Z', Buffer.from(status, 'latin1'));
export const commandComplete = (tag: string): Buffer => message('C', cstr(tag));
export const emptyQueryResponse = (): Buffer => message('I', Buffer.alloc(0));
export const parseComplete = (): Buffer => message('1', Buffer.alloc(0));
export const bindComplete = (): Buffer => message('2', Buffer.alloc(0));
export const closeComplete = (): Buffer => message('3', Buffer.alloc(0));
export const noData = (): Buffer => message('n', Buffer.alloc(0));
export const portalSuspended = (): Buffer => message('s', Buffer.alloc(0));
export const parameterDescription = (oids: readonly number[]): Buffer => message('t', Buffer.concat([int16(oids.length), ...oids.map(int32)]));

export interface ColumnDescription {
  readonly name: string;
  readonly typeOid: number;
  /** The type's length in bytes (-1: variable, the default). */
  readonly typlen?: number;
  /** The format its cells are sent in: 0 text (the default), 1 binary. */
  readonly format?: 0 | 1;
}
/** The text type (types.ts decides when a column is another). */
export const TEXT_OID = 25;

export function rowDescription(columns: readonly ColumnDescription[]): Buffer {
  const parts: Buffer[] = [int16(columns.length)];
  for (const c of columns) {
    const meta = Buffer.alloc(18);
    // table oid 0, attribute 0, type oid, typlen, typmod -1, format
    meta.writeInt32BE(0, 0);
    meta.writeInt16BE(0, 4);
    meta.writeInt32BE(c.typeOid, 6);
    meta.writeInt16BE(c.typlen ?? -1, 10);
    meta.writeInt32BE(-1, 12);
    meta.writeInt16BE(c.format ?? 0, 16);
    parts.push(cstr(c.name), meta);
  }
  return message('T', Buffer.concat(parts));
}

/** A row of cells given as text; null is SQL NULL. A column with an encoder is sent as what it makes of the text (binary format). */
export function dataRow(cells: readonly (string | null)[], encoders?: readonly (((text: string) => Buffer) | undefined)[]): Buffer {
  const parts: Buffer[] = [int16(cells.length)];
  cells.forEach((c, i) => {
    if (c === null) parts.push(int32(-1));
    else {
      const encode = encoders?.[i];
      const b = encode ? encode(c) : Buffer.from(c, 'utf8');
      parts.push(int32(b.length), b);
    }
  });
  return message('D', Buffer.concat(parts));
}

export interface Report {
  readonly severity: 'ERROR' | 'FATAL' | 'NOTICE';
  readonly code: string;
  readonly message: string;
  readonly detail?: string;
  readonly hint?: string;
}

function fields(r: Report): Buffer {
  const parts = [Buffer.from('S'), cstr(r.severity), Buffer.from('V'), cstr(r.severity), Buffer.from('C'), cstr(r.code), Buffer.from('M'), cstr(r.message)];
  if (r.detail !== undefined) parts.push(Buffer.from('D'), cstr(r.detail));
  if (r.hint !== undefined) parts.push(Buffer.from('H'), cstr(r.hint));
  parts.push(Buffer.alloc(1));
  return Buffer.concat(parts);
}
export const errorResponse = (r: Report): Buffer => message('E', fields(r));
export const noticeResponse = (r: Report): Buffer => message('N', fields(r));
