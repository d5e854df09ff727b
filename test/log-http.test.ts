// The access log's HTTP surface on a running server: tiles and bundles as C2SP tlog-tiles says
// (immutable full tiles, partial ones not cached), receipts on every data response, and bad input
// — malformed and oversized tile paths, indexes past the tree, non-auditors — refused clearly.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { loadPolicy } from '../src/policy/index.js';
import { createCordonServer, createDemoIssuer, seedDemoWorld } from '../src/server/index.js';
import { decodeEntryBundle, hashLeaf, MerkleTree, openCheckpoint, verifyInclusion } from '../src/log/index.js';
import { ROOT } from './helpers/paths.js';
import { tempDir } from './helpers/temp.js';

/** A server on the demo policy in memory, seeded with the demo's fixed users, that trusts this host's X-Forwarded-For. */
async function demoServer(prefix: string) {
  const loaded = loadPolicy(join(ROOT, 'policies', 'demo'));
  assert.ok(loaded.ok);
  const issuer = await createDemoIssuer();
  const server = await createCordonServer({
    policy: loaded.policy,
    dataDir: tempDir(prefix),
    tokens: { issuer: issuer.issuer, audience: issuer.audience, jwks: issuer.jwks },
    storeUrls: Object.fromEntries([...loaded.policy.deployment.stores.keys()].map((s) => [s, 'pglite://memory'])),
    trustedProxies: ['127.0.0.1/32'],
    // Only reads in this log: no data-key releases between them (encryption at rest is tested with the migration).
    encryptAtRest: false,
  });
  await seedDemoWorld(server.placement, { users: 0 });
  return { issuer, server };
}

