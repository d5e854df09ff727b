// cordon behind a real OpenID provider (oidc-provider on loopback), as providers do it: `cordon up`
// is given only --issuer (keys by discovery), a policy whose principals are named by the verified
// `email` claim and mapped to demo personas, and an audience the provider puts in its JWT access
// tokens (RFC 8707 resource indicators). A service reads with a client-credentials token; two people
// sign in to the console in Chromium through authorization code + PKCE; a malformed token is
// refused by the server (401 with WWW-Authenticate) and by the console (a message, no principal).
// No token is ever printed: failures show status codes and problem codes only.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { exportJWK, generateKeyPair } from 'jose';
import { chromium, type Browser, type Page } from 'playwright-core';
import { startUp, type RunningUp } from './helpers/up.js';
import { DEMO_POLICY } from './helpers/paths.js';
import { tempDir } from './helpers/temp.js';

const CHROMIUM = '/usr/bin/chromium';
/** cordon's identifier at the provider: the resource its access tokens are for, and their aud. */
const AUDIENCE = 'https://cordon.test/api';
const CONSOLE_CLIENT = 'cordon-console';
const SERVICE_CLIENT = 'recsys';
const SERVICE_SECRET = 'a-client-secret-for-the-test-only-0123456789';
/** Verified emails -> demo personas (cordon.yaml identity.principals of the test's policy). */
const PEOPLE = { alice: 'austin-engineer', bo: 'beijing-engineer' } as const;
const SERVICE_EMAIL = 'recsys@services.example.com';

let provider: Server;
let issuer: string;
let up: RunningUp;
let dataDir: string;
let browser: Browser;

async function freePort(): Promise<number> {
  const s = createNetServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as AddressInfo;
  await new Promise((r) => s.close(r));
  return port;
}

before(async () => {
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: .ci/run installs Debian's chromium`);
  // The console's redirect URI is registered at the provider before cordon starts, so cordon's port is chosen first.
  const cordonPort = await freePort();
  const cordonBase = `http://127.0.0.1:${cordonPort}`;

  // oidc-provider warns that Node 20 is not its supported runtime; it works, and the warning is noise here.
  const warn = process.emitWarning;
  const { Provider } = await import('oidc-provider');
  process.emitWarning = warn;
  const { privateKey } = await generateKeyPair('RS256', { extractable: true });
  const signing = { ...(await exportJWK(privateKey)), kid: 'e2e-1', alg: 'RS256', use: 'sig' };
  provider = createHttpServer();
  await new Promise<void>((r) => provider.listen(0, '127.0.0.1', r));
  issuer = `http://127.0.0.1:${(provider.address() as AddressInfo).port}`;
  const oidc = new Provider(issuer, {
    clients: [
      // The console: a public client (no secret) that proves itself with PKCE.
      {
        client_id: CONSOLE_CLIENT,
        token_endpoint_auth_method: 'none',
        redirect_uris: [`${cordonBase}/`],
        grant_types: ['authorization_code'],
        response_types: ['code'],
      },
      { client_id: SERVICE_CLIENT, client_secret: SERVICE_SECRET, grant_types: ['client_credentials'], redirect_uris: [], response_types: [] },
    ],
    jwks: { keys: [signing] },
    // Anyone may sign in at the dev login form; the account is the login, its verified email login@example.com.
    findAccount: (_ctx: unknown, id: string) => ({ accountId: id, claims: () => ({ sub: id, email: `${id}@example.com`, email_verified: true }) }),
    claims: { openid: ['sub'], email: ['email', 'email_verified'] },
    pkce: { required: () => true },
    features: {
      devInteractions: { enabled: true },
      clientCredentials: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => AUDIENCE,
        useGrantedResource: () => true,
        getResourceServerInfo: () => ({ scope: 'api', audience: AUDIENCE, accessTokenFormat: 'jwt', accessTokenTTL: 600, jwt: { sign: { alg: 'RS256' } } }),
      },
    },
    // The access token names its principal by a verified email, as the policy's principal_claim
    // asks: a person's from their account; a service's is its service-account email, the way
    // providers with service accounts (Google's among them) put one in client-credentials tokens.
    extraTokenClaims: async (_ctx: unknown, token: { accountId?: string; clientId?: string }) => {
      if (token.accountId) return { email: `${token.accountId}@example.com`, email_verified: true };
      if (token.clientId === SERVICE_CLIENT) return { email: SERVICE_EMAIL, email_verified: true };
      return undefined;
    },
  });
  provider.on('request', oidc.callback());

  const policy = join(tempDir('cordon-oidc-policy-'), 'policy');
  cpSync(DEMO_POLICY, policy, { recursive: true });
  const yaml = join(policy, 'cordon.yaml');
  writeFileSync(
    yaml,
    `${readFileSync(yaml, 'utf8')}identity:\n  principal_claim: email\n  principals:\n${Object.entries(PEOPLE)
      .map(([login, id]) => `    "${login}@example.com": ${id}\n`)
      .join('')}    "${SERVICE_EMAIL}": recsys-service\n`,
  );
  // --demo seeds the demo world (demo-us-1, the seeded grant of austin-engineer); with --issuer its
  // tokens come from the provider, not the demo's own issuer. No --jwks: discovery finds the keys.
  dataDir = tempDir('cordon-oidc-data-');
  up = await startUp(dataDir, [
    '--demo',
    '--demo-users',
    '0',
    '--policy',
    policy,
    '--issuer',
    issuer,
    '--audience',
    AUDIENCE,
    '--console-client-id',
    CONSOLE_CLIENT,
    '--port',
    String(cordonPort),
  ]);
  assert.equal(up.base, cordonBase);
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
});

