// The access log on a real (embedded) store: group-committed appends get dense indexes, checkpoints
// sign the tree the entries give, proofs verify, records hash to their entries, a reopened log
// carries on, a log whose stored rows were altered refuses to append and says why, and a record of
// no registered kind or not fitting its schema is refused before anything is appended.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openStore, type EntryRow, type Store } from '../store/index.js';
import { openAccessLog, LogUnavailableError } from './access-log.js';
import { InvalidLogRecordError } from './records.js';
import type { AuditReadRecordV1, LogRecord } from './record-types.js';
import { generateSignerKey, parseVerifierKey, verifyNote } from './note.js';
import { parseCheckpoint, openCheckpoint } from './checkpoint.js';
import { hashLeaf, verifyInclusion, verifyConsistency, MerkleTree } from './merkle.js';
import { commitment } from './commitment.js';
import { decodeEntryBundle } from './tiles.js';

const ORIGIN = 'test.cordon.invalid/access';

function rec(i: number): AuditReadRecordV1 {
  return { v: 1, at: '2026-11-25T00:00:00.000Z', principal: `p-${i % 7}`, country: 'US', site: 'austin', action: 'audit_read', from: i, to: i };
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
  assert.deepEqual(
    results.map((r) => r.index),
    Array.from({ length: 2000 }, (_, i) => i),
  );
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
  const twins = await Promise.all([log.append(rec(5)), log.append(rec(5))]);
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
    [
      'changed entry',
      `UPDATE tlog_access SET entry = '${Buffer.alloc(32, 7).toString('base64')}' WHERE idx = 17`,
      /give root .* at size 40, but the signed checkpoint says/,
    ],
    ['deleted entry', 'DELETE FROM tlog_access WHERE idx = 5', /stored entry 5 is missing|has size 40 but the store holds 5/],
    ['truncated', 'DELETE FROM tlog_access WHERE idx >= 30', /has size 40 but the store holds 30/],
    [
      'forged checkpoint',
      `UPDATE log_access_checkpoints SET entry = jsonb_set(entry, '{note}', to_jsonb(replace(entry->>'note', '40', '41')))`,
      /does not verify/,
    ],
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
    appendEntries: (log: string, first: number, rows: readonly EntryRow[]) =>
      broken ? Promise.reject(new Error('store down')) : store.appendEntries(log, first, rows),
  });
  const log = await openAccessLog({ store: flaky, signerKey: skey });
  assert.equal((await log.append(rec(0))).index, 0);
  broken = true;
  const refused = await Promise.allSettled(Array.from({ length: 10 }, (_, i) => log.append(rec(i + 1))));
  assert.ok(refused.every((r) => r.status === 'rejected' && r.reason instanceof LogUnavailableError));
  broken = false;
  assert.deepEqual(
    (await Promise.all([log.append(rec(11)), log.append(rec(12))])).map((r) => r.index),
    [1, 2],
  );
  await log.publish();
  const body = parseCheckpoint(verifyNote(log.checkpoint().note, [parseVerifierKey(vkey)]).text);
  assert.equal(body.size, 3);
  await log.close();
  await store.close();
});

test('stats count what this process appended, refused and signed, per entry and per batch', async () => {
  const store = await openStore('log', 'pglite://memory');
  let broken = false;
  const flaky: Store = Object.assign(Object.create(Object.getPrototypeOf(store)) as Store, store, {
    appendEntries: (log: string, first: number, rows: readonly EntryRow[]) =>
      broken ? Promise.reject(new Error('store down')) : store.appendEntries(log, first, rows),
  });
  const log = await openAccessLog({ store: flaky, signerKey: generateSignerKey(ORIGIN).skey, checkpointEveryMs: 1000 });
  const fresh = log.stats();
  assert.deepEqual(
    { ...fresh, appendSeconds: fresh.appendSeconds.count, batchSize: fresh.batchSize.count, checkpointAt: typeof fresh.checkpointAt },
    {
      entries: 0,
      queued: 0,
      appended: 0,
      failed: 0,
      appendSeconds: 0,
      batchSize: 0,
      checkpointSize: 0,
      checkpointAt: 'number',
      checkpointsSigned: 1,
      healthy: true,
    },
  );
  const pending = Array.from({ length: 100 }, (_, i) => log.append(rec(i)));
  assert.equal(log.stats().queued, 100, 'queued until the write lands');
  await Promise.all(pending);
  broken = true;
  await Promise.allSettled(Array.from({ length: 7 }, (_, i) => log.append(rec(i))));
  broken = false;
  await log.publish();
  const s = log.stats();
  assert.equal(s.entries, 100);
  assert.equal(s.queued, 0);
  assert.equal(s.appended, 100);
  assert.equal(s.failed, 7);
  assert.equal(s.appendSeconds.count, 100, 'one latency per durable entry');
  assert.equal(s.batchSize.sum, 100, 'the batches hold every durable entry');
  assert.equal(s.checkpointSize, 100);
  assert.equal(s.checkpointsSigned, 2);
  assert.ok(s.checkpointAt! >= fresh.checkpointAt! && s.checkpointAt! <= Date.now());
  await log.close();
  await assert.rejects(log.append(rec(0)), LogUnavailableError);
  assert.equal(log.stats().failed, 8, 'an append to a closed log fails too');
  await store.close();
});

