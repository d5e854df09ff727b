// Benchmark of migration, in one run on one real PostgreSQL server: rows/s moved into the enclave
// (encrypted under per-subject data keys) and verified (decrypted and compared by keyed row hash,
// statement logged), against a plain `INSERT … SELECT` copy of the same rows into a table of the same
// shape on the same server (no encryption, no checks), and against the same work in SQL (pgcrypto
// seals the in-scope rows' protected columns, then opens and compares them). Prints a table, then
// one JSON line.
//
//   npm run bench -- migrate [--rows N] [--batch N] [--threads N]

import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import postgres from 'postgres';
import { loadPolicy, type Policy } from '../src/policy/index.js';
import { openFileKeyService, openStore } from '../src/store/index.js';
import { generateSignerKey, openAccessLog } from '../src/log/index.js';
import { loadMapping, openLegacy, runMigration, verifyMigration, type MigrateContext } from '../src/migrate/index.js';
import { startPostgres } from '../test/helpers/postgres.js';
import { createDatabases, createLegacyFixture } from '../test/fixtures/migrate/legacy.js';
import { tempDir } from '../test/helpers/temp.js';

const { values: opts } = parseArgs({
  options: {
    rows: { type: 'string', default: '200000' },
    batch: { type: 'string', default: '5000' },
    threads: { type: 'string' },
  },
});
const ROWS = Number(opts.rows);
const BATCH = Number(opts.batch);
const THREADS = opts.threads === undefined ? undefined : Number(opts.threads);
const GOAL = 50_000;
const DEMO = fileURLToPath(new URL('../../policies/demo', import.meta.url));
const MAPPING = fileURLToPath(new URL('../../test/fixtures/migrate/mapping.yaml', import.meta.url));
const say = (s: string) => {
  if (process.stderr.isTTY) process.stderr.write(`${s}\n`);
};

