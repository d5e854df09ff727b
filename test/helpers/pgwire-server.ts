// A cordon server for the wire gateway's tests: embedded stores in memory, the demo's token issuer,
// the local host trusted as a proxy (so a PROXY header or cordon.forwarded_for names the place), and
// the wire gateway listening on a free loopback port. Tests seed its stores themselves.
import { createCordonServer, createDemoIssuer, type CordonServer, type DemoIssuer } from '../../src/server/index.js';
import type { Policy } from '../../src/policy/index.js';
import { tempDir } from './temp.js';

/** Where three personas work (addresses inside the demo's cordon.yaml locations): a PROXY header or cordon.forwarded_for names them. */
export const FROM: Readonly<Record<string, string>> = { 'beijing-engineer': '10.80.0.5', 'us-analyst': '10.21.0.5', 'austin-engineer': '10.20.0.5' };

export interface WireServer {
  readonly server: CordonServer;
  readonly issuer: DemoIssuer;
  /** The wire gateway's port on 127.0.0.1. */
  readonly port: number;
}

export async function startWireServer(policy: Policy, dirPrefix: string): Promise<WireServer> {
  const issuer = await createDemoIssuer();
  const server = await createCordonServer({
    policy,
    dataDir: tempDir(dirPrefix),
    tokens: { issuer: issuer.issuer, audience: issuer.audience, jwks: issuer.jwks },
    storeUrls: Object.fromEntries([...policy.deployment.stores.keys()].map((s) => [s, 'pglite://memory'])),
    trustedProxies: ['127.0.0.1/32'],
    log: { checkpointEveryMs: 50 },
    pgWire: true,
  });
  const port = (await server.pg!.listen(0, '127.0.0.1')).port;
  return { server, issuer, port };
}
