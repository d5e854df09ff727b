// End to end with the clients of other languages the wire gateway serves (issue 24, item 4):
// psycopg2 (Debian's python3-psycopg2), pgJDBC (Debian's libpostgresql-jdbc-java on the JDK) and
// pgcli (Debian's pgcli, on psycopg 3), each as beijing-engineer, us-analyst and austin-engineer from
// their sites, against `cordon up --demo`: the SELECT by key gets exactly the cells the HTTP gateway
// gives the persona (compared by SHA-256, never printed), the metadata calls list the policy's
// datasets and columns, the log holds one record per row. And the catalog attacked: its answers are
// the same whoever asks, from wherever, and whatever the stores hold (a second demo with 300 users).
// And the catalog's SQL checked against PostgreSQL 15 itself, over the same tables.
// The client programs are test/fixtures/pgwire-clients/; the Java one is compiled into a temp dir.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { loadPolicy } from '../src/policy/index.js';
import { assertSameHidden } from './helpers/hidden.js';
import { DEMO_POLICY, FIXTURES } from './helpers/paths.js';
import { startPostgres } from './helpers/postgres.js';
import { tempDir } from './helpers/temp.js';
import { startUp, type RunningUp } from './helpers/up.js';

const run = promisify(execFile);
type Json = Record<string, unknown>;
const COLUMNS = ['uid', 'username', 'phone_number'] as const;
const CLIENTS = join(FIXTURES, 'pgwire-clients');
// Debian's python3, which python3-psycopg2 and pgcli are installed for (a PATH python may be another).
const PYTHON = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
const JDBC_JAR = '/usr/share/java/postgresql.jar';
/** How many times PgJdbcClient.java runs its PreparedStatement (REPEATS there). */
const JDBC_REPEATS = 7;

const loaded = loadPolicy(DEMO_POLICY);
assert.ok(loaded.ok);
const policy = loaded.policy;
const users = policy.datasets.get('users')!;
const sqlType = { string: 'text', number: 'double precision', boolean: 'boolean' } as const;

interface Persona {
  readonly user: string;
  readonly place: string;
  /** The key the persona addresses demo-us-1 by: in clear, or its own token for it. */
  readonly key: string;
  readonly token: string;
  /** The SHA-256 of each cell GET /v1/data/users/{key} gives it (null: withheld). */
  readonly cells: readonly (string | null)[];
  readonly withheld: readonly string[];
}

const sha = (v: unknown): string | null =>
  v === null || v === undefined
    ? null
    : createHash('sha256')
        .update(typeof v === 'string' ? v : JSON.stringify(v))
        .digest('hex');
const short = (h: string | null) => (h === null ? 'NULL' : h.slice(0, 12));

let up: RunningUp;
let pgPort = 0;
let personas: Persona[] = [];
let tokens: Record<string, string> = {};

before(async () => {
  up = await startUp(tempDir('cordon-pgwire-clients-'), ['--demo', '--demo-users', '0', '--pg-port', '0']);
  const { out } = up.output();
  pgPort = Number(/PostgreSQL 127\.0\.0\.1:(\d+) /.exec(out)?.[1]);
  assert.ok(pgPort > 0, 'the banner names the wire port');
  tokens = up.tokens();
  const lines = [...out.matchAll(/PGOPTIONS='-c cordon\.forwarded_for=([\d.]+)' psql .* -U ([\w-]+) .*WHERE uid = '([^']+)'"$/gm)];
  personas = await Promise.all(
    lines.map(async ([, place, user, key]) => {
      const r = await fetch(`${up.base}/v1/data/users/${key}`, { headers: { authorization: `Bearer ${tokens[user!]}`, 'x-forwarded-for': place! } });
      assert.equal(r.status, 200, `${user} over HTTP`);
      const body = (await r.json()) as Json;
      const fields = body['fields'] as Json;
      const withheld = (body['withheld'] as { field: string }[]).map((w) => w.field).filter((f) => (COLUMNS as readonly string[]).includes(f));
      return { user: user!, place: place!, key: key!, token: tokens[user!]!, cells: COLUMNS.map((c) => sha(fields[c])), withheld };
    }),
  );
  assert.deepEqual(
    personas.map((p) => p.user),
    ['beijing-engineer', 'us-analyst', 'austin-engineer'],
  );
  for (const p of personas)
    console.log(`pgwire clients: ${p.user} from ${p.place}: HTTP cells ${p.cells.map(short).join(' ')}, withheld: ${p.withheld.join(', ') || 'none'}`);
});

