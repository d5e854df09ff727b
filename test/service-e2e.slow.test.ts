// cordon as a service an operator trusts with its state, through the real CLI:
// - two `cordon up` side by side on their own data dirs; a second owner of a data dir (a server or a
//   migration) is refused with the holder's pid, having written nothing;
// - SIGTERM under load: every response that carried data has its entry in the log;
// - the operational log (JSON lines) of a demo run holds no protected value it served;
// - bad state: a data dir that is a file or cannot be made, a store path that leaves the data dir,
//   a lock left by a dead process (taken over, with a message), a busy port (before anything opens).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { startUp, type RunningUp } from './helpers/up.js';
import { cordonAsync } from './helpers/cli.js';
import { DEMO_POLICY, ROOT } from './helpers/paths.js';
import { tempDir } from './helpers/temp.js';
import { startPostgres, type PostgresServer } from './helpers/postgres.js';
import { createDatabases, createLegacyFixture, MAPPING_FILE } from './fixtures/migrate/legacy.js';
import { DEMO_FIXED_USERS } from '../src/server/index.js';
import { fileURLToPath } from 'node:url';

const hash = (v: string) => `sha256:${createHash('sha256').update(v).digest('hex').slice(0, 12)}`;
/** Where each persona asks from (the demo trusts loopback as a proxy). */
const FROM: Record<string, string> = {
  'austin-engineer': '10.20.0.5',
  'beijing-engineer': '10.80.0.5',
  'us-analyst': '10.20.0.5',
  monitor: '10.20.0.5',
  'app-backend': '10.30.0.5',
};

function ask(up: RunningUp, persona: string, path: string, init: RequestInit = {}): Promise<Response> {
  return fetch(`${up.base}${path}`, {
    ...init,
    headers: {
      authorization: `Bearer ${up.tokens()[persona]}`,
      'x-forwarded-for': FROM[persona] ?? '10.20.0.5',
      ...(init.body ? { 'content-type': 'application/json' } : {}),
      ...(init.headers as Record<string, string> | undefined),
    },
  });
}

/**
 * The files of a data dir that only their owner writes (keys, demo files, store locks: content and
 * mtime), and its list of entries, to show that a refused process changed nothing. The store
 * directories themselves are left out: the running server writes in them.
 */
function snapshot(dir: string): string {
  const out: string[] = [`entries: ${readdirSync(dir).sort().join(' ')}`, `stores: ${readdirSync(join(dir, 'stores')).sort().join(' ')}`];
  for (const sub of ['keys', 'demo', 'stores']) {
    for (const name of readdirSync(join(dir, sub)).sort()) {
      const p = join(dir, sub, name);
      const s = statSync(p);
      if (s.isDirectory()) continue;
      out.push(`${sub}/${name} ${s.mtimeMs} ${createHash('sha256').update(readFileSync(p)).digest('hex')}`);
    }
  }
  return out.join('\n');
}

/** The log's size as the server holds it now (its tree, which takes in what other processes append within a second), not its last published checkpoint. */
const logSize = async (up: RunningUp) => ((await (await fetch(`${up.base}/readyz`)).json()) as { log: { size: number } }).log.size;

const lockOf = (dataDir: string, store: string) =>
  JSON.parse(readFileSync(join(dataDir, 'stores', `${store}.lock`), 'utf8')) as { pid: number; host: string; command: string };

let pg: PostgresServer;
before(async () => {
  pg = await startPostgres({ database: 'service_main' });
});
after(async () => {
  await pg?.stop();
});

