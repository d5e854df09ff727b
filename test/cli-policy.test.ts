// `cordon policy check | explain | diff | schema` and `cordon demo`, run as a user runs them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cordon } from './helpers/cli.js';
import { DEMO_POLICY } from './helpers/paths.js';
import { tempDir } from './helpers/temp.js';

/** A copy of the demo policy with user.unique_id moved from excepted to protected in the US. */
function demoWithProtectedUids(): string {
  const dir = tempDir('cordon-uid-');
  cpSync(DEMO_POLICY, dir, { recursive: true });
  const file = join(dir, 'classes.yaml');
  const text = readFileSync(file, 'utf8');
  const us = text.indexOf('\nUS:\n');
  const eu = text.indexOf('\nEU:\n');
  const usBlock = text
    .slice(us, eu)
    .replace('  protected: [', '  protected: [user.unique_id, ')
    .replace(/ {2}excepted: \[user\.unique_id\][^\n]*/, '  excepted: []');
  writeFileSync(file, text.slice(0, us) + usBlock + text.slice(eu));
  return dir;
}

test('policy check: the demo policy is valid (exit 0), text and --json', () => {
  const r = cordon(['policy', 'check', 'policies/demo']);
  assert.equal(r.status, 0, r.stderr);
  // legacy-admin's rule is the demo's one warning: standing access, inert at run time (W4).
  assert.match(
    r.stdout,
    /^rules\/legacy\.cedar:4:1 policy\.standing_access \(warning\) rule legacy-admin releases protected data in clear without a grant .*\(it has no effect at run time\)\npolicies\/demo: valid — 3 datasets, 22 fields, 3 jurisdictions, 10 principals, 11 rules \(version [0-9a-f]{12}\)\n$/,
  );
  const j = cordon(['policy', 'check', 'policies/demo', '--json']);
  assert.equal(j.status, 0);
  const body = JSON.parse(j.stdout) as { valid: boolean; errors: unknown[]; warnings: unknown[]; policyVersion: string };
  assert.equal(body.valid, true);
  assert.deepEqual(body.errors, []);
  assert.deepEqual(
    (body.warnings as { code: string; file: string; line: number }[]).map((w) => `${w.file}:${w.line} ${w.code}`),
    ['rules/legacy.cedar:4 policy.standing_access'],
  );
  assert.match(body.policyVersion, /^[0-9a-f]{64}$/);
});

test('policy check: an invalid policy exits 2 and lists every error as file:line:col code message', () => {
  const dir = tempDir('cordon-bad-');
  cpSync(DEMO_POLICY, dir, { recursive: true });
  const users = join(dir, 'catalog/users.yaml');
  writeFileSync(users, readFileSync(users, 'utf8').replace('phone_number: user.contact.phone_number', 'phone_number: user.contact.phon'));
  const dirFile = join(dir, 'directory.yaml');
  writeFileSync(dirFile, readFileSync(dirFile, 'utf8').replace('team: us-marketing', 'team: us-marketin'));
  const r = cordon(['policy', 'check', dir]);
  assert.equal(r.status, 2);
  const lines = r.stdout.trim().split('\n');
  assert.deepEqual(lines.slice(0, 2), [
    'catalog/users.yaml:11:17 policy.unknown_category unknown category "user.contact.phon" (did you mean user.contact.phone_number?)',
    'directory.yaml:47:11 policy.unknown_team principal us-analyst is in unknown team "us-marketin" (did you mean us-marketing?)',
  ]);
  assert.equal(lines[2], `${dir}: invalid — 2 errors; nothing was loaded`);
  const j = JSON.parse(cordon(['policy', 'check', dir, '--json']).stdout) as { valid: boolean; errors: { code: string }[] };
  assert.equal(j.valid, false);
  assert.deepEqual(
    j.errors.map((e) => e.code),
    ['policy.unknown_category', 'policy.unknown_team'],
  );
});

test('policy check: a rule the compiler cannot compile is named as a fallback warning', () => {
  const dir = tempDir('cordon-fallback-');
  cpSync(DEMO_POLICY, dir, { recursive: true });
  writeFileSync(
    join(dir, 'rules/senior.cedar'),
    '// senior staff, by arithmetic\n@id("senior")\npermit (principal, action == Action::"disclose_masked", resource)\nwhen { principal.clearance + 1 > 3 };\n',
  );
  const r = cordon(['policy', 'check', dir]);
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.equal(
    r.stdout.split('\n')[0],
    'rules/senior.cedar:3:1 policy.compile_fallback (warning) rule senior uses +, which the compiler does not support; it is evaluated by cedar-wasm',
  );
});

