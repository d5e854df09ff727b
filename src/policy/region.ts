// A region: one enclave of cordon.yaml served by its own gateways (cordon up --region NAME), on its
// own hosts. A regional gateway opens the global store and its enclave's store only, keeps its own
// access log (in its enclave's store, origin `<access_log.origin>/<region>`) and its own keys; a
// record whose subject is of another region's jurisdiction is that region's to read and write.

import type { Enclave, Policy } from './model.js';
import { didYouMean } from '../shared/suggest.js';
import { CordonError } from '../shared/errors.js';

/** A region that cordon.yaml does not define (cordon up exits 2 with it). */
export class RegionConfigError extends CordonError {
  constructor(message: string) {
    super('usage.invalid_argument', message);
    this.name = 'RegionConfigError';
  }
}

/** The enclave a region names; throws RegionConfigError naming the enclaves when there is none. */
export function regionEnclave(policy: Policy, region: string): Enclave {
  const enclave = policy.deployment.enclaves.get(region);
  if (!enclave)
    throw new RegionConfigError(
      `--region ${JSON.stringify(region)} is not an enclave of cordon.yaml (${[...policy.deployment.enclaves.keys()].join(', ')})${didYouMean(region, policy.deployment.enclaves.keys())}`,
    );
  return enclave;
}

/** The policy as one region's gateway uses it: its access log in its own enclave's store, under its own origin. */
export function regionalPolicy(policy: Policy, region: string): Policy {
  const enclave = regionEnclave(policy, region);
  const { deployment } = policy;
  // Already this region's (cordon up makes it, and the server is given it): unchanged.
  if (deployment.region === enclave.name) return policy;
  if (deployment.region !== undefined) throw new RegionConfigError(`the policy is region ${deployment.region}'s, not ${enclave.name}'s`);
  return {
    ...policy,
    deployment: {
      ...deployment,
      region: enclave.name,
      // The backdoor finder reads only this region's stores' audit trails (it holds no other's credentials).
      flows: { ...deployment.flows, audit: deployment.flows.audit?.filter((a) => a.store === enclave.store || a.store === deployment.globalStore) },
      accessLog: { ...deployment.accessLog, store: enclave.store, origin: `${deployment.accessLog.origin}/${enclave.name}` },
    },
  };
}

/** The stores a region's gateway opens: the global store and its enclave's. */
export function regionStores(policy: Policy, region: string): string[] {
  return [...new Set([policy.deployment.globalStore, regionEnclave(policy, region).store])];
}

/** The region (enclave name) that serves a jurisdiction. */
export function regionOfJurisdiction(policy: Policy, jurisdiction: string): string | undefined {
  return policy.deployment.jurisdictions.get(jurisdiction)?.enclave;
}
