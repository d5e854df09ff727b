// Every command in the README runs, so the quick start never rots: the quick-start commands are
// what they should be and .ci/run runs the same test commands; `npm start` serves what the README
// shows; every other command is run here as written and must do what the README says. The
// benchmarks run here at the smoke sizes the README gives (test/readme.slow.test.ts runs them as
// written, in `npm run test:slow`).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { execFile, spawn } from 'node:child_process';
import { CLI, ROOT } from './helpers/paths.js';
import { COMMANDS, NOT_RUN, README, runReadmeCommand, SLOW_ONLY, SMOKE_FLAGS } from './helpers/readme.js';
import { tempDir } from './helpers/temp.js';

test('the quick start is two commands, and .ci/run runs the README test commands, fast suite first', () => {
  assert.deepEqual(COMMANDS.slice(0, 3), ['npm ci && npm start', 'npm test', 'npm run test:slow']);
  const ci = readFileSync(join(ROOT, '.ci/run'), 'utf8')
    .split('\n')
    .map((l) => l.trim());
  assert.ok(ci.includes('npm ci'));
  assert.ok(ci.indexOf('npm test') > ci.indexOf('npm ci'));
  assert.ok(ci.indexOf('npm run test:slow') > ci.indexOf('npm test'));
});

test('a benchmark this suite leaves out is one the slow suite runs as written', () => {
  for (const command of Object.keys(SLOW_ONLY)) assert.ok(command in SMOKE_FLAGS && COMMANDS.includes(command), command);
});

test('every benchmark of the README has its smoke flags listed in the README', () => {
  for (const [command, flags] of Object.entries(SMOKE_FLAGS)) {
    assert.ok(COMMANDS.includes(command), `${command} is in the README`);
    assert.ok(
      README.includes(`\`${command.replace('npm run bench -- ', 'bench -- ')} ${flags.join(' ')}\``),
      `the README lists ${command}'s smoke flags: ${flags.join(' ')}`,
    );
  }
});

