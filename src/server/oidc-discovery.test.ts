// OpenID discovery for `cordon up --issuer`: the configuration is believed only for the exact issuer,
// keys only over https (or loopback http), and every refusal names the URL and what was wrong, with
// exit 2 for a bad document and 3 for a provider that cannot be reached.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { checkProviderUrl, discoverProvider, discoveryUrl } from './oidc-discovery.js';
import { RuntimeError } from './runtime.js';

/** A provider on loopback answering its configuration with `answer(issuer)`; the issuer is its base URL. */
async function provider(answer: (issuer: string) => { status?: number; body: string }): Promise<{ issuer: string; close(): Promise<void> }> {
  let issuer = '';
  const server = createServer((req, res) => {
    if (req.url !== '/.well-known/openid-configuration') {
      res.statusCode = 404;
      res.end();
      return;
    }
    const a = answer(issuer);
    res.statusCode = a.status ?? 200;
    res.setHeader('content-type', 'application/json');
    res.end(a.body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { issuer, close: () => new Promise((r) => server.close(() => r())) };
}

async function refused(issuer: string, exit: 2 | 3, message: string): Promise<void> {
  await assert.rejects(discoverProvider(issuer, { timeoutMs: 2000 }), (e: unknown) => {
    assert.ok(e instanceof RuntimeError, String(e));
    assert.equal(e.message, message);
    assert.equal(e.exit, exit);
    return true;
  });
}

test('the configuration URL drops a trailing slash of the issuer (Discovery §4)', () => {
  assert.equal(discoveryUrl('https://idp.example'), 'https://idp.example/.well-known/openid-configuration');
  assert.equal(discoveryUrl('https://idp.example/realms/x/'), 'https://idp.example/realms/x/.well-known/openid-configuration');
});

test('a good document gives the key set and the endpoints', async () => {
  const p = await provider((iss) => ({
    body: JSON.stringify({
      issuer: iss,
      jwks_uri: `${iss}/jwks`,
      authorization_endpoint: `${iss}/auth`,
      token_endpoint: `${iss}/token`,
      code_challenge_methods_supported: ['S256'],
    }),
  }));
  try {
    const m = await discoverProvider(p.issuer);
    assert.equal(m.issuer, p.issuer);
    assert.equal(m.jwksUri.href, `${p.issuer}/jwks`);
    assert.equal(m.authorizationEndpoint, `${p.issuer}/auth`);
    assert.equal(m.tokenEndpoint, `${p.issuer}/token`);
    assert.deepEqual(m.codeChallengeMethods, ['S256']);
  } finally {
    await p.close();
  }
});

test('bad documents are exit 2 naming the URL and what was wrong', async () => {
  const cases: {
    note: string;
    answer: (iss: string) => { status?: number; body: string };
    issuer?: (iss: string) => string;
    message: (url: string, iss: string) => string;
  }[] = [
    {
      note: 'another issuer (a trailing slash is not the same issuer)',
      answer: (iss) => ({ body: JSON.stringify({ issuer: `${iss}/`, jwks_uri: `${iss}/jwks` }) }),
      message: (url, iss) =>
        `OpenID discovery ${url}: the document's issuer "${iss}/" is not "${iss}" exactly (OpenID Connect Discovery §4.3); give --issuer as the provider names itself`,
    },
    {
      note: 'no jwks_uri',
      answer: (iss) => ({ body: JSON.stringify({ issuer: iss }) }),
      message: (url) => `OpenID discovery ${url}: the document has no jwks_uri`,
    },
    {
      note: 'a jwks_uri over plain http to another host',
      answer: (iss) => ({ body: JSON.stringify({ issuer: iss, jwks_uri: 'http://keys.example.com/jwks' }) }),
      message: (url) =>
        `OpenID discovery ${url}: jwks_uri http://keys.example.com/jwks is plain http to a host that is not loopback; use https (http is accepted only for 127.0.0.1, ::1 and localhost)`,
    },
    { note: 'not JSON', answer: () => ({ body: '<html>' }), message: (url) => `OpenID discovery ${url}: the answer is not JSON` },
    { note: 'a JSON list', answer: () => ({ body: '[]' }), message: (url) => `OpenID discovery ${url}: the answer is not a JSON object` },
    {
      note: 'a 404',
      answer: () => ({ status: 404, body: '{}' }),
      message: (url) => `OpenID discovery ${url}: answered 404, not 200 (is --issuer the provider's issuer?)`,
    },
  ];
  for (const c of cases) {
    const p = await provider(c.answer);
    try {
      await refused(p.issuer, 2, c.message(discoveryUrl(p.issuer), p.issuer));
    } finally {
      await p.close();
    }
  }
});

test('a provider that is down or failing is exit 3: cordon does not start without its keys', async () => {
  const p = await provider(() => ({ status: 503, body: '{}' }));
  const url = discoveryUrl(p.issuer);
  try {
    await refused(p.issuer, 3, `OpenID discovery ${url}: the provider answered 503; cordon does not start without its keys`);
  } finally {
    await p.close();
  }
  await refused(p.issuer, 3, `OpenID discovery ${url}: the provider could not be reached (ECONNREFUSED); cordon does not start without its keys`);
});

test('issuer URLs: https, or http to loopback only; no credentials; exit 2', () => {
  assert.equal(checkProviderUrl('https://idp.example.com', '--issuer').host, 'idp.example.com');
  for (const ok of ['http://127.0.0.1:9000', 'http://localhost:9000/realms/x', 'http://[::1]:9000']) assert.ok(checkProviderUrl(ok, '--issuer'));
  const bad: [string, string][] = [
    [
      'http://idp.example.com',
      '--issuer http://idp.example.com is plain http to a host that is not loopback; use https (http is accepted only for 127.0.0.1, ::1 and localhost)',
    ],
    ['idp.example.com', '--issuer must be an absolute https URL, got "idp.example.com"'],
    ['ftp://idp.example.com', '--issuer must be an https URL, got "ftp://idp.example.com"'],
    ['https://u:p@idp.example.com', '--issuer must not carry credentials'],
  ];
  for (const [url, message] of bad) {
    assert.throws(
      () => checkProviderUrl(url, '--issuer'),
      (e: unknown) => e instanceof RuntimeError && e.exit === 2 && e.message === message,
    );
  }
});
