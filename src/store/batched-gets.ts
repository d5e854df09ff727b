// Record reads coalesced per store and dataset: the reads asked for in one turn of the event loop
// (a list page's records, the concurrent requests of a busy gateway) go to the store as one
// getMany — one statement and one round trip — instead of one each. A read alone is a plain get.
// Every caller gets what a get() of its key at flush time would have returned, or its error.

import type { Row, Store } from './types.js';

interface Waiter {
  readonly resolve: (row: Row | undefined) => void;
  readonly reject: (err: unknown) => void;
}

interface Batch {
  readonly store: Store;
  readonly dataset: string;
  readonly waiters: Map<string, Waiter[]>;
}

/** Largest number of keys in one getMany; more go in several. */
const MAX_KEYS = 500;

export type BatchedGet = (store: Store, dataset: string, key: string) => Promise<Row | undefined>;

export function createBatchedGet(): BatchedGet {
  let pending = new Map<Store, Map<string, Batch>>();
  let scheduled = false;

  const settle = (batch: Batch, keys: readonly string[], rows: ReadonlyMap<string, Row> | undefined, err?: unknown) => {
    for (const k of keys) {
      for (const w of batch.waiters.get(k) ?? []) {
        if (err !== undefined) w.reject(err);
        else w.resolve(rows?.get(k));
      }
    }
  };

  const run = (batch: Batch) => {
    const keys = [...batch.waiters.keys()];
    for (let i = 0; i < keys.length; i += MAX_KEYS) {
      const slice = keys.slice(i, i + MAX_KEYS);
      const rows: Promise<ReadonlyMap<string, Row>> =
        slice.length === 1
          ? batch.store.get(batch.dataset, slice[0]!).then((r) => new Map(r === undefined ? [] : [[slice[0]!, r]]))
          : batch.store.getMany(batch.dataset, slice);
      rows.then(
        (m) => settle(batch, slice, m),
        (err: unknown) => settle(batch, slice, undefined, err ?? new Error('store read failed')),
      );
    }
  };

  const flush = () => {
    scheduled = false;
    const batches = pending;
    pending = new Map();
    for (const byDataset of batches.values()) for (const batch of byDataset.values()) run(batch);
  };

  return (store, dataset, key) =>
    new Promise<Row | undefined>((resolve, reject) => {
      let byDataset = pending.get(store);
      if (!byDataset) {
        byDataset = new Map();
        pending.set(store, byDataset);
      }
      let batch = byDataset.get(dataset);
      if (!batch) {
        batch = { store, dataset, waiters: new Map() };
        byDataset.set(dataset, batch);
      }
      const list = batch.waiters.get(key);
      if (list) list.push({ resolve, reject });
      else batch.waiters.set(key, [{ resolve, reject }]);
      if (!scheduled) {
        scheduled = true;
        setImmediate(flush);
      }
    });
}
