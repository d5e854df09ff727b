// How the wire gateway writes: replies are held until the client waits for them (Sync), so that a
// query by key is one write rather than four, yet a row never leaves before its decision is
// recorded (W5), and a long result still goes out page by page while the next page is read. Against
// a read path whose recording and listing the test holds, so each moment can be looked at.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Socket } from 'node:net';
import type { Caller, GatewayReader, ReadOne } from '../src/gateway/index.js';
import { loadPolicy, type Principal } from '../src/policy/index.js';
import { createPgGateway } from '../src/pgwire/index.js';
import { DEMO_POLICY } from './helpers/paths.js';
import { bindMessage, executeMessage, parseMessage, queryMessage, RawPg, syncMessage } from './helpers/pg-raw.js';

const loaded = loadPolicy(DEMO_POLICY);
assert.ok(loaded.ok);
const policy = loaded.policy;
const caller: Caller = { principal: { id: 'tester' } as Principal, country: 'US', site: 'austin', audience: 'team', knownPlace: true };

function deferred<T>(): { promise: Promise<T>; resolve(v: T): void } {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}
const tick = (ms = 50) => new Promise((r) => setTimeout(r, ms));

/** A read path over `users` whose records are made up from their keys; `record` and `list` are the test's to hold. */
function stubReader(hooks: {
  record(): Promise<number>;
  list(after: string | undefined): Promise<{ rows: { key: string; values: Record<string, string> }[]; next: string | undefined }>;
}): GatewayReader {
  const readOne = async (_c: Caller, _d: string, key: string): Promise<ReadOne> =>
    ({
      decision: {},
      out: { dataset: 'users', fields: { uid: key, username: `name of ${key}` }, transformed: {}, withheld: [] },
      released: true,
      subject: key,
    }) as never;
  return {
    policy,
    recordKeys: { in: (_c: Caller, _d: string, sent: string) => ({ key: sent, clear: true }) },
    globalStore: { list: (_t: string, o: { after?: string }) => hooks.list(o.after) },
    readOne,
    record: () => hooks.record(),
    refusedForPlace: () => false,
    filterable: () => true,
    untransformed: () => false,
  } as unknown as GatewayReader;
}

/** Counts the chunks the client's socket reads (a chunk per server write, on loopback with small writes). */
function countReads(socket: Socket): () => number {
  let reads = 0;
  socket.on('data', () => reads++);
  return () => reads;
}

test('a query by key: nothing is sent before its decision is recorded, then everything in one write', { timeout: 10_000 }, async () => {
  const recorded = deferred<number>();
  let asked = 0;
  const gateway = await createPgGateway({
    reader: stubReader({
      record: () => {
        asked++;
        return recorded.promise;
      },
      list: async () => ({ rows: [], next: undefined }),
    }),
    authenticate: async () => caller,
    isTrustedProxy: () => false,
    cleartextAllowed: () => true,
  });
  const { port } = await gateway.listen(0, '127.0.0.1');
  try {
    const c = await RawPg.connect(port);
    assert.equal((await c.login('tester', 'token')).at(-1)?.type, 'Z');
    const reads = countReads(c.socket);
    // As postgres.js and node-postgres send a prepared query: Parse, Bind, Execute, Sync in one go.
    c.send(Buffer.concat([parseMessage('SELECT uid, username FROM users WHERE uid = $1'), bindMessage(['u-1']), executeMessage(), syncMessage()]));
    while (asked === 0) await tick(5);
    await tick();
    assert.equal(reads(), 0, 'while the decision is being recorded, the client has been sent nothing');
    recorded.resolve(7);
    const msgs = await c.until('Z');
    assert.deepEqual(
      msgs.map((m) => m.type),
      ['1', '2', 'D', 'C', 'Z'],
    );
    assert.equal(reads(), 1, 'ParseComplete, BindComplete, the row, CommandComplete and ReadyForQuery arrive in one write');
    c.end();
  } finally {
    await gateway.close();
  }
});

test('a long result goes out page by page: the first page reaches the client while the next is read', { timeout: 10_000 }, async () => {
  const second = deferred<void>();
  const keys = (from: number) => Array.from({ length: 500 }, (_, i) => `u-${String(from + i).padStart(4, '0')}`);
  let index = 0;
  const gateway = await createPgGateway({
    reader: stubReader({
      record: async () => ++index,
      list: async (after) => {
        if (after === undefined) return { rows: keys(0).map((key) => ({ key, values: {} })), next: 'u-0499' };
        await second.promise;
        return { rows: keys(500).map((key) => ({ key, values: {} })), next: undefined };
      },
    }),
    authenticate: async () => caller,
    isTrustedProxy: () => false,
    cleartextAllowed: () => true,
  });
  const { port } = await gateway.listen(0, '127.0.0.1');
  try {
    const c = await RawPg.connect(port);
    assert.equal((await c.login('tester', 'token')).at(-1)?.type, 'Z');
    c.send(queryMessage('SELECT uid FROM users'));
    const first = await c.until('D');
    assert.deepEqual(
      first.map((m) => m.type),
      ['T', 'D'],
      'the row description and the first row arrive while the second page is still being read',
    );
    assert.equal(index, 500, 'only the first page has been recorded');
    second.resolve();
    const rest = await c.until('Z');
    assert.equal(rest.filter((m) => m.type === 'D').length, 999);
    assert.deepEqual(
      rest.slice(-2).map((m) => m.type),
      ['C', 'Z'],
    );
    assert.equal(index, 1000);
    c.end();
  } finally {
    await gateway.close();
  }
});
