// Kill test: `cordon migrate run` and `cordon migrate purge` (the real CLI in a child process) are
// each killed with SIGKILL at 20 random points and resumed. After every kill, each in-scope value
// exists in the enclave (decrypting to its original) before its legacy copy is gone, and nothing
// else changed; at the end the state equals that of an uninterrupted run on an identical fixture.
// The fixture is smaller than the 100k test (2,000 accounts, 500 clips, batches of 50) to keep the
// 40 kills and resumes to a few minutes; kill points are spread over the work by watching the
// progress checkpoint, plus a random delay, so they land in every phase of a batch.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { isDeepStrictEqual } from 'node:util';
import postgres from 'postgres';
import { startPostgres, type PostgresServer } from './helpers/postgres.js';
import { CLI, DEMO_POLICY } from './helpers/paths.js';
import { tempDir } from './helpers/temp.js';
import { createLegacyFixture, createDatabases, MAPPING_FILE, PROTECTED_ACCOUNT_COLUMNS } from './fixtures/migrate/legacy.js';
import { decryptField, isCiphertext, openFileKeyService, type KeyService } from '../src/store/index.js';
import { mulberry32 } from '../src/shared/random.js';

/** The kill points' seed: CORDON_KILL_SEED, or a new one, printed so that a failing run can be replayed. */
function killSeed(): number {
  const seed = Number(process.env['CORDON_KILL_SEED'] ?? Date.now() % 1_000_000);
  console.log(`# migrate kill: seed ${seed} (CORDON_KILL_SEED=${seed} replays it)`);
  return seed;
}

const BUILD = fileURLToPath(new URL('../', import.meta.url));
const MAPPING = fileURLToPath(MAPPING_FILE);
const ACCOUNTS = 2000;
const BATCH = '50';
const KILLS = 20;

let pg: PostgresServer;
before(async () => {
  pg = await startPostgres({ database: 'migrate_kill' });
});
after(async () => {
  await pg?.stop();
});

interface Env {
  legacy: string;
  enclave: string;
  global: string;
  args: (step: string) => string[];
}

function cordon(args: readonly string[]): Promise<{ status: number | null; stderr: string }> {
  return new Promise((done) => {
    execFile(process.execPath, [CLI, ...args], { env: { ...process.env, CORDON_DIST: BUILD }, encoding: 'utf8' }, (err, _stdout, stderr) =>
      done({ status: err ? (typeof err.code === 'number' ? err.code : null) : 0, stderr }),
    );
  });
}

async function q<T>(url: string, text: string): Promise<T[]> {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    return [...((await sql.unsafe(text)) as unknown as T[])];
  } finally {
    await sql.end({ timeout: 5 });
  }
}

/** Starts the step, waits until progress reaches `target` (or `delayMs` when target is negative), plus a random delay, and SIGKILLs it. */
async function killAt(env: Env, step: string, progress: () => Promise<number>, target: number, rand: () => number): Promise<'killed' | 'finished'> {
  const child = spawn(process.execPath, [CLI, ...env.args(step)], { env: { ...process.env, CORDON_DIST: BUILD }, stdio: 'ignore' });
  let exited = false;
  const exit = new Promise<void>((done) =>
    child.on('exit', () => {
      exited = true;
      done();
    }),
  );
  if (target < 0) await sleep(200 + Math.floor(rand() * 800));
  else while (!exited && (await progress()) < target) await sleep(3);
  await sleep(Math.floor(rand() * 25));
  const killed = !exited && child.kill('SIGKILL');
  await exit;
  return killed ? 'killed' : 'finished';
}

interface Original {
  cursor: string;
  uid: string;
  values: Record<string, string | null>;
}

/** A legacy fixture and its enclave and global databases, migrated with `mapping` (keys in dataDir). */
async function environment(tag: string, dataDir: string, mapping: string): Promise<Env> {
  const [legacy, enclave, global] = await createDatabases(pg.url, [`legacy_${tag}`, `enclave_${tag}`, `global_${tag}`]);
  await createLegacyFixture(legacy!, ACCOUNTS);
  const stores = ['--store', `enclave_us=${enclave}`, '--store', `global=${global}`];
  return {
    legacy: legacy!,
    enclave: enclave!,
    global: global!,
    args: (step) => [
      'migrate',
      step,
      '--policy',
      DEMO_POLICY,
      '--data-dir',
      dataDir,
      ...stores,
      '--from',
      legacy!,
      '--map',
      mapping,
      '--batch',
      BATCH,
      ...(step === 'purge' ? ['--yes'] : []),
    ],
  };
}

