// Each exit code means one thing (README "Exit codes"): 0 success, 1 a finding, 2 bad usage or
// input, 3 could not reach or read what it needed. The built CLI is driven to every code that
// applies for `log verify`, `report`, `policy`, `scan` and `migrate`, against one running
// `cordon up --demo`, a proxy in this process that tampers with what it serves or answers 503, a
// closed port, and a throwaway PostgreSQL holding a small legacy database. Every failure is one
// line on stderr at most, never a stack trace.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createServer as createTcpServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import postgres from 'postgres';
import { cordonAsync, type CliResult } from './helpers/cli.js';
import { startUp, type RunningUp } from './helpers/up.js';
import { startPostgres, type PostgresServer } from './helpers/postgres.js';
import { DEMO_POLICY, FIXTURES } from './helpers/paths.js';
import { tempDir } from './helpers/temp.js';
import { createDatabases, createLegacyFixture, MAPPING_FILE } from './fixtures/migrate/legacy.js';
import { generateSignerKey } from '../src/log/index.js';

/** How the proxy in front of the server misbehaves. */
type Mode = 'pass' | 'tamper' | 'unavailable';

let up: RunningUp;
let pg: PostgresServer;
let proxy: Server;
let proxyUrl: string;
let mode: Mode = 'pass';
let closedUrl: string;
let dataDir: string;
let vkeyFile: string;

/** A port nothing listens on (the OS gave it, and it was closed again). */
function closedPort(): Promise<number> {
  return new Promise((done) => {
    const s = createTcpServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => done(port));
    });
  });
}

/**
 * Forwards GETs to the running server. `tamper` flips the last byte of every entry bundle (the
 * checkpoint still verifies, the entries no longer give its root) and changes who a report was made
 * for (its signature no longer covers it); `unavailable` answers 503 to everything.
 */
function startProxy(target: string): Promise<Server> {
  const server = createServer((req, res) => {
    void (async () => {
      if (mode === 'unavailable') {
        res.writeHead(503, { 'content-type': 'application/json' }).end(JSON.stringify({ code: 'log.unavailable', detail: 'the log cannot record' }));
        return;
      }
      const headers: Record<string, string> = {};
      for (const h of ['authorization', 'x-forwarded-for']) if (typeof req.headers[h] === 'string') headers[h] = req.headers[h];
      const r = await fetch(`${target}${req.url ?? '/'}`, { headers });
      let body = Buffer.from(await r.arrayBuffer());
      if (mode === 'tamper' && r.ok && req.url?.startsWith('/log/tile/entries/')) {
        body = Buffer.from(body);
        body[body.length - 1]! ^= 1;
      }
      if (mode === 'tamper' && r.ok && req.url?.startsWith('/v1/report')) {
        const signed = JSON.parse(body.toString('utf8')) as { report: { generatedFor: string } };
        signed.report.generatedFor = 'someone-else';
        body = Buffer.from(JSON.stringify(signed));
      }
      res.writeHead(r.status, { 'content-type': r.headers.get('content-type') ?? 'application/octet-stream' }).end(body);
    })().catch((err: unknown) => res.writeHead(502).end(String(err)));
  });
  return new Promise((done) => server.listen(0, '127.0.0.1', () => done(server)));
}

before(async () => {
  dataDir = join(tempDir('cordon-exit-'), 'data');
  [up, pg] = await Promise.all([startUp(dataDir), startPostgres({ database: 'exit_codes' })]);
  vkeyFile = join(dataDir, 'demo', 'log.vkey');
  proxy = await startProxy(up.base);
  proxyUrl = `http://127.0.0.1:${(proxy.address() as { port: number }).port}`;
  closedUrl = `http://127.0.0.1:${await closedPort()}`;
});

after(async () => {
  await new Promise((done) => proxy?.close(done));
  up?.child.kill('SIGINT');
  await up?.exited;
  await pg?.stop();
});

