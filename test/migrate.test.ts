// Migration end to end through the real CLI on a real PostgreSQL: a legacy number JSON cannot hold
// stops plan and run, purge by delete, and a backup of the enclave store taken before `shred` can no
// longer be decrypted after it. Bad input is test/migrate-bad-input.slow.test.ts, the 100,000-row run
// test/migrate-scale.slow.test.ts.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync, readFileSync } from 'node:fs';
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
