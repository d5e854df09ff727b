// Step purge: the protected legacy columns (or rows) of verified rows cleared, only under a clean
// verify that still matches the data, each batch re-checked row by row just before it is destroyed.

import { createHash } from 'node:crypto';
import { createDataKeys } from '../store/index.js';
import { signNote } from '../log/index.js';
import { MigrateError } from './errors.js';
import type { TableMapping } from './mapping.js';
import { ahead } from './pipeline.js';
import type { CryptoPool } from './crypto-pool.js';
import { MAX_LISTED, pingKeys, keyCache, withPool, type MigrateContext } from './context.js';
import { tableLogic, pages } from './table-logic.js';
import { ensureTables, loadState, saveState, type VerifyState } from './state.js';
import {
  rowHashing,
  fetchBatch,
  compareFetched,
  fetchedPages,
  legacyCleared,
  purgedAfterVerify,
  type RowHashing,
  type Compared,
  type Mismatch,
} from './compare.js';
import { statementLines, needLog, logKeyRelease, signerOf } from './statements.js';

interface PurgeState {
  verifyId: string;
  tables: Record<
    string,
    { cursor: string | null; done: boolean; purged: number; alreadyPurged: number; columns: number; pending?: { cursors: string[]; columns: number } }
  >;
  done: boolean;
  logIndex?: number;
}

export interface PurgeResult {
  readonly mode: 'null' | 'delete';
  readonly purged: number;
  readonly alreadyPurged: number;
  readonly columnsCleared: number;
  /** In-scope rows not covered by the verify (new since): left as they are. */
  readonly notVerified: number;
  /** Rows the verify counted that this purge neither purged nor found purged: 0 unless something is wrong. */
  readonly verifiedLeft: number;
  readonly statement: string;
  readonly logIndex: number;
  readonly resumed: boolean;
}

export async function purgeMigration(ctx: MigrateContext): Promise<PurgeResult> {
  return withPool(ctx, (pool) => purgeWith(ctx, pool));
}

/**
 * Purges the protected legacy columns (or rows) of in-scope rows, only under a verify with no
 * mismatches whose statement is in the log and still matches the data; each batch is re-checked
 * row by row (legacy value and decrypted enclave copy equal to the verified hash) just before its
 * single UPDATE/DELETE. Refusals throw MigrateError with the differences in `details`.
 */
