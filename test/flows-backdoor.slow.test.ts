// The backdoor finder on a real PostgreSQL with pgaudit: a "legacy dashboard" role that reads
// phone_number from the enclave store directly is reported (role, table, columns, client, time)
// after one poll, by the finder, `cordon flows leaks` and GET /v1/flows/leaks; cordon's own role,
// which reads the same table all the time, is reported never. Attacks: roles named like cordon's,
// reads through a view, a function, COPY … TO, quoted and schema-qualified names, another database
// on the same server. Bad input: lines cordon cannot parse are counted, a log it cannot read makes
// the finder unhealthy in /readyz and the view stale, and neither is fatal.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, cpSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import postgres from 'postgres';
import { loadPolicy, type Policy } from '../src/policy/index.js';
import { BackdoorFinder, type Backdoor } from '../src/flows/audit/index.js';
import { openStore } from '../src/store/index.js';
import { createCordonServer, createDemoIssuer, type CordonServer, type DemoIssuer } from '../src/server/index.js';
import { cordonAsync } from './helpers/cli.js';
import { DEMO_POLICY } from './helpers/paths.js';
import { startPostgres, type PostgresServer } from './helpers/postgres.js';
import { tempDir } from './helpers/temp.js';

/** A protected value the legacy dashboard puts in its statement: it must never be printed. */
const PHONE = '+15550001234';
const PHONE_DIGITS = '5550001234';

let pg: PostgresServer;
let policyDir: string;
let policy: Policy;
let server: CordonServer;
let issuer: DemoIssuer;

/** A postgres.js client as `user` (trust auth), to `database`. */
const client = (user: string, database = 'cordon_test') => postgres({ host: '127.0.0.1', port: pg.port, user, database, max: 1, onnotice: () => {} });

/** Waits until the server's csvlog holds `n` pgaudit lines of `role` (the logging collector writes a moment later). */
async function logged(role: string, n: number): Promise<void> {
  const needle = `,${JSON.stringify(role)},`;
  for (let i = 0; i < 200; i++) {
    const count = readFileSync(pg.csvLog!, 'utf8').split(needle).length - 1;
    if (count >= n) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`the csvlog never held ${n} lines of role ${JSON.stringify(role)}`);
}

const client2 = (server: PostgresServer, user: string) =>
  postgres({ host: '127.0.0.1', port: server.port, user, database: 'cordon_test', max: 1, onnotice: () => {} });

const summary = (b: readonly Backdoor[]) => b.map((x) => `${JSON.stringify(x.role)} ${x.table} [${x.columns.join(',')}] ${x.columnsHow}`).sort();

before(async () => {
  pg = await startPostgres({ pgaudit: true });
  policyDir = tempDir('cordon-backdoor-policy-');
  cpSync(DEMO_POLICY, policyDir, { recursive: true });
  const yaml = join(policyDir, 'cordon.yaml');
  const text = readFileSync(yaml, 'utf8').replace('enclave_us: { url: "pglite://stores/enclave_us" }', `enclave_us: { url: "${pg.url}" }`);
  // flows is cordon.yaml's last key: its audit item goes at the end.
  writeFileSync(yaml, `${text}  audit:\n    - { store: enclave_us, csvlog: "${pg.csvLog}" }\n`);
  const loaded = loadPolicy(policyDir);
  if (!loaded.ok) throw new Error(JSON.stringify(loaded.issues));
  policy = loaded.policy;
  issuer = await createDemoIssuer();
  server = await createCordonServer({
    policy,
    dataDir: tempDir('cordon-backdoor-srv-'),
    tokens: { issuer: issuer.issuer, audience: issuer.audience, jwks: issuer.jwks },
    storeUrls: { enclave_eu: 'pglite://memory', global: 'pglite://memory' },
    auditPollMs: 100,
  });
  // cordon writes and reads the table as its own role (the URL's user, `cordon`): never a backdoor.
  const store = server.stores.get('enclave_us')!;
  await store.upsert('users', 'u-1', { phone_number: PHONE, country: 'US' });
  assert.ok(await store.get('users', 'u-1'));
  await store.getMany('users', ['u-1', 'u-2']);

  const admin = client('cordon');
  await admin.unsafe(`
    CREATE ROLE legacy_dashboard LOGIN;
    CREATE ROLE "cordon " LOGIN;
    CREATE ROLE "Cordon" LOGIN;
    GRANT SELECT ON ds_users TO legacy_dashboard, "cordon ", "Cordon";
    CREATE VIEW v_contacts AS SELECT key, phone_number FROM ds_users;
    GRANT SELECT ON v_contacts TO legacy_dashboard;
    CREATE FUNCTION phone_of(k text) RETURNS text LANGUAGE plpgsql SECURITY DEFINER AS $$
      BEGIN RETURN (SELECT email::text FROM ds_users WHERE key = k); END $$;
    CREATE FUNCTION email_of(k text) RETURNS text LANGUAGE plpgsql AS $$
      BEGIN RETURN (SELECT email::text FROM ds_users WHERE key = k); END $$;
    CREATE FUNCTION sql_phone_of(k text) RETURNS text LANGUAGE sql SECURITY DEFINER AS $$ SELECT bio::text FROM ds_users WHERE key = k $$;
  `);
  await admin.unsafe('CREATE DATABASE elsewhere');
  await admin.end();
  const other = client('cordon', 'elsewhere');
  await other.unsafe('CREATE TABLE ds_users (key text PRIMARY KEY, phone_number jsonb); GRANT SELECT ON ds_users TO legacy_dashboard');
  await other.end();
});

