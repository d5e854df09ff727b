// A bounded map for caches on the request path, which must not grow with the number of distinct
// subjects, tokens or places a server has seen: V8 sizes its heap to a few times what is live, so
// every entry kept costs several times its size in resident memory.
//
// Two generations: new entries go into the young one; when it holds `capacity` entries it becomes
// the old one and the old one is dropped. An entry found only in the old generation moves back to
// the young one. So an entry used at least once per `capacity` insertions stays, one pass over many
// keys (a long result) evicts at most a generation, and there are never more than 2 × capacity
// entries. Clearing the whole map when full, as these caches did, dropped the hot entries with the
// cold ones.

export class BoundedCache<K, V> {
  #young = new Map<K, V>();
  #old = new Map<K, V>();

  constructor(readonly capacity: number) {
    if (!(Number.isInteger(capacity) && capacity >= 1)) throw new RangeError(`a cache's capacity is a positive integer, got ${capacity}`);
  }

  /** Entries held now: at most 2 × capacity. */
  get size(): number {
    return this.#young.size + this.#old.size;
  }

  has(key: K): boolean {
    return this.#young.has(key) || this.#old.has(key);
  }

  /** The value, or undefined when absent (use `has` where undefined is a value). */
  get(key: K): V | undefined {
    const v = this.#young.get(key);
    if (v !== undefined || this.#young.has(key)) return v;
    if (!this.#old.has(key)) return undefined;
    const kept = this.#old.get(key) as V;
    this.#old.delete(key);
    this.#put(key, kept);
    return kept;
  }

  set(key: K, value: V): this {
    if (this.#young.has(key)) this.#young.set(key, value);
    else {
      this.#old.delete(key);
      this.#put(key, value);
    }
    return this;
  }

  delete(key: K): boolean {
    const young = this.#young.delete(key);
    return this.#old.delete(key) || young;
  }

  clear(): void {
    this.#young = new Map();
    this.#old = new Map();
  }

  #put(key: K, value: V): void {
    if (this.#young.size >= this.capacity) {
      this.#old = this.#young;
      this.#young = new Map();
    }
    this.#young.set(key, value);
  }
}
