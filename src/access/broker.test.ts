// The broker on a real embedded store and log, with an injected clock: the reporting-line rule,
// revocation, pending expiry, dormant grants and rubber-stamp approvers, statements that verify,
// and a reopened broker that rebuilds the same state from its events.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadPolicy, type Policy } from '../policy/index.js';
import { openFileKeyService, openStore, type Store } from '../store/index.js';
import { generateSignerKey, openAccessLog, parseVerifierKey, verifyNote, type AccessLog } from '../log/index.js';
import { BROKER_EVENTS, openAccessBroker, type AccessBroker } from './broker.js';
import { BrokerJournalError } from './journal.js';
import type { Actor } from './model.js';
import { CordonError } from '../shared/errors.js';

const DEMO = fileURLToPath(new URL('../../../policies/demo', import.meta.url));
const loaded = loadPolicy(DEMO);
assert.ok(loaded.ok);
const demo = loaded.policy;

/** The demo policy with the approver group changed. */
function withGroup(change: { excludeReportingLine?: boolean; required?: number }): Policy {
  const access = demo.deployment.access;
  const group = { ...access.approverGroups.get('enclave-approvers')!, ...change };
  return { ...demo, deployment: { ...demo.deployment, access: { ...access, approverGroups: new Map([[group.name, group]]) } } };
}

function actor(policy: Policy, id: string, country = 'US'): Actor {
  const principal = policy.directory.principals.get(id)!;
  return { principal, country, site: principal.site, knownPlace: true };
}

const keyDirs: string[] = [];
after(() => {
  for (const dir of keyDirs) rmSync(dir, { recursive: true, force: true });
});

interface World {
  broker: AccessBroker;
  store: Store;
  log: AccessLog;
  clock: { t: number };
  reopen(): Promise<AccessBroker>;
}

async function world(policy: Policy): Promise<World> {
  const store = await openStore('enclave', 'pglite://memory');
  const signer = generateSignerKey('test.cordon.invalid/access');
  const statements = generateSignerKey('test.cordon.invalid/access/statements');
  const log = await openAccessLog({ store, signerKey: signer.skey });
  const keyDir = mkdtempSync(join(tmpdir(), 'cordon-broker-'));
  keyDirs.push(keyDir);
  const keys = openFileKeyService(join(keyDir, 'master.key'), { create: true });
  const clock = { t: Date.parse('2026-11-25T09:00:00Z') };
  const open = () => openAccessBroker({ policy, store, log, keys, signerKey: statements.skey, now: () => clock.t, sweepEveryMs: 0 });
  return { broker: await open(), store, log, clock, reopen: open };
}

const REQUEST = { datasets: ['users'], categories: ['user.contact'], subjects: ['demo-us-1'], reason: 'USER_SUPPORT', ticket: 'SUP-1', duration: '1h' };

async function refusal(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof CordonError, String(err));
    return err.code;
  }
  assert.fail('expected a refusal');
}

test("with exclude_reporting_line, the requester's manager cannot approve", async () => {
  const policy = withGroup({ excludeReportingLine: true, required: 1 });
  const w = await world(policy);
  const r = await w.broker.request(actor(policy, 'austin-engineer'), REQUEST);
  assert.equal(await refusal(w.broker.approve(actor(policy, 'austin-approver-a'), r.id, {})), 'access.reporting_line');
  const ok = await w.broker.approve(actor(policy, 'austin-approver-b'), r.id, {});
  assert.equal(ok.state, 'approved');
  await w.broker.close();
  await w.log.close();
  await w.store.close();
});