after(async () => {
  await server?.close();
  await pg?.stop();
});

test('a legacy dashboard reading phone_number directly is a backdoor after one poll; cordon’s own role is never one', async () => {
  const finder = new BackdoorFinder(policy, { storeUrls: new Map() });
  await finder.poll();
  // Before the dashboard's read: cordon's own reads (many, of ds_users too) are not backdoors.
  assert.deepEqual(finder.backdoors(), []);
  const cordonLines = readFileSync(pg.csvLog!, 'utf8').split('"cordon","cordon_test"').length - 1;
  assert.ok(cordonLines >= 3, `cordon's own reads are in the trail (${cordonLines} lines)`);

  const dash = client('legacy_dashboard');
  await dash.unsafe(`select phone_number from ds_users where phone_number::text like '%${PHONE_DIGITS}%'`);
  await dash.end();
  await logged('legacy_dashboard', 1);
  await finder.poll();
  const found = finder.backdoors();
  assert.deepEqual(summary(found), ['"legacy_dashboard" public.ds_users [phone_number] named']);
  const b = found[0]!;
  assert.equal(b.store, 'enclave_us');
  assert.equal(b.dataset, 'users');
  assert.deepEqual(b.protected, [{ column: 'phone_number', category: 'user.contact.phone_number', jurisdiction: 'US' }]);
  assert.match(b.client, /^127\.0\.0\.1:\d+$/);
  assert.ok(Math.abs(Date.parse(b.lastSeen) - Date.now()) < 60_000, b.lastSeen);
  assert.equal(b.statement, 'select phone_number from ds_users where phone_number::text like $1');
  assert.match(b.evidence, /postgresql\.csv:\d+$/);
  assert.deepEqual(
    b.path.map((p) => p.node),
    ['column:postgres://enclave-us-db.internal:5432/app.public.users#phone_number', 'role:enclave_us/legacy_dashboard'],
  );
  assert.deepEqual(
    finder.health().sources.map((s) => [s.store, s.ok, s.unparsed]),
    [['enclave_us', true, 0]],
  );

  // The CLI reads the same trail (cordon.yaml flows.audit) and prints role, table, columns, client and time.
  const cli = await cordonAsync(['flows', 'leaks', '--policy', policyDir]);
  assert.equal(cli.status, 1, cli.stderr);
  assert.ok(!cli.stdout.includes(PHONE_DIGITS) && !cli.stderr.includes(PHONE_DIGITS), 'no protected value is printed');
  const block = cli.stdout.slice(cli.stdout.indexOf('backdoor: '));
  assert.match(block, /^backdoor: role "legacy_dashboard" read enclave_us public\.ds_users \(dataset users\) around the gateway\n/);
  assert.match(block, /\n {2}columns {4}phone_number\n {2}protected {2}phone_number \(user\.contact\.phone_number in US\)\n/);
  assert.match(block, /\n {2}client {5}127\.0\.0\.1:\d+ \(application "postgres\.js"\)\n {2}time {7}\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z\n/);
  assert.match(block, /\n {2}statement {2}select phone_number from ds_users where phone_number::text like \$1\n/);
  assert.match(block, /\naudit trail of enclave_us: \d+ log record\(s\), \d+ pgaudit entries\n1 backdoor\(s\)\n$/);
  assert.ok(!/role "cordon"/.test(cli.stdout));
  const json = await cordonAsync(['flows', 'leaks', '--policy', policyDir, '--json']);
  assert.deepEqual(summary((JSON.parse(json.stdout) as { backdoors: Backdoor[] }).backdoors), summary(found));

  // The server's leaks API has it too (its own finder polls every 100 ms).
  let api: { backdoors?: Backdoor[]; audit?: { ok: boolean } } = {};
  for (let i = 0; i < 50 && (api.backdoors?.length ?? 0) === 0; i++) {
    await new Promise((r) => setTimeout(r, 100));
    const r = await server.app.inject({ method: 'GET', url: '/v1/flows/leaks', headers: { authorization: `Bearer ${await issuer.sign('monitor')}` } });
    assert.equal(r.statusCode, 200, r.body);
    api = r.json();
  }
  assert.deepEqual(summary(api.backdoors ?? []), summary(found));
  assert.equal(api.audit?.ok, true);
  assert.ok(!JSON.stringify(api).includes(PHONE_DIGITS));
});