async function purgeWith(ctx: MigrateContext, pool: CryptoPool): Promise<PurgeResult> {
  const { log, key } = needLog(ctx);
  await ensureTables(ctx);
  const vs = await loadState<VerifyState>(ctx, 'verify');
  if (!vs) throw new MigrateError('migrate.not_verified', `mapping ${ctx.mapping.name} has not been verified; run cordon migrate verify first`);
  if (vs.mismatches > 0)
    throw new MigrateError(
      'migrate.not_verified',
      `the last verify of ${ctx.mapping.name} (${vs.at}) found ${vs.mismatches} mismatches; fix them, run and verify again`,
    );
  if (vs.mappingSha256 !== ctx.mapping.sha256)
    throw new MigrateError(
      'migrate.not_verified',
      `the mapping file changed since the last verify (sha256 ${vs.mappingSha256.slice(0, 12)}… then, ${ctx.mapping.sha256.slice(0, 12)}… now); verify again`,
    );
  if (vs.policyVersion !== ctx.policy.versionHash)
    throw new MigrateError(
      'migrate.not_verified',
      `the policy changed since the last verify (${vs.policyVersion.slice(0, 12)}… then, ${ctx.policy.versionHash.slice(0, 12)}… now); verify again`,
    );
  const logged = await log.record(vs.logIndex);
  if (!logged || (logged.record as { statement?: unknown }).statement !== vs.statement) {
    throw new MigrateError('migrate.not_verified', `the verify statement of ${vs.at} is not at index ${vs.logIndex} of the access log; verify again`);
  }
  await pingKeys(ctx.keys);
  const dk = createDataKeys(ctx.enclaveStore, ctx.keys);
  await dk.ensure();
  const keysFor = keyCache(dk);
  const hashing = rowHashing(ctx, pool);
  const size = ctx.batchSize ?? ctx.mapping.batchSize;

  let ps = await loadState<PurgeState>(ctx, 'purge');
  const resumed = ps !== undefined && ps.verifyId === vs.verifyId && !ps.done;
  if (ps?.verifyId === vs.verifyId && ps.done) {
    const rec = ps.logIndex === undefined ? undefined : await log.record(ps.logIndex);
    return {
      mode: ctx.mapping.purge,
      ...purgeTotals(ps, vs),
      notVerified: 0,
      statement: String((rec?.record as { statement?: string } | undefined)?.statement ?? ''),
      logIndex: ps.logIndex ?? -1,
      resumed: false,
    };
  }
  await logKeyRelease(ctx, log, 'purge');
  if (!resumed) {
    // Nothing destroyed yet: the whole data must still match the verified statement.
    await recheck(ctx, vs, keysFor, hashing);
    ps = { verifyId: vs.verifyId, tables: {}, done: false };
    await saveState(ctx, 'purge', ps);
  }
  const state = ps!;
  let notVerified = 0;
  for (const lt of purgeOrder(ctx.legacy.tables)) {
    const t = lt.mapping;
    state.tables[t.table] ??= { cursor: null, done: false, purged: 0, alreadyPurged: 0, columns: 0 };
    const ts = state.tables[t.table]!;
    if (ts.done) continue;
    const total = ctx.onProgress ? await lt.count() : 0;
    let seen = 0;
    const logic = tableLogic(ctx, t);
    if (ts.pending) {
      // Killed between a batch's DELETE and the save after it: the rows are gone (one statement:
      // all or none) and count as purged; if they are still there the batch is read again below.
      if ((await lt.existing(ts.pending.cursors)).size === 0) {
        ts.purged += ts.pending.cursors.length;
        ts.columns += ts.pending.columns;
      }
      delete ts.pending;
      await saveState(ctx, 'purge', state);
    }
    // Pages are read one at a time, just before they are checked and purged (no read-ahead here:
    // what is destroyed is what was compared a moment before).
    for await (const rows of pages(lt, ts.cursor, size)) {
      const f = await fetchBatch(ctx, t, logic, rows, keysFor, true);
      const compared = await compareFetched(t, logic, hashing, f);
      const stored = f.stored;
      const toPurge: Compared[] = [];
      const changed: Mismatch[] = [];
      // Counted into the state only with the batch's cursor, so a batch read again is not counted twice.
      let already = 0;
      for (const r of compared) {
        const s = stored.get(`${ctx.mapping.name}/${t.table}/${r.key}`);
        if (!s || s['verify'] !== vs.verifyId) {
          notVerified++;
          continue;
        }
        const want = String(s['hash']);
        if (r.enclave !== want) {
          changed.push({
            table: t.table,
            key: r.key,
            problem: r.enclave === undefined ? 'missing from the enclave' : `the enclave copy no longer matches the verified row (${r.problem ?? 'differs'})`,
          });
          continue;
        }
        if (r.legacy === want) toPurge.push(r);
        else if (legacyCleared(r)) already++;
        else changed.push({ table: t.table, key: r.key, problem: 'the legacy row changed since verify' });
      }
      if (changed.length > 0) {
        await saveState(ctx, 'purge', state);
        throw new MigrateError(
          'migrate.data_changed',
          `${changed.length} rows of ${t.table} differ from the verified statement; nothing of this batch was purged:\n${changed
            .slice(0, MAX_LISTED)
            .map((c) => `  ${c.table} ${c.key}: ${c.problem}`)
            .join('\n')}`,
          changed,
        );
      }
      if (ctx.mapping.purge === 'delete') {
        const cursors = toPurge.map((r) => r.cursor);
        const columns = toPurge.reduce((n, r) => n + r.c.purgeColumns.length, 0);
        // Saved before the rows go, so that a purge killed right after the DELETE still counts them.
        ts.pending = { cursors, columns };
        await saveState(ctx, 'purge', state);
        await lt.deleteRows(cursors);
        delete ts.pending;
        ts.columns += columns;
      } else {
        const groups = new Map<string, Compared[]>();
        for (const r of toPurge) {
          const cols = r.c.purgeColumns.join('\u0000');
          if (cols !== '') groups.set(cols, [...(groups.get(cols) ?? []), r]);
        }
        for (const [cols, rs] of groups) {
          const columns = cols.split('\u0000');
          const notNull = columns.filter((c) => lt.notNull.has(c));
          if (notNull.length > 0)
            throw new MigrateError(
              'migrate.type_mismatch',
              `${t.table}.${notNull.join(', ')} ${notNull.length > 1 ? 'are' : 'is'} NOT NULL, so purge: null cannot clear ${notNull.length > 1 ? 'them' : 'it'}; use purge: delete in the mapping`,
            );
          await lt.nullColumns(
            rs.map((r) => r.cursor),
            columns,
          );
          ts.columns += rs.length * columns.length;
        }
      }
      ts.purged += toPurge.length;
      ts.alreadyPurged += already;
      ts.cursor = rows[rows.length - 1]!.cursor;
      seen += rows.length;
      await saveState(ctx, 'purge', state);
      ctx.onProgress?.({ step: 'purge', table: t.table, done: seen, total });
    }
    ts.done = true;
    await saveState(ctx, 'purge', state);
  }
  const totals = purgeTotals(state, vs);
  const { verifiedLeft } = totals;
  const at = new Date((ctx.now ?? Date.now)()).toISOString();
  const body = {
    mapping: `${ctx.mapping.name} sha256:${ctx.mapping.sha256}`,
    enclave: ctx.mapping.enclave,
    policy: ctx.policy.versionHash,
    verify: `${vs.logIndex} sha256:${vs.root}`,
    mode: ctx.mapping.purge,
    'rows-purged': totals.purged + totals.alreadyPurged,
    'columns-cleared': totals.columnsCleared,
    'not-verified-left': notVerified,
    'verified-left': verifiedLeft,
  };
  const statement = signNote(statementLines('purge', log.origin, body, at), [signerOf(key)]);
  const { index } = await log.append({
    v: 1,
    at,
    type: 'migrate.purge',
    mapping: ctx.mapping.name,
    enclave: ctx.mapping.enclave,
    verifyIndex: vs.logIndex,
    rowHashes: vs.root,
    mode: ctx.mapping.purge,
    purged: totals.purged + totals.alreadyPurged,
    columns: totals.columnsCleared,
    notVerified,
    verifiedLeft,
    policyVersion: ctx.policy.versionHash,
    statement,
  });
  state.done = true;
  state.logIndex = index;
  await saveState(ctx, 'purge', state);
  return { mode: ctx.mapping.purge, ...totals, notVerified, statement, logIndex: index, resumed };
}