/** The in-scope accounts' protected legacy values, by cursor, before anything is purged. */
async function originalsOf(env: Env): Promise<Map<string, Original>> {
  const rows = await q<Record<string, string | null>>(
    env.legacy,
    `SELECT account_no::text AS c, uid, ${PROTECTED_ACCOUNT_COLUMNS.map((c) => `${c}::text`).join(', ')} FROM accounts WHERE uid IS NOT NULL AND cc = 'US'`,
  );
  return new Map(
    rows.map((r) => [r['c']!, { cursor: r['c']!, uid: r['uid']!, values: Object.fromEntries(PROTECTED_ACCOUNT_COLUMNS.map((c) => [c, r[c] ?? null])) }]),
  );
}

/** After any kill: every in-scope account whose legacy copy is gone has an enclave copy decrypting to its original; no legacy value changed otherwise. */
async function checkNothingLost(env: Env, originals: Map<string, Original>, keys: KeyService): Promise<{ purged: number; inEnclave: number }> {
  const legacy = new Map(
    (
      await q<Record<string, string | null>>(
        env.legacy,
        `SELECT account_no::text AS c, ${PROTECTED_ACCOUNT_COLUMNS.map((c) => `${c}::text`).join(', ')} FROM accounts`,
      )
    ).map((r) => [r['c']!, r]),
  );
  const enclave = new Map(
    (
      await q<{ key: string; phone_number: string | null; email: string | null }>(
        env.enclave,
        `SELECT key, phone_number #>> '{}' AS phone_number, email #>> '{}' AS email FROM ds_users`,
      ).catch(() => [])
    ).map((r) => [r.key, r]),
  );
  const dataKeys = new Map(
    (
      await q<{ key: string; kek: string; wrapped: string }>(
        env.enclave,
        `SELECT key, kek #>> '{}' AS kek, wrapped #>> '{}' AS wrapped FROM ds__data_keys`,
      ).catch(() => [])
    ).map((r) => [r.key, r]),
  );
  let purged = 0;
  let inEnclave = 0;
  for (const [cursor, o] of originals) {
    // Purged: its protected columns cleared (purge: "null") or the row deleted (purge: delete).
    const l = legacy.get(cursor);
    const isPurged = l === undefined || PROTECTED_ACCOUNT_COLUMNS.every((c) => l[c] === null);
    if (!isPurged) for (const c of PROTECTED_ACCOUNT_COLUMNS) assert.ok(l![c] === o.values[c], `legacy ${cursor}.${c} unchanged until purged`);
    else purged++;
    const e = enclave.get(o.uid);
    if (!e) {
      assert.ok(!isPurged, `account ${cursor} was purged with no enclave copy`);
      continue;
    }
    inEnclave++;
    const w = dataKeys.get(`users/${o.uid}`);
    assert.ok(w, `the data key of ${o.uid} exists`);
    const dek = await keys.unwrap({ kek: w.kek, wrapped: w.wrapped }, `enclave_us\u0000users/${o.uid}`);
    assert.ok(isCiphertext(e.phone_number) && isCiphertext(e.email));
    assert.ok(
      decryptField(dek, 'users', o.uid, 'phone_number', e.phone_number) === o.values['mobile'],
      `the enclave phone of ${o.uid} decrypts to its legacy value`,
    );
    assert.ok(decryptField(dek, 'users', o.uid, 'email', e.email) === o.values['mail'], `the enclave email of ${o.uid} decrypts to its legacy value`);
  }
  return { purged, inEnclave };
}