test('tiles, bundles, proofs and records over HTTP; bad input gets a clear problem and changes nothing', async () => {
  const { issuer, server } = await demoServer('cordon-log-http-');
  try {
    const engineer = await issuer.sign('beijing-engineer');
    const get = (url: string, token?: string) =>
      server.app.inject({ method: 'GET', url, headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), 'x-forwarded-for': '10.80.0.5' } });
    const indexes: number[] = [];
    const path = `/v1/data/users/${await server.keyAs('beijing-engineer', 'users', 'demo-us-1')}`;
    for (let i = 0; i < 300; i++) {
      const r = await get(path, engineer);
      assert.equal(r.statusCode, 200);
      indexes.push(Number(r.headers['x-cordon-log-index']));
    }
    assert.deepEqual(
      indexes,
      Array.from({ length: 300 }, (_, i) => i),
      'receipts are the dense indexes of the entries',
    );
    await server.log.publish();

    const cp = await get('/log/checkpoint');
    assert.equal(cp.statusCode, 200);
    assert.equal(cp.headers['cache-control'], 'no-store');
    const { checkpoint } = openCheckpoint(cp.body, server.log.vkey);
    assert.equal(checkpoint.size, 300);

    const full = await get('/log/tile/entries/000');
    assert.equal(full.statusCode, 200);
    assert.equal(full.headers['cache-control'], 'public, max-age=31536000, immutable');
    const partial = await get('/log/tile/entries/001.p/44');
    assert.equal(partial.headers['cache-control'], 'no-cache');
    const entries = [...decodeEntryBundle(full.rawPayload), ...decodeEntryBundle(partial.rawPayload)];
    assert.equal(entries.length, 300);
    assert.ok(MerkleTree.fromLeaves(entries).root().equals(checkpoint.root));
    const tile = await get('/log/tile/0/000');
    assert.equal(tile.rawPayload.length, 256 * 32);
    assert.ok(tile.rawPayload.subarray(32 * 7, 32 * 8).equals(hashLeaf(entries[7]!)));
    assert.equal((await get('/log/tile/1/000.p/1')).rawPayload.length, 32);

    const proof = await get('/v1/log/proof?index=123');
    assert.equal(proof.statusCode, 200);
    const p = proof.json() as { size: number; proof: string[]; tlog_proof: string };
    verifyInclusion(
      123,
      p.size,
      hashLeaf(entries[123]!),
      p.proof.map((h) => Buffer.from(h, 'base64')),
      checkpoint.root,
    );
    assert.match(p.tlog_proof, /^c2sp\.org\/tlog-proof@v1\nindex 123\n/);
    const consistency = (await get('/v1/log/proof?from=10&to=300')).json() as { proof: string[] };
    assert.ok(consistency.proof.length > 0);

    // No personal data in what the public sees.
    for (const body of [cp.body, full.rawPayload.toString('latin1'), partial.rawPayload.toString('latin1')]) {
      assert.doesNotMatch(body, /demo-us-1|beijing-engineer|\+1512|phone/);
    }

    const size = server.log.size();
    const bad: [string, number, string][] = [
      ['/log/tile/0/1', 400, 'log.bad_tile_path'],
      ['/log/tile/0/0001', 400, 'log.bad_tile_path'],
      ['/log/tile/0/000.p/0', 400, 'log.bad_tile_path'],
      ['/log/tile/0/000.p/256', 400, 'log.bad_tile_path'],
      ['/log/tile/x/000', 400, 'log.bad_tile_path'],
      ['/log/tile/entries/x01/000', 400, 'log.bad_tile_path'],
      ['/log/tile/entries/x001/000', 404, 'log.not_found'],
      [`/log/tile/0/${'x000/'.repeat(40)}000`, 400, 'log.bad_tile_path'],
      ['/log/tile/0/005', 404, 'log.not_found'],
      ['/log/tile/entries/001', 404, 'log.not_found'],
      ['/log/tile/entries/001.p/200', 404, 'log.not_found'],
      ['/log/tile/2/000.p/1', 404, 'log.not_found'],
      ['/v1/log/proof?index=300', 404, 'log.not_found'],
      ['/v1/log/proof?index=-1', 400, 'usage.invalid_argument'],
      ['/v1/log/proof?index=1e3', 400, 'usage.invalid_argument'],
      ['/v1/log/proof?index=99999999999999999999', 400, 'usage.invalid_argument'],
      ['/v1/log/proof?from=0', 400, 'usage.invalid_argument'],
      ['/v1/log/proof?from=20&to=10', 400, 'usage.invalid_argument'],
      ['/v1/log/proof', 400, 'usage.invalid_argument'],
      ['/v1/log/records', 401, 'auth.missing_token'],
    ];
    for (const [url, status, code] of bad) {
      const r = await get(url);
      assert.equal(r.statusCode, status, `${url}: ${r.body}`);
      assert.match(String(r.headers['content-type']), /^application\/problem\+json/, url);
      assert.equal((r.json() as { code: string }).code, code, url);
    }
    const notAuditor = await get('/v1/log/records', engineer);
    assert.equal(notAuditor.statusCode, 403);
    assert.equal((notAuditor.json() as { code: string }).code, 'log.not_auditor');
    assert.equal(server.log.size(), size, 'refused requests append nothing');

    // An auditor reads records; each read is itself an entry.
    const monitor = await issuer.sign('monitor');
    const one = await get('/v1/log/records/42', monitor);
    assert.equal(one.statusCode, 200);
    const rec = one.json() as {
      matches_entry: boolean;
      record: { principal: string; subject: string; fields: { field: string; disclosure: string }[] };
      read_by: string;
    };
    assert.equal(rec.matches_entry, true);
    assert.equal(rec.record.principal, 'beijing-engineer');
    assert.notEqual(rec.record.subject, 'demo-us-1', 'the subject is a keyed hash');
    assert.equal(rec.read_by, 'monitor');
    assert.equal(server.log.size(), size + 1);
    const page = (await get('/v1/log/records?after=99&limit=50', monitor)).json() as { records: { index: number }[]; next: number };
    assert.deepEqual([page.records[0]!.index, page.records.length, page.next], [100, 50, 149]);
    assert.equal((await get('/v1/log/records?limit=5000', monitor)).statusCode, 400);
  } finally {
    await server.close();
  }
});

