// Fault tests of the access log, each printing its counts:
// (a) `cordon up` killed with SIGKILL 20 times under load: after each restart the log verifies
//     (and extends the log verified before), and every response that carried protected data has
//     its entry, with the record that says so;
// (b) 100 random tamperings of stored log rows (change, delete, swap, truncate, and records or
//     salts behind entries), each detected by the verifier `cordon log verify` runs;
// (d) the log's store stopped: every read gets 503 log.unavailable, and reads resume when it returns.
// (c), a forked log refused by a witness, is in src/log/witness.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadPolicy } from '../src/policy/index.js';
import { createCordonServer, createDemoIssuer, seedDemoWorld, type CordonServer } from '../src/server/index.js';
import { accessRecordFields, checkRecords, verifyLog, type AccessRecordV2 } from '../src/log/index.js';
import { mulberry32 } from '../src/shared/random.js';
import { startUp } from './helpers/up.js';
import { startPostgres } from './helpers/postgres.js';
import { ROOT } from './helpers/paths.js';
import { cordonAsync } from './helpers/cli.js';
import { tempDir } from './helpers/temp.js';

const AUSTIN = '10.20.0.5';
const DEMO = join(ROOT, 'policies', 'demo');

interface Page {
  records: {
    index: number;
    record: AccessRecordV2;
  }[];
  next: number | null;
}

async function allRecords(base: string, token: string): Promise<Page['records']> {
  const out: Page['records'] = [];
  for (let after = -1; ; ) {
    const r = await fetch(`${base}/v1/log/records?after=${after}&limit=1000`, { headers: { authorization: `Bearer ${token}`, 'x-forwarded-for': AUSTIN } });
    assert.equal(r.status, 200, await r.clone().text());
    const page = (await r.json()) as Page;
    out.push(...page.records);
    if (page.next === null) return out;
    after = page.next;
  }
}

/** Reads demo-us-1 as austin-engineer (who holds a grant) from 16 connections until stopped; returns the log indexes of responses that carried the phone number. */
function protectedLoad(base: string, token: string): { stop: () => void; done: Promise<{ indexes: number[]; responses: number }> } {
  let stopped = false;
  const indexes: number[] = [];
  let responses = 0;
  const worker = async () => {
    while (!stopped) {
      try {
        const r = await fetch(`${base}/v1/data/users/demo-us-1`, { headers: { authorization: `Bearer ${token}`, 'x-forwarded-for': AUSTIN } });
        const body = (await r.json()) as { fields?: Record<string, unknown> };
        responses++;
        if (r.status === 200 && body.fields?.['phone_number'] !== undefined) indexes.push(Number(r.headers.get('x-cordon-log-index')));
      } catch {
        return; // the server went away mid-request: that response never arrived
      }
    }
  };
  const done = Promise.all(Array.from({ length: 16 }, worker)).then(() => ({ indexes, responses }));
  return { stop: () => (stopped = true), done };
}

