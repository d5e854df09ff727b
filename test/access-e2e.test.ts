// The access broker end to end over HTTP on a running server (real fetch, demo tokens, PGlite
// stores, the verifiable log), with the server's clock injected so expiry can be crossed to the
// second: request, refused self-approval, N-of-M approval, the grant in decisions, expiry, and every
// step in the access log.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { tokenize } from '../src/gateway/index.js';
import { canonicalJson } from '../src/log/index.js';
import { loadPolicy } from '../src/policy/index.js';
import { openFileKeyService, subjectHash } from '../src/store/index.js';
import { createCordonServer, createDemoIssuer, DEMO_FIXED_USERS, type CordonServer, type DemoIssuer, type DemoSignOptions } from '../src/server/index.js';
import { DEMO_POLICY } from './helpers/paths.js';
import { tempDir } from './helpers/temp.js';
import { assertSameHidden } from './helpers/hidden.js';

const loaded = loadPolicy(DEMO_POLICY);
assert.ok(loaded.ok);
const policy = loaded.policy;
/** Where each persona works (addresses inside cordon.yaml's locations). */
const FROM: Record<string, string> = {
  'austin-engineer': '10.20.0.5',
  'austin-approver-a': '10.20.0.6',
  'austin-approver-b': '10.20.0.7',
  'beijing-engineer': '10.80.0.7',
  monitor: '10.20.0.9',
};
const OTHER_US_USER = { ...DEMO_FIXED_USERS[0]!, uid: 'demo-us-2', username: 'hill_country', phone_number: '+15125550177', email: 'us2@example.com' };

let server: CordonServer;
let issuer: DemoIssuer;
let base: string;
let dataDir: string;
let clock = Date.parse('2026-11-25T09:00:00.000Z');

before(async () => {
  issuer = await createDemoIssuer();
  dataDir = tempDir('cordon-access-');
  server = await createCordonServer({
    policy,
    dataDir,
    tokens: { issuer: issuer.issuer, audience: issuer.audience, jwks: issuer.jwks },
    storeUrls: Object.fromEntries([...policy.deployment.stores.keys()].map((s) => [s, 'pglite://memory'])),
    trustedProxies: ['127.0.0.1/32'],
    now: () => clock,
    log: { checkpointEveryMs: 50 },
  });
  for (const u of [...DEMO_FIXED_USERS, OTHER_US_USER]) await server.placement.write('users', u['uid']!, u, 'upsert');
  await server.app.listen({ port: 0, host: '127.0.0.1' });
  const addr = server.app.server.address();
  base = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
});
after(async () => server.close());

