// One client connection of the wire gateway: an optional PROXY v2 header from a trusted proxy, the
// startup (SSLRequest answered 'N'), cleartext-password authentication where the password is the
// caller's bearer token, then the simple and extended query protocols. Messages are handled one at
// a time, in order; an error in the extended protocol skips to the next Sync, as PostgreSQL does.

import { once } from 'node:events';
import { randomInt } from 'node:crypto';
import type { Socket } from 'node:net';
import type { Caller, GatewayReader } from '../gateway/index.js';
import { runSelect } from './execute.js';
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
  type FrontendMessage,
  type TransactionStatus,
} from './protocol.js';
import { parseProxyV2 } from './proxy-header.js';
import { SessionSettings } from './settings.js';
import { parseStatements, type Parsed, type Plan, type SelectPlan } from './sql.js';
import { wireType, type WireType } from './types.js';

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
  readonly maxMessageBytes?: number;
  /** A connection not logged in after this long is ended (PostgreSQL's authentication_timeout; default 60 s). */
  readonly authenticationTimeoutMs?: number;
  onError?(err: unknown): void;
}

export const DEFAULT_AUTHENTICATION_TIMEOUT_MS = 60_000;

/** The startup option that names the client's address, believed only from a trusted proxy (as X-Forwarded-For). */
export const FORWARDED_FOR_OPTION = 'cordon.forwarded_for';

interface Statement {
  readonly parsed: Parsed | undefined;
  readonly paramTypes: readonly number[];
}
interface Portal {
  readonly statement: Statement;
  readonly params: readonly (string | null)[];
}

type Phase = 'proxy' | 'startup' | 'password' | 'ready' | 'closed';

export class Session {
  private readonly framer: Framer;
  private phase: Phase = 'proxy';
  private forwardedFor: string | undefined;
  private user = '';
  private caller: Caller | undefined;
  private tx: TransactionStatus = 'I';
  private skipToSync = false;
  private readonly statements = new Map<string, Statement>();
  private readonly portals = new Map<string, Portal>();
  private readonly types = new WeakMap<SelectPlan, readonly WireType[]>();
  private readonly settings = new SessionSettings();
  private queue: Promise<void> = Promise.resolve();
  /** Replies are being held (the socket is corked): see drain(). */
  private holding = false;

  constructor(
    private readonly socket: Socket,
    private readonly options: SessionOptions,
  ) {
    this.framer = new Framer(options.maxMessageBytes);
    // A peer that never logs in must not hold a connection (and a file handle the HTTP side shares) for ever.
    const login = setTimeout(() => {
      if (this.phase !== 'ready' && this.phase !== 'closed') this.fatal(new PgError('08006', 'authentication timeout: the connection did not log in in time'));
    }, options.authenticationTimeoutMs ?? DEFAULT_AUTHENTICATION_TIMEOUT_MS);
    login.unref();
    socket.on('data', (chunk: Buffer) => {
      this.framer.push(chunk);
      // Handled in order, one message at a time; a client that sends faster waits.
      socket.pause();
      this.queue = this.queue
        .then(() => this.drain())
        .then(
          () => {
            if (this.phase !== 'closed') socket.resume();
          },
          (err: unknown) => this.fatal(err),
        );
    });
    socket.on('error', () => this.close());
    socket.on('close', () => {
      clearTimeout(login);
      this.phase = 'closed';
    });
  }

  private write(buf: Buffer): Promise<void> | undefined {
    if (this.phase === 'closed' || this.socket.destroyed) return undefined;
    if (this.socket.write(buf)) return undefined;
    // Held bytes never drain: they go out now, and holding resumes once the client has taken them.
    const held = this.holding;
    this.release();
    return once(this.socket, 'drain').then(() => {
      if (held) this.hold();
    });
  }

  private hold(): void {
    if (this.holding) return;
    this.holding = true;
    this.socket.cork();
  }

  /** Sends what is held, in one write. */
  private release(): void {
    if (!this.holding) return;
    this.holding = false;
    this.socket.uncork();
  }

