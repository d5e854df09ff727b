// Step shred: crypto-shredding in the enclave store, of subjects' data keys or of a whole KEK
// generation (after its live keys are re-wrapped), with a signed statement in the access log.

import { createHash } from 'node:crypto';
import { createDataKeys, subjectHash, DATA_KEYS_TABLE, type StoredRow } from '../store/index.js';
import { signNote } from '../log/index.js';
import { MigrateError } from './errors.js';
import { keyServiceFailure, type MigrateContext } from './context.js';
import { statementLines, signerOf } from './statements.js';

export interface ShredResult {
  readonly scope: 'subjects' | 'kek';
  readonly destroyed: number;
  readonly rewrapped: number;
  readonly kek: string | null;
  readonly statement: string;
  readonly logIndex: number;
}

export interface ShredOptions {
  /** Subject keys (of their subject dataset, e.g. users uid) whose data keys are destroyed. */
  readonly subjects?: readonly string[];
  /** Destroy the keys of subjects whose subject record exists in no store any more. */
  readonly deleted?: boolean;
  /** The subject dataset (default users, or the only dataset that is its own subject). */
  readonly subjectDataset: string;
  /** Destroy this KEK generation (`scope#N` or N) after re-wrapping its live keys under the newest one. */
  readonly kekGeneration?: string;
}

/**
 * Crypto-shredding in the enclave store: destroys data keys of subjects (their ciphertext, live or in
 * any copy, can then be read only while its KEK generation lives), or re-wraps every live key under
 * a new KEK generation and destroys the old one (every backup made before is then unreadable). The
 * key service is checked first: when it cannot be reached, nothing is destroyed.
 */
export async function shred(ctx: Omit<MigrateContext, 'mapping' | 'legacy'> & { readonly origin?: string }, options: ShredOptions): Promise<ShredResult> {
  if (!ctx.log || !ctx.statementKey) throw new Error('migrate: shred needs the access log and the statements key');
  const log = ctx.log;
  try {
    await ctx.keys.ping();
    await ctx.keys.generations(ctx.enclaveStore.name);
  } catch (err) {
    keyServiceFailure(err);
  }
  const dk = createDataKeys(ctx.enclaveStore, ctx.keys);
  await dk.ensure();
  const store = ctx.enclaveStore;
  const at = () => new Date((ctx.now ?? Date.now)()).toISOString();
  if (options.kekGeneration !== undefined) {
    const gens = await ctx.keys.generations(store.name);
    const wanted = /^\d+$/.test(options.kekGeneration) ? `${store.name}#${options.kekGeneration}` : options.kekGeneration;
    const gen = gens.find((g) => g.kek === wanted);
    if (!gen)
      throw new MigrateError('usage.invalid_argument', `the key service has no KEK ${wanted} (generations: ${gens.map((g) => g.kek).join(', ') || 'none'})`);
    let rewrapped = 0;
    if (gen.destroyedAt === null) {
      if (gen.active) await ctx.keys.rotate(store.name);
      // Re-wrap every live key under the active generation; each row is one atomic upsert, so a crash leaves every key readable under one of the two.
      let after: string | undefined;
      do {
        const page = await store.list(DATA_KEYS_TABLE, { limit: 1000, after, where: { kek: wanted } });
        const rows: StoredRow[] = [];
        for (const r of page.rows) {
          try {
            const dek = await ctx.keys.unwrap({ kek: String(r.values['kek']), wrapped: String(r.values['wrapped']) }, `${store.name}\u0000${r.key}`);
            const w = await ctx.keys.wrap(store.name, dek, `${store.name}\u0000${r.key}`);
            rows.push({ key: r.key, values: { kek: w.kek, wrapped: w.wrapped, created_at: r.values['created_at'] ?? null } });
          } catch (err) {
            keyServiceFailure(err);
          }
        }
        await store.upsertMany(DATA_KEYS_TABLE, rows);
        rewrapped += rows.length;
        after = page.next;
      } while (after !== undefined);
      const left = await store.list(DATA_KEYS_TABLE, { limit: 1, where: { kek: wanted } });
      if (left.rows.length > 0) throw new Error(`live data keys are still wrapped under ${wanted}; nothing was destroyed`);
      try {
        await ctx.keys.destroy(wanted);
      } catch (err) {
        keyServiceFailure(err);
      }
    }
    const t = at();
    const body = { scope: 'kek-generation', kek: wanted, store: store.name, 'live-keys-rewrapped': rewrapped, policy: ctx.policy.versionHash };
    const statement = signNote(statementLines('shred', log.origin, body, t), [signerOf(ctx.statementKey)]);
    const { index } = await log.append({
      v: 1,
      at: t,
      type: 'migrate.shred',
      scope: 'kek',
      kek: wanted,
      store: store.name,
      rewrapped,
      policyVersion: ctx.policy.versionHash,
      statement,
    });
    return { scope: 'kek', destroyed: 1, rewrapped, kek: wanted, statement, logIndex: index };
  }

  // Subjects: named ones, or those whose subject record is gone from every store.
  const prefix = `${options.subjectDataset}/`;
  const targets = new Set<string>((options.subjects ?? []).map((s) => prefix + s));
  if (options.deleted) {
    let after: string | undefined;
    do {
      const page = await store.list(DATA_KEYS_TABLE, { limit: 1000, after });
      const ids = page.rows.map((r) => r.key).filter((k) => k.startsWith(prefix));
      const subjectKeys = ids.map((k) => k.slice(prefix.length));
      const [inEnclave, inGlobal] = await Promise.all([
        store.getMany(options.subjectDataset, subjectKeys),
        ctx.globalStore.getMany(options.subjectDataset, subjectKeys),
      ]);
      for (const k of subjectKeys) if (!inEnclave.has(k) && !inGlobal.has(k)) targets.add(prefix + k);
      after = page.next;
    } while (after !== undefined);
  }
  const list = [...targets].sort();
  const destroyed = await store.deleteMany(DATA_KEYS_TABLE, list);
  const gens = await ctx.keys.generations(store.name);
  const hashes = list.map((s) => subjectHash(ctx.keys, options.subjectDataset, s.slice(prefix.length)) ?? '');
  const t = at();
  const body = {
    scope: 'subjects',
    store: store.name,
    'subjects-named': list.length,
    'keys-destroyed': destroyed,
    'subjects-sha256': createHash('sha256').update(hashes.join('\n')).digest('hex'),
    'backups-readable-until-shredded':
      gens
        .filter((g) => g.destroyedAt === null)
        .map((g) => g.kek)
        .join(',') || 'none',
    policy: ctx.policy.versionHash,
  };
  const statement = signNote(statementLines('shred', log.origin, body, t), [signerOf(ctx.statementKey)]);
  const { index } = await log.append({
    v: 1,
    at: t,
    type: 'migrate.shred',
    scope: 'subjects',
    store: store.name,
    subjects: hashes,
    destroyed,
    policyVersion: ctx.policy.versionHash,
    statement,
  });
  return { scope: 'subjects', destroyed, rewrapped: 0, kek: null, statement, logIndex: index };
}