type Json = Record<string, unknown>;
async function as(persona: string, method: 'GET' | 'POST', path: string, body?: unknown): Promise<{ status: number; body: Json }> {
  const { status, body: json } = await asFrom(persona, FROM[persona] ?? '203.0.113.1', method, path, body);
  return { status, body: json };
}
/** As `persona`, from the address `from` (X-Forwarded-For, believed from 127.0.0.1), with the raw body too. */
async function asFrom(
  persona: string,
  from: string,
  method: 'GET' | 'POST',
  path: string,
  body?: unknown,
  sign: DemoSignOptions = {},
): Promise<{ status: number; body: Json; text: string }> {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${await issuer.sign(persona, sign)}`,
      'x-forwarded-for': from,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: JSON.parse(text) as Json, text };
}

const phoneOf = async (persona: string, key: string) => {
  const r = await as(persona, 'GET', `/v1/data/users/${key}`);
  assert.equal(r.status, 200);
  const fields = r.body['fields'] as Json;
  const transformed = r.body['transformed'] as Record<string, { disclosure: string }>;
  if (transformed['phone_number']) return { disclosure: transformed['phone_number'].disclosure };
  return 'phone_number' in fields ? { clear: fields['phone_number'] } : { disclosure: 'withheld' };
};

/** SHA-256 of a value's JSON, shortened: protected values are compared (and printed) as this. */
const sha = (v: unknown) =>
  createHash('sha256')
    .update(JSON.stringify(v ?? null))
    .digest('hex')
    .slice(0, 16);

const REQUEST = {
  datasets: ['users'],
  categories: ['user.contact'],
  subjects: ['demo-us-2'],
  reason: 'USER_SUPPORT',
  ticket: 'SUP-4242',
  duration: '2h',
  comment: 'user asked us to fix their phone number',
};

test('request, self-approval refused, 2-of-2 approval, a grant to the second, every step logged', async () => {
  const sizeBefore = server.log.size();
  assert.deepEqual(await phoneOf('austin-engineer', 'demo-us-2'), { disclosure: 'masked' }, 'without a grant enclave staff see the phone masked');

  const made = await as('austin-engineer', 'POST', '/v1/access/requests', REQUEST);
  assert.equal(made.status, 201, JSON.stringify(made.body));
  const id = String(made.body['id']);
  assert.equal(made.body['state'], 'pending');
  assert.deepEqual(made.body['from'], { country: 'US', site: 'austin' });
  assert.equal(made.body['durationS'], 7200);

  const self = await as('austin-engineer', 'POST', `/v1/access/requests/${id}/approve`, {});
  assert.equal(self.status, 403);
  assert.equal(self.body['code'], 'access.self_approval');

  const first = await as('austin-approver-a', 'POST', `/v1/access/requests/${id}/approve`, { comment: 'ticket checked' });
  assert.equal(first.status, 200, JSON.stringify(first.body));
  assert.equal(first.body['state'], 'pending', 'one approval of two is not enough');
  assert.equal((first.body['approvals'] as unknown[]).length, 1);
  assert.deepEqual(await phoneOf('austin-engineer', 'demo-us-2'), { disclosure: 'masked' });

  const replay = await as('austin-approver-a', 'POST', `/v1/access/requests/${id}/approve`, { comment: 'ticket checked' });
  assert.equal(replay.status, 409);
  assert.equal(replay.body['code'], 'access.duplicate_approval');
  const fromBeijing = await as('beijing-engineer', 'POST', `/v1/access/requests/${id}/approve`, {});
  assert.equal(fromBeijing.body['code'], 'access.not_approver');

  clock += 60_000;
  const second = await as('austin-approver-b', 'POST', `/v1/access/requests/${id}/approve`, {});
  assert.equal(second.status, 200, JSON.stringify(second.body));
  assert.equal(second.body['state'], 'approved');
  const grantId = String(second.body['grant']);
  const statements = second.body['approvals'] as { by: string; note: string }[];
  assert.deepEqual(
    statements.map((s) => s.by),
    ['austin-approver-a', 'austin-approver-b'],
  );
  assert.match(statements[1]!.note, new RegExp(`^cordon access approval v1\\n${policy.deployment.accessLog.origin}\\nrequest ${id}\\n`));

  assertSameHidden(await phoneOf('austin-engineer', 'demo-us-2'), { clear: '+15125550177' }, 'the grant releases the approved subject in clear');
  assert.deepEqual(await phoneOf('austin-engineer', 'demo-us-1'), { disclosure: 'masked' }, 'and no other subject');
  const bday = await as('austin-engineer', 'GET', '/v1/data/users/demo-us-2');
  assert.equal((bday.body['fields'] as Json)['birthday'], '1994', 'and no other category (birthday stays masked)');

  const grant = await as('austin-engineer', 'GET', `/v1/access/grants/${grantId}`);
  const expiresAt = Date.parse(String(grant.body['expiresAt']));
  assert.equal(expiresAt, clock + 7_200_000);
  clock = expiresAt - 1000;
  assertSameHidden(await phoneOf('austin-engineer', 'demo-us-2'), { clear: '+15125550177' }, 'a second before expiry it still works');
  clock = expiresAt;
  assert.deepEqual(await phoneOf('austin-engineer', 'demo-us-2'), { disclosure: 'masked' }, 'at expiry it is withheld again');
  const expired = await as('austin-engineer', 'GET', `/v1/access/grants/${grantId}`);
  assert.equal(expired.body['state'], 'expired');

  // Every step is an entry: read the records as the independent monitor.
  await server.log.publish();
  const records = await as('monitor', 'GET', `/v1/log/records?after=${sizeBefore - 1}&limit=1000`);
  assert.equal(records.status, 200, JSON.stringify(records.body));
  const rs = (records.body['records'] as { record: Json }[]).map((r) => r.record);
  const steps = rs
    .filter((r) => typeof r['type'] === 'string' && String(r['type']).startsWith('broker.'))
    .map((r) => `${String(r['type'])}:${String(r['principal'] ?? r['kind'])}${r['code'] ? `:${String(r['code'])}` : ''}`);
  assert.deepEqual(steps, [
    'broker.request:austin-engineer',
    'broker.refused:austin-engineer:access.self_approval',
    'broker.approve:austin-approver-a',
    'broker.refused:austin-approver-a:access.duplicate_approval',
    'broker.refused:beijing-engineer:access.not_approver',
    'broker.approve:austin-approver-b',
    'broker.grant:austin-engineer',
    'broker.expire:grant',
  ]);
  const reads = rs.filter((r) => r['action'] === 'read' && r['principal'] === 'austin-engineer');
  assert.deepEqual(
    reads.map((r) => (r['grant'] as Json | null)?.['id'] ?? null),
    [null, null, grantId, null, grantId, grantId, null],
  );
  assert.equal((reads[2]!['grant'] as Json)['ticket'], 'SUP-4242');
  const requestRecord = rs.find((r) => r['type'] === 'broker.request')!;
  assert.ok(!JSON.stringify(requestRecord).includes('demo-us-2'), 'subject keys are in the log only as keyed hashes');
  console.log(
    `access e2e: ${steps.length} broker steps and ${reads.length} reads logged; grant ${grantId} released demo-us-2's phone until ${new Date(expiresAt).toISOString()} and not a second longer`,
  );
});

