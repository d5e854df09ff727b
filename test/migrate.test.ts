// Migration end to end through the real CLI on a real PostgreSQL: bad inputs are refused with clear
// errors and change nothing, a legacy number JSON cannot hold stops plan and run, purge by delete, and
// a backup of the enclave store taken before `shred` can no longer be decrypted after it. The
// 100,000-row run is test/migrate-scale.slow.test.ts.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { renameSync, writeFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startPostgres, type PostgresServer } from './helpers/postgres.js';
import { DEMO_POLICY } from './helpers/paths.js';
import { tempDir } from './helpers/temp.js';
import { cordon, dump, environment, inScopeAccounts, MAPPING, query } from './helpers/migrate-env.js';
import { createPlacementRules, loadPolicy, type Policy } from '../src/policy/index.js';
import { createPlacement, decryptField, isCiphertext, openFileKeyService, openStore, KeyServiceError, type Store } from '../src/store/index.js';
import { assertSameHidden } from './helpers/hidden.js';

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

test('a backup of the enclave store taken before shred cannot be decrypted after it; live data survives a KEK shred; a shredded subject reads as withheld', async () => {
  const env = await environment(pg, 400);
  assert.equal((await cordon(env.args('run'))).status, 0);
  // The backup: every row of the enclave's user table and of its wrapped data keys.
  const backupUsers = await query<{ key: string; phone_number: string }>(
    env.enclave,
    `SELECT key, phone_number #>> '{}' AS phone_number FROM ds_users WHERE phone_number IS NOT NULL`,
  );
  const backupKeys = new Map(
    (
      await query<{ key: string; kek: string; wrapped: string }>(env.enclave, `SELECT key, kek #>> '{}' AS kek, wrapped #>> '{}' AS wrapped FROM ds__data_keys`)
    ).map((r) => [r.key, r]),
  );
  assert.ok(backupUsers.length > 100 && backupUsers.every((u) => isCiphertext(u.phone_number)));
  const keys = openFileKeyService(join(env.dataDir, 'keys', 'master.key'));
  // Before the shred the backup decrypts.
  const decryptBackup = async (u: { key: string; phone_number: string }) => {
    const w = backupKeys.get(`users/${u.key}`)!;
    const dek = await keys.unwrap({ kek: w.kek, wrapped: w.wrapped }, `enclave_us\u0000users/${u.key}`);
    return decryptField(dek, 'users', u.key, 'phone_number', u.phone_number);
  };
  assert.ok(/^\+1512555\d{4}$/.test(String(await decryptBackup(backupUsers[0]!))), 'the backup decrypts to a legacy phone number');

  const shredKek = await cordon([...env.args('shred'), '--enclave', 'us', '--kek-generation', '1', '--json']);
  assert.equal(shredKek.status, 0, shredKek.stderr);
  const s = JSON.parse(shredKek.stdout);
  assert.equal(s.rewrapped, backupKeys.size);
  let unreadable = 0;
  for (const u of backupUsers) {
    await assert.rejects(decryptBackup(u), (e: unknown) => e instanceof KeyServiceError && e.reason === 'destroyed');
    unreadable++;
  }
  console.log(`# shred: backup rows ${backupUsers.length}, undecryptable after the KEK shred ${unreadable}, live keys re-wrapped ${s.rewrapped}`);

  // The live store still reads (its keys were re-wrapped first) ...
  const policy = (loadPolicy(DEMO_POLICY) as { policy: Policy }).policy;
  const stores = new Map<string, Store>([
    ['enclave_us', await openStore('enclave_us', env.enclave)],
    ['global', await openStore('global', env.global)],
    ['enclave_eu', await openStore('enclave_eu', 'pglite://memory')],
  ]);
  const placement = createPlacement(createPlacementRules(policy), stores, [...policy.datasets.keys()], {
    encryption: { keys: openFileKeyService(join(env.dataDir, 'keys', 'master.key')) },
  });
  await placement.init();
  assertSameHidden((await placement.read('users', 'u1'))?.values['phone_number'], '+15125550001', 'u1 reads back');
  // ... and after a subject shred, that subject's protected fields are withheld with a reason, never ciphertext.
  const shredSubject = await cordon([...env.args('shred'), '--enclave', 'us', '--subject', 'u2']);
  assert.equal(shredSubject.status, 0, shredSubject.stderr);
  const placement2 = createPlacement(createPlacementRules(policy), stores, [...policy.datasets.keys()], {
    encryption: { keys: openFileKeyService(join(env.dataDir, 'keys', 'master.key')) },
  });
  const gone = await placement2.read('users', 'u2');
  assert.equal(gone?.values['phone_number'], null);
  assert.equal(gone?.values['username'], 'handle_2', 'public fields still read');
  assert.match(gone?.unreadable?.['phone_number'] ?? '', /destroyed \(crypto-shredded\)/);
  assertSameHidden((await placement2.read('users', 'u1'))?.values['phone_number'], '+15125550001', 'other subjects unaffected');
  for (const st of stores.values()) await st.close();
});

