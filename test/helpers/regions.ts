// Three regional gateways (cordon up --region) in this process, one per region of the demo policy,
// on one real PostgreSQL with a database per store; each region's demo users written by that region.
// Shared by test/regions.test.ts and test/regions-attacks.test.ts.
import assert from 'node:assert/strict';
import { cpSync } from 'node:fs';
import { createServer } from 'node:net';
import { loadPolicy, type Policy } from '../../src/policy/index.js';
import { createCordonServer, createDemoIssuer, DEMO_FIXED_USERS, DEMO_FIXED_VIDEOS, type CordonServer } from '../../src/server/index.js';
import { addressOfSite } from '../../src/cli/defaults.js';
import { startPostgres } from './postgres.js';
import { createDatabases } from '../fixtures/migrate/legacy.js';
import { DEMO_POLICY } from './paths.js';
import { tempDir } from './temp.js';

export const REGIONS = ['us', 'eu', 'global'] as const;
export type Region = (typeof REGIONS)[number];

export interface Answer {
  readonly status: number;
  readonly headers: Headers;
  readonly json: Record<string, unknown>;
}

export interface Regions {
  readonly policy: Policy;
  /** Store name -> its database's URL. */
  readonly urls: Readonly<Record<string, string>>;
  readonly servers: Readonly<Record<Region, CordonServer>>;
  readonly bases: Readonly<Record<Region, string>>;
  /** What a server needs to accept the issuer's tokens. */
  readonly tokens: Parameters<typeof createCordonServer>[0]['tokens'];
  /** Headers for `id`: its bearer token and the X-Forwarded-For of its site, or of `place` (a site of the network map). */
  sign(id: string, place?: string): Promise<Record<string, string>>;
  /** A request as `as`, redirects not followed. */
  call(base: string, path: string, as: string, init?: { method?: string; body?: unknown; place?: string; headers?: Record<string, string> }): Promise<Answer>;
  close(): Promise<void>;
}

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

/** `name` tells the runs' databases and directories apart. */
export async function startRegions(name: string): Promise<Regions> {
  const pg = await startPostgres({ database: `cordon_${name}` });
  const [us, eu, global] = await createDatabases(pg.url, [`${name}_enclave_us`, `${name}_enclave_eu`, `${name}_global`]);
  const urls = { enclave_us: us!, enclave_eu: eu!, global: global! };
  const policyDir = tempDir(`cordon-${name}-policy-`);
  cpSync(DEMO_POLICY, policyDir, { recursive: true });
  const loaded = loadPolicy(policyDir);
  assert.ok(loaded.ok);
  const policy = loaded.policy;
  const issuer = await createDemoIssuer();
  const tokens = { issuer: issuer.issuer, audience: issuer.audience, jwks: issuer.jwks };
  const sign = async (id: string, place?: string) => {
    const site = place ?? policy.directory.principals.get(id)!.site;
    const where = policy.deployment.locations.find((l) => l.site === site)!;
    return {
      authorization: `Bearer ${await issuer.sign(id, { location: { country: where.country, site: where.site } })}`,
      'x-forwarded-for': addressOfSite(policy, site)!,
    };
  };
  const ports = { us: await freePort(), eu: await freePort(), global: await freePort() };
  const bases = Object.fromEntries(REGIONS.map((r) => [r, `http://127.0.0.1:${ports[r]}`])) as Record<Region, string>;
  const servers = {} as Record<Region, CordonServer>;
  const close = async () => {
    for (const r of REGIONS) await servers[r]?.close().catch(() => undefined);
    await pg.stop();
  };
  try {
    await Promise.all(
      REGIONS.map(async (r) => {
        const peers = Object.fromEntries(REGIONS.filter((p) => p !== r).map((p) => [p, bases[p]]));
        const stores = r === 'global' ? { global: urls.global } : { global: urls.global, [`enclave_${r}`]: urls[`enclave_${r}`] };
        servers[r] = await createCordonServer({
          policy,
          dataDir: tempDir(`cordon-${name}-${r}-`),
          storeUrls: stores,
          region: { name: r, peers },
          tokens,
          trustedProxies: ['127.0.0.1/32'],
        });
        await servers[r].app.listen({ port: ports[r], host: '127.0.0.1' });
      }),
    );
    // Each region writes its own subjects (placement refuses another region's).
    const regionOf: Record<string, Region> = { 'demo-us-1': 'us', 'demo-eu-1': 'eu', 'demo-br-1': 'global' };
    for (const u of DEMO_FIXED_USERS) await servers[regionOf[u['uid']!]!].placement.write('users', u['uid']!, u, 'create');
    for (const v of DEMO_FIXED_VIDEOS) await servers.us.placement.write('videos', String(v['id']), v, 'create');
  } catch (err) {
    await close();
    throw err;
  }
  const call: Regions['call'] = async (base, path, as, init = {}) => {
    const res = await fetch(`${base}${path}`, {
      method: init.method ?? 'GET',
      redirect: 'manual',
      headers: { ...(await sign(as, init.place)), ...(init.body === undefined ? {} : { 'content-type': 'application/json' }), ...init.headers },
      ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
    });
    const text = await res.text();
    return { status: res.status, headers: res.headers, json: text === '' ? {} : (JSON.parse(text) as Record<string, unknown>) };
  };
  return { policy, urls, servers, bases, tokens, sign, call, close };
}
