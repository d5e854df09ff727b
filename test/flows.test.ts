// The flow map: the demo's leaks offline (CLI, JSON, SARIF) and from the server's API after intake,
// the impact of making UIDs protected, category propagation on Marquez's food-delivery seed, lineage
// cycles, bad input (invalid events, huge bodies, inventory errors) that changes nothing, and intake
// by anyone but a lineage producer (cordon.yaml flows.producers), refused before it changes anything.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadPolicy } from '../src/policy/index.js';
import { analyzeFlows, buildGraph, checkEvents, FlowGraph, InventoryError, parseInventory, readEvents, type Leak } from '../src/flows/index.js';
import { createCordonServer, createDemoIssuer, type CordonServer, type DemoIssuer } from '../src/server/index.js';
import { cordon } from './helpers/cli.js';
import { DEMO_POLICY, FIXTURES } from './helpers/paths.js';
import { tempDir } from './helpers/temp.js';

const loaded = loadPolicy(DEMO_POLICY);
assert.ok(loaded.ok);
const policy = loaded.policy;
const ENC = 'postgres://enclave-us-db.internal:5432';
/**
 * The demo's leaks: the export job's phone numbers in a Singapore bucket; the admin panel the
 * platform admins use (only legacy-admin's standing rule, inert at run time, let them see contact
 * and device data); the Singapore dashboard's device ids (and its chat export).
 */
const DEMO_LEAKS = [
  'dataset:s3://partner-exports-sg/contacts/daily.csv|user.contact.phone_number|US',
  'tool:admin-panel|user.contact.email|US',
  'tool:admin-panel|user.contact.phone_number|US',
  'tool:admin-panel|user.device.device_id|US',
  'tool:admin-panel|user.device.ip_address|US',
  'tool:growth-dashboard|user.device.device_id|US',
  'export:growth-dashboard -> slack://growth-sg/#weekly-growth|user.device.device_id|US',
];