after(async () => {
  up.child.kill('SIGTERM');
  await up.exited;
});

/** Runs a program with `input` on its stdin; its stdout (a JSON document for the fixtures). */
function feed(cmd: string, args: readonly string[], input: string, env: NodeJS.ProcessEnv = process.env): Promise<{ stdout: string; stderr: string }> {
  return new Promise((done, fail) => {
    const child = spawn(cmd, args, { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.on('error', fail);
    child.on('exit', (code) => {
      clearTimeout(timer);
      // stderr may hold a failing client's traceback: no cells are in it (the programs print hashes).
      if (code === 0) done({ stdout, stderr });
      else fail(new Error(`${cmd} exited with ${code}: ${stderr.slice(-2000)}`));
    });
    child.stdin.end(input);
  });
}

const connections = () =>
  personas.map((p) => JSON.stringify({ host: '127.0.0.1', port: pgPort, user: p.user, password: p.token, place: p.place, key: p.key })).join('\n');
const expectedNotices = (p: Persona) =>
  p.withheld.length > 0 ? [`cordon withheld ${p.withheld.join(', ')}: NULL where the rules do not disclose the value`] : [];
const userColumns = [...users.fields.values()];

test('psycopg2: a %s parameter in its default transaction gets the HTTP cells; conn.info, information_schema and errors as PostgreSQL gives them', async () => {
  const { stdout } = await feed(PYTHON, [join(CLIENTS, 'psycopg2_client.py')], connections());
  const results = JSON.parse(stdout) as Json[];
  assert.equal(results.length, personas.length);
  for (const [i, p] of personas.entries()) {
    const r = results[i]!;
    assert.equal(r['user'], p.user);
    assertSameHidden(r['rows'], [p.cells], `${p.user}: psycopg2's cells are the HTTP gateway's`);
    console.log(`pgwire clients: psycopg2 as ${p.user}: cells ${(r['rows'] as (string | null)[][])[0]!.map(short).join(' ')}`);
    assert.deepEqual(
      r['description'],
      COLUMNS.map((c) => [c, 25]),
    );
    assert.equal(r['rowcount'], 1);
    assert.equal(r['in_transaction'], true, 'psycopg2 opened a transaction (BEGIN) before the query');
    assert.deepEqual(
      r['notices'],
      expectedNotices(p).map((n) => `NOTICE:  ${n}`),
    );
    assert.equal(r['server_version'], 160000);
    assert.equal(r['protocol_version'], 3);
    assert.match(String(r['parameter_server_version']), /^16\.0 /);
    assert.deepEqual([r['info_user'], r['info_dbname'], r['encoding']], [p.user, 'cordon', 'UTF8']);
    assert.deepEqual(r['tables'], [...policy.datasets.keys()].sort(), 'information_schema.tables lists the datasets');
    assert.deepEqual(
      r['columns'],
      userColumns.map((f) => [f.name, sqlType[f.type], f.name === users.key ? 'NO' : 'YES']),
      'information_schema.columns lists the fields with their types, the key not null',
    );
    assert.deepEqual((r['session'] as string[]).slice(1), ['psycopg2 test', p.user, 'cordon']);
    assert.equal(r['injected_rows'], 0, 'a parameter is a value, never SQL');
    assert.equal(r['filter_refused'], '42501');
    assert.equal(r['isolation'], 'read committed');
  }
});

test('pgJDBC: a PreparedStatement with setString gets the HTTP cells, also past prepareThreshold; ResultSetMetaData, getTables, getColumns and a savepoint work', async () => {
  const classes = tempDir('cordon-pgjdbc-');
  await run('javac', ['-cp', JDBC_JAR, '-d', classes, join(CLIENTS, 'PgJdbcClient.java')]);
  const input = personas.map((p) => [`jdbc:postgresql://127.0.0.1:${pgPort}/cordon`, p.user, p.token, p.place, p.key].join('\t')).join('\n');
  const { stdout } = await feed('java', ['-cp', `${classes}:${JDBC_JAR}`, 'PgJdbcClient'], input);
  const results = JSON.parse(stdout) as Json[];
  assert.equal(results.length, personas.length);
  for (const [i, p] of personas.entries()) {
    const r = results[i]!;
    assert.equal(r['user'], p.user);
    assertSameHidden(r['rows'], [p.cells], `${p.user}: pgJDBC's cells are the HTTP gateway's`);
    assertSameHidden(r['repeated'], Array(JDBC_REPEATS - 1).fill([p.cells]), `${p.user}: the same cells on every run, past prepareThreshold`);
    console.log(`pgwire clients: pgJDBC as ${p.user}: cells ${(r['rows'] as (string | null)[][])[0]!.map(short).join(' ')}`);
    assert.deepEqual(
      r['metadata'],
      COLUMNS.map((c) => [c, 'text', 12]),
      'ResultSetMetaData: text columns (java.sql.Types.VARCHAR)',
    );
    assert.deepEqual(r['notices'], expectedNotices(p), 'the notice as a SQLWarning');
    assert.match(String(r['product']), /^PostgreSQL 16\.0 /);
    assert.equal(r['major'], 16);
    assert.equal(r['userName'], p.user);
    assert.deepEqual(r['tables'], [...policy.datasets.keys()].sort(), 'getTables lists the datasets');
    const jdbcType = { string: 'text', number: 'float8', boolean: 'bool' } as const;
    assert.deepEqual(
      r['columns'],
      userColumns.map((f) => [f.name, jdbcType[f.type], f.name === users.key ? 0 : 1]),
      'getColumns lists the fields, the key not nullable',
    );
    assert.deepEqual(r['primaryKeys'], [], 'no indexes, so no primary key');
    assert.deepEqual(r['schemas'], ['information_schema', 'pg_catalog', 'public']);
    assert.equal(r['filterRefused'], '42501', 'a filter on a protected column is refused, inside the transaction');
    assert.equal(r['applicationName'], 'pgjdbc test', 'after ROLLBACK TO the savepoint the transaction goes on');
    assert.equal(r['injectedRows'], 0, 'a parameter is a value, never SQL');
  }
});

/** The CSV blocks pgcli printed (table_format = csv), each a list of rows; `<null>` is NULL. */
function csvBlocks(out: string): (string | null)[][][] {
  const blocks: (string | null)[][][] = [];
  let current: (string | null)[][] | undefined;
  // biome-ignore lint/suspicious/noControlCharactersInRegex: pgcli's terminal escapes are what is stripped
  for (const line of out.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '').split(/\r?\n/)) {
    if (line.startsWith('"')) {
      const cells = [...line.matchAll(/"((?:[^"]|"")*)"/g)].map((m) => m[1]!.replace(/""/g, '"'));
      current ??= [];
      current.push(cells.map((c) => (c === '<null>' ? null : c)));
    } else if (current) {
      blocks.push(current);
      current = undefined;
    }
  }
  if (current) blocks.push(current);
  return blocks;
}

