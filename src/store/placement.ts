// Placement: on write, each field of a record goes to the enclave store of its subject's
// jurisdiction when its class there is protected, and to the global store otherwise; the field is
// cleared in the other store, so a field whose row-dependent category changes (a video going
// private) moves. The two parts are joined by the record key. A record whose jurisdiction cannot
// be told is not written (fail closed).
//
// The store module may not call the policy module (PRODUCT.md §4), so the caller passes a
// PlacementRules object; policy's createPlacementRules(policy) builds one.
//
// With `encryption`, protected fields are stored as ciphertext under their subject's data key
// (at-rest.ts) and decrypted on read. A data key leaves the key service only through
// `onKeyRelease` (a decision with a reason, which the server writes to the access log), at most
// once per subject per `releaseEveryMs` per process; unwrapped keys are cached for `cacheMs`, so a
// key shredded by another process stops decrypting here within that time.

import { BoundedCache } from '../shared/bounded-cache.js';
import { CordonError, OtherRegionError } from '../shared/errors.js';
import { createDataKeys, isCiphertext, encryptField, decryptField, type DataKeys, type KeyUnavailable } from './at-rest.js';
import type { KeyService } from './keys.js';
import { createBatchedGet } from './batched-gets.js';
import { MAX_LIST_LIMIT, type FieldValue, type Row, type Store } from './types.js';

/** A released data key is logged again for the same subject after this long (per process). */
export const DEFAULT_KEY_RELEASE_EVERY_MS = 5 * 60_000;
/** Unwrapped data keys are kept in memory this long. */
export const DEFAULT_KEY_CACHE_MS = 60_000;
/** Subjects whose unwrapped data key, and whose last release, are kept: at most twice this many (BoundedCache). */
const MAX_CACHED_KEYS = 10_000;
/** The reason given for releases when the caller names none. */
export const DEFAULT_RELEASE_REASON = 'read through the gateway, disclosed per field by policy';

export interface PlacementOptions {
  readonly encryption?: {
    readonly keys: KeyService;
    /**
     * Called, and awaited, before a subject's data key is used to decrypt: the release MUST be
     * durable (logged) when it resolves; a rejection fails the read (fail closed).
     */
    readonly onKeyRelease?: (subject: string, dataset: string, reason: string) => Promise<void>;
    readonly releaseEveryMs?: number;
    readonly cacheMs?: number;
    readonly now?: () => number;
  };
}

export type PlacementClass = 'protected' | 'excepted' | 'public';

/** What placement needs to know of the policy. */
export interface PlacementRules {
  readonly globalStore: string;
  /** Every distinct enclave store (writes look for a record's enclave part in each; reads, where the record does not name its jurisdiction). */
  readonly enclaveStores: readonly string[];
  /** The dataset's key field, fields, and where its subject's jurisdiction comes from. */
  dataset(name: string):
    | {
        readonly key: string;
        readonly fields: readonly string[];
        readonly jurisdictionField?: string;
        readonly subjectField: string;
        readonly subjectDataset?: string;
      }
    | undefined;
  /** The jurisdiction of a country (with the default jurisdiction), or undefined. */
  jurisdictionOfCountry(country: unknown): string | undefined;
  /** The store of the enclave bound to the jurisdiction. */
  enclaveStoreOf(jurisdiction: string): string;
  /** The region this process serves (cordon up --region), named in the change log's entries; undefined otherwise. */
  readonly region?: string;
  /** The field's class for this row; undefined when its category cannot be told (treated as protected). */
  classOf(dataset: string, field: string, row: Readonly<Record<string, unknown>>, jurisdiction: string): PlacementClass | undefined;
}

type PlacementErrorCode = 'store.unknown_jurisdiction' | 'store.unknown_dataset' | 'store.protected_key' | 'store.duplicate_key' | 'store.not_found';

export class PlacementError extends CordonError {
  declare readonly code: PlacementErrorCode;
  constructor(code: PlacementErrorCode, message: string) {
    super(code, message);
    this.name = 'PlacementError';
  }
}

export interface WriteResult {
  readonly jurisdiction: string;
  /** The record as written (the update merged into what was there). */
  readonly values: Row;
  /** Fields placed in the enclave store of the jurisdiction (protected there), and the others. */
  readonly enclave: readonly string[];
  readonly global: readonly string[];
}

