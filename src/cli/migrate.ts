// `cordon migrate plan|run|verify|purge|shred`: move the protected data of in-scope subjects from a
// legacy PostgreSQL database into the enclave, prove it arrived, destroy the legacy copies, and
// crypto-shred what cannot be reached. Exit 0 on success, 1 on a refusal or mismatch, 2 on bad
// usage or input, 3 when the legacy database, a store, the key service or a named file cannot be
// reached or read. `purge` and `shred` destroy data: they need --yes, or "yes" typed at a terminal.
// Progress (rows/s, ETA) goes to stderr on a TTY only.

import { createInterface } from 'node:readline/promises';
import { Command } from 'commander';
import { checkPolicy, formatIssue, type Policy } from '../policy/index.js';
import { KeyFileError, openFileKeyService, type KeyService } from '../store/index.js';
import type { AccessLog } from '../log/index.js';
import {
  loadMapping,
  openLegacy,
  planMigration,
  purgeMigration,
  runMigration,
  shred,
  verifyMigration,
  MigrateError,
  MAX_BATCH_SIZE,
  type LegacyDb,
  type Mapping,
  type MigrateContext,
  type Progress,
} from '../migrate/index.js';
import { EXIT_FINDING, EXIT_OK, UsageError, displayUrl, mustRead, printJson, table } from './output.js';
import { storeOverrides } from './stores.js';
import { dataPaths, openRuntime, type Runtime } from '../server/runtime.js';

interface CommonOptions {
  policy: string;
  from?: string;
  map?: string;
  dataDir: string;
  store: string[];
  batch?: string;
  json?: boolean;
}

const collect = (value: string, previous: string[]): string[] => [...previous, value];

function loadPolicyOrThrow(dir: string): Policy {
  mustRead(dir, '--policy');
  const checked = checkPolicy(dir);
  if (!checked.policy) throw new UsageError(`policy ${dir} is invalid (run cordon policy check ${dir}):\n${checked.issues.map(formatIssue).join('\n')}`);
  return checked.policy;
}

/** --from and a readable --map, checked before anything is opened (or a purge is confirmed). */
function requireLegacyOptions(opts: CommonOptions): { from: string; map: string } {
  if (!opts.from) throw new UsageError('--from postgres://… (the legacy database) is required');
  if (!opts.map) throw new UsageError('--map FILE (the mapping) is required');
  mustRead(opts.map, '--map');
  return { from: opts.from, map: opts.map };
}

/**
 * Destroying data needs consent: --yes, or "yes" typed at a terminal. Without --yes off a terminal
 * it is a UsageError (exit 2); called before anything is opened, so a refusal changes nothing.
 */
async function confirmDestroy(yes: boolean | undefined, what: string): Promise<void> {
  if (yes) return;
  if (!process.stdin.isTTY || !process.stderr.isTTY) throw new UsageError(`${what}: pass --yes to confirm; nothing was changed`);
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = await new Promise<string>((done) => {
      rl.once('close', () => done(''));
      rl.question(`${what}. Type yes to go on: `).then(done, () => done(''));
    });
    if (answer.trim() !== 'yes') throw new UsageError('not confirmed; nothing was changed');
  } finally {
    rl.close();
  }
}

function openKeys(dataDir: string, create: boolean): KeyService {
  try {
    return openFileKeyService(dataPaths(dataDir).masterKey, { create });
  } catch (err) {
    if (err instanceof KeyFileError) throw new MigrateError('migrate.key_service_unavailable', `${err.message}; nothing was destroyed`);
    throw err;
  }
}

/**
 * The stores a step works on (the enclave's, the global one, and the access log's when it logs),
 * each embedded one locked for this process, then the keys, the log and the statement key. A store
 * a running `cordon up` holds is refused here, before anything is written.
 */
async function openStep(
  policy: Policy,
  opts: { dataDir: string; store: string[] },
  enclaveStore: string,
  needs: { log: boolean; createKeys: boolean },
): Promise<{ runtime: Runtime; keys: KeyService }> {
  const names = [...new Set([enclaveStore, policy.deployment.globalStore, ...(needs.log ? [policy.deployment.accessLog.store] : [])])];
  const runtime = await openRuntime({
    policy,
    dataDir: opts.dataDir,
    storeUrls: storeOverrides(policy, opts.store),
    stores: names,
    poolSize: 4,
    keys: false,
    log: needs.log,
    statements: needs.log,
  });
  try {
    return { runtime, keys: openKeys(opts.dataDir, needs.createKeys) };
  } catch (err) {
    await runtime.close();
    throw err;
  }
}

function batchOf(v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > MAX_BATCH_SIZE)
    throw new UsageError(`--batch must be an integer from 1 to ${MAX_BATCH_SIZE}, got ${JSON.stringify(v)}`);
  return n;
}