test('cordon flows leaks --policy policies/demo lists its leaks with their paths and exits 1', () => {
  const r = cordon(['flows', 'leaks', '--policy', 'policies/demo']);
  assert.equal(r.status, 1, r.stderr);
  assert.match(
    r.stdout,
    /LEAK 1: user\.contact\.phone_number \(US\) reaches dataset s3:\/\/partner-exports-sg\/contacts\/daily\.csv in SG outside the enclave/,
  );
  assert.match(r.stdout, /LEAK 2: user\.contact\.email \(US\) reaches tool admin-panel in US to a team the rules do not allow/);
  assert.match(r.stdout, /no rule lets platform-admins, who use tool admin-panel, see it in clear even with a grant from US/);
  assert.match(r.stdout, /LEAK 6: user\.device\.device_id \(US\) reaches tool growth-dashboard in SG outside the enclave and to a team the rules do not allow/);
  assert.match(
    r.stdout,
    /-> tool:growth-dashboard {2}\[reads postgres:\/\/enclave-us-db\.internal:5432\/app\.public\.user_devices\] {2}\(flows\/inventory\.yaml:10\)/,
  );
  assert.match(r.stdout, /UNDOCUMENTED tool admin-panel: no owner, no purpose \(flows\/inventory\.yaml:24\)/);
  const dir = mkdtempSync(join(tmpdir(), 'cordon-flows-'));
  try {
    const j = cordon(['flows', 'leaks', '--policy', 'policies/demo', '--json', '--sarif', join(dir, 'leaks.sarif')]);
    assert.equal(j.status, 1);
    const a = JSON.parse(j.stdout) as { leaks: Leak[]; undocumented: { id: string; missing: string[] }[] };
    assert.deepEqual(
      a.leaks.map((l) => l.id),
      DEMO_LEAKS,
    );
    assert.deepEqual(
      a.leaks[0]!.path.map((s) => s.node),
      [`column:${ENC}/app.public.users#phone_number`, 'column:s3://partner-exports-sg/contacts/daily.csv#phone'],
    );
    assert.deepEqual(
      a.leaks[1]!.reasons.map((x) => x.kind),
      ['team_not_allowed'],
    );
    assert.deepEqual(
      a.leaks[5]!.reasons.map((x) => x.kind),
      ['outside_enclave', 'team_not_allowed'],
    );
    assert.deepEqual(
      a.undocumented.map((u) => `${u.id}:${u.missing.join('+')}`),
      ['cordon-demo/analytics.daily_signups:inventory', 'cordon-demo/exports.partner_contacts:purpose', 'admin-panel:owner+purpose'],
    );
    const sarif = JSON.parse(readFileSync(join(dir, 'leaks.sarif'), 'utf8')) as {
      version: string;
      runs: {
        results: { ruleId: string; level: string; locations: { physicalLocation: { artifactLocation: { uri: string }; region: { startLine: number } } }[] }[];
      }[];
    };
    assert.equal(sarif.version, '2.1.0');
    assert.deepEqual(
      sarif.runs[0]!.results.map(
        (x) => `${x.ruleId}:${x.level}:${x.locations[0]!.physicalLocation.artifactLocation.uri}:${x.locations[0]!.physicalLocation.region.startLine}`,
      ),
      [
        'flows/outside_enclave:error:flows/lineage.ndjson:2',
        ...Array.from({ length: 4 }, () => 'flows/team_not_allowed:error:flows/inventory.yaml:24'),
        'flows/outside_enclave:error:flows/inventory.yaml:10',
        'flows/outside_enclave:error:flows/inventory.yaml:16',
      ],
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  // The email column is exported only as a masked hash: no leak outside the enclave (masked edges
  // carry nothing); the only email leak is the admin panel's direct read.
  assert.deepEqual(
    r.stdout.split('\n').filter((l) => l.startsWith('LEAK') && l.includes('user.contact.email')),
    ['LEAK 2: user.contact.email (US) reaches tool admin-panel in US to a team the rules do not allow'],
  );
});

test('impact: with UIDs protected in the US, the UID paths out of the enclave appear', () => {
  const r = cordon(['flows', 'impact', '--policy', 'policies/demo', '--new-policy', 'test/fixtures/policies/demo-uids-protected', '--json']);
  assert.equal(r.status, 1, r.stderr);
  const impact = JSON.parse(r.stdout) as { appear: Leak[]; disappear: Leak[]; unchanged: number };
  assert.deepEqual(impact.appear.map((l) => `${l.id}:${l.mode}`).sort(), [
    'dataset:s3://partner-exports-sg/contacts/daily.csv|user.unique_id|US:direct',
    'export:growth-dashboard -> slack://growth-sg/#weekly-growth|user.unique_id|US:direct',
    'tool:admin-panel|user.unique_id|US:direct',
    'tool:growth-dashboard|user.unique_id|US:direct',
    // The sign-up counts aggregate UIDs: an indirect flow to a tool US marketing uses.
    'tool:signup-report|user.unique_id|US:indirect',
  ]);
  assert.deepEqual(impact.disappear, []);
  assert.equal(impact.unchanged, 7);
  const same = cordon(['flows', 'impact', '--policy', 'policies/demo', '--new-policy', 'policies/demo']);
  assert.equal(same.status, 0);
  assert.match(same.stdout, /0 leak path\(s\) appear, 0 disappear, 7 unchanged/);
});

test("Marquez's food-delivery seed: email follows its column lineage, phone reaches no table without column descendants, dangling references reported", () => {
  const template = readFileSync(join(FIXTURES, 'openlineage/examples/marquez/docker/metadata.template.json'), 'utf8');
  const text = template
    .replaceAll('{{RUN_START_TIME}}', '2024-01-01T00:00:00.000Z')
    .replace(/\{\{RUN_END_TIME_AFTER_(\d+)_MINUTES\}\}/g, (_m, n: string) => `2024-01-01T00:${n.padStart(2, '0')}:00.000Z`);
  const dir = mkdtempSync(join(tmpdir(), 'cordon-marquez-'));
  try {
    const file = join(dir, 'seed.json');
    writeFileSync(file, text);
    const events = readEvents([file], dir);
    checkEvents(events);
    const graph = buildGraph(events);
    const ns = 'food_delivery/public.';
    const categories = new Map<string, string[]>([
      [`${ns}customers#email`, ['user.contact.email']],
      [`${ns}customers#phone`, ['user.contact.phone_number']],
      [`${ns}drivers#phone`, ['user.contact.phone_number']],
      [`${ns}drivers#email`, ['user.contact.email']],
      [`${ns}restaurants#phone`, ['user.contact.phone_number']],
    ]);
    const a = analyzeFlows(policy, graph, { tools: [], jobs: [] }, { columnCategories: categories });
    const carrying = (category: string) => graph.columnIds.filter((c) => a.labelsOf(c).some((l) => l.category === category && l.jurisdiction === 'US')).sort();
    assert.deepEqual(carrying('user.contact.email'), [
      `${ns}customers#email`,
      `${ns}delivery_7_days#customer_email`,
      `${ns}discounts#customer_email`,
      `${ns}drivers#email`,
      `${ns}top_delivery_times#customer_email`,
    ]);
    assert.deepEqual(carrying('user.contact.phone_number'), [`${ns}customers#phone`, `${ns}drivers#phone`, `${ns}restaurants#phone`]);
    assert.ok(a.dangling.includes(`${ns}restaurants#menu_item_id`), a.dangling.join(', '));
    assert.ok(a.dangling.includes(`${ns}menu_item_id`) || a.dangling.some((d) => d.includes('menu_item_id')), a.dangling.join(', '));
    assert.ok(a.unknownPlaces.includes('food_delivery'), 'an unmapped namespace is reported, never assumed safe');
    assert.ok(a.leaks.every((l) => l.reasons.every((x) => x.kind === 'unknown_place')));
    console.log(
      `marquez seed: ${events.length} events, ${a.stats.columns} columns, ${a.stats.columnEdges} column edges; email reaches ${carrying('user.contact.email').length} columns, phone stays in ${carrying('user.contact.phone_number').length}; dangling: ${a.dangling.length}`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a cycle in column lineage ends; labels reach every column on it once', () => {
  const g = new FlowGraph();
  const a = g.column('ns', 'a', 'phone');
  const b = g.column('ns', 'b', 'phone');
  const c = g.column('ns', 'c', 'phone');
  g.addColumnEdge(a, b, 0, 0, 'j1');
  g.addColumnEdge(b, c, 0, 0, 'j2');
  g.addColumnEdge(c, a, 1, 0, 'j3');
  g.sources.push('test');
  g.finish();
  const r = analyzeFlows(policy, g, { tools: [], jobs: [] }, { columnCategories: new Map([['ns/a#phone', ['user.contact.phone_number']]]) });
  assert.deepEqual(
    ['ns/a#phone', 'ns/b#phone', 'ns/c#phone'].map((id) =>
      r
        .labelsOf(id)
        .filter((l) => l.jurisdiction === 'US')
        .map((l) => l.mode),
    ),
    [['direct'], ['direct'], ['direct']],
  );
});

test('inventory errors name the file and line, and the key or team that is wrong', () => {
  const text = [
    'tools:',
    '  dash:',
    '    owner: us-marketting',
    '    runs_in: { country: SGP }',
    '    reeds: [x]',
    'jobs:',
    '  j: { purpose: p, colour: red }',
    '',
  ].join('\n');
  assert.throws(
    () => parseInventory(text, 'inv.yaml', policy.directory),
    (err: unknown) => {
      assert.ok(err instanceof InventoryError);
      assert.equal(err.code, 'flows.bad_inventory');
      assert.deepEqual(err.message.split('\n'), [
        'inv.yaml:3: owner of dash names "us-marketting", which is not a team or principal of the directory (did you mean us-marketing?)',
        'inv.yaml:4: runs_in of dash.country must be a two-letter country code, got "SGP"',
        'inv.yaml:5: unknown key "reeds" in dash (did you mean reads?)',
        'inv.yaml:7: unknown key "colour" in j',
      ]);
      return true;
    },
  );
});

let server: CordonServer;
let issuer: DemoIssuer;
before(async () => {
  issuer = await createDemoIssuer();
  server = await createCordonServer({
    policy,
    dataDir: tempDir('cordon-flows-srv-'),
    tokens: { issuer: issuer.issuer, audience: issuer.audience, jwks: issuer.jwks },
    storeUrls: Object.fromEntries([...policy.deployment.stores.keys()].map((s) => [s, 'pglite://memory'])),
    trustedProxies: ['127.0.0.1/32'],
    maxLineageEventBytes: 64 * 1024,
  });
});
after(async () => server.close());

/** A request as `as` (default: the monitor, an auditor, to read; the demo's lineage producer, the only one who may post lineage, to post). */
async function call(
  method: 'GET' | 'POST',
  url: string,
  payload?: unknown,
  as = method === 'GET' ? 'monitor' : 'lineage-collector',
  to: CordonServer = server,
  from: DemoIssuer = issuer,
) {
  const r = await to.app.inject({
    method,
    url,
    payload: payload as never,
    headers: { authorization: `Bearer ${await from.sign(as)}`, 'content-type': 'application/json' },
  });
  return { status: r.statusCode, type: r.headers['content-type'], body: r.json() as Record<string, unknown> };
}

test("the server's API gives the CLI's answer; intake validates, stores and changes the map; bad events change nothing", async () => {
  const first = await call('GET', '/v1/flows/leaks');
  assert.equal(first.status, 200);
  assert.deepEqual(
    (first.body['leaks'] as Leak[]).map((l) => l.id),
    DEMO_LEAKS,
  );

  const event = JSON.parse(readFileSync(join(DEMO_POLICY, 'flows/lineage.ndjson'), 'utf8').split('\n')[1]!) as Record<string, unknown>;
  const newExport = JSON.parse(
    JSON.stringify(event).replaceAll('s3://partner-exports-sg', 's3://unmapped-bucket').replaceAll('exports.partner_contacts', 'exports.shadow_copy'),
  ) as Record<string, unknown>;
  const bad = { ...newExport, eventTime: 'yesterday' };
  const refused = await call('POST', '/api/v1/lineage', [newExport, bad]);
  assert.equal(refused.status, 400);
  assert.equal(refused.body['code'], 'flows.invalid_event');
  assert.match(String(refused.body['detail']), /event 1: \/eventTime fails https:\/\/openlineage\.io\/spec\/2-0-2\/OpenLineage\.json#.*format/);
  const huge = await call('POST', '/api/v1/lineage', { ...newExport, padding: 'x'.repeat(70 * 1024) });
  assert.equal(huge.status, 413);
  assert.equal(huge.body['code'], 'flows.event_too_large');
  assert.deepEqual(
    ((await call('GET', '/v1/flows/leaks')).body['leaks'] as Leak[]).map((l) => l.id),
    DEMO_LEAKS,
    'nothing half-ingested',
  );

  const stored = await call('POST', '/api/v1/lineage', newExport);
  assert.equal(stored.status, 201, JSON.stringify(stored.body));
  const now = (await call('GET', '/v1/flows/leaks')).body as { leaks: Leak[]; unknownPlaces: string[]; undocumented: { id: string }[] };
  assert.deepEqual(
    now.leaks.map((l) => l.id).filter((id) => !DEMO_LEAKS.includes(id)),
    ['dataset:s3://unmapped-bucket/contacts/daily.csv|user.contact.phone_number|US'],
  );
  assert.deepEqual(
    now.leaks.find((l) => l.id.includes('unmapped'))!.reasons.map((x) => x.kind),
    ['unknown_place'],
  );
  assert.ok(now.unknownPlaces.includes('s3://unmapped-bucket'));
  assert.ok(now.undocumented.some((u) => u.id === 'cordon-demo/exports.shadow_copy'));

  const hood = await call('GET', '/v1/flows/nodes/tool:growth-dashboard?depth=3');
  assert.equal(hood.status, 200);
  const nodes = hood.body['nodes'] as { id: string; onLeakPath: boolean }[];
  assert.ok(
    nodes.some((n) => n.id === `column:${ENC}/app.public.users#device_id` && n.onLeakPath),
    'three steps back reach the origin column, on the leak path',
  );
  assert.equal((await call('GET', '/v1/flows/nodes/tool:nope')).body['code'], 'flows.not_found');
  assert.equal((await call('GET', '/v1/flows/undocumented')).status, 200);
});

/** An event of the demo's lineage (the export job) re-pointed at a bucket nobody mapped: a planted leak path. */
function plantedEvent(bucket: string): Record<string, unknown> {
  const event = readFileSync(join(DEMO_POLICY, 'flows/lineage.ndjson'), 'utf8').split('\n')[1]!;
  return JSON.parse(
    event.replaceAll('s3://partner-exports-sg', bucket).replaceAll('exports.partner_contacts', `exports.${bucket.slice('s3://'.length)}`),
  ) as Record<string, unknown>;
}

const storedLineage = async (s: CordonServer) => (await s.stores.get(policy.deployment.globalStore)!.readLog('lineage_events', 0, 100_000)).length;

test('lineage intake is for producers only: beijing-engineer, recsys-service and monitor get 403 flows.not_producer and change nothing; lineage-collector is stored', async () => {
  const planted = plantedEvent('s3://planted-bucket');
  const leakId = 'dataset:s3://planted-bucket/contacts/daily.csv|user.contact.phone_number|US';
  const before = (await call('GET', '/v1/flows/leaks')).body;
  const rowsBefore = await storedLineage(server);
  assert.ok(!(before['leaks'] as Leak[]).some((l) => l.id === leakId));

  for (const persona of ['beijing-engineer', 'recsys-service', 'monitor']) {
    for (const payload of [planted, [planted, planted]]) {
      const r = await call('POST', '/api/v1/lineage', payload, persona);
      assert.equal(r.status, 403, `${persona}: ${JSON.stringify(r.body)}`);
      assert.equal(r.type, 'application/problem+json; charset=utf-8');
      assert.equal(r.body['code'], 'flows.not_producer');
      assert.equal(r.body['detail'], `${persona} may not post lineage: cordon.yaml flows.producers names lineage-collector`);
    }
  }
  // Refused on who asks, before the body is read: an oversized or invalid body from a non-producer
  // is a 403 too, not a 413 or 400 that would tell the caller how far it got.
  const huge = await call('POST', '/api/v1/lineage', { ...planted, padding: 'x'.repeat(70 * 1024) }, 'beijing-engineer');
  assert.deepEqual([huge.status, huge.body['code']], [403, 'flows.not_producer']);
  const invalid = await call('POST', '/api/v1/lineage', { ...planted, eventTime: 'yesterday' }, 'recsys-service');
  assert.deepEqual([invalid.status, invalid.body['code']], [403, 'flows.not_producer']);
  const anonymous = await server.app.inject({ method: 'POST', url: '/api/v1/lineage', payload: planted, headers: { 'content-type': 'application/json' } });
  assert.equal(anonymous.statusCode, 401);

  assert.equal(await storedLineage(server), rowsBefore, 'no refused event was stored');
  assert.deepEqual((await call('GET', '/v1/flows/leaks', undefined, 'monitor')).body, before, 'the flow graph is unchanged');

  const stored = await call('POST', '/api/v1/lineage', planted, 'lineage-collector');
  assert.deepEqual([stored.status, stored.body], [201, { stored: 1, duplicates: 0 }]);
  assert.equal(await storedLineage(server), rowsBefore + 1);
  const after = (await call('GET', '/v1/flows/leaks', undefined, 'austin-approver-a')).body['leaks'] as Leak[];
  assert.deepEqual(
    after.map((l) => l.id).filter((id) => !(before['leaks'] as Leak[]).some((l) => l.id === id)),
    [leakId],
  );
});

/** A copy of the demo policy whose cordon.yaml has `producers: [...]` replaced (undefined: the line removed). */
function demoWithProducers(producers: string | undefined): string {
  const dir = tempDir('cordon-producers-');
  cpSync(DEMO_POLICY, dir, { recursive: true });
  const file = join(dir, 'cordon.yaml');
  const text = readFileSync(file, 'utf8');
  assert.match(text, /\n {2}producers: \[lineage-collector\]\n/);
  writeFileSync(file, text.replace(/\n {2}producers: \[lineage-collector\]\n/, producers === undefined ? '\n' : `\n  producers: ${producers}\n`));
  return dir;
}

test('producers may be teams (with their sub-teams); with none named nobody may post lineage (fail closed)', async () => {
  for (const [producers, allowed] of [
    ['[platform-services]', ['recsys-service']],
    [undefined, []],
    ['[]', []],
  ] as const) {
    const loadedCopy = loadPolicy(demoWithProducers(producers));
    assert.ok(loadedCopy.ok, JSON.stringify(loadedCopy));
    const copy = loadedCopy.policy;
    assert.deepEqual(copy.deployment.flows.producers, producers === '[platform-services]' ? ['platform-services'] : []);
    const own = await createDemoIssuer();
    const s = await createCordonServer({
      policy: copy,
      dataDir: tempDir('cordon-producers-srv-'),
      tokens: { issuer: own.issuer, audience: own.audience, jwks: own.jwks },
      storeUrls: Object.fromEntries([...copy.deployment.stores.keys()].map((n) => [n, 'pglite://memory'])),
    });
    try {
      for (const persona of ['lineage-collector', 'recsys-service', 'austin-engineer', 'monitor', 'legacy-admin']) {
        const r = await call('POST', '/api/v1/lineage', plantedEvent('s3://planted-bucket'), persona, s, own);
        const ok = (allowed as readonly string[]).includes(persona);
        assert.equal(r.status, ok ? 201 : 403, `producers ${producers ?? '(none)'}, ${persona}: ${JSON.stringify(r.body)}`);
        if (!ok) {
          assert.equal(r.body['code'], 'flows.not_producer');
          if (allowed.length === 0) assert.equal(r.body['detail'], `${persona} may not post lineage: cordon.yaml flows.producers names nobody, so nobody may`);
        }
      }
      assert.equal(await storedLineage(s), allowed.length);
    } finally {
      await s.close();
    }
  }
});

test('policy check: a producer that names nobody is an error at its file:line:col, with a did-you-mean', () => {
  const dir = demoWithProducers('[lineage-collector, lineage-colector]');
  const lines = readFileSync(join(dir, 'cordon.yaml'), 'utf8').split('\n');
  const row = lines.findIndex((l) => l.startsWith('  producers: '));
  const col = lines[row]!.indexOf('lineage-colector') + 1;
  const r = cordon(['policy', 'check', dir]);
  assert.equal(r.status, 2, r.stdout + r.stderr);
  assert.deepEqual(r.stdout.trim().split('\n'), [
    `cordon.yaml:${row + 1}:${col} policy.unknown_team flows.producers names "lineage-colector", which is neither a team nor a principal (did you mean lineage-collector?)`,
    `${dir}: invalid — 1 error; nothing was loaded`,
  ]);
});
