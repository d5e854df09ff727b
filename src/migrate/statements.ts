// What the steps write to the access log: the text of their signed statements and its signer, the
// check that a step has a log and a statements key, and the key.release record made before anything
// is decrypted.

import { migrationKeyReleaseRecord, parseSignerKey, type AccessLog } from '../log/index.js';
import type { MigrateContext } from './context.js';

export function statementLines(kind: string, origin: string, body: Record<string, string | number>, at: string): string {
  return `${[`cordon migrate ${kind} v1`, origin, ...Object.entries(body).map(([k, v]) => `${k} ${v}`), `at ${at}`].join('\n')}\n`;
}

export function needLog(ctx: MigrateContext): { log: AccessLog; key: string } {
  if (!ctx.log || !ctx.statementKey) throw new Error('migrate: verify, purge and shred need the access log and the statements key');
  return { log: ctx.log, key: ctx.statementKey };
}

/**
 * Logs, before anything is decrypted, that this step releases to this process the data keys of the
 * mapping's in-scope subjects (as the gateway logs each key it is given): one key.release record
 * for the step, durable before the first decryption; if it cannot be written, nothing is decrypted.
 */
export async function logKeyRelease(ctx: MigrateContext, log: AccessLog, step: 'verify' | 'purge'): Promise<void> {
  const at = new Date((ctx.now ?? Date.now)()).toISOString();
  await log.append(
    migrationKeyReleaseRecord({
      at,
      step,
      mapping: ctx.mapping.name,
      mappingSha256: ctx.mapping.sha256,
      enclave: ctx.mapping.enclave,
      reason: `cordon migrate ${step}: the data keys of the mapping's in-scope subjects, to compare their enclave copies with the legacy rows (only row hashes leave the process)`,
      policyVersion: ctx.policy.versionHash,
    }),
  );
}

const parsedSigners = new Map<string, ReturnType<typeof parseSignerKey>>();
/** Statement signers, parsed once per key. */
export function signerOf(key: string): ReturnType<typeof parseSignerKey> {
  let s = parsedSigners.get(key);
  if (!s) {
    s = parseSignerKey(key);
    parsedSigners.set(key, s);
  }
  return s;
}
