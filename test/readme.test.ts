// Every command in the README runs, so the quick start never rots: the two quick-start commands
// are what they should be and .ci/run runs the same test command; every other command is run here
// exactly as written and must exit 0.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { ROOT } from './helpers/paths.js';

const README = readFileSync(join(ROOT, 'README.md'), 'utf8');
const commands = [...README.matchAll(/```sh\n([\s\S]*?)```/g)].flatMap((m) => m[1]!.trim().split('\n').map((l) => l.trim()).filter(Boolean));

/** Commands not run here, and why. */
const NOT_RUN_HERE: Record<string, string> = {
  'npm ci && npm start': 'installing from inside the tests would replace node_modules under them; .ci/run does npm ci, and `npm start` is run below',
  'npm test': 'this is the test command itself; .ci/run runs it',
};

test('the quick start is two commands, and .ci/run runs the README test command', () => {
  assert.deepEqual(commands.slice(0, 2), ['npm ci && npm start', 'npm test']);
  const ci = readFileSync(join(ROOT, '.ci/run'), 'utf8').split('\n').map((l) => l.trim());
  assert.ok(ci.includes('npm ci'));
  assert.ok(ci.includes('npm test'));
});

test('npm start (the demo) runs', () => {
  const r = spawnSync('npm', ['start', '--silent'], { cwd: ROOT, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^cordon demo — policy .* is valid/m);
});

for (const command of commands) {
  if (command in NOT_RUN_HERE) continue;
  test(`README: ${command}`, () => {
    assert.doesNotMatch(command, /['"|;&<>$`]/, 'README commands are plain words, so they run here as written');
    const [program, ...args] = command.split(/\s+/);
    assert.ok(program === 'npx' || program === 'npm', `unexpected program ${program}`);
    const r = spawnSync(program!, args, { cwd: ROOT, encoding: 'utf8', env: { ...process.env, CORDON_SKIP_BUILD: '1' } });
    assert.equal(r.status, 0, `${command}\n${r.stdout}\n${r.stderr}`);
    if (command.startsWith('npm run bench')) {
      const last = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { bench: string; disagreements: number; cases: number };
      assert.equal(last.bench, 'decide');
      assert.equal(last.disagreements, 0);
      assert.ok(last.cases >= 100_000);
    }
  });
}

test('the README names every command of the CLI it documents', () => {
  for (const c of ['policy check', 'policy explain', 'policy diff', 'policy schema', 'cordon demo']) assert.ok(README.includes(c), c);
});

test('the UID fixture the README diffs is the demo policy with one change, in classes.yaml', () => {
  const fixture = join(ROOT, 'test/fixtures/policies/demo-uids-protected');
  const demo = join(ROOT, 'policies/demo');
  const files = (dir: string, sub = ''): string[] =>
    readdirSync(join(dir, sub), { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(dir, join(sub, e.name)) : [join(sub, e.name)])).sort();
  assert.deepEqual(files(fixture), files(demo));
  for (const f of files(demo)) {
    if (f === 'classes.yaml') continue;
    assert.equal(readFileSync(join(fixture, f), 'utf8'), readFileSync(join(demo, f), 'utf8'), f);
  }
  assert.match(readFileSync(join(fixture, 'classes.yaml'), 'utf8'), /\nUS:\n {2}protected: \[user\.unique_id, /);
});
