// The backdoor finder: reads each audited enclave store's own audit trail (the PostgreSQL server's
// csvlog, with pgaudit's session or object lines in it) and turns every read of an enclave table by
// a database role other than cordon's own into a backdoor: an edge from that role to the columns it
// read, around the gateway, with the log position as evidence. A line it cannot parse is counted and
// reported, never fatal; a log it cannot read makes it unhealthy (and its view stale), never fatal.

import { canonicalDatasetUri } from '../../shared/openlineage-naming.js';
import { open, stat } from 'node:fs/promises';
import { isAbsolute, join } from 'node:path';
import { classOf, type Policy } from '../../policy/index.js';
import type { PathStep } from '../leaks.js';
import postgres from 'postgres';
import { type ColumnsHow, type ColumnsRead, columnsRead, loadSqlParser, redact, relationsNamed } from './columns.js';
import { type AuditEntry, logTime, parseRecord, splitObjectName, splitRecords } from './csvlog.js';

/** The `csvlog` of a source that reads pg_stat_statements instead. */
const STATEMENTS = 'pg_stat_statements';
/** How often `cordon up` polls each audit trail, unless told otherwise. */
export const DEFAULT_AUDIT_POLL_MS = 10_000;
/** Tables cordon keeps a dataset in (sql-store.ts TABLE_PREFIX), in the schema it uses. */
const TABLE_PREFIX = 'ds_';
const SCHEMA = 'public';
/** Schemas of the server's own catalogs: reads there are not reads of enclave data. */
const SYSTEM_SCHEMAS = new Set(['pg_catalog', 'information_schema', 'pg_toast']);
/** At most this much of a log is read in one poll; the rest in the next. */
const MAX_READ_BYTES = 64 << 20;
const KEEP_UNPARSED = 20;
const MAX_BACKDOORS = 10_000;

export interface Backdoor {
  readonly id: string;
  /** The database role, exactly as the server logged it (print it JSON-quoted: spaces and look-alikes matter). */
  readonly role: string;
  readonly store: string;
  readonly database: string;
  /** `schema.relation` read, or `schema.function` called (columnsHow `function`). */
  readonly table: string;
  /** The catalog dataset the table holds, when it is one of cordon's. */
  readonly dataset: string | undefined;
  readonly columns: readonly string[];
  readonly columnsHow: ColumnsHow;
  /** The columns read whose category is protected in a jurisdiction the store's enclave holds. */
  readonly protected: readonly { readonly column: string; readonly category: string; readonly jurisdiction: string }[];
  /** connection_from of the latest read (`host:port`, `[local]`). */
  readonly client: string;
  readonly application: string;
  /** The statement with literals replaced by $n and comments removed; undefined when it did not parse (then only table and columns are shown). */
  readonly statement: string | undefined;
  readonly firstSeen: string;
  readonly lastSeen: string;
  readonly reads: number;
  /** `csvlog:line` of the latest read. */
  readonly evidence: string;
  /** The flow edges: each column read (origin) to the role that read it. */
  readonly path: readonly PathStep[];
}

export interface AuditSourceHealth {
  readonly store: string;
  readonly csvlog: string;
  readonly ok: boolean;
  /** Why the log could not be read (no contents of it). */
  readonly error?: string;
  readonly lastPoll: string | undefined;
  readonly lastRead: string | undefined;
  readonly records: number;
  readonly auditEntries: number;
  readonly unparsed: number;
  /** The first lines cordon could not parse, with why (never their contents). */
  readonly unparsedLines: readonly { readonly line: number; readonly why: string }[];
}

export interface FinderHealth {
  readonly ok: boolean;
  /** True when a source could not be read at its last poll: the backdoor view may miss reads since. */
  readonly stale: boolean;
  readonly sources: readonly AuditSourceHealth[];
}

export interface FinderOptions {
  /** Each store's URL as cordon opens it (its user is cordon's own role; its database is the one audited). */
  readonly storeUrls: ReadonlyMap<string, string>;
  /** Store name -> csvlog path, overriding cordon.yaml (command line). */
  readonly csvlogs?: ReadonlyMap<string, string>;
}

interface Source {
  readonly store: string;
  /** The csvlog's path; for pg_stat_statements, `pg_stat_statements`. */
  readonly csvlog: string;
  /** Set when the source is the store's pg_stat_statements, read over this URL. */
  readonly statementsUrl: string | undefined;
  /** pg_stat_statements: calls seen so far per role and query id. */
  readonly calls: Map<string, number>;
  readonly database: string | undefined;
  readonly ownRoles: ReadonlySet<string>;
  readonly jurisdictions: readonly string[];
  ino: number | undefined;
  offset: number;
  line: number;
  health: { -readonly [K in keyof AuditSourceHealth]: AuditSourceHealth[K] } & { unparsedLines: { line: number; why: string }[] };
}

