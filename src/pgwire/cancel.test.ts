// Cancel keys on their own: ids unique among open sessions, a wrong secret or id cancels nothing, a
// released key cancels nothing, and secrets of every sign survive the trip through int32 fields.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CancelKeys } from './cancel.js';

test('a cancel needs the id and the secret of an open session; anything else does nothing', () => {
  const keys = new CancelKeys();
  const hits = new Map<string, number>();
  const target = (name: string) => ({ cancel: () => hits.set(name, (hits.get(name) ?? 0) + 1) });
  const a = keys.issue(target('a'));
  const b = keys.issue(target('b'));
  assert.notEqual(a.pid, b.pid);
  assert.ok(a.pid > 0 && b.pid > 0);
  keys.cancel(a.pid, a.secret ^ 1);
  keys.cancel(a.pid, b.secret === a.secret ? a.secret ^ 2 : b.secret);
  keys.cancel(b.pid, a.secret === b.secret ? b.secret ^ 2 : a.secret);
  keys.cancel(a.pid + 1 === b.pid ? a.pid + 2 : a.pid + 1, a.secret);
  assert.deepEqual([...hits], [], 'a wrong secret, another session, an id nobody has');
  keys.cancel(a.pid, a.secret);
  assert.deepEqual([...hits], [['a', 1]]);
  keys.release(a.pid);
  keys.cancel(a.pid, a.secret);
  assert.deepEqual([...hits], [['a', 1]], 'a released key cancels nothing');
  assert.equal(keys.size, 1);
  // Secrets are random 32-bit values, negative as often as not: each works as the int32 a client sends back.
  const many = Array.from({ length: 200 }, (_, i) => ({ i, key: keys.issue(target(`s${i}`)) }));
  assert.equal(new Set(many.map((m) => m.key.pid)).size, 200);
  assert.ok(many.some((m) => m.key.secret < 0) && many.some((m) => m.key.secret > 0), 'both signs seen');
  for (const { key } of many) {
    const wire = Buffer.alloc(8);
    wire.writeInt32BE(key.pid, 0);
    wire.writeInt32BE(key.secret, 4);
    keys.cancel(wire.readInt32BE(0), wire.readInt32BE(4));
  }
  assert.equal([...hits.keys()].filter((k) => k.startsWith('s')).length, 200);
});
