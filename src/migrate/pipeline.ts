// Overlapping the steps of a migration: the next page is read (and its enclave side fetched) while
// this one is encrypted or compared, so PostgreSQL and this process work at the same time instead
// of taking turns. Nothing here reorders writes; the engine still makes each batch durable, then
// checkpoints it, before the next batch writes anything.

/**
 * Marks a promise as handled now (it may settle while the caller is awaiting something else) and
 * returns it unchanged: awaiting it later still yields its value or throws its error.
 */
export function quiet<T>(p: Promise<T>): Promise<T> {
  p.catch(() => undefined);
  return p;
}

/**
 * The items of `source`, with the next one already being produced while the consumer works on the
 * current one (one item ahead). When the consumer stops early or fails, the item in flight is
 * awaited and the source is closed, so no work outlives the loop.
 */
export async function* ahead<T>(source: AsyncIterable<T>): AsyncGenerator<T, void, undefined> {
  const it = source[Symbol.asyncIterator]();
  let next = quiet(it.next());
  let finished = false;
  try {
    for (;;) {
      const r = await next;
      if (r.done) {
        finished = true;
        return;
      }
      next = quiet(it.next());
      yield r.value;
    }
  } finally {
    if (!finished) {
      await next.catch(() => undefined);
      await it.return?.();
    }
  }
}
