// Two brokers sharing one real PostgreSQL store, as two gateway processes of a region do: each opens
// its own pool, access log writer and state. Acts taken through either are checked against every
// change the other stored (the store's lock), and a grant or revocation made through one reaches the
// other's decisions within its refresh bound.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import postgres from 'postgres';
import { loadPolicy } from '../src/policy/index.js';
import { openFileKeyService, openStore, type Store } from '../src/store/index.js';
import { generateSignerKey, openAccessLog, type AccessLog } from '../src/log/index.js';
import { BROKER_EVENTS, openAccessBroker, type AccessBroker } from '../src/access/index.js';
import type { Actor } from '../src/access/model.js';
import { CordonError } from '../src/shared/errors.js';
import { startPostgres, type PostgresServer } from './helpers/postgres.js';
import { tempDir } from './helpers/temp.js';

const DEMO = fileURLToPath(new URL('../../policies/demo', import.meta.url));
const loaded = loadPolicy(DEMO);
assert.ok(loaded.ok);
const policy = loaded.policy;
const REFRESH_MS = 100;

function actor(id: string): Actor {
  const principal = policy.directory.principals.get(id)!;
  return { principal, country: 'US', site: principal.site, knownPlace: true };
}
const REQUEST = { datasets: ['users'], categories: ['user.contact'], subjects: ['demo-us-1'], reason: 'USER_SUPPORT', ticket: 'SUP-7', duration: '1h' };

let pg: PostgresServer;
const open: { store: Store; log: AccessLog; broker: AccessBroker }[] = [];
const logKey = generateSignerKey('test.cordon.invalid/access').skey;
const statementKey = generateSignerKey('test.cordon.invalid/access/statements').skey;
let keyFile: string;

before(async () => {
  pg = await startPostgres({ database: 'broker_processes' });
  keyFile = join(tempDir('cordon-broker-proc-'), 'master.key');
  openFileKeyService(keyFile, { create: true });
});
after(async () => {
  for (const p of open) {
    await p.broker.close();
    await p.log.close();
    await p.store.close();
  }
  await pg.stop();
});

/** A "process": its own pool to the shared database, its own log writer, its own broker state. */
async function processOn(database: string, refreshEveryMs = REFRESH_MS): Promise<AccessBroker> {
  const store = await openStore('enclave_us', pg.url.replace(/\/[^/]*$/, `/${database}`));
  const log = await openAccessLog({ store, signerKey: logKey });
  const broker = await openAccessBroker({
    policy,
    store,
    log,
    keys: openFileKeyService(keyFile),
    signerKey: statementKey,
    refreshEveryMs,
    sweepEveryMs: 0,
  });
  open.push({ store, log, broker });
  return broker;
}

async function database(name: string): Promise<string> {
  const admin = postgres(pg.url, { max: 1, onnotice: () => {} });
  await admin.unsafe(`CREATE DATABASE ${name}`);
  await admin.end();
  return name;
}

async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof CordonError, String(err));
    return err.code;
  }
  return 'ok';
}

/** What a broker knows, comparable across processes. */
function view(b: AccessBroker, who: Actor) {
  return {
    requests: b.listRequests(who, {}).map((r) => ({ id: r.id, state: r.state, approvals: r.approvals.map((a) => a.by).sort(), grant: r.grant ?? null })),
    grants: b.listGrants(who, {}).map((g) => ({ id: g.id, state: g.state, request: g.request ?? null })),
  };
}

