// The catalog's rows, made for one run of a query from the policy and the session alone — no store
// is read: datasets are tables of schema public, fields their columns with their catalog types, one
// database, two roles (the owner `cordon` and the caller), the built-in types. Statistics say
// nothing: reltuples is -1 (never counted), pg_stats and pg_stat_* are empty, and the functions
// that would measure stored data (pg_relation_size, pg_stat_get_*) answer NULL. And the functions a
// catalog query calls that depend on the session (current_setting(), current_user …).

import type { Dataset, FieldType, Policy } from '../../policy/index.js';
import { PgError } from '../protocol.js';
import type { SessionSettings } from '../settings.js';
import { RELATIONS } from './data.js';
import { builtinTypes, type Column, formatType, Reg, type RegKind, type Schema, T, typeInfo, typeNamed, type V, type World } from './values.js';

/** The session a catalog query runs in: who asks, and the settings SHOW and current_setting() read. */
export interface CatalogContext {
  readonly user: string;
  readonly settings: SessionSettings;
}

const OWNER = 'cordon';
const OWNER_OID = 10;
/** The caller's role (every caller is the same role to the catalog: its name is the session's user). */
const CALLER_OID = 16383;
const DATABASE_OID = 16382;
export const DATABASE = 'cordon';
/** The first OID PostgreSQL gives user objects; dataset i is FIRST_OID + i. */
const FIRST_OID = 16384;
const NAMESPACES: readonly [number, string][] = [
  [11, 'pg_catalog'],
  [2200, 'public'],
  [13000, 'information_schema'],
];
const TYPE_OID: Record<FieldType, number> = { string: T.text, number: T.float8, boolean: T.bool };

/** The columns of every relation the gateway answers, by `schema.name`. */
const COLUMNS: ReadonlyMap<string, readonly Column[]> = new Map(
  Object.entries(RELATIONS).map(([k, v]) => [
    k,
    v.split(' ').map((c) => {
      const at = c.lastIndexOf(':');
      return { name: c.slice(0, at), type: Number(c.slice(at + 1)) };
    }),
  ]),
);
// PostgreSQL's OIDs for the catalogs clients name by OID ('pg_class'::regclass); the others get their own.
const KNOWN_OIDS: Record<string, number> = {
  'pg_catalog.pg_type': 1247,
  'pg_catalog.pg_attribute': 1249,
  'pg_catalog.pg_proc': 1255,
  'pg_catalog.pg_class': 1259,
  'pg_catalog.pg_database': 1262,
  'pg_catalog.pg_tablespace': 1213,
  'pg_catalog.pg_am': 2601,
  'pg_catalog.pg_attrdef': 2604,
  'pg_catalog.pg_constraint': 2606,
  'pg_catalog.pg_depend': 2608,
  'pg_catalog.pg_description': 2609,
  'pg_catalog.pg_index': 2610,
  'pg_catalog.pg_inherits': 2611,
  'pg_catalog.pg_namespace': 2615,
  'pg_catalog.pg_rewrite': 2618,
  'pg_catalog.pg_trigger': 2620,
  'pg_catalog.pg_collation': 3456,
};
const RELATION_OIDS: ReadonlyMap<string, number> = new Map([...COLUMNS.keys()].sort().map((k, i) => [k, KNOWN_OIDS[k] ?? 12000 + i]));

/** A relation's key: `schema.name`, with an unqualified name looked up in pg_catalog (always first on the search path). */
function relationKey(schema: string | undefined, name: string): string | undefined {
  const key = `${schema ?? 'pg_catalog'}.${name}`;
  return COLUMNS.has(key) ? key : undefined;
}

