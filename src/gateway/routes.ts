// The data API (PRODUCT.md §6) as a Fastify plugin: decide -> fetch -> disclose -> record ->
// respond. Reads release only what the decision allows, each withheld field listed with its reason;
// writes are checked field by field (action `write`) and a refused write changes no store; every
// decision is recorded before the response is sent, and if it cannot be, nothing is released.

import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Dataset, Decision, FieldDecision } from '../policy/index.js';
import { createPlacementRules, fieldCategories, regionOfJurisdiction } from '../policy/index.js';
import { subjectHash, type FieldValue, type PlacedRecord, type Row } from '../store/index.js';
import { HttpProblem } from '../shared/problem.js';
import { OtherRegionError } from '../shared/errors.js';
import { ensureSchemas } from '../shared/api-schema.js';
import type { Caller } from './caller.js';
import { problemHandler } from './problem-handler.js';
import { releasedInClear, TOKEN_PREFIX } from './disclose.js';
import type { KeyIn } from './record-keys.js';
import type { AccessRecordV2, WriteEffect } from './recorder.js';
import { createGatewayReader, type GatewayReader, type GatewayReaderOptions, type ReadOne as ReaderReadOne } from './reader.js';
import { DISCLOSED_RECORD_SCHEMA, GATEWAY_SCHEMAS as S } from './schemas.js';

export const LOG_INDEX_HEADER = 'X-Cordon-Log-Index';
/** A caller that acts for a data subject (the platform's backend for a user) names the subject here. */
export const ON_BEHALF_HEADER = 'X-Cordon-On-Behalf-Of';
const NOTHING: ReadonlySet<string> = new Set();
export const DEFAULT_PAGE_SIZE = 50;
export const MAX_PAGE_SIZE = 500;

/** What the read path needs (reader.ts), and who is asking. */
export interface GatewayOptions extends Omit<GatewayReaderOptions, 'onRecordError'> {
  /** Identifies the caller; throws HttpProblem (401/403) when it cannot. */
  identify(request: FastifyRequest): Promise<Caller>;
  /** The shared read path, when the server made one (the wire gateway reads through it too); made here otherwise. */
  readonly reader?: GatewayReader;
}

type Json = Record<string, unknown>;

