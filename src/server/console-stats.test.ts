// The console's decision counts of the last 24 hours, kept per process in a store: they outlive a
// restart, add up across processes, and hours older than 24 drop out.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openStore } from '../store/index.js';
import type { AccessRecordV2 } from '../gateway/index.js';
import { createDecisionStats } from './console.js';

const HOUR = 3_600_000;

/** A record whose fields are grouped by disclosure, as v2 records group them: a group counts each of its fields. */
function record(country: string, outcome: string, disclosures: string[]): AccessRecordV2 {
  const groups = new Map<string, Record<string, null>>();
  disclosures.forEach((disclosure, i) => {
    const g = groups.get(disclosure) ?? {};
    g[`f${i}`] = null;
    groups.set(disclosure, g);
  });
  return { country, outcome, fields: [...groups].map(([disclosure, fields]) => ({ disclosure, fields })) } as unknown as AccessRecordV2;
}

test('decision counts outlive a restart, add up across processes, and leave the window after 24 hours', async () => {
  const store = await openStore('global', 'pglite://memory');
  try {
    let t = Date.UTC(2026, 10, 25, 10, 30);
    const now = () => t;
    const a = createDecisionStats(now, { store, instance: 'a', flushEveryMs: HOUR });
    a.add(record('US', 'released', ['clear', 'masked', 'clear']));
    a.add(record('CN', 'refused', ['withheld']));
    await a.flush();

    const b = createDecisionStats(now, { store, instance: 'b', flushEveryMs: HOUR });
    await b.load();
    b.add(record('US', 'released', ['clear']));
    const both = { byDisclosure: { clear: 3, masked: 1, withheld: 1 }, byCountry: { US: 2, CN: 1 }, byOutcome: { released: 2, refused: 1 } };
    assert.deepEqual(b.last24h(), both, "a second process counts the first one's decisions and its own");
    await b.close();
    await a.load();
    assert.deepEqual(a.last24h(), both, "and the first one the second's, once written");
    await a.close();

    // A restart (a new process) starts from what the others wrote.
    const restarted = createDecisionStats(now, { store, instance: 'a-restarted', flushEveryMs: HOUR });
    await restarted.load();
    assert.deepEqual(restarted.last24h(), both);
    t += 23 * HOUR;
    await restarted.load();
    assert.deepEqual(restarted.last24h(), both, 'still within the 24 hours');
    t += HOUR;
    await restarted.load();
    assert.deepEqual(restarted.last24h(), { byDisclosure: {}, byCountry: {}, byOutcome: {} }, 'the hour left the window');
    await restarted.close();
  } finally {
    await store.close();
  }
});
