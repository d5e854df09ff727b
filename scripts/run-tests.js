// Runs the compiled tests under dist/ with node's test runner (Node 20 has no --test glob), as one of
// two suites:
//   node scripts/run-tests.js          `npm test`: every *.test.js but the slow ones — unit,
//                                      integration and end-to-end tests at smoke sizes
//   node scripts/run-tests.js --slow   `npm run test:slow`: *.slow.test.js — SIGKILL and fault
//                                      tests, long model-based runs, full-size README benches
// Other arguments are passed to node --test (e.g. --test-name-pattern). Test files run one at a
// time (node's default on two cores); a file's tests start their own servers on free ports.
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
const files = find('dist')
  .filter((f) => f.endsWith('.slow.test.js') === slow)
  .sort();
if (files.length === 0) {
  process.stderr.write(`no ${slow ? 'slow ' : ''}test files under dist/: run npm run build first\n`);
  process.exit(2);
}
const r = spawnSync(process.execPath, ['--test', '--test-reporter=spec', ...passOn, ...files], { stdio: 'inherit' });
process.exit(r.status ?? 1);