test('two servers on their own data dirs; a migration or a second server on a running one is refused with its pid and writes nothing', async () => {
  const a = tempDir('cordon-svc-a-');
  const b = tempDir('cordon-svc-b-');
  const upA = await startUp(a);
  const upB = await startUp(b);
  try {
    // Each holds the locks of its own stores, under its own data dir.
    for (const s of ['enclave_us', 'enclave_eu', 'global']) {
      assert.equal(lockOf(a, s).pid, upA.child.pid, `A holds ${s}`);
      assert.equal(lockOf(b, s).pid, upB.child.pid, `B holds ${s}`);
      assert.equal(lockOf(a, s).host, hostname());
    }
    assert.match(upA.output().out, new RegExp(`store +enclave_us: pglite://${a.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/stores/enclave_us`));
    // Both serve; a read on A is logged in A's log only.
    const sizeB = await logSize(upB);
    for (const up of [upA, upB]) assert.equal((await fetch(`${up.base}/readyz`)).status, 200);
    const r = await ask(upA, 'austin-engineer', '/v1/data/users/demo-us-1');
    assert.equal(r.status, 200);
    const index = Number(r.headers.get('x-cordon-log-index'));
    assert.ok(index > 0);
    const recA = await ask(upA, 'monitor', `/v1/log/records/${index}`);
    assert.equal(recA.status, 200);
    const rec = ((await recA.json()) as { record: { principal: string; dataset: string; outcome: string } }).record;
    assert.deepEqual([rec.principal, rec.dataset, rec.outcome], ['austin-engineer', 'users', 'released']);
    assert.equal(await logSize(upB), sizeB, "B's log did not grow from A's read");

    // A migration pointed at A while it runs: refused with A's pid, before anything is written.
    const [legacy] = await createDatabases(pg.url, ['svc_legacy']);
    await createLegacyFixture(legacy!, 50);
    const before = snapshot(a);
    const sizeA = await logSize(upA);
    const legacyTables = await pgTables(legacy!);
    const m = await cordonAsync(['migrate', 'run', '--policy', DEMO_POLICY, '--data-dir', a, '--from', legacy!, '--map', fileURLToPath(MAPPING_FILE)]);
    assert.equal(m.status, 3, m.stderr);
    assert.match(
      m.stderr,
      new RegExp(
        `^cordon: store enclave_us \\(${a.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/stores/enclave_us\\) is in use by process ${upA.child.pid} \\(cordon up `,
      ),
    );
    assert.equal(m.stderr.trim().split('\n').length, 1, 'one line');
    assert.doesNotMatch(m.stderr, /\n\s+at /);
    assert.equal(snapshot(a), before, "nothing in A's data dir changed");
    assert.deepEqual(await pgTables(legacy!), legacyTables, 'nothing made in the legacy database');
    await new Promise((r) => setTimeout(r, 1500)); // the server takes in entries other processes append within a second
    assert.equal(await logSize(upA), sizeA, "nothing appended to A's log");
    // A scan that would open A's enclave, and a second server on A: refused the same way.
    const s = await cordonAsync(['scan', join(ROOT, 'README.md'), '--policy', DEMO_POLICY, '--match-enclave', 'us', '--data-dir', a]);
    assert.equal(s.status, 3, s.stderr);
    assert.match(s.stderr, new RegExp(`in use by process ${upA.child.pid}`));
    const second = await cordonAsync(['up', '--demo', '--demo-users', '0', '--port', '0', '--data-dir', a]);
    assert.equal(second.status, 3);
    assert.match(second.stderr, new RegExp(`^cordon: store \\w+ \\(.*\\) is in use by process ${upA.child.pid} `));
    assert.equal(snapshot(a), before, "nothing in A's data dir changed");
    // A still answers, from its own files.
    assert.equal((await ask(upA, 'austin-engineer', '/v1/data/users/demo-us-1')).status, 200);
    console.log(
      `# data dirs: A pid ${upA.child.pid}, B pid ${upB.child.pid}; migrate, scan and a second up on A refused with exit 3 naming pid ${upA.child.pid}; nothing written`,
    );
  } finally {
    upA.child.kill('SIGTERM');
    upB.child.kill('SIGTERM');
    assert.equal(await upA.exited, 0);
    assert.equal(await upB.exited, 0);
  }
  // Stopped: the locks are gone, and the migration may take the stores.
  for (const s of ['enclave_us', 'enclave_eu', 'global']) assert.equal(existsSync(join(a, 'stores', `${s}.lock`)), false);
});

