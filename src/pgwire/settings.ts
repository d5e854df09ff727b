// A connection's run-time parameters: what the server reports at startup (ParameterStatus), what
// SET and RESET change and SHOW and current_setting() read. Clients check a few of these before
// they send a query (server_version, standard_conforming_strings, client_encoding, integer_datetimes).

import { PgError } from './protocol.js';
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
const FIXED = new Set(['server_version', 'server_version_num', 'server_encoding', 'integer_datetimes', 'is_superuser', 'max_identifier_length']);

export class SessionSettings {
  private readonly values = new Map<string, string>(Object.entries(DEFAULTS));
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
    } else {
      const k = name.toLowerCase();
      const v = value ?? DEFAULTS[k] ?? '';
      this.check(k, v);
      this.values.set(k, k === 'client_encoding' ? canonicalEncoding(v) : v);
    }
    return this.reported().filter(([k, v]) => before.get(k) !== v);
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
