// The key service: where key material comes from (never from config files in clear). The default is
// a local file-backed service: one 32-byte master secret in a file only its owner may read (0600),
// from which keys are derived per purpose and name with HKDF-SHA-256. The interface fits an external
// KMS or HSM that derives or wraps keys the same way.
//
// Key-encryption keys (KEKs) wrap the per-subject data keys of encryption at rest. They are NOT
// derived from the master secret (a derived key cannot be destroyed without destroying the master):
// each generation is 32 random bytes in a keyring file beside it (0600), so destroying one
// generation makes every data key wrapped under it — in the live store or in any backup —
// unrecoverable, while the other generations and the tokenize keys keep working.

import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes } from 'node:crypto';
import { alive } from './lock.js';
import {
  chmodSync,
  closeSync,
  existsSync,
  fsyncSync,
  linkSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { BoundedCache } from '../shared/bounded-cache.js';
import { CordonError } from '../shared/errors.js';

export type KeyPurpose = 'tokenize' | 'migrate';

export interface KeyService {
  /** 32 bytes, stable for one (purpose, name), unrelated across names. */
  key(purpose: KeyPurpose, name: string): Buffer;
  /**
   * Wraps a data key under the active KEK generation of `scope` (an enclave store), creating
   * generation 1 on first use. `context` is bound to the wrapped key (AES-GCM associated data): it
   * MUST be given again, unchanged, to unwrap.
   */
  wrap(scope: string, dataKey: Buffer, context: string): Promise<WrappedKey>;
  /** Unwraps; throws KeyServiceError (`destroyed` when the KEK generation was shredded, `unavailable` when the service cannot be reached). */
  unwrap(wrapped: WrappedKey, context: string): Promise<Buffer>;
  /** wrap() of many data keys under one scope in one call (one request to a KMS); results in order. */
  wrapMany(scope: string, items: readonly { readonly dataKey: Buffer; readonly context: string }[]): Promise<WrappedKey[]>;
  /**
   * unwrap() of many keys in one call; results in order, each the data key or the KeyServiceError
   * unwrap() would have thrown for that key (`destroyed`, `unknown_kek`, `bad_key`). Throws only when
   * the service as a whole fails (`unavailable`, a keyring it cannot trust).
   */
  unwrapMany(items: readonly { readonly wrapped: WrappedKey; readonly context: string }[]): Promise<(Buffer | KeyServiceError)[]>;
  /** The KEK generations of a scope, oldest first. */
  generations(scope: string): Promise<KekGeneration[]>;
  /** Makes a new generation the active one for `scope`; earlier ones still unwrap until destroyed. */
  rotate(scope: string): Promise<KekGeneration>;
  /** Destroys a generation's key material for good. MUST NOT be called while live data keys are wrapped under it. */
  destroy(kek: string): Promise<void>;
  /** Resolves when the service can wrap and unwrap (for a KMS: reachable and authorised). */
  ping(): Promise<void>;
}

/** A data key wrapped by a KEK: `kek` names the generation (`scope#N`), `wrapped` is base64 (iv, tag, ciphertext). */
export interface WrappedKey {
  readonly kek: string;
  readonly wrapped: string;
}

export interface KekGeneration {
  readonly kek: string;
  readonly scope: string;
  readonly generation: number;
  readonly createdAt: string;
  readonly destroyedAt: string | null;
  readonly active: boolean;
}

/** The registry code of each reason a key service fails. */
const KEY_SERVICE_CODES = {
  destroyed: 'store.kek_destroyed',
  unavailable: 'store.key_service_unavailable',
  unknown_kek: 'store.unknown_kek',
  bad_key: 'store.bad_key',
} as const;

export class KeyServiceError extends CordonError {
  declare readonly code: (typeof KEY_SERVICE_CODES)[keyof typeof KEY_SERVICE_CODES];
  constructor(
    readonly reason: keyof typeof KEY_SERVICE_CODES,
    message: string,
    options?: { readonly cause?: unknown },
  ) {
    super(KEY_SERVICE_CODES[reason], message, options);
    this.name = 'KeyServiceError';
  }
}

export const MASTER_KEY_BYTES = 32;

/** The master key file is missing (and not to be created), unsafe, or not a key. */
export class KeyFileError extends CordonError {
  constructor(message: string) {
    super('store.bad_key_file', message);
    this.name = 'KeyFileError';
  }
}

/**
 * Opens (or, with `create`, creates) the master secret at `path`. Refuses a file that group or
 * others may read or write: a key anyone on the host can read protects nothing.
 */
export function openFileKeyService(path: string, options: { create?: boolean; keyringPath?: string } = {}): KeyService {
  if (!existsSync(path)) {
    if (!options.create) throw new KeyFileError(`key file ${path} does not exist`);
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    // Written whole under another name, then linked into place: a process that makes the same data
    // dir's key at the same moment either wins or reads the winner's, never half a file.
    const tmp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    writeFileSync(tmp, `${randomBytes(MASTER_KEY_BYTES).toString('base64')}\n`, { mode: 0o600, flag: 'wx' });
    chmodSync(tmp, 0o600);
    try {
      linkSync(tmp, path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    } finally {
      rmSync(tmp, { force: true });
    }
  }
  const mode = statSync(path).mode & 0o777;
  if ((mode & 0o077) !== 0) throw new KeyFileError(`key file ${path} has mode ${mode.toString(8)}; it must be 600 (readable by its owner only)`);
  const master = Buffer.from(readFileSync(path, 'utf8').trim(), 'base64');
  if (master.length !== MASTER_KEY_BYTES) throw new KeyFileError(`key file ${path} must hold ${MASTER_KEY_BYTES} bytes in base64`);
  const cache = new Map<string, Buffer>();
  const ring = openKeyring(options.keyringPath ?? join(dirname(path), KEYRING_FILE));
  return {
    ...ring,
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
  // Kept per key service (bounded): the same subjects are read again and again, and the hash is on
  // every access record. The cache holds record keys and their hashes, no field values.
  let cache = subjectHashes.get(keys);
  if (!cache) {
    cache = new BoundedCache(MAX_CACHED_SUBJECT_HASHES);
    subjectHashes.set(keys, cache);
  }
  const id = `${dataset}\u0000${subject}`;
  let h = cache.get(id);
  if (h === undefined) {
    h = createHmac('sha256', keys.key('tokenize', 'access-log-subjects')).update(id).digest('base64url');
    cache.set(id, h);
  }
  return h;
}
const subjectHashes = new WeakMap<KeyService, BoundedCache<string, string>>();
/** At most twice this many subjects' hashes are kept (BoundedCache). */
const MAX_CACHED_SUBJECT_HASHES = 10_000;

/** The KEK keyring beside the master key file (default name). */
export const KEYRING_FILE = 'kek-ring.json';
/** How long a keyring change waits for another process's (a change takes milliseconds). */
const LOCK_WAIT_MS = 10_000;
const LOCK_SLEEP = new Int32Array(new SharedArrayBuffer(4));

const KEK_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;

interface KeyringFile {
  v: 1;
  keks: { scope: string; generation: number; key: string | null; createdAt: string; destroyedAt: string | null }[];
}

/**
 * The file-backed KEK service: generations in a 0600 JSON file, replaced atomically (write, fsync,
 * rename) on rotate and destroy, and re-read when asked for a generation it does not know (another
 * process rotated). The keyring is created on first wrap.
 */
function openKeyring(path: string): Pick<KeyService, 'wrap' | 'unwrap' | 'wrapMany' | 'unwrapMany' | 'generations' | 'rotate' | 'destroy' | 'ping'> {
  let state: KeyringFile | undefined;
  const load = (): KeyringFile => {
    if (!existsSync(path)) return { v: 1, keks: [] };
    const mode = statSync(path).mode & 0o777;
    if ((mode & 0o077) !== 0) throw new KeyServiceError('bad_key', `keyring ${path} has mode ${mode.toString(8)}; it must be 600 (readable by its owner only)`);
    let parsed: KeyringFile;
    try {
      parsed = JSON.parse(readFileSync(path, 'utf8')) as KeyringFile;
    } catch (err) {
      // JSON.parse quotes the text around a syntax error, here KEK bytes: never in the message.
      const why = err instanceof SyntaxError ? 'it is not valid JSON' : (err as Error).message;
      throw new KeyServiceError('unavailable', `keyring ${path} cannot be read: ${why}`, { cause: err });
    }
    if (parsed.v !== 1 || !Array.isArray(parsed.keks)) throw new KeyServiceError('bad_key', `keyring ${path} is not a cordon keyring (v 1)`);
    return parsed;
  };
  // Re-read whenever the file changed (another process rotated or destroyed a generation): a
  // destroyed KEK must stop unwrapping here too, not live on in memory.
  let seen = '';
  // KEKs decoded from base64, dropped whenever the keyring is re-read (a destroyed generation's bytes do not outlive it here).
  const decoded = new Map<string, Buffer>();
  const current = (reload = false): KeyringFile => {
    let stamp = 'absent';
    try {
      const st = statSync(path);
      stamp = `${st.mtimeMs}:${st.size}:${st.ino}`;
    } catch {
      // absent: an empty keyring until the first wrap creates it
    }
    if (!state || reload || stamp !== seen) {
      decoded.clear();
      state = load();
      seen = stamp;
    }
    return state;
  };
  const save = (next: KeyringFile): void => {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    const tmp = `${path}.${process.pid}.tmp`;
    writeFileSync(tmp, `${JSON.stringify(next, null, 1)}\n`, { mode: 0o600 });
    const fd = openSync(tmp, 'r');
    fsyncSync(fd);
    closeSync(fd);
    renameSync(tmp, path);
    const dir = openSync(dirname(path), 'r');
    fsyncSync(dir);
    closeSync(dir);
    decoded.clear();
    state = next;
  };
  /**
   * Runs a read-modify-write of the keyring with its lock file held (`kek-ring.json.lock`, made
   * exclusively, with the holder's pid): processes sharing a data dir (workers, several gateways of a
   * region) must not both add a generation #1 and have the last rename win, leaving the other's data
   * keys unreadable. A lock whose process is gone is taken over.
   */
  const locked = <T>(fn: () => T): T => {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    const lock = `${path}.lock`;
    const deadline = Date.now() + LOCK_WAIT_MS;
    for (;;) {
      try {
        const fd = openSync(lock, 'wx', 0o600);
        writeSync(fd, String(process.pid));
        closeSync(fd);
        break;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        let holder = 0;
        try {
          holder = Number(readFileSync(lock, 'utf8'));
        } catch {
          continue; // released between the two calls
        }
        if (holder > 0 && !alive(holder)) {
          rmSync(lock, { force: true });
          continue;
        }
        if (Date.now() > deadline) throw new KeyServiceError('unavailable', `keyring ${path} is locked by process ${holder} (${lock})`);
        Atomics.wait(LOCK_SLEEP, 0, 0, 2);
      }
    }
    try {
      return fn();
    } finally {
      rmSync(lock, { force: true });
    }
  };
  const idOf = (scope: string, generation: number) => `${scope}#${generation}`;
  const parseId = (kek: string): { scope: string; generation: number } => {
    const i = kek.lastIndexOf('#');
    const generation = Number(kek.slice(i + 1));
    if (i <= 0 || !Number.isInteger(generation) || generation < 1)
      throw new KeyServiceError('unknown_kek', `${JSON.stringify(kek)} does not name a KEK generation (scope#N)`);
    return { scope: kek.slice(0, i), generation };
  };
  /** The keyring entry of a generation in `ring`, re-reading the file once if it is not there (another process rotated). */
  const find = (kek: string, ring: KeyringFile = current()) => {
    const { scope, generation } = parseId(kek);
    let e = ring.keks.find((k) => k.scope === scope && k.generation === generation);
    if (!e) e = current(true).keks.find((k) => k.scope === scope && k.generation === generation);
    if (!e) throw new KeyServiceError('unknown_kek', `the key service has no KEK ${kek}`);
    return e;
  };
  const kekBytes = (b64: string): Buffer => {
    let k = decoded.get(b64);
    if (!k) {
      k = Buffer.from(b64, 'base64');
      decoded.set(b64, k);
    }
    return k;
  };
  /** Adds a generation; the caller holds the lock. */
  const addGeneration = (scope: string): KekGeneration => {
    const ring = current(true);
    const generation = Math.max(0, ...ring.keks.filter((k) => k.scope === scope).map((k) => k.generation)) + 1;
    const entry = { scope, generation, key: randomBytes(KEK_BYTES).toString('base64'), createdAt: new Date().toISOString(), destroyedAt: null };
    save({ v: 1, keks: [...ring.keks, entry] });
    return { kek: idOf(scope, generation), scope, generation, createdAt: entry.createdAt, destroyedAt: null, active: true };
  };
  const rotate = (scope: string): KekGeneration => locked(() => addGeneration(scope));
  const newestLive = (ring: KeyringFile, scope: string) =>
    ring.keks.filter((k) => k.scope === scope && k.key !== null).sort((a, b) => b.generation - a.generation)[0];
  const active = (scope: string) => {
    const newest = newestLive(current(), scope);
    if (newest) return newest;
    // The first KEK of a scope: made once, under the lock, unless another process made it first.
    return locked(() => {
      const made = newestLive(current(true), scope);
      if (made) return made;
      addGeneration(scope);
      return newestLive(current(), scope)!;
    });
  };
  const aad = (kek: string, context: string) => Buffer.from(`cordon-dek-v1\u0000${kek}\u0000${context}`);
  const wrapWith = (kek: string, key: Buffer, iv: Buffer, dataKey: Buffer, context: string): WrappedKey => {
    const c = createCipheriv('aes-256-gcm', key, iv);
    c.setAAD(aad(kek, context));
    const ct = c.update(dataKey);
    c.final();
    return { kek, wrapped: Buffer.concat([iv, c.getAuthTag(), ct]).toString('base64') };
  };
  const unwrapWith = (e: KeyringFile['keks'][number], w: WrappedKey, context: string): Buffer => {
    if (e.key === null) throw new KeyServiceError('destroyed', `KEK ${w.kek} was destroyed at ${e.destroyedAt}; keys wrapped under it cannot be recovered`);
    const raw = Buffer.from(w.wrapped, 'base64');
    const d = createDecipheriv('aes-256-gcm', kekBytes(e.key), raw.subarray(0, IV_BYTES));
    d.setAAD(aad(w.kek, context));
    d.setAuthTag(raw.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
    try {
      const out = d.update(raw.subarray(IV_BYTES + TAG_BYTES));
      d.final();
      return out;
    } catch {
      throw new KeyServiceError('bad_key', `a data key wrapped under ${w.kek} does not unwrap (tampered, or bound to another subject)`);
    }
  };
  return {
    async wrap(scope, dataKey, context) {
      const e = active(scope);
      return wrapWith(idOf(scope, e.generation), kekBytes(e.key!), randomBytes(IV_BYTES), dataKey, context);
    },
    async unwrap(w, context) {
      return unwrapWith(find(w.kek), w, context);
    },
    // One look at the keyring file for the whole batch: the same freshness as one unwrap() call.
    async wrapMany(scope, items) {
      if (items.length === 0) return [];
      const e = active(scope);
      const kek = idOf(scope, e.generation);
      const key = kekBytes(e.key!);
      const ivs = randomBytes(IV_BYTES * items.length);
      return items.map((it, i) => wrapWith(kek, key, ivs.subarray(i * IV_BYTES, (i + 1) * IV_BYTES), it.dataKey, it.context));
    },
    async unwrapMany(items) {
      if (items.length === 0) return [];
      const ring = current();
      const entries = new Map<string, KeyringFile['keks'][number] | KeyServiceError>();
      return items.map((it) => {
        let e = entries.get(it.wrapped.kek);
        if (e === undefined) {
          try {
            e = find(it.wrapped.kek, ring);
          } catch (err) {
            if (!(err instanceof KeyServiceError) || err.reason !== 'unknown_kek') throw err;
            e = err;
          }
          entries.set(it.wrapped.kek, e);
        }
        if (e instanceof KeyServiceError) return e;
        try {
          return unwrapWith(e, it.wrapped, it.context);
        } catch (err) {
          if (err instanceof KeyServiceError) return err;
          throw err;
        }
      });
    },
    async generations(scope) {
      const ring = current(true)
        .keks.filter((k) => k.scope === scope)
        .sort((a, b) => a.generation - b.generation);
      const newest = ring.filter((k) => k.key !== null).at(-1)?.generation;
      return ring.map((k) => ({
        kek: idOf(k.scope, k.generation),
        scope: k.scope,
        generation: k.generation,
        createdAt: k.createdAt,
        destroyedAt: k.destroyedAt,
        active: k.generation === newest,
      }));
    },
    async rotate(scope) {
      return rotate(scope);
    },
    async destroy(kek) {
      find(kek);
      const { scope, generation } = parseId(kek);
      locked(() => {
        const ring = current(true);
        save({
          v: 1,
          keks: ring.keks.map((k) =>
            k.scope === scope && k.generation === generation && k.key !== null ? { ...k, key: null, destroyedAt: new Date().toISOString() } : k,
          ),
        });
      });
    },
    async ping() {
      current(true);
    },
  };
}