test('statements verify under the broker key; revoke ends a grant at once; a reopened broker rebuilds the same state', async () => {
  const w = await world(demo);
  const eng = actor(demo, 'austin-engineer');
  const r = await w.broker.request(eng, REQUEST);
  await w.broker.approve(actor(demo, 'austin-approver-a'), r.id, { comment: 'ok' });
  const done = await w.broker.approve(actor(demo, 'austin-approver-b'), r.id, {});
  const v = parseVerifierKey(w.broker.vkey);
  for (const s of done.approvals) {
    const verified = verifyNote(s.note, [v]);
    assert.match(verified.text, new RegExp(`\\ndigest ${r.digest.replace(/[+/]/g, '\\$&')}\\nprincipal austin-engineer\\nby ${s.by}\\ndecision approve\\n`));
  }
  const tampered = done.approvals[0]!.note.replace('decision approve', 'decision deny!!');
  assert.throws(() => verifyNote(tampered, [v]));
  assert.equal(w.broker.grantsOf('austin-engineer').length, 1);
  const grantId = done.grant!;

  const again = await w.reopen();
  const plain = (v: unknown) => JSON.parse(JSON.stringify(v)) as unknown;
  assert.deepEqual(plain(again.getRequest(eng, r.id)), plain(w.broker.getRequest(eng, r.id)), 'the events rebuild the request');
  assert.deepEqual(again.grantsOf('austin-engineer'), w.broker.grantsOf('austin-engineer'));

  assert.equal(await refusal(w.broker.revoke(actor(demo, 'us-analyst'), grantId, {})), 'access.forbidden');
  const revoked = await w.broker.revoke(eng, grantId, {});
  assert.equal(revoked.grant?.state, 'revoked');
  assert.deepEqual(w.broker.grantsOf('austin-engineer'), []);
  assert.equal(await refusal(w.broker.revoke(eng, grantId, {})), 'access.already_decided');
  await again.close();
  await w.broker.close();
  await w.log.close();
  await w.store.close();
});

test('pending requests expire at their TTL, logged; dormant grants and rubber-stamp approvers are flagged', async () => {
  const policy = withGroup({ required: 1 });
  const w = await world(policy);
  const eng = actor(policy, 'austin-engineer');
  const stale = await w.broker.request(eng, REQUEST);
  w.clock.t += policy.deployment.access.requestTtlMs;
  await w.broker.sweep();
  assert.equal(w.broker.getRequest(eng, stale.id).state, 'expired');
  assert.equal(await refusal(w.broker.approve(actor(policy, 'austin-approver-a'), stale.id, {})), 'access.expired');

  // Ten requests approved within seconds by approver-a: a rubber stamp.
  let last = '';
  for (let i = 0; i < 10; i++) {
    const r = await w.broker.request(eng, { ...REQUEST, ticket: `SUP-${i}`, duration: '8h' });
    w.clock.t += 5000;
    last = (await w.broker.approve(actor(policy, 'austin-approver-a'), r.id, {})).grant!;
  }
  const kinds = () => w.broker.grantFlags().map((f) => `${f.kind}:${f.principal}`);
  assert.deepEqual([...new Set(kinds())], ['rubber_stamp_approver:austin-approver-a']);
  // A grant used now is not dormant; the others, unused for a day's worth... (8h grants expire first),
  // so make one long-lived grant and leave it unused past dormant_after.
  const long = await w.broker.request(eng, { ...REQUEST, reason: 'MIGRATION', duration: '7d' });
  w.clock.t += 1000;
  const longGrant = (await w.broker.approve(actor(policy, 'austin-approver-b'), long.id, {})).grant!;
  w.broker.used(last);
  w.clock.t += policy.deployment.access.review.dormantAfterMs;
  await w.broker.sweep();
  assert.deepEqual(
    w.broker
      .grantFlags()
      .filter((f) => f.kind === 'dormant_grant')
      .map((f) => f.grant),
    [longGrant],
  );
  const types = (await w.log.records(-1, 1000)).map((x) => (x.record as { type: string }).type);
  assert.equal(types.filter((t) => t === 'broker.expire').length, 1 + 10, 'the stale request and the ten 8-hour grants');
  await w.broker.close();
  await w.log.close();
  await w.store.close();
});

