// `npm run bench -- NAME [options]`: builds (unless CORDON_SKIP_BUILD=1, for tests that run from an
// existing build) and runs the benchmark dist/bench/NAME.js.
import { existsSync, readdirSync } from 'node:fs';
import { spawnSync } from 'node:child_process';

if (process.env.CORDON_SKIP_BUILD !== '1') {
  const b = spawnSync('npm', ['run', 'build', '--silent'], { stdio: ['ignore', 'ignore', 'inherit'] });
  if (b.status !== 0) process.exit(b.status ?? 1);
}
const [name, ...rest] = process.argv.slice(2);
const available = existsSync('dist/bench')
  ? readdirSync('dist/bench')
      .filter((f) => f.endsWith('.js'))
      .map((f) => f.slice(0, -3))
  : [];
if (!name || !available.includes(name)) {
  process.stderr.write(`usage: npm run bench -- NAME [options]\nbenchmarks: ${available.join(', ') || '(none built)'}\n`);
  process.exit(2);
}
const r = spawnSync(process.execPath, [`dist/bench/${name}.js`, ...rest], { stdio: 'inherit' });
process.exit(r.status ?? 1);
