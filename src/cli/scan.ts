// `cordon scan TARGET...`: find protected data in files, folders and stores, and judge it against
// the policy. Exit 1 on a violation or a column the catalog gets wrong; with nothing to report, 3
// when a target could not be read or reached (the scan is incomplete), 2 on bad usage or when a
// target could not be scanned as what it is (binary, corrupt, unsupported); 0 when complete and clean.

import { existsSync, statSync, writeFileSync } from 'node:fs';
import { Command, Option } from 'commander';
import { checkPolicy, formatIssue, type Policy } from '../policy/index.js';
import { KeyFileError, openFileKeyService, openStore, type Store } from '../store/index.js';
import { keyReleaseRecord } from '../log/index.js';
import { DEFAULT_MIN_CONFIDENCE, DEFAULT_SAMPLE_ROWS, expandPaths, fingerprintEnclave, formatText, scan, toSarif, type Fingerprints } from '../scan/index.js';
import { EXIT_FINDING, EXIT_OK, EXIT_UNAVAILABLE, EXIT_USAGE, UsageError, Unreachable, mustRead, networkFailure, printJson } from './output.js';
import { storeOverrides, storeUrls } from './stores.js';
import { dataPaths, openRuntime } from '../server/runtime.js';
import { createProgress } from './progress.js';

interface ScanCliOptions {
  policy?: string;
  place?: string;
  storePlace: string[];
  subjects?: string;
  sample: string;
  full?: boolean;
  json?: boolean;
  sarif?: string;
  threads?: string;
  minConfidence: string;
  matchEnclave?: string;
  store: string[];
  dataDir: string;
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

function positiveInt(name: string, v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`${name} must be a positive integer, got ${JSON.stringify(v)}`);
  return n;
}

function country(name: string, v: string): string {
  if (!/^[A-Z]{2}$/.test(v)) throw new UsageError(`${name} must be an ISO 3166 alpha-2 country code such as US, got ${JSON.stringify(v)}`);
  return v;
}

