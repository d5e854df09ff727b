// The key service: where key material comes from (never from config files in clear). The default is
// a local file-backed service: one 32-byte master secret in a file only its owner may read (0600),
// from which keys are derived per purpose and name with HKDF-SHA-256. The interface fits an external
// KMS or HSM that derives or wraps keys the same way.

import { createHmac, hkdfSync, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

export type KeyPurpose = 'tokenize';

export interface KeyService {
  /** 32 bytes, stable for one (purpose, name), unrelated across names. */
  key(purpose: KeyPurpose, name: string): Buffer;
}

export const MASTER_KEY_BYTES = 32;

export class KeyFileError extends Error {}

/**
 * Opens (or, with `create`, creates) the master secret at `path`. Refuses a file that group or
 * others may read or write: a key anyone on the host can read protects nothing.
 */
export function openFileKeyService(path: string, options: { create?: boolean } = {}): KeyService {
  if (!existsSync(path)) {
    if (!options.create) throw new KeyFileError(`key file ${path} does not exist`);
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    writeFileSync(path, `${randomBytes(MASTER_KEY_BYTES).toString('base64')}\n`, { mode: 0o600, flag: 'wx' });
    chmodSync(path, 0o600);
  }
  const mode = statSync(path).mode & 0o777;
  if ((mode & 0o077) !== 0) throw new KeyFileError(`key file ${path} has mode ${mode.toString(8)}; it must be 600 (readable by its owner only)`);
  const master = Buffer.from(readFileSync(path, 'utf8').trim(), 'base64');
  if (master.length !== MASTER_KEY_BYTES) throw new KeyFileError(`key file ${path} must hold ${MASTER_KEY_BYTES} bytes in base64`);
  const cache = new Map<string, Buffer>();
  return {
    key(purpose, name) {
      const info = `cordon:${purpose}:${name}`;
      let k = cache.get(info);
      if (!k) {
        k = Buffer.from(hkdfSync('sha256', master, Buffer.from('cordon-key-service-v1'), Buffer.from(info), 32));
        cache.set(info, k);
      }
      return k;
    },
  };
}

/** The keyed hash that names a subject in access records (no personal data in the log). */
export function subjectHash(keys: KeyService, dataset: string, subject: string | undefined): string | null {
  if (subject === undefined) return null;
  return createHmac('sha256', keys.key('tokenize', 'access-log-subjects')).update(`${dataset}\u0000${subject}`).digest('base64url');
}