async function pgTables(url: string): Promise<string[]> {
  const { default: postgres } = await import('postgres');
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    return (await sql`SELECT table_name FROM information_schema.tables WHERE table_schema NOT IN ('pg_catalog','information_schema') ORDER BY 1`).map((r) =>
      String(r['table_name']),
    );
  } finally {
    await sql.end({ timeout: 5 });
  }
}

test('one demo run: the operational log holds request lines and no protected value; SIGTERM under load finishes the requests in flight, every response that carried data is in the log, the locks are released', async () => {
  const dir = tempDir('cordon-svc-term-');
  const up = await startUp(dir, ['--demo', '--demo-users', '0', '--log-level', 'debug']);
  const served = new Set<string>();
  // Protected values the server sent in clear (austin-engineer's grant), and the fixed users' protected values.
  const r = await ask(up, 'austin-engineer', '/v1/data/users/demo-us-1', { headers: { 'x-request-id': 'trace-42' } });
  assert.equal(r.status, 200);
  assert.equal(r.headers.get('x-request-id'), 'trace-42');
  const body = (await r.json()) as { fields: Record<string, string> };
  for (const f of ['phone_number', 'email', 'birthday', 'ip_address']) if (typeof body.fields[f] === 'string') served.add(body.fields[f]!);
  assert.ok(served.has(DEMO_FIXED_USERS[0]!['phone_number']!), 'the grant released the phone number in clear');
  for (const u of DEMO_FIXED_USERS)
    for (const f of ['phone_number', 'email', 'device_id', 'ip_address', 'birthday']) if (typeof u[f] === 'string') served.add(u[f]);
  // Requests that carry protected values in paths, queries, bodies and errors.
  const phone = DEMO_FIXED_USERS[0]!['phone_number']!;
  const probes = [
    await ask(up, 'beijing-engineer', '/v1/data/users/demo-us-1'),
    await ask(up, 'austin-engineer', `/v1/data/users/${encodeURIComponent(phone)}`),
    await ask(up, 'austin-engineer', `/v1/data/users?limit=5&after=${encodeURIComponent(phone)}`),
    await ask(up, 'us-analyst', '/v1/data/users/demo-us-1', { method: 'PATCH', body: JSON.stringify({ phone_number: `${phone}9` }) }),
    await ask(up, 'austin-engineer', '/v1/data/users/demo-us-1', { method: 'PATCH', body: JSON.stringify({ country: 12 }) }),
    await ask(up, 'austin-engineer', `/v1/data/users/demo-us-1?x=${encodeURIComponent(phone)}`, { method: 'PATCH', body: `{"email": "${phone}` }),
    await ask(up, 'austin-engineer', `/nowhere/${encodeURIComponent(phone)}`),
  ];
  assert.ok(
    probes.every((p) => p.status >= 400),
    `refused: ${probes.map((p) => p.status).join(' ')}`,
  );

  // Load from personas that get data, then the signal while requests are in flight.
  const answered: { persona: string; status: number; index: number | undefined }[] = [];
  let refused = 0;
  let stop = false;
  const worker = async (persona: string) => {
    while (!stop) {
      try {
        const res = await ask(up, persona, '/v1/data/users/demo-us-1');
        const h = res.headers.get('x-cordon-log-index');
        await res.arrayBuffer();
        answered.push({ persona, status: res.status, index: h === null ? undefined : Number(h) });
      } catch {
        refused++;
        if (refused > 50) return;
        await new Promise((w) => setTimeout(w, 5));
      }
    }
  };
  const workers = ['austin-engineer', 'austin-engineer', 'austin-engineer', 'austin-engineer'].map(worker);
  while (answered.length < 100) await new Promise((w) => setTimeout(w, 20));
  const atSignal = answered.length;
  up.child.kill('SIGTERM');
  const code = await up.exited;
  stop = true;
  await Promise.all(workers);
  assert.equal(code, 0, up.output().err.slice(-2000));
  assert.match(up.output().out, /\nstopping\nstopped: log size \d+/);
  for (const s of ['enclave_us', 'enclave_eu', 'global']) assert.equal(existsSync(join(dir, 'stores', `${s}.lock`)), false, `${s} unlocked`);
  const withData = answered.filter((a) => a.status === 200);
  const closing = answered.filter((a) => a.status === 503).length;
  assert.deepEqual(
    [...new Set(answered.map((a) => a.status))].filter((st) => st !== 200 && st !== 503),
    [],
    'only data, or 503 while closing',
  );
  assert.ok(withData.length >= atSignal, 'the load was answered');
  assert.ok(
    withData.every((a) => a.index !== undefined),
    'every 200 names its log entry',
  );

  // The operational log: JSON lines, a line per request, nothing protected.
  const lines = up
    .output()
    .err.split('\n')
    .filter((l) => l.startsWith('{'));
  const parsed = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  const requests = parsed.filter((p) => p['msg'] === 'request');
  assert.ok(requests.length >= withData.length + probes.length + 1, `a line per request (${requests.length})`);
  const first = requests.find((p) => p['reqId'] === 'trace-42');
  assert.ok(first, 'the request id given is kept');
  assert.deepEqual(
    [first['principal'], first['method'], first['route'], first['status'], typeof first['ms'], first['logIndex']],
    ['austin-engineer', 'GET', '/v1/data/:dataset/:key', 200, 'number', Number(r.headers.get('x-cordon-log-index'))],
  );
  assert.ok(
    requests.some((p) => p['method'] === 'PATCH' && p['status'] === 404 && p['principal'] === 'us-analyst'),
    'refusals are logged',
  );
  assert.ok(parsed.some((p) => p['msg'] === 'stopping: draining requests, flushing the access log'));
  const text = up.output().err + up.output().out;
  // Generalized values (a birth year, a /24) are not the protected value; short strings would match ids by chance.
  const secrets = [...served].filter((x) => x.length >= 8);
  for (const v of secrets) assert.ok(!text.includes(v), `the operational log holds a protected value (${hash(v)})`);
  console.log(`# operational log: ${lines.length} JSON lines, ${requests.length} requests, none of ${secrets.length} protected values in it`);

  // Reopened on the same data dir: the log verifies, and every entry a response named is there, a release to that persona.
  const again = await startUp(dir);
  try {
    const verify = await cordonAsync(['log', 'verify', '--url', again.base, '--vkey', join(dir, 'demo', 'log.vkey'), '--json']);
    assert.equal(verify.status, 0, verify.stdout + verify.stderr);
    const size = (JSON.parse(verify.stdout) as { size: number }).size;
    const records = new Map<number, { principal: string; outcome: string; dataset: string }>();
    for (let after = -1; ; ) {
      const page = (await (await ask(again, 'monitor', `/v1/log/records?after=${after}&limit=1000`)).json()) as {
        records: { index: number; record: { principal: string; outcome: string; dataset: string } }[];
        next: number | null;
      };
      for (const rec of page.records) records.set(rec.index, rec.record);
      if (page.next === null) break;
      after = page.next;
    }
    for (const a of withData) {
      const rec = records.get(a.index!);
      assert.ok(rec, `entry ${a.index} of a 200 is in the log (size ${size})`);
      assert.deepEqual([rec.principal, rec.dataset, rec.outcome], [a.persona, 'users', 'released'], `entry ${a.index}`);
    }
    console.log(
      `# sigterm: ${answered.length} answers (${atSignal} before the signal), ${withData.length} with data, all ${withData.length} in the log (size ${size}, verified); ${closing} answered 503 while closing, ${refused} connections refused after`,
    );
  } finally {
    again.child.kill('SIGTERM');
    assert.equal(await again.exited, 0);
  }
});

