// The README's commands, for the tests that run them (test/readme.test.ts at smoke sizes,
// test/readme.slow.test.ts the benchmarks as written), and what each must print.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CLI, ROOT } from './paths.js';

export const README = readFileSync(join(ROOT, 'README.md'), 'utf8');

/** Every line of every ```sh block, in order. */
export const COMMANDS: readonly string[] = [...README.matchAll(/```sh\n([\s\S]*?)```/g)].flatMap((m) =>
  m[1]!
    .trim()
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean),
);

/** Commands no test runs as written, and why. */
export const NOT_RUN: Readonly<Record<string, string>> = {
  'npm ci && npm start':
    'installing from inside the tests would replace node_modules under them; .ci/run does npm ci, and test/readme.test.ts runs `npm start` (and queries it)',
  'npm test': 'the test command itself; .ci/run runs it',
  'npm run test:slow': 'the slow suite itself; .ci/run runs it after npm test',
  'npm run bench -- startup':
    'three fresh starts that each seed the whole demo world (about 15 min on two cores); test/startup.slow.test.ts runs the same start once and prints the same two figures',
};

/**
 * Benchmarks `npm test` leaves to `npm run test:slow` (which runs every benchmark as written), with why:
 * their smoke run is a large share of the fast suite's six minutes and checks nothing the slow run does not.
 */
export const SLOW_ONLY: Readonly<Record<string, string>> = {
  'npm run bench -- gateway':
    'three servers, each loaded for a single read and a 50-record page, take 35 s even at the smoke size; CI runs the slow suite after the fast one',
  'npm run bench -- log': 'its smoke run (20,000 entries, proofs, a second of appends) took 21 s of the fast suite; CI runs the slow suite after the fast one',
  'npm run bench -- pg':
    'it starts a PostgreSQL server and seeds users through placement before loading two gateways; its smoke run takes about 30 s; CI runs the slow suite after the fast one',
};

/**
 * The benchmarks, and the flags `npm test` adds to run each at a smoke size (the README lists them);
 * `npm run test:slow` runs them as written.
 */
export const SMOKE_FLAGS: Readonly<Record<string, readonly string[]>> = {
  'npm run bench -- decide': ['--cases', '5000', '--timed', '500'],
  'npm run bench -- gateway': ['--seconds', '1', '--slices', '2', '--drivers', 'pglite'],
  'npm run bench -- log': ['--entries', '20000', '--appends', '5000', '--seconds', '1', '--proofs', '500', '--drivers', 'pglite'],
  'npm run bench -- pg': ['--rows', '4000', '--seconds', '1', '--slices', '2'],
  'npm run bench -- fieldcrypto': ['--values', '20000'],
  'npm run bench -- flows': ['--edges', '20000', '--columns', '2000', '--events', '500'],
};

/** Commands whose documented outcome is not exit 0. */
const EXPECTED_STATUS: Readonly<Record<string, number>> = {
  'npx cordon access review --policy policies/demo': 1,
  'npx cordon flows leaks --policy policies/demo --json': 1,
  'npx cordon scan test/fixtures/scan/folder --policy policies/demo --place CN --json': 1,
};

const flagValue = (args: readonly string[], flag: string, fallback: number): number => {
  const i = args.indexOf(flag);
  return i < 0 ? fallback : Number(args[i + 1]);
};

/**
 * `npx cordon …` runs bin/cordon.js directly: npx of this package from its own checkout installs it
 * (running `prepare`, a full build that empties dist/ under the other test files running beside
 * this one), and costs about 1.5 s of CPU a call besides.
 */

