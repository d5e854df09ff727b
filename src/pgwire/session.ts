// One client connection of the wire gateway: an optional PROXY v2 header from a trusted proxy, the
// startup (SSLRequest answered 'S' and the socket upgraded to TLS when the gateway has a
// certificate, 'N' otherwise; a CancelRequest with another session's key), cleartext-password
// authentication where the password is the caller's bearer token (refused before it is asked for
// where it would cross a network in clear), then the simple and extended query protocols, with
// parameters and results in text or binary. Messages are handled one at a time, in order; an error
// in the extended protocol skips to the next Sync, as PostgreSQL does.

import type { Socket } from 'node:net';
import type { SecureContext } from 'node:tls';
import type { Caller, GatewayReader } from '../gateway/index.js';
import { binaryCell, bindParams, bindResultFormats } from './binary.js';
import type { CancelKeys } from './cancel.js';
import { runSelect, selectTypes } from './execute.js';
import {
  authenticationCleartextPassword,
  authenticationOk,
  backendKeyData,
  bindComplete,
  CANCEL_REQUEST,
  closeComplete,
  commandComplete,
  Cursor,
  dataRow,
  emptyQueryResponse,
  errorResponse,
  FrameError,
  Framer,
  GSSENC_REQUEST,
  noData,
  noticeResponse,
  parameterDescription,
  parameterStatus,
  parseComplete,
  PgError,
  PROTOCOL_3_0,
  readyForQuery,
  rowDescription,
  SSL_REQUEST,
  TEXT_OID,
  type ColumnDescription,
  type FrontendMessage,
  type TransactionStatus,
} from './protocol.js';
import { parseProxyV2 } from './proxy-header.js';
import { Replies } from './replies.js';
import { FORWARDED_FOR_OPTION, optionValue, SessionSettings, transactionStep } from './settings.js';
import { cleartextRefused, startTls } from './tls.js';
import { parseStatements, type Parsed, type Plan, type SelectPlan } from './sql.js';
import type { WireType } from './types.js';

export interface AuthenticateInput {
  readonly user: string;
  /** The password message: the caller's bearer token. */
  readonly password: string;
  readonly remoteAddress: string;
  /** What a trusted proxy says about the client (PROXY header, startup option cordon.forwarded_for), X-Forwarded-For style. */
  readonly forwardedFor: string | undefined;
}

export interface SessionOptions {
  readonly reader: GatewayReader;
  /** Verifies the token and places the connection, as the HTTP server identifies a request; throws on a bad token. */
  authenticate(input: AuthenticateInput): Promise<Caller>;
  /** Whether `address` is a proxy whose PROXY header is believed. */
  isTrustedProxy(address: string): boolean;
  /**
   * Whether a client at `peer` (the TCP peer: no PROXY header came first) may send its password
   * without TLS. Where not, a cleartext startup is refused (28000) before any password is asked
   * for. A connection that came through a trusted proxy's PROXY header is the proxy's to encrypt.
   */
  cleartextAllowed(peer: string): boolean;
  readonly maxMessageBytes?: number;
  /** A connection not logged in after this long is ended (PostgreSQL's authentication_timeout; default 60 s). */
  readonly authenticationTimeoutMs?: number;
  onError?(err: unknown): void;
}

export const DEFAULT_AUTHENTICATION_TIMEOUT_MS = 60_000;

/** What a session gets from its gateway rather than from the caller's options. */
export interface SessionContext {
  /** The gateway's certificate: an SSLRequest is answered 'S' and the connection goes on in TLS. */
  readonly secureContext: SecureContext | undefined;
  /** The gateway's cancel keys: this session's, and the way to cancel another's. */
  readonly cancelKeys: CancelKeys;
}

interface Statement {
  readonly parsed: Parsed | undefined;
  readonly paramTypes: readonly number[];
}
interface Portal {
  readonly statement: Statement;
  readonly params: readonly (string | null)[];
  /** Each result column's format: 0 text, 1 binary. */
  readonly resultFormats: readonly (0 | 1)[];
}

type Phase = 'proxy' | 'startup' | 'password' | 'ready' | 'closed';

