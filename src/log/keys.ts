// The log's signing key on disk: a signed-note private key in a 0600 file, created on first use,
// with the public verifier key written beside it (`log.vkey`) for outsiders.

import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { generateSignerKey, parseSignerKey } from './note.js';
import { CordonError } from '../shared/errors.js';

export class LogKeyError extends CordonError {
  constructor(message: string) {
    super('log.bad_key', message);
  }
}

export interface LogSignerFiles {
  readonly skey: string;
  readonly vkey: string;
  readonly vkeyPath: string;
}

/** Opens (or creates) the signing key of the log named `origin` at `path`; `path.vkey` holds its verifier key. */
export function openLogSigner(path: string, origin: string): LogSignerFiles {
  const vkeyPath = `${path.replace(/\.key$/, '')}.vkey`;
  if (!existsSync(path)) {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    const { skey } = generateSignerKey(origin);
    writeFileSync(path, `${skey}\n`, { mode: 0o600, flag: 'wx' });
  }
  const mode = statSync(path).mode & 0o777;
  if (mode & 0o077) throw new LogKeyError(`${path} is readable by others (mode ${mode.toString(8)}); run chmod 600 ${path}`);
  const skey = readFileSync(path, 'utf8').trim();
  let signer: ReturnType<typeof parseSignerKey>;
  try {
    signer = parseSignerKey(skey);
  } catch (err) {
    throw new LogKeyError(`${path} does not hold a signed-note private key: ${(err as Error).message}`);
  }
  if (signer.name !== origin) {
    throw new LogKeyError(
      `${path} is the key of log ${JSON.stringify(signer.name)}, but the policy names the log ${JSON.stringify(origin)} (access_log.origin); a log's origin never changes — move the old key away to start a new log`,
    );
  }
  writeFileSync(vkeyPath, `${signer.vkey}\n`);
  chmodSync(vkeyPath, 0o644);
  return { skey, vkey: signer.vkey, vkeyPath };
}
