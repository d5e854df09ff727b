// Every command in the README runs, so the quick start never rots: the two quick-start commands
// are what they should be and .ci/run runs the same test command; every other command is run here
// exactly as written and must exit 0.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { execFile, spawn, spawnSync } from 'node:child_process';
import { ROOT } from './helpers/paths.js';

const README = readFileSync(join(ROOT, 'README.md'), 'utf8');
const commands = [...README.matchAll(/```sh\n([\s\S]*?)```/g)].flatMap((m) => m[1]!.trim().split('\n').map((l) => l.trim()).filter(Boolean));

/** Commands not run here, and why. */
const NOT_RUN_HERE: Record<string, string> = {
  'npm ci && npm start': 'installing from inside the tests would replace node_modules under them; .ci/run does npm ci, and `npm start` is run (and queried) above',
  'npm test': 'this is the test command itself; .ci/run runs it',
  'npm run bench -- startup': 'three fresh starts that each seed the whole demo world (about 15 min on two cores); test/startup.test.ts runs the same start once and prints the same two figures',
};

test('the quick start is two commands, and .ci/run runs the README test command', () => {
  assert.deepEqual(commands.slice(0, 2), ['npm ci && npm start', 'npm test']);
  const ci = readFileSync(join(ROOT, '.ci/run'), 'utf8').split('\n').map((l) => l.trim());
  assert.ok(ci.includes('npm ci'));
  assert.ok(ci.includes('npm test'));
});

