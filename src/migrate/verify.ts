// Step verify: every in-scope row compared by keyed hash (legacy value, decrypted enclave copy), the
// hashes stored for purge, and a signed statement in the access log.

import { createHash, randomUUID } from 'node:crypto';
import { createDataKeys, type Row, type StoredRow } from '../store/index.js';
import { signNote } from '../log/index.js';
import { ahead, quiet } from './pipeline.js';
import type { CryptoPool } from './crypto-pool.js';
import { MAX_LISTED, pingKeys, keyCache, withPool, type MigrateContext } from './context.js';
import { zero, add, tableLogic, type Counts } from './table-logic.js';
import { ROW_HASH_TABLE, ensureTables, saveState, type VerifyState } from './state.js';
import { rowHashing, rowHashId, compareFetched, fetchedPages, legacyCleared, purgedAfterVerify, type Mismatch } from './compare.js';
import { statementLines, needLog, logKeyRelease, signerOf } from './statements.js';

export interface VerifyResult {
  readonly counts: Counts;
  readonly verified: number;
  /** Of the verified rows, those whose legacy copy a purge already cleared (their enclave copy still matches the earlier verify). */
  readonly legacyPurged: number;
  readonly mismatches: number;
  readonly listed: readonly Mismatch[];
  readonly root: string;
  readonly statement: string;
  readonly logIndex: number;
}

export async function verifyMigration(ctx: MigrateContext): Promise<VerifyResult> {
  return withPool(ctx, (pool) => verifyWith(ctx, pool));
}

/** Compares every in-scope row; stores the row hashes; appends a signed statement (even with mismatches, which it counts). */
async function verifyWith(ctx: MigrateContext, pool: CryptoPool): Promise<VerifyResult> {
  const { log, key } = needLog(ctx);
  await pingKeys(ctx.keys);
  await ensureTables(ctx);
  const dk = createDataKeys(ctx.enclaveStore, ctx.keys);
  await dk.ensure();
  const keysFor = keyCache(dk);
  const hashing = rowHashing(ctx, pool);
  await logKeyRelease(ctx, log, 'verify');
  const verifyId = randomUUID();
  const root = createHash('sha256');
  let counts = zero();
  let verified = 0;
  let legacyPurged = 0;
  let mismatches = 0;
  const listed: Mismatch[] = [];
  for (const lt of ctx.legacy.tables) {
    const t = lt.mapping;
    const logic = tableLogic(ctx, t);
    let tc = zero();
    const total = ctx.onProgress ? await lt.count() : 0;
    // While a page is decrypted and hashed, the next one is read on both sides; its row hashes are
    // written while the next page is compared (all written before the statement is made).
    let writing: Promise<void> = Promise.resolve();
    try {
      for await (const f of ahead(fetchedPages(ctx, lt, logic, keysFor, false))) {
        tc = add(tc, f.counts);
        const compared = await compareFetched(t, logic, hashing, f);
        // Rows that differ with their protected legacy columns empty may have been purged after an
        // earlier verify: their stored hashes are read (only theirs) to tell.
        const emptied = compared.filter((r) => r.problem !== undefined && r.c.purgeColumns.length > 0 && legacyCleared(r));
        const stored =
          emptied.length === 0
            ? new Map<string, Row>()
            : await ctx.enclaveStore.getMany(
                ROW_HASH_TABLE,
                emptied.map((r) => rowHashId(ctx, t, r.key)),
              );
        const hashes: StoredRow[] = [];
        for (const r of compared) {
          // A row purged after an earlier verify keeps that verify's hash (its legacy side is empty now).
          const purged = r.problem === undefined ? undefined : purgedAfterVerify(r, stored.get(rowHashId(ctx, t, r.key)));
          const h = purged ?? r.legacy;
          root.update(`${t.table}\u0000${r.key}\u0000${h}\n`);
          hashes.push({ key: rowHashId(ctx, t, r.key), values: { hash: h, verify: verifyId } });
          if (purged !== undefined) {
            verified++;
            legacyPurged++;
          } else if (r.problem === undefined) verified++;
          else {
            mismatches++;
            if (listed.length < MAX_LISTED) listed.push({ table: t.table, key: r.key, problem: r.problem });
          }
        }
        await writing;
        const done = tc.rows;
        writing = quiet(
          ctx.enclaveStore.upsertMany(ROW_HASH_TABLE, dedupe(hashes)).then(() => ctx.onProgress?.({ step: 'verify', table: t.table, done, total })),
        );
      }
      await writing;
    } finally {
      await writing.catch(() => undefined);
    }
    counts = add(counts, tc);
  }
  const rootHex = root.digest('hex');
  const at = new Date((ctx.now ?? Date.now)()).toISOString();
  const body = {
    mapping: `${ctx.mapping.name} sha256:${ctx.mapping.sha256}`,
    enclave: ctx.mapping.enclave,
    policy: ctx.policy.versionHash,
    'rows-read': counts.rows,
    'rows-in-scope': counts.inScope,
    verified,
    'verified-legacy-purged': legacyPurged,
    mismatches,
    'out-of-scope': counts.outOfScope,
    'untouched-no-subject': counts.noSubject,
    'untouched-unknown-jurisdiction': counts.unknownJurisdiction,
    'row-hashes': `sha256:${rootHex}`,
  };
  const statement = signNote(statementLines('verify', log.origin, body, at), [signerOf(key)]);
  const { index } = await log.append({
    v: 1,
    at,
    type: 'migrate.verify',
    mapping: ctx.mapping.name,
    mappingSha256: ctx.mapping.sha256,
    enclave: ctx.mapping.enclave,
    counts,
    verified,
    legacyPurged,
    mismatches,
    rowHashes: rootHex,
    policyVersion: ctx.policy.versionHash,
    statement,
  });
  const state: VerifyState = {
    verifyId,
    root: rootHex,
    counts,
    verified,
    mismatches,
    mappingSha256: ctx.mapping.sha256,
    policyVersion: ctx.policy.versionHash,
    statement,
    logIndex: index,
    at,
  };
  await saveState(ctx, 'verify', state);
  return { counts, verified, legacyPurged, mismatches, listed, root: rootHex, statement, logIndex: index };
}

function dedupe(rows: StoredRow[]): StoredRow[] {
  return [...new Map(rows.map((r) => [r.key, r])).values()];
}