test('policy explain: why beijing-engineer gets no US phone numbers', () => {
  const r = cordon([
    'policy',
    'explain',
    '--policy',
    'policies/demo',
    '--principal',
    'beijing-engineer',
    '--field',
    'users.phone_number',
    '--jurisdiction',
    'US',
    '--json',
  ]);
  assert.equal(r.status, 0, r.stderr);
  const x = JSON.parse(r.stdout) as {
    country: string;
    classSource: { class: string; listedAs: string };
    decision: { disclosure: string; rules: string[]; reason: string; steps: { action: string; allow: boolean }[] };
    rules: { id: string; at: string }[];
  };
  assert.equal(x.country, 'CN');
  assert.deepEqual(x.classSource, { class: 'protected', listedAs: 'user.contact' });
  assert.equal(x.decision.disclosure, 'withheld');
  assert.equal(x.decision.reason, 'forbidden');
  assert.deepEqual(x.decision.rules, ['enclave-wall']);
  assert.deepEqual(
    x.decision.steps.map((s) => [s.action, s.allow]),
    [
      ['disclose_clear', false],
      ['disclose_tokenized', false],
      ['disclose_masked', false],
    ],
  );
  assert.deepEqual(x.rules, [{ id: 'enclave-wall', effect: 'forbid', at: 'rules/enclave.cedar:42:1' }]);
});

test('policy explain: row-dependent category and grant, text output, both engines', () => {
  for (const engine of ['compiled', 'cedar']) {
    const args = [
      'policy',
      'explain',
      '--policy',
      'policies/demo',
      '--principal',
      'austin-engineer',
      '--field',
      'videos.caption',
      '--row',
      'visibility=private',
      '--jurisdiction',
      'US',
      '--engine',
      engine,
    ];
    const without = cordon(args);
    assert.equal(without.status, 0, without.stderr);
    assert.match(without.stdout, /^austin-engineer read videos\.caption: WITHHELD\n/);
    assert.match(without.stdout, /\n {2}category {5}user\.content\.private\n/);
    const withGrant = cordon([...args, '--grant']);
    assert.match(withGrant.stdout, /^austin-engineer read videos\.caption: CLEAR\n/);
    assert.match(withGrant.stdout, /\n {2}rules {8}enclave-grant-clear \(permit rules\/enclave\.cedar:10:1\)\n/);
  }
  const pub = cordon([
    'policy',
    'explain',
    '--policy',
    'policies/demo',
    '--principal',
    'beijing-engineer',
    '--field',
    'videos.caption',
    '--row',
    'visibility=public',
    '--jurisdiction',
    'US',
  ]);
  assert.match(pub.stdout, /^beijing-engineer read videos\.caption: CLEAR\n/);
});

test('policy explain: bad input exits 2 with a clear message', () => {
  const cases: [string[], RegExp][] = [
    [
      ['--principal', 'austin-enginer', '--field', 'users.phone_number', '--jurisdiction', 'US'],
      /unknown principal "austin-enginer" \(did you mean austin-engineer\?\)/,
    ],
    [
      ['--principal', 'austin-engineer', '--field', 'users.phone', '--jurisdiction', 'US'],
      /unknown field "phone" of users \(did you mean email\?\)|unknown field "phone" of users/,
    ],
    [['--principal', 'austin-engineer', '--field', 'user.phone_number', '--jurisdiction', 'US'], /unknown dataset "user" \(did you mean users\?\)/],
    [['--principal', 'austin-engineer', '--field', 'users.phone_number', '--jurisdiction', 'USA'], /unknown jurisdiction "USA" \(did you mean US\?\)/],
    [
      ['--principal', 'austin-engineer', '--field', 'users.phone_number', '--jurisdiction', 'US', '--country', 'usa'],
      /--country must be a two-letter country code/,
    ],
    [
      ['--principal', 'austin-engineer', '--field', 'videos.caption', '--jurisdiction', 'US', '--row', 'visibilty=public'],
      /--row names unknown field "visibilty" of videos \(did you mean visibility\?\)/,
    ],
  ];
  for (const [args, message] of cases) {
    const r = cordon(['policy', 'explain', '--policy', 'policies/demo', ...args]);
    assert.equal(r.status, 2, args.join(' '));
    assert.match(r.stderr, message);
    assert.equal(r.stdout, '');
  }
});