test('records page newest first (before=) and filter server-side by time, principal, dataset, country, outcome, disclosure and kind; bad filters are 400 naming them', async () => {
  const { issuer, server } = await demoServer('cordon-log-filter-');
  try {
    const get = (url: string, token: string, from: string) =>
      server.app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${token}`, 'x-forwarded-for': from } });
    const beijing = await issuer.sign('beijing-engineer');
    const analyst = await issuer.sign('us-analyst');
    const path = async (p: string) => `/v1/data/users/${encodeURIComponent((await server.keyAs(p, 'users', 'demo-us-1'))!)}`;
    // 0..29: beijing-engineer (released, CN); 30..39: us-analyst (released, US); 40: a read of a missing key is not logged.
    for (let i = 0; i < 30; i++) assert.equal((await get(await path('beijing-engineer'), beijing, '10.80.0.5')).statusCode, 200);
    for (let i = 0; i < 10; i++) assert.equal((await get(await path('us-analyst'), analyst, '10.21.0.9')).statusCode, 200);
    const size = server.log.size();
    assert.equal(size, 40);
    const monitor = await issuer.sign('monitor');
    const read = async (q: string) => {
      const r = await get(`/v1/log/records?${q}`, monitor, '10.21.0.9');
      assert.equal(r.statusCode, 200, `${q}: ${r.body}`);
      return r.json() as { records: { index: number; record: Record<string, unknown> }[]; next: number | null };
    };

    // Newest first, through the whole of the first 40 records, without gaps or repeats.
    const seen: number[] = [];
    let before: number | null = 40;
    while (before !== null) {
      const page = await read(`before=${before}&limit=7`);
      seen.push(...page.records.map((r) => r.index));
      before = page.next;
    }
    assert.deepEqual(
      seen,
      Array.from({ length: 40 }, (_, i) => 39 - i),
    );
    // Oldest first to the end, as a monitor pages it: each page appends its audit_read record, and
    // still the walk ends at the first page short of its limit (next: null), and never repeats.
    const walked: number[] = [];
    let pages = 0;
    for (let after: number | null = -1; after !== null && pages < 50; pages++) {
      const page = await read(`after=${after}&limit=16`);
      walked.push(...page.records.map((r) => r.index));
      after = page.next;
    }
    assert.ok(pages < 50, `the walk to the log's end did not end (${pages} pages)`);
    assert.equal(new Set(walked).size, walked.length, 'no record twice');
    assert.deepEqual(
      walked.slice(0, 40),
      Array.from({ length: 40 }, (_, i) => i),
    );
    // Filters: the reads above appended audit_read records (40 onwards); each filter finds exactly its own.
    const indexes = async (q: string) => (await read(q)).records.map((r) => r.index);
    assert.deepEqual(await indexes('principal=us-analyst&limit=100'), [30, 31, 32, 33, 34, 35, 36, 37, 38, 39]);
    assert.deepEqual(await indexes('principal=us-analyst&before=36&limit=3'), [35, 34, 33]);
    assert.equal((await indexes('country=CN&kind=access_record&limit=100')).length, 30);
    assert.equal((await indexes('outcome=released&dataset=users&limit=100')).length, 40);
    assert.deepEqual(await indexes('outcome=refused'), []);
    assert.equal((await indexes('disclosure=tokenized&limit=100')).length, 40, 'every read got the uid as a token');
    assert.deepEqual(await indexes('disclosure=masked&principal=beijing-engineer'), []);
    const audits = await indexes('kind=audit_read&limit=100');
    assert.ok(audits.length > 0 && audits.every((i) => i >= 40));
    assert.deepEqual(await indexes('kind=break_glass'), []);
    assert.deepEqual(await indexes('kind=transfer'), []);
    // Time: until is exclusive, since inclusive, on each record's own `at`.
    const analystRecords = (await read('principal=us-analyst&limit=100')).records;
    const at = analystRecords[5]!.record['at'] as string;
    const expectUntil = analystRecords.filter((r) => Date.parse(r.record['at'] as string) < Date.parse(at)).map((r) => r.index);
    assert.ok(expectUntil.length >= 1 && expectUntil.length <= 5);
    assert.deepEqual(await indexes(`principal=us-analyst&until=${encodeURIComponent(at)}&limit=100`), expectUntil);
    assert.deepEqual(
      await indexes(`principal=us-analyst&since=${encodeURIComponent(at)}&limit=100`),
      analystRecords.map((r) => r.index).filter((i) => !expectUntil.includes(i)),
    );
    assert.deepEqual(await indexes('since=2000-01-01&until=2000-01-02'), []);

    // Bad filters: 400 usage.invalid_argument naming the parameter; nothing is read or logged.
    const before400 = server.log.size();
    for (const [q, name] of [
      ['outcome=leaked', 'outcome'],
      ['disclosure=plain', 'disclosure'],
      ['kind=gossip', 'kind'],
      ['since=yesterday', 'since'],
      ['until=2026-13-45', 'until'],
      ['since=2026-02-01&until=2026-01-01', 'since'],
      ['after=3&before=9', 'before'],
      ['before=-2', 'before'],
      ['principal=', 'principal'],
      ['colour=red', 'colour'],
    ] as const) {
      const r = await get(`/v1/log/records?${q}`, monitor, '10.21.0.9');
      assert.equal(r.statusCode, 400, `${q}: ${r.body}`);
      const body = r.json() as { code: string; detail: string };
      assert.equal(body.code, 'usage.invalid_argument', q);
      assert.match(body.detail, new RegExp(name), q);
    }
    assert.equal(server.log.size(), before400, 'refused queries append no audit_read');
    // The route's roles hold with filters: a non-auditor reads nothing, whatever it filters on.
    const refused = await get('/v1/log/records?principal=beijing-engineer', beijing, '10.80.0.5');
    assert.equal(refused.statusCode, 403);
    assert.equal((refused.json() as { code: string }).code, 'log.not_auditor');
  } finally {
    await server.close();
  }
});
