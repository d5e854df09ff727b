// The read path every gateway shares (the HTTP data API and the PostgreSQL wire gateway): decide,
// then decrypt only what the decision discloses, disclose, and record the decision before anything
// is sent. One path, so a persona gets the same cells for the same record whichever door it uses.

import type { Dataset, Decider, Decision, GrantInfo, Policy, RequestContext } from '../policy/index.js';
import { fieldCategories } from '../policy/index.js';
import { subjectHash, type FieldValue, type KeyService, type Placement, type Store } from '../store/index.js';
import { HttpProblem } from '../shared/problem.js';
import type { Caller } from './caller.js';
import { disclose, type DisclosedRecordV1 } from './disclose.js';
import { createRecordKeys, type RecordKeys } from './record-keys.js';
import { accessRecord, type AccessRecorder, type AccessRecordV2, type WriteEffect } from './recorder.js';

/** A JSON number (RFC 8259 §6), as a number filter's value is written. */
const NUMBER = /^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?$/;

export interface GatewayReaderOptions {
  readonly policy: Policy;
  readonly decider: Decider;
  readonly placement: Placement;
  /** The global store, for lists (filters run on fields that live there). */
  readonly globalStore: Store;
  readonly keys: KeyService;
  readonly recorder: AccessRecorder;
  /** The caller's active grants, from the access broker (none when absent). */
  grantsOf?(principal: string): readonly GrantInfo[];
  /** Called with every decision made (for metrics). */
  onDecision?(decision: Decision): void;
  /** Told when the recorder fails (the operational log); the caller gets log.unavailable. */
  onRecordError?(err: unknown): void;
  now?(): number;
}

/** One record read for a caller: its decision, what it discloses, and whether anything was released. */
export interface ReadOne {
  readonly decision: Decision;
  readonly out: DisclosedRecordV1;
  readonly released: boolean;
  readonly subject: string | undefined;
}

export interface ReadOneOptions {
  /** The key was sent in clear: the record is found only if the decision shows its key field in clear (no oracle). */
  readonly clearKey?: boolean;
  /**
   * Decide and disclose only these fields (a SQL projection); by default every field of the record.
   * With `clearKey`, MUST include the dataset's key field.
   */
  readonly fields?: readonly string[];
}

export interface GatewayReader {
  readonly policy: Policy;
  /** Where lists run (their filters are on fields that live there). */
  readonly globalStore: Store;
  readonly recordKeys: RecordKeys;
  /** The dataset, or HttpProblem decide.unknown_dataset. */
  datasetOf(name: string): Dataset;
  enclaveCountries(jurisdiction: string): readonly string[];
  context(
    caller: Caller,
    subjectJurisdiction: string | undefined,
    forSubject?: boolean,
  ): {
    country: string;
    site: string;
    grants: readonly GrantInfo[];
    now: number;
    subjectJurisdiction: string | undefined;
    forSubject: boolean;
  };
  /** What a decision reads of a record besides field names: the jurisdiction field and the fields row conditions test. */
  inputsOf(dataset: string): ReadonlySet<string>;
  /**
   * Records `decision` in the access log and resolves with its index once durable. Throws
   * HttpProblem log.unavailable when it cannot: the caller MUST then send nothing of the decision.
   */
  record(
    decision: Decision,
    action: AccessRecordV2['action'],
    caller: Caller,
    subject: string | undefined,
    outcome: AccessRecordV2['outcome'],
    extra?: { effects?: readonly WriteEffect[]; follows?: number },
  ): Promise<number>;
  /** Decides, then decrypts what the decision discloses, then discloses. Records nothing: the caller records before it sends. */
  readOne(caller: Caller, dataset: string, key: string, options?: ReadOneOptions): Promise<ReadOne | undefined>;
  /** Whether `caller` may filter `dataset` on `field`: only where it sees that field in clear, and unprotected, in every jurisdiction (no oracle, W1). */
  filterable(caller: Caller, dataset: Dataset, field: string): boolean;
  /**
   * Whether every cell of `field` that `caller` can get is the stored value or nothing (never a token
   * or a mask), in every jurisdiction and category: then a cell is a value of the field's declared type.
   */
  untransformed(caller: Caller, dataset: Dataset, field: string): boolean;
  /** A filter's value as the field's declared type; HttpProblem gateway.invalid_query when it is not of that type (W7). */
  filterValue(d: Dataset, field: string, param: string, v: string): FieldValue;
  /** Whether a read decided from an unknown place must be refused: it would disclose protected or unclassified fields. */
  refusedForPlace(caller: Caller, decision: Decision): boolean;
}

