// Exact matches of real enclave records against an enclave whose protected values are
// encrypted at rest: the fingerprints are made inside the enclave from decrypted values,
// and `cordon scan --match-enclave` finds copies of exactly the enclave's values in a file.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parsePhoneNumberFromString } from 'libphonenumber-js/max';
import { loadPolicy } from '../src/policy/index.js';
import { createCordonServer, createDemoIssuer } from '../src/server/index.js';
import { openFileKeyService, openStore, subjectHash } from '../src/store/index.js';
import { fingerprintEnclave, fingerprintHash, FINGERPRINT_KEY_NAME } from '../src/scan/index.js';
import { CLI, DEMO_POLICY } from './helpers/paths.js';
import { tempDir } from './helpers/temp.js';

const BUILD = fileURLToPath(new URL('../', import.meta.url));
const IN_US = '+12015550123';
const ALSO_US = '+12015550177';
const IN_EU = '+493012345678';
const NOWHERE = '+12015550188';

test("--match-enclave finds copies of the enclave's (encrypted) values, and only those", async () => {
  for (const n of [IN_US, ALSO_US, IN_EU, NOWHERE]) assert.ok(parsePhoneNumberFromString(n)?.isValid(), 'the test numbers are valid');
  const loaded = loadPolicy(DEMO_POLICY);
  assert.ok(loaded.ok);
  const policy = loaded.policy;
  const dir = tempDir('cordon-scan-enclave-');
  const dataDir = join(dir, 'data');
  const storeUrls = Object.fromEntries([...policy.deployment.stores.keys()].map((s) => [s, `pglite://${join(dir, 'stores', s)}`]));
  const issuer = await createDemoIssuer();
  const server = await createCordonServer({ policy, dataDir, tokens: { issuer: issuer.issuer, audience: issuer.audience, jwks: issuer.jwks }, storeUrls });
  const base = { username: 'x', bio: 'y', birthday: '1990-01-02', created_at: '2024-01-01T00:00:00Z' };
  await server.placement.write('users', 'us-a', { ...base, uid: 'us-a', country: 'US', phone_number: IN_US, email: 'a@example.com' }, 'upsert');
  await server.placement.write('users', 'us-b', { ...base, uid: 'us-b', country: 'US', phone_number: ALSO_US, email: 'b@example.com' }, 'upsert');
  await server.placement.write('users', 'eu-a', { ...base, uid: 'eu-a', country: 'DE', phone_number: IN_EU, email: 'c@example.org' }, 'upsert');
  await server.close();

  // Inside the enclave: the stored values are ciphertext, the fingerprints are of the clear values.
  const keys = openFileKeyService(join(dataDir, 'keys', 'master.key'));
  const us = await openStore('enclave_us', storeUrls['enclave_us']!);
  try {
    const dump: string[] = [];
    for await (const row of us.dump('ds_users')) dump.push(JSON.stringify(row));
    assert.equal(dump.length, 2);
    assert.ok(
      dump.every((r) => !r.includes('2015550') && r.includes('cordon:enc:v2:')),
      'only ciphertext at rest',
    );
    const releases: { dataset: string; subjects: string[] }[] = [];
    const progress: [number, string][] = [];
    const fp = await fingerprintEnclave(policy, 'us', us, keys, {
      onKeyRelease: async (subjects, dataset) => {
        releases.push({ dataset, subjects: [...subjects].sort() });
      },
      onProgress: (n, dataset) => progress.push([n, dataset]),
    });
    assert.deepEqual(
      progress.find(([, d]) => d === 'users'),
      [2, 'users'],
      'progress counts the records read',
    );
    assert.equal(progress.at(-1)![0], 2, 'two records in all');
    assert.deepEqual(releases, [{ dataset: 'users', subjects: ['users/us-a', 'users/us-b'] }], 'each data key used is released first, once');
    // A release that cannot be recorded stops fingerprinting before anything is decrypted.
    await assert.rejects(
      fingerprintEnclave(policy, 'us', us, keys, {
        onKeyRelease: async () => {
          throw new Error('the access log is unavailable');
        },
      }),
      /the access log is unavailable/,
    );
    const key = keys.key('tokenize', FINGERPRINT_KEY_NAME);
    const hashes = new Set(fp.entries.map((e) => e.hash));
    for (const n of [IN_US, ALSO_US]) assert.ok(hashes.has(fingerprintHash(key, 'user.contact.phone_number', n)), 'a US value is fingerprinted');
    for (const n of [IN_EU, NOWHERE]) assert.ok(!hashes.has(fingerprintHash(key, 'user.contact.phone_number', n)));
  } finally {
    await us.close();
  }

  const file = join(dir, 'export.txt');
  writeFileSync(file, [`call ${IN_US.replace('+1', '+1 ')} after 5`, `support line ${NOWHERE}`, `berlin office ${IN_EU}`, ''].join('\n'));
  const r = await new Promise<{ status: number | null; stdout: string; stderr: string }>((done) =>
    execFile(
      process.execPath,
      [
        CLI,
        'scan',
        file,
        '--policy',
        DEMO_POLICY,
        '--match-enclave',
        'us',
        '--data-dir',
        dataDir,
        '--store',
        `enclave_us=${storeUrls['enclave_us']}`,
        '--store',
        `global=${storeUrls['global']}`,
        '--json',
      ],
      { env: { ...process.env, CORDON_DIST: BUILD }, encoding: 'utf8' },
      (err, stdout, stderr) => done({ status: err ? (typeof err.code === 'number' ? err.code : null) : 0, stdout, stderr }),
    ),
  );
  assert.ok(r.status === 0 || r.status === 1, r.stderr);
  const out = JSON.parse(r.stdout) as { findings: { detector: string; enclave?: string; where: { line: number } }[] };
  assert.deepEqual(
    out.findings.filter((f) => f.detector === 'enclave_match').map((f) => `${f.where.line} ${f.enclave}`),
    ['1 us'],
  );
  assert.equal(out.findings.filter((f) => f.detector === 'phone').length, 2, 'the other two are phone numbers, not enclave copies');
  for (const n of [IN_US, NOWHERE, IN_EU, '2015550123']) assert.ok(!r.stdout.includes(n) && !r.stderr.includes(n), 'no clear value in the output');

  // The scan's key releases are in the access log, before anything else it did: one record per
  // subject, naming it by keyed hash only, with the scan's reason.
  const logStore = await openStore('enclave_us', storeUrls['enclave_us']!);
  try {
    const records = (await logStore.readEntries('access', -1, 10_000, { payload: true })).map(
      (e) => (JSON.parse(e.payload!) as { r: { type?: string; reason?: string; dataset?: string; subject?: string } }).r,
    );
    const scanReleases = records.filter((rec) => rec.type === 'key.release' && rec.reason?.startsWith('cordon scan --match-enclave'));
    assert.deepEqual(
      scanReleases.map((rec) => `${rec.dataset} ${rec.subject}`).sort(),
      ['users/us-a', 'users/us-b'].map((sub) => `users ${subjectHash(keys, 'users', sub)}`).sort(),
    );
    assert.ok(!JSON.stringify(records).includes('us-a'), 'subjects appear as keyed hashes only');
  } finally {
    await logStore.close();
  }

  // Without the log's key (a data dir that is not cordon up's) nothing is opened or decrypted.
  const noLog = join(dir, 'no-log');
  mkdirSync(join(noLog, 'keys'), { recursive: true });
  copyFileSync(join(dataDir, 'keys', 'master.key'), join(noLog, 'keys', 'master.key'));
  const refused = await new Promise<{ status: number | null; stderr: string }>((done) =>
    execFile(
      process.execPath,
      [
        CLI,
        'scan',
        file,
        '--policy',
        DEMO_POLICY,
        '--match-enclave',
        'us',
        '--data-dir',
        noLog,
        '--store',
        `enclave_us=${storeUrls['enclave_us']}`,
        '--store',
        `global=${storeUrls['global']}`,
      ],
      { env: { ...process.env, CORDON_DIST: BUILD }, encoding: 'utf8' },
      (err, _stdout, stderr) => done({ status: err ? (typeof err.code === 'number' ? err.code : null) : 0, stderr }),
    ),
  );
  assert.equal(refused.status, 2);
  assert.match(refused.stderr, /keys\/log\.key does not exist \(--data-dir must be the data dir of cordon up\)/);
});