const pg = await startPostgres({ database: 'bench_migrate' });
try {
  const [legacyUrl, enclaveUrl, globalUrl] = await createDatabases(pg.url, ['legacy', 'enclave', 'global']);
  say(`creating ${ROWS} legacy accounts (+${ROWS / 4} clips) …`);
  await createLegacyFixture(legacyUrl!, ROWS);
  const policy = (loadPolicy(DEMO) as { policy: Policy }).policy;
  const mapping = loadMapping(MAPPING, policy);
  const legacy = await openLegacy(legacyUrl!, mapping);
  const enclaveStore = await openStore('enclave_us', enclaveUrl!);
  const globalStore = await openStore('global', globalUrl!);
  const keys = openFileKeyService(join(tempDir('cordon-bench-mig-'), 'master.key'), { create: true });
  const log = await openAccessLog({ store: enclaveStore, signerKey: generateSignerKey('bench.cordon.invalid/access').skey });
  const ctx: MigrateContext = {
    policy,
    mapping,
    legacy,
    enclaveStore,
    globalStore,
    keys,
    log,
    statementKey: generateSignerKey('bench.cordon.invalid/access/statements').skey,
    batchSize: BATCH,
    threads: THREADS,
  };

  const legacyRows = ROWS + Math.floor(ROWS / 4);
  say('cordon migrate run + verify …');
  // CPU time of this process (all its threads) beside wall time: the steps are CPU-bound here, so
  // the two together say whether a gain came from less work or from more overlap with PostgreSQL.
  const c0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  const run = await runMigration(ctx);
  const t1 = process.hrtime.bigint();
  const c1 = process.cpuUsage();
  const verify = await verifyMigration(ctx);
  const t2 = process.hrtime.bigint();
  const c2 = process.cpuUsage();
  const cpuS = (a: NodeJS.CpuUsage, b: NodeJS.CpuUsage) => (b.user - a.user + b.system - a.system) / 1e6;
  const runCpuS = cpuS(c0, c1);
  const verifyCpuS = cpuS(c1, c2);
  if (verify.mismatches !== 0) throw new Error(`verify found ${verify.mismatches} mismatches`);
  const runS = Number(t1 - t0) / 1e9;
  const verifyS = Number(t2 - t1) / 1e9;
  const cordonRate = legacyRows / (runS + verifyS);

  say('baseline INSERT … SELECT …');
  const sql = postgres(legacyUrl!, { max: 1, onnotice: () => {} });
  await sql.unsafe(`CREATE TABLE accounts_copy (LIKE accounts INCLUDING ALL); CREATE TABLE clips_copy (LIKE clips INCLUDING ALL)`);
  const b0 = process.hrtime.bigint();
  await sql.unsafe(`INSERT INTO accounts_copy SELECT * FROM accounts`);
  await sql.unsafe(`INSERT INTO clips_copy SELECT * FROM clips`);
  const b1 = process.hrtime.bigint();
  const baseS = Number(b1 - b0) / 1e9;
  const baseRate = legacyRows / baseS;

  // The same work in SQL: the in-scope rows (US accounts and their clips) copied with every protected
  // column sealed by pgcrypto (AES-256-CBC under a random IV, then HMAC-SHA-256 over IV and
  // ciphertext: an encrypt-then-MAC AEAD), then every sealed column checked and opened and compared
  // with the source (the verify). Keys are fixed per run; cordon's are per subject.
  say('baseline INSERT … SELECT with pgcrypto (seal, then open and compare) …');
  await sql.unsafe(`CREATE EXTENSION IF NOT EXISTS pgcrypto`);
  await sql.unsafe(`
    CREATE FUNCTION bench_seal(t text, k bytea, m bytea) RETURNS bytea LANGUAGE sql VOLATILE AS $$
      SELECT CASE WHEN t IS NULL THEN NULL ELSE (SELECT c || hmac(c, m, 'sha256') FROM (SELECT iv || encrypt_iv(convert_to(t, 'UTF8'), k, iv, 'aes-cbc/pad:pkcs') AS c FROM (SELECT gen_random_bytes(16) AS iv) r) s) END $$;
    CREATE FUNCTION bench_open(b bytea, k bytea, m bytea) RETURNS text LANGUAGE sql IMMUTABLE AS $$
      SELECT CASE WHEN b IS NULL THEN NULL
        WHEN hmac(substr(b, 1, length(b) - 32), m, 'sha256') <> substr(b, length(b) - 31) THEN NULL
        ELSE convert_from(decrypt_iv(substr(b, 17, length(b) - 48), k, substr(b, 1, 16), 'aes-cbc/pad:pkcs'), 'UTF8') END $$;
    CREATE TABLE accounts_sealed (account_no bigint PRIMARY KEY, uid text, handle text, cc text, mobile bytea, mail bytea, dob bytea, last_ip bytea, device bytea, signup timestamptz);
    CREATE TABLE clips_sealed (clip_id bigint PRIMARY KEY, owner text, vis text, title bytea, draft bytea, views int)`);
  const [k, m] = [randomBytes(32), randomBytes(32)];
  const p0 = process.hrtime.bigint();
  await sql.unsafe(
    `INSERT INTO accounts_sealed SELECT account_no, uid, handle, cc, bench_seal(mobile, $1, $2), bench_seal(mail, $1, $2), bench_seal(dob::text, $1, $2),
       bench_seal(last_ip, $1, $2), bench_seal(device, $1, $2), signup FROM accounts WHERE cc = 'US'`,
    [k, m],
  );
  await sql.unsafe(
    `INSERT INTO clips_sealed SELECT c.clip_id, c.owner, c.vis, bench_seal(c.title, $1, $2), bench_seal(c.draft, $1, $2), c.views
       FROM clips c JOIN accounts a ON a.uid = c.owner WHERE a.cc = 'US'`,
    [k, m],
  );
  const [bad] = await sql.unsafe(
    `SELECT (SELECT count(*) FROM accounts a JOIN accounts_sealed s USING (account_no) WHERE
        bench_open(s.mobile, $1, $2) IS DISTINCT FROM a.mobile OR bench_open(s.mail, $1, $2) IS DISTINCT FROM a.mail
        OR bench_open(s.dob, $1, $2) IS DISTINCT FROM a.dob::text OR bench_open(s.last_ip, $1, $2) IS DISTINCT FROM a.last_ip
        OR bench_open(s.device, $1, $2) IS DISTINCT FROM a.device)
      + (SELECT count(*) FROM clips c JOIN clips_sealed s USING (clip_id) WHERE
        bench_open(s.title, $1, $2) IS DISTINCT FROM c.title OR bench_open(s.draft, $1, $2) IS DISTINCT FROM c.draft) AS n`,
    [k, m],
  );
  const p1 = process.hrtime.bigint();
  if (Number(bad!['n']) !== 0) throw new Error(`the pgcrypto baseline opened ${bad!['n']} rows to other values`);
  await sql.end({ timeout: 5 });
  const pgcryptoS = Number(p1 - p0) / 1e9;
  const pgcryptoRate = legacyRows / pgcryptoS;

  const rows: [string, string, string][] = [
    ['legacy rows read', String(legacyRows), `${run.totals.inScope} in scope`],
    ['cordon run (copy + encrypt)', `${runS.toFixed(2)} s`, `${Math.round(legacyRows / runS)} rows/s, ${runCpuS.toFixed(2)} s CPU in this process`],
    [
      'cordon verify (decrypt + compare + log)',
      `${verifyS.toFixed(2)} s`,
      `${Math.round(legacyRows / verifyS)} rows/s, ${verifyCpuS.toFixed(2)} s CPU in this process`,
    ],
    ['cordon moved, encrypted and verified', `${(runS + verifyS).toFixed(2)} s`, `${Math.round(cordonRate)} rows/s (goal ${GOAL})`],
    ['baseline INSERT … SELECT', `${baseS.toFixed(2)} s`, `${Math.round(baseRate)} rows/s`],
    ['ratio cordon / baseline', '', (cordonRate / baseRate).toFixed(3)],
    ['baseline pgcrypto seal + open + compare', `${pgcryptoS.toFixed(2)} s`, `${Math.round(pgcryptoRate)} rows/s (of all legacy rows, as above)`],
    ['ratio cordon / pgcrypto baseline', '', `${(cordonRate / pgcryptoRate).toFixed(3)} (goal >= 0.5)`],
  ];
  const w0 = Math.max(...rows.map((r) => r[0].length));
  const w1 = Math.max(...rows.map((r) => r[1].length));
  process.stdout.write(`${rows.map((r) => `${r[0].padEnd(w0)}  ${r[1].padStart(w1)}  ${r[2]}`).join('\n')}\n`);
  process.stdout.write(
    `${JSON.stringify({ bench: 'migrate', driver: 'postgres', rows: legacyRows, inScope: run.totals.inScope, batch: BATCH, runRowsPerS: Math.round(legacyRows / runS), verifyRowsPerS: Math.round(legacyRows / verifyS), runCpuS: Number(runCpuS.toFixed(2)), verifyCpuS: Number(verifyCpuS.toFixed(2)), rowsPerS: Math.round(cordonRate), baselineRowsPerS: Math.round(baseRate), ratio: Number((cordonRate / baseRate).toFixed(3)), pgcryptoRowsPerS: Math.round(pgcryptoRate), pgcryptoRatio: Number((cordonRate / pgcryptoRate).toFixed(3)), goal: GOAL, meetsGoal: cordonRate >= GOAL })}\n`,
  );
  await log.close();
  await legacy.close();
  await enclaveStore.close();
  await globalStore.close();
} finally {
  await pg.stop();
}