export class Session {
  private readonly framer: Framer;
  private phase: Phase = 'proxy';
  /** The socket messages are read from and written to: the TCP one, or the TLS one over it once upgraded. */
  private socket: Socket;
  private encrypted = false;
  /** A PROXY header from a trusted proxy opened the connection. */
  private viaProxy = false;
  /** Each of SSLRequest and GSSENCRequest is answered at most once, as PostgreSQL answers them. */
  private sslAsked = false;
  private gssAsked = false;
  private forwardedFor: string | undefined;
  /** This session's cancel key's process id, once logged in. */
  private pid: number | undefined;
  /** A query (a Query message, or an Execute) is being run: a cancel stops it. */
  private running = false;
  private cancelled = false;
  private user = '';
  private caller: Caller | undefined;
  private tx: TransactionStatus = 'I';
  private skipToSync = false;
  private readonly statements = new Map<string, Statement>();
  private readonly portals = new Map<string, Portal>();
  private readonly types = new WeakMap<SelectPlan, readonly WireType[]>();
  private readonly settings = new SessionSettings();
  private readonly savepoints: string[] = [];
  private queue: Promise<void> = Promise.resolve();
  /** Replies are held while the messages received are handled: see drain(). */
  private readonly replies = new Replies(() => this.socket);

  private readonly login: NodeJS.Timeout;

  constructor(
    private readonly raw: Socket,
    private readonly options: SessionOptions,
    private readonly context: SessionContext,
  ) {
    this.socket = raw;
    this.framer = new Framer(options.maxMessageBytes);
    // A peer that never logs in must not hold a connection (and a file handle the HTTP side shares) for
    // ever; a TLS handshake that never ends is inside this time too.
    this.login = setTimeout(() => {
      if (this.phase !== 'ready' && this.phase !== 'closed') this.fatal(new PgError('08006', 'authentication timeout: the connection did not log in in time'));
    }, options.authenticationTimeoutMs ?? DEFAULT_AUTHENTICATION_TIMEOUT_MS);
    this.login.unref();
    raw.on('data', this.onData);
    raw.on('error', () => this.close());
    raw.on('close', () => {
      clearTimeout(this.login);
      this.phase = 'closed';
      if (this.pid !== undefined) this.context.cancelKeys.release(this.pid);
    });
  }

  private readonly onData = (chunk: Buffer): void => {
    this.framer.push(chunk);
    // Handled in order, one message at a time; a client that sends faster waits.
    this.socket.pause();
    this.queue = this.queue
      .then(() => this.drain())
      .then(
        () => {
          if (this.phase !== 'closed') this.socket.resume();
        },
        (err: unknown) => this.fatal(err),
      );
  };

  /**
   * A CancelRequest with this session's key: the query running now stops before its next page is
   * read, with 57014; rows already sent stay sent (and recorded). Between queries it does nothing.
   */
  cancel(): void {
    if (this.running) this.cancelled = true;
  }

  /** Ends the connection as the gateway closes: what is in flight finishes first. */
  end(): void {
    this.socket.end();
  }

  private write(buf: Buffer): Promise<void> | undefined {
    return this.phase === 'closed' ? undefined : this.replies.write(buf);
  }

  private close(): void {
    this.phase = 'closed';
    if (!this.socket.destroyed) this.replies.release();
    this.socket.destroy();
    this.raw.destroy();
  }

  /** A FATAL error ends the connection; anything but a PgError is reported as an internal error, without its message. */
  private fatal(err: unknown): void {
    if (this.phase === 'closed') return;
    const pg = err instanceof PgError ? err : undefined;
    if (!pg) this.options.onError?.(err);
    // Ended once the error is written, or at once when it cannot be: a paused socket half-closed by
    // end() alone stayed open, and kept the process from shutting down.
    const socket = this.socket;
    const raw = this.raw;
    socket.end(errorResponse({ severity: 'FATAL', code: pg?.sqlstate ?? 'XX000', message: pg?.message ?? 'internal error', detail: pg?.detail }), () =>
      socket.destroy(),
    );
    setTimeout(() => {
      socket.destroy();
      raw.destroy();
    }, 1000).unref();
    this.phase = 'closed';
  }

