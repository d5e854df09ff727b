// A connection's run-time parameters: what the server reports at startup (ParameterStatus), what
// SET and RESET change and SHOW and current_setting() read. Clients check a few of these before
// they send a query (server_version, standard_conforming_strings, client_encoding, integer_datetimes).
// And the session statements themselves, planned and stepped here: SET, SHOW, and the transaction
// statements with savepoints (reads change nothing, so a transaction is only a state the client sees).

import { child, constText, list, type Node } from './ast.js';
import { PgError, type TransactionStatus } from './protocol.js';
import type { ConstValue } from './sql.js';

/** The PostgreSQL version the gateway speaks as (psql and drivers read the number); the rest says what it is. */
export const SERVER_VERSION = '16.0 (cordon wire gateway)';
const VERSION_TEXT = `PostgreSQL ${SERVER_VERSION}: a cordon gateway; every cell is decided by cordon's rules and logged`;

const DEFAULTS: Readonly<Record<string, string>> = {
  server_version: SERVER_VERSION,
  server_version_num: '160000',
  server_encoding: 'UTF8',
  client_encoding: 'UTF8',
  datestyle: 'ISO, MDY',
  intervalstyle: 'postgres',
  timezone: 'UTC',
  integer_datetimes: 'on',
  standard_conforming_strings: 'on',
  application_name: '',
  is_superuser: 'off',
  search_path: '"$user", public',
  transaction_isolation: 'read committed',
  default_transaction_read_only: 'on',
  transaction_read_only: 'on',
  max_identifier_length: '63',
  extra_float_digits: '1',
  default_transaction_isolation: 'read committed',
  default_transaction_deferrable: 'off',
  transaction_deferrable: 'off',
  statement_timeout: '0',
  lock_timeout: '0',
  idle_in_transaction_session_timeout: '0',
  lc_collate: 'C',
  lc_ctype: 'C',
  // Limits clients read (pgJDBC's foreign-key queries need max_index_keys).
  max_index_keys: '32',
  max_function_args: '100',
  block_size: '8192',
};
/** Parameters reported to the client at startup and whenever they change (PostgreSQL's GUC_REPORT set), with their spelling. */
const REPORTED: Readonly<Record<string, string>> = {
  server_version: 'server_version',
  server_encoding: 'server_encoding',
  client_encoding: 'client_encoding',
  application_name: 'application_name',
  datestyle: 'DateStyle',
  intervalstyle: 'IntervalStyle',
  timezone: 'TimeZone',
  integer_datetimes: 'integer_datetimes',
  standard_conforming_strings: 'standard_conforming_strings',
  is_superuser: 'is_superuser',
  session_authorization: 'session_authorization',
};
/** Fixed by the server: the parser reads strings one way, and the text goes out as UTF-8. */
const FIXED = new Set([
  'server_version',
  'server_version_num',
  'server_encoding',
  'integer_datetimes',
  'is_superuser',
  'max_identifier_length',
  'lc_collate',
  'lc_ctype',
  'max_index_keys',
  'max_function_args',
  'block_size',
]);
/** SET SESSION CHARACTERISTICS AS TRANSACTION … and SET TRANSACTION …: the parameters their clauses set. */
const CHARACTERISTICS: Readonly<Record<string, Readonly<Record<string, string>>>> = {
  'SESSION CHARACTERISTICS': {
    transaction_isolation: 'default_transaction_isolation',
    transaction_read_only: 'default_transaction_read_only',
    transaction_deferrable: 'default_transaction_deferrable',
  },
  TRANSACTION: {
    transaction_isolation: 'transaction_isolation',
    transaction_read_only: 'transaction_read_only',
    transaction_deferrable: 'transaction_deferrable',
  },
};

export class SessionSettings {
  private readonly values = new Map<string, string>(Object.entries(DEFAULTS));
  /** The parameters the client set in its startup packet (pg_settings' source "client"). */
  private readonly fromClient = new Set<string>();
  private database = '';

  /** Startup parameters other than user, database and options are settings, as PostgreSQL takes them. */
  fromStartup(params: ReadonlyMap<string, string>): void {
    const user = params.get('user') ?? '';
    this.database = params.get('database') ?? user;
    this.values.set('session_authorization', user);
    for (const [k, v] of params) {
      if (k === 'user' || k === 'database' || k === 'options' || k === 'replication' || k.includes('.')) continue;
      const name = k.toLowerCase();
      this.check(name, v);
      this.values.set(name, name === 'client_encoding' ? canonicalEncoding(v) : v);
      this.fromClient.add(name);
    }
  }

