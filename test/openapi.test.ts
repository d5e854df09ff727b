// The OpenAPI document as its users meet it, on a running server: the README's commands fetch it,
// lint it with redocly (no error; only the warnings allowed below) and generate TypeScript types
// with openapi-typescript; a client written against those types (type-checked) with openapi-fetch
// reads a record, asks for a grant and fetches an inclusion proof that verifies. The route schemas
// that make the document also refuse bad input (400 naming the path, nothing written) and keep
// what they do not name from leaving.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { loadPolicy } from '../src/policy/index.js';
import { createCordonServer, createDemoIssuer, DEMO_FIXED_USERS, type CordonServer, type DemoIssuer } from '../src/server/index.js';
import { hashLeaf, openCheckpoint, verifyInclusion } from '../src/log/index.js';
import { DEMO_POLICY, ROOT } from './helpers/paths.js';
import { README } from './helpers/readme.js';
import { tempDir } from './helpers/temp.js';
import { assertSameHidden } from './helpers/hidden.js';

const loaded = loadPolicy(DEMO_POLICY);
assert.ok(loaded.ok);
const policy = loaded.policy;
const FROM: Record<string, string> = { 'austin-engineer': '10.20.0.5', 'beijing-engineer': '10.80.0.7' };
const USER = DEMO_FIXED_USERS[0]!;

/**
 * redocly lint warnings this document may have, by rule, each with why it stays. Any other warning
 * fails the test, so a new one is either fixed or added here with its reason.
 */
const ALLOWED_WARNINGS: Readonly<Record<string, string>> = {};

/** The README's tools, as `npx` finds them in a client project; here, where this checkout installs them. */
const BINS: Readonly<Record<string, string>> = {
  redocly: join(ROOT, 'node_modules/.bin/redocly'),
  // openapi-typescript is built on TypeScript 5's compiler API, which TypeScript 7 (this project's) lacks: tools/openapi-typescript has both.
  'openapi-typescript': join(ROOT, 'tools/openapi-typescript/node_modules/.bin/openapi-typescript'),
};

/** redocly asks the network for its telemetry and for newer versions unless told not to; a test asks nothing outside. */
const QUIET = { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true' };

let server: CordonServer;
let issuer: DemoIssuer;
let base: string;
/** Where the README's commands run (their relative file names land here). */
const work = tempDir('cordon-openapi-');

before(async () => {
  issuer = await createDemoIssuer();
  server = await createCordonServer({
    policy,
    dataDir: tempDir('cordon-openapi-data-'),
    tokens: { issuer: issuer.issuer, audience: issuer.audience, jwks: issuer.jwks },
    storeUrls: Object.fromEntries([...policy.deployment.stores.keys()].map((s) => [s, 'pglite://memory'])),
    trustedProxies: ['127.0.0.1/32'],
  });
  for (const u of DEMO_FIXED_USERS) await server.placement.write('users', u['uid']!, u, 'upsert');
  await server.app.listen({ port: 0, host: '127.0.0.1' });
  const addr = server.app.server.address();
  base = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
});
after(async () => server.close());

/**
 * Runs the README line that starts with `start`, against this server and in `work`, with `extra`
 * arguments. Asynchronously: curl asks the server that runs in this process.
 */
async function readmeCommand(start: string, extra: readonly string[] = []): Promise<{ stdout: string; stderr: string }> {
  const line = README.split('\n').find((l) => l.startsWith(start));
  assert.ok(line, `the README shows ${start}`);
  const [program, ...args] = [...line.replace('http://127.0.0.1:7070', base).split(/\s+/), ...extra];
  const npx = program === 'npx';
  assert.ok(npx ? args[0]! in BINS : program === 'curl', line);
  const r = await new Promise<{ status: number | null; stdout: string; stderr: string }>((done) =>
    execFile(
      npx ? BINS[args[0]!]! : program!,
      npx ? args.slice(1) : args,
      { cwd: work, encoding: 'utf8', maxBuffer: 64 << 20, timeout: 60_000, env: QUIET },
      (err, stdout, stderr) => done({ status: err ? (typeof err.code === 'number' ? err.code : null) : 0, stdout, stderr }),
    ),
  );
  assert.equal(r.status, 0, `${line}\n${r.stdout}\n${r.stderr}`);
  return r;
}

async function fetchDocument(): Promise<Record<string, unknown>> {
  await readmeCommand('curl -s http://127.0.0.1:7070/openapi.json');
  return JSON.parse(readFileSync(join(work, 'cordon-openapi.json'), 'utf8')) as Record<string, unknown>;
}

test('redocly lint (the README command) finds no error in /openapi.json, and no warning but those allowed', async () => {
  const doc = (await fetchDocument()) as { openapi: string; servers: unknown[]; components: { securitySchemes: Record<string, unknown> }; paths: object };
  assert.equal(doc.openapi, '3.1.0');
  assert.deepEqual(doc.servers, [{ url: '/', description: 'this server' }]);
  assert.deepEqual(doc.components.securitySchemes, { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } });
  const { stdout } = await readmeCommand('npx redocly lint', ['--format=json']);
  const out = JSON.parse(stdout) as { totals: { errors: number; warnings: number }; problems: { ruleId: string; severity: string; message: string }[] };
  const errors = out.problems.filter((p) => p.severity === 'error');
  assert.deepEqual(errors, [], 'no errors');
  assert.equal(out.totals.errors, 0);
  const unexpected = out.problems.filter((p) => p.severity === 'warn' && !(p.ruleId in ALLOWED_WARNINGS));
  assert.deepEqual(unexpected, [], 'every warning is allowed, with a reason');
  console.log(`redocly lint: ${out.totals.errors} errors, ${out.totals.warnings} warnings over ${Object.keys(doc.paths).length} paths`);
});

