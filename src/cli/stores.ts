// Where the stores of cordon.yaml are, for commands that open them: the URLs of cordon.yaml, with
// `--store NAME=URL` overrides (relative pglite paths are taken from the current directory).

import type { Policy } from '../policy/index.js';
import { UsageError } from './output.js';

export function storeUrls(policy: Policy, overrides: readonly string[]): Map<string, string> {
  const urls = new Map([...policy.deployment.stores.values()].map((s) => [s.name, s.url]));
  for (const kv of overrides) {
    const eq = kv.indexOf('=');
    const name = kv.slice(0, eq);
    if (eq <= 0 || !urls.has(name)) throw new UsageError(`--store must be NAME=URL with NAME a store of cordon.yaml (${[...urls.keys()].join(', ')}), got ${JSON.stringify(kv.replace(/\/\/[^@/]*@/, '//***@'))}`);
    urls.set(name, kv.slice(eq + 1));
  }
  return urls;
}