export function createGatewayReader(options: GatewayReaderOptions): GatewayReader {
  const { policy, decider, placement, keys, recorder } = options;
  const now = options.now ?? Date.now;
  const recordKeys = createRecordKeys({ policy, decider, keys, grantsOf: options.grantsOf, now });

  const datasetOf = (name: string) => {
    const d = policy.datasets.get(name);
    if (!d) throw new HttpProblem('decide.unknown_dataset', `unknown dataset ${JSON.stringify(name)}`);
    return d;
  };

  const enclaveCountries = (jurisdiction: string): readonly string[] => {
    const enclave = policy.deployment.jurisdictions.get(jurisdiction)?.enclave;
    return (enclave !== undefined && policy.deployment.enclaves.get(enclave)?.allowedCountries) || [];
  };

  const record: GatewayReader['record'] = async (decision, action, caller, subject, outcome, extra = {}) => {
    options.onDecision?.(decision);
    try {
      // The grants are looked up again only when one released a field (the record names its expiry).
      const granted = decision.fields.some((f) => f.grant !== undefined);
      const context = { grants: granted ? (options.grantsOf?.(caller.principal.id) ?? []) : [], enclaveCountries };
      const r = accessRecord(decision, action, caller, subjectHash(keys, decision.dataset, subject), outcome, new Date(now()), context);
      const effects = extra.effects !== undefined && extra.effects.length > 0 ? { effects: extra.effects } : {};
      const follows = extra.follows === undefined ? {} : { follows: extra.follows };
      return (await recorder.record({ ...r, ...effects, ...follows })).index;
    } catch (err) {
      options.onRecordError?.(err);
      throw new HttpProblem('log.unavailable', 'the decision could not be recorded, so nothing was released');
    }
  };

  const context: GatewayReader['context'] = (caller, subjectJurisdiction, forSubject = false) => ({
    country: caller.country,
    site: caller.site,
    grants: options.grantsOf?.(caller.principal.id) ?? [],
    now: now(),
    subjectJurisdiction,
    forSubject,
  });

  // Only these are decrypted before deciding.
  const decisionInputs = new Map<string, ReadonlySet<string>>();
  const inputsOf = (dataset: string): ReadonlySet<string> => {
    let inputs = decisionInputs.get(dataset);
    if (!inputs) {
      const d = datasetOf(dataset);
      inputs = new Set([
        ...(d.jurisdictionField === undefined ? [] : [d.jurisdictionField]),
        ...[...d.fields.values()].flatMap((f) => f.conditions.map((c) => c.field)),
      ]);
      decisionInputs.set(dataset, inputs);
    }
    return inputs;
  };

  /**
   * Decide, then decrypt: a protected field is decrypted (and its subject's data key released) only
   * when the decision discloses it in some form; withheld fields are never decrypted. A key sent in
   * clear (`clearKey`) finds nothing unless the decision shows the key field in clear.
   */
  const readOne: GatewayReader['readOne'] = async (caller, dataset, key, opts = {}) => {
    const found = await placement.read(dataset, key, { decrypt: inputsOf(dataset) });
    if (!found) return undefined;
    const decision = decider.decide({
      principal: caller.principal,
      action: 'read',
      dataset,
      record: found.values,
      context: context(caller, found.jurisdiction),
      ...(opts.fields === undefined ? {} : { fields: opts.fields }),
    });
    if (opts.clearKey && !recordKeys.shown(dataset, decision)) return undefined;
    const sealed = found.sealed;
    const disclosed = sealed ? decision.fields.filter((f) => f.disclosure !== 'withheld' && sealed.has(f.field)).map((f) => f.field) : [];
    const opened = disclosed.length > 0 && found.open ? await found.open(disclosed) : found;
    const values = opts.fields === undefined ? opened.values : pick(opened.values, opts.fields);
    const out = disclose(decision, values, { keys, audience: caller.audience, unreadable: opened.unreadable, region: policy.deployment.region });
    const released = Object.keys(out.fields).length > 0;
    return { decision, out, released, subject: decision.subject };
  };

  /** Whether `ok` holds for the caller's decision on `field` in every jurisdiction and for every category the field may have. */
  const everyCase = (caller: Caller, d: Dataset, field: string, context: RequestContext, ok: (fd: ReturnType<Decider['decideField']>) => boolean): boolean => {
    const f = d.fields.get(field);
    if (!f) return false;
    for (const jurisdiction of policy.deployment.jurisdictions.keys())
      for (const category of fieldCategories(f))
        if (!ok(decider.decideField({ principal: caller.principal, action: 'read', dataset: d.name, field, category, jurisdiction, context }))) return false;
    return true;
  };

  // As the list's filter rule has it: decided without the caller's grants.
  const filterable: GatewayReader['filterable'] = (caller, d, field) =>
    everyCase(caller, d, field, { country: caller.country, site: caller.site, now: now() }, (fd) => fd.disclosure === 'clear' && fd.class !== 'protected');

  const untransformed: GatewayReader['untransformed'] = (caller, d, field) => {
    const ctx = context(caller, undefined);
    return everyCase(
      caller,
      d,
      field,
      { country: ctx.country, site: ctx.site, now: ctx.now, grants: ctx.grants },
      (fd) => fd.disclosure === 'clear' || fd.disclosure === 'withheld',
    );
  };

  const filterValue: GatewayReader['filterValue'] = (d, field, param, v) => {
    const type = d.fields.get(field)!.type;
    if (type === 'number') {
      if (!NUMBER.test(v) || !Number.isFinite(Number(v)))
        throw new HttpProblem('gateway.invalid_query', `${param} must be a number (${d.name}.${field} is declared type number), such as 3 or -1.5`);
      return Number(v);
    }
    if (type === 'boolean') {
      if (v !== 'true' && v !== 'false')
        throw new HttpProblem('gateway.invalid_query', `${param} must be true or false (${d.name}.${field} is declared type boolean)`);
      return v === 'true';
    }
    return v;
  };

  const refusedForPlace = (caller: Caller, decision: Decision): boolean =>
    !caller.knownPlace && decision.fields.some((f) => f.class === 'protected' || f.class === undefined);

  return {
    policy,
    globalStore: options.globalStore,
    recordKeys,
    datasetOf,
    enclaveCountries,
    context,
    inputsOf,
    record,
    readOne,
    filterable,
    untransformed,
    filterValue,
    refusedForPlace,
  };
}

/** The values of `fields` that the record holds (a field it lacks stays absent, as in a whole read). */
function pick(values: Readonly<Record<string, unknown>>, fields: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of fields) if (Object.hasOwn(values, f)) out[f] = values[f];
  return out;
}
