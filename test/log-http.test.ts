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

test('tiles, bundles, proofs and records over HTTP; bad input gets a clear problem and changes nothing', async () => {
  const loaded = loadPolicy(join(ROOT, 'policies', 'demo'));
  assert.ok(loaded.ok);
  const issuer = await createDemoIssuer();
  const server = await createCordonServer({
    policy: loaded.policy,
    dataDir: tempDir('cordon-log-http-'),
    tokens: { issuer: issuer.issuer, audience: issuer.audience, jwks: issuer.jwks },
    storeUrls: Object.fromEntries([...loaded.policy.deployment.stores.keys()].map((s) => [s, 'pglite://memory'])),
    trustedProxies: ['127.0.0.1/32'],
    // Only reads in this log: no data-key releases between them (encryption at rest is tested with the migration).
    encryptAtRest: false,
  });
  try {
    await seedDemoWorld(server.placement, { users: 0 });
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