test('stats count active grants, pending requests, unreviewed break-glass, and grants made, revoked and expired, at the time asked', async () => {
  const w = await world(demo);
  const eng = actor(demo, 'austin-engineer');
  const stats = () => w.broker.stats();
  const zero = { activeGrants: 0, pendingRequests: 0, breakGlassOpen: 0, grantsMade: 0, grantsRevoked: 0, grantsExpired: 0 };
  assert.deepEqual(stats(), zero);
  const grant = async (duration: string) => {
    const r = await w.broker.request(eng, { ...REQUEST, duration });
    assert.equal(stats().pendingRequests, 1);
    await w.broker.approve(actor(demo, 'austin-approver-a'), r.id, {});
    return (await w.broker.approve(actor(demo, 'austin-approver-b'), r.id, {})).grant!;
  };
  const revoked = await grant('8h');
  await grant('1h');
  const glass = await w.broker.breakGlass(eng, { ...REQUEST, justification: 'incident in progress', duration: '30m' });
  assert.deepEqual(stats(), { ...zero, activeGrants: 3, breakGlassOpen: 1, grantsMade: 3 });
  await w.broker.revoke(eng, revoked, {});
  await w.broker.request(eng, REQUEST);
  assert.deepEqual(stats(), { ...zero, activeGrants: 2, pendingRequests: 1, breakGlassOpen: 1, grantsMade: 3, grantsRevoked: 1 });
  w.clock.t += 3_600_000;
  const swept = { ...zero, pendingRequests: 1, breakGlassOpen: 1, grantsMade: 3, grantsRevoked: 1 };
  assert.deepEqual(stats(), swept, 'past its expiry a grant is not active, swept or not');
  await w.broker.sweep();
  assert.deepEqual(stats(), { ...swept, grantsExpired: 2 });
  w.clock.t += demo.deployment.access.requestTtlMs;
  assert.equal(stats().pendingRequests, 0, 'past its TTL a request is not pending');
  await w.broker.review(actor(demo, 'austin-approver-a'), glass.id, { verdict: 'justified', comment: 'INC-1' });
  assert.equal(stats().breakGlassOpen, 0, 'a reviewed break-glass is closed');
  await w.broker.close();
  await w.log.close();
  await w.store.close();
});

test('a damaged journal is named, not folded: reopening refuses with access.journal_damaged at its index, a running broker refuses every act, and nothing is folded twice', async () => {
  const w = await world(demo);
  const engineer = actor(demo, 'austin-engineer');
  const first = await w.broker.request(engineer, REQUEST);
  await w.broker.approve(actor(demo, 'austin-approver-a'), first.id, {});
  // Written beside cordon, straight into the store: an approval of a request that never was, and
  // a grant whose scope is not a list.
  const dangling = await w.store.append(BROKER_EVENTS, { type: 'approval', request: 'req-never', statement: { by: 'x' } });
  // The running broker meets it at its next read of the journal: every act is refused, and the
  // events before the damaged one are folded once (one approval, not one per attempt).
  for (let i = 0; i < 3; i++) {
    await assert.rejects(w.broker.request(engineer, { ...REQUEST, ticket: `SUP-${i + 2}` }), (err: unknown) => {
      assert.ok(err instanceof BrokerJournalError, String(err));
      assert.equal(err.code, 'access.journal_damaged');
      assert.equal(err.index, dangling);
      assert.equal(
        err.message,
        `the access broker's stored event ${dangling} approval names a request no earlier event made; the broker acts on nothing until the journal (access_broker) is repaired`,
      );
      return true;
    });
  }
  assert.equal(w.broker.getRequest(actor(demo, 'austin-approver-b'), first.id).approvals.length, 1, 'the approval before the damage is folded once');
  assert.equal(w.broker.listRequests(actor(demo, 'austin-approver-b'), {}).length, 1, 'no request was made while the journal was damaged');
  await assert.rejects(w.reopen(), (err: unknown) => err instanceof BrokerJournalError && err.index === dangling);
  await w.broker.close();
  await w.log.close();
});
