// The wall, proven by a model-based adversarial test (PRODUCT.md §7a): random
// sequences of reads, lists, egress pages, creates, patches, deletes, grant requests, approvals,
// revocations, break-glass, clock advances and SELECTs through the PostgreSQL wire gateway, by every persona of the demo directory from every
// place of the network map (and an unknown one, and a token whose place disagrees), against a
// running server on PGlite and on a real PostgreSQL. After every step: W1 (no protected value to an
// outsider, in any response body or header), W2 (stored values equal the model's), W3 (no protected
// value outside its enclave's store), W4 (no grant the broker may not give), W5 (the log names what
// was released and written, nothing more), W6 (a key the caller may not see is a token in items and
// cursors), W7 (bad input: a 4xx, nothing logged or stored).
//
// Sizes: WALL_RUNS sequences of up to WALL_STEPS steps (by default test/wall-model.test.ts's smoke
// size in `npm test`, test/wall-model.slow.test.ts's in `npm run test:slow`; a longer run is one env
// var away: WALL_RUNS=1000 WALL_STEPS=200 is about 100,000 steps per driver). A failure shrinks to a minimal sequence and prints
// its seed and path: WALL_SEED=… WALL_PATH=… (and WALL_REPLAY=… for the sequence's own path)
// replay it. WALL_DRIVERS=pglite runs one driver; WALL_PERSONAS=a,b lets only those personas act;
// WALL_BAD_INPUT=0 leaves bad input out, WALL_SKIP=W6 ignores one invariant's findings (both to
// look past a known break at the others);
// WALL_SURVEY=1 counts every kind of finding instead of stopping at the first (and still fails).
// WALL_PROGRESS=FILE appends a line to FILE every 25 sequences (fast-check reports only at the end).
// WALL_TOTAL_STEPS=N ends a long run once N steps have run: the sequences left are not run.
// Protected values are printed only as sha256 hashes (first 12 hex digits).
import { appendFileSync } from 'node:fs';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Real, wallCommands, WallViolation } from './wall-commands.js';
import { startWorld, type Driver } from './wall-world.js';

function envInt(name: string, fallback: number): number {
  const v = process.env[name];
  if (v === undefined || v === '') return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new Error(`${name} must be a whole number, got ${JSON.stringify(v)}`);
  return n;
}

const SEED = process.env['WALL_SEED'] ? envInt('WALL_SEED', 0) : undefined;
const PATH = process.env['WALL_PATH'] || undefined;
const REPLAY = process.env['WALL_REPLAY'] || undefined;
const DRIVERS = (process.env['WALL_DRIVERS'] ?? 'pglite,postgres').split(',').filter((d): d is Driver => d === 'pglite' || d === 'postgres');
const SURVEY = process.env['WALL_SURVEY'] === '1';
const PROGRESS = process.env['WALL_PROGRESS'] || undefined;
const TOTAL_STEPS = process.env['WALL_TOTAL_STEPS'] ? envInt('WALL_TOTAL_STEPS', 0) : undefined;
const NO_BAD_INPUT = process.env['WALL_BAD_INPUT'] === '0';
/** Invariants whose findings are ignored, e.g. WALL_SKIP=W6,W7 (never in CI: the summary says what was left out). */
const SKIP = new Set((process.env['WALL_SKIP'] ?? '').split(',').filter((x) => /^W[1-7]$/.test(x)));
/** Only these personas act (all of the directory by default; the checks always cover everyone). */
const PERSONAS = (process.env['WALL_PERSONAS'] ?? '').split(',').filter((p) => p !== '');
const n = (x: number) => x.toLocaleString('en-US');

function actorsOf(personas: readonly string[]): readonly string[] {
  if (PERSONAS.length === 0) return personas;
  const unknown = PERSONAS.filter((p) => !personas.includes(p));
  if (unknown.length > 0) throw new Error(`WALL_PERSONAS names ${unknown.join(', ')}, not in the demo directory (${personas.join(', ')})`);
  return PERSONAS;
}