test('attacks: look-alike roles, views, functions, COPY, quoted and qualified names, another database', async () => {
  const finder = new BackdoorFinder(policy, { storeUrls: new Map() });
  await finder.poll();
  const before = new Set(summary(finder.backdoors()));
  const run = async (user: string, sql: string, database = 'cordon_test') => {
    const c = client(user, database);
    await c.unsafe(sql);
    await c.end();
  };
  await run('cordon ', 'select phone_number from ds_users');
  await run('Cordon', 'select email from ds_users');
  await run('legacy_dashboard', 'select * from v_contacts');
  await run('legacy_dashboard', `select phone_of('u-1')`);
  await run('legacy_dashboard', `select sql_phone_of('u-1')`);
  await run('legacy_dashboard', `select email_of('u-1')`);
  await run('legacy_dashboard', 'copy ds_users (device_id) to stdout');
  await run('legacy_dashboard', 'select "ip_address", u.birthday from PUBLIC."ds_users" u');
  await run('legacy_dashboard', 'select phone_number from ds_users', 'elsewhere');
  // cordon itself, through every path above: nothing.
  await run('cordon', `select * from v_contacts; select phone_of('u-1'); select email_of('u-1'); select "ip_address" from public."ds_users"`);
  await logged('Cordon', 1);
  await logged('cordon ', 1);
  await new Promise((r) => setTimeout(r, 300));
  await finder.poll();
  const now = summary(finder.backdoors()).filter((s) => !before.has(s));
  assert.deepEqual(
    now,
    [
      '"cordon " public.ds_users [phone_number] named',
      '"Cordon" public.ds_users [email] named',
      '"legacy_dashboard" public.ds_users [device_id] named',
      '"legacy_dashboard" public.ds_users [birthday,ip_address] named',
      '"legacy_dashboard" public.ds_users [key,username,bio,country,phone_number,email,birthday,device_id,ip_address,created_at] indirect',
      '"legacy_dashboard" public.v_contacts [] all',
      // What a SECURITY DEFINER function reads is not logged (pgaudit logs the call, with pgaudit.log's
      // `function` class): the call is the backdoor, its columns unknown.
      '"legacy_dashboard" public.phone_of [] function',
      '"legacy_dashboard" public.sql_phone_of [] function',
      // A function that runs as its caller: its reads are logged, with the statement inside it.
      '"legacy_dashboard" public.email_of [] function',
      '"legacy_dashboard" public.ds_users [key,email] named',
    ].sort(),
  );
  assert.deepEqual(
    finder.health().sources.map((s) => [s.ok, s.unparsed]),
    [[true, 0]],
  );
});