/** rows/s and ETA on one stderr line, on a TTY only. */
function progressPrinter(): ((p: Progress) => void) | undefined {
  if (!process.stderr.isTTY) return undefined;
  const started = Date.now();
  let last = 0;
  return (p) => {
    const t = Date.now();
    if (t - last < 200 && p.done < p.total) return;
    last = t;
    const rate = p.done / Math.max(0.001, (t - started) / 1000);
    const eta = p.total > p.done && rate > 0 ? `${Math.ceil((p.total - p.done) / rate)} s` : '-';
    process.stderr.write(`\r${p.step} ${p.table}: ${p.done}/${p.total} rows, ${Math.round(rate)} rows/s, ETA ${eta}   `);
    if (p.done >= p.total) process.stderr.write('\n');
  };
}

interface Opened {
  policy: Policy;
  mapping: Mapping;
  legacy: LegacyDb;
  runtime: Runtime;
  ctx: MigrateContext;
  log?: AccessLog;
}

/** Opens what a step needs; everything is closed by `close`. */
async function open(opts: CommonOptions, needs: { log: boolean; createKeys: boolean }): Promise<Opened> {
  if (!opts.from) throw new UsageError('--from postgres://… (the legacy database) is required');
  if (!opts.map) throw new UsageError('--map FILE (the mapping) is required');
  const batchSize = batchOf(opts.batch);
  const policy = loadPolicyOrThrow(opts.policy);
  const mapping = loadMapping(opts.map, policy);
  const enclaveName = policy.deployment.enclaves.get(mapping.enclave)!.store;
  const { runtime, keys } = await openStep(policy, opts, enclaveName, needs);
  let legacy: LegacyDb;
  try {
    legacy = await openLegacy(opts.from, mapping);
  } catch (err) {
    await runtime.close();
    throw err;
  }
  const log = runtime.log;
  const ctx: MigrateContext = {
    policy,
    mapping,
    legacy,
    enclaveStore: runtime.stores.get(enclaveName)!,
    globalStore: runtime.stores.get(policy.deployment.globalStore)!,
    keys,
    log,
    statementKey: runtime.statementKey,
    batchSize,
    onProgress: progressPrinter(),
  };
  return { policy, mapping, legacy, runtime, ctx, log };
}

async function close(o: Opened): Promise<void> {
  try {
    await o.runtime.close();
  } finally {
    await o.legacy.close();
  }
}

function common(c: Command, withLegacy = true): Command {
  if (withLegacy) {
    c.option('--from <url>', 'the legacy PostgreSQL database (postgres://…)').option('--map <file>', 'the mapping file (YAML)');
  }
  return c
    .requiredOption('--policy <dir>', 'policy directory (cordon.yaml names the enclave, global and log stores)')
    .option('--data-dir <dir>', 'where keys/ lives (master key, KEK keyring, log and statement keys)', '.cordon')
    .option('--store <name=url>', 'override a store URL of cordon.yaml (repeatable)', collect, [])
    .option('--json', 'print the result as JSON');
}

function untouchedLines(list: readonly { table: string; key: string | null; cursor: string; why: string }[]): string[] {
  return list.map((u) => `  ${u.table} row ${u.cursor}${u.key === null ? '' : ` (key ${u.key})`}: ${u.why}, left untouched`);
}

