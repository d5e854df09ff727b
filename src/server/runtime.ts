// A runtime: what a cordon process opens to work on its state — the policy's stores, the keys, the
// access log, the access broker — with one ordered list of what to close. `cordon up`, `migrate`
// and `scan` open theirs here, so every command finds the same files in the same place and closes
// whatever it opened, also when opening fails halfway. The CLI imports this file directly (a public
// entry beside index.ts), so that an offline command does not load the HTTP server.
//
// The data directory holds all state:
//   <data-dir>/keys/master.key, kek-ring.json   the key service (data keys are wrapped under its KEKs)
//   <data-dir>/keys/log.key, log.vkey           the access log's signing key
//   <data-dir>/keys/statements.key              the broker's and migration's statement key
//   <data-dir>/demo/                            the demo's tokens, verifier key and seeding marker
//   <data-dir>/<path>, <data-dir>/<path>.lock   an embedded store `pglite://<path>` of cordon.yaml
//                                               named relatively, and its owner's lock
// A relative `pglite://` path in cordon.yaml is read from the data directory, never from the
// working directory, and may not leave it (`..`); an absolute one is taken as written.

import { mkdirSync, statSync } from 'node:fs';
import { isAbsolute, join, relative, resolve } from 'node:path';
import type { Policy } from '../policy/index.js';
import { CordonError } from '../shared/errors.js';
import { openFileKeyService, openStore, StoreLockedError, type KeyService, type Store } from '../store/index.js';
import { openAccessLog, openLogSigner, type AccessLog, type AccessLogOptions } from '../log/index.js';
import { openAccessBroker, type AccessBroker, type BrokerOptions } from '../access/index.js';

/** Where each file of a data directory is (the layout above). */
export interface DataPaths {
  readonly root: string;
  readonly keys: string;
  readonly masterKey: string;
  readonly logKey: string;
  readonly logVkey: string;
  readonly statementsKey: string;
  readonly demo: string;
  readonly demoTokens: string;
  readonly demoVkey: string;
  readonly demoSeeded: string;
}

export function dataPaths(dataDir: string): DataPaths {
  const root = resolve(dataDir);
  const keys = join(root, 'keys');
  const demo = join(root, 'demo');
  return {
    root,
    keys,
    masterKey: join(keys, 'master.key'),
    logKey: join(keys, 'log.key'),
    logVkey: join(keys, 'log.vkey'),
    statementsKey: join(keys, 'statements.key'),
    demo,
    demoTokens: join(demo, 'tokens.json'),
    demoVkey: join(demo, 'log.vkey'),
    demoSeeded: join(demo, 'seeded.json'),
  };
}

/** Why a runtime could not open: `exit` is the CLI's exit code (2 input, 3 could not reach or read). */
export class RuntimeError extends CordonError {
  constructor(
    message: string,
    readonly exit: 2 | 3,
  ) {
    super(exit === 2 ? 'server.invalid_setup' : 'server.unavailable', message);
    this.name = 'RuntimeError';
  }
}

const redact = (url: string) => url.replace(/\/\/[^@/]*@/, '//***@');

/**
 * The URL each store of cordon.yaml is opened at: `overrides` (already absolute, from `--store` or a
 * test) win; a relative `pglite://PATH` is `pglite://<data-dir>/PATH`; an absolute one and
 * `postgres://` are as written. A relative path that leaves the data directory is refused.
 */
export function resolveStoreUrls(policy: Policy, dataDir: string, overrides: Readonly<Record<string, string>> = {}): Map<string, string> {
  const root = resolve(dataDir);
  const out = new Map<string, string>();
  for (const s of policy.deployment.stores.values()) {
    const override = overrides[s.name];
    if (override !== undefined) {
      out.set(s.name, override);
      continue;
    }
    if (!s.url.startsWith('pglite://')) {
      out.set(s.name, s.url);
      continue;
    }
    const path = s.url.slice('pglite://'.length);
    if (path === '' || path === 'memory' || isAbsolute(path)) {
      out.set(s.name, s.url);
      continue;
    }
    const full = resolve(root, path);
    const rel = relative(root, full);
    if (rel === '' || rel.startsWith('..') || isAbsolute(rel)) {
      throw new RuntimeError(
        `cordon.yaml stores.${s.name}: ${JSON.stringify(s.url)} leaves the data directory; name an embedded store by a path inside it (e.g. pglite://stores/${s.name}), or by an absolute path`,
        2,
      );
    }
    out.set(s.name, `pglite://${full}`);
  }
  return out;
}

/** Makes sure the data directory exists and is a writable directory (2 when it is a file, 3 when it cannot be made or written). */
export function ensureDataDir(dataDir: string): void {
  const root = resolve(dataDir);
  let isDir: boolean | undefined;
  try {
    isDir = statSync(root).isDirectory();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT')
      throw new RuntimeError(`cannot write in the data directory ${root}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, 3);
  }
  if (isDir === false) throw new RuntimeError(`the data directory ${root} is a file, not a directory (--data-dir)`, 2);
  try {
    mkdirSync(join(root, 'keys'), { recursive: true, mode: 0o700 });
  } catch (err) {
    throw new RuntimeError(`cannot write in the data directory ${root}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, 3);
  }
}

/** An ordered list of things to close: the last opened is closed first; every close runs even when one fails. */
export class Closer {
  private readonly items: { what: string; close: () => unknown }[] = [];
  private closing: Promise<void> | undefined;