async function within(ms: number, ok: () => boolean): Promise<number> {
  const t0 = Date.now();
  while (!ok()) {
    if (Date.now() - t0 > ms) assert.fail(`not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
  return Date.now() - t0;
}

test('approvals given at once through two processes make one grant; a grant and its revocation reach the other process within the bound', async () => {
  const db = await database('two_approvals');
  const [a, b] = [await processOn(db), await processOn(db)];
  const engineer = actor('austin-engineer');
  const approverA = actor('austin-approver-a');
  const approverB = actor('austin-approver-b');

  for (let round = 0; round < 5; round++) {
    const r = await a.request(engineer, { ...REQUEST, ticket: `SUP-${round}` });
    // The two approvals of a two-approver group, at the same moment, each through another process:
    // checked one after the other, the second sees the first and grants.
    const [x, y] = await Promise.all([a.approve(approverA, r.id, {}), b.approve(approverB, r.id, {})]);
    const granted = [x, y].filter((q) => q.state === 'approved');
    assert.equal(granted.length, 1, `round ${round}: exactly one of the two approvals grants (states ${x.state}, ${y.state})`);
    const grant = granted[0]!.grant!;
    // The process that did not grant reads the grant within the bound; decisions see it.
    const other = x.state === 'approved' ? b : a;
    const took = await within(REFRESH_MS * 5, () => other.grantsOf('austin-engineer').some((g) => g.id === grant));
    assert.ok(took <= REFRESH_MS * 5);
    // The same approver twice at once, through both: one approval, the other refused.
    const r2 = await b.request(engineer, { ...REQUEST, ticket: `SUP-dup-${round}` });
    const codes = (await Promise.all([code(a.approve(approverA, r2.id, {})), code(b.approve(approverA, r2.id, {}))])).sort();
    assert.deepEqual(codes, ['access.duplicate_approval', 'ok']);
    // Revoked through one, the other stops granting within the bound.
    assert.equal(await code(b.revoke(approverB, grant, {})), 'ok');
    await within(REFRESH_MS * 5, () => !a.grantsOf('austin-engineer').some((g) => g.id === grant));
  }

  // Both processes and a fresh replay of the store agree on every request and grant.
  await a.refresh();
  await b.refresh();
  const fresh = await processOn(db);
  const auditor = actor('austin-approver-a');
  assert.deepEqual(view(a, auditor), view(fresh, auditor));
  assert.deepEqual(view(b, auditor), view(fresh, auditor));
  const approved = view(fresh, auditor).requests.filter((r) => r.state === 'approved');
  assert.equal(approved.length, 5);
  for (const r of approved) assert.deepEqual(r.approvals, ['austin-approver-a', 'austin-approver-b']);
});

test("a revocation reaches a process within the bound even while that process's own act waits for the store's lock", async () => {
  const db = await database('lock_held');
  // b reads only when asked (no timer), so that when it learns of the revocation is the test's to see.
  const [a, b] = [await processOn(db), await processOn(db, 0)];
  const engineer = actor('austin-engineer');
  const r = await a.request(engineer, { ...REQUEST, ticket: 'SUP-held' });
  await a.approve(actor('austin-approver-a'), r.id, {});
  const grant = (await b.approve(actor('austin-approver-b'), r.id, {})).grant!;
  await b.refresh();
  assert.ok(b.grantsOf('austin-engineer').some((g) => g.id === grant));
  assert.equal(await code(a.revoke(actor('austin-approver-a'), grant, {})), 'ok');
  // A third process holds the broker's lock for 3 s (as a slow act would); b queues an act behind it.
  const other = await openStore('enclave_us', pg.url.replace(/\/[^/]*$/, `/${db}`));
  let release!: () => void;
  const held = new Promise<void>((r) => (release = r));
  let locked!: () => void;
  const taken = new Promise<void>((r) => (locked = r));
  const holding = other.exclusive(BROKER_EVENTS, async () => {
    locked();
    await Promise.race([held, new Promise((r) => setTimeout(r, 3000))]);
  });
  await taken;
  const queued = b.request(engineer, { ...REQUEST, ticket: 'SUP-queued' });
  // b's read of the others' changes does not wait for its own act: the revocation reaches its
  // decisions now, not when the lock is let go.
  const t0 = Date.now();
  await b.refresh();
  const took = Date.now() - t0;
  console.log(`# a process with an act waiting 3 s for the lock read the revocation in ${took} ms`);
  assert.ok(took < 1000, `the read waited ${took} ms`);
  assert.ok(!b.grantsOf('austin-engineer').some((g) => g.id === grant), 'the revoked grant is gone from decisions');
  release();
  await holding;
  assert.equal((await queued).state, 'pending');
  await other.close();
});
