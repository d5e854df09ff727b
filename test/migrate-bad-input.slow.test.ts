// Migration's bad input through the real CLI on a real PostgreSQL: an unknown dataset or field, a
// type mismatch, purge without verify, data changed after verify, a key service that is unreachable —
// each a clear error that changes nothing. Many runs of the CLI, so in the slow suite; the rest of the
// migration's end-to-end tests are test/migrate.test.ts.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { renameSync, writeFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startPostgres, type PostgresServer } from './helpers/postgres.js';
import { tempDir } from './helpers/temp.js';
import { cordon, dump, environment, MAPPING, query } from './helpers/migrate-env.js';

let pg: PostgresServer;
before(async () => {
  pg = await startPostgres({ database: 'migrate_main' });
});
after(async () => {
  await pg?.stop();
});

test('bad input: unknown dataset or field, type mismatch, purge without verify, data changed after verify, key service unreachable: clear errors, nothing lost', async () => {
  const env = await environment(pg, 400);
  const dir = tempDir('cordon-map-');
  const text = readFileSync(MAPPING, 'utf8');
  const cases = [
    {
      note: 'unknown dataset',
      edit: text.replace('dataset: videos', 'dataset: vidoes'),
      code: 'migrate.bad_mapping',
      says: /unknown dataset "vidoes" \(did you mean videos\?\)/,
    },
    {
      note: 'unknown field',
      edit: text.replace('mail: email', 'mail: emial'),
      code: 'migrate.bad_mapping',
      says: /mapping\.yaml:\d+:\d+ dataset users has no field "emial"/,
    },
    { note: 'unknown key', edit: text.replace('purge: "null"', 'purge: "null"\nsurprise: 1'), code: 'migrate.bad_mapping', says: /unknown key "surprise"/ },
    {
      note: 'missing column',
      edit: text.replace('mobile: phone_number', 'mobil: phone_number'),
      code: 'migrate.bad_mapping',
      says: /accounts has no column "mobil"/,
    },
    {
      note: 'declared type differs',
      edit: text.replace('dob: { field: birthday, type: date }', 'dob: { field: birthday, type: number }'),
      code: 'migrate.type_mismatch',
      says: /accounts\.dob .* is date; expected number/,
    },
  ];
  for (const c of cases) {
    const file = join(dir, 'mapping.yaml');
    writeFileSync(file, c.edit);
    const r = await cordon([...env.args('plan').map((a) => (a === MAPPING ? file : a))]);
    assert.equal(r.status, 2, `${c.note}: ${r.stderr}`);
    assert.match(r.stderr, new RegExp(c.code.replace('.', '\\.')), c.note);
    assert.match(r.stderr, c.says, c.note);
  }
  // A column of a kind cordon cannot store.
  await query(env.legacy, `ALTER TABLE accounts ADD COLUMN blob bytea`);
  writeFileSync(join(dir, 'mapping.yaml'), text.replace('mobile: phone_number', 'blob: phone_number'));
  const bytea = await cordon(env.args('plan').map((a) => (a === MAPPING ? join(dir, 'mapping.yaml') : a)));
  assert.equal(bytea.status, 2);
  assert.match(bytea.stderr, /migrate\.type_mismatch: .*accounts\.blob .* is bytea/);

  const before = await dump(env.legacy, 'accounts', 'account_no');
  // Rows with no subject or an unknown jurisdiction are reported.
  const plan = await cordon(env.args('plan'));
  assert.equal(plan.status, 0, plan.stderr);
  assert.match(plan.stdout, /no subject, left untouched/);
  assert.match(plan.stdout, /unknown jurisdiction, left untouched/);

  assert.equal((await cordon(env.args('run'))).status, 0);
  const noVerify = await cordon(env.args('purge'));
  assert.equal(noVerify.status, 1, noVerify.stderr);
  assert.match(noVerify.stderr, /migrate\.not_verified: mapping legacy-app has not been verified/);
  assert.deepEqual(await dump(env.legacy, 'accounts', 'account_no'), before, 'purge without verify changes nothing');

  assert.equal((await cordon(env.args('verify'))).status, 0);
  await query(env.legacy, `UPDATE accounts SET mail = 'changed@example.org' WHERE account_no = 11`);
  const changed = await cordon(env.args('purge'));
  assert.equal(changed.status, 1, changed.stderr);
  assert.match(changed.stderr, /migrate\.data_changed: the data no longer matches the verify statement/);
  assert.match(changed.stderr, /accounts u11: the legacy row changed since verify/);
  const afterRefusal = await dump(env.legacy, 'accounts', 'account_no');
  assert.equal([...afterRefusal].filter(([c, t]) => before.get(c) !== t).length, 1, 'only the row the test changed differs');
  const reverify = await cordon(env.args('verify'));
  assert.equal(reverify.status, 1);
  assert.match(reverify.stdout, /mismatch accounts u11: fields differ: email/);
  assert.doesNotMatch(reverify.stdout + reverify.stderr, /changed@example\.org|user11@example\.com/, 'values are never printed');

  // Run again (the legacy value changed), verify, then take the key service away: purge destroys nothing.
  assert.equal((await cordon([...env.args('run'), '--restart'])).status, 0);
  assert.equal((await cordon(env.args('verify'))).status, 0);
  const keyFile = join(env.dataDir, 'keys', 'master.key');
  renameSync(keyFile, `${keyFile}.away`);
  const noKeys = await cordon(env.args('purge'));
  assert.equal(noKeys.status, 3, 'the key service cannot be reached: exit 3');
  assert.match(noKeys.stderr, /migrate\.key_service_unavailable: .*does not exist; nothing was destroyed/);
  assert.deepEqual(await dump(env.legacy, 'accounts', 'account_no'), afterRefusal);
  renameSync(`${keyFile}.away`, keyFile);
  const ok = await cordon(env.args('purge'));
  assert.equal(ok.status, 0, ok.stderr);
  const purged = JSON.parse((await cordon([...env.args('purge'), '--json'])).stdout) as { purged: number; alreadyPurged: number };

  // A verify after the purge: the purged rows' enclave copies still match what was verified, so
  // they count as verified (legacy copy purged), not as mismatches; a purge after it has nothing left to do.
  const after = await cordon([...env.args('verify'), '--json']);
  assert.equal(after.status, 0, after.stdout + after.stderr);
  const av = JSON.parse(after.stdout) as { verified: number; legacyPurged: number; mismatches: number; counts: { inScope: number } };
  assert.equal(av.mismatches, 0);
  assert.equal(av.verified, av.counts.inScope);
  // Rows whose protected values were all empty to begin with hash the same on both sides still.
  assert.ok(av.legacyPurged > 0 && av.legacyPurged <= purged.purged + purged.alreadyPurged, `${av.legacyPurged} of ${purged.purged + purged.alreadyPurged}`);
  const legacyBefore = await dump(env.legacy, 'accounts', 'account_no');
  const again = await cordon([...env.args('purge'), '--json']);
  assert.equal(again.status, 0, again.stderr);
  const ag = JSON.parse(again.stdout) as { purged: number; alreadyPurged: number };
  assert.equal(ag.alreadyPurged, av.legacyPurged);
  assert.equal(ag.purged + ag.alreadyPurged, av.counts.inScope);
  assert.deepEqual(await dump(env.legacy, 'accounts', 'account_no'), legacyBefore, 'nothing left to purge');
  // A purged row whose enclave copy is then damaged is a mismatch again.
  await query(env.enclave, `UPDATE ds_users SET email = to_jsonb('cordon:enc:v1:AAAA'::text) WHERE key = 'u12'`);
  const damaged = await cordon(env.args('verify'));
  assert.equal(damaged.status, 1);
  assert.match(damaged.stdout, /mismatch accounts u12: email does not decrypt/);
});
