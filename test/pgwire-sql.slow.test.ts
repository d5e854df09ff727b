// The wire gateway's in-memory bound, with more rows than it sorts or counts: 100,001 public videos
// of a rest-of-world user (whose whole record lives in the global store, as placement puts it)
// beside the demo world. ORDER BY other than the key, count() and GROUP BY over all of them are
// 54000 with nothing decided or logged; with a LIMIT, ORDER BY keeps only the best rows and answers;
// the key order streams.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { loadPolicy } from '../src/policy/index.js';
import { seedDemoWorld, type CordonServer, type DemoIssuer } from '../src/server/index.js';
import { proxyV2Header } from '../src/pgwire/index.js';
import type { StoredRow } from '../src/store/index.js';
import { DEMO_POLICY } from './helpers/paths.js';
import { startWireServer } from './helpers/pgwire-server.js';
import { cellsOf, fieldsOf, queryMessage, RawPg, type BackendMessage } from './helpers/pg-raw.js';

const loaded = loadPolicy(DEMO_POLICY);
assert.ok(loaded.ok);
const policy = loaded.policy;
const EXTRA = 100_001;

let server: CordonServer;
let issuer: DemoIssuer;
let port: number;
let c: RawPg;
let decisions = 0;

before(async () => {
  ({ server, issuer, port } = await startWireServer(policy, 'cordon-pgwire-sql-slow-'));
  await seedDemoWorld(server.placement, { users: 5, videosPerUser: 1, commentsPerVideo: 0 });
  // demo-br-1 lives in the rest of the world, whose enclave store is the global store: its videos are whole there.
  const global = server.stores.get(policy.deployment.globalStore)!;
  const started = performance.now();
  for (let i = 0; i < EXTRA; i += 1000) {
    const rows: StoredRow[] = [];
    for (let j = i; j < Math.min(EXTRA, i + 1000); j++) {
      const id = `x-${String(j).padStart(6, '0')}`;
      rows.push({
        key: id,
        values: {
          id,
          owner_uid: 'demo-br-1',
          visibility: 'public',
          caption: `clip ${j}`,
          draft_body: null,
          view_count: (j * 7919) % 1_000_003,
          created_at: '2024-05-01T00:00:00Z',
        },
      });
    }
    await global.upsertMany('videos', rows);
  }
  console.log(`pgwire-sql slow: ${EXTRA} videos stored in ${Math.round(performance.now() - started)} ms`);
  const decide = server.decider.decide.bind(server.decider);
  (server.decider as { decide: typeof decide }).decide = (req) => {
    decisions++;
    return decide(req);
  };
  c = await RawPg.connect(port, proxyV2Header('10.21.0.5', 40000, '127.0.0.1', port));
  assert.equal((await c.login('us-analyst', await issuer.sign('us-analyst'))).at(-1)?.type, 'Z');
});
after(async () => {
  c.end();
  await server.close();
});

async function query(sql: string): Promise<BackendMessage[]> {
  c.send(queryMessage(sql));
  return c.until('Z');
}
const errorOf = (msgs: readonly BackendMessage[]) => {
  const e = msgs.find((m) => m.type === 'E');
  return e ? fieldsOf(e) : undefined;
};

test('over 100,000 matching rows, ORDER BY other than the key, count() and GROUP BY are 54000 naming the bound, with nothing decided or logged', async () => {
  for (const sql of [
    'SELECT id, caption FROM videos ORDER BY view_count',
    'SELECT id FROM videos ORDER BY view_count DESC LIMIT 10 OFFSET 100000',
    'SELECT count(*) FROM videos',
    "SELECT visibility, count(*) FROM videos WHERE visibility = 'public' GROUP BY visibility",
  ]) {
    const size = server.log.size();
    decisions = 0;
    const started = performance.now();
    const msgs = await query(sql);
    const e = errorOf(msgs);
    assert.equal(e?.['C'], '54000', `${sql}: ${JSON.stringify(e)}`);
    assert.match(e?.['M'] ?? '', /at most 100000 rows/);
    assert.ok(!msgs.some((m) => m.type === 'D'));
    assert.equal(decisions, 0, `${sql}: nothing decided`);
    assert.equal(server.log.size(), size, `${sql}: nothing logged`);
    console.log(`pgwire-sql slow: ${sql}: 54000 after ${Math.round(performance.now() - started)} ms`);
  }
});

test('with a LIMIT, ORDER BY keeps only the best rows as they come and answers; only the rows sent are decided', async () => {
  const size = server.log.size();
  decisions = 0;
  const msgs = await query("SELECT id, view_count FROM videos WHERE view_count > 990000 AND id LIKE 'x-%' ORDER BY view_count DESC, id LIMIT 3 OFFSET 1");
  assert.equal(errorOf(msgs), undefined);
  const want = Array.from({ length: EXTRA }, (_, j) => [`x-${String(j).padStart(6, '0')}`, (j * 7919) % 1_000_003] as const)
    .filter(([, v]) => v > 990_000)
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
    .slice(1, 4)
    .map(([id, v]) => [id, String(v)]);
  assert.equal(want.length, 3);
  assert.deepEqual(msgs.filter((m) => m.type === 'D').map(cellsOf), want);
  assert.equal(decisions, 3);
  assert.equal(server.log.size(), size + 3);
  decisions = 0;
  const top = await query('SELECT id FROM videos ORDER BY created_at DESC, view_count LIMIT 2');
  assert.equal(errorOf(top), undefined);
  assert.equal(top.filter((m) => m.type === 'D').length, 2);
  assert.equal(decisions, 2);
});