test('bad state: a data dir that is a file or cannot be made, a store path leaving it, a busy port: one line, its exit code, nothing created', async () => {
  const tmp = tempDir('cordon-svc-bad-');
  const file = join(tmp, 'not-a-dir');
  writeFileSync(file, 'x');
  const asFile = await cordonAsync(['up', '--demo', '--demo-users', '0', '--port', '0', '--data-dir', file]);
  assert.equal(asFile.status, 2, asFile.stderr);
  assert.equal(asFile.stderr, `cordon: the data directory ${file} is a file, not a directory (--data-dir)\n`);
  assert.equal(readFileSync(file, 'utf8'), 'x');

  // Under a file: it cannot be made (ENOTDIR).
  const unmakeable = join(file, 'data');
  const under = await cordonAsync(['up', '--demo', '--demo-users', '0', '--port', '0', '--data-dir', unmakeable]);
  assert.equal(under.status, 3, under.stderr);
  assert.equal(under.stderr, `cordon: cannot write in the data directory ${unmakeable}: ENOTDIR\n`);

  // A policy whose embedded store climbs out of the data dir.
  const policy = join(tmp, 'policy');
  cpSync(DEMO_POLICY, policy, { recursive: true });
  const yaml = join(policy, 'cordon.yaml');
  writeFileSync(yaml, readFileSync(yaml, 'utf8').replace('pglite://stores/enclave_eu', 'pglite://../elsewhere/enclave_eu'));
  const dataDir = join(tmp, 'data');
  const climbed = await cordonAsync([
    'up',
    '--policy',
    policy,
    '--issuer',
    'http://127.0.0.1:9',
    '--audience',
    'https://cordon.test',
    '--port',
    '0',
    '--data-dir',
    dataDir,
  ]);
  assert.equal(climbed.status, 2, climbed.stderr);
  assert.equal(
    climbed.stderr,
    'cordon: cordon.yaml stores.enclave_eu: "pglite://../elsewhere/enclave_eu" leaves the data directory; name an embedded store by a path inside it (e.g. pglite://stores/enclave_eu), or by an absolute path\n',
  );
  assert.equal(existsSync(dataDir), false, 'no data dir made');
  assert.equal(existsSync(join(tmp, 'elsewhere')), false);

  // A busy port: refused before anything opens (no data dir), in well under the time the stores take.
  const busy = createServer();
  await new Promise<void>((r) => busy.listen(0, '127.0.0.1', () => r()));
  const port = (busy.address() as { port: number }).port;
  try {
    const portDir = join(tmp, 'port');
    const started = Date.now();
    const r = await cordonAsync(['up', '--demo', '--port', String(port), '--data-dir', portDir]);
    const ms = Date.now() - started;
    assert.equal(r.status, 3, r.stderr);
    assert.equal(r.stderr, `cordon: cannot listen on 127.0.0.1:${port}: EADDRINUSE (another process listens there: stop it, or give --port)\n`);
    assert.equal(existsSync(portDir), false, 'nothing created');
    console.log(`# busy port refused in ${ms} ms, before the stores opened`);
  } finally {
    busy.close();
  }
});

test('a lock left by a process that is gone is taken over, with a message naming it', async () => {
  const dir = tempDir('cordon-svc-stale-');
  // A pid that surely is not running: a child that has exited.
  const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  const pid = Number(dead.stdout);
  mkdirSync(join(dir, 'stores'), { recursive: true });
  writeFileSync(
    join(dir, 'stores', 'global.lock'),
    `${JSON.stringify({ pid, host: hostname(), command: 'cordon up (killed)', since: '2026-01-01T00:00:00.000Z' })}\n`,
  );
  const up = await startUp(dir);
  try {
    assert.match(
      up.output().err,
      new RegExp(`cordon: store global: took over the lock left by process ${pid} \\(cordon up \\(killed\\)\\), which is no longer running`),
    );
    assert.equal(lockOf(dir, 'global').pid, up.child.pid);
    assert.equal((await ask(up, 'austin-engineer', '/v1/data/users/demo-us-1')).status, 200);
  } finally {
    up.child.kill('SIGTERM');
    assert.equal(await up.exited, 0);
  }
  assert.equal(existsSync(join(dir, 'stores', 'global.lock')), false);
});
