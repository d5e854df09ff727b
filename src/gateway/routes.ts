// The data API (PRODUCT.md §6) as a Fastify plugin: decide -> fetch -> disclose -> record ->
// respond. Reads release only what the decision allows, each withheld field listed with its reason;
// writes are checked field by field (action `write`) and a refused write changes no store; every
// decision is recorded before the response is sent, and if it cannot be, nothing is released.

import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Decider, Decision, GrantInfo, Policy, Principal } from '../policy/index.js';
import { PlacementError, subjectHash, type KeyService, type Placement, type Row, type Store } from '../store/index.js';
import { CordonError } from '../shared/errors.js';
import { HttpProblem, PROBLEM_CONTENT_TYPE } from '../shared/problem.js';
import { disclose } from './disclose.js';
import { createRecordKeys, type KeyIn } from './record-keys.js';
import { accessRecord, type AccessRecorder, type AccessRecordV1 } from './recorder.js';

export const LOG_INDEX_HEADER = 'X-Cordon-Log-Index';
export const DEFAULT_PAGE_SIZE = 50;
export const MAX_PAGE_SIZE = 500;

/** Who asks and from where; `audience` keys their tokens. */
export interface Caller {
  readonly principal: Principal;
  readonly country: string;
  readonly site: string;
  readonly audience: string;
  /** False when the network does not place the request, or the token's place disagrees. */
  readonly knownPlace: boolean;
}

export interface GatewayOptions {
  readonly policy: Policy;
  readonly decider: Decider;
  readonly placement: Placement;
  /** The global store, for lists (filters run on fields that live there). */
  readonly globalStore: Store;
  readonly keys: KeyService;
  readonly recorder: AccessRecorder;
  /** Identifies the caller; throws HttpProblem (401/403) when it cannot. */
  identify(request: FastifyRequest): Promise<Caller>;
  /** The caller's active grants (the access broker's, later). */
  grantsOf?(principal: string): readonly GrantInfo[];
  /** Called with every decision made (for metrics). */
  onDecision?(decision: Decision): void;
  now?(): number;
}

type Json = Record<string, unknown>;

function isScalar(v: unknown): v is string | number | boolean | null {
  return v === null || typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v));
}

/** Sends problems as application/problem+json; maps Fastify's own errors; never echoes unknown ones. */
export function problemHandler(error: FastifyError | Error, request: FastifyRequest, reply: FastifyReply): void {
  let problem: HttpProblem;
  if (error instanceof HttpProblem) problem = error;
  else if (error instanceof PlacementError || error instanceof CordonError) problem = new HttpProblem(error.code, error.message);
  else if ((error as FastifyError).code === 'FST_ERR_CTP_BODY_TOO_LARGE') problem = new HttpProblem('gateway.payload_too_large', 'the request body is over the limit');
  else if ((error as FastifyError).statusCode === 400 || (error as FastifyError).code?.startsWith('FST_ERR_CTP')) {
    problem = new HttpProblem('gateway.invalid_body', 'the request body is not valid JSON');
  } else {
    request.log.error({ err: error }, 'unexpected error');
    problem = new HttpProblem('internal.error', 'an unexpected error; it was logged');
  }
  void reply.status(problem.status).type(PROBLEM_CONTENT_TYPE).send(problem.body());
}