export interface PlacedRecord {
  readonly values: Row;
  readonly jurisdiction: string | undefined;
  /** Protected fields whose ciphertext cannot be decrypted (key shredded), each with why; their value reads as null. */
  readonly unreadable?: Readonly<Record<string, string>>;
  /**
   * Fields left for later by `ReadOptions.decrypt`, null in `values` until opened: encrypted fields,
   * and, when the enclave part was not read, every field that is null in the global part.
   */
  readonly sealed?: ReadonlySet<string>;
  /**
   * The record with these sealed fields decrypted (the subject's data key is released, and logged,
   * only now and only if one of them is sealed). Fields not sealed are ignored.
   */
  open?(fields: Iterable<string>): Promise<PlacedRecord>;
}

export interface ReadOptions {
  /** Why a data key would be released (logged with the release). */
  readonly reason?: string;
  /**
   * Decrypt only these encrypted fields now (the jurisdiction field always is); the others stay
   * sealed until `PlacedRecord.open`. When the global part holds these fields and the subject field
   * in clear, the enclave part is not read until `open` asks for a field it may hold (a read whose
   * decision discloses nothing protected asks one store). Default: read and decrypt every field.
   */
  readonly decrypt?: ReadonlySet<string>;
}

export interface Placement {
  /** Ensures every dataset's table in every store. */
  init(): Promise<void>;
  /** Inserts (`create`) or merges into (`update`) a record; returns where each field went. */
  write(dataset: string, key: string, values: Row, mode: 'create' | 'update' | 'upsert'): Promise<WriteResult>;
  /** The whole record, both parts joined and decrypted (or, with `decrypt`, partly sealed), or undefined. */
  read(dataset: string, key: string, options?: ReadOptions): Promise<PlacedRecord | undefined>;
  remove(dataset: string, key: string): Promise<boolean>;
  /** Changes of a dataset after `after` (keys written or deleted, oldest first), for the egress feed. */
  changes(
    dataset: string,
    after: number,
    limit: number,
  ): Promise<{ readonly index: number; readonly key: string; readonly op: 'write' | 'delete'; readonly region?: string }[]>;
  /** The jurisdiction of a (merged) record of `dataset`, reading the subject's record if needed. */
  jurisdictionOf(dataset: string, record: Readonly<Record<string, unknown>>): Promise<string | undefined>;
}

/** The change log of a dataset: which keys changed, in order (no values: it lives in the global store). */
export function changeLog(dataset: string): string {
  return `changes_${dataset}`;
}

/** The subject id a data key belongs to: the subject's dataset and key. */
export function subjectIdOf(rules: PlacementRules, dataset: string, record: Readonly<Record<string, unknown>>): string | undefined {
  const d = rules.dataset(dataset);
  const s = d && record[d.subjectField];
  if (s === undefined || s === null || !d) return undefined;
  return `${d.subjectDataset ?? dataset}/${String(s)}`;
}

const NOTHING: ReadonlySet<string> = new Set();