/** The result types of the functions CatalogWorld.call answers. */
const FUNCTION_TYPES: Record<string, number> = {
  version: T.text,
  current_user: T.name,
  session_user: T.name,
  current_database: T.name,
  current_schema: T.name,
  current_schemas: 1003,
  current_setting: T.text,
  pg_is_in_recovery: T.bool,
  pg_table_is_visible: T.bool,
  pg_type_is_visible: T.bool,
  pg_function_is_visible: T.bool,
  pg_collation_is_visible: T.bool,
  pg_get_userbyid: T.name,
  pg_encoding_to_char: T.name,
  pg_char_to_encoding: T.int4,
  has_table_privilege: T.bool,
  has_schema_privilege: T.bool,
  has_database_privilege: T.bool,
  has_column_privilege: T.bool,
  has_any_column_privilege: T.bool,
  has_function_privilege: T.bool,
  has_sequence_privilege: T.bool,
  has_type_privilege: T.bool,
  obj_description: T.text,
  col_description: T.text,
  shobj_description: T.text,
  pg_get_expr: T.text,
  pg_get_constraintdef: T.text,
  pg_get_indexdef: T.text,
  pg_get_viewdef: T.text,
  pg_get_triggerdef: T.text,
  pg_get_ruledef: T.text,
  pg_get_functiondef: T.text,
  pg_get_function_arguments: T.text,
  pg_get_function_result: T.text,
  pg_get_function_identity_arguments: T.text,
  pg_get_partkeydef: T.text,
  pg_get_statisticsobjdef_columns: T.text,
  pg_get_serial_sequence: T.text,
  pg_tablespace_location: T.text,
  now: T.timestamptz,
};
/** What would measure the stored data (sizes, row and access counts): the gateway does not measure it, and says so with NULL. */
const MEASURES = /^(pg_(relation|total_relation|table|indexes|database|tablespace|column)_size|pg_stat_get_[a-z_]+)$/;
const DESCRIBES_NOTHING =
  /^(obj_description|col_description|shobj_description|pg_get_.*def|pg_get_expr|pg_get_function_.*|pg_get_partkeydef|pg_get_statisticsobjdef_columns|pg_get_serial_sequence)$/;

/** The catalog's shape: compiled queries are checked against it. */
export const CATALOG_SCHEMA: Schema = {
  columns: (schema, name) => {
    const key = relationKey(schema, name);
    return key ? COLUMNS.get(key) : undefined;
  },
  functionType: (name) => FUNCTION_TYPES[name] ?? (MEASURES.test(name) ? T.int8 : undefined),
};

type Entity = Readonly<Record<string, V>>;

/** The functions a regproc may name: the built-in types' input, output, receive and send functions, the access methods' handlers. */
const PROC_NAMES: ReadonlySet<string> = new Set([
  ...builtinTypes().flatMap((t) => t.fields.slice(9, 13)),
  'array_subscript_handler',
  'heap_tableam_handler',
  'bthandler',
]);

/** The relations whose rows depend on the session (who asks, its settings): made for each run. */
const SESSION_RELATIONS = new Set(['pg_catalog.pg_roles', 'pg_catalog.pg_user', 'pg_catalog.pg_settings', 'information_schema.enabled_roles']);
/** The other relations' rows, per policy and database name: a policy is immutable, so are they (a new policy is a new object). */
const SHARED_ROWS = new WeakMap<Policy, Map<string, readonly (readonly V[])[]>>();

/** A catalog for one run of a query: the policy's datasets and the session, as catalog rows. */
export class CatalogWorld implements World {
  private readonly cache = new Map<string, readonly (readonly V[])[]>();
  private readonly datasets: readonly { d: Dataset; oid: number }[];
  private readonly database: string;
  private readonly shared: Map<string, readonly (readonly V[])[]>;

  constructor(
    policy: Policy,
    private readonly ctx: CatalogContext,
  ) {
    this.datasets = [...policy.datasets.values()].map((d, i) => ({ d, oid: FIRST_OID + i }));
    this.database = String(ctx.settings.value({ fn: 'current_database' }, ctx.user) ?? DATABASE) || DATABASE;
    let shared = SHARED_ROWS.get(policy);
    if (!shared) {
      shared = new Map();
      SHARED_ROWS.set(policy, shared);
    }
    this.shared = shared;
  }

  columns(schema: string | undefined, name: string): readonly Column[] | undefined {
    return CATALOG_SCHEMA.columns(schema, name);
  }

