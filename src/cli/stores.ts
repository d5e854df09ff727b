// `--store NAME=URL`: where a store of cordon.yaml really is, for commands that open stores. A
// relative pglite path given on the command line is taken from the current directory, as any path
// typed there; the stores cordon.yaml names relatively live in the data directory (runtime.ts).

import { isAbsolute, resolve } from 'node:path';
import type { Policy } from '../policy/index.js';
import { resolveStoreUrls } from '../server/runtime.js';
import { UsageError } from './output.js';

/** The overrides, by store name, with relative pglite paths made absolute. */
export function storeOverrides(policy: Policy, overrides: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const kv of overrides) {
    const eq = kv.indexOf('=');
    const name = kv.slice(0, eq);
    if (eq <= 0 || !policy.deployment.stores.has(name))
      throw new UsageError(
        `--store must be NAME=URL with NAME a store of cordon.yaml (${[...policy.deployment.stores.keys()].join(', ')}), got ${JSON.stringify(kv.replace(/\/\/[^@/]*@/, '//***@'))}`,
      );
    let url = kv.slice(eq + 1);
    if (url.startsWith('pglite://')) {
      const path = url.slice('pglite://'.length);
      if (path !== '' && path !== 'memory' && !isAbsolute(path)) url = `pglite://${resolve(path)}`;
    }
    out[name] = url;
  }
  return out;
}

/** Every store's URL: cordon.yaml's under the data directory's rule, with `--store` overrides. */
export function storeUrls(policy: Policy, dataDir: string, overrides: readonly string[]): Map<string, string> {
  return resolveStoreUrls(policy, dataDir, storeOverrides(policy, overrides));
}