export function createPlacement(
  rules: PlacementRules,
  stores: ReadonlyMap<string, Store>,
  datasets: readonly string[],
  options: PlacementOptions = {},
): Placement {
  const storeOf = (name: string): Store => {
    const s = stores.get(name);
    if (!s) throw new Error(`placement: store ${name} is not open`);
    return s;
  };
  const specOf = (dataset: string) => {
    const d = rules.dataset(dataset);
    if (!d) throw new PlacementError('store.unknown_dataset', `unknown dataset ${JSON.stringify(dataset)}`);
    return d;
  };
  const allStores = [...new Set([rules.globalStore, ...rules.enclaveStores])];
  // A regional gateway's changes name its region (the change log is in the global store, which every region shares).
  const regionOfChange = rules.region === undefined ? {} : { region: rules.region };
  // Reads go out coalesced: those asked for in one turn, one statement per store and dataset.
  const batchedGet = createBatchedGet();
  const getPart = (store: string, dataset: string, key: string) => batchedGet(storeOf(store), dataset, key);

  const enc = options.encryption;
  const dataKeys = new Map<string, DataKeys>();
  const keysOf = (store: string): DataKeys => {
    let k = dataKeys.get(store);
    if (!k) {
      k = createDataKeys(storeOf(store), enc!.keys);
      dataKeys.set(store, k);
    }
    return k;
  };
  const now = enc?.now ?? Date.now;
  const cache = new BoundedCache<string, { key: Buffer; until: number }>(MAX_CACHED_KEYS);
  const released = new BoundedCache<string, number>(MAX_CACHED_KEYS);
  /** Release records being written, by store and subject. */
  const releasing = new Map<string, Promise<void>>();
  /**
   * The subject's data key in `store`. `reason` undefined: the key only encrypts (nothing is
   * released); otherwise the release is logged first, once per subject per releaseEveryMs.
   */
  const dataKey = async (store: string, subject: string, dataset: string, create: boolean, reason: string | undefined): Promise<Buffer | KeyUnavailable> => {
    const id = `${store}\u0000${subject}`;
    const t = now();
    const hit = cache.get(id);
    let k: Buffer | KeyUnavailable;
    if (hit && t < hit.until) k = hit.key;
    else {
      k = (await keysOf(store).get([subject], create)).get(subject)!;
      if (!Buffer.isBuffer(k)) {
        cache.delete(id);
        return k;
      }
      cache.set(id, { key: k, until: t + (enc!.cacheMs ?? DEFAULT_KEY_CACHE_MS) });
    }
    if (reason !== undefined && enc!.onKeyRelease && (released.get(id) ?? -Infinity) + (enc!.releaseEveryMs ?? DEFAULT_KEY_RELEASE_EVERY_MS) <= t) {
      // Reads of one subject that arrive together wait on one release record, not one each (100
      // concurrent first reads wrote 39); if it cannot be logged, none of them gets the key.
      let logging = releasing.get(id);
      if (!logging) {
        logging = enc!.onKeyRelease(subject, dataset, reason).then(() => {
          released.set(id, t);
        });
        releasing.set(id, logging);
        void logging.then(
          () => releasing.delete(id),
          () => releasing.delete(id),
        );
      }
      await logging;
    }
    return k;
  };

  /** Encrypted fields left for later, by name: where each lies and its ciphertext. */
  type Sealed = Map<string, { store: string; ciphertext: string }>;

  /** Decrypts the ciphertext fields of a record read from `store`; undecryptable ones become null, with why. */
  const decryptPart = async (
    store: string,
    dataset: string,
    key: string,
    part: Row,
    subjectSource: Readonly<Record<string, unknown>>,
    reason: string,
    unreadable: Record<string, string>,
    want?: (field: string) => boolean,
    sealed?: Sealed,
  ): Promise<Row> => {
    // Rows are plain objects (a store's row, or a spread of one): for…in walks their own fields, without
    // the arrays Object.entries makes for each (this runs for every part of every record read).
    let out: Record<string, FieldValue> | undefined;
    // Fields not wanted now stay sealed: null here, their ciphertext kept for open().
    const fields: [string, FieldValue][] = [];
    for (const f in part) {
      const v = part[f]!;
      if (!isCiphertext(v)) continue;
      out ??= { ...part };
      if (!want || want(f)) fields.push([f, v]);
      else {
        out[f] = null;
        sealed!.set(f, { store, ciphertext: v });
      }
    }
    if (out === undefined) return part;
    if (fields.length === 0) return out;
    const subject = subjectIdOf(rules, dataset, subjectSource);
    if (!enc || subject === undefined) {
      for (const [f] of fields) {
        out[f] = null;
        unreadable[f] = enc
          ? 'the record names no subject, so its data key cannot be found'
          : 'the field is encrypted at rest and this process has no key service';
      }
      return out;
    }
    const k = await dataKey(store, subject, dataset, false, reason);
    for (const [f, v] of fields) {
      if (!Buffer.isBuffer(k)) {
        out[f] = null;
        unreadable[f] = k.message;
        continue;
      }
      try {
        out[f] = decryptField(k, dataset, key, f, v as string);
      } catch {
        out[f] = null;
        unreadable[f] = "the ciphertext does not authenticate under the subject's data key (tampered or moved)";
      }
    }
    return out;
  };

  /** Both parts of a record, and which stores hold a part; with `want`, other encrypted fields are left sealed. */
  /**
   * The enclave stores a read must look in, once the record's global part is known: the one enclave
   * of the jurisdiction its clear jurisdiction field names (none when that is the global store), or
   * every enclave when the global part cannot tell (no such field, a protected one, or no global part).
   */
  const enclavesToRead = (jurisdictionField: string | undefined, global: Row | undefined): readonly string[] => {
    const everyEnclave = rules.enclaveStores.filter((s) => s !== rules.globalStore);
    const country = jurisdictionField === undefined ? undefined : global?.[jurisdictionField];
    if (typeof country !== 'string' || isCiphertext(country)) return everyEnclave;
    const jurisdiction = rules.jurisdictionOfCountry(country);
    if (jurisdiction === undefined) return everyEnclave;
    let store: string;
    try {
      store = rules.enclaveStoreOf(jurisdiction);
    } catch (err) {
      // Another region's record (a regional gateway): that region reads it; no store here is read for it.
      if (err instanceof OtherRegionError) throw err;
      return everyEnclave;
    }
    return store === rules.globalStore ? [] : [store];
  };

  /**
   * A record's parts in every store that holds them, joined and decrypted. `targeted` (reads) reads
   * the global part first and then only the enclave its jurisdiction names (enclavesToRead); writes
   * read every store, so that a copy left in another enclave (a subject that moved, a move cut
   * short) is found and removed.
   */
  const readParts = async (
    dataset: string,
    key: string,
    reason: string = DEFAULT_RELEASE_REASON,
    want?: (field: string) => boolean,
    targeted = false,
    needed?: readonly string[],
  ): Promise<
    | {
        values: Record<string, FieldValue>;
        holders: string[];
        unreadable: Record<string, string>;
        sealed: Sealed;
        clear: Record<string, FieldValue>;
        deferred?: { store: string; fields: ReadonlySet<string> };
      }
    | undefined
  > => {
    const spec = specOf(dataset);
    let names = allStores;
    let parts: (Row | undefined)[];
    let deferred: { store: string; fields: ReadonlySet<string> } | undefined;
    if (targeted) {
      const global = await getPart(rules.globalStore, dataset, key);
      const enclaves = enclavesToRead(spec.jurisdictionField, global);
      // The enclave part is left unread while nothing asked for now needs it: every `needed` field is
      // in clear in the global part. Its fields are those null there; open() reads it if asked for one.
      if (needed && global && enclaves.length === 1 && needed.every((f) => global[f] !== null && global[f] !== undefined && !isCiphertext(global[f]))) {
        deferred = { store: enclaves[0]!, fields: new Set(spec.fields.filter((f) => global[f] === null || global[f] === undefined)) };
        names = [rules.globalStore];
        parts = [global];
      } else {
        names = [rules.globalStore, ...enclaves];
        parts = [global, ...(await Promise.all(names.slice(1).map((s) => getPart(s, dataset, key))))];
      }
    } else {
      parts = await Promise.all(allStores.map((s) => storeOf(s).get(dataset, key)));
    }
    if (parts.every((p) => p === undefined)) return undefined;
    const values: Record<string, FieldValue> = {};
    const holders: string[] = [];
    const unreadable: Record<string, string> = {};
    const sealed: Sealed = new Map();
    // Clear fields first: the subject field, which names the data key, is never encrypted.
    const clear: Record<string, FieldValue> = {};
    for (const part of parts) {
      if (!part) continue;
      for (const f in part) {
        const v = part[f]!;
        if (v !== null && !isCiphertext(v)) clear[f] = v;
      }
    }
    const decrypted = await Promise.all(
      parts.map((part, i) => (part ? decryptPart(names[i]!, dataset, key, part, clear, reason, unreadable, want, sealed) : undefined)),
    );
    // A field lives in one store and is null in the others: take the non-null copy.
    decrypted.forEach((part, i) => {
      if (!part) return;
      holders.push(names[i]!);
      for (const f in part) {
        const v = part[f]!;
        if (v !== null || !(f in values)) values[f] = v;
      }
    });
    return deferred ? { values, holders, unreadable, sealed, clear, deferred } : { values, holders, unreadable, sealed, clear };
  };

  const placed = (values: Record<string, FieldValue>, jurisdiction: string | undefined, unreadable: Record<string, string>): PlacedRecord =>
    Object.keys(unreadable).length > 0 ? { values, jurisdiction, unreadable } : { values, jurisdiction };

  const read = async (dataset: string, key: string, readOptions: ReadOptions = {}): Promise<PlacedRecord | undefined> => {
    const only = readOptions.decrypt;
    const spec = specOf(dataset);
    const jurisdictionField = spec.jurisdictionField;
    const want = only && ((f: string) => f === jurisdictionField || only.has(f));
    // With `decrypt`, the enclave part waits until open() needs it, if the global part holds in clear
    // the fields wanted now, the subject field (which names the data key) and the jurisdiction field
    // (with a single enclave, enclavesToRead names it even when the global part cannot tell).
    const needed = only && [...only, spec.subjectField, ...(jurisdictionField === undefined ? [] : [jurisdictionField])];
    const r = await readParts(dataset, key, readOptions.reason, want, true, needed);
    if (!r) return undefined;
    const jurisdiction = await jurisdictionOf(dataset, r.values);
    if (r.sealed.size === 0 && !r.deferred) return placed(r.values, jurisdiction, r.unreadable);
    const sealedNow = r.sealed;
    const deferred = r.deferred;
    const reason = readOptions.reason ?? DEFAULT_RELEASE_REASON;
    const open = async (fields: Iterable<string>): Promise<PlacedRecord> => {
      const values = { ...r.values };
      const unreadable = { ...r.unreadable };
      const byStore = new Map<string, Record<string, FieldValue>>();
      const toOpen = (store: string, f: string, ciphertext: string) => {
        let part = byStore.get(store);
        if (!part) {
          part = {};
          byStore.set(store, part);
        }
        part[f] = ciphertext;
      };
      const asked = [...fields];
      let clear = r.clear;
      if (deferred && asked.some((f) => deferred.fields.has(f))) {
        const part = await getPart(deferred.store, dataset, key);
        if (part) {
          clear = { ...clear };
          for (const f in part) {
            const v = part[f]!;
            if (v !== null && !isCiphertext(v) && !(f in clear)) clear[f] = v;
          }
          for (const f of asked) {
            const v = deferred.fields.has(f) ? part[f] : undefined;
            if (v === undefined || v === null) continue;
            if (isCiphertext(v)) toOpen(deferred.store, f, v);
            else values[f] = v;
          }
        }
      }
      for (const f of asked) {
        const s = sealedNow.get(f);
        if (s) toOpen(s.store, f, s.ciphertext);
      }
      for (const [store, part] of byStore) {
        const out = await decryptPart(store, dataset, key, part, clear, reason, unreadable);
        Object.assign(values, out);
      }
      return placed(values, jurisdiction, unreadable);
    };
    const sealed = new Set([...sealedNow.keys(), ...(deferred?.fields ?? [])]);
    return { ...placed(r.values, jurisdiction, r.unreadable), sealed, open };
  };

  /** Datasets whose subject's jurisdiction comes from `dataset` (videos and comments from users). */
  const dependents = (dataset: string) =>
    datasets.flatMap((name) => {
      const d = rules.dataset(name);
      return d && d.subjectDataset === dataset && d.jurisdictionField === undefined ? [{ name, subjectField: d.subjectField }] : [];
    });

  const jurisdictionOf = async (dataset: string, record: Readonly<Record<string, unknown>>): Promise<string | undefined> => {
    const d = specOf(dataset);
    if (d.jurisdictionField !== undefined) return rules.jurisdictionOfCountry(record[d.jurisdictionField]);
    if (d.subjectDataset === undefined) return undefined;
    const subjectKey = record[d.subjectField];
    if (subjectKey === undefined || subjectKey === null) return undefined;
    // Only the subject's jurisdiction is needed: none of its protected fields is decrypted.
    const subject = await read(d.subjectDataset, String(subjectKey), { decrypt: NOTHING });
    return subject?.jurisdiction;
  };

  /** Keys of `dataset` whose `field` equals `value`, in whichever store holds that field. */
  const keysWhere = async (dataset: string, field: string, value: string): Promise<string[]> => {
    const keys = new Set<string>();
    for (const s of allStores) {
      let after: string | undefined;
      do {
        const page = await storeOf(s).list(dataset, { limit: MAX_LIST_LIMIT, after, where: { [field]: value } });
        for (const r of page.rows) keys.add(r.key);
        after = page.next;
      } while (after !== undefined);
    }
    return [...keys];
  };

  const api: Placement = {
    async init() {
      for (const dataset of datasets) {
        const d = specOf(dataset);
        for (const s of allStores) await storeOf(s).ensureTable({ name: dataset, fields: d.fields });
      }
      if (enc) for (const s of allStores) await keysOf(s).ensure();
    },

    read,
    jurisdictionOf,

    async write(dataset, key, values, mode): Promise<WriteResult> {
      const d = specOf(dataset);
      const current = await readParts(dataset, key, 'merge of a write into the stored record');
      if (mode === 'create' && current) throw new PlacementError('store.duplicate_key', `${dataset}/${key} exists`);
      if (mode === 'update' && !current) throw new PlacementError('store.not_found', `${dataset}/${key} does not exist`);
      const previousJurisdiction = current && (await jurisdictionOf(dataset, current.values));
      const merged: Record<string, unknown> = { ...(current?.values ?? {}), ...values, [d.key]: key };
      const jurisdiction = await jurisdictionOf(dataset, merged);
      if (jurisdiction === undefined) {
        throw new PlacementError('store.unknown_jurisdiction', `the jurisdiction of ${dataset}/${key} cannot be told, so its fields cannot be placed`);
      }
      const enclaveStore = rules.enclaveStoreOf(jurisdiction);
      const protectedFields: string[] = [];
      const openFields: string[] = [];
      const enclave: Record<string, FieldValue> = {};
      const global: Record<string, FieldValue> = {};
      for (const f of d.fields) {
        const cls = rules.classOf(dataset, f, merged, jurisdiction);
        const isProtected = cls === undefined || cls === 'protected';
        if (f === d.key && isProtected && enclaveStore !== rules.globalStore) {
          throw new PlacementError(
            'store.protected_key',
            `the key field ${dataset}.${f} is protected in ${jurisdiction}; a protected record key would reach the global store`,
          );
        }
        const v = (merged[f] ?? null) as FieldValue;
        (isProtected ? protectedFields : openFields).push(f);
        enclave[f] = isProtected ? v : null;
        global[f] = isProtected ? null : v;
      }
      const all: Record<string, FieldValue> = {};
      for (const f of d.fields) all[f] = (merged[f] ?? null) as FieldValue;
      if (enc) {
        // Protected values are stored as ciphertext under the subject's data key (the subject field stays clear: it names the key).
        const subject = subjectIdOf(rules, dataset, merged);
        const toEncrypt = protectedFields.filter((f) => f !== d.subjectField && enclave[f] !== null);
        if (subject !== undefined && toEncrypt.length > 0) {
          const k = await dataKey(enclaveStore, subject, dataset, true, undefined);
          if (!Buffer.isBuffer(k)) throw new Error(`placement: no data key for a subject of ${dataset}: ${k.message}`);
          for (const f of toEncrypt) enclave[f] = encryptField(k, dataset, key, f, enclave[f]!);
        }
      }
      if (enclaveStore === rules.globalStore) {
        // One store holds the whole record.
        await storeOf(enclaveStore).upsert(dataset, key, enc ? { ...global, ...Object.fromEntries(protectedFields.map((f) => [f, enclave[f]!])) } : all);
      } else {
        // The enclave part first: if the global write then fails, nothing protected is in the global
        // store, and the record's new protected values are not lost.
        await storeOf(enclaveStore).upsert(dataset, key, enclave);
        await storeOf(rules.globalStore).upsert(dataset, key, global);
      }
      // A record whose subject changed jurisdiction leaves no copy in its old enclave.
      for (const s of current?.holders ?? []) {
        if (s !== enclaveStore && s !== rules.globalStore) await storeOf(s).delete(dataset, key);
      }
      // And the records whose jurisdiction comes from this one (a user's videos) move with it.
      if (current && previousJurisdiction !== jurisdiction) {
        for (const dep of dependents(dataset)) {
          for (const k of await keysWhere(dep.name, dep.subjectField, key)) await api.write(dep.name, k, {}, 'update');
        }
      }
      await storeOf(rules.globalStore).append(changeLog(dataset), { key, op: 'write', ...regionOfChange });
      return { jurisdiction, values: all, enclave: protectedFields, global: openFields };
    },

    async changes(dataset, after, limit) {
      specOf(dataset);
      const entries = await storeOf(rules.globalStore).readLog(changeLog(dataset), after, limit);
      return entries.map((e) => {
        const c = e.entry as { key: string; op: 'write' | 'delete'; region?: string };
        return typeof c.region === 'string' ? { index: e.index, key: c.key, op: c.op, region: c.region } : { index: e.index, key: c.key, op: c.op };
      });
    },

    async remove(dataset, key) {
      specOf(dataset);
      const results = await Promise.all(allStores.map((s) => storeOf(s).delete(dataset, key)));
      const removed = results.some(Boolean);
      if (removed) await storeOf(rules.globalStore).append(changeLog(dataset), { key, op: 'delete', ...regionOfChange });
      return removed;
    },
  };
  return api;
}