/** The model-based wall test, once per driver: `runs` sequences of up to `steps` steps unless WALL_RUNS / WALL_STEPS say otherwise. */
export function wallTests(defaults: { readonly runs: number; readonly steps: number }): void {
  const RUNS = envInt('WALL_RUNS', defaults.runs);
  const STEPS = envInt('WALL_STEPS', defaults.steps);
  /** The test's time limit: an hour, or about 0.2 s per step asked for in a long run (WALL_TIMEOUT_MIN overrides). */
  const TIMEOUT_MS = process.env['WALL_TIMEOUT_MIN'] ? envInt('WALL_TIMEOUT_MIN', 60) * 60_000 : Math.max(3_600_000, RUNS * STEPS * 200);
  for (const driver of ['pglite', 'postgres'] as const) {
    test(`the wall holds under random attack sequences (${driver})`, {
      skip: !DRIVERS.includes(driver) && `WALL_DRIVERS=${DRIVERS.join(',')}`,
      timeout: TIMEOUT_MS,
    }, async () => {
      // The server's clock starts at the real time (tokens are checked against it) and only the model moves it.
      const world = await startWorld(driver, Date.now());
      try {
        const real = new Real(world);
        real.survey = SURVEY;
        real.skip = SKIP;
        const seed = SEED ?? Date.now() % 2 ** 31;
        let sequences = 0;
        let steps = 0;
        const started = Date.now();
        const details = await fc.check(
          fc.asyncProperty(
            fc.commands(wallCommands(world, actorsOf(world.personas), { badInput: !NO_BAD_INPUT }), {
              maxCommands: STEPS,
              size: 'max',
              ...(REPLAY ? { replayPath: REPLAY } : {}),
            }),
            async (cmds) => {
              if (TOTAL_STEPS !== undefined && steps >= TOTAL_STEPS) return;
              const model = await real.reset();
              const before = real.steps;
              await fc.asyncModelRun(() => ({ model, real }), cmds);
              sequences++;
              steps += real.steps - before;
              if (PROGRESS && sequences % 25 === 0) {
                appendFileSync(
                  PROGRESS,
                  `${new Date().toISOString()} wall (${driver}): ${n(sequences)} sequences, ${n(steps)} steps, ${((Date.now() - started) / 1000).toFixed(0)}s\n`,
                );
              }
            },
          ),
          { numRuns: RUNS, seed, ...(PATH ? { path: PATH } : {}), endOnFailure: false },
        );
        const seconds = ((Date.now() - started) / 1000).toFixed(1);
        if (details.failed) {
          const err = details.errorInstance;
          const found = err instanceof WallViolation ? err.violations : undefined;
          const cmds = String(details.counterexample?.[0] ?? '(none)');
          const replay = /replayPath="([^"]*)"/.exec(cmds)?.[1] ?? REPLAY;
          const lines = [
            `# wall (${driver}): FAILED in sequence ${details.numRuns} of ${RUNS} (up to ${STEPS} steps each), shrunk ${details.numShrinks} times, in ${seconds}s`,
            `# replay: WALL_DRIVERS=${driver} WALL_SEED=${details.seed} WALL_PATH=${details.counterexamplePath ?? ''}${replay ? ` WALL_REPLAY=${replay}` : ''} WALL_STEPS=${STEPS}${PERSONAS.length ? ` WALL_PERSONAS=${PERSONAS.join(',')}` : ''}${NO_BAD_INPUT ? ' WALL_BAD_INPUT=0' : ''}${SKIP.size ? ` WALL_SKIP=${[...SKIP].join(',')}` : ''}`,
            '# minimal sequence:',
            ...cmds
              .replace(/\s*\/\*replayPath="[^"]*"\*\/\s*/, '')
              .split(/,(?=[a-z0-9-]+@|advance\(|granted\()/)
              .map((c) => `#   ${c.trim()}`),
            '# violations:',
            ...(found ? found.map((v) => `#   ${v.invariant}: ${v.message}`) : [`#   ${String(err instanceof Error ? (err.stack ?? err.message) : err)}`]),
          ];
          console.log(lines.join('\n'));
          assert.fail(`the wall broke (${found ? [...new Set(found.map((v) => v.invariant))].join(', ') : 'error'}): see the minimal sequence above`);
        }
        if (SURVEY) {
          console.log(
            `# wall (${driver}) survey: ${n(sequences)} sequences, ${n(steps)} steps, ${n(real.insiderClear)} protected values in clear to possible insiders, ${real.surveyed.size} kinds of finding (requests ${(real.ms.requests / 1000).toFixed(1)}s, store checks ${(real.ms.stores / 1000).toFixed(1)}s, resets ${(real.ms.resets / 1000).toFixed(1)}s)`,
          );
          for (const [k, c] of [...real.surveyed].sort((a, b) => b[1] - a[1])) console.log(`#   ${c} x ${k}`);
          // WALL_SURVEY_TRACE=text prints the steps that led to the first finding of each kind holding that text.
          const want = process.env['WALL_SURVEY_TRACE'];
          if (want) for (const [k, t] of real.traces) if (k.includes(want)) console.log([`# first ${k}:`, ...t.map((x) => `#     ${x}`)].join('\n'));
          assert.equal(real.surveyed.size, 0, 'the survey found violations');
        }
        const kinds = [...real.byKind]
          .sort((a, b) => b[1] - a[1])
          .map(([k, c]) => `${k} ${n(c)}`)
          .join(', ');
        const checked =
          SKIP.size === 0 ? 'W1-W7' : `${['W1', 'W2', 'W3', 'W4', 'W5', 'W6', 'W7'].filter((w) => !SKIP.has(w)).join(', ')} (WALL_SKIP=${[...SKIP].join(',')})`;
        console.log(
          `# wall (${driver}): ${n(sequences)} sequences, ${n(steps)} steps, ${world.personas.length} personas x ${world.places.length} places, 0 violations of ${checked} (seed ${details.seed})`,
        );
        console.log(
          `# wall (${driver}): ${n(real.requests)} requests, ${n(real.insiderClear)} protected values released in clear to possible insiders, in ${seconds}s (requests ${(real.ms.requests / 1000).toFixed(1)}s, store checks ${(real.ms.stores / 1000).toFixed(1)}s, resets ${(real.ms.resets / 1000).toFixed(1)}s); steps: ${kinds}`,
        );
        assert.ok(steps > 0, 'the test ran steps');
      } finally {
        await world.close();
      }
    });
  }
}