export function scanCommand(): Command {
  return new Command('scan')
    .description('find protected data (phone numbers, emails, dates of birth, IPs, device ids, cards, SSNs) in files, folders and stores')
    .argument('<target...>', 'files, folders (CSV, NDJSON, JSON, text, logs, .gz), store URLs (postgres://…, pglite://DIR) or store:NAME from cordon.yaml')
    .option('--policy <dir>', 'policy directory: judge findings against its catalog, classes and enclaves')
    .option('--place <cc>', 'the country the file targets (and unmapped stores) are in, e.g. CN')
    .option('--store-place <name=cc>', 'the country a store is in (repeatable)', collect, [])
    .option('--subjects <jurisdictions>', 'whose data the targets may hold, comma-separated (default: anyone)')
    .option('--sample <n>', 'rows read per table', String(DEFAULT_SAMPLE_ROWS))
    .option('--full', 'read every row of every table')
    .option('--threads <n>', 'threads (the calling one included) for files (default: one per core)')
    .option('--min-confidence <x>', 'report detections at or above this confidence (0..1; each finding lists its reasons)', String(DEFAULT_MIN_CONFIDENCE))
    .option(
      '--match-enclave <name>',
      "also find exact copies of this enclave's records (keyed hashes; needs --policy; each data key used is logged as a key.release)",
    )
    .option(
      '--data-dir <dir>',
      'for --match-enclave: the data dir of cordon up (keys/master.key, its KEK ring, and keys/log.key to log key releases)',
      '.cordon',
    )
    .option('--store <name=url>', 'where a store of cordon.yaml really is, for store:NAME and --match-enclave (repeatable)', collect, [])
    .option('--json', 'print the result as JSON')
    .addOption(new Option('--sarif <file>', 'also write the findings as SARIF 2.1.0'))
    .action(async (targets: string[], opts: ScanCliOptions) => {
      const sample = positiveInt('--sample', opts.sample);
      const minConfidence = Number(opts.minConfidence);
      // Number('') and Number(' ') are 0: an empty value is bad usage, not "report everything".
      if (opts.minConfidence.trim() === '' || !(minConfidence >= 0 && minConfidence <= 1))
        throw new UsageError(`--min-confidence must be between 0 and 1, got ${JSON.stringify(opts.minConfidence)}`);
      const threads = opts.threads === undefined ? undefined : positiveInt('--threads', opts.threads);
      const place = opts.place === undefined ? undefined : country('--place', opts.place);
      const storePlaces = new Map<string, string>();
      for (const kv of opts.storePlace) {
        const eq = kv.indexOf('=');
        if (eq <= 0) throw new UsageError(`--store-place must be NAME=CC, got ${JSON.stringify(kv)}`);
        storePlaces.set(kv.slice(0, eq), country('--store-place', kv.slice(eq + 1)));
      }
      let policy: Policy | undefined;
      if (opts.policy !== undefined) {
        mustRead(opts.policy, '--policy');
        const checked = checkPolicy(opts.policy);
        if (!checked.policy)
          throw new UsageError(`policy ${opts.policy} is invalid (run cordon policy check ${opts.policy}):\n${checked.issues.map(formatIssue).join('\n')}`);
        policy = checked.policy;
      }
      const subjects = opts.subjects
        ?.split(',')
        .map((s) => s.trim())
        .filter((s) => s !== '');
      for (const j of subjects ?? [])
        if (policy && !policy.deployment.jurisdictions.has(j)) throw new UsageError(`--subjects: unknown jurisdiction ${JSON.stringify(j)}`);

      // Store URLs from cordon.yaml, with --store overrides; relative pglite paths are taken from the
      // current directory, as `cordon up` and `cordon migrate` take them.
      if (opts.store.length > 0 && !policy) throw new UsageError('--store needs --policy');
      const storeUrl = policy ? storeUrls(policy, opts.dataDir, opts.store) : new Map<string, string>();
      const paths: string[] = [];
      const storeTargets: { name: string; url: string }[] = [];
      for (const t of targets) {
        if (/^(postgres|postgresql|pglite):\/\//.test(t)) storeTargets.push({ name: t.replace(/\/\/[^@/]*@/, '//'), url: t });
        else if (t.startsWith('store:')) {
          const name = t.slice('store:'.length);
          const url = storeUrl.get(name);
          if (url === undefined) throw new UsageError(`${t}: ${policy ? `cordon.yaml has no store ${JSON.stringify(name)}` : 'store:NAME needs --policy'}`);
          storeTargets.push({ name, url });
        } else paths.push(t);
      }

      let fingerprints: Fingerprints | undefined;
      const stores: Store[] = [];
      try {
        if (opts.matchEnclave !== undefined) {
          if (!policy) throw new UsageError('--match-enclave needs --policy');
          fingerprints = await enclaveFingerprints(policy, opts.matchEnclave, storeOverrides(policy, opts.store), opts.dataDir);
        }
        for (const s of storeTargets) {
          try {
            stores.push(await openStore(s.name, s.url, { baseDir: process.cwd() }));
          } catch (err) {
            const why = networkFailure(err);
            if (why === undefined) throw err;
            throw new Unreachable(`cannot reach store ${s.name}: ${why}`);
          }
        }

        // On a terminal only, and not with --json; with file targets only, the total is known.
        const progress = process.stderr.isTTY && !opts.json ? createProgress(process.stderr, stores.length > 0 ? 0 : totalBytes(paths)) : undefined;
        const result = await scan(
          { paths, stores },
          {
            sample,
            minConfidence,
            ...(opts.full ? { full: true } : {}),
            ...(threads !== undefined ? { threads } : {}),
            ...(policy ? { policy } : {}),
            ...(place ? { place } : {}),
            ...(storePlaces.size ? { storePlaces } : {}),
            ...(subjects ? { subjects } : {}),
            ...(fingerprints ? { fingerprints } : {}),
            ...(progress ? { onBytes: progress.add } : {}),
          },
        );
        progress?.done();
        if (opts.sarif !== undefined) writeFileSync(opts.sarif, `${JSON.stringify(toSarif(result), null, 2)}\n`);
        if (opts.json) printJson(result);
        else process.stdout.write(formatText(result));
        process.exitCode = scanExit(result);
      } finally {
        await Promise.all(stores.map((s) => s.close()));
      }
    });
}

/** Findings first (1); then what kept the scan from being complete: unreadable or unreachable (3), else bad input (2); clean (0). */
function scanExit(result: Awaited<ReturnType<typeof scan>>): number {
  if (result.violations.length > 0 || result.columns.length > 0) return EXIT_FINDING;
  if (result.complete) return EXIT_OK;
  const unreadable = result.problems.filter((p) => p.code === 'scan.unreadable' || p.code === 'scan.store_unavailable');
  const first = unreadable[0] ?? result.problems[0]!;
  const more = result.problems.length > 1 ? ` (and ${result.problems.length - 1} more problem(s))` : '';
  process.stderr.write(`cordon: scan incomplete: ${first.code}: ${first.target}: ${first.message}${more}\n`);
  return unreadable.length > 0 ? EXIT_UNAVAILABLE : EXIT_USAGE;
}

/** The reason written into each key.release record of a --match-enclave scan. */
const RELEASE_REASON = 'cordon scan --match-enclave: keyed fingerprints of enclave values (only hashes leave the process)';

/**
 * The keyed hashes of an enclave's values, made in this process. Every data key is released through
 * the access log first (one key.release record per subject, durable before any value is decrypted
 * with it), so the log says whose data a scan opened and why; if the log cannot record, the scan
 * stops before decrypting anything more.
 */
async function enclaveFingerprints(policy: Policy, name: string, overrides: Readonly<Record<string, string>>, dataDir: string): Promise<Fingerprints> {
  const enclave = policy.deployment.enclaves.get(name);
  if (!enclave)
    throw new UsageError(`--match-enclave: unknown enclave ${JSON.stringify(name)} (enclaves: ${[...policy.deployment.enclaves.keys()].join(', ')})`);
  const paths = dataPaths(dataDir);
  // Both keys must already exist: a new master key would open nothing, and a new log key would sign
  // checkpoints of someone else's log.
  for (const f of [paths.masterKey, paths.logKey])
    if (!existsSync(f)) throw new UsageError(`--match-enclave: ${f} does not exist (--data-dir must be the data dir of cordon up)`);
  let keys: ReturnType<typeof openFileKeyService>;
  try {
    keys = openFileKeyService(paths.masterKey);
  } catch (err) {
    if (err instanceof KeyFileError) throw new UsageError(`--match-enclave: ${err.message}`);
    throw err;
  }
  const logConfig = policy.deployment.accessLog;
  // The enclave store, the global store (records' subject fields often live there) and the access
  // log's store, each opened once and locked (an embedded store has one owner: a running server's
  // stores are refused, with its pid).
  const runtime = await openRuntime({
    policy,
    dataDir,
    storeUrls: overrides,
    stores: [...new Set([enclave.store, policy.deployment.globalStore, logConfig.store])],
    keys: false,
    log: true,
  });
  try {
    const log = runtime.log!;
    const global = enclave.store === policy.deployment.globalStore ? undefined : runtime.stores.get(policy.deployment.globalStore);
    // Records read so far, on a terminal only (an enclave of millions takes a while).
    const tty = process.stderr.isTTY;
    const fingerprints = await fingerprintEnclave(policy, enclave.name, runtime.stores.get(enclave.store)!, keys, {
      ...(global ? { global } : {}),
      ...(tty
        ? { onProgress: (n: number, dataset: string) => void process.stderr.write(`\rfingerprinting enclave ${enclave.name}: ${n} records (${dataset})   `) }
        : {}),
      onKeyRelease: async (subjects, dataset) => {
        const at = new Date().toISOString();
        await Promise.all(
          subjects.map((subject) => log.append(keyReleaseRecord(keys, { at, dataset, subject, reason: RELEASE_REASON, policyVersion: policy.versionHash }))),
        );
      },
    });
    if (tty) process.stderr.write('\r\x1b[K');
    return fingerprints;
  } finally {
    await runtime.close();
  }
}

/** The bytes of every file under the paths (what is unreadable counts nothing; the scan reports it). */
function totalBytes(paths: readonly string[]): number {
  let n = 0;
  for (const f of expandPaths(paths, [])) {
    try {
      n += statSync(f).size;
    } catch {
      // Reported by the scan.
    }
  }
  return n;
}
