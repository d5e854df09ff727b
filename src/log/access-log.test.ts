// The access log on a real (embedded) store: group-committed appends get dense indexes, checkpoints
// sign the tree the entries give, proofs verify, records hash to their entries, a reopened log
// carries on, and a log whose stored rows were altered refuses to append and says why.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openStore, type EntryRow, type Store } from '../store/index.js';
import { openAccessLog, LogUnavailableError } from './access-log.js';
import { generateSignerKey, parseVerifierKey, verifyNote } from './note.js';
import { parseCheckpoint, openCheckpoint } from './checkpoint.js';
import { hashLeaf, verifyInclusion, verifyConsistency, MerkleTree } from './merkle.js';
import { commitment } from './commitment.js';
import { decodeEntryBundle } from './tiles.js';

const ORIGIN = 'test.cordon.invalid/access';

function rec(i: number) {
  return { v: 1, at: '2026-11-25T00:00:00.000Z', principal: `p-${i % 7}`, action: 'read', dataset: 'users', n: i };
}

async function sql(store: Store, text: string): Promise<unknown> {
  return (store as unknown as { db: { query(s: string): Promise<unknown> } }).db.query(text);
}

test('appends made together get dense indexes and one checkpoint signs them; proofs and records check out', async () => {
  const store = await openStore('log', 'pglite://memory');
  const { skey, vkey } = generateSignerKey(ORIGIN);
  const log = await openAccessLog({ store, signerKey: skey, checkpointEveryMs: 1000 });
  assert.equal(log.checkpoint().size, 0, 'a new log publishes the empty tree');
  const results = await Promise.all(Array.from({ length: 2000 }, (_, i) => log.append(rec(i))));
  assert.deepEqual(results.map((r) => r.index), Array.from({ length: 2000 }, (_, i) => i));
  await log.publish();
  const cp = log.checkpoint();
  assert.equal(cp.size, 2000);
  const opened = openCheckpoint(cp.note, vkey);
  assert.equal(opened.checkpoint.origin, ORIGIN);
  assert.equal(opened.checkpoint.size, 2000);

  // The entries the log serves give the signed root; each record hashes to its entry.
  const entries: Buffer[] = [];
  for (let n = 0; n * 256 < 2000; n++) entries.push(...decodeEntryBundle((await log.entryBundle(n, Math.min(256, 2000 - n * 256)))!));
  const rebuilt = MerkleTree.fromLeaves(entries);
  assert.ok(rebuilt.root().equals(cp.root));
  for (const i of [0, 1, 255, 256, 1023, 1999]) {
    const stored = (await log.record(i))!;
    assert.deepEqual(stored.record, rec(i));
    assert.ok(commitment(stored.record, Buffer.from(stored.salt, 'base64')).equals(entries[i]!));
    verifyInclusion(i, 2000, hashLeaf(entries[i]!), log.inclusionProof(i, 2000), cp.root);
  }
  // Salts differ, so equal records commit to different entries.
  const twins = await Promise.all([log.append({ same: true }), log.append({ same: true })]);
  const [a, b] = await Promise.all(twins.map((t) => log.record(t.index)));
  assert.notEqual(a!.entry, b!.entry);
  await log.publish();
  verifyConsistency(2000, 2002, cp.root, log.checkpoint().root, log.consistencyProof(2000, 2002));
  await log.close();
  await store.close();
});

test('a reopened log carries on from its stored entries and its last checkpoint', async () => {
  const store = await openStore('log', 'pglite://memory');
  const { skey } = generateSignerKey(ORIGIN);
  const first = await openAccessLog({ store, signerKey: skey });
  await Promise.all(Array.from({ length: 300 }, (_, i) => first.append(rec(i))));
  await first.close();
  const root300 = first.checkpoint().root;
  const again = await openAccessLog({ store, signerKey: skey });
  assert.deepEqual(again.health(), { ok: true });
  assert.equal(again.size(), 300);
  assert.ok(again.checkpoint().root.equals(root300));
  assert.equal((await again.append(rec(300))).index, 300);
  await again.close();
  await store.close();
});

test('a log whose stored entries were altered refuses to append (503), and says what does not match', async () => {
  const cases: [string, string, RegExp][] = [
    ['changed entry', `UPDATE tlog_access SET entry = '${Buffer.alloc(32, 7).toString('base64')}' WHERE idx = 17`, /give root .* at size 40, but the signed checkpoint says/],
    ['deleted entry', 'DELETE FROM tlog_access WHERE idx = 5', /stored entry 5 is missing|has size 40 but the store holds 5/],
    ['truncated', 'DELETE FROM tlog_access WHERE idx >= 30', /has size 40 but the store holds 30/],
    ['forged checkpoint', `UPDATE log_access_checkpoints SET entry = jsonb_set(entry, '{note}', to_jsonb(replace(entry->>'note', '40', '41')))`, /does not verify/],
  ];
  for (const [what, change, reason] of cases) {
    const store = await openStore('log', 'pglite://memory');
    const { skey } = generateSignerKey(ORIGIN);
    const log = await openAccessLog({ store, signerKey: skey });
    await Promise.all(Array.from({ length: 40 }, (_, i) => log.append(rec(i))));
    await log.close();
    await sql(store, 'ALTER TABLE tlog_access DISABLE TRIGGER append_only');
    await sql(store, 'ALTER TABLE log_access_checkpoints DISABLE TRIGGER append_only');
    await sql(store, change);
    const reopened = await openAccessLog({ store, signerKey: skey });
    const health = reopened.health();
    assert.equal(health.ok, false, what);
    assert.match((health as { reason: string }).reason, reason, what);
    await assert.rejects(reopened.append(rec(99)), (err: unknown) => err instanceof LogUnavailableError && err.code === 'log.unavailable', what);
    await reopened.close();
    await store.close();
  }
});

test('when the store cannot write, appends are refused; when it can again, the log carries on densely', async () => {
  const store = await openStore('log', 'pglite://memory');
  const { skey, vkey } = generateSignerKey(ORIGIN);
  let broken = false;
  const flaky: Store = Object.assign(Object.create(Object.getPrototypeOf(store)) as Store, store, {
    appendEntries: (log: string, first: number, rows: readonly EntryRow[]) => (broken ? Promise.reject(new Error('store down')) : store.appendEntries(log, first, rows)),
  });
  const log = await openAccessLog({ store: flaky, signerKey: skey });
  assert.equal((await log.append(rec(0))).index, 0);
  broken = true;
  const refused = await Promise.allSettled(Array.from({ length: 10 }, (_, i) => log.append(rec(i + 1))));
  assert.ok(refused.every((r) => r.status === 'rejected' && r.reason instanceof LogUnavailableError));
  broken = false;
  assert.deepEqual((await Promise.all([log.append(rec(11)), log.append(rec(12))])).map((r) => r.index), [1, 2]);
  await log.publish();
  const body = parseCheckpoint(verifyNote(log.checkpoint().note, [parseVerifierKey(vkey)]).text);
  assert.equal(body.size, 3);
  await log.close();
  await store.close();
});