test('pgcli: driven through a pipe (no terminal), the SELECT gets the HTTP cells, \\dt and \\d users list the catalog; its completion refresh answers from the catalog', async () => {
  const home = tempDir('cordon-pgcli-');
  const rc = join(home, 'pgclirc');
  writeFileSync(
    rc,
    `[main]\ntable_format = csv\nenable_pager = False\nlog_file = ${join(home, 'pgcli.log')}\nlog_level = ERROR\nhistory_file = ${join(home, 'history')}\n`,
  );
  for (const p of personas) {
    const env = { ...process.env, PGPASSWORD: p.token, PGOPTIONS: `-c cordon.forwarded_for=${p.place}`, XDG_CONFIG_HOME: home, HOME: home, TERM: 'dumb' };
    const commands = `SELECT uid, username, phone_number FROM users WHERE uid = '${p.key}'\n\\dt\n\\d users\n`;
    const { stdout, stderr } = await feed(
      'pgcli',
      ['--pgclirc', rc, '-h', '127.0.0.1', '-p', String(pgPort), '-U', p.user, '-d', 'cordon', '--less-chatty'],
      commands,
      env,
    );
    assert.doesNotMatch(stderr, /Traceback|Error/, `${p.user}: pgcli reported no error`);
    const [select, dt, d] = csvBlocks(stdout);
    assert.deepEqual(select?.[0], [...COLUMNS]);
    assertSameHidden(
      select?.slice(1).map((row) => row.map(sha)),
      [p.cells],
      `${p.user}: pgcli's cells are the HTTP gateway's`,
    );
    console.log(`pgwire clients: pgcli as ${p.user}: cells ${select![1]!.map((c) => short(sha(c))).join(' ')}`);
    for (const n of expectedNotices(p)) assert.ok(stdout.includes(n), `${p.user}: the notice is shown`);
    assert.deepEqual(dt, [['Schema', 'Name', 'Type', 'Owner'], ...[...policy.datasets.keys()].sort().map((t) => ['public', t, 'table', 'cordon'])], '\\dt');
    assert.deepEqual(
      d,
      [['Column', 'Type', 'Modifiers'], ...userColumns.map((f) => [f.name, sqlType[f.type], f.name === users.key ? ' not null' : ''])],
      '\\d users',
    );
  }
  // The completion refresh, through pgcli's own executor, one query after the other.
  const { stdout } = await feed(PYTHON, [join(CLIENTS, 'pgcli_refresh.py')], connections());
  const results = JSON.parse(stdout) as Json[];
  for (const r of results) {
    assert.deepEqual(r['search_path'], ['pg_catalog', 'public']);
    assert.deepEqual(r['schemata'], ['information_schema', 'pg_catalog', 'public']);
    assert.deepEqual(
      r['tables'],
      [...policy.datasets.keys()].sort().map((t) => ['public', t]),
    );
    assert.deepEqual(
      r['table_columns'],
      [...policy.datasets.values()]
        .sort((a, b) => (a.name < b.name ? -1 : 1))
        .flatMap((ds) => [...ds.fields.values()].map((f) => ['public', ds.name, f.name, sqlType[f.type]])),
    );
    for (const k of ['foreignkeys', 'views', 'view_columns', 'datatypes', 'functions']) assert.deepEqual(r[k], [], k);
    assert.deepEqual(r['databases'], ['cordon']);
    assert.deepEqual(r['full_databases'], [['cordon', 'cordon', 'UTF8', 'C', 'C', null]]);
  }
});

