// Findings true to the policy: the demo's global store, seeded through the gateway's placement and
// then given rows written straight into it (as an export job or a hand-made fix would), scans to
// exactly the violations the demo policy implies, judged for each record's own jurisdiction; and
// the console's findings, the Overview's count and `cordon scan store:global` give the same answer.
// The expected list is derived here from the demo policy's YAML (restated below), not by the scanner.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { loadPolicy, type Policy } from '../src/policy/index.js';
import { createCordonServer, createDemoIssuer, generateDemoWorld, seedDemoWorld, type CordonServer } from '../src/server/index.js';
import { scan, type Finding, type ScanResultV1 } from '../src/scan/index.js';
import { DEMO_POLICY } from './helpers/paths.js';
import { cordonAsync } from './helpers/cli.js';
import { tempDir } from './helpers/temp.js';

// The demo policy, restated from policies/demo (cordon.yaml and classes.yaml) for the derivation.
const EU_COUNTRIES = 'AT BE BG HR CY CZ DK EE FI FR DE GR HU IE IT LV LT LU MT NL PL PT RO SK SI ES SE'.split(' ');
/** A country's jurisdiction as cordon.yaml says (ROW is the default); undefined when the field is no country code. */
const jurisdictionOfCountry = (c: unknown): string | undefined =>
  typeof c !== 'string' || !/^[A-Z]{2}$/.test(c) ? undefined : c === 'US' ? 'US' : EU_COUNTRIES.includes(c) ? 'EU' : 'ROW';
/** Where each jurisdiction's protected data must stay: the global store is ROW's enclave. */
const ENCLAVE_STORE: Record<string, string> = { US: 'enclave_us', EU: 'enclave_eu', ROW: 'global' };
/** classes.yaml for the categories the planted values have. */
const PROTECTED: Record<string, readonly string[]> = {
  'user.contact.email': ['US', 'EU', 'ROW'],
  'user.contact.phone_number': ['US', 'EU', 'ROW'],
  'user.device.device_id': ['US', 'EU'],
  'user.device.ip_address': ['US', 'EU'],
};

interface Planted {
  readonly dataset: 'users' | 'videos' | 'comments';
  readonly key: string;
  readonly values: Record<string, string | null>;
  /** The field holding a value of this category, in clear. */
  readonly field: string;
  readonly category: string;
}

// Values are documentation addresses and fictional ids; none is anyone's.
const DEVICE = 'b7e2c9d4-1111-4aaa-8bbb-0000000000';
const user = (key: string, country: string | null, field: 'device_id' | 'ip_address', value: string): Planted => ({
  dataset: 'users',
  key,
  values: {
    uid: key,
    username: `user_${key.replace(/-/g, '_')}`,
    bio: 'planted',
    country,
    phone_number: null,
    email: null,
    birthday: null,
    device_id: field === 'device_id' ? value : null,
    ip_address: field === 'ip_address' ? value : null,
    created_at: '2025-01-01T00:00:00Z',
  },
  field,
  category: field === 'device_id' ? 'user.device.device_id' : 'user.device.ip_address',
});
const comment = (key: string, author: string, email: string): Planted => ({
  dataset: 'comments',
  key,
  values: { id: key, video_id: 'demo-v-public-1', author_uid: author, body: `write to ${email} please`, created_at: '2025-01-01T00:00:00Z' },
  field: 'body',
  category: 'user.contact.email',
});

/** Rows written into the global store behind the gateway's back. */
const PLANTED: readonly Planted[] = [
  user('leak-us-1', 'US', 'device_id', `${DEVICE}01`),
  user('leak-us-2', 'US', 'ip_address', '203.0.113.201'),
  user('leak-de-1', 'DE', 'ip_address', '198.51.100.202'),
  // Excepted in ROW: where it belongs, wherever it is.
  user('leak-br-1', 'BR', 'device_id', `${DEVICE}03`),
  user('leak-mx-1', 'MX', 'ip_address', '192.0.2.204'),
  // The jurisdiction field is one the gateway would never write: missing, lower case, sealed.
  user('leak-none-1', null, 'ip_address', '203.0.113.205'),
  user('leak-lower-1', 'br', 'device_id', `${DEVICE}06`),
  user('leak-sealed-1', 'cordon:enc:v2:AAAA', 'ip_address', '198.51.100.207'),
  // Comments take their author's jurisdiction; ROW's protected data may be in ROW's enclave.
  comment('leak-c-us', 'demo-us-1', 'c.us@example.com'),
  comment('leak-c-br', 'demo-br-1', 'c.br@example.net'),
  comment('leak-c-eu', 'demo-eu-1', 'c.eu@example.org'),
  comment('leak-c-nobody', 'no-such-user', 'c.none@example.com'),
];
const CLEAR = PLANTED.map((p) => p.values[p.field]!.replace(/^write to (\S+) please$/, '$1'));