/** The comparable final state: legacy rows as text, enclave rows decrypted, global rows. */
async function finalState(env: Env, keys: KeyService): Promise<unknown> {
  const legacyA = await q<{ t: string }>(env.legacy, `SELECT t::text AS t FROM accounts t ORDER BY account_no`);
  const legacyC = await q<{ t: string }>(env.legacy, `SELECT t::text AS t FROM clips t ORDER BY clip_id`);
  const dataKeys = new Map(
    (
      await q<{ key: string; kek: string; wrapped: string }>(env.enclave, `SELECT key, kek #>> '{}' AS kek, wrapped #>> '{}' AS wrapped FROM ds__data_keys`)
    ).map((r) => [r.key, r]),
  );
  const decrypted: Record<string, unknown> = {};
  for (const [dataset, subjectField] of [
    ['users', 'uid'],
    ['videos', 'owner_uid'],
  ] as const) {
    const rows = await q<Record<string, unknown>>(env.enclave, `SELECT * FROM ds_${dataset} ORDER BY key`);
    const globalRows = await q<Record<string, unknown>>(env.global, `SELECT * FROM ds_${dataset} ORDER BY key`);
    for (const r of rows) {
      const key = String(r['key']);
      const g = globalRows.find((x) => x['key'] === key) ?? {};
      const subject = String(g[subjectField] ?? r[subjectField]);
      const w = dataKeys.get(`users/${subject}`)!;
      const dek = await keys.unwrap({ kek: w.kek, wrapped: w.wrapped }, `enclave_us\u0000users/${subject}`);
      const out: Record<string, unknown> = {};
      for (const [f, v] of Object.entries(r)) {
        if (f === 'key' || f === '_updated_at') continue;
        out[f] = isCiphertext(v) ? decryptField(dek, dataset, key, f, v) : v;
      }
      decrypted[`${dataset}/${key}`] = out;
    }
    decrypted[`global/${dataset}`] = globalRows.map((x) => ({ ...x, _updated_at: null }));
  }
  return { legacyA, legacyC, decrypted };
}

test(`run and purge each SIGKILLed at ${KILLS} random points and resumed: nothing lost at any point, final state equals an uninterrupted run`, {
  timeout: 900_000,
}, async () => {
  const dataDir = tempDir('cordon-kill-');
  const reference = await environment('ref', dataDir, MAPPING);
  const killed = await environment('kill', dataDir, MAPPING);

  // The uninterrupted run.
  for (const step of ['run', 'verify', 'purge']) {
    const r = await cordon(reference.args(step));
    assert.equal(r.status, 0, `${step}: ${r.stderr}`);
  }
  const keys = openFileKeyService(join(dataDir, 'keys', 'master.key'));

  const originals = await originalsOf(killed);
  const totalRows = ACCOUNTS + ACCOUNTS / 4;
  const rand = mulberry32(killSeed());
  const stateOf = async (id: string): Promise<Record<string, unknown> | undefined> => {
    const r = await q<{ s: string }>(killed.enclave, `SELECT state #>> '{}' AS s FROM ds__migrate_state WHERE key = 'legacy-app/${id}'`).catch(() => []);
    return r[0] ? (JSON.parse(r[0].s) as Record<string, unknown>) : undefined;
  };
  const runProgress = async () => {
    let n = 0;
    for (const t of ['accounts', 'clips']) n += Number(((await stateOf(`run/${t}`))?.['counts'] as { rows?: number } | undefined)?.rows ?? 0);
    return n;
  };
  const purgeProgress = async () => {
    const s = (await stateOf('purge')) as { tables?: Record<string, { purged: number; alreadyPurged: number }> } | undefined;
    return Object.values(s?.tables ?? {}).reduce((n, t) => n + t.purged + t.alreadyPurged, 0);
  };

  const targets = (total: number) => Array.from({ length: KILLS }, () => Math.floor(rand() * total * 1.05) - Math.floor(total * 0.05)).sort((a, b) => a - b);
  let kills = 0;
  let checks = 0;
  for (const target of targets(totalRows)) {
    if ((await killAt(killed, 'run', runProgress, target, rand)) === 'killed') kills++;
    await checkNothingLost(killed, originals, keys);
    checks++;
  }
  const runKills = kills;
  const finish = await cordon(killed.args('run'));
  assert.equal(finish.status, 0, finish.stderr);
  const v = await cordon(killed.args('verify'));
  assert.equal(v.status, 0, v.stderr);

  for (const target of targets(originals.size + ACCOUNTS / 12)) {
    if ((await killAt(killed, 'purge', purgeProgress, target, rand)) === 'killed') kills++;
    const c = await checkNothingLost(killed, originals, keys);
    assert.equal(c.inEnclave, originals.size, 'after verify, every in-scope account is in the enclave');
    checks++;
  }
  const purgeKills = kills - runKills;
  const done = await cordon(killed.args('purge'));
  assert.equal(done.status, 0, done.stderr);
  const end = await checkNothingLost(killed, originals, keys);
  assert.equal(end.purged, originals.size);

  // Compared without printing: the states hold protected values.
  assert.ok(
    isDeepStrictEqual(await finalState(killed, keys), await finalState(reference, keys)),
    'the killed-and-resumed migration ends where the uninterrupted one does',
  );
  console.log(
    `# migrate kill: SIGKILLs run ${runKills}, purge ${purgeKills} (of ${KILLS} each; the rest found the step already finished), invariant checks ${checks}, in-scope accounts ${originals.size}, lost 0`,
  );
  // How many kill points land while a step runs depends on the machine's speed: printed above, not asserted.
  assert.ok(runKills > 0 && purgeKills > 0, 'some kill points landed while the step was running');
});