/** What the client module below exports, as this test calls it (its own types are checked in its directory). */
interface ClientModule {
  client(baseUrl: string, token: string, forwardedFor: string): unknown;
  readUser(c: unknown, key: string): Promise<{ username: unknown; phone: string | undefined; index: number }>;
  requestAccess(c: unknown, subject: string): Promise<{ status: number; state: string; durationS: number; approvals: number }>;
  proofOf(c: unknown, index: number): Promise<{ size: number; proof: string[]; checkpoint: string }>;
  badRequest(c: unknown): Promise<{ status: number; code: string | undefined; detail: string | undefined }>;
}

/** A client written against the generated types: type-checked by tsc, then run against the server. */
const CLIENT = `import createClient from 'openapi-fetch';
import type { components, paths } from './cordon-api.js';

export type Grant = components['schemas']['Grant'];
type Reason = components['schemas']['DisclosedRecord']['withheld'][number]['reason'];
export const reason: Reason = 'forbidden';
// @ts-expect-error a request's state is never "active"
export const state: components['schemas']['AccessRequest']['state'] = 'active';

export function client(baseUrl: string, token: string, forwardedFor: string) {
  return createClient<paths>({ baseUrl, headers: { authorization: 'Bearer ' + token, 'x-forwarded-for': forwardedFor } });
}
type Client = ReturnType<typeof client>;

export async function readUser(c: Client, key: string) {
  const { data, error, response } = await c.GET('/v1/data/{dataset}/{key}', { params: { path: { dataset: 'users', key } } });
  if (!data) throw new Error(JSON.stringify(error));
  const username: unknown = data.fields['username'];
  return { username, phone: data.transformed['phone_number']?.disclosure, index: Number(response.headers.get('x-cordon-log-index')) };
}

export async function requestAccess(c: Client, subject: string) {
  const { data, error, response } = await c.POST('/v1/access/requests', {
    body: { datasets: ['users'], categories: ['user.contact'], subjects: [subject], reason: 'USER_SUPPORT', ticket: 'SUP-7', duration: '2h' },
  });
  if (!data) throw new Error(JSON.stringify(error));
  return { status: response.status, state: data.state, durationS: data.durationS, approvals: data.approvals.length };
}

export async function proofOf(c: Client, index: number) {
  const { data, error } = await c.GET('/v1/log/proof', { params: { query: { index: String(index) } } });
  if (!data) throw new Error(JSON.stringify(error));
  return { size: data.size ?? 0, proof: data.proof ?? [], checkpoint: data.checkpoint ?? '' };
}

export async function badRequest(c: Client) {
  const { error, response } = await c.POST('/v1/access/requests', {
    body: {
      // @ts-expect-error datasets is a list: the types refuse what the server would
      datasets: 'users',
      categories: ['user.contact'],
      subjects: ['demo-us-1'],
      reason: 'USER_SUPPORT',
      ticket: 'SUP-7',
      duration: '2h',
    },
  });
  return { status: response.status, code: error?.code, detail: error?.detail };
}
`;

