// `cordon up --region R --peer NAME=URL --store NAME=URL`: one region's gateway on its own hosts
// (policy/region.ts). Checked before anything opens: the region is an enclave of cordon.yaml, each
// peer is another region with an http(s) URL, and no --store names a store the region does not open
// (a regional gateway holds no other region's store credentials).

import { regionEnclave, regionStores, RegionConfigError, type Policy } from '../policy/index.js';
import { storeOverrides } from './stores.js';
import { UsageError } from './output.js';

export interface RegionFlags {
  readonly region?: string;
  readonly peer: readonly string[];
  readonly store: readonly string[];
  readonly demo?: boolean;
  readonly pgPort?: string;
}

export interface RegionSetup {
  readonly name: string;
  readonly peers: Readonly<Record<string, string>>;
  /** The stores the region opens. */
  readonly stores: readonly string[];
}

/** The region, its peers and its store overrides, or usage errors (exit 2) naming the flag. */
export function regionSetup(flags: RegionFlags, policy: Policy): { region: RegionSetup | undefined; storeUrls: Readonly<Record<string, string>> | undefined } {
  const storeUrls = flags.store.length > 0 ? storeOverrides(policy, flags.store) : undefined;
  if (flags.region === undefined) {
    if (flags.peer.length > 0) throw new UsageError('--peer goes with --region (the region this gateway serves)');
    return { region: undefined, storeUrls };
  }
  if (flags.demo) throw new UsageError('--region does not go with --demo (the demo seeds every region into stores of one process)');
  if (flags.pgPort !== undefined) throw new UsageError('--region does not go with --pg-port yet: the wire gateway serves one process holding every store');
  let name: string;
  try {
    name = regionEnclave(policy, flags.region).name;
  } catch (err) {
    if (err instanceof RegionConfigError) throw new UsageError(err.message);
    throw err;
  }
  const stores = regionStores(policy, name);
  for (const s of Object.keys(storeUrls ?? {}))
    if (!stores.includes(s))
      throw new UsageError(`--store ${s}: region ${name} opens only ${stores.join(' and ')}; another region's store is that region's gateways' to open`);
  const peers: Record<string, string> = {};
  for (const p of flags.peer) {
    const eq = p.indexOf('=');
    const peer = p.slice(0, eq);
    const url = p.slice(eq + 1);
    if (eq <= 0 || !/^https?:\/\/[^\s/]+(\/\S*)?$/.test(url))
      throw new UsageError(`--peer must be REGION=URL (e.g. eu=http://10.41.1.2:8080), got ${JSON.stringify(p.slice(0, 80))}`);
    if (!policy.deployment.enclaves.has(peer))
      throw new UsageError(`--peer ${peer}: not an enclave of cordon.yaml (${[...policy.deployment.enclaves.keys()].join(', ')})`);
    if (peer === name) throw new UsageError(`--peer ${peer}: that is this gateway's own region`);
    if (peer in peers) throw new UsageError(`--peer ${peer} is given twice`);
    peers[peer] = url.replace(/\/+$/, '');
  }
  return { region: { name, peers, stores }, storeUrls };
}