after(async () => {
  await browser?.close();
  up?.child.kill('SIGINT');
  await up?.exited;
  provider?.closeAllConnections();
  await new Promise((r) => provider?.close(r));
});

/**
 * The disclosure of each field of demo-us-1 as the bearer of `token` gets it from the data API,
 * asking from `forwardedFor` (the demo believes X-Forwarded-For from loopback). The record is found
 * by its username and read by the key the list gives: the caller's token where the uid is not clear to it (W6).
 */
async function disclosures(token: string, forwardedFor: string): Promise<{ status: number; fields?: Record<string, string> }> {
  const headers = { authorization: `Bearer ${token}`, 'x-forwarded-for': forwardedFor };
  const list = await fetch(`${up.base}/v1/data/users?filter.username=lonestar_lens`, { headers });
  if (list.status !== 200) return { status: list.status };
  const items = ((await list.json()) as { items: { key: string }[] }).items;
  assert.equal(items.length, 1);
  const res = await fetch(`${up.base}/v1/data/users/${encodeURIComponent(items[0]!.key)}`, { headers });
  if (res.status !== 200) return { status: res.status };
  const body = (await res.json()) as { fields: Record<string, unknown>; transformed?: Record<string, { disclosure: string }>; withheld?: { field: string }[] };
  const out: Record<string, string> = {};
  for (const f of Object.keys(body.fields)) out[f] = body.transformed?.[f]?.disclosure ?? 'clear';
  for (const w of body.withheld ?? []) out[w.field] = 'withheld';
  return { status: 200, fields: out };
}

test('cordon up found the key set by discovery and says whose tokens it takes', () => {
  const { out } = up.output();
  assert.match(out, new RegExp(`tokens {5}from ${issuer} \\(keys: ${issuer}/jwks; audience ${AUDIENCE}; principal claim email\\)`));
  // The provider's tokens only: the demo's own issuer signed nothing, so there is no tokens file.
  assert.equal(existsSync(join(dataDir, 'demo', 'tokens.json')), false);
  assert.ok(existsSync(join(dataDir, 'demo', 'log.vkey')), 'the demo world is there');
});

