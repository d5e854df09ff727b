// Defaults and small helpers that several commands share. Kept apart from the commands, so that
// `cordon policy check` does not load the server to learn the default port (see main.ts).

import { fileURLToPath } from 'node:url';
import type { Policy } from '../policy/index.js';

export const DEFAULT_PORT = 7070;
/** The demo's PostgreSQL wire port (5432 is left to a PostgreSQL of the machine). */
export const DEFAULT_PG_PORT = 5433;
export const DEFAULT_DATA_DIR = '.cordon';
/** The demo policy shipped with cordon. Compiled to dist/src/cli/: the repo root is three levels up. */
export const DEMO_POLICY_DIR = fileURLToPath(new URL('../../../policies/demo', import.meta.url));

/** An address inside the network location of `site` (the base of its CIDR + 5), for demo requests. */
export function addressOfSite(policy: Policy, site: string): string | undefined {
  const loc = policy.deployment.locations.find((l) => l.site === site && l.cidr.includes('.') && !l.cidr.startsWith('127.'));
  if (!loc) return undefined;
  const parts = loc.cidr.split('/')[0]!.split('.').map(Number);
  parts[3] = (parts[3]! + 5) & 255;
  return parts.join('.');
}
