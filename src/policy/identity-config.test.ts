// cordon.yaml `identity`: the claim that names a principal, the map from its values to directory
// principals, and the audiences. Each bad value is an error that names its path and line.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { formatIssue, loadPolicy } from './index.js';

const DEMO = fileURLToPath(new URL('../../../policies/demo', import.meta.url));

/** The demo policy with `identity` appended to its cordon.yaml; the issues formatted, or the config. */
function withIdentity(yaml: string) {
  const dir = mkdtempSync(join(tmpdir(), 'cordon-identity-'));
  try {
    cpSync(DEMO, dir, { recursive: true });
    const file = join(dir, 'cordon.yaml');
    const base = readFileSync(file, 'utf8');
    writeFileSync(file, `${base}${yaml}`);
    const r = loadPolicy(dir);
    const firstLine = base.split('\n').length;
    return {
      firstLine,
      issues: r.issues.map(formatIssue),
      identity: r.ok ? r.policy.deployment.identity : undefined,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('without identity: sub names the principal, no map, no audience from the policy', () => {
  const r = loadPolicy(DEMO);
  assert.ok(r.ok);
  assert.deepEqual(r.policy.deployment.identity, { principalClaim: 'sub', audience: [] });
});

test('principal_claim, principals and audience (one or a list) are read as written', () => {
  const r = withIdentity(
    'identity:\n  principal_claim: email\n  principals:\n    "alice@example.com": austin-engineer\n    "bo@example.com": beijing-engineer\n  audience: [https://cordon.example.com, cordon-api]\n',
  );
  assert.deepEqual(r.issues, []);
  assert.equal(r.identity?.principalClaim, 'email');
  assert.deepEqual(
    [...r.identity!.principals!],
    [
      ['alice@example.com', 'austin-engineer'],
      ['bo@example.com', 'beijing-engineer'],
    ],
  );
  assert.deepEqual(r.identity?.audience, ['https://cordon.example.com', 'cordon-api']);
  assert.deepEqual(withIdentity('identity:\n  audience: https://cordon.example.com\n').identity?.audience, ['https://cordon.example.com']);
});

test('each bad value is an error naming its path, at its line', () => {
  const cases: { note: string; yaml: string; issue: (line: number) => string }[] = [
    {
      note: 'a map value names no principal of the directory (did you mean)',
      yaml: 'identity:\n  principal_claim: email\n  principals:\n    "alice@example.com": austin-enginer\n',
      issue: (l) =>
        `cordon.yaml:${l + 3}:26 policy.unknown_principal identity.principals."alice@example.com": "austin-enginer" is not a principal of the directory (did you mean austin-engineer?)`,
    },
    {
      note: 'a claim that cannot name anybody',
      yaml: 'identity:\n  principal_claim: aud\n',
      issue: (l) =>
        `cordon.yaml:${l + 1}:20 policy.invalid_value identity.principal_claim: aud says when, by whom or for whom a token was made and cannot name a principal; use sub, email, preferred_username, client_id or azp`,
    },
    {
      note: 'a claim name with a space',
      yaml: 'identity:\n  principal_claim: "user name"\n',
      issue: (l) =>
        `cordon.yaml:${l + 1}:20 policy.invalid_value identity.principal_claim: "user name" is not a claim name (such as sub, email, preferred_username, client_id or azp)`,
    },
    {
      note: 'a number for the claim',
      yaml: 'identity:\n  principal_claim: 42\n',
      issue: (l) => `cordon.yaml:${l + 1}:20 policy.invalid_value identity.principal_claim must be a non-empty string`,
    },
    {
      note: 'an empty map',
      yaml: 'identity:\n  principals: {}\n',
      issue: (l) =>
        `cordon.yaml:${l + 1}:15 policy.invalid_value identity.principals is empty, so no token would name a principal: list claim values, or remove it`,
    },
    {
      note: 'an empty audience list',
      yaml: 'identity:\n  audience: []\n',
      issue: (l) => `cordon.yaml:${l + 1}:13 policy.invalid_value identity.audience is an empty list`,
    },
    {
      note: 'an unknown key (did you mean)',
      yaml: 'identity:\n  principal_claims: email\n',
      issue: (l) => `cordon.yaml:${l + 1}:3 policy.unknown_key unknown key "principal_claims" in identity (did you mean principal_claim?)`,
    },
  ];
  for (const c of cases) {
    const r = withIdentity(c.yaml);
    assert.deepEqual(r.issues, [c.issue(r.firstLine)], c.note);
    assert.equal(r.identity, undefined, `${c.note}: a policy with an error loads nothing`);
  }
});