test('bad input: an unparsable line is counted and reported, an unreadable log makes the finder unhealthy and stale, neither is fatal', async () => {
  const dir = tempDir('cordon-backdoor-bad-');
  const log = join(dir, 'postgresql.csv');
  const good = readFileSync(pg.csvLog!, 'utf8')
    .split(/\n(?=\d{4}-\d\d-\d\d )/)
    .find((r) => r.includes('"legacy_dashboard"') && r.includes('ds_users'))!;
  assert.ok(good);
  writeFileSync(log, `not,a csvlog record\n${good.trimEnd()}\n"unterminated quote\n`);
  const finder = new BackdoorFinder(policy, { storeUrls: new Map(), csvlogs: new Map([['enclave_us', log]]) });
  await finder.poll();
  // The good record is read; the line without 23 fields is counted; the unterminated one waits for the rest of its record.
  assert.equal(finder.backdoors().length, 1);
  let h = finder.health();
  assert.deepEqual(
    h.sources.map((s) => [s.ok, s.unparsed, s.unparsedLines]),
    [[true, 1, [{ line: 1, why: '2 fields, a csvlog record has at least 23' }]]],
  );
  appendFileSync(log, 'AUDIT: x"\n');
  await finder.poll();
  h = finder.health();
  assert.equal(h.sources[0]!.unparsed, 2, JSON.stringify(h));
  assert.equal(h.sources[0]!.unparsedLines[1]!.line, good.split('\n').length + 2);

  // Unreadable: unhealthy, stale, nothing lost; readable again: healthy.
  renameSync(log, `${log}.gone`);
  await finder.poll();
  h = finder.health();
  assert.deepEqual([h.ok, h.stale, h.sources[0]!.error], [false, true, `cannot read ${log}: ENOENT`]);
  assert.equal(finder.backdoors().length, 1);
  renameSync(`${log}.gone`, log);
  await finder.poll();
  assert.deepEqual([finder.health().ok, finder.health().stale], [true, false]);

  // The CLI: the demo has leaks, so exit 1, with the stale line (exit 3 when nothing else was found).
  const cli = await cordonAsync(['flows', 'leaks', '--policy', policyDir, '--audit-log', `enclave_us=${log}.missing`]);
  assert.equal(cli.status, 1, cli.stderr);
  assert.match(
    cli.stdout,
    new RegExp(
      `\\naudit trail of enclave_us: UNREADABLE \\(cannot read ${log.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}\\.missing: ENOENT\\): the backdoor view is stale\\n0 backdoor\\(s\\)\\n$`,
    ),
  );
  const usage = await cordonAsync(['flows', 'leaks', '--policy', policyDir, '--audit-log', 'nowhere=/x.csv']);
  assert.equal(usage.status, 2);
  assert.match(
    usage.stderr,
    /--audit-log must be STORE=CSVLOG with STORE an enclave store of cordon\.yaml \(enclave_us, enclave_eu, global\), got "nowhere=\/x\.csv"/,
  );

  // The server: /readyz says the finder is unhealthy (its status stays ready: the gateway serves without it).
  renameSync(pg.csvLog!, `${pg.csvLog}.gone`);
  try {
    let ready: { status?: string; backdoors?: { ok: boolean; stale: boolean; sources: { error?: string }[] } } = {};
    for (let i = 0; i < 50 && ready.backdoors?.ok !== false; i++) {
      await new Promise((r) => setTimeout(r, 100));
      ready = (await server.app.inject({ method: 'GET', url: '/readyz' })).json();
    }
    assert.equal(ready.status, 'ready');
    assert.deepEqual([ready.backdoors?.ok, ready.backdoors?.stale, ready.backdoors?.sources[0]?.error], [false, true, 'ENOENT']);
    // The public /readyz does not say where the trail is.
    assert.ok(!JSON.stringify(ready).includes(pg.csvLog!), JSON.stringify(ready));
  } finally {
    renameSync(`${pg.csvLog}.gone`, pg.csvLog!);
  }
});