test('purge: delete SIGKILLed at 10 random points and resumed: nothing lost, every verified row counted once, and the legacy tables end as an uninterrupted purge leaves them', {
  timeout: 900_000,
}, async () => {
  const dataDir = tempDir('cordon-kill-delete-');
  const mapping = join(dataDir, 'mapping.yaml');
  writeFileSync(mapping, readFileSync(MAPPING, 'utf8').replace('purge: "null"', 'purge: delete'));
  const reference = await environment('dref', dataDir, mapping);
  const killed = await environment('dkill', dataDir, mapping);
  for (const env of [reference, killed]) {
    for (const step of env === reference ? ['run', 'verify', 'purge'] : ['run', 'verify']) {
      const r = await cordon(env.args(step));
      assert.equal(r.status, 0, `${step}: ${r.stderr}`);
    }
  }
  const keys = openFileKeyService(join(dataDir, 'keys', 'master.key'));
  const originals = await originalsOf(killed);
  const rand = mulberry32(killSeed());
  const purgeProgress = async () => {
    const r = await q<{ s: string }>(killed.enclave, `SELECT state #>> '{}' AS s FROM ds__migrate_state WHERE key = 'legacy-app/purge'`).catch(() => []);
    const tables = r[0] ? (JSON.parse(r[0].s) as { tables?: Record<string, { purged: number; alreadyPurged: number }> }).tables : undefined;
    return Object.values(tables ?? {}).reduce((n, t) => n + t.purged + t.alreadyPurged, 0);
  };
  // Kill points spread over the purge's progress, each plus a random delay (some land between a batch's DELETE and its save).
  const targets = Array.from({ length: 10 }, () => Math.floor(rand() * (originals.size + ACCOUNTS / 12))).sort((a, b) => a - b);
  let kills = 0;
  for (const target of targets) {
    if ((await killAt(killed, 'purge', purgeProgress, target, rand)) === 'killed') kills++;
    const c = await checkNothingLost(killed, originals, keys);
    assert.equal(c.inEnclave, originals.size, 'every in-scope account is in the enclave');
  }
  const done = await new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) =>
    execFile(
      process.execPath,
      [CLI, ...killed.args('purge'), '--json'],
      { env: { ...process.env, CORDON_DIST: BUILD }, encoding: 'utf8' },
      (err, stdout, stderr) => resolve({ status: err ? (typeof err.code === 'number' ? err.code : null) : 0, stdout, stderr }),
    ),
  );
  assert.equal(done.status, 0, done.stderr);
  const r = JSON.parse(done.stdout) as { purged: number; alreadyPurged: number; verifiedLeft: number };
  assert.equal(r.verifiedLeft, 0, `every verified row counted as purged once (purged ${r.purged}, already ${r.alreadyPurged})`);
  const end = await checkNothingLost(killed, originals, keys);
  assert.equal(end.purged, originals.size);
  const rows = async (env: Env) => [
    await q<{ t: string }>(env.legacy, 'SELECT t::text AS t FROM accounts t ORDER BY account_no'),
    await q<{ t: string }>(env.legacy, 'SELECT t::text AS t FROM clips t ORDER BY clip_id'),
  ];
  assert.ok(isDeepStrictEqual(await rows(killed), await rows(reference)), 'the legacy tables end as an uninterrupted purge leaves them');
  console.log(`# migrate kill (purge: delete): SIGKILLs ${kills} of 10, in-scope accounts ${originals.size}, lost 0, verified rows left 0`);
});
