// OpenLineage's dataset naming conventions (spec/Naming.md, "Dataset Naming" on openlineage.io): the
// namespace is the data source (`postgres://host:port`, `s3://bucket`, `bigquery`, …) and the name
// the dataset inside it (`database.schema.table`, an object key, a topic). A name is made canonical
// so that two spellings of one dataset are one node, and checked against its convention; a name that
// follows none is kept as given, with the reason.

export type NamingConvention = 'postgres' | 'mysql' | 'bigquery' | 'snowflake' | 's3' | 'gcs' | 'kafka' | 'file';

export interface CanonicalDataset {
  readonly namespace: string;
  readonly name: string;
  /** The convention the namespace follows; undefined when it follows none cordon knows. */
  readonly convention: NamingConvention | undefined;
  /** Why the namespace or name does not follow its convention; undefined when it does. */
  readonly problem: string | undefined;
}

/** Table conventions: the dotted parts of a name, and the default port of the source. */
const TABLES: Partial<Record<NamingConvention, { readonly parts: readonly string[]; readonly port?: number; readonly label: string }>> = {
  postgres: { parts: ['database', 'schema', 'table'], port: 5432, label: 'PostgreSQL' },
  mysql: { parts: ['database', 'table'], port: 3306, label: 'MySQL' },
  bigquery: { parts: ['project', 'dataset', 'table'], label: 'BigQuery' },
  snowflake: { parts: ['database', 'schema', 'table'], label: 'Snowflake' },
};

const SCHEMES: Record<string, NamingConvention> = {
  postgres: 'postgres',
  postgresql: 'postgres',
  mysql: 'mysql',
  bigquery: 'bigquery',
  snowflake: 'snowflake',
  s3: 's3',
  s3a: 's3',
  s3n: 's3',
  gs: 'gcs',
  kafka: 'kafka',
  file: 'file',
};

export const KNOWN_NAMESPACES =
  'postgres://host:port, mysql://host:port, bigquery, snowflake://org-account, s3://bucket, gs://bucket, kafka://host:port, file or file://host';

/** The table parts a convention's names have (postgres: database, schema, table), or undefined for paths and topics. */
export function tableParts(convention: NamingConvention | undefined): readonly string[] | undefined {
  return convention === undefined ? undefined : TABLES[convention]?.parts;
}

/**
 * The canonical form of a dataset: scheme and host in lower case (both are case-insensitive), the
 * source's default port made explicit, `postgresql`/`s3a`/`s3n` as `postgres`/`s3`, and no leading
 * `/` on an object key. Names of tables are kept as given (quoted identifiers are case-sensitive).
 * MUST NOT map two datasets of different sources to one: only the namespace's spelling changes,
 * never which host, bucket or account it names.
 */
export function canonicalDataset(namespace: string, name: string): CanonicalDataset {
  const keep = (problem: string): CanonicalDataset => ({ namespace, name, convention: undefined, problem });
  const m = /^([A-Za-z][A-Za-z0-9+.-]*)(?::(\/\/)?(.*))?$/s.exec(namespace);
  const convention = m ? SCHEMES[m[1]!.toLowerCase()] : undefined;
  if (!m || !convention) return keep(`namespace ${JSON.stringify(namespace)} follows no OpenLineage naming convention cordon knows (${KNOWN_NAMESPACES})`);
  const slashes = m[2] !== undefined;
  const rest = m[3] ?? '';
  let authority = '';
  if (convention === 'bigquery' || convention === 'file') {
    // `bigquery`, `bigquery:` and `bigquery://` all name BigQuery; `file` a local, `file://host` a remote file system.
    if (rest !== '' && (convention === 'bigquery' || !slashes)) return keep(`${convention} namespace ${JSON.stringify(namespace)} has more than its scheme`);
    authority = rest.toLowerCase();
    if (/[/@?#\s]/.test(authority)) return keep(`file namespace ${JSON.stringify(namespace)} must be file or file://host`);
  } else {
    if (!slashes || rest === '') return keep(`${convention} namespace ${JSON.stringify(namespace)} needs an authority (${KNOWN_NAMESPACES})`);
    authority = rest.toLowerCase();
    // Userinfo, a path, a query or spaces would make the namespace name something else than a source.
    if (/[/@?#\s]/.test(authority)) return keep(`${convention} namespace ${JSON.stringify(namespace)} must be scheme://authority, with no path, user or query`);
  }
  const table = TABLES[convention];
  if (table?.port !== undefined || convention === 'kafka') {
    const port = table?.port ?? 9092;
    const hp = /^(\[[0-9a-f:.]+\]|[^:[\]]+)(?::(\d{1,5}))?$/.exec(authority);
    if (!hp) return keep(`${convention} namespace ${JSON.stringify(namespace)} must be ${convention}://host:port`);
    authority = `${hp[1]}:${hp[2] === undefined ? port : Number(hp[2])}`;
  }
  const canonicalNs = convention === 'bigquery' ? 'bigquery' : convention === 'file' && authority === '' ? 'file' : `${schemeOf(convention)}://${authority}`;
  let canonicalName = name;
  let problem: string | undefined;
  if (table) {
    const parts = name.split('.');
    if (parts.length !== table.parts.length || parts.some((p) => p === ''))
      problem = `${table.label} dataset names are ${table.parts.join('.')}; ${JSON.stringify(name)} has ${parts.filter((p) => p !== '').length} part(s)`;
  } else if (convention === 's3' || convention === 'gcs') {
    canonicalName = name.replace(/^\/+/, '');
    if (canonicalName === '') problem = `${convention} dataset names are an object key; the name is empty`;
  } else if (convention === 'kafka') {
    if (name === '' || /[/\s]/.test(name)) problem = `Kafka dataset names are a topic; ${JSON.stringify(name)} is not one`;
  } else if (name === '') problem = 'file dataset names are a path; the name is empty';
  return { namespace: canonicalNs, name: canonicalName, convention, problem };
}

function schemeOf(c: NamingConvention): string {
  return c === 'gcs' ? 'gs' : c;
}

/**
 * Splits a dataset URI as cordon's policy and inventory write it (`namespace/name`, e.g.
 * `postgres://db:5432/app.public.users`, `s3://bucket/key`, `bigquery/project.dataset.table`) into
 * namespace and name: after the authority when there is one, else after the scheme.
 */
export function splitDatasetUri(uri: string): { namespace: string; name: string } {
  const authorityEnd = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/[^/]*/.exec(uri)?.[0].length;
  const at = authorityEnd !== undefined ? uri.indexOf('/', authorityEnd) : uri.indexOf('/');
  return at < 0 ? { namespace: uri, name: '' } : { namespace: uri.slice(0, at), name: uri.slice(at + 1) };
}

/** The canonical `namespace/name` of a dataset URI. */
export function canonicalDatasetUri(uri: string): string {
  const { namespace, name } = splitDatasetUri(uri);
  const c = canonicalDataset(namespace, name);
  return `${c.namespace}/${c.name}`;
}

/** The canonical form of a place's namespace (a namespace, or a prefix `namespace/…`). */
export function canonicalNamespace(namespace: string): string {
  const { namespace: ns, name } = splitDatasetUri(namespace);
  const c = canonicalDataset(ns, 'x');
  return name === '' ? c.namespace : `${c.namespace}/${name}`;
}