test('(a) SIGKILL under load, 20 times: the log verifies after every restart and no protected response lacks its entry', { timeout: 600_000 }, async () => {
  const dataDir = tempDir('cordon-kill-');
  const state = join(dataDir, 'verify-state.json');
  const random = mulberry32(20261125);
  const carried: number[] = [];
  let responses = 0;
  let lastSize = 0;
  for (let round = 0; round <= 20; round++) {
    const up = await startUp(dataDir);
    const tokens = up.tokens();
    const vkey = readFileSync(join(dataDir, 'demo', 'log.vkey'), 'utf8').trim();
    try {
      const verified = await verifyLog({ url: up.base, vkey, statePath: state });
      assert.ok(verified.ok, `round ${round}: ${JSON.stringify(verified.problems)}`);
      assert.ok(verified.size! >= lastSize);
      lastSize = verified.size!;
      // Every protected response sent before any kill so far has its entry and the record behind it.
      const records = await allRecords(up.base, tokens['monitor']!);
      const byIndex = new Map(records.map((r) => [r.index, r.record]));
      const missing = carried.filter((i) => {
        const r = byIndex.get(i);
        return !(
          i < verified.size! &&
          r &&
          r.principal === 'austin-engineer' &&
          r.outcome === 'released' &&
          accessRecordFields(r).some((f) => f.field === 'phone_number' && f.disclosure === 'clear')
        );
      });
      assert.deepEqual(missing, [], `round ${round}: protected responses without their entry`);
      if (round === 20) break;
      const load = protectedLoad(up.base, tokens['austin-engineer']!);
      await new Promise((r) => setTimeout(r, 150 + Math.floor(random() * 600)));
      up.child.kill('SIGKILL');
      await up.exited;
      load.stop();
      const got = await load.done;
      carried.push(...got.indexes);
      responses += got.responses;
    } finally {
      up.child.kill('SIGKILL');
      await up.exited;
    }
  }
  assert.ok(carried.length > 200, `only ${carried.length} protected responses under load`);
  assert.equal(new Set(carried).size, carried.length, 'no two responses share an entry');
  console.log(
    `sigkill: 20 kills under load, ${responses} responses, ${carried.length} carried protected data; entries missing: 0; log verified after each of 20 restarts (final size ${lastSize})`,
  );
});

// ---- (b) tampering ----

interface Row {
  idx: number;
  entry: string;
  payload: string;
}

async function db(server: CordonServer, sql: string, params: unknown[] = []): Promise<Record<string, unknown>[]> {
  const store = server.stores.get('enclave_us') as unknown as { db: { query(s: string, p?: unknown[]): Promise<Record<string, unknown>[]> } };
  return store.db.query(sql, params);
}

