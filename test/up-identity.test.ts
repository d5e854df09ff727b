// `cordon up`'s identity flags, as a user gets them wrong: each is one line on stderr naming the
// flag or URL and what was wrong, exit 2 (bad input) or 3 (a provider that cannot be reached), and
// nothing is created. The working path is test/oidc-e2e.slow.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { cordonAsync } from './helpers/cli.js';
import { tempDir } from './helpers/temp.js';

/** A provider on loopback whose configuration document is `doc(issuer)`. */
async function provider(doc: (issuer: string) => Record<string, unknown>): Promise<{ issuer: string; close(): Promise<void> }> {
  let issuer = '';
  const server = createServer((_req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify(doc(issuer)));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { issuer, close: () => new Promise((r) => server.close(() => r())) };
}

async function refused(args: readonly string[], status: number, stderr: string): Promise<void> {
  const dataDir = join(tempDir('cordon-up-identity-'), 'data');
  const r = await cordonAsync(['up', '--policy', 'policies/demo', '--port', '0', '--data-dir', dataDir, ...args]);
  assert.equal(r.stderr, stderr);
  assert.equal(r.status, status, r.stderr);
  assert.equal(r.stdout, '');
  assert.equal(existsSync(dataDir), false, 'nothing created');
}

test('flags that do not go together, and a missing audience, are exit 2', async () => {
  await refused([], 2, 'cordon: without --demo, give --issuer URL (the OpenID provider) and --audience\n');
  await refused(
    ['--issuer', 'https://idp.example.com'],
    2,
    "cordon: --issuer needs the audience tokens must carry: give --audience (e.g. https://cordon.example.com, as the provider's resource or API identifier for cordon), or set identity.audience in cordon.yaml\n",
  );
  await refused(['--jwks', 'https://idp.example.com/jwks'], 2, 'cordon: --jwks goes with --issuer (the provider whose keys they are)\n');
  await refused(['--demo', '--audience', 'https://cordon.example.com'], 2, 'cordon: --audience goes with --issuer (the demo signs its own tokens)\n');
  await refused(
    ['--issuer', 'http://idp.example.com', '--audience', 'https://cordon.example.com'],
    2,
    'cordon: --issuer http://idp.example.com is plain http to a host that is not loopback; use https (http is accepted only for 127.0.0.1, ::1 and localhost)\n',
  );
  await refused(['--issuer', 'https://idp.example.com', '--audience', ''], 2, 'cordon: --audience must not be empty\n');
});

test('discovery: a document of another issuer is exit 2, a provider that is down exit 3, both naming the URL', async () => {
  const p = await provider((iss) => ({ issuer: `${iss}/other`, jwks_uri: `${iss}/jwks` }));
  const url = `${p.issuer}/.well-known/openid-configuration`;
  try {
    await refused(
      ['--issuer', p.issuer, '--audience', 'https://cordon.example.com'],
      2,
      `cordon: OpenID discovery ${url}: the document's issuer "${p.issuer}/other" is not "${p.issuer}" exactly (OpenID Connect Discovery §4.3); give --issuer as the provider names itself\n`,
    );
  } finally {
    await p.close();
  }
  await refused(
    ['--issuer', p.issuer, '--audience', 'https://cordon.example.com'],
    3,
    `cordon: OpenID discovery ${url}: the provider could not be reached (ECONNREFUSED); cordon does not start without its keys\n`,
  );
});

test('--console-client-id needs a provider that offers PKCE with S256', async () => {
  const p = await provider((iss) => ({
    issuer: iss,
    jwks_uri: `${iss}/jwks`,
    authorization_endpoint: `${iss}/auth`,
    token_endpoint: `${iss}/token`,
    code_challenge_methods_supported: ['plain'],
  }));
  try {
    await refused(
      ['--issuer', p.issuer, '--audience', 'https://cordon.example.com', '--console-client-id', 'cordon-console'],
      2,
      `cordon: --console-client-id: the provider (${p.issuer}/.well-known/openid-configuration) does not offer PKCE with S256 (code_challenge_methods_supported), which the console's sign-in needs\n`,
    );
  } finally {
    await p.close();
  }
});