/** The access log's records, as the monitor reads them; polled until a checkpoint covers `want` of them. */
async function records(want: (rs: Json[]) => boolean): Promise<Json[]> {
  let rs: Json[] = [];
  for (let i = 0; i < 100; i++) {
    const r = await fetch(`${up.base}/v1/log/records?after=-1&limit=1000`, { headers: { authorization: `Bearer ${tokens['monitor']}` } });
    assert.equal(r.status, 200);
    rs = ((await r.json()) as { records: { record: Json }[] }).records.map((x) => x.record);
    if (want(rs)) break;
    await new Promise((w) => setTimeout(w, 100));
  }
  return rs;
}
const named = (r: Json) => ((r['fields'] ?? []) as { fields: Json }[]).flatMap((g) => Object.keys(g.fields)).sort();
const wireReads = (rs: Json[], user: string) =>
  rs.filter((r) => r['principal'] === user && r['action'] === 'read' && r['dataset'] === 'users' && named(r).join() === 'phone_number,uid,username');

/** Catalog queries an attacker would try for counts, sizes and statistics, and the metadata clients read. */
const PROBES = [
  'SELECT * FROM pg_catalog.pg_class ORDER BY oid',
  'SELECT * FROM pg_catalog.pg_attribute ORDER BY attrelid, attnum',
  'SELECT relname, reltuples, relpages, relallvisible, pg_relation_size(oid), pg_total_relation_size(oid), pg_table_size(oid), pg_stat_get_live_tuples(oid), pg_stat_get_tuples_inserted(oid) FROM pg_class ORDER BY 1',
  'SELECT pg_database_size(current_database()), pg_size_pretty(pg_database_size(current_database()))',
  'SELECT * FROM pg_stats',
  'SELECT * FROM pg_statistic',
  'SELECT * FROM pg_stats_ext',
  'SELECT * FROM pg_stat_user_tables',
  'SELECT * FROM pg_stat_all_tables',
  'SELECT * FROM pg_statio_user_tables',
  'SELECT * FROM pg_stat_database',
  'SELECT * FROM pg_stat_activity',
  'SELECT * FROM information_schema.tables ORDER BY table_name',
  'SELECT * FROM information_schema.columns ORDER BY table_name, ordinal_position',
  'SELECT * FROM pg_catalog.pg_index',
  "SELECT count(*), max(attname), string_agg(attname, ',' ORDER BY attname) FROM pg_attribute",
];