test('bad input: a clear error with a stable code, and nothing changes', async () => {
  const listBefore = await as('austin-approver-a', 'GET', '/v1/access/requests');
  const count = (listBefore.body['requests'] as unknown[]).length;
  const cases: [string, Json, string][] = [
    ['unknown reason', { ...REQUEST, reason: 'CURIOSITY' }, 'access.unknown_reason'],
    ['over the cap', { ...REQUEST, duration: '9h' }, 'access.duration_over_cap'],
    ['unknown dataset', { ...REQUEST, datasets: ['userz'] }, 'access.invalid_scope'],
    ['unknown category', { ...REQUEST, categories: ['user.contactz'] }, 'access.invalid_scope'],
    ['EU subjects from the US group', { ...REQUEST, subjects: undefined, subject_filter: { jurisdictions: ['EU'] } }, 'access.invalid_scope'],
    ['no ticket', { ...REQUEST, ticket: undefined }, 'access.invalid_request'],
    ['subjects and filter', { ...REQUEST, subject_filter: { jurisdictions: ['US'] } }, 'access.invalid_request'],
    ['unknown field', { ...REQUEST, approver: 'me' }, 'access.invalid_request'],
  ];
  for (const [what, body, code] of cases) {
    const logged = server.log.size();
    const r = await as('austin-engineer', 'POST', '/v1/access/requests', body);
    assert.equal(r.body['code'], code, `${what}: ${JSON.stringify(r.body)}`);
    assert.ok(String(r.body['detail']).length > 10, what);
    // Malformed input leaves no record (W7); a request over the cap is an attempt, and is logged.
    assert.equal(server.log.size() - logged, code === 'access.duration_over_cap' ? 1 : 0, `${what}: entries logged`);
  }
  const unknownReason = await as('austin-engineer', 'POST', '/v1/access/requests', { ...REQUEST, reason: 'USER_SUPORT' });
  assert.match(String(unknownReason.body['detail']), /did you mean USER_SUPPORT/);

  // Decided, expired and revoked requests cannot be approved again.
  const made = await as('austin-engineer', 'POST', '/v1/access/requests', REQUEST);
  const id = String(made.body['id']);
  const denied = await as('austin-approver-a', 'POST', `/v1/access/requests/${id}/deny`, { comment: 'no ticket context' });
  assert.equal(denied.body['state'], 'denied');
  assert.equal((await as('austin-approver-b', 'POST', `/v1/access/requests/${id}/approve`, {})).body['code'], 'access.already_decided');
  // An approver outside the enclave's countries (Beijing's network) does not count.
  const abroad = await fetch(`${base}/v1/access/requests/${id}/approve`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${await issuer.sign('austin-approver-b')}`,
      'x-forwarded-for': FROM['beijing-engineer']!,
      'content-type': 'application/json',
    },
    body: '{}',
  });
  assert.equal(((await abroad.json()) as Json)['code'], 'access.already_decided', 'the denied request stays denied');
  const pending = await as('austin-engineer', 'POST', '/v1/access/requests', REQUEST);
  const abroad2 = await fetch(`${base}/v1/access/requests/${String(pending.body['id'])}/approve`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${await issuer.sign('austin-approver-b')}`,
      'x-forwarded-for': FROM['beijing-engineer']!,
      'content-type': 'application/json',
    },
    body: '{}',
  });
  assert.equal(((await abroad2.json()) as Json)['code'], 'access.outside_enclave');
  assert.deepEqual((await as('austin-engineer', 'GET', `/v1/access/requests/${String(pending.body['id'])}`)).body['approvals'], []);
  const stale = await as('austin-engineer', 'POST', '/v1/access/requests', REQUEST);
  clock += 24 * 3_600_000;
  assert.equal((await as('austin-approver-b', 'POST', `/v1/access/requests/${String(stale.body['id'])}/approve`, {})).body['code'], 'access.expired');
  const withdrawn = await as('austin-engineer', 'POST', '/v1/access/requests', REQUEST);
  assert.equal((await as('austin-engineer', 'POST', `/v1/access/requests/${String(withdrawn.body['id'])}/revoke`, {})).body['request'] && 'ok', 'ok');
  assert.equal(
    (await as('austin-approver-b', 'POST', `/v1/access/requests/${String(withdrawn.body['id'])}/approve`, {})).body['code'],
    'access.already_decided',
  );
  assert.equal((await as('austin-approver-b', 'POST', '/v1/access/requests/req-nope/approve', {})).body['code'], 'access.not_found');

  const listAfter = await as('austin-approver-a', 'GET', '/v1/access/requests');
  const states = (listAfter.body['requests'] as { state: string }[]).map((r) => r.state);
  assert.equal(states.length, count + 4, 'the bad requests changed nothing; four valid ones were made');
  assert.deepEqual(states.slice(0, 4).sort(), ['denied', 'expired', 'expired', 'withdrawn']);
});