export class BackdoorFinder {
  private readonly sources: Source[];
  private readonly found = new Map<string, Backdoor>();
  /** Table -> its dataset, its columns, and the catalog field each column holds (`key` holds the key field). */
  private readonly tables = new Map<string, { dataset: string; columns: string[]; fieldOf: Map<string, string> }>();
  private timer: NodeJS.Timeout | undefined;
  private polling: Promise<void> | undefined;

  constructor(
    private readonly policy: Policy,
    options: FinderOptions,
  ) {
    const configured = policy.deployment.flows.audit ?? [];
    const logs = new Map(configured.map((a) => [a.store, a.csvlog === undefined ? STATEMENTS : isAbsolute(a.csvlog) ? a.csvlog : join(policy.dir, a.csvlog)]));
    for (const [store, path] of options.csvlogs ?? []) logs.set(store, path);
    this.sources = [...logs].map(([store, csvlog]) => {
      const url = options.storeUrls.get(store) ?? policy.deployment.stores.get(store)?.url ?? '';
      const { user, database } = urlParts(url);
      const enclave = [...policy.deployment.enclaves.values()].find((e) => e.store === store);
      const roles = configured.find((a) => a.store === store)?.roles ?? [];
      return {
        store,
        csvlog,
        statementsUrl: csvlog === STATEMENTS ? url : undefined,
        calls: new Map(),
        database,
        ownRoles: new Set([...roles, ...(user === undefined ? [] : [user])]),
        jurisdictions: enclave?.jurisdictions ?? [],
        ino: undefined,
        offset: 0,
        line: 1,
        health: { store, csvlog, ok: true, lastPoll: undefined, lastRead: undefined, records: 0, auditEntries: 0, unparsed: 0, unparsedLines: [] },
      };
    });
    for (const d of policy.datasets.values()) {
      const fieldOf = new Map<string, string>([['key', d.key], ...[...d.fields.keys()].filter((f) => f !== d.key).map((f) => [f, f] as [string, string])]);
      this.tables.set(`${TABLE_PREFIX}${d.name}`, { dataset: d.name, columns: [...fieldOf.keys()], fieldOf });
    }
  }

  /** Whether any store's audit trail is configured. */
  get configured(): boolean {
    return this.sources.length > 0;
  }

  /** Reads what each log gained since the last poll. Never throws: a failure makes its source unhealthy. */
  poll(): Promise<void> {
    this.polling ??= (async () => {
      try {
        await loadSqlParser();
        for (const s of this.sources) await (s.statementsUrl === undefined ? this.pollSource(s) : this.pollStatements(s, s.statementsUrl));
      } finally {
        this.polling = undefined;
      }
    })();
    return this.polling;
  }

