// Migration at scale, end to end through the real CLI on a real PostgreSQL: a 100,000-row legacy
// fixture is planned, moved, verified and purged (counts printed; out-of-scope rows byte-identical;
// the enclave holds ciphertext that decrypts to the legacy values). test/migrate.test.ts runs the
// rest of the migration's end-to-end tests in `npm test`.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startPostgres, type PostgresServer } from './helpers/postgres.js';
import { DEMO_POLICY } from './helpers/paths.js';
import { cordon, dump, environment, inScopeAccounts, query } from './helpers/migrate-env.js';
import { PROTECTED_ACCOUNT_COLUMNS } from './fixtures/migrate/legacy.js';
import { createPlacementRules, loadPolicy, type Policy } from '../src/policy/index.js';
import { createPlacement, openFileKeyService, openStore, type Store } from '../src/store/index.js';
import { parseVerifierKey, verifyNote } from '../src/log/index.js';

let pg: PostgresServer;
before(async () => {
  pg = await startPostgres({ database: 'migrate_main' });
});
after(async () => {
  await pg?.stop();
});

test('100,000 legacy rows: plan, run, verify, purge; counts printed; out-of-scope rows byte-identical; enclave holds ciphertext that decrypts to the legacy values', async () => {
  const env = await environment(pg, 100_000);
  const beforeAccounts = await dump(env.legacy, 'accounts', 'account_no');
  const beforeClips = await dump(env.legacy, 'clips', 'clip_id');
  const inScope = new Set((await inScopeAccounts(env.legacy)).map((r) => r.account_no));

  const plan = await cordon([...env.args('plan'), '--json']);
  assert.equal(plan.status, 0, plan.stderr);
  const p = JSON.parse(plan.stdout);
  const accountsPlan = p.tables.find((t: { table: string }) => t.table === 'accounts');
  assert.equal(accountsPlan.counts.rows, 100_000);
  assert.equal(accountsPlan.counts.inScope, inScope.size);
  assert.deepEqual(accountsPlan.purgeable.sort(), [...PROTECTED_ACCOUNT_COLUMNS].sort());
  assert.equal(
    (await query<{ n: number }>(env.enclave, `SELECT count(*)::int AS n FROM information_schema.tables WHERE table_schema = 'public'`))[0]!.n,
    0,
    'plan writes nothing',
  );

  const run = await cordon([...env.args('run'), '--json']);
  assert.equal(run.status, 0, run.stderr);
  const r = JSON.parse(run.stdout);
  const verify = await cordon([...env.args('verify'), '--json']);
  assert.equal(verify.status, 0, verify.stderr);
  const v = JSON.parse(verify.stdout);
  const purge = await cordon([...env.args('purge'), '--json']);
  assert.equal(purge.status, 0, purge.stderr);
  const pu = JSON.parse(purge.stdout);

  const clipsInScope = p.tables.find((t: { table: string }) => t.table === 'clips').counts.inScope;
  console.log(
    `# migrate 100k: rows ${v.counts.rows}, in scope ${v.counts.inScope}, moved ${r.moved}, verified ${v.verified}, purged ${pu.purged + pu.alreadyPurged}, mismatches ${v.mismatches}, out of scope ${v.counts.outOfScope}, untouched no-subject ${v.counts.noSubject}, unknown-jurisdiction ${v.counts.unknownJurisdiction}`,
  );
  assert.equal(r.moved, inScope.size + clipsInScope);
  assert.equal(v.counts.inScope, inScope.size + clipsInScope);
  assert.equal(v.verified, v.counts.inScope);
  assert.equal(v.mismatches, 0);
  assert.equal(pu.purged + pu.alreadyPurged, v.counts.inScope);
  assert.equal(pu.verifiedLeft, 0);
  assert.ok(v.counts.noSubject > 0 && v.counts.unknownJurisdiction > 0 && v.counts.outOfScope > 0, 'the fixture has every kind of row');

  // Out-of-scope and untouched rows are byte-identical; in-scope rows lost exactly their protected columns.
  const afterAccounts = await dump(env.legacy, 'accounts', 'account_no');
  let identical = 0;
  for (const [c, t] of beforeAccounts) {
    if (inScope.has(c)) continue;
    assert.ok(afterAccounts.get(c) === t, `accounts ${c} untouched`);
    identical++;
  }
  const afterClips = await dump(env.legacy, 'clips', 'clip_id');
  const clipsTouched = [...beforeClips.keys()].filter((c) => afterClips.get(c) !== beforeClips.get(c)).length;
  assert.ok(clipsTouched > 0 && clipsTouched <= clipsInScope);
  const left = await query<{ n: number }>(
    env.legacy,
    `SELECT count(*)::int AS n FROM accounts WHERE uid IS NOT NULL AND cc = 'US' AND (${PROTECTED_ACCOUNT_COLUMNS.map((c) => `${c} IS NOT NULL`).join(' OR ')})`,
  );
  assert.equal(left[0]!.n, 0, 'no protected legacy value of an in-scope row is left');
  const kept = await query<{ n: number }>(
    env.legacy,
    `SELECT count(*)::int AS n FROM accounts WHERE uid IS NOT NULL AND cc = 'US' AND handle IS NOT NULL AND signup IS NOT NULL`,
  );
  assert.equal(kept[0]!.n, inScope.size, 'public columns stay');
  console.log(`# migrate 100k: out-of-scope or untouched account rows byte-identical ${identical}`);

  // The enclave holds ciphertext only, and it decrypts (through placement) to the legacy values.
  const clear = await query<{ n: number }>(
    env.enclave,
    // A clear phone number is a JSON string starting "+1512; base64 ciphertext can hold +1512 by
    // chance (one run in a few hundred did), never a quote before it.
    `SELECT count(*)::int AS n FROM ds_users WHERE phone_number::text LIKE '%"+1512%' OR email::text LIKE '%@example.com%'`,
  );
  assert.equal(clear[0]!.n, 0);
  const policy = (loadPolicy(DEMO_POLICY) as { policy: Policy }).policy;
  const stores = new Map<string, Store>([
    ['enclave_us', await openStore('enclave_us', env.enclave)],
    ['global', await openStore('global', env.global)],
    ['enclave_eu', await openStore('enclave_eu', 'pglite://memory')],
  ]);
  const keys = openFileKeyService(join(env.dataDir, 'keys', 'master.key'));
  const released: string[] = [];
  const placement = createPlacement(createPlacementRules(policy), stores, [...policy.datasets.keys()], {
    encryption: { keys, onKeyRelease: async (s) => void released.push(s) },
  });
  await placement.init();
  for (const i of [1, 2, 3, 10, 99_999]) {
    if (!inScope.has(String(i))) continue;
    const rec = await placement.read('users', `u${i}`);
    assert.ok(rec?.values['phone_number'] === `+1512555${String(i % 10_000).padStart(4, '0')}`, `users u${i}: the phone number decrypts to the legacy value`);
    assert.ok(rec?.values['email'] === `user${i}@example.com`, `users u${i}: the email decrypts to the legacy value`);
    assert.equal(rec?.jurisdiction, 'US');
  }
  assert.ok(released.length > 0 && released.every((s) => s.startsWith('users/')), 'each release of a data key is reported with its subject');

  // The statements verify under the deployment's statements key.
  const vkey = parseVerifierKey(readFileSync(join(env.dataDir, 'keys', 'statements.vkey'), 'utf8').trim());
  for (const note of [v.statement, pu.statement]) assert.ok(verifyNote(note, [vkey]));

  // Verify and purge decrypt enclave copies: each logged the release of the data keys first.
  const entries = await stores.get('enclave_us')!.readEntries('access', -1, 10_000, { payload: true });
  const steps = entries
    .map((e) => (JSON.parse(e.payload!) as { r: { type: string; step?: string } }).r)
    .map((rec) => (rec.type === 'key.release' ? `key.release ${rec.step}` : rec.type));
  assert.deepEqual(
    steps.filter((x) => x.startsWith('key.release') || x === 'migrate.verify' || x === 'migrate.purge'),
    ['key.release verify', 'migrate.verify', 'key.release purge', 'migrate.purge'],
  );
  for (const s of stores.values()) await s.close();
});