  /**
   * Sends what is held once this turn of the event loop is done: a long result's rows go out page by
   * page while the next page is read, and a query by key still ends in one write (its last row,
   * CommandComplete and ReadyForQuery are written in the same turn).
   */
  private sendSoon(): void {
    process.nextTick(() => {
      if (!this.holding) return;
      this.release();
      this.hold();
    });
  }

  private close(): void {
    this.phase = 'closed';
    if (!this.socket.destroyed) this.release();
    this.socket.destroy();
  }

  /** A FATAL error ends the connection; anything but a PgError is reported as an internal error, without its message. */
  private fatal(err: unknown): void {
    if (this.phase === 'closed') return;
    const pg = err instanceof PgError ? err : undefined;
    if (!pg) this.options.onError?.(err);
    // Ended once the error is written, or at once when it cannot be: a paused socket half-closed by
    // end() alone stayed open, and kept the process from shutting down.
    const socket = this.socket;
    socket.end(errorResponse({ severity: 'FATAL', code: pg?.sqlstate ?? 'XX000', message: pg?.message ?? 'internal error' }), () => socket.destroy());
    setTimeout(() => socket.destroy(), 1000).unref();
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
      this.release();
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
      this.hold();
      await this.message(m);
      if (m.type === 'S' || m.type === 'H' || m.type === 'Q') this.release();
    }
  }

  /** A PROXY v2 header opens the stream only from a trusted proxy; a startup packet opens with a zero byte, a header with 0x0D. */
  private proxyHeader(): boolean {
    if (this.framer.pending === 0) return false;
    const peer = this.socket.remoteAddress ?? '';
    if (this.framer.peek(1)[0] !== 0x0d) {
      this.phase = 'startup';
      return true;
    }
    if (!this.options.isTrustedProxy(peer)) throw new FrameError('08P01', 'a PROXY protocol header is accepted only from a trusted proxy');
    const h = parseProxyV2(this.framer.peek(this.framer.pending));
    if (h === undefined) return false;
    if (h instanceof Error) throw new FrameError('08P01', h.message);
    this.framer.take(h.bytes);
    if (h.kind === 'proxy') this.forwardedFor = h.source;
    this.phase = 'startup';
    return true;
  }

  private async startup(body: Buffer): Promise<void> {
    const c = new Cursor(body, 'startup');
    const code = c.int32();
    if (code === SSL_REQUEST || code === GSSENC_REQUEST) {
      // No TLS yet: the client goes on in the clear or gives up, as it is configured to.
      c.end();
      await this.write(Buffer.from('N'));
      return;
    }
    if (code === CANCEL_REQUEST) return this.close();
    if (code !== PROTOCOL_3_0) throw new FrameError('0A000', `unsupported frontend protocol ${code >> 16}.${code & 0xffff}: the server supports 3.0`);
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
        remoteAddress: this.socket.remoteAddress ?? '',
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
    if (caller.principal.id !== this.user)
      throw new FrameError('28000', `the token names principal "${caller.principal.id}", not the user "${this.user}" of the connection`);
    this.caller = caller;
    this.phase = 'ready';
    const out = [authenticationOk(), ...this.settings.reported().map(([k, v]) => parameterStatus(k, v))];
    out.push(backendKeyData(randomInt(1, 2 ** 31 - 1), randomInt(0, 2 ** 31 - 1)), readyForQuery('I'));
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
      const stmts = parseStatements(sql, this.options.reader.policy);
      if (stmts.length === 0) await this.write(emptyQueryResponse());
      for (const s of stmts) await this.run(s.plan, [], 0, true);
    } catch (err) {
      if (err instanceof FrameError || !(err instanceof PgError)) throw err;
      if (this.tx === 'T') this.tx = 'E';
      await this.write(errorResponse({ severity: 'ERROR', code: err.sqlstate, message: err.message, detail: err.detail }));
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
        const params: (string | null)[] = [];
        for (let i = 0; i < n; i++) {
          const len = c.int32();
          if (len < -1) throw new FrameError('08P01', `invalid length ${len} of parameter $${i + 1}`);
          const format = formats.length === 1 ? formats[0] : formats[i];
          if (format !== undefined && format !== 0)
            throw new PgError('0A000', `binary parameters ($${i + 1}) are not supported by the cordon wire gateway yet`);
          params.push(len === -1 ? null : c.bytes(len).toString('utf8'));
        }
        const results = Array.from({ length: Math.max(0, c.int16()) }, () => c.int16());
        c.end();
        if (results.some((f) => f !== 0)) throw new PgError('0A000', 'binary results are not supported by the cordon wire gateway yet');
        const wanted = Math.max(statement.parsed?.params ?? 0, statement.paramTypes.length);
        if (params.length !== wanted)
          throw new PgError('08P01', `bind message supplies ${params.length} parameters, but prepared statement requires ${wanted}`);
        this.portals.set(portal, { statement, params });
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
        } else if (kind === 'P') await this.write(this.describe(this.portalNamed(name).statement.parsed?.plan));
        else throw new FrameError('08P01', `invalid Describe message subtype ${JSON.stringify(kind)}`);
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
        await this.run(p.statement.parsed.plan, p.params, maxRows, false);
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
      types = plan.columns.map((c) => wireType(this.options.reader, this.caller!, plan.dataset, c.field));
      this.types.set(plan, types);
    }
    return types;
  }

  private describe(plan: Plan | undefined): Buffer {
    if (plan?.kind === 'select') {
      const types = this.typesOf(plan);
      return rowDescription(plan.columns.map((c, i) => ({ name: c.name, typeOid: types[i]!.oid, typlen: types[i]!.typlen })));
    }
    if (plan?.kind === 'rows') return rowDescription(plan.columns);
    const cols = plan?.kind === 'values' ? plan.columns.map((c) => c.name) : plan?.kind === 'show' ? [plan.name] : undefined;
    return cols ? rowDescription(cols.map((name) => ({ name, typeOid: TEXT_OID }))) : noData();
  }

  /** Runs one statement; `describe` (simple protocol) sends the RowDescription before the first row. */
  private async run(plan: Plan, params: readonly (string | null)[], maxRows: number, describe: boolean): Promise<void> {
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
        const tag = plan.tag === 'COMMIT' && this.tx === 'E' ? 'ROLLBACK' : plan.tag;
        this.tx = plan.tag === 'BEGIN' ? 'T' : 'I';
        await this.write(commandComplete(tag));
        return;
      }
      case 'set': {
        const changed = this.settings.set(plan.name, plan.value);
        await this.write(Buffer.concat([...changed.map(([k, v]) => parameterStatus(k, v)), commandComplete(plan.name === undefined ? 'RESET' : 'SET')]));
        return;
      }
      case 'show':
        await this.write(Buffer.concat([...header(), dataRow([this.settings.show(plan.name)]), commandComplete('SHOW')]));
        return;
      case 'rows':
        await this.write(Buffer.concat([...header(), ...plan.rows.map(dataRow), commandComplete(`SELECT ${plan.rows.length}`)]));
        return;
      case 'values': {
        const row = plan.columns.map((col) => this.settings.value(col.value, this.user));
        await this.write(Buffer.concat([...header(), dataRow(row), commandComplete('SELECT 1')]));
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
        const result = await runSelect(this.options.reader, this.caller!, plan, this.typesOf(plan), params, {
          closed: () => this.phase === 'closed' || this.socket.destroyed,
          send: async (rows) => {
            await this.write(Buffer.concat([...header(), ...rows.map(dataRow)]));
            this.sendSoon();
          },
        });
        const notice = result.notice ? [noticeResponse(result.notice)] : [];
        await this.write(Buffer.concat([...header(), ...notice, commandComplete(`SELECT ${result.count}`)]));
        return;
      }
    }
  }
}

/** The value of `-c name=value` (or `--name=value`) in a startup `options` string (backslash escapes spaces). */
export function optionValue(options: string, name: string): string | undefined {
  const words = options.match(/(?:\\.|\S)+/g)?.map((w) => w.replace(/\\(.)/g, '$1')) ?? [];
  for (let i = 0; i < words.length; i++) {
    const w = words[i]!;
    const setting = w === '-c' ? words[++i] : w.startsWith('-c') ? w.slice(2) : w.startsWith('--') ? w.slice(2) : undefined;
    const at = setting?.indexOf('=') ?? -1;
    if (setting !== undefined && at > 0 && setting.slice(0, at) === name) return setting.slice(at + 1);
  }
  return undefined;
}