test('break-glass: a self-grant for an allowed principal, the webhook alerted, unreviewed past the window a violation', async () => {
  const alerts: Json[] = [];
  const hook = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      alerts.push(JSON.parse(body) as Json);
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((done) => hook.listen(0, '127.0.0.1', done));
  const hookUrl = `http://127.0.0.1:${(hook.address() as AddressInfo).port}/alerts`;
  // A second server on the same stores would race this one; the broker's webhook is set per server,
  // so this test starts its own over fresh in-memory stores.
  const glassIssuer = issuer;
  const glass = await createCordonServer({
    policy,
    dataDir: tempDir('cordon-glass-'),
    tokens: { issuer: glassIssuer.issuer, audience: glassIssuer.audience, jwks: glassIssuer.jwks },
    storeUrls: Object.fromEntries([...policy.deployment.stores.keys()].map((s) => [s, 'pglite://memory'])),
    trustedProxies: ['127.0.0.1/32'],
    now: () => clock,
    breakGlassWebhook: hookUrl,
  });
  try {
    await glass.placement.write('users', OTHER_US_USER.uid, OTHER_US_USER, 'upsert');
    const inject = async (persona: string, method: 'GET' | 'POST', url: string, payload?: unknown, from = FROM[persona]) => {
      const r = await glass.app.inject({
        method,
        url,
        payload: payload as never,
        remoteAddress: '127.0.0.1',
        headers: { authorization: `Bearer ${await glassIssuer.sign(persona)}`, 'x-forwarded-for': from ?? '203.0.113.1' },
      });
      return { status: r.statusCode, body: r.json() as Json };
    };
    const BODY = {
      datasets: ['users'],
      categories: ['user.contact.phone_number'],
      subjects: ['demo-us-2'],
      reason: 'INCIDENT_RESPONSE',
      justification: 'account takeover in progress, need the recovery phone now',
      duration: '45m',
    };
    assert.equal((await inject('us-analyst', 'POST', '/v1/access/break-glass', BODY)).body['code'], 'access.break_glass_not_allowed');
    assert.equal((await inject('austin-engineer', 'POST', '/v1/access/break-glass', { ...BODY, duration: '2h' })).body['code'], 'access.duration_over_cap');
    assert.equal(
      (await inject('austin-engineer', 'POST', '/v1/access/break-glass', { ...BODY, justification: undefined })).body['code'],
      'access.invalid_request',
    );
    assert.equal((await inject('austin-engineer', 'POST', '/v1/access/break-glass', BODY, FROM['beijing-engineer'])).body['code'], 'access.outside_enclave');

    const alerted = new Promise<void>((done) => glass.broker.events.once('alert', () => done()));
    const made = await inject('austin-engineer', 'POST', '/v1/access/break-glass', BODY);
    assert.equal(made.status, 201, JSON.stringify(made.body));
    assert.equal(made.body['breakGlass'], true);
    assert.equal(Date.parse(String(made.body['expiresAt'])), clock + 45 * 60_000);
    const grantId = String(made.body['id']);
    const read = await inject('austin-engineer', 'GET', '/v1/data/users/demo-us-2');
    assertSameHidden((read.body['fields'] as Json)['phone_number'], '+15125550177', 'the self-grant works');
    assert.deepEqual(
      (read.body['transformed'] as Json)['email'],
      { disclosure: 'masked', mask: 'email_domain', rules: ['enclave-masked'], category: 'user.contact.email', class: 'protected' },
      'for its scope only',
    );
    await alerted;
    assert.equal(alerts.length, 1);
    assert.deepEqual(
      {
        type: alerts[0]!['type'],
        grant: alerts[0]!['grant'],
        principal: alerts[0]!['principal'],
        reason: alerts[0]!['reason'],
        subjects: alerts[0]!['subjects'],
      },
      { type: 'cordon.break_glass', grant: grantId, principal: 'austin-engineer', reason: 'INCIDENT_RESPONSE', subjects: 1 },
    );
    assert.ok(!JSON.stringify(alerts[0]).includes('demo-us-2'), 'the alert names no subject');

    const flagsAt = async () =>
      ((await inject('austin-approver-a', 'GET', '/v1/access/review')).body['grantFlags'] as { kind: string; grant?: string }[]).map(
        (f) => `${f.kind}:${f.grant ?? ''}`,
      );
    assert.deepEqual(await flagsAt(), [], 'within the review window nothing is open');
    clock += 24 * 3_600_000 + 1000;
    assert.deepEqual(await flagsAt(), [`break_glass_unreviewed:${grantId}`], 'past the window the unreviewed break-glass is a violation');
    const review = await inject('austin-engineer', 'GET', '/v1/access/review');
    assert.equal(review.body['code'], 'access.forbidden', 'the review is for approvers and auditors');

    assert.equal(
      (await inject('austin-engineer', 'POST', `/v1/access/grants/${grantId}/review`, { verdict: 'justified', comment: 'mine' })).body['code'],
      'access.self_approval',
    );
    const reviewed = await inject('austin-approver-b', 'POST', `/v1/access/grants/${grantId}/review`, {
      verdict: 'justified',
      comment: 'incident INC-7 confirms it',
    });
    assert.equal(reviewed.status, 200, JSON.stringify(reviewed.body));
    assert.deepEqual(await flagsAt(), [], 'a review closes it');
    assert.equal(
      (await inject('austin-approver-a', 'POST', `/v1/access/grants/${grantId}/review`, { verdict: 'unjustified', comment: 'again' })).body['code'],
      'access.already_decided',
    );
    await glass.broker.sweep();
    const all = (await glass.log.records(-1, 1000)).map((r) => String((r.record as Json)['type'] ?? (r.record as Json)['action']));
    // The expiry sweep runs on a timer, so its entry's place among the others is not fixed.
    assert.equal(all.filter((t) => t === 'broker.expire').length, 1);
    const types = all.filter((t) => t.startsWith('broker.') && t !== 'broker.refused' && t !== 'broker.expire');
    assert.deepEqual(types, [
      'broker.break_glass',
      'broker.alert',
      'broker.standing_review',
      'broker.standing_review',
      'broker.review',
      'broker.standing_review',
    ]);
    // The break-glass without a justification fails the route's schema before the broker sees it:
    // malformed input writes nothing to any log (W7), so three of the four refusals are recorded.
    assert.equal(all.filter((t) => t === 'broker.refused').length, 5, 'three refused break-glass attempts and two refused reviews');
    console.log(`break-glass: ${alerts.length} webhook alert, violation after the 24h window, closed by review; ${types.length} log entries`);
  } finally {
    await glass.close();
    hook.close();
  }
});