  /**
   * Handles the whole messages received. Once logged in, replies are held meanwhile and sent in one
   * write when the client waits for them (at Sync, Flush, the end of a simple query, or once no whole
   * message is left), as PostgreSQL buffers its output until then: a query by key is one write, not
   * four (its BindComplete, DataRow, CommandComplete and ReadyForQuery). Holding only delays what is
   * sent: nothing is written before its decisions are durable in the log, held or not.
   */
  private async drain(): Promise<void> {
    try {
      await this.handle();
    } finally {
      this.replies.release();
    }
  }

  private async handle(): Promise<void> {
    for (;;) {
      if (this.phase === 'closed') return;
      if (this.phase === 'proxy') {
        if (!this.proxyHeader()) return;
        continue;
      }
      if (this.phase === 'startup') {
        const body = this.framer.nextStartup();
        if (!body) return;
        await this.startup(body);
        continue;
      }
      const m = this.framer.next();
      if (!m) return;
      if (this.phase === 'password') {
        await this.password(m);
        continue;
      }
      this.replies.hold();
      await this.message(m);
      if (m.type === 'S' || m.type === 'H' || m.type === 'Q') this.replies.release();
    }
  }

  /** A PROXY v2 header opens the stream only from a trusted proxy; a startup packet opens with a zero byte, a header with 0x0D. */
  private proxyHeader(): boolean {
    if (this.framer.pending === 0) return false;
    const peer = this.raw.remoteAddress ?? '';
    if (this.framer.peek(1)[0] !== 0x0d) {
      this.phase = 'startup';
      return true;
    }
    if (!this.options.isTrustedProxy(peer)) throw new FrameError('08P01', 'a PROXY protocol header is accepted only from a trusted proxy');
    const h = parseProxyV2(this.framer.peek(this.framer.pending));
    if (h === undefined) return false;
    if (h instanceof Error) throw new FrameError('08P01', h.message);
    this.framer.take(h.bytes);
    this.viaProxy = true;
    if (h.kind === 'proxy') this.forwardedFor = h.source;
    this.phase = 'startup';
    return true;
  }

  private async startup(body: Buffer): Promise<void> {
    const c = new Cursor(body, 'startup');
    const code = c.int32();
    if (code === SSL_REQUEST) {
      c.end();
      if (this.sslAsked || this.encrypted) throw new FrameError('08P01', 'SSLRequest sent twice, or inside an encrypted connection');
      this.sslAsked = true;
      if (!this.context.secureContext) {
        // No certificate: the client goes on in the clear (and is refused if it may not) or gives up, as it is configured to.
        await this.write(Buffer.from('N'));
        return;
      }
      this.upgrade(this.context.secureContext);
      return;
    }
    if (code === GSSENC_REQUEST) {
      // No GSSAPI encryption: libpq then asks for TLS, or goes on in the clear.
      c.end();
      if (this.gssAsked || this.encrypted) throw new FrameError('08P01', 'GSSENCRequest sent twice, or inside an encrypted connection');
      this.gssAsked = true;
      await this.write(Buffer.from('N'));
      return;
    }
    if (code === CANCEL_REQUEST) {
      // As PostgreSQL: no answer either way (a wrong key learns nothing), and the connection ends.
      if (body.length === 12) this.context.cancelKeys.cancel(c.int32(), c.int32());
      return this.close();
    }
    if (code !== PROTOCOL_3_0) throw new FrameError('0A000', `unsupported frontend protocol ${code >> 16}.${code & 0xffff}: the server supports 3.0`);
    // The password is a bearer token: from where it would cross a network in clear, none is asked for.
    if (!this.encrypted && !this.viaProxy && !this.options.cleartextAllowed(this.raw.remoteAddress ?? ''))
      throw cleartextRefused(this.context.secureContext !== undefined);
    const params = new Map<string, string>();
    for (;;) {
      const name = c.cstring();
      if (name === '') break;
      params.set(name, c.cstring());
    }
    c.end();
    const user = params.get('user');
    if (!user) throw new FrameError('28000', 'no PostgreSQL user name specified in startup packet');
    this.user = user;
    const forwarded = optionValue(params.get('options') ?? '', FORWARDED_FOR_OPTION) ?? params.get(FORWARDED_FOR_OPTION);
    // As X-Forwarded-For: what the client claims comes first, what the proxy saw (PROXY header) last.
    this.forwardedFor = [forwarded, this.forwardedFor].filter((x) => x !== undefined).join(',') || undefined;
    this.settings.fromStartup(params);
    this.phase = 'password';
    await this.write(authenticationCleartextPassword());
  }

