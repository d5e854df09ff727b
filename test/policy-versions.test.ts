// The server remembers each policy version it has run (in the global store), so the console shows
// what changed since the version before: here UIDs becoming protected in the US.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadPolicy, type Policy } from '../src/policy/index.js';
import { createCordonServer, createDemoIssuer } from '../src/server/index.js';
import { DEMO_POLICY, FIXTURES } from './helpers/paths.js';

function load(dir: string): Policy {
  const r = loadPolicy(dir);
  assert.ok(r.ok);
  return r.policy;
}

test('the console lists the class changes since the previous policy version', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'cordon-versions-'));
  const issuer = await createDemoIssuer();
  const run = async (policy: Policy) => {
    const server = await createCordonServer({
      policy,
      dataDir: dir,
      tokens: { issuer: issuer.issuer, audience: issuer.audience, jwks: issuer.jwks },
      storeUrls: Object.fromEntries([...policy.deployment.stores.keys()].map((s) => [s, `pglite://${join(dir, s)}`])),
    });
    try {
      const r = await server.app.inject({ method: 'GET', url: '/v1/console/policy', headers: { authorization: `Bearer ${await issuer.sign('monitor')}` } });
      assert.equal(r.statusCode, 200, r.body);
      return r.json() as { version: string; previous: { version: string; changes: unknown[] } | null };
    } finally {
      await server.close();
    }
  };
  try {
    const demo = load(DEMO_POLICY);
    const uids = load(join(FIXTURES, 'policies/demo-uids-protected'));
    assert.equal((await run(demo)).previous, null, 'the first version has nothing before it');
    const second = await run(uids);
    assert.equal(second.previous?.version, demo.versionHash);
    assert.deepEqual(second.previous?.changes, [{ jurisdiction: 'US', category: 'user.unique_id', from: 'excepted', to: 'protected' }]);
    const again = await run(uids);
    assert.deepEqual(again.previous, second.previous, 'a restart on the same version keeps comparing with the one before');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