test('where pgaudit is absent, pg_stat_statements: the same read is a backdoor (no client, the poll’s time), cordon’s is not', async () => {
  const pg2 = await startPostgres({ pgStatStatements: true });
  try {
    const dir = tempDir('cordon-backdoor-pgss-');
    cpSync(DEMO_POLICY, dir, { recursive: true });
    const yaml = join(dir, 'cordon.yaml');
    const text = readFileSync(yaml, 'utf8').replace('enclave_us: { url: "pglite://stores/enclave_us" }', `enclave_us: { url: "${pg2.url}" }`);
    writeFileSync(yaml, `${text}  audit:\n    - { store: enclave_us, pg_stat_statements: true }\n`);
    const loaded = loadPolicy(dir);
    if (!loaded.ok) throw new Error(JSON.stringify(loaded.issues));
    const store = await openStore('enclave_us', pg2.url);
    try {
      await store.ensureTable({ name: 'users', fields: [...loaded.policy.datasets.get('users')!.fields.keys()].filter((f) => f !== 'uid') });
      await store.upsert('users', 'u-1', { phone_number: PHONE });
      await store.get('users', 'u-1');
    } finally {
      await store.close();
    }
    const admin = client2(pg2, 'cordon');
    await admin.unsafe('CREATE ROLE legacy_dashboard LOGIN; GRANT SELECT ON ds_users TO legacy_dashboard');
    await admin.end();
    const finder = new BackdoorFinder(loaded.policy, { storeUrls: new Map() });
    await finder.poll();
    assert.deepEqual(finder.backdoors(), []);
    const dash = client2(pg2, 'legacy_dashboard');
    await dash.unsafe(`select phone_number from ds_users where key = 'u-1'`);
    await finder.poll();
    const found = finder.backdoors();
    assert.deepEqual(summary(found), ['"legacy_dashboard" public.ds_users [key,phone_number] named'], JSON.stringify(finder.health()));
    assert.deepEqual([found[0]!.client, found[0]!.statement, found[0]!.reads], ['', 'select phone_number from ds_users where key = $1', 1]);
    assert.match(found[0]!.evidence, /^pg_stat_statements queryid -?\d+$/);
    // Counted by calls since the last poll, not once a poll.
    await finder.poll();
    assert.equal(finder.backdoors()[0]!.reads, 1);
    await dash.unsafe(`select phone_number from ds_users where key = 'u-2'`);
    await dash.end();
    await finder.poll();
    assert.equal(finder.backdoors()[0]!.reads, 2);
    assert.deepEqual(
      finder.health().sources.map((s) => [s.csvlog, s.ok, s.unparsed]),
      [['pg_stat_statements', true, 0]],
    );
    // A store that cannot be reached: unhealthy, never fatal.
    await pg2.pause();
    await finder.poll();
    assert.deepEqual([finder.health().ok, finder.health().sources[0]!.error], [false, 'cannot read pg_stat_statements of enclave_us: ECONNREFUSED']);
    assert.equal(finder.backdoors().length, 1);
  } finally {
    await pg2.stop();
  }
});

test('flows.audit reads a csvlog or pg_stat_statements, exactly one, of an enclave store', () => {
  const dir = tempDir('cordon-backdoor-config-');
  cpSync(DEMO_POLICY, dir, { recursive: true });
  const yaml = join(dir, 'cordon.yaml');
  const text = readFileSync(yaml, 'utf8');
  writeFileSync(
    yaml,
    `${text}  audit:\n    - { store: enclave_us, csvlog: /x.csv, pg_stat_statements: true }\n    - { store: enclave_eu }\n    - { store: nowhere, csvlog: /y.csv }\n`,
  );
  const loaded = loadPolicy(dir);
  assert.equal(loaded.ok, false);
  assert.deepEqual(
    loaded.issues.map((i) => `${i.line}:${i.code} ${i.message}`),
    [
      `${text.split('\n').length + 1}:policy.invalid_value an item of flows.audit reads either a csvlog (csvlog: PATH, with pgaudit) or pg_stat_statements (pg_stat_statements: true, where pgaudit is absent): give exactly one`,
      `${text.split('\n').length + 2}:policy.invalid_value an item of flows.audit reads either a csvlog (csvlog: PATH, with pgaudit) or pg_stat_statements (pg_stat_statements: true, where pgaudit is absent): give exactly one`,
      `${text.split('\n').length + 3}:policy.unknown_store flows.audit names store "nowhere", which stores does not define`,
    ],
  );
});
