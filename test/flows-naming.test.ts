// Lineage as producers emit it: OpenLineage's dataset naming conventions (canonical forms, store
// aliases in cordon.yaml flows.stores, names that follow none), runs folded from their events, the
// Spark job that copies phone numbers from the US enclave's database to a Singapore bucket (events
// shaped as the Spark and Airflow integrations emit them, test/fixtures/openlineage/integrations),
// re-posting that changes nothing, producers who try to hide a leak, posted events that survive a
// restart, and `cordon flows leaks|impact --url` giving the server's own answer.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { loadPolicy } from '../src/policy/index.js';
import { canonicalDataset } from '../src/shared/openlineage-naming.js';
import { checkEvents, readEvents, type Leak } from '../src/flows/index.js';
import { createCordonServer, createDemoIssuer, type CordonServer, type DemoIssuer } from '../src/server/index.js';
import { cordon, cordonAsync } from './helpers/cli.js';
import { DEMO_POLICY, FIXTURES } from './helpers/paths.js';
import { tempDir } from './helpers/temp.js';

const loaded = loadPolicy(DEMO_POLICY);
assert.ok(loaded.ok);
const policy = loaded.policy;

const INTEGRATIONS = join(FIXTURES, 'openlineage/integrations');
const lines = (file: string) =>
  readFileSync(join(INTEGRATIONS, file), 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
const AIRFLOW = lines('airflow-phone-export.ndjson');
const SPARK = lines('spark-phone-export.ndjson');
const ALL = [...AIRFLOW, ...SPARK];
const SPARK_RUN = '0193a7c2-6e44-7a15-8b09-d2f3c4e5a602';
const SPARK_JOB = 'spark-prod/phone_export.execute_insert_into_hadoop_fs_relation_command.partner_exports_sg_contacts_sg';
const SPARK_PRODUCER = 'https://github.com/OpenLineage/OpenLineage/tree/1.26.0/integration/spark';
const PHONE_LEAK = 'dataset:s3://partner-exports-sg/contacts_sg|user.contact.phone_number|US';
const clone = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;

test('naming: each convention in canonical form; two spellings of one source are one; a name that follows none is kept with the reason', () => {
  const cases: { note: string; ns: string; name: string; want: [string, string, string | undefined]; problem?: RegExp }[] = [
    {
      note: 'PostgreSQL as the spec writes it',
      ns: 'postgres://enclave-us-db:5432',
      name: 'app.public.users',
      want: ['postgres://enclave-us-db:5432', 'app.public.users', 'postgres'],
    },
    {
      note: 'host case and the default port',
      ns: 'postgres://Enclave-US-DB',
      name: 'app.public.users',
      want: ['postgres://enclave-us-db:5432', 'app.public.users', 'postgres'],
    },
    { note: 'postgresql scheme', ns: 'postgresql://db:6543', name: 'a.b.c', want: ['postgres://db:6543', 'a.b.c', 'postgres'] },
    { note: 'MySQL default port', ns: 'mysql://db', name: 'shop.orders', want: ['mysql://db:3306', 'shop.orders', 'mysql'] },
    { note: 'BigQuery', ns: 'bigquery', name: 'proj.ds.t', want: ['bigquery', 'proj.ds.t', 'bigquery'] },
    { note: 'BigQuery as bigquery://', ns: 'bigquery://', name: 'proj.ds.t', want: ['bigquery', 'proj.ds.t', 'bigquery'] },
    { note: 'Snowflake', ns: 'snowflake://ORG-ACCT', name: 'DB.S.T', want: ['snowflake://org-acct', 'DB.S.T', 'snowflake'] },
    { note: 'S3 key without its leading slash; s3a is s3', ns: 's3a://bucket', name: '/a/b.csv', want: ['s3://bucket', 'a/b.csv', 's3'] },
    { note: 'GCS', ns: 'gs://bucket', name: 'a/b', want: ['gs://bucket', 'a/b', 'gcs'] },
    { note: 'Kafka default port', ns: 'kafka://broker', name: 'signups', want: ['kafka://broker:9092', 'signups', 'kafka'] },
    { note: 'local file', ns: 'file', name: '/tmp/x.csv', want: ['file', '/tmp/x.csv', 'file'] },
    { note: 'remote file', ns: 'file://nas', name: '/x.csv', want: ['file://nas', '/x.csv', 'file'] },
  ];
  for (const c of cases) {
    const r = canonicalDataset(c.ns, c.name);
    assert.deepEqual([r.namespace, r.name, r.convention], c.want, c.note);
    assert.equal(r.problem, undefined, c.note);
  }
  const bad: { note: string; ns: string; name: string; problem: string }[] = [
    {
      note: 'two parts for PostgreSQL',
      ns: 'postgres://db:5432',
      name: 'app.users',
      problem: 'PostgreSQL dataset names are database.schema.table; "app.users" has 2 part(s)',
    },
    {
      note: 'userinfo would hide the host',
      ns: 'postgres://enclave-us-db:5432@sg-db:5432',
      name: 'app.public.users',
      problem: 'postgres namespace "postgres://enclave-us-db:5432@sg-db:5432" must be scheme://authority, with no path, user or query',
    },
    { note: 'an unknown scheme', ns: 'warehouse', name: 'x', problem: 'namespace "warehouse" follows no OpenLineage naming convention cordon knows' },
  ];
  for (const c of bad) {
    const r = canonicalDataset(c.ns, c.name);
    assert.ok(r.problem?.startsWith(c.problem), `${c.note}: ${r.problem}`);
    assert.deepEqual([r.namespace, r.name], [c.ns, c.name], `${c.note}: kept as given`);
  }
});

test('policy: flows.stores must name a store and where its tables are, at file:line:col', () => {
  const dir = tempDir('cordon-stores-');
  cpSync(DEMO_POLICY, dir, { recursive: true });
  const file = join(dir, 'cordon.yaml');
  const text = readFileSync(file, 'utf8');
  const good = '    global: ["postgres://global-db.internal:5432/analytics.public"]\n';
  assert.ok(text.includes(good));
  writeFileSync(file, text.replace(good, '    globl: ["postgres://global-db.internal:5432/analytics"]\n'));
  const r = cordon(['policy', 'check', dir]);
  assert.equal(r.status, 2, r.stdout + r.stderr);
  const row = text.split('\n').indexOf(good.slice(0, -1)) + 1;
  assert.deepEqual(r.stdout.trim().split('\n'), [
    `cordon.yaml:${row}:5 policy.invalid_value flows.stores names store "globl", which cordon.yaml stores does not define (did you mean global?)`,
    `cordon.yaml:${row}:13 policy.invalid_value flows.stores.globl: "postgres://global-db.internal:5432/analytics": PostgreSQL dataset names are database.schema.table; give every part but the table (database.schema)`,
    `${dir}: invalid — 2 errors; nothing was loaded`,
  ]);
});

test('the integration fixtures are valid OpenLineage events, one Spark run of three events', () => {
  const events = readEvents([INTEGRATIONS], INTEGRATIONS);
  checkEvents(events);
  assert.equal(events.length, 5);
  assert.deepEqual(
    SPARK.map((e) => [(e['run'] as { runId: string }).runId, e['eventType']]),
    [
      [SPARK_RUN, 'START'],
      [SPARK_RUN, 'RUNNING'],
      [SPARK_RUN, 'COMPLETE'],
    ],
  );
});

let issuer: DemoIssuer;
let server: CordonServer;
let base: string;
let dataDir: string;

async function startServer(): Promise<CordonServer> {
  // Stores on disk in dataDir (pglite://stores/…, as cordon.yaml says): a restart reads them back.
  const s = await createCordonServer({ policy, dataDir, tokens: { issuer: issuer.issuer, audience: issuer.audience, jwks: issuer.jwks } });
  await s.app.listen({ port: 0, host: '127.0.0.1' });
  const addr = s.app.server.address();
  base = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
  return s;
}

before(async () => {
  issuer = await createDemoIssuer();
  dataDir = tempDir('cordon-flows-naming-');
  server = await startServer();
});
after(async () => server?.close());

type Json = Record<string, unknown>;
async function call(method: 'GET' | 'POST', path: string, body?: unknown, as = method === 'GET' ? 'monitor' : 'lineage-collector', gzip = false) {
  const headers: Record<string, string> = { authorization: `Bearer ${await issuer.sign(as)}`, 'content-type': 'application/json' };
  let payload: BodyInit | undefined = body === undefined ? undefined : JSON.stringify(body);
  if (gzip && payload !== undefined) {
    headers['content-encoding'] = 'gzip';
    payload = new Blob([new Uint8Array(gzipSync(payload as string))]);
  }
  const r = await fetch(`${base}${path}`, { method, headers, body: payload });
  return { status: r.status, body: (await r.json()) as Json };
}
const leaks = async () => (await call('GET', '/v1/flows/leaks')).body;
const storedCount = async () => (await server.stores.get(policy.deployment.globalStore)!.readLog('lineage_events', 0, 100_000)).length;

test('the Spark → Singapore phone leak is reported with its full path and run ids; re-posting every event changes nothing', async () => {
  const before = await leaks();
  assert.ok(!(before['leaks'] as Leak[]).some((l) => l.id === PHONE_LEAK));

  const first = await call('POST', '/api/v1/lineage', ALL);
  assert.deepEqual([first.status, first.body], [201, { stored: 5, duplicates: 0 }]);
  const a = await leaks();
  const leak = (a['leaks'] as Leak[]).find((l) => l.id === PHONE_LEAK);
  assert.ok(leak, 'the Spark job copying phone numbers to Singapore is a leak');
  assert.equal(leak.mode, 'direct');
  assert.deepEqual(
    leak.reasons.map((r) => r.kind),
    ['outside_enclave'],
  );
  assert.deepEqual(
    leak.path.map((s) => [s.node, s.via, s.runId]),
    [
      ['column:postgres://enclave-us-db:5432/app.public.users#phone_number', 'origin', undefined],
      ['column:s3://partner-exports-sg/contacts_sg#phone_number', `direct (job ${SPARK_JOB})`, SPARK_RUN],
    ],
  );
  // The first event of the run that states the edge (RUNNING; COMPLETE says it again).
  assert.equal(leak.path[1]!.evidence, `job ${SPARK_JOB}, run ${SPARK_RUN}, RUNNING at 2026-11-21T02:02:40.077Z, producer ${SPARK_PRODUCER} (posted)`);
  // The Airflow task documents itself (ownership and documentation facets); the Spark job does not.
  const undocumented = (a['undocumented'] as { id: string; missing: string[] }[]).map((u) => `${u.id}:${u.missing.join('+')}`);
  assert.ok(!undocumented.some((u) => u.startsWith('airflow-prod/')), undocumented.join('\n'));
  assert.ok(undocumented.includes(`${SPARK_JOB}:inventory`));
  assert.deepEqual(a['possiblyProtected'], []);
  assert.deepEqual(a['unconventional'], []);
  const stats = a['stats'] as { runs: number; columnEdges: number };
  assert.equal(stats.runs, 5, 'three demo runs, the Airflow run and the Spark run (three events folded into one)');
  const graph = (await call('GET', '/v1/flows/graph')).body;
  // Unknown facets are kept as posted (Airflow's own run facet), and change no analysis.
  const stored = (await call('GET', '/v1/flows/events')).body as { events: { index: number; event: Json }[]; next: number | null };
  assert.equal(stored.events.length, 5);
  assert.equal(stored.next, null);
  assert.deepEqual(stored.events[0]!.event, AIRFLOW[0]);
  assert.deepEqual(Object.keys((stored.events[0]!.event['run'] as { facets: Json }).facets).sort(), ['airflow', 'processing_engine']);

  // Every event again: one by one, as a batch, and a batch that repeats itself.
  for (const e of ALL) assert.deepEqual((await call('POST', '/api/v1/lineage', e)).body, { stored: 0, duplicates: 1 });
  assert.deepEqual((await call('POST', '/api/v1/lineage', [...ALL, ...ALL])).body, { stored: 0, duplicates: 10 });
  assert.equal(await storedCount(), 5);
  assert.deepEqual(await leaks(), a, 'the analysis is unchanged');
  assert.deepEqual((await call('GET', '/v1/flows/graph')).body, graph, 'the graph is unchanged');
});

test('a producer cannot hide the leak: fewer outputs, a dropped or masked lineage facet, another spelling of a dataset', async () => {
  const complete = SPARK[2]!;
  const attempts: { note: string; event: Json }[] = [];
  const fewer = clone(complete);
  fewer['outputs'] = [];
  fewer['eventTime'] = '2026-11-21T02:05:00.000Z';
  attempts.push({ note: 'the run restated with no outputs', event: fewer });
  const dropped = clone(complete);
  const out = (dropped['outputs'] as { facets: Json }[])[0]!;
  out.facets['columnLineage'] = {
    _producer: SPARK_PRODUCER,
    _schemaURL: 'https://openlineage.io/spec/facets/1-2-0/ColumnLineageDatasetFacet.json',
    _deleted: true,
  };
  dropped['eventTime'] = '2026-11-21T02:05:01.000Z';
  attempts.push({ note: 'a COMPLETE whose column lineage is deleted', event: dropped });
  const masked = clone(complete);
  const cl = (masked['outputs'] as { facets: { columnLineage: { fields: Record<string, { inputFields: { transformations: Json[] }[] }> } } }[])[0]!.facets
    .columnLineage;
  for (const f of Object.values(cl.fields)) for (const i of f.inputFields) i.transformations = [{ type: 'DIRECT', subtype: 'TRANSFORMATION', masking: true }];
  masked['eventTime'] = '2026-11-21T02:05:02.000Z';
  attempts.push({ note: 'the same columns restated as masked', event: masked });
  for (const { note, event } of attempts) {
    const r = await call('POST', '/api/v1/lineage', event);
    assert.deepEqual([r.status, r.body], [201, { stored: 1, duplicates: 0 }], note);
    const leak = ((await leaks())['leaks'] as Leak[]).find((l) => l.id === PHONE_LEAK);
    assert.equal(leak?.mode, 'direct', `${note}: the leak stands, direct`);
  }

  // Another spelling of both datasets (host case, no port, a leading slash on the key) is the same
  // nodes, not a clean copy beside them.
  const respelled = JSON.parse(
    JSON.stringify(complete)
      .replaceAll('postgres://enclave-us-db:5432', 'postgres://ENCLAVE-US-DB')
      .replaceAll('"namespace":"s3://partner-exports-sg","name":"contacts_sg"', '"namespace":"S3://partner-exports-sg","name":"/contacts_sg"'),
  ) as Json;
  respelled['eventTime'] = '2026-11-21T02:05:03.000Z';
  const before = (await leaks())['stats'] as { datasets: number };
  assert.equal((await call('POST', '/api/v1/lineage', respelled)).status, 201);
  const now = await leaks();
  assert.equal((now['stats'] as { datasets: number }).datasets, before.datasets, 'no new dataset node');

  // A Singapore output named like the enclave's users table, and one whose namespace smuggles the
  // enclave's host in as a user name: both are leaks, neither aliases the clean enclave table.
  const alias = (ns: string, name: string, time: string) => {
    const e = JSON.parse(
      JSON.stringify(complete)
        .replaceAll('"namespace":"s3://partner-exports-sg","name":"contacts_sg"', `"namespace":"${ns}","name":"${name}"`)
        .replaceAll(SPARK_RUN, '0193a7c2-6e44-7a15-8b09-d2f3c4e5a6ff'),
    ) as Json;
    e['eventTime'] = time;
    return e;
  };
  const r = await call('POST', '/api/v1/lineage', [
    alias('s3://partner-exports-sg', 'app.public.users', '2026-11-21T03:00:00.000Z'),
    alias('postgres://enclave-us-db:5432@sg-db:5432', 'app.public.users', '2026-11-21T03:00:01.000Z'),
  ]);
  assert.equal(r.status, 201);
  const ids = ((await leaks())['leaks'] as Leak[]).map((l) => `${l.id}:${l.reasons.map((x) => x.kind).join('+')}`);
  assert.ok(ids.includes('dataset:s3://partner-exports-sg/app.public.users|user.contact.phone_number|US:outside_enclave'), ids.join('\n'));
  assert.ok(ids.includes('dataset:postgres://enclave-us-db:5432@sg-db:5432/app.public.users|user.contact.phone_number|US:unknown_place'), ids.join('\n'));
  const unconventional = (await leaks())['unconventional'] as { dataset: string }[];
  assert.deepEqual(
    unconventional.map((u) => u.dataset),
    ['postgres://enclave-us-db:5432@sg-db:5432/app.public.users'],
  );
});

test('non-producers get 403 and store nothing; a gzip body that is not gzip is a 400; the map is for auditors and approvers', async () => {
  const rows = await storedCount();
  const fresh = clone(SPARK[2]!);
  fresh['eventTime'] = '2026-11-21T04:00:00.000Z';
  for (const persona of ['beijing-engineer', 'monitor', 'austin-approver-a']) {
    const r = await call('POST', '/api/v1/lineage', fresh, persona);
    assert.deepEqual([r.status, r.body['code']], [403, 'flows.not_producer'], persona);
  }
  const notGzip = await fetch(`${base}/api/v1/lineage`, {
    method: 'POST',
    headers: { authorization: `Bearer ${await issuer.sign('lineage-collector')}`, 'content-type': 'application/json', 'content-encoding': 'gzip' },
    body: JSON.stringify(fresh),
  });
  assert.equal(notGzip.status, 400);
  const problem = (await notGzip.json()) as Json;
  assert.equal(problem['code'], 'gateway.invalid_body');
  assert.match(String(problem['detail']), /^the gzip-encoded body does not inflate \(Z_DATA_ERROR\)$/);
  assert.equal(await storedCount(), rows, 'nothing stored');
  const gz = await call('POST', '/api/v1/lineage', fresh, 'lineage-collector', true);
  assert.deepEqual([gz.status, gz.body], [201, { stored: 1, duplicates: 0 }], 'real gzip is inflated and stored');

  for (const persona of ['beijing-engineer', 'lineage-collector', 'austin-engineer']) {
    for (const path of ['/v1/flows/leaks', '/v1/flows/graph', '/v1/flows/events', '/v1/flows/undocumented', '/v1/flows/nodes/tool:admin-panel']) {
      const r = await call('GET', path, undefined, persona);
      assert.deepEqual([r.status, r.body['code']], [403, 'flows.forbidden'], `${persona} ${path}`);
    }
  }
  assert.equal((await call('GET', '/v1/flows/leaks', undefined, 'austin-approver-a')).status, 200, 'an approver reads the map');
});

test('cordon flows leaks --url gives exactly /v1/flows/leaks; impact --url judges the posted events by a new policy; others exit 1 with the 403', async () => {
  const served = await leaks();
  const token = await issuer.sign('monitor');
  const cli = await cordonAsync(['flows', 'leaks', '--url', base, '--token', token, '--json']);
  assert.equal(cli.status, 1, cli.stderr);
  assert.deepEqual(JSON.parse(cli.stdout), served);
  const text = await cordonAsync(['flows', 'leaks', '--url', base, '--token', token]);
  assert.equal(text.status, 1);
  assert.match(
    text.stdout,
    new RegExp(
      `reaches dataset s3://partner-exports-sg/contacts_sg in SG outside the enclave\\n {2}from column:postgres://enclave-us-db:5432/app\\.public\\.users#phone_number\\n {4}-> column:s3://partner-exports-sg/contacts_sg#phone_number {2}\\[direct \\(job ${SPARK_JOB.replaceAll('.', '\\.')}\\)\\] {2}\\(job .*, run ${SPARK_RUN}, RUNNING at 2026-11-21T02:02:40\\.077Z, producer ${SPARK_PRODUCER.replaceAll('.', '\\.')} \\(posted\\)\\)\\n`,
    ),
  );

  const impact = await cordonAsync([
    'flows',
    'impact',
    '--url',
    base,
    '--token',
    token,
    '--new-policy',
    'test/fixtures/policies/demo-uids-protected',
    '--json',
  ]);
  assert.equal(impact.status, 1, impact.stderr);
  const appear = (JSON.parse(impact.stdout) as { appear: Leak[] }).appear.map((l) => l.id);
  assert.ok(appear.includes('dataset:s3://partner-exports-sg/contacts_sg|user.unique_id|US'), appear.join('\n'));

  const refused = await cordonAsync(['flows', 'leaks', '--url', base, '--token', await issuer.sign('beijing-engineer')]);
  assert.equal(refused.status, 1);
  assert.equal(refused.stdout, '');
  assert.equal(refused.stderr, 'cordon: flows.forbidden: the flow map is for auditors and approvers; beijing-engineer is neither\n');
  const both = cordon(['flows', 'leaks', '--url', base, '--policy', 'policies/demo']);
  assert.deepEqual([both.status, both.stderr], [2, 'cordon: give --policy DIR (offline) or --url URL (a running server)\n']);
});

test('posted events are kept across a restart: the same map after the server comes back', async () => {
  const before = await leaks();
  const rows = await storedCount();
  await server.close();
  server = await startServer();
  assert.equal(await storedCount(), rows);
  assert.deepEqual(await leaks(), before);
  assert.ok((before['leaks'] as Leak[]).some((l) => l.id === PHONE_LEAK));
  assert.deepEqual((await call('POST', '/api/v1/lineage', ALL)).body, { stored: 0, duplicates: 5 }, 'still known after the restart');
});

test('an unmapped dataset with columns named like protected catalog fields is reported as possibly protected, not clean', async () => {
  const { flowMap, loadFlowSources, formatLeaks } = await import('../src/flows/index.js');
  const sources = loadFlowSources(policy);
  const event = {
    eventType: 'COMPLETE',
    eventTime: '2026-11-21T05:00:00.000Z',
    producer: 'https://example.com/stream-mirror',
    schemaURL: 'https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent',
    run: { runId: '0193a7c2-7000-7000-8000-000000000001' },
    job: { namespace: 'streams', name: 'mirror.user_updates' },
    inputs: [],
    outputs: [
      {
        namespace: 'kafka://events-sg:9092',
        name: 'user_updates',
        facets: {
          schema: {
            _producer: 'https://example.com/stream-mirror',
            _schemaURL: 'https://openlineage.io/spec/facets/1-1-1/SchemaDatasetFacet.json#/$defs/SchemaDatasetFacet',
            fields: [{ name: 'Phone-Number' }, { name: 'video_count' }, { name: 'contact', fields: [{ name: 'email' }] }],
          },
        },
      },
    ],
  };
  checkEvents([{ source: 'test', event }]);
  const m = flowMap(policy, [...sources.events, { source: 'test', event }], sources.inventory);
  assert.deepEqual(
    m.possiblyProtected.map((p) => `${p.dataset}#${p.column} like ${p.like.join(',')} (${p.categories.join(',')})`),
    [
      'kafka://events-sg:9092/user_updates#Phone-Number like users.phone_number (user.contact.phone_number)',
      'kafka://events-sg:9092/user_updates#contact.email like users.email (user.contact.email)',
    ],
  );
  const text = formatLeaks(m.analysis, { possiblyProtected: m.possiblyProtected });
  assert.match(text, /^POSSIBLY PROTECTED, UNMAPPED kafka:\/\/events-sg:9092\/user_updates#Phone-Number: named like users\.phone_number/m);
});