export async function gatewayRoutes(app: FastifyInstance, options: GatewayOptions): Promise<void> {
  const { policy, decider, placement, keys, recorder } = options;
  const now = options.now ?? Date.now;
  app.setErrorHandler(problemHandler);
  // Keys in and out as the caller may see the key field (W6): clear, or the caller's token.
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

  const record = async (decision: Decision, action: AccessRecordV1['action'], caller: Caller, subject: string | undefined, outcome: AccessRecordV1['outcome']): Promise<number> => {
    options.onDecision?.(decision);
    try {
      // The grants are looked up again only when one released a field (the record names its expiry).
      const granted = decision.fields.some((f) => f.grant !== undefined);
      const context = { grants: granted ? options.grantsOf?.(caller.principal.id) ?? [] : [], enclaveCountries };
      return (await recorder.record(accessRecord(decision, action, caller, subjectHash(keys, decision.dataset, subject), outcome, new Date(now()), context))).index;
    } catch (err) {
      app.log.error({ err }, 'access recorder failed');
      throw new HttpProblem('log.unavailable', 'the decision could not be recorded, so nothing was released');
    }
  };

  const context = (caller: Caller, subjectJurisdiction: string | undefined) => ({
    country: caller.country,
    site: caller.site,
    grants: options.grantsOf?.(caller.principal.id) ?? [],
    now: now(),
    subjectJurisdiction,
  });

  // What a decision reads of a record besides field names: the jurisdiction field and the fields
  // that row conditions test. Only these are decrypted before deciding.
  const decisionInputs = new Map<string, ReadonlySet<string>>();
  const inputsOf = (dataset: string): ReadonlySet<string> => {
    let inputs = decisionInputs.get(dataset);
    if (!inputs) {
      const d = datasetOf(dataset);
      inputs = new Set([...(d.jurisdictionField === undefined ? [] : [d.jurisdictionField]), ...[...d.fields.values()].flatMap((f) => f.conditions.map((c) => c.field))]);
      decisionInputs.set(dataset, inputs);
    }
    return inputs;
  };

  /**
   * Decide, then decrypt: a protected field is decrypted (and its subject's data key released) only
   * when the decision discloses it in some form; withheld fields are never decrypted. A key sent in
   * clear (`clearKey`) finds nothing unless the decision shows the key field in clear.
   */
  const readOne = async (caller: Caller, dataset: string, key: string, clearKey = false) => {
    const found = await placement.read(dataset, key, { decrypt: inputsOf(dataset) });
    if (!found) return undefined;
    const decision = decider.decide({ principal: caller.principal, action: 'read', dataset, record: found.values, context: context(caller, found.jurisdiction) });
    if (clearKey && !recordKeys.shown(dataset, decision)) return undefined;
    const sealed = found.sealed;
    const disclosed = sealed ? decision.fields.filter((f) => f.disclosure !== 'withheld' && sealed.has(f.field)).map((f) => f.field) : [];
    const opened = disclosed.length > 0 && found.open ? await found.open(disclosed) : found;
    const out = disclose(decision, opened.values, { keys, audience: caller.audience, unreadable: opened.unreadable });
    const released = Object.keys(out.fields).length > 0;
    return { decision, out, released, subject: decision.subject };
  };

  app.get<{ Params: { dataset: string; key: string } }>('/v1/data/:dataset/:key', async (req, reply) => {
    const caller = await options.identify(req);
    datasetOf(req.params.dataset);
    const k = recordKeys.in(caller, req.params.dataset, req.params.key);
    const r = k && (await readOne(caller, req.params.dataset, k.key, k.clear));
    if (!k || !r) throw new HttpProblem('gateway.not_found', `no ${req.params.dataset} record has this key`);
    if (!caller.knownPlace && r.decision.fields.some((f) => f.class === 'protected' || f.class === undefined)) {
      await record(r.decision, 'read', caller, r.subject, 'refused');
      throw new HttpProblem('gateway.unknown_location', 'the request comes from a place the network map does not know (or the token names another place); protected data is not released to it', {
        withheld: r.out.withheld.map((w) => ({ field: w.field, reason: w.reason })),
      });
    }
    const index = await record(r.decision, 'read', caller, r.subject, r.released ? 'released' : 'refused');
    void reply.header(LOG_INDEX_HEADER, String(index));
    return { key: recordKeys.out(caller, req.params.dataset, k.key, r.decision), jurisdiction: r.decision.jurisdiction, ...r.out };
  });

  app.get<{ Params: { dataset: string }; Querystring: Record<string, string> }>('/v1/data/:dataset', async (req, reply) => {
    const caller = await options.identify(req);
    const d = datasetOf(req.params.dataset);
    const q = req.query;
    const limit = q['limit'] === undefined ? DEFAULT_PAGE_SIZE : Number(q['limit']);
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE_SIZE) throw new HttpProblem('gateway.invalid_query', `limit must be an integer from 1 to ${MAX_PAGE_SIZE}`);
    const where: Record<string, string> = {};
    for (const [k, v] of Object.entries(q)) {
      if (k === 'limit' || k === 'after') continue;
      if (!k.startsWith('filter.')) throw new HttpProblem('gateway.invalid_query', `unknown query parameter ${JSON.stringify(k)}; filters are filter.<field>=<value>`);
      const field = k.slice('filter.'.length);
      if (!d.fields.has(field)) throw new HttpProblem('gateway.invalid_query', `${d.name} has no field ${JSON.stringify(field)}`);
      if (!filterable(field)) throw new HttpProblem('gateway.filter_refused', `${d.name}.${field} cannot be a filter for ${caller.principal.id}`);
      where[field] = v;
    }
    function filterable(field: string): boolean {
      const f = d.fields.get(field)!;
      const categories = [f.category, ...f.conditions.map((c) => c.category)];
      for (const j of policy.deployment.jurisdictions.keys()) {
        for (const category of categories) {
          const fd = decider.decideField({ principal: caller.principal, action: 'read', dataset: d.name, field, category, jurisdiction: j, context: { country: caller.country, site: caller.site, now: now() } });
          if (fd.disclosure !== 'clear' || fd.class === 'protected') return false;
        }
      }
      return true;
    }
    const after = q['after'] === undefined ? undefined : recordKeys.cursor(caller, d.name, q['after']);
    if (q['after'] !== undefined && after === undefined) throw new HttpProblem('gateway.invalid_query', 'after must be the next cursor of an earlier page');
    const page = await options.globalStore.list(d.name, { limit, after, where });
    const items: Json[] = [];
    let last: number | undefined;
    for (const row of page.rows) {
      const r = await readOne(caller, d.name, row.key);
      if (!r) continue;
      last = await record(r.decision, 'read', caller, r.subject, r.released ? 'released' : 'refused');
      items.push({ key: recordKeys.out(caller, d.name, row.key, r.decision), jurisdiction: r.decision.jurisdiction, ...r.out });
    }
    if (last !== undefined) void reply.header(LOG_INDEX_HEADER, String(last));
    return { items, next: page.next === undefined ? null : recordKeys.out(caller, d.name, page.next) };
  });

  /**
   * The record a write names, read whole as before; undefined when there is none, or when the key
   * was sent in clear by a caller who may not see it in clear (checked before anything is decrypted).
   */
  const currentOf = async (caller: Caller, dataset: string, k: KeyIn | undefined) => {
    if (!k) return undefined;
    if (k.clear) {
      const found = await placement.read(dataset, k.key, { decrypt: inputsOf(dataset) });
      if (!found || !recordKeys.shownIn(caller, dataset, found)) return undefined;
    }
    return placement.read(dataset, k.key);
  };

  const checkBody = (body: unknown): Row => {
    if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new HttpProblem('gateway.invalid_body', 'the body must be a JSON object of field values');
    for (const [k, v] of Object.entries(body)) {
      if (!isScalar(v)) throw new HttpProblem('gateway.invalid_body', `field ${JSON.stringify(k)} must be a string, number, boolean or null`);
    }
    return body as Row;
  };

  /** Decides a write of `values` (merged into `current`); throws 403 listing refused fields. */
  const decideWrite = async (caller: Caller, dataset: string, values: Row, current: Row | undefined, subjectKey: string) => {
    const merged = { ...(current ?? {}), ...values };
    const jurisdiction = await placement.jurisdictionOf(dataset, merged);
    const decision = decider.decide({ principal: caller.principal, action: 'write', dataset, record: merged, fields: Object.keys(values), context: context(caller, jurisdiction) });
    const refused = decision.fields.filter((f) => f.disclosure !== 'clear');
    if (refused.length > 0) {
      await record(decision, 'write', caller, subjectKey, 'refused');
      throw new HttpProblem('gateway.write_refused', `the rules do not permit ${caller.principal.id} to write ${refused.map((f) => f.field).join(', ')}`, {
        fields: refused.map((f) => ({ field: f.field, reason: f.reason, rules: f.rules })),
      });
    }
    return decision;
  };

  app.post<{ Params: { dataset: string } }>('/v1/data/:dataset', async (req, reply) => {
    const caller = await options.identify(req);
    const d = datasetOf(req.params.dataset);
    const values = checkBody(req.body);
    const key = values[d.key];
    if (typeof key !== 'string' || key.length === 0) throw new HttpProblem('gateway.invalid_body', `the body must give the key field ${d.key} as a non-empty string`);
    const decision = await decideWrite(caller, d.name, values, undefined, key);
    // The decision is durable before the store changes.
    const index = await record(decision, 'write', caller, decision.subject ?? key, 'released');
    await placement.write(d.name, key, values, 'create');
    void reply.header(LOG_INDEX_HEADER, String(index)).status(201);
    return { key: recordKeys.out(caller, d.name, key, recordKeys.shownIn(caller, d.name, { values, jurisdiction: decision.jurisdiction })), written: Object.keys(values) };
  });

  app.patch<{ Params: { dataset: string; key: string } }>('/v1/data/:dataset/:key', async (req, reply) => {
    const caller = await options.identify(req);
    const d = datasetOf(req.params.dataset);
    const values = checkBody(req.body);
    const k = recordKeys.in(caller, d.name, req.params.key);
    // Addressed by token, the body may not name the key field at all: comparing would confirm a guess.
    if (d.key in values && (!k?.clear || values[d.key] !== k.key)) throw new HttpProblem('gateway.invalid_body', `the key field ${d.key} cannot change`);
    const current = await currentOf(caller, d.name, k);
    if (!k || !current) throw new HttpProblem('gateway.not_found', `no ${d.name} record has this key`);
    const decision = await decideWrite(caller, d.name, values, current.values, k.key);
    const index = await record(decision, 'write', caller, decision.subject ?? k.key, 'released');
    await placement.write(d.name, k.key, values, 'update');
    void reply.header(LOG_INDEX_HEADER, String(index));
    return { key: req.params.key, written: Object.keys(values) };
  });

  app.delete<{ Params: { dataset: string; key: string } }>('/v1/data/:dataset/:key', async (req, reply) => {
    const caller = await options.identify(req);
    const d = datasetOf(req.params.dataset);
    const k = recordKeys.in(caller, d.name, req.params.key);
    const current = await currentOf(caller, d.name, k);
    if (!k || !current) throw new HttpProblem('gateway.not_found', `no ${d.name} record has this key`);
    // Deleting a record is writing every field of it.
    const decision = await decideWrite(caller, d.name, current.values, current.values, k.key);
    const index = await record(decision, 'delete', caller, decision.subject ?? k.key, 'released');
    await placement.remove(d.name, k.key);
    void reply.header(LOG_INDEX_HEADER, String(index)).status(204);
    return null;
  });

  app.get<{ Params: { dataset: string }; Querystring: Record<string, string> }>('/v1/egress/:dataset', async (req, reply) => {
    const caller = await options.identify(req);
    const d = datasetOf(req.params.dataset);
    const after = req.query['after'] === undefined ? 0 : Number(req.query['after']);
    const limit = req.query['limit'] === undefined ? DEFAULT_PAGE_SIZE : Number(req.query['limit']);
    if (!Number.isInteger(after) || after < 0) throw new HttpProblem('gateway.invalid_query', 'after must be a change index (a whole number)');
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE_SIZE) throw new HttpProblem('gateway.invalid_query', `limit must be an integer from 1 to ${MAX_PAGE_SIZE}`);
    const unknown = Object.keys(req.query).filter((k) => k !== 'after' && k !== 'limit');
    if (unknown.length > 0) throw new HttpProblem('gateway.invalid_query', `unknown query parameter ${JSON.stringify(unknown[0])}`);
    const changes = await placement.changes(d.name, after, limit);
    const items: Json[] = [];
    let last: number | undefined;
    for (const c of changes) {
      const r = c.op === 'delete' ? undefined : await readOne(caller, d.name, c.key);
      if (!r) {
        items.push({ seq: c.index, key: recordKeys.out(caller, d.name, c.key), deleted: true });
        continue;
      }
      last = await record(r.decision, 'read', caller, r.subject, r.released ? 'released' : 'refused');
      items.push({ seq: c.index, key: recordKeys.out(caller, d.name, c.key, r.decision), jurisdiction: r.decision.jurisdiction, ...r.out });
    }
    if (last !== undefined) void reply.header(LOG_INDEX_HEADER, String(last));
    return { items, next: changes.length > 0 ? changes[changes.length - 1]!.index : after };
  });

  app.post<{ Body: unknown }>('/v1/decide', async (req, reply) => {
    const caller = await options.identify(req);
    const body = req.body as { dataset?: unknown; record?: unknown; action?: unknown; subjectJurisdiction?: unknown } | null;
    if (typeof body !== 'object' || body === null) throw new HttpProblem('gateway.invalid_body', 'the body must be {dataset, record, action?, subjectJurisdiction?}');
    if (typeof body.dataset !== 'string') throw new HttpProblem('gateway.invalid_body', 'dataset must be a string');
    const d = datasetOf(body.dataset);
    const values = checkBody(body.record);
    const action = body.action ?? 'read';
    if (action !== 'read' && action !== 'write') throw new HttpProblem('gateway.invalid_body', 'action must be read or write');
    if (body.subjectJurisdiction !== undefined && typeof body.subjectJurisdiction !== 'string') throw new HttpProblem('gateway.invalid_body', 'subjectJurisdiction must be a string');
    const decision = decider.decide({ principal: caller.principal, action, dataset: d.name, record: values, context: context(caller, body.subjectJurisdiction as string | undefined) });
    const index = await record(decision, 'decide', caller, decision.subject, 'released');
    void reply.header(LOG_INDEX_HEADER, String(index));
    return {
      dataset: decision.dataset,
      jurisdiction: decision.jurisdiction ?? null,
      policyVersion: decision.policyVersion,
      fields: decision.fields.map((f) => ({ field: f.field, disclosure: f.disclosure, category: f.category ?? null, class: f.class ?? null, reason: f.reason, rules: f.rules, mask: f.mask ?? null })),
    };
  });
}