  /** Answers 'S' and goes on in TLS (tls.ts says what is refused on the way). */
  private upgrade(secureContext: SecureContext): void {
    this.socket = startTls(this.raw, this.framer, secureContext, this.onData, () => this.close());
    this.encrypted = true;
  }

  private async password(m: FrontendMessage): Promise<void> {
    if (m.type !== 'p') throw new FrameError('08P01', `expected a password message, got message type ${JSON.stringify(m.type)}`);
    const c = new Cursor(m.body, 'password');
    const password = c.cstring();
    c.end();
    let caller: Caller;
    try {
      caller = await this.options.authenticate({
        user: this.user,
        password,
        remoteAddress: this.raw.remoteAddress ?? '',
        forwardedFor: this.forwardedFor,
      });
    } catch (err) {
      if (err instanceof PgError) throw err;
      const code = (err as { code?: unknown }).code;
      if (typeof code === 'string' && code.startsWith('auth.')) {
        const state = code === 'auth.unknown_principal' ? '28000' : '28P01';
        throw new FrameError(state, `password authentication failed for user "${this.user}": ${(err as Error).message}`);
      }
      throw err;
    }
    // Gone while the token was being verified: no session, no cancel key.
    if (this.raw.destroyed) return;
    if (caller.principal.id !== this.user)
      throw new FrameError('28000', `the token names principal "${caller.principal.id}", not the user "${this.user}" of the connection`);
    this.caller = caller;
    this.phase = 'ready';
    const out = [authenticationOk(), ...this.settings.reported().map(([k, v]) => parameterStatus(k, v))];
    // Released when the socket closes (the close comes after this, since the socket is not destroyed yet).
    const key = this.context.cancelKeys.issue(this);
    this.pid = key.pid;
    out.push(backendKeyData(key.pid, key.secret), readyForQuery('I'));
    await this.write(Buffer.concat(out));
  }

  private async message(m: FrontendMessage): Promise<void> {
    if (m.type === 'X') return this.close();
    if (m.type === 'Q') return this.simpleQuery(m.body);
    if (m.type === 'S') {
      this.skipToSync = false;
      await this.write(readyForQuery(this.tx));
      return;
    }
    if (m.type === 'H') return;
    if (!'PBDECd'.includes(m.type) || m.type === 'd')
      throw new FrameError('08P01', `invalid frontend message type ${m.type.charCodeAt(0)} (${JSON.stringify(m.type)})`);
    if (this.skipToSync) return;
    try {
      await this.extended(m);
    } catch (err) {
      if (err instanceof FrameError || !(err instanceof PgError)) throw err;
      this.skipToSync = true;
      if (this.tx === 'T') this.tx = 'E';
      await this.write(errorResponse({ severity: 'ERROR', code: err.sqlstate, message: err.message, detail: err.detail }));
    }
  }

  private async simpleQuery(body: Buffer): Promise<void> {
    const c = new Cursor(body, 'query');
    const sql = c.cstring();
    c.end();
    try {
      this.running = true;
      this.cancelled = false;
      const stmts = parseStatements(sql, this.options.reader.policy);
      if (stmts.length === 0) await this.write(emptyQueryResponse());
      for (const s of stmts) await this.run(s.plan, [], 0, true);
    } catch (err) {
      if (err instanceof FrameError || !(err instanceof PgError)) throw err;
      if (this.tx === 'T') this.tx = 'E';
      await this.write(errorResponse({ severity: 'ERROR', code: err.sqlstate, message: err.message, detail: err.detail }));
    } finally {
      this.running = false;
    }
    await this.write(readyForQuery(this.tx));
  }

