// End to end: the built CLI (`cordon up --demo`) as a child process, real HTTP requests with the
// tokens it writes, each persona from its own site. Checks exactly what the quick start promises.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { startUp } from './helpers/up.js';
import { tempDir } from './helpers/temp.js';
import { assertSameHidden } from './helpers/hidden.js';

interface Disclosed {
  jurisdiction: string;
  fields: Record<string, unknown>;
  transformed: Record<string, { disclosure: string }>;
  withheld: { field: string; reason: string; rules: string[] }[];
}

test('cordon up --demo serves the demo; personas get what the policy says, over HTTP', async () => {
  const dataDir = tempDir('cordon-up-');
  const up = await startUp(dataDir, ['--demo', '--demo-users', '200']);
  const { base, child, exited } = up;
  try {
    const { out, err } = up.output();
    assert.match(out, /curl -s -H "Authorization: Bearer .*beijing-engineer.*" -H 'X-Forwarded-For: 10\.80\.0\.5'/);
    // What a library says to its developer (deprecations, experimental features) is not for an operator's terminal.
    assert.doesNotMatch(err, /Warning|Deprecation/);
    const tokensFile = join(dataDir, 'demo', 'tokens.json');
    assert.equal(statSync(tokensFile).mode & 0o777, 0o600);
    const tokens = JSON.parse(readFileSync(tokensFile, 'utf8')) as Record<string, string>;
    assert.deepEqual(Object.keys(tokens).sort(), [
      'app-backend',
      'austin-approver-a',
      'austin-approver-b',
      'austin-engineer',
      'beijing-engineer',
      'legacy-admin',
      'lineage-collector',
      'monitor',
      'recsys-service',
      'us-analyst',
    ]);
    const get = async (persona: string, from: string, key: string): Promise<Disclosed> => {
      const r = await fetch(`${base}/v1/data/users/${key}`, { headers: { authorization: `Bearer ${tokens[persona]}`, 'x-forwarded-for': from } });
      assert.equal(r.status, 200, `${persona} ${key}: ${r.status}`);
      assert.match(r.headers.get('x-cordon-log-index') ?? '', /^\d+$/);
      return (await r.json()) as Disclosed;
    };
    const withheld = (d: Disclosed) => d.withheld.map((w) => `${w.field}:${w.reason}`);

    // Each printed curl line names demo-us-1 as its persona may: austin-engineer in clear, the
    // others by their own token (W6). Each works as printed.
    const paths: Record<string, string> = {};
    for (const m of out.matchAll(/require\('[^']+'\)\['([\w-]+)'\]"\)" -H 'X-Forwarded-For: ([\d.]+)' (http:\S+)/g)) {
      const [, persona, from, url] = m;
      const r = await fetch(url!, { headers: { authorization: `Bearer ${tokens[persona!]}`, 'x-forwarded-for': from! } });
      assert.equal(r.status, 200, `${persona}'s printed line`);
      assert.equal(((await r.json()) as { fields: Record<string, unknown> }).fields['username'], 'lonestar_lens');
      paths[persona!] = url!.slice(`${base}/v1/data/users/`.length);
    }
    assert.deepEqual(Object.keys(paths), ['beijing-engineer', 'us-analyst', 'austin-engineer']);
    assert.equal(paths['austin-engineer'], 'demo-us-1');
    assert.match(paths['beijing-engineer']!, /^tok_/);
    assert.match(paths['us-analyst']!, /^tok_/);
    assert.notEqual(paths['beijing-engineer'], paths['us-analyst'], 'tokens differ between audiences');
    for (const persona of ['beijing-engineer', 'us-analyst']) {
      const clear = await fetch(`${base}/v1/data/users/demo-us-1`, {
        headers: { authorization: `Bearer ${tokens[persona]}`, 'x-forwarded-for': persona === 'us-analyst' ? '10.21.0.5' : '10.80.0.5' },
      });
      assert.equal(clear.status, 404, `${persona} may not name demo-us-1 in clear`);
    }

    const bj = await get('beijing-engineer', '10.80.0.5', paths['beijing-engineer']!);
    assert.deepEqual(Object.keys(bj.fields).sort(), ['bio', 'country', 'created_at', 'uid', 'username']);
    assert.equal(bj.transformed['uid']?.disclosure, 'tokenized');
    assert.deepEqual(withheld(bj), ['phone_number:forbidden', 'email:forbidden', 'birthday:forbidden', 'device_id:forbidden', 'ip_address:forbidden']);

    const an = await get('us-analyst', '10.21.0.5', paths['us-analyst']!);
    assert.deepEqual(Object.keys(an.fields).sort(), ['bio', 'country', 'created_at', 'uid', 'username']);
    assert.equal(an.transformed['uid']?.disclosure, 'tokenized');
    assert.deepEqual(withheld(an), [
      'phone_number:not_permitted',
      'email:not_permitted',
      'birthday:not_permitted',
      'device_id:not_permitted',
      'ip_address:not_permitted',
    ]);

    const au = await get('austin-engineer', '10.20.0.5', 'demo-us-1');
    assertSameHidden([au.fields['phone_number'], au.fields['email']], ['+15125550101', 'us1@example.com'], 'the seeded grant shows phone and email in clear');

    // demo-eu-1's uid is not clear to austin-engineer either: it finds the record by its username.
    const found = await fetch(`${base}/v1/data/users?filter.username=rheinblick`, {
      headers: { authorization: `Bearer ${tokens['austin-engineer']}`, 'x-forwarded-for': '10.20.0.5' },
    });
    const euKey = ((await found.json()) as { items: { key: string }[] }).items[0]!.key;
    assert.match(euKey, /^tok_/);
    const eu = await get('austin-engineer', '10.20.0.5', euKey);
    assert.equal(eu.jurisdiction, 'EU');
    assert.deepEqual(withheld(eu), ['phone_number:forbidden', 'email:forbidden', 'birthday:forbidden', 'device_id:forbidden', 'ip_address:forbidden']);

    assert.match(
      readFileSync(join(dataDir, 'demo', 'log.vkey'), 'utf8'),
      /^demo\.cordon\.invalid\/access\+[0-9a-f]{8}\+A[A-Za-z0-9+/]{43}\n$/,
      'the log verifier key is where the demo says',
    );

    const noToken = await fetch(`${base}/v1/data/users/demo-us-1`);
    assert.equal(noToken.status, 401);
    assert.equal(noToken.headers.get('content-type'), 'application/problem+json; charset=utf-8');
  } finally {
    child.kill('SIGINT');
  }
  assert.equal(await exited, 0, 'Ctrl-C shuts down cleanly');
});