  private check(name: string, value: string): void {
    if (name === 'client_encoding' && !/^(utf-?8|unicode|sql_ascii)$/i.test(value))
      throw new PgError('22023', `client_encoding ${value} is not supported: use UTF8`);
    if (name === 'standard_conforming_strings' && value.toLowerCase() !== 'on')
      throw new PgError('0A000', 'standard_conforming_strings can only be on in the cordon wire gateway');
    if (FIXED.has(name) && value !== DEFAULTS[name]) throw new PgError('55P02', `parameter "${name}" cannot be changed`);
  }

  /** The reported parameters as the client is told them at startup. */
  reported(): [string, string][] {
    return Object.entries(REPORTED).map(([k, spelled]) => [spelled, this.values.get(k) ?? '']);
  }

  /** SET name = value (value undefined: RESET name; name undefined: RESET ALL). Returns the reported parameters that changed. */
  set(name: string | undefined, value: string | undefined): [string, string][] {
    const before = new Map(this.reported());
    if (name === undefined) {
      for (const [k, v] of Object.entries(DEFAULTS)) this.values.set(k, v);
      this.fromClient.clear();
    } else if (CHARACTERISTICS[name] && value !== undefined) {
      // name=value pairs (planSet): each clause's parameter; every transaction reads alike here.
      for (const pair of value.split(',')) {
        const [k, v] = pair.split('=');
        const target = CHARACTERISTICS[name]![k ?? ''];
        if (target && v !== undefined) this.values.set(target, v);
      }
    } else {
      const k = name.toLowerCase();
      const v = value ?? DEFAULTS[k] ?? '';
      this.check(k, v);
      this.values.set(k, k === 'client_encoding' ? canonicalEncoding(v) : v);
      this.fromClient.delete(k);
    }
    return this.reported().filter(([k, v]) => before.get(k) !== v);
  }

  /** Every parameter: name, value, where it comes from (pg_settings' source), its default. */
  entries(): [string, string, 'default' | 'client' | 'session', string][] {
    return [...this.values]
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([k, v]) => [k, v, v === (DEFAULTS[k] ?? v) ? 'default' : this.fromClient.has(k) ? 'client' : 'session', DEFAULTS[k] ?? v]);
  }

  show(name: string): string {
    const v = this.values.get(name.toLowerCase());
    if (v === undefined) throw new PgError('42704', `unrecognized configuration parameter "${name}"`);
    return v;
  }

  value(v: ConstValue, user: string): string | null {
    if ('text' in v) return v.text;
    switch (v.fn) {
      case 'version':
        return VERSION_TEXT;
      case 'current_user':
        return user;
      case 'current_database':
        return this.database;
      case 'current_schema':
        return 'public';
      case 'setting':
        return this.show(v.arg ?? '');
    }
  }
}

/** UTF8 for its spellings; SQL_ASCII (no conversion: the UTF-8 bytes pass as they are) as SQL_ASCII. */
const canonicalEncoding = (v: string): string => (/^sql_ascii$/i.test(v) ? 'SQL_ASCII' : 'UTF8');

/** A session statement's plan: SET/RESET, SHOW, or a transaction statement. */
export type SessionPlan =
  | { readonly kind: 'set'; readonly name: string | undefined; readonly value: string | undefined }
  | { readonly kind: 'show'; readonly name: string }
  | TransactionPlan;
export interface TransactionPlan {
  readonly kind: 'transaction';
  readonly tag: 'BEGIN' | 'COMMIT' | 'ROLLBACK' | 'SAVEPOINT' | 'RELEASE' | 'ROLLBACK TO';
  readonly savepoint?: string;
}

const unsupported = (what: string) => new PgError('0A000', `${what} is not supported by the cordon wire gateway`);