  functionType(name: string): number | undefined {
    return CATALOG_SCHEMA.functionType(name);
  }

  rows(schema: string | undefined, name: string): readonly (readonly V[])[] {
    const key = relationKey(schema, name);
    if (!key) throw new PgError('42P01', `relation "${name}" does not exist`);
    // The rows of a relation that only the policy and the database's name decide are made once per policy.
    const shared = SESSION_RELATIONS.has(key) ? undefined : `${this.database}\u0000${key}`;
    let rows = this.cache.get(key) ?? (shared === undefined ? undefined : this.shared.get(shared));
    if (!rows) {
      const cols = COLUMNS.get(key)!;
      rows = this.entities(key).map((e) => Object.freeze(cols.map((c) => e[c.name] ?? null)));
      this.cache.set(key, rows);
      if (shared !== undefined) this.shared.set(shared, rows);
    }
    return rows;
  }

  private entities(key: string): Entity[] {
    const db = this.database;
    const user = this.ctx.user;
    switch (key) {
      case 'pg_catalog.pg_namespace':
        return NAMESPACES.map(([oid, nspname]) => ({ oid, nspname, nspowner: OWNER_OID }));
      case 'pg_catalog.pg_class':
        return this.datasets.map(({ d, oid }) => ({
          oid,
          relname: d.name,
          relnamespace: 2200,
          reltype: 0,
          reloftype: 0,
          relowner: OWNER_OID,
          relam: 2,
          relfilenode: 0,
          reltablespace: 0,
          // No statistics: -1 is PostgreSQL's "never counted"; the pages say nothing either.
          relpages: 0,
          reltuples: -1,
          relallvisible: 0,
          reltoastrelid: 0,
          relhasindex: false,
          relisshared: false,
          relpersistence: 'p',
          relkind: 'r',
          relnatts: d.fields.size,
          relchecks: 0,
          relhasrules: false,
          relhastriggers: false,
          relhassubclass: false,
          relrowsecurity: false,
          relforcerowsecurity: false,
          relispopulated: true,
          relreplident: 'd',
          relispartition: false,
          relrewrite: 0,
          relfrozenxid: 0,
          relminmxid: 0,
          // SELECT for every principal (the rules decide each cell), granted by the owner; writes go through the HTTP API.
          relacl: ['=r/cordon'],
        }));
      case 'pg_catalog.pg_attribute':
        return this.datasets.flatMap(({ d, oid }) =>
          [...d.fields.values()].map((f, i) => {
            const type = TYPE_OID[f.type];
            return {
              attrelid: oid,
              attname: f.name,
              atttypid: type,
              attstattarget: -1,
              attlen: typeInfo(type)!.len,
              attnum: i + 1,
              attndims: 0,
              attcacheoff: -1,
              atttypmod: -1,
              attbyval: f.type !== 'string',
              attalign: f.type === 'string' ? 'i' : f.type === 'number' ? 'd' : 'c',
              attstorage: f.type === 'string' ? 'x' : 'p',
              attcompression: '',
              attnotnull: f.name === d.key,
              atthasdef: false,
              atthasmissing: false,
              attidentity: '',
              attgenerated: '',
              attisdropped: false,
              attislocal: true,
              attinhcount: 0,
              attcollation: f.type === 'string' ? 100 : 0,
            };
          }),
        );
      case 'pg_catalog.pg_type':
        return builtinTypes().map((t) => {
          const [, , , byval, typtype, , preferred, , , input, output, receive, send, align, storage, collation] = t.fields;
          const proc = (name: string | undefined) => new Reg('regproc', 0, name ?? '-');
          return {
            oid: t.oid,
            typname: t.name,
            typnamespace: 11,
            typowner: OWNER_OID,
            typlen: t.len,
            typbyval: byval === 't',
            typtype: typtype ?? 'b',
            typcategory: t.category,
            typispreferred: preferred === 't',
            typisdefined: true,
            typdelim: ',',
            typrelid: 0,
            typsubscript: proc(t.category === 'A' ? 'array_subscript_handler' : '-'),
            typelem: t.elem,
            typarray: t.array,
            typinput: proc(input),
            typoutput: proc(output),
            typreceive: proc(receive),
            typsend: proc(send),
            typmodin: proc('-'),
            typmodout: proc('-'),
            typanalyze: proc('-'),
            typalign: align ?? 'i',
            typstorage: storage ?? 'p',
            typnotnull: false,
            typbasetype: 0,
            typtypmod: -1,
            typndims: 0,
            typcollation: Number(collation ?? 0),
          };
        });
      case 'pg_catalog.pg_database':
        return [
          {
            oid: DATABASE_OID,
            datname: db,
            datdba: OWNER_OID,
            encoding: 6,
            datlocprovider: 'c',
            datistemplate: false,
            datallowconn: true,
            datconnlimit: -1,
            datfrozenxid: 0,
            datminmxid: 1,
            dattablespace: 1663,
            datcollate: 'C',
            datctype: 'C',
          },
        ];
      case 'pg_catalog.pg_roles':
        return this.roles().map(([oid, rolname]) => ({
          oid,
          rolname,
          rolsuper: false,
          rolinherit: true,
          rolcreaterole: false,
          rolcreatedb: false,
          rolcanlogin: oid === CALLER_OID,
          rolreplication: false,
          rolconnlimit: -1,
          rolpassword: '********',
          rolbypassrls: false,
        }));
      case 'pg_catalog.pg_user':
        return [{ usename: user, usesysid: CALLER_OID, usecreatedb: false, usesuper: false, userepl: false, usebypassrls: false, passwd: '********' }];
      case 'pg_catalog.pg_am':
        return [
          { oid: 2, amname: 'heap', amhandler: new Reg('regproc', 0, 'heap_tableam_handler'), amtype: 't' },
          { oid: 403, amname: 'btree', amhandler: new Reg('regproc', 0, 'bthandler'), amtype: 'i' },
        ];
      case 'pg_catalog.pg_tablespace':
        return [
          { oid: 1663, spcname: 'pg_default', spcowner: OWNER_OID },
          { oid: 1664, spcname: 'pg_global', spcowner: OWNER_OID },
        ];
      case 'pg_catalog.pg_collation':
        return [
          { oid: 100, collname: 'default', collnamespace: 11, collowner: OWNER_OID, collprovider: 'd', collisdeterministic: true, collencoding: -1 },
          {
            oid: 950,
            collname: 'C',
            collnamespace: 11,
            collowner: OWNER_OID,
            collprovider: 'c',
            collisdeterministic: true,
            collencoding: -1,
            collcollate: 'C',
            collctype: 'C',
          },
          {
            oid: 951,
            collname: 'POSIX',
            collnamespace: 11,
            collowner: OWNER_OID,
            collprovider: 'c',
            collisdeterministic: true,
            collencoding: -1,
            collcollate: 'POSIX',
            collctype: 'POSIX',
          },
        ];
      case 'pg_catalog.pg_settings':
        return this.ctx.settings.entries().map(([name, setting, source, boot]) => ({
          name,
          setting,
          category: 'cordon wire gateway',
          short_desc: '',
          context: 'user',
          vartype: 'string',
          source,
          boot_val: boot,
          reset_val: boot,
          pending_restart: false,
        }));
      case 'pg_catalog.pg_tables':
        return this.datasets.map(({ d }) => ({
          schemaname: 'public',
          tablename: d.name,
          tableowner: OWNER,
          hasindexes: false,
          hasrules: false,
          hastriggers: false,
          rowsecurity: false,
        }));
      case 'information_schema.information_schema_catalog_name':
        return [{ catalog_name: db }];
      case 'information_schema.schemata':
        return NAMESPACES.map(([, name]) => ({ catalog_name: db, schema_name: name, schema_owner: OWNER }));
      case 'information_schema.enabled_roles':
        return [{ role_name: user }];
      case 'information_schema.tables':
        return this.datasets.map(({ d }) => ({
          table_catalog: db,
          table_schema: 'public',
          table_name: d.name,
          table_type: 'BASE TABLE',
          // Writes go through the HTTP data API for now (the wire gateway refuses them).
          is_insertable_into: 'NO',
          is_typed: 'NO',
        }));
      case 'information_schema.columns':
        return this.datasets.flatMap(({ d }) =>
          [...d.fields.values()].map((f, i) => {
            const type = TYPE_OID[f.type];
            return {
              table_catalog: db,
              table_schema: 'public',
              table_name: d.name,
              column_name: f.name,
              ordinal_position: i + 1,
              is_nullable: f.name === d.key ? 'NO' : 'YES',
              data_type: formatType(type),
              character_octet_length: f.type === 'string' ? 1073741824 : null,
              numeric_precision: f.type === 'number' ? 53 : null,
              numeric_precision_radix: f.type === 'number' ? 2 : null,
              collation_catalog: null,
              udt_catalog: db,
              udt_schema: 'pg_catalog',
              udt_name: typeInfo(type)!.name,
              dtd_identifier: String(i + 1),
              is_self_referencing: 'NO',
              is_identity: 'NO',
              identity_cycle: 'NO',
              is_generated: 'NEVER',
              is_updatable: 'NO',
            };
          }),
        );
      default:
        // Constraints, indexes, functions, descriptions, statistics, activity …: the gateway has none to show.
        return [];
    }
  }