/** node-postgres to the wire port, the place in the startup options (as the banner's psql lines give it). */
function clientConfig(port: number, user: string, password: string, place: string) {
  const config = { host: '127.0.0.1', port, user, database: 'cordon', password, options: `-c cordon.forwarded_for=${place}` };
  return config;
}

async function probe(port: number, user: string, token: string, place: string): Promise<unknown[]> {
  const client = new pg.Client(clientConfig(port, user, token, place));
  await client.connect();
  try {
    const out: unknown[] = [];
    for (const q of PROBES) {
      const r = await client.query(q);
      out.push([r.fields.map((f) => [f.name, f.dataTypeID]), r.rows.map((row) => r.fields.map((f) => row[f.name]))]);
    }
    return out;
  } finally {
    await client.end();
  }
}

test('the log holds one record per row the clients read, and nothing for their catalog queries', async () => {
  const reads = 2 + JDBC_REPEATS;
  const rs = await records((all) => personas.every((p) => wireReads(all, p.user).length >= reads));
  for (const p of personas) {
    const mine = wireReads(rs, p.user);
    assert.equal(mine.length, reads, `${p.user}: psycopg2 and pgcli read one row, pgJDBC ${JDBC_REPEATS} times the same: one record each`);
    assert.ok(
      mine.every((r) => r['outcome'] === 'released'),
      `${p.user}: released`,
    );
    // Besides them, only the test's own GET over HTTP read: no catalog query, refused filter or injected key was recorded.
    assert.equal(rs.filter((r) => r['principal'] === p.user && r['action'] === 'read').length, reads + 1, `${p.user}: no other read`);
  }
  // Reading the log is logged (audit_read): the other records are counted.
  const notAudit = (all: Json[]) => all.filter((r) => r['action'] !== 'audit_read').length;
  const before = notAudit(rs);
  await probe(pgPort, 'us-analyst', tokens['us-analyst']!, '10.21.0.5');
  // Then one read of one row, as a mark: once its record is served, whatever came before it is too.
  const analyst = personas.find((p) => p.user === 'us-analyst')!;
  const client = new pg.Client(clientConfig(pgPort, analyst.user, analyst.token, analyst.place));
  await client.connect();
  try {
    assert.equal((await client.query('SELECT uid FROM users WHERE uid = $1', [analyst.key])).rows.length, 1);
  } finally {
    await client.end();
  }
  const mark = (all: Json[]) => all.some((r) => r['principal'] === analyst.user && r['action'] === 'read' && named(r).join() === 'uid');
  const later = await records(mark);
  assert.ok(mark(later), 'the mark is in the log');
  assert.equal(notAudit(later), before + 1, 'the catalog queries wrote no record; the mark one');
});

test('attack: catalog answers tell nothing of the data — the same for every persona from every place, and the same whatever the stores hold', async () => {
  // Every persona from its site, and one from a place the network map does not know.
  const answers = await Promise.all([
    ...personas.map((p) => probe(pgPort, p.user, p.token, p.place)),
    probe(pgPort, 'us-analyst', tokens['us-analyst']!, '203.0.113.9'),
  ]);
  for (const a of answers.slice(1)) assert.deepEqual(a, answers[0], 'the same answers for every caller and place');
  const stats = answers[0]![2] as [unknown, unknown[][]];
  assert.deepEqual(
    stats[1],
    [...policy.datasets.keys()].sort().map((d) => [d, -1, 0, 0, null, null, null, null, null]),
    'no row counts, sizes or scan statistics',
  );
  for (const i of [4, 5, 6, 7, 8, 9, 10, 11, 14]) assert.deepEqual((answers[0]![i] as [unknown, unknown[]])[1], [], PROBES[i]);

  // A second demo whose stores hold 300 users: every answer the same as over empty stores.
  const full = await startUp(tempDir('cordon-pgwire-clients-full-'), ['--demo', '--demo-users', '300', '--pg-port', '0']);
  try {
    const port = Number(/PostgreSQL 127\.0\.0\.1:(\d+) /.exec(full.output().out)?.[1]);
    const fullAnswers = await probe(port, 'us-analyst', full.tokens()['us-analyst']!, '10.21.0.5');
    assert.deepEqual(fullAnswers, answers[1], 'the catalog over 300 users answers as over none');
    // The data is there: the same persona lists users over the wire.
    const client = new pg.Client(clientConfig(port, 'us-analyst', full.tokens()['us-analyst']!, '10.21.0.5'));
    await client.connect();
    try {
      assert.ok((await client.query('SELECT username FROM users LIMIT 50')).rows.length > 0, 'the second demo holds users');
    } finally {
      await client.end();
    }
  } finally {
    full.child.kill('SIGTERM');
    await full.exited;
  }
});