test('a client generated with openapi-typescript (the README command) and openapi-fetch reads, asks for a grant, proves', async () => {
  await fetchDocument();
  await readmeCommand('npx openapi-typescript cordon-openapi.json');
  const types = readFileSync(join(work, 'cordon-api.d.ts'), 'utf8');
  assert.match(types, /"\/v1\/data\/\{dataset\}\/\{key\}": \{/);
  // The client module is type-checked against the generated types, compiled, and run.
  writeFileSync(join(work, 'client.ts'), CLIENT);
  writeFileSync(join(work, 'package.json'), '{"type": "module"}');
  mkdirSync(join(work, 'node_modules'), { recursive: true });
  symlinkSync(join(ROOT, 'node_modules/openapi-fetch'), join(work, 'node_modules/openapi-fetch'), 'dir');
  const tsc = spawnSync(
    process.execPath,
    [
      join(ROOT, 'node_modules/typescript/bin/tsc'),
      '--strict',
      '--target',
      'es2022',
      '--module',
      'nodenext',
      '--moduleResolution',
      'nodenext',
      '--skipLibCheck',
      '--outDir',
      join(work, 'out'),
      join(work, 'client.ts'),
    ],
    { cwd: work, encoding: 'utf8' },
  );
  assert.equal(tsc.status, 0, `${tsc.stdout}\n${tsc.stderr}`);
  const m = (await import(pathToFileURL(join(work, 'out/client.js')).href)) as ClientModule;

  const engineer = m.client(base, await issuer.sign('austin-engineer'), FROM['austin-engineer']!);
  const read = await m.readUser(engineer, 'demo-us-1');
  assert.equal(read.username, USER['username']);
  assert.equal(read.phone, 'masked', 'without a grant, enclave staff see the phone masked');

  const asked = await m.requestAccess(engineer, 'demo-us-1');
  assert.deepEqual(asked, { status: 201, state: 'pending', durationS: 7200, approvals: 0 });

  await server.log.publish();
  const p = await m.proofOf(m.client(base, '', '127.0.0.1'), read.index);
  const { checkpoint } = openCheckpoint(p.checkpoint, server.log.vkey);
  assert.equal(checkpoint.size, p.size);
  assert.ok(read.index < p.size);
  const stored = await server.log.record(read.index);
  verifyInclusion(
    read.index,
    p.size,
    hashLeaf(Buffer.from(stored!.entry, 'base64')),
    p.proof.map((h) => Buffer.from(h, 'base64')),
    checkpoint.root,
  );

  const bad = await m.badRequest(engineer);
  assert.deepEqual(bad, { status: 400, code: 'access.invalid_request', detail: 'body/datasets must be array' });
});

/** A request as `persona`, from its site, in process. */
async function as(persona: string, method: 'GET' | 'POST' | 'PATCH', url: string, payload?: unknown) {
  const r = await server.app.inject({
    method,
    url,
    payload: payload as never,
    remoteAddress: '127.0.0.1',
    headers: { authorization: `Bearer ${await issuer.sign(persona)}`, 'x-forwarded-for': FROM[persona] ?? '203.0.113.1' },
  });
  return { status: r.statusCode, type: String(r.headers['content-type']), body: r.json() as { code?: string; detail?: string; errors?: unknown[] } };
}

test('attacks: input that fails a route schema is a 400 problem naming the path, and writes nothing to the log or a store', async () => {
  const cases: { note: string; method: 'GET' | 'POST' | 'PATCH'; url: string; payload?: unknown; code: string; detail: string }[] = [
    {
      note: 'a field value that is a list, not a scalar, in a create',
      method: 'POST',
      url: '/v1/data/users',
      payload: { uid: 'attack-1', username: 'x', country: 'US', bio: ['a'] },
      code: 'gateway.invalid_body',
      detail: 'body/bio must be string,number,boolean,null',
    },
    {
      note: 'an object smuggled into an update',
      method: 'PATCH',
      url: '/v1/data/users/demo-us-1',
      payload: { username: { $ne: null } },
      code: 'gateway.invalid_body',
      detail: 'body/username must be string,number,boolean,null',
    },
    {
      note: 'an unknown property of /v1/decide is refused, not dropped',
      method: 'POST',
      url: '/v1/decide',
      payload: { dataset: 'users', record: {}, as: 'legacy-admin' },
      code: 'gateway.invalid_body',
      detail: 'body/as is not a property of this input (unknown properties are refused)',
    },
    {
      note: 'a scope that is text, not a list',
      method: 'POST',
      url: '/v1/access/requests',
      payload: { datasets: 'users', categories: ['user.contact'], subjects: ['demo-us-1'], reason: 'USER_SUPPORT', ticket: 'SUP-1', duration: '1h' },
      code: 'access.invalid_request',
      detail: 'body/datasets must be array',
    },
    {
      note: 'a review verdict outside its enum',
      method: 'POST',
      url: '/v1/access/grants/g-1/review',
      payload: { verdict: 'fine', comment: 'ok' },
      code: 'access.invalid_request',
      detail: 'body/verdict must be equal to one of the allowed values',
    },
    { note: 'a page size of 0', method: 'GET', url: '/v1/data/users?limit=0', code: 'gateway.invalid_query', detail: 'querystring/limit must be >= 1' },
    {
      note: 'an egress cursor past 2^53',
      method: 'GET',
      url: '/v1/egress/users?after=9007199254740992',
      code: 'gateway.invalid_query',
      detail: 'querystring/after must be <= 9007199254740991',
    },
    {
      note: 'a proof index in exponent form',
      method: 'GET',
      url: '/v1/log/proof?index=1e3',
      code: 'usage.invalid_argument',
      detail: 'querystring/index must match pattern "^(0|[1-9][0-9]{0,15})$"',
    },
  ];
  const before = { log: server.log.size(), user: await server.placement.read('users', 'demo-us-1') };
  const requestsBefore = (await as('austin-engineer', 'GET', '/v1/access/requests')).body;
  for (const c of cases) {
    const sizeBefore = server.log.size();
    const r = await as('austin-engineer', c.method, c.url, c.payload);
    assert.equal(r.status, 400, c.note);
    assert.match(r.type, /^application\/problem\+json/, c.note);
    assert.equal(r.body.code, c.code, c.note);
    assert.equal(r.body.detail, c.detail, c.note);
    assert.equal((r.body.errors ?? []).length, 1, c.note);
    assert.equal(server.log.size(), sizeBefore, `${c.note}: nothing logged`);
  }
  const long = await as('austin-engineer', 'POST', '/v1/decide', { dataset: 'users', record: {}, ['x'.repeat(5000)]: 1 });
  assert.equal(long.status, 400);
  assert.ok(long.body.detail!.length < 300, 'the name of an unknown property comes back cut');
  assert.equal(server.log.size(), before.log);
  assert.equal(await server.placement.read('users', 'attack-1'), undefined, 'the create wrote nothing');
  const user = await server.placement.read('users', 'demo-us-1');
  assertSameHidden(user?.values, before.user?.values, 'the update changed nothing');
  assert.deepEqual((await as('austin-engineer', 'GET', '/v1/access/requests')).body, requestsBefore, 'no access request was made');
});

test('a response schema lets out only what it names: a property the handler did not mean to send is dropped', async () => {
  // /readyz passes the log's health through; a health that carried something else (here, a stand-in
  // for a secret) leaves without it, because the Readiness schema names ok, size and reason only.
  const health = server.log.health;
  server.log.health = () => ({ ok: false, reason: 'checkpoint signer stopped', secret: 'stand-in-secret' }) as ReturnType<typeof health>;
  try {
    const r = await server.app.inject({ method: 'GET', url: '/readyz' });
    assert.equal(r.statusCode, 503);
    assert.deepEqual(r.json().log, { ok: false, reason: 'checkpoint signer stopped' });
    assert.ok(!r.body.includes('stand-in-secret'));
  } finally {
    server.log.health = health;
  }
});