  private roles(): [number, string][] {
    return this.ctx.user === OWNER
      ? [[OWNER_OID, OWNER]]
      : [
          [OWNER_OID, OWNER],
          [CALLER_OID, this.ctx.user],
        ];
  }

  call(name: string, args: readonly V[]): V {
    const text = (v: V | undefined) => (v === null || v === undefined ? null : v instanceof Reg ? v.name : String(v));
    const oidOf = (v: V | undefined) => (v instanceof Reg ? v.oid : typeof v === 'number' ? v : Number(v));
    // A size or a count of the stored data would tell what the policy does not (how many subjects,
    // how much each jurisdiction holds): unknown, as psql's \dt+ shows a size it may not read.
    if (MEASURES.test(name) || DESCRIBES_NOTHING.test(name)) return null;
    if (name.startsWith('has_') && name.endsWith('_privilege')) {
      const privilege = text(args.at(-1))?.toUpperCase() ?? '';
      // Reading is for every caller (the rules decide each cell); writing goes through the HTTP API.
      return privilege.split(',').some((p) => ['SELECT', 'USAGE', 'CONNECT', 'EXECUTE'].includes(p.trim().replace(/ WITH GRANT OPTION$/, '')));
    }
    switch (name) {
      case 'version':
        return this.ctx.settings.value({ fn: 'version' }, this.ctx.user);
      case 'current_user':
      case 'session_user':
        return this.ctx.user;
      case 'current_database':
        return this.database;
      case 'current_schema':
        return 'public';
      case 'current_schemas':
        return args[0] === true || (typeof args[0] === 'string' && /^(t|true|on|1|yes)$/i.test(args[0])) ? ['pg_catalog', 'public'] : ['public'];
      case 'current_setting': {
        const setting = text(args[0]);
        if (setting === null) return null;
        try {
          return this.ctx.settings.show(setting);
        } catch (err) {
          if (args[1] === true || args[1] === 't' || args[1] === 'true') return null;
          throw err;
        }
      }
      case 'pg_is_in_recovery':
        return false;
      case 'pg_table_is_visible':
        return this.datasets.some((t) => t.oid === oidOf(args[0])) || [...RELATION_OIDS.values()].includes(oidOf(args[0]));
      case 'pg_type_is_visible':
        return typeInfo(oidOf(args[0])) !== undefined;
      case 'pg_function_is_visible':
      case 'pg_collation_is_visible':
        return true;
      case 'pg_get_userbyid': {
        const oid = oidOf(args[0]);
        return this.roles().find(([o]) => o === oid)?.[1] ?? `unknown (OID=${oid})`;
      }
      case 'pg_encoding_to_char':
        return oidOf(args[0]) === 6 ? 'UTF8' : oidOf(args[0]) === 0 ? 'SQL_ASCII' : '';
      case 'pg_char_to_encoding':
        return /^utf-?8$/i.test(text(args[0]) ?? '') ? 6 : /^sql_ascii$/i.test(text(args[0]) ?? '') ? 0 : -1;
      case 'pg_tablespace_location':
        return '';
      case 'now':
        return `${new Date().toISOString().replace('T', ' ').replace('Z', '')}+00`;
      default:
        throw new PgError('0A000', `the function ${name}() is not supported by the cordon wire gateway in a catalog query`);
    }
  }