  add(what: string, close: () => unknown): void {
    this.items.push({ what, close });
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      const errors: string[] = [];
      while (this.items.length > 0) {
        const item = this.items.pop()!;
        try {
          await item.close();
        } catch (err) {
          errors.push(`${item.what}: ${(err as Error).message}`);
        }
      }
      if (errors.length > 0) throw new Error(`closing failed: ${errors.join('; ')}`);
    })();
    return this.closing;
  }
}

export interface RuntimeOptions {
  readonly policy: Policy;
  readonly dataDir: string;
  /** Store URLs that win over cordon.yaml's (absolute paths), by store name. */
  readonly storeUrls?: Readonly<Record<string, string>>;
  /** Which stores to open (default: every store of cordon.yaml). */
  readonly stores?: readonly string[];
  /** Connections per PostgreSQL store. */
  readonly poolSize?: number;
  /** The key service: made on first use ('create'), or it must exist ('existing'), or not opened. */
  readonly keys?: 'create' | 'existing' | false;
  /** Open the access log (in its store; the store must be among `stores`). */
  readonly log?: Omit<AccessLogOptions, 'store' | 'signerKey'> | boolean;
  /** Read the statement key (made on first use). */
  readonly statements?: boolean;
  /** Open the access broker (needs keys, the log and statements). */
  readonly broker?: Omit<BrokerOptions, 'policy' | 'store' | 'log' | 'keys' | 'signerKey'>;
}

export interface Runtime {
  readonly policy: Policy;
  readonly paths: DataPaths;
  readonly stores: ReadonlyMap<string, Store>;
  readonly keys: KeyService | undefined;
  readonly log: AccessLog | undefined;
  readonly statementKey: string | undefined;
  readonly broker: AccessBroker | undefined;
  /** What the caller opens on top is closed before the runtime's own parts. */
  readonly closer: Closer;
  close(): Promise<void>;
}

/** What failed, said once: `open store enclave_us (pglite:/…): …`. */
function failed(what: string, err: unknown): Error {
  if (err instanceof RuntimeError) return err;
  if (err instanceof StoreLockedError) return new RuntimeError(err.message, 3);
  const code = (err as NodeJS.ErrnoException).code;
  const exit = code === 'EACCES' || code === 'EPERM' || code === 'EROFS' || code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'ETIMEDOUT' ? 3 : 2;
  return new RuntimeError(`cannot open ${what}: ${(err as Error).message}`, exit);
}

/**
 * Opens what `options` asks for, in order — data directory, stores (each embedded one locked), keys,
 * access log, statement key, broker — and closes what it opened if a later part fails.
 */
export async function openRuntime(options: RuntimeOptions): Promise<Runtime> {
  const { policy } = options;
  const paths = dataPaths(options.dataDir);
  ensureDataDir(paths.root);
  const urls = resolveStoreUrls(policy, paths.root, options.storeUrls);
  const closer = new Closer();
  const stores = new Map<string, Store>();
  let keys: KeyService | undefined;
  let log: AccessLog | undefined;
  let statementKey: string | undefined;
  let broker: AccessBroker | undefined;
  try {
    const names = options.stores ?? [...policy.deployment.stores.keys()];
    for (const name of names) {
      const url = urls.get(name);
      if (url === undefined) throw new RuntimeError(`cordon.yaml has no store ${JSON.stringify(name)}`, 2);
      let store: Store;
      try {
        store = await openStore(name, url, { baseDir: paths.root, ...(options.poolSize ? { poolSize: options.poolSize } : {}) });
      } catch (err) {
        throw failed(`store ${name} (${redact(url)})`, err);
      }
      stores.set(name, store);
      closer.add(`store ${name}`, () => store.close());
    }
    if (options.keys) {
      try {
        keys = openFileKeyService(paths.masterKey, { create: options.keys === 'create' });
      } catch (err) {
        throw failed(`the key service (${paths.masterKey})`, err);
      }
    }
    const logConfig = policy.deployment.accessLog;
    if (options.log) {
      const store = stores.get(logConfig.store);
      if (!store) throw new RuntimeError(`the access log's store ${logConfig.store} is not open`, 2);
      try {
        const signer = openLogSigner(paths.logKey, logConfig.origin);
        log = await openAccessLog({ ...(typeof options.log === 'object' ? options.log : {}), store, signerKey: signer.skey });
      } catch (err) {
        throw failed(`the access log (store ${logConfig.store}, key ${paths.logKey})`, err);
      }
      const opened = log;
      // Flushes the entries in flight and signs a last checkpoint.
      closer.add('the access log', () => opened.close());
    }
    if (options.statements || options.broker) {
      try {
        statementKey = openLogSigner(paths.statementsKey, `${logConfig.origin}/statements`).skey;
      } catch (err) {
        throw failed(`the statement key (${paths.statementsKey})`, err);
      }
    }
    if (options.broker) {
      if (!keys || !log) throw new RuntimeError('the access broker needs the key service and the access log', 2);
      try {
        broker = await openAccessBroker({ ...options.broker, policy, store: stores.get(logConfig.store)!, log, keys, signerKey: statementKey! });
      } catch (err) {
        throw failed('the access broker', err);
      }
      const opened = broker;
      closer.add('the access broker', () => opened.close());
    }
  } catch (err) {
    await closer.close().catch(() => undefined);
    throw err;
  }
  return { policy, paths, stores, keys, log, statementKey, broker, closer, close: () => closer.close() };
}