test('(b) 100 random tamperings of stored log rows are each detected by the verifier', { timeout: 600_000 }, async () => {
  const loaded = loadPolicy(DEMO);
  assert.ok(loaded.ok);
  const issuer = await createDemoIssuer();
  const dataDir = tempDir('cordon-tamper-');
  const storeUrls = Object.fromEntries([...loaded.policy.deployment.stores.keys()].map((s) => [s, `pglite://${join(dataDir, s)}`]));
  const server = await createCordonServer({
    policy: loaded.policy,
    dataDir,
    tokens: { issuer: issuer.issuer, audience: issuer.audience, jwks: issuer.jwks },
    storeUrls,
    trustedProxies: ['127.0.0.1/32'],
  });
  try {
    await seedDemoWorld(server.placement, { users: 0 });
    await server.app.listen({ port: 0, host: '127.0.0.1' });
    const base = `http://127.0.0.1:${(server.app.server.address() as { port: number }).port}`;
    const monitor = await issuer.sign('monitor');
    const engineer = await issuer.sign('beijing-engineer');
    const path = `/v1/data/users/${await server.keyAs('beijing-engineer', 'users', 'demo-us-1')}`;
    for (let i = 0; i < 600; i++) {
      const r = await server.app.inject({ method: 'GET', url: path, headers: { authorization: `Bearer ${engineer}`, 'x-forwarded-for': '10.80.0.5' } });
      assert.equal(r.statusCode, 200);
    }
    await server.log.publish();
    const vkey = server.log.vkey;
    const check = async (): Promise<{ verified: boolean; records: boolean; how: string }> => {
      const v = await verifyLog({ url: base, vkey });
      if (!v.ok) return { verified: false, records: true, how: v.problems[0]!.kind };
      const r = await checkRecords({
        url: base,
        token: monitor,
        entries: v.entries!,
        fetch: (u, init) => fetch(u, { ...init, headers: { ...(init.headers as Record<string, string>), 'x-forwarded-for': AUSTIN } }),
      });
      return { verified: true, records: r.mismatches.length === 0, how: r.mismatches.length > 0 ? 'record' : 'none' };
    };
    assert.deepEqual(await check(), { verified: true, records: true, how: 'none' }, 'the untouched log verifies');

    await db(server, 'ALTER TABLE tlog_access DISABLE TRIGGER append_only');
    const random = mulberry32(6962);
    const pick = (n: number) => Math.floor(random() * n);
    const kinds = ['change-entry', 'change-record', 'change-salt', 'delete', 'swap', 'truncate'] as const;
    const detected: Record<string, number> = {};
    const how: Record<string, number> = {};
    for (let t = 0; t < 100; t++) {
      const kind = kinds[t % kinds.length]!;
      const size = server.log.checkpoint().size;
      const i = pick(size);
      const j = (i + 1 + pick(size - 1)) % size;
      const affected = kind === 'truncate' ? 'idx >= $1' : kind === 'swap' ? 'idx IN ($1, $2)' : 'idx = $1';
      const params = kind === 'swap' ? [i, j] : [i];
      const saved = (await db(server, `SELECT idx, entry, payload FROM tlog_access WHERE ${affected} ORDER BY idx`, params)) as unknown as Row[];
      switch (kind) {
        case 'change-entry': {
          const e = Buffer.from(saved[0]!.entry, 'base64');
          e[pick(e.length)]! ^= 1 << pick(8);
          await db(server, 'UPDATE tlog_access SET entry = $2 WHERE idx = $1', [i, e.toString('base64')]);
          break;
        }
        case 'change-record':
          await db(server, `UPDATE tlog_access SET payload = jsonb_set(payload::jsonb, '{r,principal}', to_jsonb('us-analyst'::text))::text WHERE idx = $1`, [
            i,
          ]);
          break;
        case 'change-salt':
          await db(server, `UPDATE tlog_access SET payload = jsonb_set(payload::jsonb, '{s}', to_jsonb($2::text))::text WHERE idx = $1`, [
            i,
            Buffer.alloc(16, pick(256)).toString('base64'),
          ]);
          break;
        case 'delete':
          await db(server, 'DELETE FROM tlog_access WHERE idx = $1', [i]);
          break;
        case 'swap':
          await db(
            server,
            'UPDATE tlog_access a SET entry = b.entry, payload = b.payload FROM tlog_access b WHERE (a.idx, b.idx) IN (($1::bigint, $2::bigint), ($2::bigint, $1::bigint))',
            [i, j],
          );
          break;
        case 'truncate':
          await db(server, 'DELETE FROM tlog_access WHERE idx >= $1', [i]);
          break;
      }
      const result = await check();
      if (!result.verified || !result.records) detected[kind] = (detected[kind] ?? 0) + 1;
      how[result.how] = (how[result.how] ?? 0) + 1;
      // Undo: put back the rows as they were (one statement).
      await db(server, `DELETE FROM tlog_access WHERE ${affected}`, params);
      await db(server, 'INSERT INTO tlog_access (idx, entry, payload) SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[])', [
        saved.map((r) => r.idx),
        saved.map((r) => r.entry),
        saved.map((r) => r.payload),
      ]);
    }
    const total = Object.values(detected).reduce((a, b) => a + b, 0);
    console.log(
      `tamper: 100 tamperings, ${total} detected (${kinds.map((k) => `${k} ${detected[k] ?? 0}`).join(', ')}); detected by: ${Object.entries(how)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ')}`,
    );
    assert.equal(total, 100);

    // The CLI itself, on one tampering: exit 1 with the evidence; on the restored log: exit 0.
    const [row] = (await db(server, 'SELECT entry FROM tlog_access WHERE idx = 3')) as unknown as Row[];
    await db(server, 'UPDATE tlog_access SET entry = $1 WHERE idx = 3', [Buffer.alloc(32, 1).toString('base64')]);
    const bad = await cordonAsync(['log', 'verify', '--url', base, '--vkey', vkey]);
    assert.equal(bad.status, 1, bad.stderr);
    assert.match(bad.stdout, /FAILED \(root\): the entries give root .* at size \d+, but the checkpoint signs/);
    assert.match(bad.stdout, /computed_root: /);
    await db(server, 'UPDATE tlog_access SET entry = $1 WHERE idx = 3', [row!.entry]);
    const good = await cordonAsync(['log', 'verify', '--url', base, '--vkey', vkey]);
    assert.equal(good.status, 0, good.stdout + good.stderr);
    assert.match(good.stdout, /^verified demo\.cordon\.invalid\/access: \d+ entries, root /);
  } finally {
    await server.close();
  }
});