  /** Polls now and every `intervalMs` (unref'd: it never keeps the process alive). */
  start(intervalMs: number): void {
    if (this.timer || !this.configured) return;
    void this.poll();
    this.timer = setInterval(() => void this.poll(), intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.polling;
  }

  backdoors(): Backdoor[] {
    return [...this.found.values()].sort(
      (a, b) => b.protected.length - a.protected.length || (a.lastSeen < b.lastSeen ? 1 : a.lastSeen > b.lastSeen ? -1 : a.id < b.id ? -1 : 1),
    );
  }

  /**
   * For the public /readyz: whether each trail could be read, its counts and the error's code, but
   * not where the trail is nor which lines failed (the leaks API, for directory principals, has those).
   */
  readiness(): {
    ok: boolean;
    stale: boolean;
    sources: { store: string; ok: boolean; error?: string; lastRead?: string; records: number; unparsed: number }[];
  } {
    const h = this.health();
    return {
      ok: h.ok,
      stale: h.stale,
      sources: h.sources.map((s) => ({
        store: s.store,
        ok: s.ok,
        ...(s.error === undefined ? {} : { error: s.error.slice(s.error.lastIndexOf(': ') + 2) }),
        ...(s.lastRead === undefined ? {} : { lastRead: s.lastRead }),
        records: s.records,
        unparsed: s.unparsed,
      })),
    };
  }

  health(): FinderHealth {
    const sources = this.sources.map((s) => ({ ...s.health, unparsedLines: [...s.health.unparsedLines] }));
    const ok = sources.every((s) => s.ok);
    return { ok, stale: !ok, sources };
  }

  private async pollSource(s: Source): Promise<void> {
    const now = new Date().toISOString();
    let handle: Awaited<ReturnType<typeof open>> | undefined;
    try {
      const st = await stat(s.csvlog);
      if (!st.isFile()) throw Object.assign(new Error('not a regular file'), { code: 'ENOTFILE' });
      // Rotated (another file now) or truncated: read the new one from its start.
      if ((s.ino !== undefined && st.ino !== s.ino) || st.size < s.offset) {
        s.offset = 0;
        s.line = 1;
      }
      s.ino = st.ino;
      handle = await open(s.csvlog, 'r');
      while (s.offset < st.size) {
        const want = Math.min(st.size - s.offset, MAX_READ_BYTES);
        const buf = Buffer.alloc(want);
        const { bytesRead } = await handle.read(buf, 0, want, s.offset);
        if (bytesRead === 0) break;
        const text = buf.subarray(0, bytesRead).toString('utf8');
        const { records, used, lines } = splitRecords(text, s.line);
        for (const r of records) this.take(s, r.text, r.line);
        // Only whole records are used; a record still being written is read again next time.
        s.offset += Buffer.byteLength(text.slice(0, used), 'utf8');
        s.line += lines;
        if (used === 0 || want === MAX_READ_BYTES) break;
      }
      s.health = { ...s.health, ok: true, error: undefined, lastPoll: now, lastRead: now };
    } catch (e) {
      const code = (e as { code?: string }).code;
      s.health = { ...s.health, ok: false, error: `cannot read ${s.csvlog}: ${code ?? (e as Error).message}`, lastPoll: now };
    } finally {
      await handle?.close().catch(() => {});
    }
  }

  /**
   * pg_stat_statements, where pgaudit is absent: each normalized statement of a role other than
   * cordon's, with its calls since the last poll. It has no client and no time of a read (the time
   * is the poll's that saw the calls grow), and names no table a view or function read.
   */
  private async pollStatements(s: Source, url: string): Promise<void> {
    const now = new Date().toISOString();
    const sql = postgres(url, { max: 1, onnotice: () => {}, connect_timeout: 5, idle_timeout: 1 });
    try {
      const rows = await sql.unsafe<{ role: string; query: string | null; calls: string; queryid: string | null; database: string }[]>(
        'SELECT r.rolname AS role, s.query, s.calls::text AS calls, s.queryid::text AS queryid, d.datname AS database ' +
          'FROM pg_stat_statements s JOIN pg_roles r ON r.oid = s.userid JOIN pg_database d ON d.oid = s.dbid WHERE d.datname = current_database()',
      );
      for (const row of rows) {
        s.health.records++;
        if (s.ownRoles.has(row.role)) continue;
        const key = `${row.role}\u0000${row.queryid ?? row.query}`;
        const calls = Number(row.calls);
        const grew = calls - (s.calls.get(key) ?? 0);
        s.calls.set(key, calls);
        if (grew <= 0) continue;
        s.health.auditEntries++;
        const query = row.query ?? '';
        const relations = relationsNamed(query);
        if (relations === undefined) {
          s.health.unparsed++;
          const why = query.startsWith('<insufficient privilege>')
            ? "the query text is hidden from cordon's role: grant it pg_read_all_stats"
            : 'the query does not parse';
          if (s.health.unparsedLines.length < KEEP_UNPARSED) s.health.unparsedLines.push({ line: 0, why: `queryid ${row.queryid ?? '?'}: ${why}` });
          continue;
        }
        // Only cordon's own tables: a name in a statement may be a CTE or another schema's table.
        for (const name of relations) {
          if (name.schema !== SCHEMA || !this.tables.has(name.relation)) continue;
          this.record(
            s,
            { role: row.role, database: row.database, client: '', application: '', statement: query },
            name,
            false,
            now,
            `pg_stat_statements queryid ${row.queryid ?? '?'}`,
            grew,
          );
        }
      }
      s.health = { ...s.health, ok: true, error: undefined, lastPoll: now, lastRead: now };
    } catch (e) {
      const code = (e as { code?: string }).code;
      s.health = { ...s.health, ok: false, error: `cannot read pg_stat_statements of ${s.store}: ${code ?? 'error'}`, lastPoll: now };
    } finally {
      await sql.end({ timeout: 1 }).catch(() => {});
    }
  }

  private take(s: Source, text: string, line: number): void {
    s.health.records++;
    const r = parseRecord(text, line);
    if (r.kind === 'other') return;
    if (r.kind === 'unparsed') {
      s.health.unparsed++;
      if (s.health.unparsedLines.length < KEEP_UNPARSED) s.health.unparsedLines.push({ line: r.line, why: r.why });
      return;
    }
    s.health.auditEntries++;
    const e = r.entry;
    const call = e.auditClass === 'FUNCTION' && e.command === 'EXECUTE' && e.objectType === 'FUNCTION';
    if ((e.auditClass !== 'READ' && !call) || e.objectName === '') return;
    if (s.ownRoles.has(e.role)) return;
    if (s.database !== undefined && e.database !== s.database) return;
    const name = splitObjectName(e.objectName);
    if (!name) {
      s.health.unparsed++;
      if (s.health.unparsedLines.length < KEEP_UNPARSED) s.health.unparsedLines.push({ line, why: 'OBJECT_NAME is not schema.relation' });
      return;
    }
    if (SYSTEM_SCHEMAS.has(name.schema)) return;
    this.record(s, e, name, call, new Date(logTime(e.time)).toISOString(), `${s.csvlog}:${e.line}`, 1);
  }

  private record(
    s: Source,
    e: Pick<AuditEntry, 'role' | 'database' | 'client' | 'application' | 'statement'>,
    name: { schema: string; relation: string },
    call: boolean,
    time: string,
    evidence: string,
    reads: number,
  ): void {
    const table = name.schema === SCHEMA && !call ? this.tables.get(name.relation) : undefined;
    // A function's reads are not in the trail when it runs as its owner (SECURITY DEFINER): the call is the evidence.
    const read: ColumnsRead = call ? { columns: [], how: 'function' } : columnsRead(e.statement, name.schema, name.relation, table?.columns ?? []);
    const statement = redact(e.statement);
    const address = clientAddress(e.client);
    const tableName = `${name.schema}.${name.relation}`;
    const id = JSON.stringify([s.store, e.role, tableName, read.columns, read.how, statement ?? null, address]);
    const old = this.found.get(id);
    if (old) {
      const later = time >= old.lastSeen;
      this.found.set(id, {
        ...old,
        reads: old.reads + reads,
        firstSeen: later || time >= old.firstSeen ? old.firstSeen : time,
        lastSeen: later ? time : old.lastSeen,
        client: later ? e.client : old.client,
        evidence: later ? evidence : old.evidence,
      });
      return;
    }
    if (this.found.size >= MAX_BACKDOORS) return;
    const prot: Backdoor['protected'][number][] = [];
    const fields = table ? this.policy.datasets.get(table.dataset)?.fields : undefined;
    for (const column of read.columns) {
      const field = table?.fieldOf.get(column);
      const f = field === undefined ? undefined : fields?.get(field);
      if (!f) continue;
      for (const category of new Set([f.category, ...f.conditions.map((c) => c.category)])) {
        for (const j of s.jurisdictions) {
          if (classOf(this.policy.classes, this.policy.taxonomy, j, category) === 'protected') prot.push({ column, category, jurisdiction: j });
        }
      }
    }
    const columnNode = (c: string) => `column:${lineageDataset(this.policy, table?.dataset, s.store) ?? `store:${s.store}/${tableName}`}#${c}`;
    const roleNode = `role:${s.store}/${e.role}`;
    const path: PathStep[] = call
      ? [
          { node: `function:${s.store}/${tableName}`, via: 'origin', evidence: undefined },
          { node: roleNode, via: 'calls directly (around the gateway)', evidence },
        ]
      : (read.columns.length > 0 ? read.columns : ['*']).flatMap((c) => [
          { node: columnNode(c), via: 'origin', evidence: undefined },
          { node: roleNode, via: 'reads directly (around the gateway)', evidence },
        ]);
    this.found.set(id, {
      id,
      role: e.role,
      store: s.store,
      database: e.database,
      table: tableName,
      dataset: table?.dataset,
      columns: read.columns,
      columnsHow: read.how,
      protected: prot,
      client: e.client,
      application: e.application,
      statement,
      firstSeen: time,
      lastSeen: time,
      reads,
      evidence,
      path,
    });
  }
}

/**
 * The lineage dataset (`namespace/name`, canonical) that is a catalog dataset in `store`, so that a
 * backdoor's column is the node lineage names: the one cordon.yaml flows.datasets maps to it, else
 * the table under the store's first flows.stores alias; undefined when neither names it.
 */
function lineageDataset(policy: Policy, dataset: string | undefined, store: string): string | undefined {
  if (dataset === undefined) return undefined;
  for (const [lineage, catalog] of policy.deployment.flows.datasets) if (catalog === dataset) return canonicalDatasetUri(lineage);
  const alias = policy.deployment.flows.stores.find((a) => a.store === store);
  return alias === undefined ? undefined : `${alias.namespace}/${alias.prefix}.${dataset}`;
}

function urlParts(url: string): { user: string | undefined; database: string | undefined } {
  if (!/^postgres(ql)?:\/\//.test(url)) return { user: undefined, database: undefined };
  try {
    const u = new URL(url);
    const db = decodeURIComponent(u.pathname.replace(/^\//, ''));
    return { user: u.username === '' ? undefined : decodeURIComponent(u.username), database: db === '' ? undefined : db };
  } catch {
    return { user: undefined, database: undefined };
  }
}

/** `host:port` or `[v6]:port` -> the host; `[local]` as it is. */
function clientAddress(client: string): string {
  const m = /^(.*):\d+$/.exec(client);
  return m ? m[1]! : client;
}