export async function gatewayRoutes(app: FastifyInstance, options: GatewayOptions): Promise<void> {
  const { policy, decider, placement, keys } = options;
  app.setErrorHandler(problemHandler);
  ensureSchemas(app, DISCLOSED_RECORD_SCHEMA);
  // The read path (decide, decrypt what is disclosed, disclose, record) is shared with the wire gateway.
  const reader =
    options.reader ??
    createGatewayReader({
      ...options,
      onRecordError: (err) => app.log.error({ err }, 'access recorder failed'),
    });
  const { datasetOf, record, context, inputsOf, readOne, filterValue } = reader;
  // Keys in and out as the caller may see the key field (W6): clear, or the caller's token.
  const recordKeys = reader.recordKeys;
  type ReadOne = ReaderReadOne;

  // Reads are decided, released and logged; HEAD would log a release of what it does not send (W5).
  // So the data API's and the egress feed's GET routes take no HEAD: it is 405 with Allow, decided
  // on the request line alone, before anything is read, decided or logged.
  const GET_ONLY = { exposeHeadRoute: false } as const;

  /**
   * A page's read on a regional gateway (cordon up --region): a record of another region is not read
   * here (placement refused before touching any of its stores) and is counted under its region
   * instead of listed; that region's gateway lists it. Anything else fails the page as before.
   */
  const here = async <T>(elsewhere: Map<string, number>, reading: Promise<T>): Promise<T | undefined> => {
    try {
      return await reading;
    } catch (err) {
      if (!(err instanceof OtherRegionError)) throw err;
      elsewhere.set(err.region, (elsewhere.get(err.region) ?? 0) + 1);
      return undefined;
    }
  };

  /**
   * A read of the record `k` names that placement found to be another region's (OtherRegionError): a
   * redirect only where that region can answer the caller. A key sent in clear by a caller who does
   * not see that jurisdiction's keys in clear is a key no record has (no oracle, W1/W6: as on one
   * gateway); this gateway's own token (a list cursor of another region's key) opens at no other
   * region, so it is not found here either (a redirect would come straight back).
   */
  const orAway = async <T>(caller: Caller, dataset: string, k: KeyIn, reading: Promise<T>): Promise<T | undefined> => {
    try {
      return await reading;
    } catch (err) {
      if (!(err instanceof OtherRegionError)) throw err;
      if (k.clear && err.jurisdiction !== undefined && recordKeys.clearInJurisdiction(caller, dataset, err.jurisdiction)) throw err;
      return undefined;
    }
  };

  app.get<{ Params: { dataset: string; key: string } }>('/v1/data/:dataset/:key', { schema: S.read, ...GET_ONLY }, async (req, reply) => {
    const caller = await options.identify(req);
    datasetOf(req.params.dataset);
    const k = recordKeys.in(caller, req.params.dataset, req.params.key);
    const r = k && (await orAway(caller, req.params.dataset, k, readOne(caller, req.params.dataset, k.key, { clearKey: k.clear })));
    if (!k || !r) throw new HttpProblem('gateway.not_found', `no ${req.params.dataset} record has this key`);
    if (reader.refusedForPlace(caller, r.decision)) {
      await record(r.decision, 'read', caller, r.subject, 'refused');
      throw new HttpProblem(
        'gateway.unknown_location',
        'the request comes from a place the network map does not know (or the token names another place); protected data is not released to it',
        {
          withheld: r.out.withheld.map((w) => ({ field: w.field, reason: w.reason })),
        },
      );
    }
    const index = await record(r.decision, 'read', caller, r.subject, r.released ? 'released' : 'refused');
    void reply.header(LOG_INDEX_HEADER, String(index));
    const released = releasedInClear(r.decision, r.out.fields, options.grantsOf?.(caller.principal.id) ?? []);
    return { key: recordKeys.out(caller, req.params.dataset, k.key, r.decision), jurisdiction: r.decision.jurisdiction, ...r.out, released };
  });

  /** Lists and the egress feed answer only a placed request: from an unknown place, nothing is read. */
  const requireKnownPlace = (caller: Caller) => {
    if (!caller.knownPlace) {
      throw new HttpProblem(
        'gateway.unknown_location',
        'the request comes from a place the network map does not know (or the token names another place); lists and the egress feed are refused to it',
      );
    }
  };

  app.get<{ Params: { dataset: string }; Querystring: Record<string, string> }>('/v1/data/:dataset', { schema: S.list, ...GET_ONLY }, async (req, reply) => {
    const caller = await options.identify(req);
    const d = datasetOf(req.params.dataset);
    requireKnownPlace(caller);
    const q = req.query;
    // The schema checked the shape (limit 1..MAX_PAGE_SIZE, only after, limit and filter.<field>); here, what it cannot know.
    const limit = q['limit'] === undefined ? DEFAULT_PAGE_SIZE : Number(q['limit']);
    const where: Record<string, FieldValue> = {};
    for (const [k, v] of Object.entries(q)) {
      if (k === 'limit' || k === 'after') continue;
      const field = k.slice('filter.'.length);
      if (!d.fields.has(field)) throw new HttpProblem('gateway.invalid_query', `${d.name} has no field ${JSON.stringify(field)}`);
      // Refused before its value is even read: no oracle on fields the caller may not see in clear (W1).
      if (!reader.filterable(caller, d, field))
        throw new HttpProblem('gateway.filter_refused', `${d.name}.${field} cannot be a filter for ${caller.principal.id}`);
      where[field] = filterValue(d, field, k, v);
    }
    const after = q['after'] === undefined ? undefined : recordKeys.cursor(caller, d.name, q['after']);
    if (q['after'] !== undefined && after === undefined) throw new HttpProblem('gateway.invalid_query', 'after must be the next cursor of an earlier page');
    const page = await options.globalStore.list(d.name, { limit, after, where });
    // Every decision of the page (and the cursor's) is made before the first is recorded: a decision
    // that fails (503) leaves no record saying that a row was read. The page's records are read at
    // once, and its decisions recorded at once, in page order (so they share the log's batched writes).
    const elsewhere = new Map<string, number>();
    const read = (await Promise.all(page.rows.map(async (row) => ({ key: row.key, r: await here(elsewhere, readOne(caller, d.name, row.key)) })))).filter(
      (x): x is { key: string; r: ReadOne } => x.r !== undefined,
    );
    const next = page.next === undefined ? null : recordKeys.out(caller, d.name, page.next);
    const indexes = await Promise.all(read.map(({ r }) => record(r.decision, 'read', caller, r.subject, r.released ? 'released' : 'refused')));
    const items: Json[] = read.map(({ key, r }) => ({ key: recordKeys.out(caller, d.name, key, r.decision), jurisdiction: r.decision.jurisdiction, ...r.out }));
    if (indexes.length > 0) void reply.header(LOG_INDEX_HEADER, String(Math.max(...indexes)));
    return elsewhere.size > 0 ? { items, next, elsewhere: Object.fromEntries(elsewhere) } : { items, next };
  });

  /**
   * The record a write names, read whole as before; undefined when there is none, or when the key
   * was sent in clear by a caller who may not see it in clear (checked before anything is decrypted).
   */
  const currentOf = async (caller: Caller, dataset: string, k: KeyIn | undefined) => {
    if (!k) return undefined;
    if (k.clear) {
      const found = await orAway(caller, dataset, k, placement.read(dataset, k.key, { decrypt: inputsOf(dataset) }));
      if (!found || !recordKeys.shownIn(caller, dataset, found)) return undefined;
    }
    return orAway(caller, dataset, k, placement.read(dataset, k.key));
  };

  // A write's body is an object of scalar field values: its route schema refused anything else.
  const checkBody = (body: unknown): Row => body as Row;

  const placementRules = createPlacementRules(policy);
  /** Fields that decide where a record lives and how it is classified: they must be strings. */
  const structuralFields = new Map<string, ReadonlyMap<string, string>>();
  const structuralOf = (d: Dataset): ReadonlyMap<string, string> => {
    let m = structuralFields.get(d.name);
    if (!m) {
      const out = new Map<string, string>([
        [d.key, 'the key field'],
        [d.subjectField, 'the subject field'],
      ]);
      if (d.jurisdictionField !== undefined) out.set(d.jurisdictionField, 'the jurisdiction field');
      for (const f of d.fields.values())
        for (const c of f.conditions) if (!out.has(c.field)) out.set(c.field, `a field that ${d.name}.${f.name}'s category depends on`);
      structuralFields.set(d.name, out);
      m = out;
    }
    return m;
  };

  /** Bad input in a write's body: unknown fields, and key, subject, jurisdiction or row-condition fields that are not strings. */
  const checkWriteFields = (d: Dataset, values: Row): void => {
    const structural = structuralOf(d);
    for (const [k, v] of Object.entries(values)) {
      const f = d.fields.get(k);
      if (!f) throw new HttpProblem('gateway.unknown_field', `${d.name} has no field ${JSON.stringify(k)}`);
      // A declared number or boolean is written as one (or null), so that filters find it.
      if (f.type !== 'string' && v !== null && typeof v !== f.type)
        throw new HttpProblem('gateway.invalid_body', `${d.name}.${k} is declared type ${f.type}: it must be a ${f.type} or null`);
      const role = structural.get(k);
      if (role === undefined) continue;
      if (typeof v !== 'string' || v.length === 0) throw new HttpProblem('gateway.invalid_body', `${d.name}.${k} is ${role}: it must be a non-empty string`);
      if (k === d.key && v.startsWith(TOKEN_PREFIX))
        throw new HttpProblem('gateway.invalid_body', `${d.name}.${k} is ${role}: a new key may not begin with ${TOKEN_PREFIX}, which marks tokens`);
      if (k === d.jurisdictionField && !/^[A-Z]{2}$/.test(v))
        throw new HttpProblem('gateway.invalid_body', `${d.name}.${k} is ${role}: it must be a two-letter country code in capitals (ISO 3166-1 alpha-2)`);
    }
  };

  /**
   * A reference to a subject in a write's body (a video's owner_uid) is named as the caller was given
   * it (W6): its own token, opened here, or a clear key only where the caller may see that subject's
   * key in clear. Anything else is a subject that does not exist (no oracle on keys).
   */
  const openReferences = async (caller: Caller, d: Dataset, values: Row): Promise<Row> => {
    const v = values[d.subjectField];
    if (d.subjectDataset === undefined || d.subjectField === d.key || typeof v !== 'string') return values;
    const unknown = () =>
      new HttpProblem(
        'gateway.unknown_subject',
        `${d.name}.${d.subjectField} must name a ${d.subjectDataset} record that exists (by the token you were given for it)`,
      );
    const k = recordKeys.in(caller, d.subjectDataset, v);
    if (!k) throw unknown();
    if (k.clear) {
      const found = await orAway(caller, d.subjectDataset, k, placement.read(d.subjectDataset, k.key, { decrypt: inputsOf(d.subjectDataset) }));
      if (!found || !recordKeys.shownIn(caller, d.subjectDataset, found)) throw unknown();
    } else if (policy.deployment.region !== undefined) {
      // This gateway's token of another region's subject (a list cursor) opens at no other region:
      // a create redirected there would come straight back. It names no subject here.
      if (!(await orAway(caller, d.subjectDataset, k, placement.read(d.subjectDataset, k.key, { decrypt: NOTHING })))) throw unknown();
    }
    return { ...values, [d.subjectField]: k.key };
  };

  /** Datasets whose subject's jurisdiction comes from records of `dataset` (a user's videos and comments). */
  const dependentsOf = (dataset: string): Dataset[] =>
    [...policy.datasets.values()].filter((x) => x.subjectDataset === dataset && x.jurisdictionField === undefined);

  const subjectKeyOf = (d: Dataset, values: Readonly<Record<string, unknown>> | undefined): string | undefined => {
    const v = values?.[d.subjectField];
    return v === undefined || v === null ? undefined : String(v);
  };
  const isProtectedClass = (cls: string | undefined) => cls === undefined || cls === 'protected';

  interface WriteJudgment {
    /** The record's decision: the body's fields, each as refused if refused under either classification. */
    readonly decision: Decision;
    readonly refused: readonly { field: string; action: string; reason: string; rules: readonly string[] }[];
    readonly effects: readonly WriteEffect[];
    /** Whose data this is: the subject as stored before the write (for a create, the body's). */
    readonly subject: string | undefined;
  }

  /**
   * Judges a write for everything it changes (W2, W3): the body's fields with action `write` under
   * the record's classification before the write and after it; every stored protected field that the
   * write moves to another jurisdiction or subject (`transfer`, with the dependent records of a
   * subject that changes jurisdiction) or turns into excepted or public data (`declassify`), under
   * the classification before. Grants are matched against the subject as stored.
   */
  const judgeWrite = async (
    caller: Caller,
    req: FastifyRequest,
    d: Dataset,
    values: Row,
    before: PlacedRecord | undefined,
    mode: 'create' | 'update' | 'delete',
  ): Promise<WriteJudgment> => {
    const after: Row = mode === 'delete' ? before!.values : { ...(before?.values ?? {}), ...values };
    if (before && before.jurisdiction === undefined)
      throw new HttpProblem('gateway.unknown_jurisdiction', `the stored ${d.name} record's jurisdiction cannot be told, so it cannot be written (fail closed)`);
    const jBefore = before?.jurisdiction;
    const jAfter = mode === 'delete' ? jBefore : await placement.jurisdictionOf(d.name, after);
    // A regional gateway writes only its own region's records (their stores and keys are all it
    // holds): decided here, before anything is judged, logged or stored.
    const region = policy.deployment.region;
    const regionAfter = jAfter === undefined ? undefined : regionOfJurisdiction(policy, jAfter);
    if (region !== undefined && regionAfter !== undefined && regionAfter !== region) {
      if (before)
        throw new HttpProblem(
          'gateway.cross_region_move',
          `the write moves the ${d.name} record to jurisdiction ${jAfter}, served by region ${regionAfter}; this gateway serves region ${region}`,
        );
      throw new OtherRegionError(regionAfter, jAfter!);
    }
    if (jAfter === undefined) {
      if (d.jurisdictionField === undefined && d.subjectDataset !== undefined) {
        throw new HttpProblem('gateway.unknown_subject', `${d.name}.${d.subjectField} must name a ${d.subjectDataset} record that exists`);
      }
      throw new HttpProblem(
        'gateway.unknown_jurisdiction',
        `the jurisdiction of this ${d.name} record cannot be told from ${d.jurisdictionField ?? d.subjectField}`,
      );
    }
    const subjectBefore = subjectKeyOf(d, before?.values);
    const subjectAfter = subjectKeyOf(d, after);
    const subject = subjectBefore ?? subjectAfter;
    // The subject acted for is named as the caller was given it: its own token, or the clear key
    // where it may see keys in clear.
    const onBehalf = req.headers[ON_BEHALF_HEADER.toLowerCase()];
    let actedFor: string | undefined;
    try {
      actedFor = typeof onBehalf === 'string' ? recordKeys.in(caller, d.subjectDataset ?? d.name, onBehalf)?.key : undefined;
    } catch (err) {
      // Another region's token names no subject of this region's record: the write is for nobody (not a redirect).
      if (!(err instanceof OtherRegionError)) throw err;
    }
    const forSubject = actedFor !== undefined && subject !== undefined && actedFor === subject;
    const ctxBefore = context(caller, jBefore, forSubject);
    const ctxAfter = context(caller, jAfter, forSubject);
    const body = Object.keys(values);
    const principal = caller.principal;

    const underAfter = decider.decide({ principal, action: 'write', dataset: d.name, record: after, fields: body, context: ctxAfter, subject });
    const underBefore = before
      ? decider.decide({ principal, action: 'write', dataset: d.name, record: before.values, fields: body, context: ctxBefore, subject })
      : undefined;
    const refused: { field: string; action: string; reason: string; rules: readonly string[] }[] = [];
    const fields: FieldDecision[] = underAfter.fields.map((fa, i) => {
      const fb = underBefore?.fields[i];
      const worse = fb !== undefined && fb.disclosure !== 'clear' ? fb : fa.disclosure !== 'clear' ? fa : undefined;
      if (worse) refused.push({ field: worse.field, action: 'write', reason: worse.reason, rules: worse.rules });
      return worse ?? fa;
    });

    const effects: WriteEffect[] = [];
    const judge = (action: 'transfer' | 'declassify', f: FieldDecision, dataset: string, from: string, to: string) => {
      const allowed = f.disclosure === 'clear';
      effects.push({ action, dataset, field: f.field, from, to, allowed, rules: f.rules });
      if (!allowed) refused.push({ field: dataset === d.name ? f.field : `${dataset}.${f.field}`, action, reason: f.reason, rules: f.rules });
    };
    if (before && mode === 'update') {
      const moved = jBefore !== jAfter || subjectBefore !== subjectAfter;
      const from = jBefore !== jAfter ? jBefore! : (subjectHash(keys, d.name, subjectBefore) ?? 'none');
      const to = jBefore !== jAfter ? jAfter : (subjectHash(keys, d.name, subjectAfter) ?? 'none');
      for (const f of d.fields.keys()) {
        const stored = before.values[f];
        if (stored === undefined || stored === null) continue;
        const clsBefore = placementRules.classOf(d.name, f, before.values, jBefore!);
        if (!isProtectedClass(clsBefore)) continue;
        if (moved) {
          judge(
            'transfer',
            decider.decide({ principal, action: 'transfer', dataset: d.name, record: before.values, fields: [f], context: ctxBefore, subject }).fields[0]!,
            d.name,
            from,
            to,
          );
        }
        const clsAfter = placementRules.classOf(d.name, f, after, jAfter);
        // Judged even when the body overwrites the field: the field itself leaves the protected class.
        if (!isProtectedClass(clsAfter)) {
          judge(
            'declassify',
            decider.decide({ principal, action: 'declassify', dataset: d.name, record: before.values, fields: [f], context: ctxBefore, subject }).fields[0]!,
            d.name,
            clsBefore ?? 'unclassified',
            clsAfter!,
          );
        }
      }
      // A subject that changes jurisdiction takes its dependent records along: every protected
      // field they can hold moves too (judged per field and category, whether or not a record holds it now).
      if (jBefore !== jAfter) {
        for (const dep of dependentsOf(d.name)) {
          for (const f of dep.fields.values()) {
            for (const category of fieldCategories(f)) {
              const fd = decider.decideField({
                principal,
                action: 'transfer',
                dataset: dep.name,
                field: f.name,
                category,
                jurisdiction: jBefore!,
                subject,
                context: ctxBefore,
              });
              if (!isProtectedClass(fd.class)) continue;
              judge('transfer', fd, dep.name, jBefore!, jAfter);
            }
          }
        }
      }
    }
    return { decision: { ...underAfter, subject, fields }, refused, effects, subject };
  };

  /** Refuses (403, logged as refused) a write the rules do not permit in every part. */
  const enforce = async (caller: Caller, j: WriteJudgment, action: AccessRecordV2['action']): Promise<void> => {
    if (j.refused.length === 0) return;
    await record(j.decision, action, caller, j.subject, 'refused', { effects: j.effects });
    const said = [...new Set(j.refused.map((r) => (r.action === 'write' ? r.field : `${r.field} (${r.action})`)))];
    throw new HttpProblem('gateway.write_refused', `the rules do not permit ${caller.principal.id} to write ${said.join(', ')}`, {
      fields: j.refused.map((r) => ({ field: r.field, action: r.action, reason: r.reason, rules: r.rules })),
    });
  };

  /**
   * Logs the permitted write, then makes it. The record says `permitted`, never that the write took;
   * if the store then fails, a `failed` record follows it and the caller gets 503.
   */
  const commit = async (caller: Caller, j: WriteJudgment, action: AccessRecordV2['action'], write: () => Promise<unknown>): Promise<number> => {
    const index = await record(j.decision, action, caller, j.subject, 'permitted', { effects: j.effects });
    try {
      await write();
    } catch (err) {
      app.log.error({ err }, 'store write failed after its decision was logged');
      await record(j.decision, action, caller, j.subject, 'failed', { follows: index });
      throw new HttpProblem(
        'gateway.write_failed',
        'the store failed after the write was permitted; the log says so. Read the record to see whether it changed',
      );
    }
    return index;
  };

  app.post<{ Params: { dataset: string } }>('/v1/data/:dataset', { schema: S.create }, async (req, reply) => {
    const caller = await options.identify(req);
    const d = datasetOf(req.params.dataset);
    const values = checkBody(req.body);
    const key = values[d.key];
    if (typeof key !== 'string' || key.length === 0)
      throw new HttpProblem('gateway.invalid_body', `the body must give the key field ${d.key} as a non-empty string`);
    checkWriteFields(d, values);
    const opened = await openReferences(caller, d, values);
    if (await placement.read(d.name, key, { decrypt: NOTHING })) throw new HttpProblem('gateway.duplicate_key', `a ${d.name} record with this key exists`);
    const j = await judgeWrite(caller, req, d, opened, undefined, 'create');
    await enforce(caller, j, 'write');
    // Decided before the write is logged and made, as every decision of the request.
    const shown = recordKeys.shownIn(caller, d.name, { values, jurisdiction: j.decision.jurisdiction });
    const index = await commit(caller, j, 'write', () => placement.write(d.name, key, opened, 'create'));
    void reply.header(LOG_INDEX_HEADER, String(index)).status(201);
    return { key: recordKeys.out(caller, d.name, key, shown), written: Object.keys(values) };
  });

  app.patch<{ Params: { dataset: string; key: string } }>('/v1/data/:dataset/:key', { schema: S.update }, async (req, reply) => {
    const caller = await options.identify(req);
    const d = datasetOf(req.params.dataset);
    const values = checkBody(req.body);
    const k = recordKeys.in(caller, d.name, req.params.key);
    // Addressed by token, the body may not name the key field at all: comparing would confirm a guess.
    if (d.key in values && (!k?.clear || values[d.key] !== k.key)) throw new HttpProblem('gateway.invalid_body', `the key field ${d.key} cannot change`);
    checkWriteFields(d, values);
    const current = await currentOf(caller, d.name, k);
    if (!k || !current) throw new HttpProblem('gateway.not_found', `no ${d.name} record has this key`);
    let opened: Row;
    try {
      opened = await openReferences(caller, d, values);
    } catch (err) {
      // The record is this region's (it was read here); a subject of another region would move it there.
      if (!(err instanceof OtherRegionError)) throw err;
      throw new HttpProblem(
        'gateway.cross_region_move',
        `the write gives the ${d.name} record a ${d.subjectDataset} subject served by region ${err.region}; this gateway serves region ${policy.deployment.region}`,
      );
    }
    const j = await judgeWrite(caller, req, d, opened, current, 'update');
    await enforce(caller, j, 'write');
    const index = await commit(caller, j, 'write', () => placement.write(d.name, k.key, opened, 'update'));
    void reply.header(LOG_INDEX_HEADER, String(index));
    return { key: req.params.key, written: Object.keys(values) };
  });

  app.delete<{ Params: { dataset: string; key: string } }>('/v1/data/:dataset/:key', { schema: S.remove }, async (req, reply) => {
    const caller = await options.identify(req);
    const d = datasetOf(req.params.dataset);
    const k = recordKeys.in(caller, d.name, req.params.key);
    const current = await currentOf(caller, d.name, k);
    if (!k || !current) throw new HttpProblem('gateway.not_found', `no ${d.name} record has this key`);
    // Deleting a record is writing every field of it.
    const j = await judgeWrite(caller, req, d, current.values, current, 'delete');
    await enforce(caller, j, 'delete');
    const index = await commit(caller, j, 'delete', () => placement.remove(d.name, k.key));
    void reply.header(LOG_INDEX_HEADER, String(index)).status(204);
    return null;
  });

  app.get<{ Params: { dataset: string }; Querystring: { after?: number; limit?: number } }>(
    '/v1/egress/:dataset',
    { schema: S.egress, ...GET_ONLY },
    async (req, reply) => {
      const caller = await options.identify(req);
      const d = datasetOf(req.params.dataset);
      requireKnownPlace(caller);
      // The schema took after (0..2^53-1) and limit (1..MAX_PAGE_SIZE) as whole numbers, and nothing else.
      const after = req.query.after ?? 0;
      const limit = req.query.limit ?? DEFAULT_PAGE_SIZE;
      const changes = await placement.changes(d.name, after, limit);
      // As for lists: every decision (a deleted record's key asks the rules too) is made before the first is recorded.
      const read: { c: (typeof changes)[number]; r: ReadOne | undefined; deletedKey: string | undefined }[] = [];
      const elsewhere = new Map<string, number>();
      const region = policy.deployment.region;
      for (const c of changes) {
        // Made by another region's gateway (the change names it): that region's to disclose, even when
        // the record is gone and nothing else would tell whose it was.
        if (region !== undefined && c.region !== undefined && c.region !== region) {
          elsewhere.set(c.region, (elsewhere.get(c.region) ?? 0) + 1);
          continue;
        }
        const away = new Map<string, number>();
        const r = c.op === 'delete' ? undefined : await here(away, readOne(caller, d.name, c.key));
        // Another region's change is that region's to disclose: counted, not listed (its key neither).
        if (away.size > 0) {
          for (const [region, n] of away) elsewhere.set(region, (elsewhere.get(region) ?? 0) + n);
          continue;
        }
        read.push({ c, r, deletedKey: r ? undefined : recordKeys.out(caller, d.name, c.key) });
      }
      const items: Json[] = [];
      let last: number | undefined;
      for (const { c, r, deletedKey } of read) {
        if (!r) {
          items.push({ seq: c.index, key: deletedKey, deleted: true });
          continue;
        }
        last = await record(r.decision, 'read', caller, r.subject, r.released ? 'released' : 'refused');
        items.push({ seq: c.index, key: recordKeys.out(caller, d.name, c.key, r.decision), jurisdiction: r.decision.jurisdiction, ...r.out });
      }
      if (last !== undefined) void reply.header(LOG_INDEX_HEADER, String(last));
      const next = changes.length > 0 ? changes[changes.length - 1]!.index : after;
      return elsewhere.size > 0 ? { items, next, elsewhere: Object.fromEntries(elsewhere) } : { items, next };
    },
  );

  type DecideBody = { dataset: string; record: Row; action?: 'read' | 'write'; subjectJurisdiction?: string };
  app.post<{ Body: DecideBody }>('/v1/decide', { schema: S.decide }, async (req, reply) => {
    const caller = await options.identify(req);
    const body = req.body;
    const d = datasetOf(body.dataset);
    const values = body.record;
    const action = body.action ?? 'read';
    const decision = decider.decide({
      principal: caller.principal,
      action,
      dataset: d.name,
      record: values,
      context: context(caller, body.subjectJurisdiction),
    });
    const index = await record(decision, 'decide', caller, decision.subject, 'released');
    void reply.header(LOG_INDEX_HEADER, String(index));
    return {
      dataset: decision.dataset,
      jurisdiction: decision.jurisdiction ?? null,
      policyVersion: decision.policyVersion,
      fields: decision.fields.map((f) => ({
        field: f.field,
        disclosure: f.disclosure,
        category: f.category ?? null,
        class: f.class ?? null,
        reason: f.reason,
        rules: f.rules,
        mask: f.mask ?? null,
      })),
    };
  });
}