  reg(kind: RegKind, v: string | number): Reg {
    if (typeof v === 'number') return this.regByOid(kind, v);
    const parts = splitName(v);
    const name = parts.at(-1) ?? '';
    const schema = parts.length > 1 ? parts.at(-2) : undefined;
    switch (kind) {
      case 'regclass': {
        const d = schema === undefined || schema === 'public' ? this.datasets.find((t) => t.d.name === name) : undefined;
        if (d) return new Reg(kind, d.oid, d.d.name);
        const key = relationKey(schema === 'public' ? '\0' : schema, name);
        if (key) return new Reg(kind, RELATION_OIDS.get(key)!, name);
        throw new PgError('42P01', `relation "${v}" does not exist`);
      }
      case 'regtype': {
        const array = name.endsWith('[]');
        const base = array ? name.slice(0, -2) : name;
        const t = typeNamed(base) ?? (base === 'double precision' ? typeInfo(T.float8) : undefined);
        const oid = t ? (array ? t.array : t.oid) : undefined;
        if (!oid) throw new PgError('42704', `type "${v}" does not exist`);
        return this.regByOid(kind, oid);
      }
      case 'regnamespace': {
        const ns = NAMESPACES.find(([, n]) => n === name);
        if (!ns) throw new PgError('3F000', `schema "${v}" does not exist`);
        return new Reg(kind, ns[0], name);
      }
      case 'regrole': {
        const role = this.roles().find(([, n]) => n === name);
        if (!role) throw new PgError('42704', `role "${v}" does not exist`);
        return new Reg(kind, role[0], name);
      }
      default: {
        // No functions are listed (pg_proc is empty); the types' own in/out functions are named, as clients compare them.
        const bare = schema === undefined || schema === 'pg_catalog' ? name : undefined;
        if (bare === undefined || !PROC_NAMES.has(bare)) throw new PgError('42883', `function "${v}" does not exist`);
        return new Reg(kind, 0, bare);
      }
    }
  }