/** The exit status is `code`, and stderr is at most one line, not a stack trace nor an internal error. */
function exits(r: CliResult, code: number, note: string, says?: RegExp): void {
  assert.equal(r.status, code, `${note}: exit ${String(r.status)}\n${r.stdout}\n${r.stderr}`);
  const lines = r.stderr.split('\n').filter((l) => l.trim() !== '');
  assert.ok(lines.length <= 1, `${note}: one line on stderr at most, got\n${r.stderr}`);
  assert.doesNotMatch(r.stderr, /^\s+at /m, `${note}: no stack trace`);
  assert.doesNotMatch(r.stderr, /internal error/, note);
  if (says) assert.match(r.stderr, says, note);
}

const otherLogKey = generateSignerKey('demo.cordon.invalid/access').vkey;

// The cases of one test run side by side where they do not depend on each other (each CLI start
// costs a second or two of CPU); the proxy's mode is set for a whole batch.

test('log verify: 0 verified, 1 tampered or signed by another key, 2 bad flags or key, 3 closed port or 503', async () => {
  const [good, wrongKey, badFlag, malformed, noFile, closed] = await Promise.all([
    cordonAsync(['log', 'verify', '--url', up.base, '--vkey', vkeyFile]),
    cordonAsync(['log', 'verify', '--url', up.base, '--vkey', otherLogKey]),
    cordonAsync(['log', 'verify', '--url', up.base, '--vkey', vkeyFile, '--min-cosignatures', 'x']),
    cordonAsync(['log', 'verify', '--url', up.base, '--vkey', 'x+01234567+AAAA']),
    cordonAsync(['log', 'verify', '--url', up.base, '--vkey', join(dataDir, 'no-such.vkey')]),
    cordonAsync(['log', 'verify', '--url', closedUrl, '--vkey', vkeyFile]),
  ]);
  exits(good, 0, 'a good log');
  exits(wrongKey, 1, 'another key of the same name');
  assert.match(wrongKey.stdout, /FAILED \(signature\)/);
  exits(badFlag, 2, 'a bad flag value', /--min-cosignatures must be a whole number/);
  exits(malformed, 2, 'a malformed key', /--vkey: .*unsupported key type/);
  exits(noFile, 3, 'a key file that is not there', /cannot read --vkey .*no-such\.vkey: ENOENT/);
  exits(closed, 3, 'a closed port', new RegExp(`cannot verify ${closedUrl}: could not fetch checkpoint: ECONNREFUSED`));
  mode = 'tamper';
  const tampered = await cordonAsync(['log', 'verify', '--url', proxyUrl, '--vkey', vkeyFile]);
  exits(tampered, 1, 'a tampered entry bundle');
  assert.match(tampered.stdout, /FAILED \(root\)/);
  mode = 'unavailable';
  exits(await cordonAsync(['log', 'verify', '--url', proxyUrl, '--vkey', vkeyFile]), 3, 'a server answering 503', /checkpoint: HTTP 503/);
  mode = 'pass';
});