test('npm start serves the demo: the curl line of the README answers as it says', async () => {
  // On a free port and in a temporary data dir (the README's are 7070 and .cordon/): the test compares
  // what it prints with the README with those two put back. 200 generated users rather than 10,000:
  // the world seeds behind the first requests either way (test/startup.slow.test.ts starts the whole one).
  const dataDir = tempDir('cordon-readme-');
  const child = spawn('npm', ['start', '--silent', '--', '--port', '0', '--data-dir', dataDir, '--demo-users', '200'], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
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
    const base = /cordon is serving .* on (http:\/\/127\.0\.0\.1:\d+)/.exec(out)?.[1];
    assert.ok(base, out);
    const asInReadme = (text: string) => text.replaceAll(base, 'http://127.0.0.1:7070').replaceAll(`require('${dataDir}/`, "require('./.cordon/");
    const tokens = JSON.parse(readFileSync(join(dataDir, 'demo/tokens.json'), 'utf8')) as Record<string, string>;
    // The README's line is the one npm start prints, but for beijing-engineer's token of demo-us-1
    // (made with this server's keys), shown as tok_….
    const line = README.split('\n').find((l) => l.startsWith('curl -s') && l.includes('beijing-engineer'));
    const printed = out
      .split('\n')
      .map((l) => l.trim())
      .find((l) => l.startsWith('curl -s') && l.includes('beijing-engineer'));
    assert.ok(line?.includes('X-Forwarded-For: 10.80.0.5') && line.endsWith('http://127.0.0.1:7070/v1/data/users/tok_…'), 'the README shows the request');
    assert.equal(asInReadme(printed ?? '').replace(/\/tok_[A-Za-z0-9_-]+$/, '/tok_…'), line, 'npm start prints the README line, with the token');
    const url = /(http:\/\/127\.0\.0\.1:\d+\/v1\/data\/users\/tok_[A-Za-z0-9_-]+)$/.exec(printed!)![1]!;
    const r = await fetch(url, { headers: { authorization: `Bearer ${tokens['beijing-engineer']}`, 'x-forwarded-for': '10.80.0.5' } });
    const body = (await r.json()) as { key: string; fields: Record<string, unknown>; withheld: { field: string; rules: string[] }[] };
    assert.deepEqual(Object.keys(body.fields).sort(), ['bio', 'country', 'created_at', 'uid', 'username']);
    assert.equal(body.fields['username'], 'lonestar_lens');
    assert.equal(body.key, url.slice(url.lastIndexOf('/') + 1), 'key and uid are the token');
    assert.equal(body.fields['uid'], body.key);
    assert.deepEqual(
      body.withheld.map((w) => `${w.field}:${w.rules.join()}`),
      ['phone_number:enclave-wall', 'email:enclave-wall', 'birthday:enclave-wall', 'device_id:enclave-wall', 'ip_address:enclave-wall'],
    );
    const clear = await fetch(`${base}/v1/data/users/demo-us-1`, {
      headers: { authorization: `Bearer ${tokens['beijing-engineer']}`, 'x-forwarded-for': '10.80.0.5' },
    });
    assert.equal(clear.status, 404, 'as the README says: demo-us-1 in clear is a user that does not exist, for beijing-engineer');
    // The README's log check, as written, against the running demo.
    const verify = README.split('\n').find((l) => l.startsWith('npx cordon log verify --url http://127.0.0.1:7070'));
    assert.ok(verify, 'the README shows how to verify the demo log');
    // Against this server, with its key, and the state file in the temporary dir.
    // npx cordon is bin/cordon.js (see runReadmeCommand: npx would rebuild dist/ under other tests).
    const [program, ...args] = verify
      .replace('http://127.0.0.1:7070', base)
      .replace('.cordon/demo/log.vkey', join(dataDir, 'demo/log.vkey'))
      .replace('--state log-state.json', `--state ${join(dataDir, 'log-state.json')}`)
      .split(/\s+/);
    const checked = await new Promise<{ status: number | null; stdout: string }>((done) => {
      assert.deepEqual([program, args[0]], ['npx', 'cordon']);
      execFile(process.execPath, [CLI, ...args.slice(1)], { cwd: ROOT, encoding: 'utf8' }, (err, stdout) =>
        done({ status: err ? (typeof err.code === 'number' ? err.code : null) : 0, stdout }),
      );
    });
    assert.equal(checked.status, 0, checked.stdout);
    assert.match(checked.stdout, /^verified demo\.cordon\.invalid\/access: \d+ entries/);
  } finally {
    process.kill(-child.pid!, 'SIGINT');
  }
  await exited;
});

for (const command of COMMANDS) {
  if (command in NOT_RUN || command in SLOW_ONLY) continue;
  const smoke = SMOKE_FLAGS[command];
  test(`README: ${command}${smoke ? ` ${smoke.join(' ')}` : ''}`, () => runReadmeCommand(command, smoke));
}

test('the README names every command of the CLI it documents', () => {
  for (const c of [
    'policy check',
    'policy explain',
    'policy diff',
    'policy schema',
    'cordon demo',
    'log verify',
    'log proof',
    'witness init',
    'witness serve',
    'access review',
    'access request',
    'access approve',
    'access deny',
    'access list',
    'revoke ID',
    'break-glass',
    'flows leaks',
    'flows impact',
    'flows ingest',
    'cordon scan',
    'eval -- scan',
    'cordon report',
    'migrate plan',
    'migrate run',
    'migrate verify',
    'migrate purge',
    'migrate shred',
  ])
    assert.ok(README.includes(c), c);
});

test('the UID fixture the README diffs is the demo policy with one change, in classes.yaml', () => {
  const fixture = join(ROOT, 'test/fixtures/policies/demo-uids-protected');
  const demo = join(ROOT, 'policies/demo');
  const files = (dir: string, sub = ''): string[] =>
    readdirSync(join(dir, sub), { withFileTypes: true })
      .flatMap((e) => (e.isDirectory() ? files(dir, join(sub, e.name)) : [join(sub, e.name)]))
      .sort();
  assert.deepEqual(files(fixture), files(demo));
  for (const f of files(demo)) {
    if (f === 'classes.yaml') continue;
    assert.equal(readFileSync(join(fixture, f), 'utf8'), readFileSync(join(demo, f), 'utf8'), f);
  }
  assert.match(readFileSync(join(fixture, 'classes.yaml'), 'utf8'), /\nUS:\n {2}protected: \[user\.unique_id, /);
});