test("W6: a scope's subjects go out as each caller may see the key (clear, or its token) and come in as the caller was given them; no oracle", async () => {
  const keys = openFileKeyService(join(dataDir, 'keys', 'master.key'));
  /** A uid as `persona`'s token (its team's audience), as data responses give it. */
  const tok = (persona: string, uid: string) => tokenize(keys, policy.directory.principals.get(persona)!.team, 'user.unique_id', uid);
  const UIDS = [...DEMO_FIXED_USERS.map((u) => u['uid']!), OTHER_US_USER.uid];
  const noClearUid = (text: string, what: string) => {
    for (const uid of UIDS)
      assert.ok(!text.includes(uid), `${what}: the body carries a clear uid (sha256 ${createHash('sha256').update(uid).digest('hex').slice(0, 12)})`);
  };
  const DUBLIN = '10.40.0.5'; // a known place (IE), outside the US enclave's countries
  const NOWHERE = '8.8.8.8'; // no place of the network map
  const subjectsOf = (b: Json) => (b['scope'] as { subjects?: string[] }).subjects;

  // From Dublin, austin-engineer sees demo-us-2's uid as its token, and asks for access by it.
  const seen = await asFrom('austin-engineer', DUBLIN, 'GET', `/v1/data/users/${tok('austin-engineer', OTHER_US_USER.uid)}`);
  assert.equal(seen.status, 200, seen.text.slice(0, 200));
  assert.equal(seen.body['key'], tok('austin-engineer', OTHER_US_USER.uid));
  const body = { ...REQUEST, ticket: 'SUP-W6', subjects: [String(seen.body['key'])] };
  const made = await asFrom('austin-engineer', DUBLIN, 'POST', '/v1/access/requests', body);
  assert.equal(made.status, 201, made.text.slice(0, 300));
  noClearUid(made.text, 'the request as made from Dublin');
  assert.deepEqual(subjectsOf(made.body), [tok('austin-engineer', OTHER_US_USER.uid)]);
  const id = String(made.body['id']);
  // The digest (what approvals sign, shown to everyone who sees the request) holds subjects as keyed
  // hashes: over clear keys it would confirm a guessed key offline.
  const canonical = {
    id,
    principal: 'austin-engineer',
    scope: { datasets: ['users'], categories: ['user.contact'], subjects: { users: [subjectHash(keys, 'users', OTHER_US_USER.uid)] }, jurisdictions: ['US'] },
    reason: 'USER_SUPPORT',
    ticket: 'SUP-W6',
    comment: REQUEST.comment,
    durationMs: 7_200_000,
    group: 'enclave-approvers',
    requestedAt: Date.parse(String(made.body['requestedAt'])),
    from: { country: 'IE', site: 'dublin' },
  };
  assert.equal(made.body['digest'], createHash('sha256').update(canonicalJson(canonical)).digest('base64'));

  // In Austin, the requester and the approvers see the key in clear; the token named demo-us-2.
  assert.deepEqual(subjectsOf((await as('austin-engineer', 'GET', `/v1/access/requests/${id}`)).body), [OTHER_US_USER.uid]);
  assert.equal((await as('austin-approver-a', 'POST', `/v1/access/requests/${id}/approve`, {})).status, 200);
  const approved = await as('austin-approver-b', 'POST', `/v1/access/requests/${id}/approve`, {});
  assert.equal(approved.body['state'], 'approved');
  assert.deepEqual(subjectsOf(approved.body), [OTHER_US_USER.uid]);
  const grantId = String(approved.body['grant']);
  const phone = await phoneOf('austin-engineer', OTHER_US_USER.uid);
  assert.equal(sha('clear' in phone ? phone.clear : phone), sha(OTHER_US_USER.phone_number), 'the grant covers the subject the token named (compared by hash)');

  // From an unknown place, a mismatched one (the approver's token says Austin, the network Beijing),
  // a known place outside the enclave's countries, and to the monitor (an auditor, not enclave staff): every request and grant carries tokens only.
  const AUSTIN = { location: { country: 'US', site: 'austin' } };
  const views: [string, string, DemoSignOptions][] = [
    ['austin-approver-a', NOWHERE, {}],
    ['austin-approver-a', FROM['beijing-engineer']!, AUSTIN],
    ['austin-approver-b', DUBLIN, {}],
    ['monitor', FROM['monitor']!, {}],
  ];
  for (const [persona, from, sign] of views) {
    for (const path of ['/v1/access/requests', `/v1/access/requests/${id}`, '/v1/access/grants', `/v1/access/grants/${grantId}`]) {
      const r = await asFrom(persona, from, 'GET', path, undefined, sign);
      assert.equal(r.status, 200, `${persona} from ${from} GET ${path}: ${r.text.slice(0, 200)}`);
      noClearUid(r.text, `${persona} from ${from} GET ${path}`);
      const items = (r.body['requests'] ?? r.body['grants'] ?? [r.body]) as Json[];
      const mine = items.find((x) => x['id'] === id || x['id'] === grantId)!;
      assert.deepEqual(subjectsOf(mine), [tok(persona, OTHER_US_USER.uid)], `${persona} from ${from} GET ${path}: its own token`);
    }
  }
  const revoked = await asFrom('austin-approver-a', NOWHERE, 'POST', `/v1/access/grants/${grantId}/revoke`, {});
  assert.equal(revoked.status, 200, revoked.text.slice(0, 200));
  noClearUid(revoked.text, 'a revocation from an unknown place');
  assert.deepEqual(subjectsOf(revoked.body['grant'] as Json), [tok('austin-approver-a', OTHER_US_USER.uid)]);

  // No oracle: a clear key from who may not see it in clear, a key no record has, another audience's
  // token: the same refusal word for word, and nothing logged (W7).
  const refusals = new Set<string>();
  const attempts: [string, string, string][] = [
    ['us-analyst', FROM['monitor']!, OTHER_US_USER.uid], // a US user's clear uid, from Austin, by someone outside the enclave staff
    ['us-analyst', FROM['monitor']!, 'demo-us-404'],
    ['us-analyst', FROM['monitor']!, tok('beijing-engineer', OTHER_US_USER.uid)],
    ['austin-engineer', NOWHERE, OTHER_US_USER.uid],
    ['austin-engineer', NOWHERE, 'demo-us-404'],
    ['austin-engineer', FROM['austin-engineer']!, 'demo-eu-1'], // an EU user's uid: not clear to US staff
    ['austin-engineer', FROM['austin-engineer']!, 'demo-eu-404'],
  ];
  for (const [persona, from, subject] of attempts) {
    const logged = server.log.size();
    // The first subject is the caller's own token, which names demo-us-1: the second is refused.
    const r = await asFrom(persona, from, 'POST', '/v1/access/requests', { ...REQUEST, subjects: [tok(persona, 'demo-us-1'), subject] });
    const what = `${persona} from ${from} names subject sha256 ${createHash('sha256').update(subject).digest('hex').slice(0, 12)}`;
    assert.equal(r.status, 400, `${what}: ${r.status}`);
    assert.equal(r.body['code'], 'access.invalid_scope', what);
    noClearUid(r.text, what);
    refusals.add(String(r.body['detail']));
    assert.equal(server.log.size(), logged, `${what}: nothing logged`);
  }
  assert.deepEqual(
    [...refusals],
    [
      "subjects[1] names no subject you may name from here: give the token you were given for it (as a record's key or a reference such as videos.owner_uid), or its key where you see it in clear",
    ],
  );

  // Break-glass takes the caller's token as well, and its grant goes out as the caller may see it.
  const glass = await as('austin-engineer', 'POST', '/v1/access/break-glass', {
    datasets: ['users'],
    categories: ['user.contact.phone_number'],
    subjects: [tok('austin-engineer', OTHER_US_USER.uid)],
    reason: 'INCIDENT_RESPONSE',
    justification: 'account takeover in progress, need the recovery phone now',
    duration: '30m',
  });
  assert.equal(glass.status, 201, JSON.stringify(glass.body).slice(0, 200));
  assert.deepEqual(subjectsOf(glass.body), [OTHER_US_USER.uid], 'in Austin, in clear');
  const glassAbroad = await asFrom('austin-approver-b', NOWHERE, 'GET', `/v1/access/grants/${String(glass.body['id'])}`);
  noClearUid(glassAbroad.text, 'the break-glass grant from an unknown place');
  assert.deepEqual(subjectsOf(glassAbroad.body), [tok('austin-approver-b', OTHER_US_USER.uid)]);
});