  private async extended(m: FrontendMessage): Promise<void> {
    const c = new Cursor(m.body, m.type === 'P' ? 'Parse' : m.type === 'B' ? 'Bind' : m.type === 'D' ? 'Describe' : m.type === 'E' ? 'Execute' : 'Close');
    switch (m.type) {
      case 'P': {
        const name = c.cstring();
        const sql = c.cstring();
        const n = c.int16();
        const paramTypes = Array.from({ length: Math.max(0, n) }, () => c.int32());
        c.end();
        const stmts = parseStatements(sql, this.options.reader.policy);
        if (stmts.length > 1) throw new PgError('42601', 'cannot insert multiple commands into a prepared statement');
        this.statements.set(name, { parsed: stmts[0], paramTypes });
        await this.write(parseComplete());
        return;
      }
      case 'B': {
        const portal = c.cstring();
        const statement = this.statementNamed(c.cstring());
        const formats = Array.from({ length: Math.max(0, c.int16()) }, () => c.int16());
        const n = c.int16();
        const raw: (Buffer | null)[] = [];
        for (let i = 0; i < n; i++) {
          const len = c.int32();
          if (len < -1) throw new FrameError('08P01', `invalid length ${len} of parameter $${i + 1}`);
          raw.push(len === -1 ? null : c.bytes(len));
        }
        const results = Array.from({ length: Math.max(0, c.int16()) }, () => c.int16());
        c.end();
        const wanted = Math.max(statement.parsed?.params ?? 0, statement.paramTypes.length);
        if (n !== wanted) throw new PgError('08P01', `bind message supplies ${n} parameters, but prepared statement requires ${wanted}`);
        const params = bindParams(raw, formats, statement.paramTypes);
        const resultFormats = bindResultFormats(this.columnsOf(statement.parsed?.plan) ?? [], results);
        this.portals.set(portal, { statement, params, resultFormats });
        await this.write(bindComplete());
        return;
      }
      case 'D': {
        const kind = c.byte();
        const name = c.cstring();
        c.end();
        if (kind === 'S') {
          const s = this.statementNamed(name);
          const n = Math.max(s.parsed?.params ?? 0, s.paramTypes.length);
          const oids = Array.from({ length: n }, (_, i) => s.paramTypes[i] || TEXT_OID);
          await this.write(Buffer.concat([parameterDescription(oids), this.describe(s.parsed?.plan)]));
        } else if (kind === 'P') {
          const p = this.portalNamed(name);
          await this.write(this.describe(p.statement.parsed?.plan, p.resultFormats));
        } else throw new FrameError('08P01', `invalid Describe message subtype ${JSON.stringify(kind)}`);
        return;
      }
      case 'E': {
        const name = c.cstring();
        const maxRows = c.int32();
        c.end();
        const p = this.portalNamed(name);
        if (!p.statement.parsed) {
          await this.write(emptyQueryResponse());
          return;
        }
        this.running = true;
        this.cancelled = false;
        try {
          await this.run(p.statement.parsed.plan, p.params, maxRows, false, p.resultFormats);
        } finally {
          this.running = false;
        }
        return;
      }
      case 'C': {
        const kind = c.byte();
        const name = c.cstring();
        c.end();
        if (kind === 'S') this.statements.delete(name);
        else if (kind === 'P') this.portals.delete(name);
        else throw new FrameError('08P01', `invalid Close message subtype ${JSON.stringify(kind)}`);
        await this.write(closeComplete());
        return;
      }
    }
  }

  private statementNamed(name: string): Statement {
    const s = this.statements.get(name);
    if (!s) throw new PgError('26000', `prepared statement "${name}" does not exist`);
    return s;
  }

  private portalNamed(name: string): Portal {
    const p = this.portals.get(name);
    if (!p) throw new PgError('34000', `portal "${name}" does not exist`);
    return p;
  }

  /**
   * A select's column types for this caller, decided once per plan: the Describe of a prepared
   * statement and its Executes send the same types (a read that would break them is refused, execute.ts).
   */
  private typesOf(plan: SelectPlan): readonly WireType[] {
    let types = this.types.get(plan);
    if (!types) {
      types = selectTypes(this.options.reader, this.caller!, plan);
      this.types.set(plan, types);
    }
    return types;
  }