test('a client-credentials token names recsys-service by its service email and gets exactly what recsys-service gets', async () => {
  const res = await fetch(`${issuer}/token`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: `Basic ${Buffer.from(`${SERVICE_CLIENT}:${SERVICE_SECRET}`).toString('base64')}`,
    },
    body: new URLSearchParams({ grant_type: 'client_credentials', scope: 'api', resource: AUDIENCE }),
  });
  if (res.status !== 200) assert.fail(`token endpoint answered ${res.status}: ${JSON.stringify(await res.json())}`);
  const { access_token: token, token_type: type } = (await res.json()) as { access_token: string; token_type: string };
  assert.equal(type, 'Bearer');
  assert.equal(token.split('.').length, 3, 'a JWT access token');
  const who = await fetch(`${up.base}/v1/console/whoami`, { headers: { authorization: `Bearer ${token}` } });
  assert.equal(who.status, 200);
  assert.equal(((await who.json()) as { principal: string }).principal, 'recsys-service');
  // From its own site, us-east-dc (10.90.0.0/16 in the demo's network map), as `cordon demo` shows it.
  const seen = await disclosures(token, '10.90.0.7');
  assert.equal(seen.status, 200);
  assert.deepEqual(seen.fields, {
    uid: 'tokenized',
    username: 'clear',
    bio: 'clear',
    country: 'clear',
    phone_number: 'withheld',
    email: 'withheld',
    birthday: 'withheld',
    device_id: 'withheld',
    ip_address: 'withheld',
    created_at: 'clear',
  });
});

/** Signs in at the console through the provider's login and consent pages, as `login`, in a fresh browser context. */
async function signIn(login: string): Promise<{ page: Page; errors: string[] }> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  // The console's errors; the provider's dev login pages (their fonts, their favicon) are not under test.
  const errors: string[] = [];
  const onConsole = () => new URL(page.url()).origin === up.base;
  page.on('console', (m) => {
    if (m.type() === 'error' && onConsole()) errors.push(m.text());
  });
  page.on('pageerror', (e) => {
    if (onConsole()) errors.push(e.message);
  });
  await page.goto(`${up.base}/`);
  await page.getByRole('button', { name: `Sign in with ${issuer}` }).click();
  await page.waitForURL((u) => u.origin === issuer);
  await page.locator('input[name="login"]').fill(login);
  await page.locator('input[name="password"]').fill('any');
  await page.getByRole('button', { name: 'Sign-in' }).click();
  await page.getByRole('button', { name: 'Continue' }).click();
  await page.waitForURL((u) => u.origin === up.base);
  await page.getByTestId('principal').waitFor();
  assert.equal(new URL(page.url()).search, '', 'the code does not stay in the URL');
  return { page, errors };
}

/** demo-us-1 on the console's Data page: by its key, or (where the uid is tokenized) found by username. */
async function recordOnConsole(page: Page, by: 'key' | 'username'): Promise<Record<string, string>> {
  await page.getByRole('link', { name: 'Data', exact: true }).click();
  if (by === 'key') {
    await page.getByLabel('Record key').fill('demo-us-1');
    await page.getByRole('button', { name: 'Open' }).click();
  } else {
    await page.getByLabel('Find by field').selectOption('username');
    await page.getByLabel('Find value').fill('lonestar_lens');
    await page.getByRole('button', { name: 'Find' }).click();
    const found = page.locator('ul[aria-label="Found records"] button[data-key]');
    await found.first().waitFor();
    await found.first().click();
  }
  await page.locator('table[aria-label="Record fields"] tr[data-field]').first().waitFor();
  const rows = await page
    .locator('tr[data-field]')
    .evaluateAll((trs) => trs.map((tr) => [tr.getAttribute('data-field')!, tr.getAttribute('data-disclosure')!]));
  return Object.fromEntries(rows);
}