test('W5: HEAD on the data API and the egress feed is 405 with Allow: nothing decided, released or logged, the grant not used', async () => {
  const made = await as('austin-engineer', 'POST', '/v1/access/requests', { ...REQUEST, subjects: ['demo-us-1'], ticket: 'SUP-HEAD' });
  assert.equal(made.status, 201);
  const id = String(made.body['id']);
  assert.equal((await as('austin-approver-a', 'POST', `/v1/access/requests/${id}/approve`, {})).status, 200);
  const approved = await as('austin-approver-b', 'POST', `/v1/access/requests/${id}/approve`, {});
  const grantId = String(approved.body['grant']);
  const lastUsed = async () => (await as('austin-engineer', 'GET', `/v1/access/grants/${grantId}`)).body['lastUsedAt'];
  assert.equal(await lastUsed(), null, 'a new grant is unused');

  clock += 60_000;
  const logged = server.log.size();
  for (const [path, allow] of [
    ['/v1/data/users/demo-us-1', 'GET, PATCH, DELETE'],
    ['/v1/data/users?limit=5', 'GET, POST'],
    ['/v1/data/users?filter.username=lonestar_lens', 'GET, POST'],
    ['/v1/egress/users', 'GET'],
  ] as const) {
    const res = await fetch(`${base}${path}`, {
      method: 'HEAD',
      headers: { authorization: `Bearer ${await issuer.sign('austin-engineer')}`, 'x-forwarded-for': FROM['austin-engineer']! },
    });
    assert.equal(res.status, 405, `HEAD ${path}`);
    assert.equal(res.headers.get('allow'), allow, `HEAD ${path}`);
    assert.equal(res.headers.get('x-cordon-log-index'), null, `HEAD ${path}: no log entry named`);
    assert.equal(await res.text(), '', `HEAD ${path}: no body`);
  }
  assert.equal(server.log.size(), logged, 'nothing logged: no record says "released" for what was not sent');
  // The other GET routes that log what they answer (an auditor's read, the standing-access review,
  // a report) take no HEAD either: each would log an answer never sent.
  for (const [who, path] of [
    ['monitor', '/v1/log/records?after=-1&limit=5'],
    ['monitor', '/v1/log/records/0'],
    ['austin-approver-a', '/v1/access/review'],
    ['austin-approver-a', '/v1/report'],
  ] as const) {
    const res = await fetch(`${base}${path}`, {
      method: 'HEAD',
      headers: { authorization: `Bearer ${await issuer.sign(who)}`, 'x-forwarded-for': FROM[who] ?? FROM['austin-engineer']! },
    });
    assert.equal(res.status, 405, `HEAD ${path}`);
    assert.equal(res.headers.get('allow'), 'GET', `HEAD ${path}`);
    assert.equal(await res.text(), '', `HEAD ${path}: no body`);
  }
  assert.equal(server.log.size(), logged, 'nothing logged by HEAD on the log, review or report routes');
  assert.equal(await lastUsed(), null, 'the grant was not used');
  // The same read with GET is decided, released under the grant, logged, and uses it.
  const phone = await phoneOf('austin-engineer', 'demo-us-1');
  assert.equal(sha('clear' in phone ? phone.clear : phone), sha(DEMO_FIXED_USERS[0]!['phone_number']), 'the phone in clear (compared by hash)');
  assert.equal(server.log.size(), logged + 1);
  assert.equal(await lastUsed(), new Date(clock).toISOString());
});
