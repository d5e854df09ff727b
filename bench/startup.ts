// Benchmark of start-up: the quick start's server (`cordon up --demo`) on a fresh data directory,
// RUNS times: seconds from the spawn to the first 200 on a data read (austin-engineer reads
// demo-us-1, as the README's curl line does), seconds until the demo world is seeded, and resident
// memory (VmRSS) after the server has then idled IDLE seconds. Goals: first 200 within
// 10 s, idle under 350 MB. A baseline runs in the same run, alternating with cordon: node, Fastify
// and one PGlite store opened from the same template serving the same read (bench/startup-baseline.ts),
// so the ratios say what cordon adds, whatever else the machine is doing.
// Prints a table, then one JSON line.
//
//   npm run bench -- startup [--runs N] [--users N] [--idle S]

import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startUp } from '../test/helpers/up.js';
import { tempDir } from '../test/helpers/temp.js';
import { readDemoUser, residentMb, waitForSeeding } from '../test/helpers/startup.js';
import { DEFAULT_DEMO_USERS } from '../src/server/index.js';

const { values: opts } = parseArgs({
  options: { runs: { type: 'string', default: '3' }, users: { type: 'string', default: String(DEFAULT_DEMO_USERS) }, idle: { type: 'string', default: '5' } },
});
const RUNS = Number(opts.runs);
const USERS = Number(opts.users);
const IDLE_MS = Number(opts.idle) * 1000;
const GOAL_FIRST_200_S = 10;
const GOAL_IDLE_RSS_MB = 350;
const BASELINE = fileURLToPath(new URL('./startup-baseline.js', import.meta.url));
const quiet = !process.stderr.isTTY;
const say = (s: string) => {
  if (!quiet) process.stderr.write(`${s}\n`);
};
const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

interface Run {
  firstS: number;
  seededS: number;
  idleRssMb: number;
}

async function cordonRun(): Promise<Run> {
  const dataDir = tempDir('cordon-bench-startup-');
  const t0 = performance.now();
  const up = await startUp(dataDir, ['--demo', '--demo-users', String(USERS)]);
  try {
    const first = await readDemoUser(up.base, up.tokens());
    const firstS = (performance.now() - t0) / 1000;
    if (first.status !== 200 || first.body.fields?.['phone_number'] !== '+15125550101')
      throw new Error(`the first read answered ${first.status}: ${JSON.stringify(first.body)}`);
    await waitForSeeding(dataDir, up.child, 30 * 60_000, () => up.output().err);
    const seededS = (performance.now() - t0) / 1000;
    await sleep(IDLE_MS);
    return { firstS, seededS, idleRssMb: residentMb(up.child.pid!) };
  } finally {
    up.child.kill('SIGINT');
    await up.exited;
  }
}

async function baselineRun(): Promise<Run> {
  const dataDir = tempDir('cordon-bench-startup-base-');
  const t0 = performance.now();
  const child = spawn(process.execPath, [BASELINE, dataDir], { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise<void>((done) => child.once('exit', () => done()));
  try {
    const base = await new Promise<string>((done, fail) => {
      let out = '';
      child.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /serving on (http:\S+)/.exec(out);
        if (m) done(m[1]!);
      });
      void exited.then(() => fail(new Error(`the baseline exited:\n${out}`)));
    });
    const first = await readDemoUser(base, { 'austin-engineer': 'baseline' });
    const firstS = (performance.now() - t0) / 1000;
    if (first.status !== 200) throw new Error(`the baseline's read answered ${first.status}`);
    await sleep(IDLE_MS);
    return { firstS, seededS: firstS, idleRssMb: residentMb(child.pid!) };
  } finally {
    child.kill('SIGINT');
    await exited;
  }
}

const cordon: Run[] = [];
const baseline: Run[] = [];
for (let i = 0; i < RUNS; i++) {
  // Alternated, so that the machine's other work falls on both alike.
  baseline.push(await baselineRun());
  say(`run ${i + 1}/${RUNS} baseline: first 200 after ${baseline.at(-1)!.firstS.toFixed(1)} s, idle RSS ${Math.round(baseline.at(-1)!.idleRssMb)} MB`);
  cordon.push(await cordonRun());
  say(
    `run ${i + 1}/${RUNS} cordon:   first 200 after ${cordon.at(-1)!.firstS.toFixed(1)} s, seeded after ${cordon.at(-1)!.seededS.toFixed(0)} s, idle RSS ${Math.round(cordon.at(-1)!.idleRssMb)} MB`,
  );
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const pick = (runs: Run[], k: keyof Run) => runs.map((r) => r[k]);
const m = {
  first: median(pick(cordon, 'firstS')),
  firstMax: Math.max(...pick(cordon, 'firstS')),
  seeded: median(pick(cordon, 'seededS')),
  rss: median(pick(cordon, 'idleRssMb')),
  rssMax: Math.max(...pick(cordon, 'idleRssMb')),
  baseFirst: median(pick(baseline, 'firstS')),
  baseRss: median(pick(baseline, 'idleRssMb')),
};
const f = (n: number, d = 1) => n.toFixed(d).padStart(10);
const lines = [
  `startup — \`cordon up --demo\` on a fresh data directory (${USERS.toLocaleString('en-US')} generated users), ${RUNS} run${RUNS === 1 ? '' : 's'} alternating with the baseline; idle ${IDLE_MS / 1000} s after seeding`,
  '',
  '                      first 200 s   seeded s   idle RSS MB',
  `cordon (median)      ${f(m.first)} ${f(m.seeded, 0)} ${f(m.rss, 0)}`,
  `cordon (worst)       ${f(m.firstMax)} ${''.padStart(10)} ${f(m.rssMax, 0)}`,
  `baseline (median)    ${f(m.baseFirst)} ${''.padStart(10)} ${f(m.baseRss, 0)}   node + Fastify + one PGlite store, no policy/log/keys/world`,
  `cordon / baseline    ${f(m.first / m.baseFirst, 2)} ${''.padStart(10)} ${f(m.rss / m.baseRss, 2)}`,
  `goal                 ${f(GOAL_FIRST_200_S, 0)} ${''.padStart(10)} ${f(GOAL_IDLE_RSS_MB, 0)}   ${m.firstMax <= GOAL_FIRST_200_S && m.rssMax <= GOAL_IDLE_RSS_MB ? 'met in every run' : 'NOT met in every run'}`,
];
process.stdout.write(`${lines.join('\n')}\n\n`);
process.stdout.write(
  `${JSON.stringify({
    bench: 'startup',
    runs: RUNS,
    users: USERS,
    first_200_s: Number(m.first.toFixed(1)),
    first_200_s_max: Number(m.firstMax.toFixed(1)),
    seeded_s: Math.round(m.seeded),
    idle_rss_mb: Math.round(m.rss),
    idle_rss_mb_max: Math.round(m.rssMax),
    baseline_first_200_s: Number(m.baseFirst.toFixed(1)),
    baseline_idle_rss_mb: Math.round(m.baseRss),
    ratio_first_200: Number((m.first / m.baseFirst).toFixed(2)),
    ratio_rss: Number((m.rss / m.baseRss).toFixed(2)),
    goal_first_200_s: GOAL_FIRST_200_S,
    goal_idle_rss_mb: GOAL_IDLE_RSS_MB,
  })}\n`,
);
