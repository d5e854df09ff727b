// The access log end to end, with the built CLI as users run it: `cordon up --demo` with a witness
// that `cordon witness serve` runs; `cordon log verify` requiring its cosignature and keeping state;
// `cordon log proof` for one response; `cordon log verify --records` as the monitor, flagging the
// legacy admin's read of protected data without a grant.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { startUp } from './helpers/up.js';
import { CLI } from './helpers/paths.js';
import { cordonAsync } from './helpers/cli.js';
import { tempDir } from './helpers/temp.js';

function freePort(): Promise<number> {
  return new Promise((done) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => done(port));
    });
  });
}

test('witness, verify, proof and monitoring over HTTP with the built CLI', { timeout: 300_000 }, async () => {
  const dir = tempDir('cordon-log-e2e-');
  const init = await cordonAsync(['witness', 'init', '--name', 'witness.test', '--key', join(dir, 'witness.key')]);
  assert.equal(init.status, 0, init.stderr);
  const witnessVkey = init.stdout.trim();
  assert.match(witnessVkey, /^witness\.test\+[0-9a-f]{8}\+B/);
  const again = await cordonAsync(['witness', 'init', '--name', 'witness.test', '--key', join(dir, 'witness.key')]);
  assert.equal(again.status, 2, 'a witness key is never overwritten');

  const port = await freePort();
  const dataDir = join(dir, 'data');
  const up = await startUp(dataDir, ['--demo', '--demo-users', '0', '--witness', `http://127.0.0.1:${port}=${witnessVkey}`]);
  const logVkeyFile = join(dataDir, 'demo', 'log.vkey');
  assert.match(up.output().out, /npx cordon log verify --url http:\/\/127\.0\.0\.1:\d+ --vkey .*log\.vkey/);
  const witness = spawn(
    process.execPath,
    [CLI, 'witness', 'serve', '--key', join(dir, 'witness.key'), '--log', logVkeyFile, '--state', join(dir, 'witness-state.json'), '--port', String(port)],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let wout = '';
  witness.stdout.on('data', (d: Buffer) => (wout += d.toString()));
  witness.stderr.on('data', (d: Buffer) => (wout += d.toString()));
  try {
    const tokens = up.tokens();
    const read = (persona: string, from: string) =>
      fetch(`${up.base}/v1/data/users/demo-us-1`, { headers: { authorization: `Bearer ${tokens[persona]}`, 'x-forwarded-for': from } });
    // Reads grow the log; each new checkpoint goes to the witness once it listens.
    let cosigned = false;
    let index = -1;
    for (let i = 0; i < 100 && !cosigned; i++) {
      const r = await read('austin-engineer', '10.20.0.5');
      assert.equal(r.status, 200);
      index = Number(r.headers.get('x-cordon-log-index'));
      await new Promise((done) => setTimeout(done, 200));
      cosigned = (await (await fetch(`${up.base}/log/checkpoint`)).text()).includes('\u2014 witness.test ');
    }
    assert.ok(cosigned, `the witness cosigned a checkpoint:\n${wout}`);

    const state = join(dir, 'verify-state.json');
    const verified = await cordonAsync([
      'log',
      'verify',
      '--url',
      up.base,
      '--vkey',
      logVkeyFile,
      '--witness',
      witnessVkey,
      '--min-cosignatures',
      '1',
      '--state',
      state,
    ]);
    assert.equal(verified.status, 0, verified.stdout + verified.stderr);
    assert.match(verified.stdout, /^verified demo\.cordon\.invalid\/access: \d+ entries, root [A-Za-z0-9+/]{43}=\n/);
    assert.match(verified.stdout, /cosigned by witness\.test at /);
    const saved = JSON.parse(readFileSync(state, 'utf8')) as { size: number; origin: string };
    assert.equal(saved.origin, 'demo.cordon.invalid/access');
    const second = await cordonAsync(['log', 'verify', '--url', up.base, '--vkey', logVkeyFile, '--state', state, '--json']);
    assert.equal(second.status, 0, second.stdout);
    const json = JSON.parse(second.stdout) as { ok: boolean; previous: { size: number } };
    assert.equal(json.ok, true);
    assert.equal(json.previous.size, saved.size, 'the second run checks consistency with the first');

    // A witness the checkpoint lacks: fewer cosignatures than required is a failure with the missing key named.
    const other = (await cordonAsync(['witness', 'init', '--name', 'other.test', '--key', join(dir, 'other.key')])).stdout.trim();
    const missing = await cordonAsync([
      'log',
      'verify',
      '--url',
      up.base,
      '--vkey',
      logVkeyFile,
      '--witness',
      witnessVkey,
      '--witness',
      other,
      '--min-cosignatures',
      '2',
    ]);
    assert.equal(missing.status, 1);
    assert.match(missing.stdout, /FAILED \(signature\).*other\.test/s);

    // The receipt of one response, checked against the signed checkpoint.
    const proof = await cordonAsync(['log', 'proof', '--url', up.base, '--index', String(index), '--vkey', logVkeyFile]);
    assert.equal(proof.status, 0, proof.stderr);
    assert.match(proof.stdout, /^c2sp\.org\/tlog-proof@v1\nindex \d+\n/);
    assert.match(proof.stderr, new RegExp(`checked: entry ${index} is in the signed tree of size \\d+`));
    const beyond = await cordonAsync(['log', 'proof', '--url', up.base, '--index', '99999999']);
    assert.equal(beyond.status, 1);
    assert.match(beyond.stderr, /log\.not_found/);

    // Monitoring. The legacy admin's old "master admin" rule is inert (W4): its read releases nothing
    // protected, so there is nothing to flag. The platform's backend, acting for the owner, makes a
    // private video public: a declassification, flagged for a person to judge.
    const legacyKey = (
      (await (
        await fetch(`${up.base}/v1/data/users?filter.username=lonestar_lens`, {
          headers: { authorization: `Bearer ${tokens['legacy-admin']}`, 'x-forwarded-for': '10.21.0.5' },
        })
      ).json()) as { items: { key: string }[] }
    ).items[0]!.key;
    const legacy = await fetch(`${up.base}/v1/data/users/${legacyKey}`, {
      headers: { authorization: `Bearer ${tokens['legacy-admin']}`, 'x-forwarded-for': '10.21.0.5' },
    });
    assert.equal(legacy.status, 200);
    const legacyBody = (await legacy.json()) as { withheld: { field: string }[] };
    assert.deepEqual(
      legacyBody.withheld.map((w) => w.field),
      ['phone_number', 'email', 'birthday', 'device_id', 'ip_address'],
    );
    // app-backend names the owner as it was given it: its own token of demo-us-1 (W6).
    const found = await fetch(`${up.base}/v1/data/users?filter.username=lonestar_lens`, {
      headers: { authorization: `Bearer ${tokens['app-backend']}`, 'x-forwarded-for': '10.90.0.5' },
    });
    const owner = ((await found.json()) as { items: { key: string }[] }).items[0]!.key;
    assert.match(owner, /^tok_/);
    const declassified = await fetch(`${up.base}/v1/data/videos/demo-v-private-1`, {
      method: 'PATCH',
      headers: {
        authorization: `Bearer ${tokens['app-backend']}`,
        'x-forwarded-for': '10.90.0.5',
        'x-cordon-on-behalf-of': owner,
        'content-type': 'application/json',
      },
      body: JSON.stringify({ visibility: 'public' }),
    });
    assert.equal(declassified.status, 200, await declassified.clone().text());
    const declassifiedIndex = Number(declassified.headers.get('x-cordon-log-index'));
    // The verifier reads up to the signed checkpoint: wait (polling, with a deadline) until it covers the write.
    for (const end = Date.now() + 30_000; Number((await (await fetch(`${up.base}/log/checkpoint`)).text()).split('\n')[1]) <= declassifiedIndex; ) {
      if (Date.now() > end) assert.fail(`no checkpoint covered log index ${declassifiedIndex} within 30 s`);
      await new Promise((done) => setTimeout(done, 50));
    }
    const notAuditor = await cordonAsync(['log', 'verify', '--url', up.base, '--vkey', logVkeyFile, '--records', '--token', tokens['beijing-engineer']!]);
    assert.notEqual(notAuditor.status, 0);
    const audit = await cordonAsync(['log', 'verify', '--url', up.base, '--vkey', logVkeyFile, '--records', '--token', tokens['monitor']!, '--json']);
    assert.equal(audit.status, 1, audit.stdout + audit.stderr);
    const result = JSON.parse(audit.stdout) as {
      ok: boolean;
      records: { checked: number; mismatches: unknown[]; anomalies: { index: number; kind: string; message: string }[] };
    };
    assert.deepEqual(result.records.mismatches, []);
    assert.deepEqual(
      result.records.anomalies.map((a) => `${a.index}:${a.kind}`),
      [`${declassifiedIndex}:declassify`],
    );
    assert.equal(result.records.anomalies[0]!.message, 'app-backend declassified videos.caption from protected to public (rules app-acts-for-user)');
    assert.doesNotMatch(audit.stdout, /\+1512|us1@example/, 'monitoring never prints protected values');
  } finally {
    witness.kill('SIGTERM');
    up.child.kill('SIGINT');
    await up.exited;
  }
});