test('a record of no registered type, of a retired type or version, or not fitting its schema is refused (log.invalid_record), and nothing is appended', async () => {
  const store = await openStore('log', 'pglite://memory');
  const { skey } = generateSignerKey(ORIGIN);
  const log = await openAccessLog({ store, signerKey: skey });
  await log.append(rec(0));
  await log.publish();
  const hash = 'A'.repeat(43);
  const read = {
    v: 2,
    at: '2026-11-25T00:00:00.000Z',
    principal: 'p',
    country: 'US',
    site: 'austin',
    action: 'read',
    dataset: 'users',
    subject: hash,
    fields: [],
    grant: null,
    jurisdiction: 'US',
    enclaveCountries: ['US'],
    outcome: 'released',
    policyVersion: 'pv',
  };
  const cases: { note: string; record: unknown; message: RegExp }[] = [
    {
      note: 'an unregistered type',
      record: { v: 1, at: '2026-11-25T00:00:00.000Z', type: 'test', id: 'x' },
      message: /"test" is not a registered log record type/,
    },
    {
      note: 'a retired type (broker.use was access.use in e1b4790)',
      record: { v: 1, at: '2026-11-25T00:00:00.000Z', type: 'access.use', grant: 'g', policyVersion: 'pv' },
      message: /access\.use is retired/,
    },
    {
      note: 'an old version (key.release is written at v2)',
      record: { v: 1, at: '2026-11-25T00:00:00.000Z', type: 'key.release', dataset: 'users', subject: hash, reason: 'r', policyVersion: 'pv' },
      message: /key\.release is written at version 2, not 1/,
    },
    { note: 'a version that never was', record: { ...rec(1), v: 7 }, message: /audit_read has no version 7/ },
    { note: 'a missing member', record: { ...rec(1), to: undefined }, message: /audit_read v1: the record must have required property 'to'/ },
    {
      note: 'a member the schema does not name',
      record: { ...rec(1), n: 1 },
      message: /audit_read v1: the record has a member "n" that its schema does not name/,
    },
    { note: 'a member of the wrong type', record: { ...rec(1), from: '1' }, message: /audit_read v1: \/from must be integer/ },
    { note: 'a fraction', record: { ...rec(1), from: 1.5 }, message: /\/from must be integer/ },
    { note: 'an integer canonical JSON cannot hold', record: { ...rec(1), from: 2 ** 60 }, message: /audit_read: holds a number that is not a safe integer/ },
    { note: 'a subject key instead of its keyed hash', record: { ...read, subject: 'demo-us-1' }, message: /access_record v2: \/subject must match pattern/ },
    {
      note: 'an access record at v1 (written at v2 since its fields are grouped)',
      record: { ...read, v: 1 },
      message: /access_record is written at version 2, not 1/,
    },
    {
      note: 'an empty group of fields',
      record: { ...read, fields: [{ class: 'protected', disclosure: 'clear', rules: [], fields: {} }] },
      message: /\/fields\/0\/fields must NOT have fewer than 1 properties/,
    },
    {
      note: 'an unknown disclosure',
      record: { ...read, fields: [{ class: 'protected', disclosure: 'peek', rules: [], fields: { email: 'user.contact.email' } }] },
      message: /\/fields\/0\/disclosure must be equal to one of the allowed values/,
    },
    { note: 'neither a type nor an action', record: { v: 1, same: true }, message: /a log record is an object with a string `type`/ },
    { note: 'not an object', record: ['v', 1], message: /a log record is an object/ },
  ];
  for (const c of cases) {
    await assert.rejects(
      log.append(c.record as LogRecord),
      (err: unknown) => err instanceof InvalidLogRecordError && err.code === 'log.invalid_record' && c.message.test(err.message),
      c.note,
    );
  }
  // A caller's own encoding does not get a record past the check.
  await assert.rejects(log.appendCanonical({ ...rec(1), n: 1 } as unknown as LogRecord, '{}'), InvalidLogRecordError);
  // Nothing of them was queued, stored or signed; the log carries on densely.
  await log.publish();
  assert.equal(log.size(), 1);
  assert.equal(log.checkpoint().size, 1);
  assert.equal((await store.readEntries('access', -1, 100)).length, 1);
  assert.equal((await log.append(rec(1))).index, 1);
  await log.close();
  await store.close();
});