/** Plans a VariableSetStmt, VariableShowStmt or TransactionStmt (libpg-query's node `kind` with its body). */
export function planSessionStatement(kind: string, body: Node | undefined): SessionPlan {
  if (kind === 'VariableShowStmt') return { kind: 'show', name: String(body?.['name'] ?? '') };
  if (kind === 'TransactionStmt') {
    const k = String(body?.['kind'] ?? '');
    const savepoint = typeof body?.['savepoint_name'] === 'string' ? (body['savepoint_name'] as string) : undefined;
    if (body?.['chain'] === true) throw unsupported('AND CHAIN');
    const tags: Record<string, TransactionPlan['tag']> = {
      TRANS_STMT_BEGIN: 'BEGIN',
      TRANS_STMT_START: 'BEGIN',
      TRANS_STMT_COMMIT: 'COMMIT',
      TRANS_STMT_ROLLBACK: 'ROLLBACK',
      TRANS_STMT_SAVEPOINT: 'SAVEPOINT',
      TRANS_STMT_RELEASE: 'RELEASE',
      TRANS_STMT_ROLLBACK_TO: 'ROLLBACK TO',
    };
    const tag = tags[k];
    if (!tag) throw unsupported(k.replace('TRANS_STMT_', '').replace(/_/g, ' '));
    return savepoint === undefined ? { kind: 'transaction', tag } : { kind: 'transaction', tag, savepoint };
  }
  const k = body?.['kind'];
  if (k === 'VAR_RESET_ALL') return { kind: 'set', name: undefined, value: undefined };
  const name = typeof body?.['name'] === 'string' ? (body['name'] as string) : '';
  if (k === 'VAR_RESET' || k === 'VAR_SET_DEFAULT') return { kind: 'set', name, value: undefined };
  if (k === 'VAR_SET_MULTI' && CHARACTERISTICS[name]) {
    const pairs = list(body, 'args').map((a) => {
      const d = child(a, 'DefElem');
      const v = constText(child(child(d, 'arg'), 'A_Const'));
      const setting = String(d?.['defname'] ?? '');
      const text = setting === 'transaction_isolation' ? (v ?? '') : v === '1' || v === 'true' ? 'on' : 'off';
      return `${setting}=${text}`;
    });
    return { kind: 'set', name, value: pairs.join(',') };
  }
  if (k !== 'VAR_SET_VALUE') throw unsupported('SET of this form');
  const values = list(body, 'args').map((a) => constText(child(a, 'A_Const')));
  return { kind: 'set', name, value: values.map((v) => v ?? '').join(', ') };
}

/**
 * A transaction statement's effect on the session's state, as PostgreSQL's: the command tag to
 * send and the state after it. `savepoints` (the session's, innermost last) is updated in place.
 * Throws PostgreSQL's error where it would refuse (a savepoint outside a transaction block, one
 * that does not exist, anything but ROLLBACK in a failed transaction).
 */
export function transactionStep(plan: TransactionPlan, tx: TransactionStatus, savepoints: string[]): { tag: string; tx: TransactionStatus } {
  switch (plan.tag) {
    case 'BEGIN':
      if (tx === 'I') savepoints.length = 0;
      return { tag: 'BEGIN', tx: 'T' };
    case 'COMMIT':
    case 'ROLLBACK':
      savepoints.length = 0;
      return { tag: plan.tag === 'COMMIT' && tx === 'E' ? 'ROLLBACK' : plan.tag, tx: 'I' };
    default: {
      const what = plan.tag === 'ROLLBACK TO' ? 'ROLLBACK TO SAVEPOINT' : plan.tag === 'RELEASE' ? 'RELEASE SAVEPOINT' : 'SAVEPOINT';
      if (tx === 'I') throw new PgError('25P01', `${what} can only be used in transaction blocks`);
      if (tx === 'E' && plan.tag !== 'ROLLBACK TO')
        throw new PgError('25P02', 'current transaction is aborted, commands ignored until end of transaction block');
      const name = plan.savepoint ?? '';
      if (plan.tag === 'SAVEPOINT') {
        savepoints.push(name);
        return { tag: 'SAVEPOINT', tx };
      }
      const at = savepoints.lastIndexOf(name);
      if (at < 0) throw new PgError('3B001', `savepoint "${name}" does not exist`);
      // RELEASE drops the savepoint and those after it; ROLLBACK TO keeps it, and ends the failure.
      savepoints.length = plan.tag === 'RELEASE' ? at : at + 1;
      return { tag: plan.tag === 'RELEASE' ? 'RELEASE' : 'ROLLBACK', tx: 'T' };
    }
  }
}

/** The startup option that names the client's address, believed only from a trusted proxy (as X-Forwarded-For). */
export const FORWARDED_FOR_OPTION = 'cordon.forwarded_for';

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