/**
 * A purge's counts over its tables. Every verified row is purged or found purged; one that is
 * neither is counted in verifiedLeft (and said so in the statement).
 */
function purgeTotals(state: PurgeState, vs: VerifyState): { purged: number; alreadyPurged: number; columnsCleared: number; verifiedLeft: number } {
  let purged = 0;
  let alreadyPurged = 0;
  let columnsCleared = 0;
  for (const t of Object.values(state.tables)) {
    purged += t.purged;
    alreadyPurged += t.alreadyPurged;
    columnsCleared += t.columns;
  }
  return { purged, alreadyPurged, columnsCleared, verifiedLeft: Math.max(0, vs.verified - purged - alreadyPurged) };
}

/**
 * The tables in the order purge takes them: a table whose rows find their jurisdiction in another
 * (a clip through its owner's account) before that one, so that deleting (or clearing) the rows
 * looked up never leaves the rows that look them up without a jurisdiction, and so unpurged. In
 * the mapping's order otherwise; a cycle of lookups keeps the mapping's order for its tables.
 */
function purgeOrder<T extends { readonly mapping: TableMapping }>(tables: readonly T[]): T[] {
  const left = [...tables];
  const out: T[] = [];
  const looksUp = (y: T, x: T): boolean => y !== x && y.mapping.jurisdiction.from === 'lookup' && y.mapping.jurisdiction.table === x.mapping.table;
  while (left.length > 0) {
    // The first table no other remaining table looks up.
    const i = left.findIndex((x) => !left.some((y) => looksUp(y, x)));
    if (i === -1) return [...out, ...left];
    out.push(left.splice(i, 1)[0]!);
  }
  return out;
}

/** The whole data against the verified statement: same root, or a refusal naming the differing rows. */
async function recheck(ctx: MigrateContext, vs: VerifyState, keysFor: ReturnType<typeof keyCache>, hashing: RowHashing): Promise<void> {
  const root = createHash('sha256');
  const diffs: Mismatch[] = [];
  let n = 0;
  for (const lt of ctx.legacy.tables) {
    const t = lt.mapping;
    const logic = tableLogic(ctx, t);
    for await (const f of ahead(fetchedPages(ctx, lt, logic, keysFor, true))) {
      const compared = await compareFetched(t, logic, hashing, f);
      const stored = f.stored;
      for (const r of compared) {
        n++;
        const s = stored.get(`${ctx.mapping.name}/${t.table}/${r.key}`);
        const want = s && s['verify'] === vs.verifyId ? String(s['hash']) : undefined;
        // Verified after an earlier purge: the legacy side is empty, the verified hash is the enclave's.
        const legacy = want !== undefined && purgedAfterVerify(r, s) === want ? want : r.legacy;
        root.update(`${t.table}\u0000${r.key}\u0000${legacy}\n`);
        if (diffs.length >= MAX_LISTED) continue;
        if (want === undefined) diffs.push({ table: t.table, key: r.key, problem: 'in scope now, not in the verified statement' });
        else if (legacy !== want) diffs.push({ table: t.table, key: r.key, problem: 'the legacy row changed since verify' });
        else if (r.enclave !== want) diffs.push({ table: t.table, key: r.key, problem: `the enclave copy changed since verify (${r.problem ?? 'differs'})` });
      }
    }
  }
  const now = root.digest('hex');
  if (now !== vs.root || diffs.length > 0) {
    const head = `the data no longer matches the verify statement at log index ${vs.logIndex} (row hashes sha256:${vs.root.slice(0, 16)}… verified over ${vs.counts.inScope} rows, sha256:${now.slice(0, 16)}… now over ${n}); nothing was purged`;
    const lines = diffs.map((d) => `  ${d.table} ${d.key}: ${d.problem}`);
    if (diffs.length === 0)
      lines.push(`  ${vs.counts.inScope - n > 0 ? `${vs.counts.inScope - n} verified rows are gone or out of scope` : 'rows left scope or changed order'}`);
    throw new MigrateError('migrate.data_changed', `${head}:\n${lines.join('\n')}`, diffs);
  }
}