  /** The columns `plan` returns (names and type OIDs), or undefined for a statement that returns no rows. */
  private columnsOf(plan: Plan | undefined): ColumnDescription[] | undefined {
    if (plan?.kind === 'select') {
      const types = this.typesOf(plan);
      return plan.columns.map((c, i) => ({ name: c.name, typeOid: types[i]!.oid, typlen: types[i]!.typlen }));
    }
    if (plan?.kind === 'rows') return [...plan.columns];
    const cols = plan?.kind === 'values' ? plan.columns.map((c) => c.name) : plan?.kind === 'show' ? [plan.name] : undefined;
    return cols?.map((name) => ({ name, typeOid: TEXT_OID }));
  }

  /** The RowDescription of `plan`'s columns in `formats` (a portal's; text where absent), or NoData. */
  private describe(plan: Plan | undefined, formats: readonly (0 | 1)[] = []): Buffer {
    const cols = this.columnsOf(plan);
    return cols ? rowDescription(cols.map((c, i) => ({ ...c, format: formats[i] ?? 0 }))) : noData();
  }

  /**
   * Runs one statement; `describe` (simple protocol) sends the RowDescription before the first row.
   * Cells go out in `formats` (a portal's result formats; text where absent).
   */
  private async run(plan: Plan, params: readonly (string | null)[], maxRows: number, describe: boolean, formats: readonly (0 | 1)[] = []): Promise<void> {
    const columns = formats.includes(1) ? this.columnsOf(plan) : undefined;
    const encoders = columns?.map((c, i) => (formats[i] === 1 ? (text: string) => binaryCell(c.typeOid, text) : undefined));
    const row = (cells: readonly (string | null)[]) => dataRow(cells, encoders);
    if (this.tx === 'E' && !(plan.kind === 'transaction' && plan.tag !== 'BEGIN'))
      throw new PgError('25P02', 'current transaction is aborted, commands ignored until end of transaction block');
    let described = !describe;
    const header = (): Buffer[] => {
      if (described) return [];
      described = true;
      return [this.describe(plan)];
    };
    switch (plan.kind) {
      case 'transaction': {
        const step = transactionStep(plan, this.tx, this.savepoints);
        this.tx = step.tx;
        await this.write(commandComplete(step.tag));
        return;
      }
      case 'set': {
        const changed = this.settings.set(plan.name, plan.value);
        await this.write(Buffer.concat([...changed.map(([k, v]) => parameterStatus(k, v)), commandComplete(plan.name === undefined ? 'RESET' : 'SET')]));
        return;
      }
      case 'show':
        await this.write(Buffer.concat([...header(), row([this.settings.show(plan.name)]), commandComplete('SHOW')]));
        return;
      case 'rows': {
        // A catalog query's rows are made for this session and these parameters (catalog.ts).
        const rows = plan.rows({ user: this.user, settings: this.settings }, params);
        await this.write(Buffer.concat([...header(), ...rows.map(row), commandComplete(`SELECT ${rows.length}`)]));
        return;
      }
      case 'values': {
        const cells = plan.columns.map((col) => this.settings.value(col.value, this.user));
        await this.write(Buffer.concat([...header(), row(cells), commandComplete('SELECT 1')]));
        return;
      }
      case 'select': {
        // A row limit (a cursor's fetch size) would have rows decided and logged as released that the
        // client may never fetch (W5: a record says released only for what was), so it is refused
        // before anything is read.
        if (maxRows > 0)
          throw new PgError(
            '0A000',
            `an Execute with a row limit (${maxRows}) on a dataset is not supported: every row cordon decides is logged as released, so it sends them all; execute with no limit (0), or use LIMIT`,
          );
        if (this.cancelled) throw canceled();
        const result = await runSelect(this.options.reader, this.caller!, plan, this.typesOf(plan), params, {
          // A cancel is a client that wants no more: nothing further is read or recorded (W5).
          closed: () => this.phase === 'closed' || this.socket.destroyed || this.cancelled,
          send: async (rows) => {
            await this.write(Buffer.concat([...header(), ...rows.map(row)]));
            this.replies.sendSoon();
          },
        });
        if (this.cancelled) throw canceled();
        const notice = result.notice ? [noticeResponse(result.notice)] : [];
        await this.write(Buffer.concat([...header(), ...notice, commandComplete(`SELECT ${result.count}`)]));
        return;
      }
    }
  }
}

const canceled = () => new PgError('57014', 'canceling statement due to user request');