/**
 * What the policy implies, derived from the rows as written: a value of a category is a violation
 * in the global store when the category is protected for the record's jurisdiction (its country,
 * or its author's) and that jurisdiction's enclave is elsewhere; a record that cannot tell is
 * every jurisdiction's. Records the gateway placed never have a protected value in clear where it
 * does not belong, so only planted rows can be violations; `demoUsers` are the seeded users.
 */
function expected(demoUsers: ReadonlyMap<string, unknown>): string[] {
  const countryOf = new Map<string, unknown>(demoUsers);
  for (const p of PLANTED) if (p.dataset === 'users') countryOf.set(p.key, p.values['country']);
  const out: string[] = [];
  for (const p of PLANTED) {
    const country = p.dataset === 'users' ? p.values['country'] : countryOf.get(p.values['author_uid']!);
    const j = jurisdictionOfCountry(country);
    const whose = j === undefined ? ['US', 'EU', 'ROW'] : [j];
    const outside = whose.filter((x) => PROTECTED[p.category]!.includes(x) && ENCLAVE_STORE[x] !== 'global');
    if (outside.length > 0) out.push(`ds_${p.dataset}.${p.field}#${p.key} ${outside.join(',')}`);
  }
  return out.sort();
}

const brief = (f: Finding): string => (f.where.kind === 'store' ? `${f.where.table}.${f.where.column}#${f.where.row}` : '');
const violationsOf = (r: Pick<ScanResultV1, 'violations'>): string[] => r.violations.map((v) => `${brief(v.finding)} ${v.jurisdictions.join(',')}`).sort();