test('(d) the log store stopped: reads get 503 log.unavailable, and resume when it returns', { timeout: 300_000 }, async () => {
  const pg = await startPostgres({ database: 'cordon_log' });
  const dir = tempDir('cordon-logstore-policy-');
  cpSync(DEMO, dir, { recursive: true });
  // The demo with the access log on its own PostgreSQL store.
  const yaml = readFileSync(join(dir, 'cordon.yaml'), 'utf8')
    .replace('access_log:\n  store: enclave_us', 'access_log:\n  store: audit')
    .replace('\nstores:\n', `\nstores:\n  audit: { url: "${pg.url}" }\n`);
  writeFileSync(join(dir, 'cordon.yaml'), yaml);
  const loaded = loadPolicy(dir);
  assert.ok(loaded.ok, JSON.stringify(loaded.issues));
  const issuer = await createDemoIssuer();
  const storeUrls = Object.fromEntries([...loaded.policy.deployment.stores.keys()].filter((s) => s !== 'audit').map((s) => [s, 'pglite://memory']));
  const server = await createCordonServer({
    policy: loaded.policy,
    dataDir: tempDir('cordon-logstore-'),
    tokens: { issuer: issuer.issuer, audience: issuer.audience, jwks: issuer.jwks },
    storeUrls,
    trustedProxies: ['127.0.0.1/32'],
    grantsOf: (p) =>
      p === 'austin-engineer'
        ? [{ id: 'g', datasets: ['users'], categories: ['user.contact'], expiresAt: Date.now() + 3_600_000, reason: 'USER_SUPPORT' }]
        : [],
  });
  try {
    await seedDemoWorld(server.placement, { users: 0 });
    const token = await issuer.sign('austin-engineer');
    const read = () =>
      server.app.inject({ method: 'GET', url: '/v1/data/users/demo-us-1', headers: { authorization: `Bearer ${token}`, 'x-forwarded-for': AUSTIN } });
    const before = await read();
    assert.equal(before.statusCode, 200);
    assert.equal((before.json() as { fields: Record<string, unknown> }).fields['phone_number'] !== undefined, true);
    const firstIndex = Number(before.headers['x-cordon-log-index']);

    await pg.pause();
    let refused = 0;
    for (let i = 0; i < 20; i++) {
      const r = await read();
      assert.equal(r.statusCode, 503);
      assert.equal((r.json() as { code: string }).code, 'log.unavailable');
      assert.doesNotMatch(r.body, /\+1512|@example/);
      refused++;
    }
    assert.equal((await server.app.inject({ method: 'GET', url: '/readyz' })).statusCode, 503);

    await pg.resume();
    let after: Awaited<ReturnType<typeof read>> | undefined;
    for (let attempt = 0; attempt < 100; attempt++) {
      after = await read();
      if (after.statusCode === 200) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(after!.statusCode, 200);
    assert.ok(Number(after!.headers['x-cordon-log-index']) > firstIndex);
    await server.log.publish();
    await server.app.listen({ port: 0, host: '127.0.0.1' });
    const v = await verifyLog({ url: `http://127.0.0.1:${(server.app.server.address() as { port: number }).port}`, vkey: server.log.vkey });
    assert.ok(v.ok, JSON.stringify(v.problems));
    console.log(
      `log store down: ${refused} reads refused with 503 log.unavailable, none released data; reads resumed after restart; log verifies at size ${v.size}`,
    );
  } finally {
    await server.close();
    await pg.stop();
  }
});