/** Runs a README command from the repository's root, with `extra` arguments, and checks what it must print. */
export function runReadmeCommand(command: string, extra: readonly string[] = []): void {
  assert.doesNotMatch(command, /['"|;&<>$`]/, 'README commands are plain words, so they run here as written');
  const [program, ...args] = [...command.split(/\s+/), ...extra];
  assert.ok(program === 'npx' || program === 'npm', `unexpected program ${program}`);
  const direct = program === 'npx' && args[0] === 'cordon';
  const r = spawnSync(direct ? process.execPath : program!, direct ? [CLI, ...args.slice(1)] : args, {
    cwd: ROOT,
    encoding: 'utf8',
    maxBuffer: 64 << 20,
    env: { ...process.env, CORDON_SKIP_BUILD: '1' },
  });
  assert.equal(r.status, EXPECTED_STATUS[command] ?? 0, `${[command, ...extra].join(' ')}\n${r.stdout}\n${r.stderr}`);
  const last = <T>(): T => JSON.parse(r.stdout.trim().split('\n').at(-1)!) as T;
  if (command === 'npm run bench -- decide') {
    const out = last<{ bench: string; disagreements: number; cases: number }>();
    assert.equal(out.bench, 'decide');
    assert.equal(out.disagreements, 0);
    assert.equal(out.cases, flagValue(extra, '--cases', 100_000));
  }
  if (command === 'npm run bench -- gateway') {
    const out = last<Record<string, { rps: number; errors: number }> & { bench: string }>();
    assert.equal(out.bench, 'gateway');
    const i = extra.indexOf('--drivers');
    for (const driver of (i < 0 ? 'pglite,postgres' : extra[i + 1]!).split(',')) {
      assert.ok(out[driver]!.rps > 0, `${driver} served`);
      assert.equal(out[driver]!.errors, 0, `no request to ${driver} failed under load`);
    }
  }
  if (command === 'npm run bench -- pg') {
    const out = last<{
      bench: string;
      wire: { rps: number };
      http: { rps: number };
      errors: number;
      rows: number;
      logged: number;
      stalled: boolean;
      loggedInPause: number;
      liveHeapMbFirst: number;
      liveHeapMbAgain: number;
      liveMbAgain: { rows: number; mb: number }[];
      merkleMbPer100kRows: number;
    }>();
    assert.equal(out.bench, 'pg');
    assert.ok(out.wire.rps > 0 && out.http.rps > 0, 'both doors served');
    assert.equal(out.errors, 0, 'no request to either door failed under load');
    const rows = flagValue(extra, '--rows', 100_000);
    assert.equal(out.rows, rows, 'the stream read every user');
    assert.ok(out.logged >= rows, `a record per row streamed (W5): ${out.logged} records for ${rows} rows`);
    assert.ok(out.stalled, 'the server stops deciding rows when the client stops reading them (backpressure)');
    // With 90,000 rows to go when the client stops, the server must stop before the end: the socket's
    // buffers hold some 20,000 rows on loopback (each row's record and its data key's release are logged).
    if (rows >= 100_000) assert.ok(out.loggedInPause < rows - 10_000, `the server ran ${out.loggedInPause} records ahead of a client that did not read`);
    // What the server's heap keeps of a query once it has ended does not add up: the same query again
    // leaves it about where the first did (caches of at most 20,000 subjects each: 45 to 52 MB over
    // repeated queries of 100,000 rows). Keeping 240 B of each of 100,000 rows would not fit.
    assert.ok(
      Math.abs(out.liveHeapMbAgain - out.liveHeapMbFirst) < 24,
      `live heap ${out.liveHeapMbFirst} MB after the query, ${out.liveHeapMbAgain} MB after it again`,
    );
    // Flat while it streams: what the server keeps mid-stream (after a full collection) at 90,000 rows
    // is what it kept at 10,000, plus the log's Merkle tree (64 B per record, about 9 MB for 80,000
    // rows) and noise (measured: 202, 218 and 223 MB at 10,000, 50,000 and 90,000 rows). A server made
    // to keep the cells of every row it sent failed this: 269, 310 and 336 MB (67 MB more).
    if (rows >= 100_000) {
      const at = out.liveMbAgain;
      const grew = at.at(-1)!.mb - at[0]!.mb;
      assert.ok(
        grew < out.merkleMbPer100kRows + 40,
        `what the server keeps grew ${grew.toFixed(1)} MB from ${at[0]!.rows} to ${at.at(-1)!.rows} rows streamed`,
      );
    }
  }
  if (command === 'npm run bench -- log') {
    assert.equal(last<{ bench: string }>().bench, 'log');
  }
  if (command === 'npm run bench -- fieldcrypto') {
    const out = last<{ bench: string; values: number; decrypt_ns: number; alternatives: Record<string, unknown> }>();
    assert.deepEqual([out.bench, out.values], ['fieldcrypto', flagValue(extra, '--values', 200_000)]);
    assert.ok(out.decrypt_ns > 0);
    assert.equal(Object.keys(out.alternatives).length, 3);
  }
  if (command === 'npm run bench -- flows') {
    const out = last<{ bench: string; edges: number; columns: number; leaks: number }>();
    assert.deepEqual([out.bench, out.edges, out.columns], ['flows', flagValue(extra, '--edges', 1_000_000), flagValue(extra, '--columns', 100_000)]);
    assert.ok(out.leaks > 0);
  }
  if (command === 'npm run eval -- scan') {
    const out = last<{ eval: string; entities: Record<string, { f2: number }> }>();
    assert.equal(out.eval, 'scan');
    assert.deepEqual(Object.keys(out.entities).sort(), ['CREDIT_CARD', 'DATE_TIME', 'EMAIL_ADDRESS', 'IP_ADDRESS', 'PHONE_NUMBER', 'US_SSN']);
  }
  if (command === 'npx cordon scan test/fixtures/scan/folder --policy policies/demo --place CN --json') {
    assert.equal((JSON.parse(r.stdout) as { findings: unknown[] }).findings.length, 15);
  }
  if (command === 'npx cordon flows leaks --policy policies/demo --json') {
    // The export job, the growth dashboard, and the admin panel (legacy-admin's standing rule is inert).
    assert.equal((JSON.parse(r.stdout) as { leaks: unknown[] }).leaks.length, 7);
  }
}