test('report: 0 verified against a key file, 1 tampered or another key, 2 bad --format, 3 closed port or 503', async () => {
  const as = ['--as', 'monitor', '--data-dir', dataDir];
  const [good, wrongKey, badFormat, closed] = await Promise.all([
    cordonAsync(['report', '--format', 'json', '--vkey', vkeyFile, '--url', up.base, ...as]),
    cordonAsync(['report', '--format', 'json', '--vkey', otherLogKey, '--url', up.base, ...as]),
    cordonAsync(['report', '--format', 'pdf', '--url', up.base, ...as]),
    cordonAsync(['report', '--format', 'json', '--url', closedUrl, ...as]),
  ]);
  exits(good, 0, 'a report checked against the key file log verify takes');
  assert.match((JSON.parse(good.stdout) as { signature: string }).signature, /^cordon oversight report v2\n/);
  exits(wrongKey, 1, 'another key', /log\.untrusted_note/);
  exits(badFormat, 2, 'a bad --format', /--format must be json or html/);
  exits(closed, 3, 'a closed port', new RegExp(`cannot reach ${closedUrl}/v1/report: ECONNREFUSED`));
  mode = 'tamper';
  const tampered = await cordonAsync(['report', '--format', 'json', '--vkey', vkeyFile, '--url', proxyUrl, ...as]);
  exits(tampered, 1, 'a report changed after signing', /the report does not verify against --vkey: the signature does not cover this report/);
  assert.equal(tampered.stdout, '', 'a report that does not verify is not printed');
  // --verify: a saved report against a log whose entries were changed in transit is 1; no log to
  // read is 3; bad usage 2.
  const saved = join(dataDir, 'exit-report.json');
  writeFileSync(saved, good.stdout);
  const verifyAt = (url: string) => cordonAsync(['report', '--verify', saved, '--vkey', vkeyFile, '--url', url, ...as]);
  exits(await verifyAt(up.base), 0, 'a saved report the log backs');
  const changedLog = await verifyAt(proxyUrl);
  exits(changedLog, 1, 'a log changed in transit');
  assert.match(changedLog.stdout, /^report NOT verified: 1 problem\n {2}the log does not verify: root: /);
  exits(await verifyAt(closedUrl), 3, 'a closed port', new RegExp(`cannot verify the report against ${closedUrl}: .*ECONNREFUSED`));
  exits(
    await cordonAsync(['report', '--verify', saved, '--from', '2020-01-01', '--vkey', vkeyFile, '--url', up.base, ...as]),
    2,
    '--from with a file',
    /leave out --from and --to/,
  );
  mode = 'unavailable';
  exits(await cordonAsync(['report', '--url', proxyUrl, ...as]), 3, 'a server answering 503', /answered HTTP 503/);
  exits(await verifyAt(proxyUrl), 3, 'a log answering 503', /cannot verify the report against .*503/);
  mode = 'pass';
});

test('policy: 0 valid (warnings included), 1 diff --exit-code with changes, 2 invalid, 3 missing directory', async () => {
  const bad = tempDir('cordon-exit-policy-');
  cpSync(DEMO_POLICY, bad, { recursive: true });
  const users = join(bad, 'catalog/users.yaml');
  writeFileSync(users, readFileSync(users, 'utf8').replace('phone_number: user.contact.phone_number', 'phone_number: user.contact.phon'));
  const [valid, diff, invalid, missing] = await Promise.all([
    cordonAsync(['policy', 'check', DEMO_POLICY]),
    cordonAsync(['policy', 'diff', DEMO_POLICY, join(FIXTURES, 'policies/demo-uids-protected'), '--exit-code']),
    cordonAsync(['policy', 'check', bad]),
    cordonAsync(['policy', 'check', join(bad, 'nope')]),
  ]);
  exits(valid, 0, 'the demo policy, which has a warning');
  assert.match(valid.stdout, /policy\.standing_access/);
  exits(diff, 1, 'a diff with changes');
  exits(invalid, 2, 'an invalid policy');
  assert.match(invalid.stdout, /policy\.unknown_category/);
  exits(missing, 3, 'a missing directory', /cannot read policy directory .*nope: ENOENT/);
});

test('scan: 0 clean, 1 findings, 2 bad flag, 3 missing path or unreachable store', async () => {
  const dir = tempDir('cordon-exit-scan-');
  writeFileSync(join(dir, 'clean.txt'), 'nothing protected here, only words\n');
  const closedPg = `postgres://cordon:secret@127.0.0.1:${new URL(closedUrl).port}/db`;
  const [clean, findings, badFlag, missing, store] = await Promise.all([
    cordonAsync(['scan', join(dir, 'clean.txt')]),
    cordonAsync(['scan', join(FIXTURES, 'scan/folder'), '--policy', DEMO_POLICY, '--place', 'CN']),
    cordonAsync(['scan', join(dir, 'clean.txt'), '--sample', '0']),
    cordonAsync(['scan', join(dir, 'gone.csv')]),
    cordonAsync(['scan', closedPg]),
  ]);
  exits(clean, 0, 'a clean file');
  exits(findings, 1, 'violations');
  exits(badFlag, 2, 'a bad flag value', /--sample must be a positive integer/);
  exits(missing, 3, 'a missing path', /scan incomplete: scan\.unreadable: .*gone\.csv: cannot read: ENOENT/);
  exits(store, 3, 'a store nobody answers for', /cannot reach store postgres:\/\/127\.0\.0\.1:\d+\/db: ECONNREFUSED/);
  assert.doesNotMatch(store.stderr, /secret/, 'no password printed');
});

