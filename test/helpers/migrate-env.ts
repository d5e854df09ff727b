// Migration environments for the end-to-end tests (test/migrate.test.ts, test/migrate-scale.slow.test.ts):
// the real CLI in a child process, a legacy fixture and enclave/global databases on a PostgreSQL
// server the test started, and queries against them.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import postgres from 'postgres';
import type { PostgresServer } from './postgres.js';
import { CLI, DEMO_POLICY } from './paths.js';
import { tempDir } from './temp.js';
import { createLegacyFixture, createDatabases, MAPPING_FILE } from '../fixtures/migrate/legacy.js';

export const BUILD = fileURLToPath(new URL('../../', import.meta.url));
export const MAPPING = fileURLToPath(MAPPING_FILE);

export interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}
export function cordon(args: readonly string[]): Promise<Run> {
  return new Promise((done) => {
    execFile(process.execPath, [CLI, ...args], { env: { ...process.env, CORDON_DIST: BUILD }, encoding: 'utf8', maxBuffer: 64 << 20 }, (err, stdout, stderr) =>
      done({ status: err ? (typeof err.code === 'number' ? err.code : null) : 0, stdout, stderr }),
    );
  });
}

export interface Env {
  legacy: string;
  enclave: string;
  global: string;
  dataDir: string;
  args: (step: string, ...extra: string[]) => string[];
}
let envCount = 0;
export async function environment(pg: PostgresServer, rows: number, mapping = MAPPING): Promise<Env> {
  const n = ++envCount;
  const [legacy, enclave, global] = await createDatabases(pg.url, [`legacy_${n}`, `enclave_${n}`, `global_${n}`]);
  await createLegacyFixture(legacy!, rows);
  const dataDir = tempDir('cordon-migrate-');
  const stores = ['--store', `enclave_us=${enclave}`, '--store', `global=${global}`];
  return {
    legacy: legacy!,
    enclave: enclave!,
    global: global!,
    dataDir,
    args: (step, ...extra) => [
      'migrate',
      step,
      '--policy',
      DEMO_POLICY,
      '--data-dir',
      dataDir,
      ...stores,
      ...(step === 'shred' ? [] : ['--from', legacy!, '--map', mapping]),
      ...(step === 'purge' || step === 'shred' ? ['--yes'] : []),
      ...extra,
    ],
  };
}

export async function query<T = Record<string, unknown>>(url: string, text: string): Promise<T[]> {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    return (await sql.unsafe(text)) as unknown as T[];
  } finally {
    await sql.end({ timeout: 5 });
  }
}

/** Every row of a legacy table as text, by cursor. */
export async function dump(url: string, table: string, cursor: string): Promise<Map<string, string>> {
  const rows = await query<{ c: string; t: string }>(url, `SELECT ${cursor}::text AS c, t::text AS t FROM ${table} t ORDER BY ${cursor}`);
  return new Map(rows.map((r) => [r.c, r.t]));
}

export const inScopeAccounts = (url: string) => query<{ account_no: string }>(url, `SELECT account_no::text FROM accounts WHERE uid IS NOT NULL AND cc = 'US'`);