describe("the demo's global store against the demo policy", () => {
  let dir: string;
  let policy: Policy;
  let server: CordonServer | undefined;
  let demoUsers: Map<string, unknown>;
  let api: {
    findings: ScanResultV1 & { violationCount: number; findingCount: number };
    overview: { openViolations: number };
    report: { report: { violations: { count: number; complete: boolean; listed: { table: string; column: string; row: string; jurisdictions: string[] }[] } } };
  };
  let inProcess: ScanResultV1;

  before(async () => {
    dir = tempDir('cordon-scan-policy-');
    const loaded = loadPolicy(DEMO_POLICY);
    assert.ok(loaded.ok);
    policy = loaded.policy;
    const issuer = await createDemoIssuer();
    const storeUrls = Object.fromEntries([...policy.deployment.stores.keys()].map((s) => [s, `pglite://${join(dir, 'stores', s)}`]));
    server = await createCordonServer({
      policy,
      dataDir: join(dir, 'data'),
      tokens: { issuer: issuer.issuer, audience: issuer.audience, jwks: issuer.jwks },
      storeUrls,
    });
    const world = { users: 60 };
    await seedDemoWorld(server.placement, world);
    demoUsers = new Map();
    for (const r of generateDemoWorld(world)) if (r.dataset === 'users') demoUsers.set(r.key, r.values['country']);
    const global = server.stores.get('global')!;
    for (const p of PLANTED) await global.upsert(p.dataset, p.key, p.values);
    const token = await issuer.sign('monitor');
    const get = async (url: string) => {
      const res = await server!.app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${token}` } });
      assert.equal(res.statusCode, 200, `${url}: ${res.statusCode}`);
      return res.json();
    };
    api = {
      findings: await get('/v1/console/findings'),
      overview: await get('/v1/console/overview'),
      report: await get('/v1/report?from=2020-01-01&format=json'),
    };
    inProcess = await scan({ stores: [global] }, { policy });
    await server.close();
    server = undefined;
  });
  after(async () => {
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('exactly the violations the policy implies, each for its record’s own jurisdiction', () => {
    const want = expected(demoUsers);
    assert.deepEqual(want, [
      'ds_comments.body#leak-c-eu EU',
      'ds_comments.body#leak-c-nobody US,EU',
      'ds_comments.body#leak-c-us US',
      'ds_users.device_id#leak-lower-1 US,EU',
      'ds_users.device_id#leak-us-1 US',
      'ds_users.ip_address#leak-de-1 EU',
      'ds_users.ip_address#leak-none-1 US,EU',
      'ds_users.ip_address#leak-sealed-1 US,EU',
      'ds_users.ip_address#leak-us-2 US',
    ]);
    assert.deepEqual(violationsOf(inProcess), want);
  });

  test('ROW users’ excepted device ids and IPs are found, and are no violation', () => {
    const rowFindings = inProcess.findings.filter(
      (f) => f.where.kind === 'store' && f.where.table === 'ds_users' && ['device_id', 'ip_address'].includes(f.where.column) && f.where.jurisdiction === 'ROW',
    );
    const rowUsers = [...demoUsers].filter(([, c]) => jurisdictionOfCountry(c) === 'ROW').map(([k]) => k);
    // Every ROW user of the demo, demo-br-1 among them, has both in clear in the global store.
    assert.ok(rowUsers.includes('demo-br-1'));
    assert.deepEqual(
      [...new Set(rowFindings.map((f) => (f.where.kind === 'store' ? f.where.row : '')))].sort(),
      [...rowUsers, 'leak-br-1', 'leak-mx-1'].sort(),
    );
    const violating = new Set(inProcess.violations.map((v) => v.finding));
    assert.deepEqual(rowFindings.filter((f) => violating.has(f)).map(brief), []);
  });

  test('a reason names the record’s jurisdiction, or says it cannot be told', () => {
    const reason = (row: string) => inProcess.violations.find((v) => v.finding.where.kind === 'store' && v.finding.where.row === row)!.reason;
    assert.equal(
      reason('leak-us-1'),
      "user.device.device_id is protected for US (the record's jurisdiction) and must stay in enclave us; found in enclave global",
    );
    assert.equal(
      reason('leak-sealed-1'),
      "user.device.ip_address is protected for US, EU (the record's jurisdiction cannot be told, so every jurisdiction's rules apply) and must stay in enclave us, eu; found in enclave global",
    );
  });

  test('the console’s findings and the Overview’s count give the same answer', () => {
    assert.deepEqual(violationsOf(api.findings), expected(demoUsers));
    assert.equal(api.findings.violationCount, 9);
    assert.equal(api.overview.openViolations, 9);
    assert.equal(api.findings.findingCount, inProcess.findings.length);
    assert.deepEqual(api.findings.summary, inProcess.summary);
    // The planted rows' columns are summed with the seeded ones: every ROW user's device id, and the leaks.
    const line = (table: string, column: string) => inProcess.summary.find((c) => c.target === `global/${table}` && c.column === column);
    assert.equal(line('ds_comments', 'body')?.count, 4);
  });

  test('the oversight report lists the same violations, by place', () => {
    const v = api.report.report.violations;
    assert.equal(v.count, 9);
    assert.equal(v.complete, true);
    assert.deepEqual(v.listed.map((x) => `${x.table}.${x.column}#${x.row} ${x.jurisdictions.join(',')}`).sort(), expected(demoUsers));
  });

  test('cordon scan store:global gives the same answer, exit 1, and prints no value', async () => {
    const args = ['scan', 'store:global', '--policy', DEMO_POLICY, '--store', `global=pglite://${join(dir, 'stores', 'global')}`];
    const json = await cordonAsync([...args, '--json']);
    assert.equal(json.status, 1, json.stderr);
    const r = JSON.parse(json.stdout) as ScanResultV1;
    assert.deepEqual(violationsOf(r), expected(demoUsers));
    assert.equal(r.findings.length, inProcess.findings.length);
    const text = await cordonAsync(args);
    assert.equal(text.status, 1);
    const everything = json.stdout + text.stdout + text.stderr + JSON.stringify(api);
    assert.deepEqual(
      CLEAR.flatMap((v, i) => (everything.includes(v) ? [`planted value #${i}`] : [])),
      [],
    );
  });
});