test('policy diff: moving user.unique_id to protected shows exactly who loses clear or tokenized UIDs', () => {
  const next = demoWithProtectedUids();
  const r = cordon(['policy', 'diff', 'policies/demo', next, '--json']);
  assert.equal(r.status, 0, r.stderr);
  const d = JSON.parse(r.stdout) as {
    classChanges: unknown[];
    flips: { principal: string; dataset: string; field: string; jurisdiction: string; from: string; to: string; change: string }[];
  };
  assert.deepEqual(d.classChanges, [
    { jurisdiction: 'US', category: 'user.unique_id', from: 'excepted', to: 'protected' },
    { jurisdiction: 'US', category: 'user.unique_id.pseudonymous', from: 'excepted', to: 'protected' },
  ]);
  const uidFields = ['comments.author_uid', 'users.uid', 'videos.owner_uid'];
  // legacy-admin's rule is inert (W4), so it loses its tokens like everyone outside the enclave.
  const expected = [
    ...['app-backend'].flatMap((p) => uidFields.map((f) => `${p} ${f} US tokenized->withheld`)),
    ...['austin-approver-a', 'austin-approver-b', 'austin-engineer'].flatMap((p) => uidFields.map((f) => `${p} ${f} US clear->withheld`)),
    ...['beijing-engineer', 'legacy-admin', 'lineage-collector', 'monitor', 'recsys-service', 'us-analyst'].flatMap((p) =>
      uidFields.map((f) => `${p} ${f} US tokenized->withheld`),
    ),
  ];
  assert.deepEqual(
    d.flips.map((f) => `${f.principal} ${f.dataset}.${f.field} ${f.jurisdiction} ${f.from}->${f.to}`),
    expected,
  );
  assert.ok(d.flips.every((f) => f.change === 'lose'));

  const text = cordon(['policy', 'diff', 'policies/demo', next]);
  assert.match(text.stdout, /Decisions that flip \(30; 30 lose, 0 gain;/);
  assert.match(text.stdout, /\n {2}beijing-engineer {3}users\.uid {12}user\.unique_id {2}US {12}tokenized {2}withheld {2}enclave-wall\n/);
  assert.equal(cordon(['policy', 'diff', 'policies/demo', next, '--exit-code']).status, 1);
  assert.equal(cordon(['policy', 'diff', 'policies/demo', 'policies/demo', '--exit-code']).status, 0);
  const withGrant = JSON.parse(cordon(['policy', 'diff', 'policies/demo', next, '--grant', '--json']).stdout) as { flips: { principal: string }[] };
  assert.ok(!withGrant.flips.some((f) => f.principal.startsWith('austin-')), 'enclave staff with a grant keep clear UIDs');
});

test('policy schema prints the generated Cedar schema', () => {
  const r = cordon(['policy', 'schema']);
  assert.equal(r.status, 0);
  assert.match(r.stdout, /entity Field/);
  assert.match(r.stdout, /\naction "disclose_clear" in \[Action::"read"\] appliesTo \{\n/);
  const j = JSON.parse(cordon(['policy', 'schema', '--json']).stdout) as Record<string, { entityTypes: Record<string, unknown> }>;
  assert.deepEqual(Object.keys(j['']!.entityTypes).sort(), ['Field', 'Service', 'Team', 'User']);
});

test('demo (npm start) shows what each persona gets and prints no field values', () => {
  const r = cordon(['demo']);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /users\/demo-us-1 \(jurisdiction US\)/);
  // legacy-admin's standing rule is inert (W4): no protected field without a grant.
  assert.ok(
    r.stdout.includes(
      '\n  phone_number  clear            masked             masked             -                 -           -               -            -        -             -\n',
    ),
    r.stdout,
  );
  for (const secret of ['+15125550101', 'us1@example.com', '1994-03-02']) assert.ok(!r.stdout.includes(secret));
  const j = JSON.parse(cordon(['demo', '--json']).stdout) as { users: { uid: string; jurisdiction: string }[] };
  assert.deepEqual(
    j.users.map((u) => [u.uid, u.jurisdiction]),
    [
      ['demo-us-1', 'US'],
      ['demo-eu-1', 'EU'],
      ['demo-br-1', 'ROW'],
    ],
  );
});

test('bad usage exits 2, --help exits 0', () => {
  assert.equal(cordon(['policy', 'bogus']).status, 2);
  assert.equal(cordon(['policy']).status, 2);
  assert.equal(cordon(['policy', 'check']).status, 2);
  assert.equal(cordon(['--help']).status, 0);
  assert.equal(cordon(['policy', 'explain', '--help']).status, 0);
});
