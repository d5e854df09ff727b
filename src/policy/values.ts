// Cedar values as the compiled engine holds them: JS strings, booleans and numbers (Long), and three
// classes for entities, sets and records, with Cedar's structural equality.

export class EntityRef {
  /** `Type::"id"`, the identity used for equality and hierarchy lookups. */
  readonly key: string;
  constructor(
    readonly type: string,
    readonly id: string,
  ) {
    this.key = `${type}::${JSON.stringify(id)}`;
  }
}

/** A record of attribute values. Its attrs have no prototype, so no inherited name reads as an attribute. */
export class CedarRecord {
  readonly attrs: Readonly<Record<string, Value>>;
  constructor(attrs: Readonly<Record<string, Value>>) {
    this.attrs = attrMap(attrs);
  }
}

/** A copy of `attrs` without a prototype. */
export function attrMap(attrs: Readonly<Record<string, Value>>): Readonly<Record<string, Value>> {
  return Object.assign(Object.create(null) as Record<string, Value>, attrs);
}

export class CedarSet {
  private readonly byCanon: Map<string, Value>;
  constructor(items: Iterable<Value>) {
    this.byCanon = new Map();
    for (const v of items) this.byCanon.set(canon(v), v);
  }
  get size(): number {
    return this.byCanon.size;
  }
  has(v: Value): boolean {
    return this.byCanon.has(typeof v === 'string' ? `s${v}` : canon(v));
  }
  values(): IterableIterator<Value> {
    return this.byCanon.values();
  }
  canons(): IterableIterator<string> {
    return this.byCanon.keys();
  }
  hasCanon(c: string): boolean {
    return this.byCanon.has(c);
  }
}

export type Value = string | boolean | number | EntityRef | CedarSet | CedarRecord;

/** A string that is equal for, and only for, equal Cedar values. */
export function canon(v: Value): string {
  switch (typeof v) {
    case 'string':
      return `s${v}`;
    case 'boolean':
      return v ? 'bt' : 'bf';
    case 'number':
      return `l${v}`;
  }
  if (v instanceof EntityRef) return `e${v.key}`;
  if (v instanceof CedarSet)
    return (
      'S[' +
      [...v.canons()]
        .sort()
        .map((c) => JSON.stringify(c))
        .join(',') +
      ']'
    );
  const keys = Object.keys(v.attrs).sort();
  return `R{${keys.map((k) => `${JSON.stringify(k)}:${JSON.stringify(canon(v.attrs[k]!))}`).join(',')}}`;
}

export function valueEquals(a: Value, b: Value): boolean {
  if (a === b) return true;
  const ta = typeof a;
  if (ta !== 'object' || typeof b !== 'object') return false;
  if (a instanceof EntityRef) return b instanceof EntityRef && a.key === b.key;
  if (a instanceof CedarSet) {
    if (!(b instanceof CedarSet) || a.size !== b.size) return false;
    for (const c of a.canons()) if (!b.hasCanon(c)) return false;
    return true;
  }
  if (a instanceof CedarRecord && b instanceof CedarRecord) {
    const ka = Object.keys(a.attrs);
    if (ka.length !== Object.keys(b.attrs).length) return false;
    for (const k of ka) {
      if (!Object.hasOwn(b.attrs, k) || !valueEquals(a.attrs[k]!, b.attrs[k]!)) return false;
    }
    return true;
  }
  return false;
}

/** Cedar's JSON form of a value (for cedar-wasm). */
export function toCedarJson(v: Value): unknown {
  if (typeof v !== 'object') return v;
  if (v instanceof EntityRef) return { __entity: { type: v.type, id: v.id } };
  if (v instanceof CedarSet) {
    const items: unknown[] = [];
    for (const x of v.values()) items.push(toCedarJson(x));
    return items;
  }
  const out: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
  for (const k of Object.keys(v.attrs)) out[k] = toCedarJson(v.attrs[k]!);
  return out;
}