test('migrate: 0 plan, 1 purge refused without verify, 2 bad flags or purge/shred without --yes off a terminal (nothing changed), 3 legacy database unreachable', async () => {
  const [legacy, enclave, global] = await createDatabases(pg.url, ['legacy_x', 'enclave_x', 'global_x']);
  await createLegacyFixture(legacy!, 200);
  const mapping = fileURLToPath(MAPPING_FILE);
  const migrateDir = tempDir('cordon-exit-migrate-');
  const args = (step: string, from = legacy!) => [
    'migrate',
    step,
    '--policy',
    DEMO_POLICY,
    '--data-dir',
    migrateDir,
    '--store',
    `enclave_us=${enclave!}`,
    '--store',
    `global=${global!}`,
    '--from',
    from,
    '--map',
    mapping,
  ];
  const q = async (url: string, text: string): Promise<Record<string, unknown>[]> => {
    const sql = postgres(url, { max: 1, onnotice: () => {} });
    try {
      return (await sql.unsafe(text)) as unknown as Record<string, unknown>[];
    } finally {
      await sql.end({ timeout: 5 });
    }
  };
  const legacyRows = () => q(legacy!, 'SELECT t::text AS t FROM accounts t ORDER BY account_no');
  const tablesOf = async (url: string) => (await q(url, `SELECT count(*)::int AS n FROM information_schema.tables WHERE table_schema = 'public'`))[0]!['n'];
  const before = await legacyRows();

  // Destroying without consent, off a terminal: exit 2 before anything is opened.
  const [purge, shred] = await Promise.all([
    cordonAsync(args('purge')),
    cordonAsync([
      'migrate',
      'shred',
      '--policy',
      DEMO_POLICY,
      '--data-dir',
      migrateDir,
      '--store',
      `enclave_us=${enclave!}`,
      '--store',
      `global=${global!}`,
      '--enclave',
      'us',
      '--kek-generation',
      '1',
    ]),
  ]);
  exits(purge, 2, 'purge without --yes', /migrate purge .*postgres:\/\/127\.0\.0\.1:\d+\/legacy_x: pass --yes to confirm; nothing was changed/);
  exits(shred, 2, 'shred without --yes', /migrate shred destroys KEK generation 1 of enclave us.*: pass --yes to confirm; nothing was changed/);
  assert.deepEqual(await legacyRows(), before, 'the legacy rows are as they were');
  assert.equal(await tablesOf(enclave!), 0, 'no store was written (the access log lives there: no entry either)');
  assert.equal(await tablesOf(global!), 0);

  const plan = await cordonAsync([...args('plan'), '--json']);
  exits(plan, 0, 'plan');
  assert.ok((JSON.parse(plan.stdout) as { tables: unknown[] }).tables.length > 0);
  exits(await cordonAsync(args('run')), 0, 'run');
  const copied = await legacyRows();
  exits(await cordonAsync([...args('purge'), '--yes']), 1, 'purge without a verify', /migrate\.not_verified/);
  assert.deepEqual(await legacyRows(), copied, 'a refused purge changes nothing');
  const [badBatch, noMap, unreachable] = await Promise.all([
    cordonAsync([...args('run'), '--batch', '0']),
    cordonAsync(['migrate', 'plan', '--policy', DEMO_POLICY, '--from', legacy!, '--map', join(migrateDir, 'none.yaml')]),
    cordonAsync(args('plan', `postgres://cordon:secret@127.0.0.1:${new URL(closedUrl).port}/legacy`)),
  ]);
  exits(badBatch, 2, 'a bad --batch', /--batch must be an integer/);
  exits(noMap, 3, 'a missing mapping file', /cannot read --map .*none\.yaml: ENOENT/);
  exits(unreachable, 3, 'the legacy database unreachable', /migrate\.legacy_unavailable: the legacy database cannot be reached: .*ECONNREFUSED/);
  assert.doesNotMatch(unreachable.stderr, /secret/, 'no password printed');
});