test('npm start serves the demo: the curl line of the README answers as it says', async () => {
  const child = spawn('npm', ['start', '--silent'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((done) => child.on('exit', (code) => done(code)));
  try {
    await new Promise<void>((done, fail) => {
      const timer = setTimeout(() => fail(new Error(`npm start did not serve within 120 s:\n${out}`)), 120_000);
      const poll = setInterval(() => {
        if (out.includes('Ctrl-C stops.')) {
          clearInterval(poll);
          clearTimeout(timer);
          done();
        }
      }, 100);
      void exited.then(() => fail(new Error(`npm start exited:\n${out}`)));
    });
    assert.match(out, /cordon is serving .* on http:\/\/127\.0\.0\.1:7070/);
    const tokens = JSON.parse(readFileSync(join(ROOT, '.cordon/demo/tokens.json'), 'utf8')) as Record<string, string>;
    // The README's line is the one npm start prints, but for beijing-engineer's token of demo-us-1
    // (made with this server's keys), shown as tok_….
    const line = README.split('\n').find((l) => l.startsWith('curl -s') && l.includes('beijing-engineer'));
    const printed = out.split('\n').map((l) => l.trim()).find((l) => l.startsWith('curl -s') && l.includes('beijing-engineer'));
    assert.ok(line?.includes('X-Forwarded-For: 10.80.0.5') && line.endsWith('http://127.0.0.1:7070/v1/data/users/tok_…'), 'the README shows the request');
    assert.equal(printed?.replace(/\/tok_[A-Za-z0-9_-]+$/, '/tok_…'), line, 'npm start prints the README line, with the token');
    const url = /(http:\/\/127\.0\.0\.1:7070\/v1\/data\/users\/tok_[A-Za-z0-9_-]+)$/.exec(printed!)![1]!;
    const r = await fetch(url, { headers: { authorization: `Bearer ${tokens['beijing-engineer']}`, 'x-forwarded-for': '10.80.0.5' } });
    const body = (await r.json()) as { key: string; fields: Record<string, unknown>; withheld: { field: string; rules: string[] }[] };
    assert.deepEqual(Object.keys(body.fields).sort(), ['bio', 'country', 'created_at', 'uid', 'username']);
    assert.equal(body.fields['username'], 'lonestar_lens');
    assert.equal(body.key, url.slice(url.lastIndexOf('/') + 1), 'key and uid are the token');
    assert.equal(body.fields['uid'], body.key);
    assert.deepEqual(body.withheld.map((w) => `${w.field}:${w.rules.join()}`), ['phone_number:enclave-wall', 'email:enclave-wall', 'birthday:enclave-wall', 'device_id:enclave-wall', 'ip_address:enclave-wall']);
    const clear = await fetch('http://127.0.0.1:7070/v1/data/users/demo-us-1', { headers: { authorization: `Bearer ${tokens['beijing-engineer']}`, 'x-forwarded-for': '10.80.0.5' } });
    assert.equal(clear.status, 404, 'as the README says: demo-us-1 in clear is a user that does not exist, for beijing-engineer');
    // The README's log check, as written, against the running demo.
    const verify = README.split('\n').find((l) => l.startsWith('npx cordon log verify --url http://127.0.0.1:7070'));
    assert.ok(verify, 'the README shows how to verify the demo log');
    const [program, ...args] = verify.split(/\s+/);
    const checked = await new Promise<{ status: number | null; stdout: string }>((done) => {
      execFile(program!, args, { cwd: ROOT, encoding: 'utf8' }, (err, stdout) => done({ status: err ? (typeof err.code === 'number' ? err.code : null) : 0, stdout }));
    });
    assert.equal(checked.status, 0, checked.stdout);
    assert.match(checked.stdout, /^verified demo\.cordon\.invalid\/access: \d+ entries/);
    rmSync(join(ROOT, 'log-state.json'), { force: true });
  } finally {
    process.kill(-child.pid!, 'SIGINT');
  }
  await exited;
});

/** Commands whose documented outcome is not exit 0. */
const EXPECTED_STATUS: Record<string, number> = {
  'npx cordon access review --policy policies/demo': 1,
  'npx cordon flows leaks --policy policies/demo --json': 1,
  'npx cordon scan test/fixtures/scan/folder --policy policies/demo --place CN --json': 1,
};

for (const command of commands) {
  if (command in NOT_RUN_HERE) continue;
  test(`README: ${command}`, () => {
    assert.doesNotMatch(command, /['"|;&<>$`]/, 'README commands are plain words, so they run here as written');
    const [program, ...args] = command.split(/\s+/);
    assert.ok(program === 'npx' || program === 'npm', `unexpected program ${program}`);
    const r = spawnSync(program!, args, { cwd: ROOT, encoding: 'utf8', env: { ...process.env, CORDON_SKIP_BUILD: '1' } });
    assert.equal(r.status, EXPECTED_STATUS[command] ?? 0, `${command}\n${r.stdout}\n${r.stderr}`);
    if (command === 'npm run bench -- decide') {
      const last = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { bench: string; disagreements: number; cases: number };
      assert.equal(last.bench, 'decide');
      assert.equal(last.disagreements, 0);
      assert.ok(last.cases >= 100_000);
    }
    if (command === 'npm run bench -- gateway') {
      const last = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { bench: string; pglite: { rps: number; errors: number }; postgres: { rps: number; errors: number } };
      assert.equal(last.bench, 'gateway');
      assert.ok(last.pglite.rps > 0 && last.postgres.rps > 0);
      assert.equal(last.pglite.errors + last.postgres.errors, 0, 'no request failed under load');
    }
    if (command === 'npm run bench -- flows') {
      const last = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { bench: string; edges: number; columns: number; leaks: number };
      assert.deepEqual([last.bench, last.edges, last.columns], ['flows', 1_000_000, 100_000]);
      assert.ok(last.leaks > 0);
    }
    if (command === 'npm run eval -- scan') {
      const last = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { eval: string; entities: Record<string, { f2: number }> };
      assert.equal(last.eval, 'scan');
      assert.deepEqual(Object.keys(last.entities).sort(), ['CREDIT_CARD', 'DATE_TIME', 'EMAIL_ADDRESS', 'IP_ADDRESS', 'PHONE_NUMBER', 'US_SSN']);
    }
    if (command === 'npx cordon scan test/fixtures/scan/folder --policy policies/demo --place CN --json') {
      const out = JSON.parse(r.stdout) as { findings: unknown[] };
      assert.equal(out.findings.length, 15);
    }
    if (command === 'npx cordon flows leaks --policy policies/demo --json') {
      // The export job, the growth dashboard, and the admin panel (legacy-admin's standing rule is inert).
      assert.equal((JSON.parse(r.stdout) as { leaks: unknown[] }).leaks.length, 7);
    }
  });
}

test('the README names every command of the CLI it documents', () => {
  for (const c of ['policy check', 'policy explain', 'policy diff', 'policy schema', 'cordon demo', 'log verify', 'log proof', 'witness init', 'witness serve', 'access review', 'access request', 'access approve', 'access deny', 'access list', 'revoke ID', 'break-glass', 'flows leaks', 'flows impact', 'flows ingest', 'cordon scan', 'eval -- scan', 'cordon report', 'migrate plan', 'migrate run', 'migrate verify', 'migrate purge', 'migrate shred']) assert.ok(README.includes(c), c);
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
