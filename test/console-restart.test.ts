// The console's decision counts of the last 24 hours outlive a restart of the server: each process
// keeps its hourly counts in the global store, and a new one starts from them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { loadPolicy } from '../src/policy/index.js';
import { createCordonServer, createDemoIssuer, DEMO_FIXED_USERS, type CordonServer } from '../src/server/index.js';
import { DEMO_POLICY } from './helpers/paths.js';
import { tempDir } from './helpers/temp.js';

test("the overview's decisions of the last 24 hours are the same after a restart", async () => {
  const loaded = loadPolicy(DEMO_POLICY);
  assert.ok(loaded.ok);
  const issuer = await createDemoIssuer();
  const dir = tempDir('cordon-console-restart-');
  const options = {
    policy: loaded.policy,
    dataDir: join(dir, 'data'),
    tokens: { issuer: issuer.issuer, audience: issuer.audience, jwks: issuer.jwks },
    storeUrls: Object.fromEntries([...loaded.policy.deployment.stores.keys()].map((s) => [s, `pglite://${join(dir, 'stores', s)}`])),
    trustedProxies: ['127.0.0.1/32'],
  };
  const get = async (server: CordonServer, persona: string, url: string, from: string) =>
    server.app.inject({
      method: 'GET',
      url,
      remoteAddress: '127.0.0.1',
      headers: { authorization: `Bearer ${await issuer.sign(persona)}`, 'x-forwarded-for': from },
    });
  type Decisions = { byDisclosure: Record<string, number>; byCountry: Record<string, number>; byOutcome: Record<string, number> };
  const decisions = async (server: CordonServer) =>
    ((await get(server, 'us-analyst', '/v1/console/overview', '10.21.0.9')).json() as { decisions: Decisions }).decisions;

  const first = await createCordonServer(options);
  let before: Decisions;
  try {
    for (const u of DEMO_FIXED_USERS) await first.placement.write('users', u['uid']!, u, 'upsert');
    // Neither may see the uid in clear: each names demo-us-1 by its own token (W6).
    const analystKey = await first.keyAs('us-analyst', 'users', 'demo-us-1');
    for (let i = 0; i < 3; i++) assert.equal((await get(first, 'us-analyst', `/v1/data/users/${analystKey}`, '10.21.0.9')).statusCode, 200);
    assert.equal(
      (await get(first, 'beijing-engineer', `/v1/data/users/${await first.keyAs('beijing-engineer', 'users', 'demo-us-1')}`, '10.80.0.7')).statusCode,
      200,
    );
    before = await decisions(first);
    assert.equal(before.byCountry['US'], 3, JSON.stringify(before));
    assert.equal(before.byCountry['CN'], 1, JSON.stringify(before));
  } finally {
    await first.close();
  }
  const second = await createCordonServer(options);
  try {
    assert.deepEqual(await decisions(second), before, 'a restarted server shows the same counts');
  } finally {
    await second.close();
  }
});
