// Runs the compiled tests under dist/ with node's test runner (Node 20 has no --test glob), as one of
// two suites:
//   node scripts/run-tests.js          `npm test`: every *.test.js but the slow ones — unit,
//                                      integration and end-to-end tests at smoke sizes
//   node scripts/run-tests.js --slow   `npm run test:slow`: *.slow.test.js — SIGKILL and fault
//                                      tests, long model-based runs, full-size README benches
// Other arguments are passed to node --test (e.g. --test-name-pattern). Files run two at a time
// (CORDON_TEST_CONCURRENCY=N for another number): a file's tests start their own servers on free
// ports, in their own temporary directories, so files share nothing but the machine. The longest
// files start first, so that the run does not end waiting for one of them. The kill and fault tests
// run after the rest, one at a time, and the files that measure time last, alone (ONE_AT_A_TIME and
// ALONE below).
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

const args = process.argv.slice(2);
const slow = args.includes('--slow');
const passOn = args.filter((a) => a !== '--slow');

function find(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return find(p);
    return e.name.endsWith('.test.js') ? [p] : [];
  });
}
/** Files that take longest (measured), started first; the rest follow in name order. */
const LONGEST = [
  'dist/test/migrate.test.js',
  'dist/test/access-cli.test.js',
  'dist/test/console.test.js',
  'dist/test/readme.test.js',
  'dist/test/cli-policy.test.js',
  'dist/test/flows.test.js',
  'dist/test/wall-attacks.test.js',
  'dist/src/log/access-log.test.js',
  'dist/test/access-e2e.test.js',
  'dist/test/console-pages.slow.test.js',
  'dist/test/exit-codes.slow.test.js',
  'dist/test/roles-e2e.slow.test.js',
  'dist/test/wall-model.slow.test.js',
  'dist/test/migrate-scale.slow.test.js',
  'dist/test/differential.slow.test.js',
  'dist/test/placement.slow.test.js',
];
const rank = (f) => {
  const i = LONGEST.indexOf(f);
  return i < 0 ? LONGEST.length : i;
};
const files = find('dist')
  .filter((f) => f.endsWith('.slow.test.js') === slow)
  .sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
if (files.length === 0) {
  process.stderr.write(`no ${slow ? 'slow ' : ''}test files under dist/: run npm run build first\n`);
  process.exit(2);
}
const concurrency = process.env.CORDON_TEST_CONCURRENCY ?? '2';
if (!/^[1-9]\d*$/.test(concurrency)) {
  process.stderr.write(`CORDON_TEST_CONCURRENCY must be a positive whole number, got ${JSON.stringify(concurrency)}\n`);
  process.exit(2);
}
// The kill and fault tests run one at a time after the rest: when a process dies is part of what
// they test, and a second file beside them would move it.
const ONE_AT_A_TIME = [
  'dist/test/migrate-kill.slow.test.js',
  'dist/test/log-faults.slow.test.js',
  'dist/test/service-e2e.slow.test.js',
  'dist/test/regions-hosts.slow.test.js',
];
// What measures time (the benchmarks as written, start-up) runs last and alone, so that its figures
// are the machine's, not shared with another test file.
const ALONE = ['dist/test/readme.slow.test.js', 'dist/test/startup.slow.test.js'];
const batches = [
  [files.filter((f) => !ONE_AT_A_TIME.includes(f) && !ALONE.includes(f)), concurrency],
  [files.filter((f) => ONE_AT_A_TIME.includes(f)), '1'],
  [files.filter((f) => ALONE.includes(f)), '1'],
];
let status = 0;
for (const [batch, n] of batches) {
  if (batch.length === 0) continue;
  const r = spawnSync(
    process.execPath,
    ['--test', `--test-concurrency=${n}`, ...(passOn.some((a) => a.startsWith('--test-reporter')) ? [] : ['--test-reporter=spec']), ...passOn, ...batch],
    { stdio: 'inherit' },
  );
  if (r.status !== 0) status = r.status ?? 1;
}
process.exit(status);
