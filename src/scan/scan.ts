// One scan over several targets (files, folders, stores), with the findings assessed against the
// policy: the result every output (text, JSON, SARIF) is made from.

import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Policy } from '../policy/index.js';
import type { Store } from '../store/index.js';
import { scanFiles, type PoolOptions } from './pool.js';
import { scanStore, type ColumnProfile, type StoreScanOptions } from './store-scan.js';
import { assess, type AssessOptions, type ColumnVerdict, type Violation } from './assess.js';
import type { ColumnSummary, Finding, ScanProblem } from './types.js';
import { recordJurisdictions } from './record-jurisdiction.js';

export interface ScanOptions extends PoolOptions, Omit<StoreScanOptions, 'fingerprints' | 'records'>, AssessOptions {
  /** Without a policy, findings are listed but nothing is a violation. */
  readonly policy?: Policy;
}

export interface ScanResultV1 {
  readonly version: 1;
  readonly complete: boolean;
  readonly files: number;
  readonly bytes: number;
  readonly stores: number;
  readonly rows: number;
  /** Per file or table, column and detector: every finding counted (positions, never values). */
  readonly summary: ColumnSummary[];
  readonly findings: Finding[];
  readonly violations: Violation[];
  readonly columns: ColumnVerdict[];
  readonly problems: ScanProblem[];
  /** Findings counted but not kept (over the per-file or per-store cap). */
  readonly dropped: number;
}

/** Every regular file under the paths (folders recursively, in name order); unreadable ones as problems. */
export function expandPaths(paths: readonly string[], problems: ScanProblem[]): string[] {
  const out: string[] = [];
  const walk = (p: string): void => {
    let st: ReturnType<typeof statSync>;
    try {
      st = statSync(p);
    } catch (e) {
      problems.push({ code: 'scan.unreadable', target: p, message: `cannot read: ${(e as NodeJS.ErrnoException).code ?? 'error'}` });
      return;
    }
    if (st.isDirectory()) {
      let names: string[];
      try {
        names = readdirSync(p).sort();
      } catch (e) {
        problems.push({ code: 'scan.unreadable', target: p, message: `cannot list: ${(e as NodeJS.ErrnoException).code ?? 'error'}` });
        return;
      }
      for (const n of names) walk(join(p, n));
    } else if (st.isFile()) {
      out.push(p);
    } else {
      problems.push({ code: 'scan.unsupported', target: p, message: 'not a regular file or folder; skipped' });
    }
  };
  for (const p of paths) walk(p);
  return out;
}

/** Scans paths and stores, then assesses the findings against the policy (if any). */
export async function scan(
  targets: { readonly paths?: readonly string[]; readonly stores?: readonly Store[] },
  options: ScanOptions = {},
): Promise<ScanResultV1> {
  const problems: ScanProblem[] = [];
  const findings: Finding[] = [];
  const summary: ColumnSummary[] = [];
  const profiles: ColumnProfile[] = [];
  let bytes = 0;
  let rows = 0;
  let dropped = 0;
  const files = expandPaths(targets.paths ?? [], problems);
  for (const r of await scanFiles(files, options)) {
    bytes += r.bytes;
    findings.push(...r.findings);
    summary.push(...r.summary);
    problems.push(...r.problems);
    dropped += r.dropped;
  }
  // With a policy, each catalog row's findings carry the row's own jurisdiction.
  const records = options.policy ? recordJurisdictions(options.policy) : undefined;
  for (const store of targets.stores ?? []) {
    const r = await scanStore(store, { ...options, ...(records ? { records } : {}) });
    rows += r.rows;
    findings.push(...r.findings);
    summary.push(...r.summary);
    profiles.push(...r.columns);
    problems.push(...r.problems);
    dropped += r.dropped;
  }
  const assessed = options.policy ? assess(options.policy, findings, profiles, options) : { violations: [], columns: [] };
  return {
    version: 1,
    complete: problems.length === 0,
    files: files.length,
    bytes,
    stores: targets.stores?.length ?? 0,
    rows,
    summary,
    findings,
    violations: assessed.violations,
    columns: assessed.columns,
    problems,
    dropped,
  };
}