  private regByOid(kind: RegKind, oid: number): Reg {
    const name = (() => {
      switch (kind) {
        case 'regclass':
          return this.datasets.find((t) => t.oid === oid)?.d.name ?? [...RELATION_OIDS].find(([, o]) => o === oid)?.[0].split('.')[1];
        case 'regtype':
          return formatType(oid) ?? undefined;
        case 'regnamespace':
          return NAMESPACES.find(([o]) => o === oid)?.[1];
        case 'regrole':
          return this.roles().find(([o]) => o === oid)?.[1];
        default:
          return oid === 0 ? '-' : undefined;
      }
    })();
    return new Reg(kind, oid, name ?? String(oid));
  }
}

/** `schema.name`, `"Quoted".name`: the parts of a qualified name, an unquoted part in lower case. */
function splitName(s: string): string[] {
  const parts: string[] = [];
  let at = 0;
  const t = s.trim();
  while (at <= t.length) {
    if (t[at] === '"') {
      let v = '';
      at++;
      while (at < t.length) {
        if (t[at] === '"' && t[at + 1] === '"') {
          v += '"';
          at += 2;
        } else if (t[at] === '"') break;
        else v += t[at++];
      }
      at++;
      parts.push(v);
    } else {
      let v = '';
      while (at < t.length && t[at] !== '.') v += t[at++];
      parts.push(v.trim().toLowerCase());
    }
    if (t[at] !== '.') break;
    at++;
  }
  return parts;
}