export function migrateCommand(): Command {
  const cmd = new Command('migrate').description(
    'move protected data from a legacy database into the enclave, verify it, purge the legacy copies, and crypto-shred keys',
  );

  cmd.addCommand(
    common(
      new Command('plan').description('what would move: mapped columns and their classes, rows in scope, out of scope and untouched (writes nothing)'),
    ).action(async (opts: CommonOptions) => {
      const { from, map } = requireLegacyOptions(opts);
      const policy = loadPolicyOrThrow(opts.policy);
      const mapping = loadMapping(map, policy);
      const legacy = await openLegacy(from, mapping);
      try {
        const plan = await planMigration({ policy, mapping, legacy, batchSize: batchOf(opts.batch) });
        if (opts.json) printJson(plan);
        else {
          process.stdout.write(
            `migration ${plan.mapping} into enclave ${plan.enclave} (jurisdictions ${plan.jurisdictions.join(', ')}); purge: ${plan.purge}\n`,
          );
          for (const t of plan.tables) {
            process.stdout.write(`\n${t.table} -> ${t.dataset}\n`);
            process.stdout.write(
              `${table(
                ['column', 'field', 'kind', 'class'],
                t.columns.map((c) => [
                  c.column,
                  c.field,
                  c.kind,
                  Object.entries(c.classes)
                    .map(([j, k]) => `${j}: ${k}`)
                    .join(', '),
                ]),
              )}\n`,
            );
            process.stdout.write(
              `rows ${t.counts.rows}, in scope ${t.counts.inScope}, out of scope ${t.counts.outOfScope}, no subject ${t.counts.noSubject}, unknown jurisdiction ${t.counts.unknownJurisdiction}\n`,
            );
            process.stdout.write(
              `by jurisdiction: ${
                Object.entries(t.byJurisdiction)
                  .map(([j, n]) => `${j} ${n}`)
                  .join(', ') || '-'
              }\n`,
            );
            process.stdout.write(
              `purge may clear: ${t.purgeable.join(', ') || '-'}${t.keptProtected.length ? `; kept (they identify rows): ${t.keptProtected.join(', ')}` : ''}\n`,
            );
          }
          if (plan.untouched.length > 0)
            process.stdout.write(`\nuntouched rows (first ${plan.untouched.length}):\n${untouchedLines(plan.untouched).join('\n')}\n`);
        }
        process.exitCode = EXIT_OK;
      } finally {
        await legacy.close();
      }
    }),
  );

  cmd.addCommand(
    common(new Command('run').description('copy in-scope rows into the enclave in batches (encrypting); resumable after a crash at any point'))
      .option('--batch <n>', "rows per batch (default: the mapping's batch_size)")
      .option('--restart', 'copy from the first row again instead of resuming (idempotent)')
      .action(async (opts: CommonOptions & { restart?: boolean }) => {
        requireLegacyOptions(opts);
        const o = await open(opts, { log: true, createKeys: true });
        try {
          const r = await runMigration(o.ctx, { restart: opts.restart });
          await o.log!.append({
            v: 1,
            at: new Date().toISOString(),
            type: 'migrate.run',
            mapping: o.mapping.name,
            mappingSha256: o.mapping.sha256,
            enclave: o.mapping.enclave,
            counts: r.totals,
            policyVersion: o.policy.versionHash,
          });
          if (opts.json) printJson(r);
          else {
            process.stdout.write(
              `${table(
                ['table', 'rows', 'moved', 'out of scope', 'no subject', 'unknown jurisdiction', 'resumed'],
                r.tables.map((t) => [
                  t.table,
                  String(t.counts.rows),
                  String(t.counts.inScope),
                  String(t.counts.outOfScope),
                  String(t.counts.noSubject),
                  String(t.counts.unknownJurisdiction),
                  t.alreadyDone ? 'already done' : t.resumedFrom === null ? 'no' : 'yes',
                ]),
              )}\n`,
            );
            if (r.untouched.length > 0) process.stdout.write(`untouched rows (first ${r.untouched.length}):\n${untouchedLines(r.untouched).join('\n')}\n`);
          }
          process.exitCode = EXIT_OK;
        } finally {
          await close(o);
        }
      }),
  );

  cmd.addCommand(
    common(new Command('verify').description('compare every in-scope row (legacy vs decrypted enclave copy) and append a signed statement to the access log'))
      .option('--batch <n>', 'rows per batch')
      .action(async (opts: CommonOptions) => {
        requireLegacyOptions(opts);
        const o = await open(opts, { log: true, createKeys: false });
        try {
          const r = await verifyMigration(o.ctx);
          if (opts.json) printJson(r);
          else {
            process.stdout.write(
              `rows in scope ${r.counts.inScope}, verified ${r.verified}${r.legacyPurged > 0 ? ` (${r.legacyPurged} with the legacy copy already purged)` : ''}, mismatches ${r.mismatches}; out of scope ${r.counts.outOfScope}, untouched ${r.counts.noSubject + r.counts.unknownJurisdiction}\n`,
            );
            process.stdout.write(`row hashes sha256:${r.root}\nstatement at log index ${r.logIndex}:\n${r.statement}`);
            for (const m of r.listed) process.stdout.write(`  mismatch ${m.table} ${m.key}: ${m.problem}\n`);
          }
          if (r.mismatches > 0)
            process.stderr.write(`cordon: migrate.mismatch: ${r.mismatches} rows do not match; purge is refused until a verify finds none\n`);
          process.exitCode = r.mismatches > 0 ? EXIT_FINDING : EXIT_OK;
        } finally {
          await close(o);
        }
      }),
  );

  cmd.addCommand(
    common(
      new Command('purge').description(
        'null (or delete) the protected legacy columns of verified rows, in batches; resumable; refused without a matching verify; asks first (or --yes)',
      ),
    )
      .option('--batch <n>', 'rows per batch')
      .option('--yes', 'destroy without asking (needed off a terminal)')
      .action(async (opts: CommonOptions & { yes?: boolean }) => {
        const { from, map } = requireLegacyOptions(opts);
        await confirmDestroy(opts.yes, `migrate purge clears (or deletes) the protected legacy copies of the rows ${map} maps in ${displayUrl(from)}`);
        const o = await open(opts, { log: true, createKeys: false });
        try {
          const r = await purgeMigration(o.ctx);
          if (opts.json) printJson(r);
          else
            process.stdout.write(
              `purged ${r.purged + r.alreadyPurged} rows (${r.mode}), ${r.columnsCleared} values cleared${r.resumed ? ' (resumed)' : ''}; not verified, left: ${r.notVerified}\nstatement at log index ${r.logIndex}:\n${r.statement}`,
            );
          if (r.verifiedLeft > 0)
            process.stderr.write(
              `cordon: ${r.verifiedLeft} verified rows were neither purged nor found purged (the statement says so); their legacy copies may remain\n`,
            );
          process.exitCode = r.verifiedLeft > 0 ? EXIT_FINDING : EXIT_OK;
        } catch (err) {
          if (err instanceof MigrateError && (err.code === 'migrate.not_verified' || err.code === 'migrate.data_changed')) {
            process.stderr.write(`cordon: ${err.code}: ${err.message}\n`);
            process.exitCode = EXIT_FINDING;
            return;
          }
          throw err;
        } finally {
          await close(o);
        }
      }),
  );

  cmd.addCommand(
    common(
      new Command('shred').description(
        'destroy data keys: of named or deleted subjects, or a whole KEK generation (after re-wrapping its live keys); asks first (or --yes)',
      ),
      false,
    )
      .requiredOption('--enclave <name>', 'the enclave whose store holds the keys')
      .option('--subject <key>', 'a subject key whose data key is destroyed (repeatable)', collect, [])
      .option('--deleted', 'destroy the keys of subjects whose record is gone from every store')
      .option('--subject-dataset <name>', 'the dataset subjects are records of', 'users')
      .option('--kek-generation <n>', 'destroy this KEK generation (N or store#N); backups made under it become unreadable')
      .option('--yes', 'destroy without asking (needed off a terminal)')
      .action(
        async (
          opts: Omit<CommonOptions, 'from' | 'map'> & {
            enclave: string;
            subject: string[];
            deleted?: boolean;
            subjectDataset: string;
            kekGeneration?: string;
            yes?: boolean;
          },
        ) => {
          const chosen = [opts.subject.length > 0, Boolean(opts.deleted), opts.kekGeneration !== undefined].filter(Boolean).length;
          if (chosen !== 1) throw new UsageError('name exactly one scope: --subject KEY (repeatable), --deleted, or --kek-generation N');
          const policy = loadPolicyOrThrow(opts.policy);
          const enclave = policy.deployment.enclaves.get(opts.enclave);
          if (!enclave)
            throw new UsageError(
              `unknown enclave ${JSON.stringify(opts.enclave)} (cordon.yaml enclaves: ${[...policy.deployment.enclaves.keys()].join(', ')})`,
            );
          if (!policy.datasets.has(opts.subjectDataset)) throw new UsageError(`unknown dataset ${JSON.stringify(opts.subjectDataset)} for --subject-dataset`);
          const scope =
            opts.kekGeneration !== undefined
              ? `KEK generation ${opts.kekGeneration}`
              : opts.deleted
                ? 'the data keys of deleted subjects'
                : `the data keys of ${opts.subject.length} subject(s)`;
          await confirmDestroy(opts.yes, `migrate shred destroys ${scope} of enclave ${opts.enclave}; what they encrypt can never be read again`);
          const { runtime, keys } = await openStep(policy, opts, enclave.store, { log: true, createKeys: false });
          try {
            const byName = runtime.stores;
            const fields = [...policy.datasets.get(opts.subjectDataset)!.fields.keys()];
            for (const s of byName.values()) await s.ensureTable({ name: opts.subjectDataset, fields });
            const r = await shred(
              {
                policy,
                enclaveStore: byName.get(enclave.store)!,
                globalStore: byName.get(policy.deployment.globalStore)!,
                keys,
                log: runtime.log!,
                statementKey: runtime.statementKey!,
              },
              { subjects: opts.subject, deleted: opts.deleted, subjectDataset: opts.subjectDataset, kekGeneration: opts.kekGeneration },
            );
            if (opts.json) printJson(r);
            else
              process.stdout.write(
                `${r.scope === 'kek' ? `destroyed KEK ${r.kek} (${r.rewrapped} live keys re-wrapped first)` : `destroyed ${r.destroyed} data keys`}\nstatement at log index ${r.logIndex}:\n${r.statement}`,
              );
            process.exitCode = EXIT_OK;
          } finally {
            await runtime.close();
          }
        },
      ),
  );
  return cmd;
}