test('a legacy number a JSON number cannot hold exactly stops plan and run before anything is written, naming where it is (not what)', async () => {
  const env = await environment(pg, 200);
  await query(env.legacy, `ALTER TABLE clips ALTER COLUMN views TYPE numeric`);
  const [clip] = await query<{ clip_id: string }>(env.legacy, `SELECT clip_id::text FROM clips ORDER BY clip_id LIMIT 1`);
  await query(env.legacy, `UPDATE clips SET views = 12345678901234567890 WHERE clip_id = ${clip!.clip_id}`);
  for (const step of ['plan', 'run']) {
    const r = await cordon(env.args(step));
    assert.equal(r.status, 2, `${step}: ${r.stdout}${r.stderr}`);
    assert.match(
      r.stderr,
      new RegExp(`migrate\\.type_mismatch: clips\\.views at cursor ${clip!.clip_id} holds a number that a JSON number cannot hold exactly`),
    );
    assert.doesNotMatch(r.stdout + r.stderr, /12345678901234567890/);
  }
  assert.equal((await query<{ n: number }>(env.enclave, `SELECT count(*)::int AS n FROM ds_videos`))[0]!.n, 0, 'no clip reached the enclave');
  // 12.50 and 2^53 are held exactly: the run goes through.
  await query(env.legacy, `UPDATE clips SET views = 12.50 WHERE clip_id = ${clip!.clip_id}`);
  const ok = await cordon(env.args('run'));
  assert.equal(ok.status, 0, ok.stderr);
});

test('purge: delete removes the in-scope legacy rows of every table (a clip whose owner was deleted first included); out-of-scope rows stay byte-identical', async () => {
  const mapping = join(tempDir('cordon-map-delete-'), 'mapping.yaml');
  writeFileSync(mapping, readFileSync(MAPPING, 'utf8').replace('purge: "null"', 'purge: delete'));
  const env = await environment(pg, 4000, mapping);
  const beforeAccounts = await dump(env.legacy, 'accounts', 'account_no');
  const beforeClips = await dump(env.legacy, 'clips', 'clip_id');
  const inScope = new Set((await inScopeAccounts(env.legacy)).map((r) => r.account_no));
  // A clip is in scope when its owner's account is a US account with a subject.
  const usOwners = new Set((await query<{ uid: string }>(env.legacy, `SELECT uid FROM accounts WHERE uid IS NOT NULL AND cc = 'US'`)).map((r) => r.uid));
  const clipsInScope = new Set(
    (await query<{ clip_id: string; owner: string | null }>(env.legacy, 'SELECT clip_id::text, owner FROM clips'))
      .filter((c) => c.owner !== null && usOwners.has(c.owner))
      .map((c) => c.clip_id),
  );

  for (const step of ['run', 'verify']) assert.equal((await cordon(env.args(step))).status, 0, step);
  // A purge killed right after a batch's DELETE, before the save after it: the batch's rows are
  // gone, its cursor not advanced, and the rows recorded as pending. The resumed purge counts them.
  const verifyId = (
    JSON.parse((await query<{ s: string }>(env.enclave, `SELECT state #>> '{}' AS s FROM ds__migrate_state WHERE key = 'legacy-app/verify'`))[0]!.s) as {
      verifyId: string;
    }
  ).verifyId;
  const firstClips = [...clipsInScope].sort((a, b) => Number(a) - Number(b)).slice(0, 10);
  const pending = {
    verifyId,
    done: false,
    tables: { clips: { cursor: null, done: false, purged: 0, alreadyPurged: 0, columns: 0, pending: { cursors: firstClips, columns: 30 } } },
  };
  await query(env.enclave, `INSERT INTO ds__migrate_state (key, state) VALUES ('legacy-app/purge', to_jsonb('${JSON.stringify(pending)}'::text))`);
  await query(env.legacy, `DELETE FROM clips WHERE clip_id IN (${firstClips.join(', ')})`);
  for (const step of ['purge']) {
    const r = await cordon([...env.args(step), '--json']);
    assert.equal(r.status, 0, `${step}: ${r.stderr}`);
    if (step === 'purge') {
      assert.equal(JSON.parse(r.stdout).resumed, true);
      assert.equal(JSON.parse(r.stdout).purged, inScope.size + clipsInScope.size, 'every verified row was purged (the pending ones counted once)');
      assert.equal(JSON.parse(r.stdout).verifiedLeft, 0);
      assert.match(JSON.parse(r.stdout).statement, /\nverified-left 0\n/);
    }
  }
  const afterAccounts = await dump(env.legacy, 'accounts', 'account_no');
  const afterClips = await dump(env.legacy, 'clips', 'clip_id');
  assert.deepEqual([...beforeAccounts.keys()].filter((k) => !afterAccounts.has(k)).sort(), [...inScope].sort(), 'exactly the in-scope accounts are gone');
  assert.deepEqual([...beforeClips.keys()].filter((k) => !afterClips.has(k)).sort(), [...clipsInScope].sort(), 'exactly the in-scope clips are gone');
  // Compared without printing: the rows hold protected values.
  for (const [k, t] of afterAccounts) assert.ok(t === beforeAccounts.get(k), `accounts ${k} untouched`);
  for (const [k, t] of afterClips) assert.ok(t === beforeClips.get(k), `clips ${k} untouched`);
  console.log(
    `# purge delete: accounts deleted ${inScope.size}, clips deleted ${clipsInScope.size}, rows left untouched ${afterAccounts.size + afterClips.size}`,
  );
});