/**
 * Queries over the catalog and constants whose answer the gateway must give as PostgreSQL does
 * (names, type OIDs and values) when its tables are the policy's datasets: the clients' metadata
 * queries are built of these. OIDs and what PostgreSQL holds besides the datasets are left out.
 */
const AS_POSTGRES = [
  `SELECT 1, 'a', NULL, true, 1.5, -2, 7/2, 7 % 3, 2^3, 'a' || 'b', 'x' || 1`,
  `SELECT lower('AbC'), upper('abc'), length('héllo'), substring('abcdef' from 2 for 3), substring('abcdef' for 2), replace('aXbX', 'X', '-')`,
  `SELECT ARRAY[1,2,3], ARRAY['a', 'b c', NULL, ''], '{1,2}'::int[], array_to_string(ARRAY['a','b',NULL], ','), array_length(ARRAY[1,2],1), array_upper(ARRAY[]::int[], 1)`,
  `SELECT NULL::bool OR true, NULL::bool AND false, NOT NULL::bool, 1 = NULL, NULL IS NULL, 1 IS DISTINCT FROM NULL, NULL IS NOT DISTINCT FROM NULL`,
  `SELECT 1 IN (1, 2), 3 IN (1, NULL), 3 NOT IN (1, 2), 1 = ANY(ARRAY[1,2]), 1 = ALL(ARRAY[1,2]), 5 BETWEEN 1 AND 10`,
  `SELECT coalesce(NULL, 2, 3), nullif(1, 1), nullif(1, 2), greatest(1, 5, 3), least('b', 'a')`,
  `SELECT CASE WHEN 1 > 2 THEN 'a' WHEN 2 > 1 THEN 'b' END, CASE 2 WHEN 1 THEN 'one' WHEN 2 THEN 'two' ELSE 'many' END, CASE WHEN true THEN '' ELSE 23::regtype::text END`,
  `SELECT 'abc' LIKE 'a%', 'abc' LIKE 'a_c', 'ABC' ILIKE 'a%', 'abc' NOT LIKE '%d', 'a_c' LIKE 'a\\_c', 'pg_toast' ~ '^pg_', 'Public' ~* '^public$'`,
  `SELECT 23::regtype, 'int4'::regtype, 'text[]'::regtype::oid, 1009::regtype, 'pg_class'::regclass::oid, format_type(701, NULL), format_type(1043, -1)`,
  `SELECT true::text, 1::text, 't'::bool, '12'::int + 1, 3.7::int, '{a,b}'::text[], 'ab'::"char", 2.5::int4`,
  `SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull, a.attnum, a.attlen, a.attbyval, a.attalign, a.attstorage, a.attcollation
     FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace JOIN pg_attribute a ON a.attrelid = c.oid WHERE n.nspname = 'public' AND a.attnum > 0 ORDER BY 1, a.attnum`,
  `SELECT table_name, column_name, ordinal_position, is_nullable, data_type, character_octet_length, numeric_precision, numeric_precision_radix, udt_name, dtd_identifier
     FROM information_schema.columns WHERE table_schema = 'public' ORDER BY 1, 3`,
  `SELECT table_catalog, table_schema, table_name, table_type, is_typed FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 3`,
  `SELECT relname, relkind, relpersistence, relnatts, relhasindex, relam, relchecks, relreplident, relispartition FROM pg_class WHERE relnamespace = 'public'::regnamespace ORDER BY 1`,
  `SELECT typname, typlen, typbyval, typtype, typcategory, typelem, typarray, typinput, typoutput, typalign, typstorage, typcollation FROM pg_type WHERE oid IN (16, 19, 20, 23, 25, 26, 701, 1009, 1043, 2205) ORDER BY oid`,
  `SELECT relname, count(*), string_agg(attname, ',' ORDER BY attnum DESC), max(attnum), array_agg(attnum ORDER BY attnum)
     FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid WHERE c.relnamespace = 2200 AND attnum > 0 GROUP BY relname HAVING count(*) > 5 ORDER BY 2 DESC`,
  `SELECT attname, row_number() OVER (PARTITION BY attrelid ORDER BY attnum DESC), rank() OVER (ORDER BY atttypid) FROM pg_attribute WHERE attrelid = 'videos'::regclass AND attnum > 0 ORDER BY attnum`,
  `SELECT DISTINCT atttypid FROM pg_attribute WHERE attrelid = 'videos'::regclass AND attnum > 0 ORDER BY 1`,
  `SELECT x, n FROM information_schema._pg_expandarray(ARRAY['a','b'])`,
  `SELECT * FROM generate_series(1, 5, 2) AS g(v) ORDER BY v DESC LIMIT 2 OFFSET 1`,
  `SELECT s, o FROM unnest(ARRAY['x','y']) WITH ORDINALITY AS u(s, o)`,
  `SELECT relname FROM pg_class WHERE relnamespace = 2200 UNION ALL SELECT 'users' ORDER BY 1`,
  `SELECT relname FROM pg_class WHERE relnamespace = 2200 INTERSECT SELECT 'users'`,
  `SELECT relname FROM pg_class WHERE relnamespace = 2200 EXCEPT SELECT 'users' ORDER BY 1`,
  `WITH t AS (SELECT relname, relnatts FROM pg_class WHERE relnamespace = 2200) SELECT relname FROM t WHERE relnatts = (SELECT max(relnatts) FROM t)`,
  `SELECT c.relname, (SELECT count(*) FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0) AS n FROM pg_class c
     WHERE c.relnamespace = 2200 AND EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'created_at') ORDER BY n`,
  `SELECT c.relname FROM pg_class c WHERE c.relnamespace = 2200 AND c.oid IN (SELECT attrelid FROM pg_attribute WHERE attname = 'id') ORDER BY 1`,
  `SELECT count(*) FROM pg_attribute a JOIN pg_attribute b USING (attrelid, attnum) WHERE a.attrelid = 'users'::regclass AND a.attnum > 0`,
  `SELECT n.nspname, c.relname FROM pg_namespace n LEFT JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = 'users' WHERE n.nspname IN ('public', 'information_schema') ORDER BY 1`,
  `SELECT current_schemas(true), current_schemas(false), current_schema(), current_database(), (current_schemas(true))[2]`,
  `SELECT pg_size_pretty(0::bigint), pg_size_pretty(10239::bigint), pg_size_pretty(10240::bigint), pg_size_pretty(12345678::bigint), pg_size_pretty(123456789012::bigint)`,
  `SELECT quote_ident('users'), quote_ident('Users'), quote_ident('a b'), quote_literal('it''s'), split_part('a.b.c', '.', 2), left('abc', 2), right('abc', 2), btrim('  x  '), position('b' in 'abc')`,
  `SELECT has_table_privilege('users', 'SELECT'), has_schema_privilege('public', 'USAGE'), pg_table_is_visible('users'::regclass), pg_encoding_to_char(6), pg_get_userbyid(10)`,
];