test('two people sign in to the console through the provider (code + PKCE) and each sees what their persona gets', async () => {
  const alice = await signIn('alice');
  assert.equal(await alice.page.getByTestId('principal').textContent(), PEOPLE.alice);
  // austin-engineer holds the demo's seeded grant for demo-us-1's contact data, asking from the US.
  assert.deepEqual(await recordOnConsole(alice.page, 'key'), {
    uid: 'clear',
    username: 'clear',
    bio: 'clear',
    country: 'clear',
    phone_number: 'clear',
    email: 'clear',
    birthday: 'masked',
    device_id: 'withheld',
    ip_address: 'masked',
    created_at: 'clear',
  });
  // A reload keeps the session (the token is in this tab's sessionStorage).
  await alice.page.reload();
  await alice.page.getByTestId('principal').waitFor();
  assert.equal(await alice.page.getByTestId('principal').textContent(), PEOPLE.alice);
  assert.deepEqual(alice.errors, []);
  await alice.page.context().close();

  const bo = await signIn('bo');
  assert.equal(await bo.page.getByTestId('principal').textContent(), PEOPLE.bo);
  assert.deepEqual(await recordOnConsole(bo.page, 'username'), {
    uid: 'tokenized',
    username: 'clear',
    bio: 'clear',
    country: 'clear',
    phone_number: 'withheld',
    email: 'withheld',
    birthday: 'withheld',
    device_id: 'withheld',
    ip_address: 'withheld',
    created_at: 'clear',
  });
  assert.deepEqual(bo.errors, []);
  await bo.page.context().close();
});

test('someone the policy does not map signs in at the provider and is shown the refusal, not a principal', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`${up.base}/`);
  await page.getByRole('button', { name: `Sign in with ${issuer}` }).click();
  await page.locator('input[name="login"]').fill('mallory');
  await page.locator('input[name="password"]').fill('any');
  await page.getByRole('button', { name: 'Sign-in' }).click();
  await page.getByRole('button', { name: 'Continue' }).click();
  await page.waitForURL((u) => u.origin === up.base);
  await page.getByRole('alert').first().waitFor();
  assert.match((await page.getByRole('alert').first().textContent()) ?? '', /cordon\.yaml identity\.principals does not map to a principal/);
  assert.equal(await page.getByTestId('principal').count(), 0);
  await context.close();
});

test('a malformed token is refused: 401 with WWW-Authenticate by the server, a message and no principal in the console', async () => {
  const res = await fetch(`${up.base}/v1/data/users/demo-us-1`, { headers: { authorization: 'Bearer not-a-jwt' } });
  assert.equal(res.status, 401);
  assert.equal(
    res.headers.get('www-authenticate'),
    'Bearer realm="cordon", error="invalid_token", error_description="The bearer token is malformed or its claims have the wrong form."',
  );
  assert.equal(((await res.json()) as { code: string }).code, 'auth.invalid_token');
  const none = await fetch(`${up.base}/v1/console/whoami`);
  assert.equal(none.status, 401);
  assert.equal(none.headers.get('www-authenticate'), 'Bearer realm="cordon"');
  const whoami = await fetch(`${up.base}/v1/console/whoami`, { headers: { authorization: 'Bearer not-a-jwt' } });
  assert.equal(whoami.status, 401);

  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`${up.base}/`);
  await page.getByLabel('Bearer token').fill('not-a-jwt');
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await page.getByRole('alert').first().waitFor();
  assert.equal(await page.getByRole('alert').first().textContent(), 'That is not a JWT: a bearer token is three base64url parts separated by dots.');
  assert.equal(await page.getByTestId('principal').count(), 0);
  assert.equal(await page.getByText('principal "token"').count(), 0);
  // Well-formed but signed by nobody the server trusts: the server's refusal is shown.
  const forged = `${Buffer.from('{"alg":"RS256","kid":"e2e-1"}').toString('base64url')}.${Buffer.from('{"email":"alice@example.com"}').toString('base64url')}.c2ln`;
  await page.getByLabel('Bearer token').fill(forged);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await page.getByText(/^The server refused the token:/).waitFor();
  assert.equal(await page.getByTestId('principal').count(), 0);
  await context.close();
});
