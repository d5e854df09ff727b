// Coalesced record reads: what one turn asks goes as one getMany per store and dataset, each caller
// gets its own row (or undefined, or the store's error), and a read alone is a plain get.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createBatchedGet } from './batched-gets.js';
import { openStore } from './open.js';
import type { Store } from './types.js';

let store: Store;
const calls: string[] = [];
/** The store, with its get and getMany calls noted (method and key count). */
let counted: Store;

before(async () => {
  store = await openStore('batch', 'pglite://memory');
  await store.ensureTable({ name: 'users', fields: ['name'] });
  await store.ensureTable({ name: 'videos', fields: ['title'] });
  for (let i = 0; i < 1200; i++) await store.upsert('users', `u${i}`, { name: `n${i}` });
  await store.upsert('videos', 'v1', { title: 't1' });
  counted = new Proxy(store, {
    get(target, prop) {
      const v = Reflect.get(target, prop) as unknown;
      if (typeof v !== 'function') return v;
      if (prop === 'get')
        return (t: string, k: string) => {
          calls.push(`get ${t}`);
          return store.get(t, k);
        };
      if (prop === 'getMany')
        return (t: string, ks: string[]) => {
          calls.push(`getMany ${t} ${ks.length}`);
          return store.getMany(t, ks);
        };
      return v.bind(target);
    },
  });
});
after(async () => store.close());

test('reads asked in one turn go as one getMany per dataset; each gets its own row', async () => {
  calls.length = 0;
  const get = createBatchedGet();
  const got = await Promise.all([
    get(counted, 'users', 'u1'),
    get(counted, 'users', 'u2'),
    get(counted, 'users', 'nobody'),
    get(counted, 'videos', 'v1'),
    get(counted, 'users', 'u1'),
  ]);
  assert.deepEqual(got, [{ name: 'n1' }, { name: 'n2' }, undefined, { title: 't1' }, { name: 'n1' }]);
  assert.deepEqual(calls.sort(), ['get videos', 'getMany users 3']);
});

test('a read alone is a get; reads of later turns are later batches', async () => {
  calls.length = 0;
  const get = createBatchedGet();
  assert.deepEqual(await get(counted, 'users', 'u7'), { name: 'n7' });
  assert.deepEqual(await get(counted, 'users', 'u8'), { name: 'n8' });
  assert.deepEqual(calls, ['get users', 'get users']);
});

test('more keys than one statement takes are split; every caller is answered', async () => {
  calls.length = 0;
  const get = createBatchedGet();
  const keys = Array.from({ length: 1200 }, (_, i) => `u${i}`);
  const got = await Promise.all(keys.map((k) => get(counted, 'users', k)));
  assert.deepEqual(
    got.map((r) => r?.['name']),
    keys.map((k) => `n${k.slice(1)}`),
  );
  assert.deepEqual(calls, ['getMany users 500', 'getMany users 500', 'getMany users 200']);
});

test("a store's error reaches every caller of the batch, and the next batch is not affected", async () => {
  const get = createBatchedGet();
  const results = await Promise.allSettled([get(counted, 'no_such_table', 'a'), get(counted, 'no_such_table', 'b')]);
  assert.deepEqual(
    results.map((r) => r.status),
    ['rejected', 'rejected'],
  );
  assert.deepEqual(await get(counted, 'users', 'u3'), { name: 'n3' });
});