test('the catalog answers as PostgreSQL 15 does over the same tables: names, types and values', async () => {
  const real = await startPostgres({ database: 'cordon' });
  const theirs = new pg.Client({ host: '127.0.0.1', port: real.port, user: 'cordon', database: 'cordon' });
  const ours = new pg.Client(clientConfig(pgPort, 'us-analyst', tokens['us-analyst']!, '10.21.0.5'));
  try {
    await Promise.all([theirs.connect(), ours.connect()]);
    // The policy's datasets as tables, owned by the role `cordon` as the gateway says they are.
    for (const d of policy.datasets.values())
      await theirs.query(
        `CREATE TABLE ${d.name} (${[...d.fields.values()].map((f) => `${f.name} ${sqlType[f.type]}${f.name === d.key ? ' NOT NULL' : ''}`).join(', ')})`,
      );
    const answer = async (c: InstanceType<typeof pg.Client>, q: string) => {
      const r = await c.query(q);
      return [r.fields.map((f) => [f.name, f.dataTypeID]), r.rows.map((row) => r.fields.map((f) => row[f.name]))];
    };
    for (const q of AS_POSTGRES) assert.deepEqual(await answer(ours, q), await answer(theirs, q), q);
  } finally {
    await Promise.allSettled([theirs.end(), ours.end()]);
    await real.stop();
  }
});
