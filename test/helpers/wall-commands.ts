// The commands of the wall's model-based test (fast-check's model-based testing): reads, lists,
// egress pages, creates, patches (visibility flips, country moves, owner re-pointing, protected
// fields, with and without X-Cordon-On-Behalf-Of), deletes, grant requests, approvals, denials,
// revocations, break-glass, clock advances, the broker's and the log's read routes, SELECTs through
// the PostgreSQL wire gateway, and bad input, each by any persona from any place. After every step the server is checked against the model:
// W1 on the response, W5/W7 on the log records the step appended, W2/W3 on every table of every
// store. Commands carry only choices (who, where, which record by index, what kind of change); the
// protected values they write are drawn fresh at run time, so a printed sequence holds none.
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { classOf } from '../../src/policy/index.js';
import { CIPHERTEXT_PREFIX, CIPHERTEXT_PREFIX_V1 } from '../../src/store/index.js';
import { seedDemoWorld } from '../../src/server/index.js';
import { accessRecordFields, type AccessFieldV1, type AccessRecordV1, type AccessRecordV2 } from '../../src/log/index.js';
import type { Actor } from '../../src/access/index.js';
import { checkConfidentiality, containsValue, PolicyView, WallModel, type MGrant, type Moved, type Values, type Violation } from './wall-model.js';
import { hashOf, scanStores, type Answer, type Place, type ScannedTable, type World } from './wall-world.js';

const DAY = 86_400_000;
const ON_BEHALF = 'x-cordon-on-behalf-of';
const NUL = '\u0000';

/** The harness side of the model run: the world, the checks' cursors and caches, the counts. */
export class Real {
  readonly pv: PolicyView;
  /** Highest access-log index read so far. */
  logCursor = -1;
  readonly scanCursors = new Map<string, number>();
  /** The rows of each data table as the last scan read them, with the table's fingerprint then. */
  readonly scanCache = new Map<string, ScannedTable>();
  /** Per record: its raw rows at the last W2 comparison, and the model's version then. */
  private readonly sigs = new Map<string, string>();
  private readonly versions = new Map<string, number>();
  violations: Violation[] = [];
  steps = 0;
  requests = 0;
  readonly byKind = new Map<string, number>();
  /** Protected values released in clear to callers the model could not rule out: the insider paths were exercised. */
  insiderClear = 0;
  /** Milliseconds spent sending requests, and checking the stores. */
  readonly ms = { requests: 0, stores: 0, resets: 0 };
  /** Invariants whose findings are ignored (WALL_SKIP, for looking past one that is known to break). */
  skip: ReadonlySet<string> = new Set();
  /** Survey mode (WALL_SURVEY=1): findings are counted by kind instead of failing the run. */
  survey = false;
  readonly surveyed = new Map<string, number>();
  /** Survey mode: the steps of the current sequence so far, and the last steps before each kind's first finding. */
  trace: string[] = [];
  readonly traces = new Map<string, string[]>();

  constructor(readonly world: World) {
    this.pv = new PolicyView(world.policy);
  }

  place(persona: string, where: string): Place {
    if (where === 'home') {
      const site = this.pv.principal(persona).site;
      return this.world.places.find((p) => p.id === site) ?? this.world.places[0]!;
    }
    return this.world.places.find((p) => p.id === where)!;
  }

  private async logRecords(): Promise<{ index: number; record: Rec }[]> {
    const out: { index: number; record: Rec }[] = [];
    for (;;) {
      const page = await this.world.server.log.records(this.logCursor, 5000);
      for (const p of page) out.push({ index: p.index, record: p.record as Rec });
      if (page.length === 0) break;
      this.logCursor = page[page.length - 1]!.index;
      if (page.length < 5000) break;
    }
    return out;
  }

  /** Sends one request and checks its answer (W1; a 5xx is W7); returns it with the log records it appended. */
  async call(m: WallModel, persona: string, place: Place, method: string, path: string, body?: string, headers?: Record<string, string>) {
    await this.logRecords();
    const t = Date.now();
    const { sent, answer } = await this.world.send(persona, place, method, path, body, headers);
    this.ms.requests += Date.now() - t;
    this.requests++;
    const recs = await this.logRecords();
    const w1 = checkConfidentiality(m, persona, place, sent, answer);
    this.insiderClear += w1.insiders;
    this.violations.push(...w1.violations);
    if (answer.status >= 500)
      this.violations.push({
        invariant: 'W7',
        message: `${method} ${printable(path)} by ${persona} from ${place.id} answered ${answer.status} (${codeOf(answer)})`,
      });
    return { sent, answer, recs };
  }

  /** Runs one SQL statement through the wire gateway and checks its answer as `call` does (W1; a server-side failure is W7). */
  async callSql(m: WallModel, persona: string, place: Place, text: string, params?: readonly (string | null)[]) {
    await this.logRecords();
    const t = Date.now();
    const { sent, answer } = await this.world.sql(persona, place, text, params);
    this.ms.requests += Date.now() - t;
    this.requests++;
    const recs = await this.logRecords();
    const w1 = checkConfidentiality(m, persona, place, sent, answer);
    this.insiderClear += w1.insiders;
    this.violations.push(...w1.violations);
    if (answer.status >= 500)
      this.violations.push({
        invariant: 'W7',
        message: `SQL by ${persona} from ${place.id} failed on the server: ${answer.error?.code} ${answer.error?.message}`,
      });
    return { sent, answer, recs };
  }

  /** After every step: W2 and W3 over every table of every store; throws the step's violations. */
  async endStep(m: WallModel, what: string): Promise<void> {
    const t = Date.now();
    await this.checkState(m);
    this.ms.stores += Date.now() - t;
    this.steps++;
    this.byKind.set(what, (this.byKind.get(what) ?? 0) + 1);
    if (this.skip.size > 0) this.violations = this.violations.filter((x) => !this.skip.has(x.invariant));
    if (this.violations.length > 0) {
      const v = this.violations;
      this.violations = [];
      if (!this.survey) throw new WallViolation(v);
      // Survey mode: count each kind of finding, take the stores as they now are, and go on.
      for (const x of v) {
        const kind = `${x.invariant}: ${x.message
          .replace(/sha256:[0-9a-f]{12}/g, 'sha256:…')
          .replace(/\b(w-[0-9a-f]{8}|req-[\w-]+|grant-[\w-]+|glass-[\w-]+)\b/g, '…')
          .replace(/\d+/g, 'N')
          .replace(/shaN:/g, 'sha256:')}`;
        this.surveyed.set(kind, (this.surveyed.get(kind) ?? 0) + 1);
        if (!this.traces.has(kind)) this.traces.set(kind, [...this.trace.slice(-12), `=> ${x.invariant}: ${x.message}`]);
      }
      await this.resync(m);
    }
  }

  /** Survey mode: the model takes every record as the stores hold it now (grants and retired values stay). */
  private async resync(m: WallModel): Promise<void> {
    const { server, policy } = this.world;
    const stored = new Map([...m.records].map(([id, r]) => [id, r.jurStored]));
    for (const r of [...m.records.values()]) m.records.delete(`${r.dataset}/${r.key}`);
    for (const dataset of ['users', 'videos', 'comments']) {
      if (!policy.datasets.has(dataset)) continue;
      const keys = new Set<string>();
      for (const store of server.stores.values()) for (const row of (await store.list(dataset, { limit: 1000 })).rows) keys.add(row.key);
      for (const key of keys) {
        const r = await server.placement.read(dataset, key, { reason: 'wall model test: survey resync' });
        if (!r) continue;
        m.create(dataset, key, { ...r.values });
        // A record whose subject is gone keeps the jurisdiction its data was placed under.
        const rec = m.rec(dataset, key)!;
        rec.jurStored ??= stored.get(`${dataset}/${key}`);
      }
    }
    await this.checkState(m);
    this.violations = [];
  }

  async checkState(m: WallModel): Promise<void> {
    const { server, policy } = this.world;
    const tables = await scanStores(server, this.scanCursors, this.scanCache);
    const secrets = m.secrets();
    // W3: a protected value in clear only in its enclave's store.
    for (const t of tables) {
      const text = t.rows.map((r) => r.text).join('\n');
      for (const s of secrets) {
        if (s.store === t.store || !text.includes(s.value) || !containsValue(text, s.value)) continue;
        this.violations.push({
          invariant: 'W3',
          message: `store ${t.store} table ${t.table} holds ${s.dataset}.${s.field} of ${s.dataset}/${s.key} in clear (its enclave's store is ${s.store ?? 'unknown'}): value sha256:${hashOf(s.value)}`,
        });
      }
    }
    // W3: no ciphertext of a subject outside its enclave's store; W2: no record the model lacks.
    const sig = new Map<string, string>();
    for (const t of tables) {
      const dataset = t.table.startsWith('ds_') ? t.table.slice(3) : undefined;
      if (dataset === undefined || !policy.datasets.has(dataset)) continue;
      for (const row of t.rows) {
        const id = `${dataset}/${row.key}`;
        sig.set(id, `${sig.get(id) ?? ''}${t.store}:${row.text}\n`);
        const r = row.key === undefined ? undefined : m.rec(dataset, row.key);
        if (!r) {
          this.violations.push({ invariant: 'W2', message: `store ${t.store} holds record ${id}, which no permitted write made (or one deleted)` });
          continue;
        }
        const home = r.jurStored === undefined ? undefined : this.pv.enclaveOf(r.jurStored).store;
        if ((row.text.includes(CIPHERTEXT_PREFIX) || row.text.includes(CIPHERTEXT_PREFIX_V1)) && home !== t.store) {
          this.violations.push({
            invariant: 'W3',
            message: `store ${t.store} holds ciphertext of ${id}, whose subject's jurisdiction is ${r.jurStored} (enclave store ${home})`,
          });
        }
      }
    }
    // W2: every changed record, read back decrypted, equals the model.
    for (const r of m.records.values()) {
      const id = `${r.dataset}/${r.key}`;
      const now = sig.get(id) ?? '';
      if (now === this.sigs.get(id) && r.version === this.versions.get(id)) continue;
      const stored = await server.placement.read(r.dataset, r.key, { reason: 'wall model test: W2 comparison' });
      if (!stored) {
        this.violations.push({ invariant: 'W2', message: `record ${id} is gone from the stores, and no permitted write deleted it` });
        continue;
      }
      let same = true;
      for (const f of this.pv.fields(r.dataset)) {
        const want = r.values[f] ?? null;
        const got = stored.values[f] ?? null;
        if (want === got) continue;
        same = false;
        // Values of a field protected in some jurisdiction are printed only as hashes.
        const prot =
          this.pv.isProtectedAnywhere(r.dataset, f, r.values) ||
          this.pv.isProtectedAnywhere(r.dataset, f, stored.values as Values) ||
          [want, got].some((v) => typeof v === 'string' && m.secrets().some((s) => s.value === v));
        this.violations.push({ invariant: 'W2', message: `${id}.${f} is stored as ${show(got, prot)} but the model has ${show(want, prot)}` });
      }
      if (same) {
        this.sigs.set(id, now);
        this.versions.set(id, r.version);
      }
    }
  }

  /** A fresh model run: time moves 30 days on (every grant and request of the last run is over), the stores hold the seeded world again. */
  async reset(): Promise<WallModel> {
    const t = Date.now();
    try {
      return await this.resetWorld();
    } finally {
      this.ms.resets += Date.now() - t;
    }
  }

  private async resetWorld(): Promise<WallModel> {
    const { server, policy } = this.world;
    this.trace = [];
    this.violations = [];
    this.world.now += 30 * DAY;
    await server.broker.sweep();
    for (const dataset of policy.datasets.keys()) {
      const keys = new Set<string>();
      for (const store of server.stores.values()) {
        let after: string | undefined;
        do {
          const page = await store.list(dataset, { limit: 1000, after });
          for (const row of page.rows) keys.add(row.key);
          after = page.next;
        } while (after !== undefined);
      }
      for (const key of keys) await server.placement.remove(dataset, key);
    }
    await seedDemoWorld(server.placement, { users: 0 });
    const m = new WallModel(this.pv, this.world.now, (n) => randomBytes(n).toString('hex'));
    // One more subject per jurisdiction (US, EU, elsewhere), each with a private video and a draft, values drawn fresh.
    const extra: { dataset: string; key: string; values: Values }[] = [];
    for (const country of ['US', 'IE', 'CN']) {
      const uid = m.fresh('key');
      extra.push({
        dataset: 'users',
        key: uid,
        values: {
          uid,
          username: m.fresh('username'),
          bio: m.fresh('bio'),
          country,
          phone_number: m.fresh('phone_number'),
          email: m.fresh('email'),
          birthday: m.fresh('birthday'),
          device_id: m.fresh('device_id'),
          ip_address: m.fresh('ip_address'),
          created_at: '2025-01-01T00:00:00Z',
        },
      });
      for (const visibility of ['private', 'draft']) {
        const id = m.fresh('key');
        extra.push({
          dataset: 'videos',
          key: id,
          values: {
            id,
            owner_uid: uid,
            visibility,
            caption: m.fresh('caption'),
            draft_body: visibility === 'draft' ? m.fresh('draft_body') : null,
            view_count: 1,
            created_at: '2025-01-02T00:00:00Z',
          },
        });
      }
    }
    for (const e of extra.filter((e) => e.dataset === 'users')) await server.placement.write(e.dataset, e.key, e.values, 'create');
    for (const e of extra.filter((e) => e.dataset !== 'users')) await server.placement.write(e.dataset, e.key, e.values, 'create');
    // The model learns the world as stored (decrypted in process).
    for (const dataset of ['users', 'videos', 'comments']) {
      const keys = new Set<string>();
      for (const store of server.stores.values()) for (const row of (await store.list(dataset, { limit: 1000 })).rows) keys.add(row.key);
      const ordered = [...keys].sort((a, b) => Number(b.startsWith('demo-')) - Number(a.startsWith('demo-')) || a.localeCompare(b));
      for (const key of ordered) {
        const r = await server.placement.read(dataset, key, { reason: 'wall model test: the seeded world' });
        if (r) m.create(dataset, key, { ...r.values });
      }
    }
    // The demo's seeded grant (PRODUCT.md §10): austin-engineer, demo-us-1's contact data, 8 hours.
    const actor = (id: string): Actor => ({ principal: this.pv.principal(id), country: 'US', site: 'austin', knownPlace: true });
    const scope = { datasets: ['users'], categories: ['user.contact'], subjects: ['demo-us-1'] };
    const req = await server.broker.request(actor('austin-engineer'), { ...scope, reason: 'USER_SUPPORT', ticket: 'DEMO-1', duration: '8h' });
    for (const a of ['austin-approver-a', 'austin-approver-b']) await server.broker.approve(actor(a), req.id, { comment: 'demo' });
    const granted = server.broker.getRequest(actor('austin-engineer'), req.id);
    m.requests.push({
      id: req.id,
      principal: 'austin-engineer',
      ...scope,
      jurisdictions: req.scope.jurisdictions,
      durationMs: 8 * 3_600_000,
      expiresAt: req.expiresAt,
      approvals: ['austin-approver-a', 'austin-approver-b'],
      state: 'approved',
    });
    if (granted.grant !== undefined)
      m.grants.push({
        id: granted.grant,
        principal: 'austin-engineer',
        ...scope,
        jurisdictions: req.scope.jurisdictions,
        notBefore: m.now,
        expiresAt: m.now + 8 * 3_600_000,
        revoked: false,
      });
    await this.checkState(m);
    if (this.violations.length > 0) throw new WallViolation(this.violations);
    return m;
  }
}

/** A step's findings; fast-check shrinks the sequence that led to them. */
export class WallViolation extends Error {
  constructor(readonly violations: readonly Violation[]) {
    super(violations.map((v) => `${v.invariant}: ${v.message}`).join('\n'));
    this.name = 'WallViolation';
  }
}

/** An access record as the log stores it (the fields the checks read). */
interface Rec {
  readonly type?: string;
  readonly action?: string;
  readonly dataset?: string;
  readonly outcome?: string;
  readonly v?: number;
  /** v1 lists fields, v2 groups them (fieldsOf reads both). */
  readonly fields?: readonly unknown[];
  readonly effects?: readonly { readonly action?: string; readonly dataset?: string; readonly field?: string }[];
}

/** Each field a record names, with its disclosure, from either version of the record. */
function fieldsOf(rec: Rec): AccessFieldV1[] {
  return rec.fields === undefined ? [] : accessRecordFields(rec as unknown as AccessRecordV1 | AccessRecordV2);
}

function printable(s: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: NUL bytes in generated input are shown escaped in the printed sequence
  return s.replace(/\u0000/g, '\\0').replace(/%00/g, '\\0');
}
function show(v: unknown, secret: boolean): string {
  if (v === null) return 'null';
  return secret ? `sha256:${hashOf(v)}` : JSON.stringify(v);
}
function codeOf(a: Answer): string {
  const j = a.json as { code?: unknown } | undefined;
  return typeof j?.code === 'string' ? j.code : 'no code';
}
function ok(a: Answer): boolean {
  return a.status >= 200 && a.status < 300;
}
function enc(s: string): string {
  return encodeURIComponent(s);
}

// ---- W5: the log says what was released and what was written, nothing more ----

type Item = { fields?: Record<string, unknown>; transformed?: Record<string, { disclosure?: string }>; deleted?: boolean };

function given(item: Item): Map<string, string> {
  return new Map(Object.keys(item.fields ?? {}).map((f) => [f, item.transformed?.[f]?.disclosure ?? 'clear']));
}
/** What a record says it disclosed, for the dataset's own fields (an entry of another name is not judged). */
function recorded(rec: Rec, fields: ReadonlySet<string>): Map<string, string> {
  return new Map(
    fieldsOf(rec)
      .filter((f) => f.disclosure !== 'withheld' && fields.has(f.field))
      .map((f) => [f.field, f.disclosure]),
  );
}
function sameMap(a: Map<string, string>, b: Map<string, string>): boolean {
  return a.size === b.size && [...a].every(([k, v]) => b.get(k) === v);
}

/** Each item that carried fields has a read record of this request naming exactly those fields with the disclosure given. */
function checkReleases(
  r: Real,
  what: string,
  dataset: string,
  items: readonly Item[],
  recs: readonly { index: number; record: Rec }[],
  header: string | undefined,
): void {
  const reads = recs.filter((x) => x.record.action === 'read' && x.record.dataset === dataset);
  const fields = new Set(r.pv.fields(dataset));
  let at = 0;
  let released = false;
  for (const item of items) {
    if (item.deleted) continue;
    const g = given(item);
    if (g.size === 0) continue;
    released = true;
    let found = -1;
    for (let i = at; i < reads.length; i++) {
      if (sameMap(g, recorded(reads[i]!.record, fields)) && reads[i]!.record.outcome === 'released') {
        found = i;
        break;
      }
    }
    if (found < 0) {
      r.violations.push({
        invariant: 'W5',
        message: `${what}: released ${[...g].map(([f, d]) => `${dataset}.${f} ${d}`).join(', ')} with no log record naming exactly those (released) before the response`,
      });
      return;
    }
    at = found + 1;
  }
  if (released && (header === undefined || !recs.some((x) => String(x.index) === header))) {
    r.violations.push({ invariant: 'W5', message: `${what}: released fields but X-Cordon-Log-Index is ${header ?? 'missing'}, not a record of this request` });
  }
}

function checkWriteLog(
  r: Real,
  what: string,
  dataset: string,
  a: Answer,
  recs: readonly { index: number; record: Rec }[],
  body: Values | undefined,
  moved: readonly Moved[],
): void {
  const isWrite = (x: Rec) => x.action === 'write' || x.action === 'delete';
  // A write is logged before the store changes, as `permitted` (never claiming it took); a store
  // failure after it is followed by a `failed` record.
  const says = (x: Rec) => isWrite(x) && (x.outcome === 'permitted' || x.outcome === 'released' || x.outcome === 'written');
  if (!ok(a)) {
    // A decision logged before the store failed is corrected by a later record saying it failed.
    for (const [i, x] of recs.entries()) {
      if (!says(x.record) || recs.slice(i + 1).some((y) => isWrite(y.record) && y.record.dataset === x.record.dataset && y.record.outcome === 'failed'))
        continue;
      r.violations.push({
        invariant: 'W5',
        message: `${what}: refused with ${a.status} (${codeOf(a)}), but log record ${x.index} says ${x.record.outcome} (and no record says it failed)`,
      });
    }
    return;
  }
  const header = a.headers['x-cordon-log-index'];
  const rec = recs.find((x) => String(x.index) === header);
  if (!rec || !says(rec.record) || rec.record.dataset !== dataset) {
    r.violations.push({
      invariant: 'W5',
      message: `${what}: written (${a.status}) but X-Cordon-Log-Index ${header ?? 'missing'} names no record of this write that says so`,
    });
    return;
  }
  const named = new Set(fieldsOf(rec.record).map((f) => f.field));
  const missing = Object.keys(body ?? {}).filter((f) => !named.has(f));
  if (missing.length > 0) r.violations.push({ invariant: 'W5', message: `${what}: the write's record ${rec.index} does not name ${missing.join(', ')}` });
  // The write's own record names what it moved of the record written; what moved of its dependents
  // (a user's videos) may be named there or in a record of their own, written by the same request.
  const effects = rec.record.effects ?? [];
  const anyEffects = recs.flatMap((x) => x.record.effects ?? []);
  const effectNamed = (mv: Moved) => (mv.dependent ? anyEffects : effects).some((e) => e.dataset === mv.dataset && e.field === mv.field);
  const unnamed = [...new Set(moved.filter((mv) => !effectNamed(mv)).map((mv) => `${mv.action} ${mv.dataset}.${mv.field}`))];
  if (unnamed.length > 0)
    r.violations.push({
      invariant: 'W3',
      message: `${what}: moved or declassified protected data (${unnamed.join(', ')}) and its record ${rec.index} does not name it in effects`,
    });
}

/**
 * W6: where the caller may not see a dataset's key field in clear, the key of GET, list and egress
 * items and the list's cursor carry its token, not the clear key. Conservative: only a clear key of a
 * record the model has, whose key field is not public for its subject, and a caller who is not enclave
 * staff inside that subject's enclave's countries (the only ones any rule shows an excepted key to).
 */
function checkKeys(r: Real, m: WallModel, who: string, place: Place, dataset: string, items: readonly (Item & { key?: unknown })[], next: unknown): void {
  const pv = r.pv;
  const keyField = pv.keyField(dataset);
  const hidden = (key: unknown): key is string => {
    if (typeof key !== 'string' || key.startsWith('tok_')) return false;
    const rec = m.rec(dataset, key);
    const j = rec && m.jurNow(rec);
    if (!rec || j === undefined) return false;
    const category = pv.category(dataset, keyField, rec.values);
    const open = category !== undefined && classOf(pv.policy.classes, pv.policy.taxonomy, j, category) === 'public';
    return !open && !(pv.isStaff(who) && pv.inEnclave(place, j));
  };
  for (const it of items) {
    if (hidden(it.key))
      r.violations.push({
        invariant: 'W6',
        message: `${who} from ${place.id} got the key of ${dataset}/${it.key} in clear (${dataset}.${keyField} is not public for its subject, and the caller may not see it)`,
      });
  }
  if (hidden(next)) r.violations.push({ invariant: 'W6', message: `${who} from ${place.id} got a ${dataset} list cursor holding the clear key ${next}` });
}

/** Bad input: a 4xx, and (for NUL and out-of-range numbers) nothing at all in the log. */
function checkBadInput(r: Real, what: string, a: Answer, recs: readonly { index: number; record: Rec }[], nothingLogged: boolean): void {
  if (ok(a)) r.violations.push({ invariant: 'W7', message: `${what}: bad input answered ${a.status}` });
  else if (nothingLogged && recs.length > 0)
    r.violations.push({
      invariant: 'W7',
      message: `${what}: bad input (${a.status} ${codeOf(a)}) appended ${recs.length} log record(s): ${recs.map((x) => x.record.type ?? `${x.record.action} ${x.record.outcome}`).join(', ')}`,
    });
}

// ---- the commands ----

type Where = string; // a place id, or 'home' (the persona's own site)
type DatasetName = 'users' | 'videos' | 'comments';
type Addr = 'clear' | 'token';
type Behalf = 'none' | 'subject' | 'subject-token' | 'other';

export type Spec =
  | { kind: 'read'; who: string; where: Where; dataset: DatasetName; ref: number; addr: Addr | 'missing' | 'nul' }
  | { kind: 'granted'; ref: number; ref2: number; list: boolean; actors: readonly string[] }
  | { kind: 'list'; who: string; where: Where; dataset: DatasetName; limit: number; after: 'none' | 'next' | 'nul'; filter: string; ref: number }
  | {
      kind: 'egress';
      who: string;
      where: Where;
      dataset: DatasetName;
      after: 'zero' | 'next' | 'huge' | 'float' | 'negative' | 'fraction' | 'nul';
      limit: number;
    }
  | { kind: 'create'; who: string; where: Where; dataset: DatasetName; shape: string; ref: number; ref2: number; behalf: Behalf; dup: boolean }
  | { kind: 'patch'; who: string; where: Where; dataset: DatasetName; ref: number; ref2: number; addr: Addr; change: string; behalf: Behalf }
  | { kind: 'delete'; who: string; where: Where; dataset: DatasetName; ref: number; addr: Addr }
  | { kind: 'request'; who: string; where: Where; datasets: DatasetName[]; categories: string[]; subjects: number[] | 'filter'; duration: string; nul: boolean }
  | { kind: 'approve'; who: string; where: Where; ref: number; deny: boolean }
  | { kind: 'revoke'; who: string; where: Where; ref: number; target: 'request' | 'grant' }
  | { kind: 'glass'; who: string; where: Where; datasets: DatasetName[]; categories: string[]; subjects: number[] | 'filter'; duration: string }
  | { kind: 'advance'; ms: number }
  | { kind: 'access'; who: string; where: Where; what: 'requests' | 'grants' }
  | { kind: 'records'; who: string; where: Where; back: number }
  | {
      kind: 'sql';
      who: string;
      where: Where;
      dataset: DatasetName;
      /**
       * key: WHERE key = …; list: ORDER BY key LIMIT; filter / count: WHERE on `filter` in the form
       * `form` (of the rows, or counted); order: ORDER BY `filter`'s field; group: GROUP BY it; join:
       * the dataset (videos for users) joined with users by its reference (LEFT with form `or`);
       * nul / bad-limit: bad input in a parameter.
       */
      shape: 'key' | 'list' | 'filter' | 'count' | 'order' | 'group' | 'join' | 'nul' | 'bad-limit';
      form: 'eq' | 'in' | 'like' | 'not' | 'or';
      /** Which fields the select list names (bit i: the dataset's i-th field); 0 is `*`. */
      cols: number;
      /** A join's users columns (bit i: the i-th field of users; 0: username). */
      userCols: number;
      ref: number;
      addr: Addr;
      filter: string;
      limit: number;
      /** The extended protocol with the values as parameters, or the simple one with them as literals. */
      params: boolean;
    };

const DURATIONS: Readonly<Record<string, number>> = { '30m': 1_800_000, '1h': 3_600_000, '2h': 7_200_000, '8h': 28_800_000, '9h': 32_400_000 };

/** The grants that may be active and are held by one of `actors`. */
function heldGrants(m: Readonly<WallModel>, actors: readonly string[]): MGrant[] {
  return m.grants.filter((g) => m.possiblyActive(g) && actors.includes(g.principal));
}

export class WallCommand implements fc.AsyncCommand<WallModel, Real> {
  /** What the step did, as it ran (which record, which status): printed for a failing sequence. */
  private did = '';
  constructor(readonly spec: Spec) {}

  check(m: Readonly<WallModel>): boolean {
    // A read by a grant's holder needs a grant that may be active, held by a persona that acts.
    return this.spec.kind !== 'granted' || heldGrants(m, this.spec.actors).length > 0;
  }

  toString(): string {
    const s = this.spec;
    const head = 'who' in s ? `${s.who}@${s.where} ` : '';
    const { kind, ...rest } = s;
    const args = Object.entries(rest)
      .filter(([k]) => k !== 'who' && k !== 'where' && k !== 'actors')
      .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
      .join(' ');
    return `${head}${kind}(${args})${this.did ? ` => ${this.did}` : ''}`;
  }

  async run(m: WallModel, r: Real): Promise<void> {
    const s = this.spec;
    this.did = '';
    switch (s.kind) {
      case 'advance':
        m.now += s.ms;
        r.world.now = m.now;
        await r.world.server.broker.sweep();
        this.did = `clock +${s.ms / 1000}s`;
        break;
      case 'read':
        await this.read(m, r, s);
        break;
      case 'granted':
        await this.granted(m, r, s);
        break;
      case 'list':
        await this.list(m, r, s);
        break;
      case 'egress':
        await this.egress(m, r, s);
        break;
      case 'create':
        await this.create(m, r, s);
        break;
      case 'patch':
        await this.patch(m, r, s);
        break;
      case 'delete':
        await this.remove(m, r, s);
        break;
      case 'request':
      case 'glass':
        await this.ask(m, r, s);
        break;
      case 'approve':
        await this.approve(m, r, s);
        break;
      case 'revoke':
        await this.revoke(m, r, s);
        break;
      case 'access': {
        // Only what is open now: the broker keeps every request and grant of earlier sequences.
        const path = s.what === 'requests' ? '/v1/access/requests?state=pending' : '/v1/access/grants?state=active';
        const { answer } = await r.call(m, s.who, r.place(s.who, s.where), 'GET', path);
        this.did = `GET ${path} ${answer.status}`;
        break;
      }
      case 'sql':
        await this.sql(m, r, s);
        break;
      case 'records': {
        const after = Math.max(-1, r.logCursor - s.back);
        const path = `/v1/log/records?after=${after}&limit=5`;
        const { answer } = await r.call(m, s.who, r.place(s.who, s.where), 'GET', path);
        this.did = `GET ${path} ${answer.status}`;
        break;
      }
    }
    if (r.survey) r.trace.push(this.toString());
    await r.endStep(m, s.kind);
  }

  /** The path segment that addresses a record: its key, or the caller's token for it when asked and known. */
  private address(m: WallModel, who: string, dataset: string, key: string, addr: string): string {
    if (addr === 'token' && dataset === 'users') return m.tokens.get(who)?.get(key) ?? key;
    return key;
  }

  /** The clear key a path segment names for this caller (a token it learned, or the key itself). */
  private keyOf(m: WallModel, who: string, segment: string): string {
    return segment.startsWith('tok_') ? (m.keyOfToken(who, segment) ?? segment) : segment;
  }

  private learn(m: WallModel, who: string, dataset: string, items: readonly unknown[]): void {
    for (const it of items) m.learnTokens(who, dataset, it);
  }

  private async read(m: WallModel, r: Real, s: Extract<Spec, { kind: 'read' }>, prefix = ''): Promise<void> {
    const place = r.place(s.who, s.where);
    const rec = m.pick(s.dataset, s.ref);
    let segment = rec ? this.address(m, s.who, s.dataset, rec.key, s.addr) : 'no-such-record';
    if (s.addr === 'missing') segment = `${rec?.key ?? 'w'}-missing`;
    if (s.addr === 'nul') segment = `${rec?.key ?? 'w'}${NUL}x`;
    const path = `/v1/data/${s.dataset}/${enc(segment)}`;
    const { answer, recs } = await r.call(m, s.who, place, 'GET', path);
    this.did = `${prefix} GET ${s.dataset}/${printable(segment)} ${answer.status}`.trim();
    if (s.addr === 'nul') return checkBadInput(r, `GET ${printable(path)}`, answer, recs, true);
    if (ok(answer)) {
      const item = answer.json as Item;
      this.learn(m, s.who, s.dataset, [answer.json]);
      checkReleases(r, `${s.who} GET ${s.dataset}/${printable(segment)}`, s.dataset, [item], recs, answer.headers['x-cordon-log-index']);
      checkKeys(r, m, s.who, place, s.dataset, [answer.json as Item], undefined);
    }
  }

  /** The holder of a grant that may be active reads (or lists) a record in its scope, from its own site: the insiders' path. */
  private async granted(m: WallModel, r: Real, s: Extract<Spec, { kind: 'granted' }>): Promise<void> {
    const active = heldGrants(m, s.actors);
    const g = active[s.ref % active.length]!;
    const inScope = [...m.records.values()].filter((x) => {
      if (!g.datasets.includes(x.dataset)) return false;
      const subject = m.subjectOf(x.dataset, x.values);
      const j = m.jurNow(x);
      return subject !== undefined && j !== undefined && g.jurisdictions.includes(j) && (g.subjects === undefined || g.subjects.includes(subject));
    });
    const rec = inScope.length === 0 ? undefined : inScope[s.ref2 % inScope.length]!;
    const dataset = (rec?.dataset ?? g.datasets[0]!) as DatasetName;
    this.did = `as ${g.principal}, holder of a grant on ${g.datasets.join('+')}:`;
    if (s.list || !rec)
      return this.list(m, r, { kind: 'list', who: g.principal, where: 'home', dataset, limit: 6, after: 'none', filter: 'none', ref: 0 }, this.did);
    return this.read(m, r, { kind: 'read', who: g.principal, where: 'home', dataset, ref: m.keysOf(dataset).indexOf(rec.key), addr: 'token' }, this.did);
  }

  private async list(m: WallModel, r: Real, s: Extract<Spec, { kind: 'list' }>, prefix = ''): Promise<void> {
    const place = r.place(s.who, s.where);
    const q: string[] = [`limit=${s.limit}`];
    const next = m.listNext.get(`${s.who}/${s.dataset}`);
    if (s.after === 'next' && next !== undefined) q.push(`after=${enc(next)}`);
    if (s.after === 'nul') q.push(`after=${enc(NUL)}`);
    // filter: "field=value" from a record picked by ref, or a constant, or NUL.
    let filterSecret: string | undefined;
    let filterOf: { dataset: string; key: string; field: string } | undefined;
    if (s.filter !== 'none') {
      const [field, how] = s.filter.split(':') as [string, string];
      let value: string | undefined;
      if (how === 'nul') value = `a${NUL}b`;
      else if (how.startsWith('=')) value = how.slice(1);
      else {
        const rec = m.pick(s.dataset, s.ref);
        const v = rec?.values[field];
        if (rec && v !== null && v !== undefined) {
          value = String(v);
          filterOf = { dataset: s.dataset, key: rec.key, field };
        }
      }
      if (value !== undefined) {
        q.push(`filter.${field}=${enc(value)}`);
        filterSecret = value;
      }
    }
    const path = `/v1/data/${s.dataset}?${q.join('&')}`;
    const { answer, recs } = await r.call(m, s.who, place, 'GET', path);
    const items = ((answer.json as { items?: Item[] } | undefined)?.items ?? []) as Item[];
    this.did = `${prefix}GET ${printable(path.replace(/filter\.([a-z_]+)=[^&]*/, 'filter.$1=…'))} ${answer.status} (${items.length} items)`.trim();
    if (s.after === 'nul' || s.filter.endsWith(':nul')) return checkBadInput(r, `list ${s.dataset} with NUL`, answer, recs, true);
    if (!ok(answer)) return;
    this.learn(m, s.who, s.dataset, items);
    const n = (answer.json as { next?: unknown }).next;
    if (typeof n === 'string') m.listNext.set(`${s.who}/${s.dataset}`, n);
    else m.listNext.delete(`${s.who}/${s.dataset}`);
    checkReleases(r, `${s.who} list ${s.dataset}`, s.dataset, items, recs, answer.headers['x-cordon-log-index']);
    checkKeys(r, m, s.who, place, s.dataset, items, n);
    // No oracle: a filter on a value the caller may not have is refused, not answered.
    if (filterOf && filterSecret !== undefined) {
      const secret = m
        .secrets()
        .find((x) => x.dataset === filterOf!.dataset && x.key === filterOf!.key && x.field === filterOf!.field && x.value === filterSecret);
      if (secret && !m.mayBeInsider(s.who, place, secret)) {
        r.violations.push({
          invariant: 'W1',
          message: `${s.who} from ${place.id} filtered ${s.dataset} on ${filterOf.field} (protected for ${filterOf.dataset}/${filterOf.key}) with its value and got ${answer.status} with ${items.length} items: an oracle (value sha256:${hashOf(filterSecret)})`,
        });
      }
    }
  }

  /**
   * A SELECT through the wire gateway: by key, a list, a filter in one of several forms (=, IN, LIKE,
   * NOT, OR), an ORDER BY, count(*), GROUP BY, or a join of a dataset with the users its reference
   * names. W1 on everything it answered (rows, notices, errors); no oracle: a query that tests a
   * column holding a value the caller may not have (in WHERE, ORDER BY, GROUP BY) is refused, not
   * answered; W5: each row that carries a value has, per dataset, its own record, released, naming
   * at least the columns it carries, and no more records say released than rows were sent; W6 on key
   * columns; W7 for bad parameters (an error, nothing logged).
   */
  private async sql(m: WallModel, r: Real, s: Extract<Spec, { kind: 'sql' }>): Promise<void> {
    const place = r.place(s.who, s.where);
    const all = r.pv.fields(s.dataset);
    const picked = all.filter((_, i) => (s.cols >> i) & 1);
    const keyField = r.pv.keyField(s.dataset);
    const quote = (v: string) => `'${v.replace(/'/g, "''")}'`;
    const values: string[] = [];
    const value = (v: string) => {
      values.push(v);
      return s.params ? `$${values.length}` : quote(v);
    };
    const [field, how] = s.filter.split(':') as [string, string];
    const rec = m.pick(s.dataset, s.ref);
    let select = picked.length === 0 ? '*' : picked.join(', ');
    let from: string = s.dataset;
    let where = '';
    let order = ` ORDER BY ${keyField}`;
    let limit = ` LIMIT ${s.limit}`;
    /** The column the query tests besides the key, whose values the caller must be able to have. */
    let tested: string | undefined;
    /** Join: the dataset of each output column, by its alias (dataset__field). */
    let joined = false;
    if (s.shape === 'key' || s.shape === 'nul') {
      const segment = rec ? this.address(m, s.who, s.dataset, rec.key, s.addr) : 'no-such-record';
      where = ` WHERE ${keyField} = ${s.shape === 'nul' ? '$1' : value(segment)}`;
      if (s.shape === 'nul') values.push(`${segment}${NUL}x`);
      order = '';
      limit = '';
    } else if (s.shape === 'filter' || s.shape === 'count') {
      let v: string | undefined = how.startsWith('=') ? how.slice(1) : undefined;
      const stored = rec?.values[field];
      if (v === undefined && stored !== null && stored !== undefined) v = String(stored);
      if (v !== undefined) {
        tested = field;
        const cond = {
          eq: () => `${field} = ${value(v!)}`,
          in: () => `${field} IN (${value(v!)}, ${value('zz-none')})`,
          like: () => `${field} LIKE ${value(`${v!.slice(0, 3)}%`)}`,
          not: () => `NOT (${field} = ${value(v!)})`,
          or: () => `(${field} = ${value(v!)} OR ${keyField} = ${value('no-such-record')})`,
        }[s.form]();
        where = ` WHERE ${cond}`;
      }
      if (s.shape === 'count') {
        select = 'count(*)';
        order = '';
        limit = '';
      }
    } else if (s.shape === 'order') {
      tested = field;
      order = ` ORDER BY ${field} DESC, ${keyField}`;
    } else if (s.shape === 'group') {
      tested = field;
      select = `${field}, count(*)`;
      order = ' GROUP BY 1 ORDER BY 1';
    } else if (s.shape === 'join') {
      joined = true;
      const side = s.dataset === 'users' ? 'videos' : s.dataset;
      const ref = side === 'comments' ? 'author_uid' : 'owner_uid';
      const sideFields = r.pv.fields(side).filter((_, i) => (s.cols >> i) & 1);
      const userFields = r.pv.fields('users').filter((_, i) => (s.userCols >> i) & 1);
      const cols = [
        ...(sideFields.length > 0 ? sideFields : [r.pv.keyField(side)]).map((f) => `a.${f} AS ${side}__${f}`),
        ...(userFields.length > 0 ? userFields : ['username']).map((f) => `u.${f} AS users__${f}`),
      ];
      select = cols.join(', ');
      from = `${side} a ${s.form === 'or' ? 'LEFT ' : ''}JOIN users u ON a.${ref} = u.uid`;
      order = ` ORDER BY a.${r.pv.keyField(side)}`;
    } else if (s.shape === 'bad-limit') {
      limit = ' LIMIT $1';
      values.push('six');
    }
    const text = `SELECT ${select} FROM ${from}${where}${order}${limit}`;
    const bad = s.shape === 'nul' || s.shape === 'bad-limit';
    const { answer, recs } = await r.callSql(m, s.who, place, text, s.params || bad ? values : undefined);
    const shown = text.replace(/'(?:[^']|'')*'/g, "'…'");
    this.did = `SQL ${shown} ${answer.error ? answer.error.code : `${answer.rows.length} rows`}`;
    const what = `${s.who} from ${place.id}: ${shown}`;
    if (bad) {
      if (!answer.error) r.violations.push({ invariant: 'W7', message: `${what}: bad input (${s.shape}) answered with ${answer.rows.length} rows` });
      else if (recs.length > 0)
        r.violations.push({ invariant: 'W7', message: `${what}: bad input (${answer.error.code}) appended ${recs.length} log record(s)` });
      return;
    }
    // No oracle: a query whose answer depends on a column holding a value the caller may not have is refused.
    if (tested !== undefined && !answer.error) {
      const secret = m.secrets().find((x) => x.dataset === s.dataset && x.field === tested && !m.mayBeInsider(s.who, place, x));
      if (secret)
        r.violations.push({
          invariant: 'W1',
          message: `${what}: tested ${s.dataset}.${tested}, which holds values the caller may not have (${s.dataset}/${secret.key}: sha256:${hashOf(secret.value)}), and was answered (${answer.rows.length} rows): an oracle`,
        });
    }
    if (answer.error || s.shape === 'count' || s.shape === 'group') return;
    // W5, row by row and dataset by dataset: the read records this statement appended.
    const columns = answer.columns.map((c) => {
      const [d, f] = joined ? (c.split('__') as [string, string]) : [s.dataset, c];
      return { dataset: d, field: f };
    });
    const datasets = [...new Set(columns.map((c) => c.dataset))];
    for (const d of datasets) {
      const reads = recs.filter((x) => x.record.action === 'read' && x.record.dataset === d);
      const fields = new Set(r.pv.fields(d));
      const used = new Set<number>();
      let sent = 0;
      for (const [i, row] of answer.rows.entries()) {
        const carried = columns.filter((c, at) => c.dataset === d && row[at] !== null).map((c) => c.field);
        if (columns.some((c, at) => c.dataset === d && row[at] !== null)) sent++;
        if (carried.length === 0) continue;
        const found = reads.findIndex((x, at) => !used.has(at) && x.record.outcome === 'released' && carried.every((c) => recorded(x.record, fields).has(c)));
        if (found < 0) {
          r.violations.push({
            invariant: 'W5',
            message: `${what}: row ${i} carried ${d}.${carried.join(', ')} with no released log record of this statement naming them`,
          });
          return;
        }
        used.add(found);
      }
      const released = reads.filter((x) => x.record.outcome === 'released').length;
      if (released > answer.rows.length)
        r.violations.push({
          invariant: 'W5',
          message: `${what}: ${released} ${d} records say released, for ${answer.rows.length} rows sent (${sent} with a ${d} value)`,
        });
      const k = columns.findIndex((c) => c.dataset === d && c.field === r.pv.keyField(d));
      const items = answer.rows.map((row) => ({
        ...(k >= 0 ? { key: row[k] } : {}),
        fields: Object.fromEntries(columns.flatMap((c, at) => (c.dataset === d && row[at] !== null ? [[c.field, row[at]]] : []))),
      }));
      this.learn(m, s.who, d, items);
      checkKeys(r, m, s.who, place, d as DatasetName, items, undefined);
    }
  }

  private async egress(m: WallModel, r: Real, s: Extract<Spec, { kind: 'egress' }>): Promise<void> {
    const place = r.place(s.who, s.where);
    const after = {
      zero: '0',
      next: String(m.egressNext.get(`${s.who}/${s.dataset}`) ?? 0),
      huge: '9007199254740993',
      float: '1e308',
      negative: '-1',
      fraction: '1.5',
      nul: enc(NUL),
    }[s.after];
    const path = `/v1/egress/${s.dataset}?after=${after}&limit=${s.limit}`;
    const { answer, recs } = await r.call(m, s.who, place, 'GET', path);
    const items = ((answer.json as { items?: Item[] } | undefined)?.items ?? []) as Item[];
    this.did = `GET ${printable(path)} ${answer.status} (${items.length} items)`;
    if (s.after !== 'zero' && s.after !== 'next') return checkBadInput(r, `egress ${s.dataset} after=${printable(after)}`, answer, recs, true);
    if (!ok(answer)) return;
    this.learn(m, s.who, s.dataset, items);
    const n = (answer.json as { next?: unknown }).next;
    if (typeof n === 'number') m.egressNext.set(`${s.who}/${s.dataset}`, n);
    checkReleases(r, `${s.who} egress ${s.dataset}`, s.dataset, items, recs, answer.headers['x-cordon-log-index']);
    checkKeys(r, m, s.who, place, s.dataset, items, undefined);
  }

  private behalfHeader(m: WallModel, who: string, behalf: Behalf, subject: string | undefined, otherRef: number): Record<string, string> {
    if (behalf === 'none' || subject === undefined) return {};
    if (behalf === 'subject') return { [ON_BEHALF]: subject };
    if (behalf === 'subject-token') return { [ON_BEHALF]: m.tokens.get(who)?.get(subject) ?? subject };
    const others = m.keysOf('users').filter((k) => k !== subject);
    return others.length === 0 ? {} : { [ON_BEHALF]: others[otherRef % others.length]! };
  }

  private async create(m: WallModel, r: Real, s: Extract<Spec, { kind: 'create' }>): Promise<void> {
    const place = r.place(s.who, s.where);
    const pv = r.pv;
    const existing = m.pick(s.dataset, s.ref);
    const key = s.dup && existing ? existing.key : m.fresh('key');
    let body: Values;
    if (s.dataset === 'users') {
      const [shape, country] = s.shape.split(':') as [string, string];
      body = { uid: key, username: m.fresh('username'), bio: m.fresh('bio'), country };
      if (shape === 'full') for (const f of ['phone_number', 'email', 'birthday', 'device_id', 'ip_address']) body[f] = m.fresh(f);
      if (shape === 'open') for (const f of ['device_id', 'ip_address']) body[f] = m.fresh(f);
    } else if (s.dataset === 'videos') {
      const owner = m.pick('users', s.ref2);
      const visibility = s.shape;
      body = {
        id: key,
        owner_uid: owner?.key ?? 'no-such-user',
        visibility,
        caption: m.fresh('caption'),
        draft_body: visibility === 'draft' ? m.fresh('draft_body') : null,
        view_count: 0,
      };
    } else {
      const author = m.pick('users', s.ref2);
      const video = m.pick('videos', s.ref);
      body = { id: key, video_id: video?.key ?? 'no-such-video', author_uid: author?.key ?? 'no-such-user', body: m.fresh('body') };
    }
    const subject = m.subjectOf(s.dataset, body);
    const headers = this.behalfHeader(m, s.who, s.behalf, subject, s.ref2);
    const j = m.judge(s.who, place, s.dataset, 'create', key, body, headers[ON_BEHALF]);
    const { answer, recs } = await r.call(m, s.who, place, 'POST', `/v1/data/${s.dataset}`, JSON.stringify(body), headers);
    this.did = `POST ${s.dataset} key ${key} ${answer.status}${j.forbidden.length ? ' (model: must be refused)' : ''}`;
    checkWriteLog(r, `${s.who} POST ${s.dataset}/${key}`, s.dataset, answer, recs, body, []);
    if (!ok(answer)) return;
    if (m.rec(s.dataset, key)) {
      r.violations.push({ invariant: 'W2', message: `${s.who} from ${place.id} created ${s.dataset}/${key} over an existing record (${answer.status})` });
      return;
    }
    if (j.forbidden.length > 0) {
      r.violations.push({
        invariant: 'W2',
        message: `${s.who} from ${place.id}: POST ${s.dataset}/${key} answered ${answer.status}, but it must be refused: ${j.forbidden.join('; ')}`,
      });
      return;
    }
    if (m.jurisdictionOf(s.dataset, body) === undefined && pv.subjectDataset(s.dataset) !== undefined) {
      r.violations.push({ invariant: 'W7', message: `${s.who}: POST ${s.dataset}/${key} whose subject does not exist answered ${answer.status}` });
    }
    m.create(s.dataset, key, body);
  }

  private async patch(m: WallModel, r: Real, s: Extract<Spec, { kind: 'patch' }>): Promise<void> {
    const place = r.place(s.who, s.where);
    const rec = m.pick(s.dataset, s.ref);
    if (!rec) return;
    const [change, arg] = s.change.split(':') as [string, string | undefined];
    let body: Values = {};
    let bad: 'nul' | 'type' | undefined;
    const other = (dataset: string) => {
      const keys = m.keysOf(dataset).filter((k) => k !== rec.values[r.pv.subjectField(s.dataset)]);
      return keys.length === 0 ? undefined : keys[s.ref2 % keys.length];
    };
    switch (change) {
      case 'country':
        body = { country: arg! };
        break;
      case 'country+protected':
        body = { country: arg!, device_id: m.fresh('device_id') };
        break;
      case 'protected':
        body = { [arg!]: m.fresh(arg!) };
        break;
      case 'clear':
        body = { [arg!]: null };
        break;
      case 'public':
        body = s.dataset === 'videos' ? { view_count: s.ref2 } : s.dataset === 'users' ? { bio: m.fresh('bio') } : { body: m.fresh('body') };
        break;
      case 'visibility':
        body = { visibility: arg === 'null' ? null : arg! };
        break;
      case 'visibility+caption':
        body = { visibility: arg!, caption: m.fresh('caption') };
        break;
      case 'owner':
        body = { owner_uid: other('users') ?? rec.key };
        break;
      case 'author':
        body = { author_uid: other('users') ?? rec.key };
        break;
      case 'nul-value':
        body = s.dataset === 'users' ? { bio: `a${NUL}b` } : s.dataset === 'videos' ? { caption: `a${NUL}b` } : { body: `a${NUL}b` };
        bad = 'nul';
        break;
      case 'nul-field':
        body = { [`bio${NUL}`]: 'x' };
        bad = 'nul';
        break;
      case 'bad-type':
        body = s.dataset === 'users' ? { country: 5 } : s.dataset === 'videos' ? { visibility: 7 } : { author_uid: 9 };
        bad = 'type';
        break;
      case 'null-country':
        body = s.dataset === 'users' ? { country: null } : s.dataset === 'videos' ? { owner_uid: null } : { author_uid: null };
        bad = 'type';
        break;
      case 'key-change':
        body = { [r.pv.keyField(s.dataset)]: `${rec.key}-x` };
        bad = 'type';
        break;
      case 'unknown-subject':
        body = s.dataset === 'videos' ? { owner_uid: 'no-such-user' } : { author_uid: 'no-such-user' };
        bad = 'type';
        break;
    }
    const segment = this.address(m, s.who, s.dataset, rec.key, s.addr);
    const key = this.keyOf(m, s.who, segment);
    const subject = m.subjectOf(s.dataset, rec.values);
    const headers = this.behalfHeader(m, s.who, s.behalf, subject, s.ref2);
    const j = m.judge(s.who, place, s.dataset, 'update', key, body, headers[ON_BEHALF]);
    const sentBody = JSON.stringify(body);
    const { answer, recs } = await r.call(m, s.who, place, 'PATCH', `/v1/data/${s.dataset}/${enc(segment)}`, sentBody, headers);
    const what = `${s.who} from ${place.id}: PATCH ${s.dataset}/${printable(segment)} ${printable(JSON.stringify(Object.keys(body)))}${headers[ON_BEHALF] ? ` on behalf of ${headers[ON_BEHALF] === subject ? 'its subject' : 'another subject'}` : ''}`;
    this.did = `PATCH ${s.dataset}/${rec.key} ${answer.status}${j.forbidden.length ? ' (model: must be refused)' : ''}`;
    if (bad) {
      checkBadInput(r, what, answer, recs, bad === 'nul');
      checkWriteLog(r, what, s.dataset, answer, recs, body, []);
      return;
    }
    checkWriteLog(r, what, s.dataset, answer, recs, body, ok(answer) && j.forbidden.length === 0 ? j.moved : []);
    if (!ok(answer)) return;
    if (!m.rec(s.dataset, key)) {
      r.violations.push({ invariant: 'W2', message: `${what} answered ${answer.status} for a record that does not exist` });
      return;
    }
    if (j.forbidden.length > 0) {
      r.violations.push({ invariant: 'W2', message: `${what} answered ${answer.status}, but it must be refused: ${j.forbidden.join('; ')}` });
      return;
    }
    m.update(s.dataset, key, body);
  }

  private async remove(m: WallModel, r: Real, s: Extract<Spec, { kind: 'delete' }>): Promise<void> {
    const place = r.place(s.who, s.where);
    const rec = m.pick(s.dataset, s.ref);
    if (!rec) return;
    const segment = this.address(m, s.who, s.dataset, rec.key, s.addr);
    const key = this.keyOf(m, s.who, segment);
    const j = m.judge(s.who, place, s.dataset, 'delete', key, {}, undefined);
    const { answer, recs } = await r.call(m, s.who, place, 'DELETE', `/v1/data/${s.dataset}/${enc(segment)}`);
    const what = `${s.who} from ${place.id}: DELETE ${s.dataset}/${rec.key}`;
    this.did = `DELETE ${s.dataset}/${rec.key} ${answer.status}${j.forbidden.length ? ' (model: must be refused)' : ''}`;
    checkWriteLog(r, what, s.dataset, answer, recs, undefined, []);
    if (!ok(answer)) return;
    if (!m.rec(s.dataset, key)) {
      r.violations.push({ invariant: 'W2', message: `${what} answered ${answer.status} for a record that does not exist` });
      return;
    }
    if (j.forbidden.length > 0) {
      r.violations.push({ invariant: 'W2', message: `${what} answered ${answer.status}, but it must be refused: ${j.forbidden.join('; ')}` });
      return;
    }
    m.remove(s.dataset, key);
  }

  private scopeOf(m: WallModel, r: Real, s: { datasets: DatasetName[]; categories: string[]; subjects: number[] | 'filter' }) {
    const users = m.keysOf('users');
    const subjects =
      s.subjects === 'filter' ? undefined : [...new Set(s.subjects.map((i) => users[i % Math.max(1, users.length)]!).filter((k) => k !== undefined))];
    const group = r.pv.approverGroup();
    const jurisdictions = r.pv.policy.deployment.enclaves.get(group.enclave)!.jurisdictions;
    const body: Record<string, unknown> = {
      datasets: s.datasets,
      categories: s.categories,
      ...(subjects ? { subjects } : { subject_filter: { jurisdictions } }),
    };
    return { body, subjects, jurisdictions };
  }

  private async ask(m: WallModel, r: Real, s: Extract<Spec, { kind: 'request' | 'glass' }>): Promise<void> {
    const place = r.place(s.who, s.where);
    const { body, subjects, jurisdictions } = this.scopeOf(m, r, s);
    const durationMs = DURATIONS[s.duration]!;
    const glass = s.kind === 'glass';
    const payload = glass
      ? { ...body, reason: 'INCIDENT_RESPONSE', justification: 'wall model test: paged for an incident', duration: s.duration }
      : { ...body, reason: 'USER_SUPPORT', ticket: 'WALL-1', duration: s.duration, comment: s.nul ? `checked${NUL}` : 'wall model test' };
    const path = glass ? '/v1/access/break-glass' : '/v1/access/requests';
    const { answer, recs } = await r.call(m, s.who, place, 'POST', path, JSON.stringify(payload));
    this.did = `POST ${path} ${answer.status}`;
    if (!glass && s.nul) return checkBadInput(r, `${s.who}: access request with NUL`, answer, recs, true);
    if (!ok(answer)) return;
    const j = answer.json as {
      id?: string;
      scope?: { datasets?: string[]; categories?: string[]; subjects?: string[]; jurisdictions?: string[] };
      expiresAt?: string;
    };
    const scope = j.scope ?? {};
    // The broker's scope is never wider than what was asked.
    const wider =
      !(scope.datasets ?? []).every((d) => s.datasets.includes(d as DatasetName)) ||
      !(scope.categories ?? []).every((c) => s.categories.includes(c)) ||
      (subjects !== undefined && (scope.subjects === undefined || !scope.subjects.every((k) => subjects.includes(k)))) ||
      !(scope.jurisdictions ?? []).every((x) => jurisdictions.includes(x));
    if (wider)
      r.violations.push({
        invariant: 'W4',
        message: `${s.who}: the broker's scope ${JSON.stringify({ ...scope, subjects: scope.subjects?.length })} is wider than asked`,
      });
    const id = String(j.id);
    if (!glass) {
      m.requests.push({
        id,
        principal: s.who,
        datasets: s.datasets,
        categories: s.categories,
        subjects,
        jurisdictions,
        durationMs,
        expiresAt: m.now + r.pv.policy.deployment.access.requestTtlMs,
        approvals: [],
        state: 'pending',
      });
      return;
    }
    const bg = r.pv.policy.deployment.access.breakGlass;
    const group = r.pv.approverGroup();
    const may =
      r.pv.mayBreakGlass(s.who) &&
      place.country !== undefined &&
      r.pv.policy.deployment.enclaves.get(group.enclave)!.allowedCountries.includes(place.country) &&
      bg !== undefined &&
      durationMs <= bg.maxDurationMs;
    if (!may) {
      r.violations.push({
        invariant: 'W4',
        message: `${s.who} from ${place.id} broke glass for ${s.duration} (${answer.status}), which the broker must refuse`,
      });
      return;
    }
    m.grants.push({
      id,
      principal: s.who,
      datasets: s.datasets,
      categories: s.categories,
      subjects,
      jurisdictions,
      notBefore: m.now,
      expiresAt: m.now + durationMs,
      revoked: false,
    });
  }

  private async approve(m: WallModel, r: Real, s: Extract<Spec, { kind: 'approve' }>): Promise<void> {
    const place = r.place(s.who, s.where);
    const req = m.requests.length === 0 ? undefined : m.requests[m.requests.length - 1 - (s.ref % m.requests.length)];
    if (!req) return;
    const verb = s.deny ? 'deny' : 'approve';
    const { answer } = await r.call(m, s.who, place, 'POST', `/v1/access/requests/${enc(req.id)}/${verb}`, JSON.stringify({ comment: 'wall model test' }));
    this.did = `${verb} ${req.principal}'s request ${answer.status}`;
    if (!ok(answer)) return;
    const group = r.pv.approverGroup();
    const valid =
      req.state === 'pending' &&
      m.now < req.expiresAt &&
      s.who !== req.principal &&
      r.pv.isApprover(s.who) &&
      place.country !== undefined &&
      r.pv.policy.deployment.enclaves.get(group.enclave)!.allowedCountries.includes(place.country) &&
      !req.approvals.includes(s.who);
    if (!valid) {
      if (!s.deny)
        r.violations.push({
          invariant: 'W4',
          message: `${s.who} from ${place.id} approved ${req.principal}'s request (state ${req.state}, ${req.approvals.length} approvals) with ${answer.status}; the broker must refuse that approval`,
        });
      return;
    }
    if (s.deny) {
      req.state = 'denied';
      return;
    }
    req.approvals.push(s.who);
    const view = answer.json as { state?: string; grant?: string | null };
    if (view.state === 'approved') {
      if (req.approvals.length < group.required) {
        r.violations.push({ invariant: 'W4', message: `${req.principal}'s request was granted after ${req.approvals.length} of ${group.required} approvals` });
        return;
      }
      req.state = 'approved';
      if (typeof view.grant === 'string') {
        m.grants.push({
          id: view.grant,
          principal: req.principal,
          datasets: req.datasets,
          categories: req.categories,
          subjects: req.subjects,
          jurisdictions: req.jurisdictions,
          notBefore: m.now,
          expiresAt: m.now + req.durationMs,
          revoked: false,
        });
      }
    }
  }

  private async revoke(m: WallModel, r: Real, s: Extract<Spec, { kind: 'revoke' }>): Promise<void> {
    const place = r.place(s.who, s.where);
    let path: string;
    if (s.target === 'grant') {
      const g: MGrant | undefined = m.grants.length === 0 ? undefined : m.grants[m.grants.length - 1 - (s.ref % m.grants.length)];
      if (!g) return;
      path = `/v1/access/grants/${enc(g.id)}/revoke`;
    } else {
      const q = m.requests.length === 0 ? undefined : m.requests[m.requests.length - 1 - (s.ref % m.requests.length)];
      if (!q) return;
      path = `/v1/access/requests/${enc(q.id)}/revoke`;
    }
    const { answer } = await r.call(m, s.who, place, 'POST', path, JSON.stringify({}));
    this.did = `POST ${path.replace(/\/(req|grant|glass)-[^/]+/, '/$1-…')} ${answer.status}`;
    if (!ok(answer)) return;
    const out = answer.json as { request?: { id?: string; state?: string } | null; grant?: { id?: string; state?: string } | null };
    if (out.grant?.id) for (const g of m.grants) if (g.id === out.grant.id && out.grant.state === 'revoked') g.revoked = true;
    if (out.request?.id && out.request.state === 'withdrawn') for (const q of m.requests) if (q.id === out.request.id) q.state = 'withdrawn';
  }
}

// ---- the arbitraries ----

/** Random steps over the world's personas and places, weighted toward the write attacks of test/wall-attacks.test.ts. */
export function wallCommands(
  world: World,
  actors: readonly string[] = world.personas,
  options: { readonly badInput?: boolean } = {},
): fc.Arbitrary<fc.AsyncCommand<WallModel, Real>>[] {
  // Without bad input (NUL bytes, out-of-range numbers, wrong types), to look past W7 at the rest.
  const bad = options.badInput ?? true;
  const keep = <T extends string>(...xs: T[]): T[] =>
    bad ? xs : xs.filter((x) => !/nul|huge|float|negative|fraction|bad-type|bad-limit|null-country|key-change|unknown-subject/.test(x));
  const who = fc.constantFrom(...actors);
  const where = fc.oneof({ weight: 2, arbitrary: fc.constant('home') }, { weight: 3, arbitrary: fc.constantFrom(...world.places.map((p) => p.id)) });
  const dataset = fc.constantFrom<DatasetName>('users', 'videos', 'comments');
  const ref = fc.nat({ max: 63 });
  const addr = fc.constantFrom<Addr>('clear', 'token');
  const behalf = fc.constantFrom<Behalf>('none', 'none', 'subject', 'subject-token', 'other');
  const datasets = fc.subarray<DatasetName>(['users', 'videos', 'comments'], { minLength: 1 });
  const categories = fc.subarray(
    ['user.contact', 'user.contact.phone_number', 'user.demographic', 'user.device', 'user.content.private', 'user.content.draft', 'user'],
    { minLength: 1, maxLength: 3 },
  );
  const subjects = fc.oneof(
    { weight: 4, arbitrary: fc.array(fc.nat({ max: 15 }), { minLength: 1, maxLength: 2 }) },
    { weight: 1, arbitrary: fc.constant<'filter'>('filter') },
  );
  const cmd = (spec: fc.Arbitrary<Spec>) => spec.map((s) => new WallCommand(s));

  const staff = actors.filter((p) => new PolicyView(world.policy).isStaff(p));
  // Requests and break-glass come mostly from enclave staff (whose grants open the insiders' path).
  const requester = staff.length > 0 ? fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...staff) }, { weight: 2, arbitrary: who }) : who;
  // Writes come often from the principals the issue's attacks use: the services and enclave staff.
  const writers = ['app-backend', 'recsys-service', 'austin-engineer', 'legacy-admin'].filter((p) => actors.includes(p));
  const writer = writers.length > 0 ? fc.oneof({ weight: 1, arbitrary: fc.constantFrom(...writers) }, { weight: 2, arbitrary: who }) : who;
  const granted = fc.record({
    kind: fc.constant('granted' as const),
    ref: fc.nat({ max: 7 }),
    ref2: fc.nat({ max: 63 }),
    list: fc.oneof({ weight: 3, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
    actors: fc.constant(actors),
  });
  const read = fc.record({
    kind: fc.constant('read' as const),
    who,
    where,
    dataset,
    ref,
    addr: fc.constantFrom<Extract<Spec, { kind: 'read' }>['addr']>(
      ...keep<Extract<Spec, { kind: 'read' }>['addr']>('clear', 'clear', 'token', 'token', 'missing', 'nul'),
    ),
  });
  const listFilters: Record<DatasetName, string[]> = {
    users: ['none', 'none', 'country:=US', 'country:=BR', 'username:ref', 'phone_number:ref', 'email:ref', 'username:nul'],
    videos: ['none', 'none', 'visibility:=private', 'visibility:=public', 'owner_uid:ref', 'caption:ref', 'draft_body:ref'],
    comments: ['none', 'author_uid:ref'],
  };
  const list = dataset.chain((d) =>
    fc.record({
      kind: fc.constant('list' as const),
      who,
      where,
      dataset: fc.constant(d),
      limit: fc.integer({ min: 1, max: 6 }),
      after: fc.constantFrom<'none' | 'next' | 'nul'>(...keep<'none' | 'next' | 'nul'>('none', 'next', 'next', 'nul')),
      filter: fc.constantFrom(...keep(...listFilters[d])),
      ref,
    }),
  );
  const egress = fc.record({
    kind: fc.constant('egress' as const),
    who,
    where,
    dataset,
    after: fc.constantFrom<Extract<Spec, { kind: 'egress' }>['after']>(
      ...keep<Extract<Spec, { kind: 'egress' }>['after']>('zero', 'next', 'next', 'next', 'huge', 'float', 'negative', 'fraction', 'nul'),
    ),
    limit: fc.integer({ min: 1, max: 8 }),
  });
  const shapes: Record<DatasetName, string[]> = {
    users: ['full:US', 'full:DE', 'full:IE', 'full:BR', 'full:CN', 'open:BR', 'open:US', 'public:US'],
    videos: ['private', 'draft', 'public'],
    comments: ['comment'],
  };
  const rarely = fc.oneof({ weight: 9, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) });
  const create = dataset.chain((d) =>
    fc.record({
      kind: fc.constant('create' as const),
      who: writer,
      where,
      dataset: fc.constant(d),
      shape: fc.constantFrom(...shapes[d]),
      ref,
      ref2: ref,
      behalf,
      dup: rarely,
    }),
  );
  const changes: Record<DatasetName, string[]> = {
    users: [
      'country:US',
      'country:DE',
      'country:BR',
      'country:IE',
      'country:CN',
      'country+protected:BR',
      'country+protected:US',
      'protected:phone_number',
      'protected:email',
      'protected:birthday',
      'protected:device_id',
      'protected:ip_address',
      'clear:email',
      'public',
      'nul-value',
      'nul-field',
      'bad-type',
      'null-country',
      'key-change',
    ],
    videos: [
      'visibility:public',
      'visibility:public',
      'visibility:private',
      'visibility:draft',
      'visibility:null',
      'visibility+caption:public',
      'visibility+caption:private',
      'owner',
      'owner',
      'protected:caption',
      'protected:draft_body',
      'clear:caption',
      'public',
      'nul-value',
      'bad-type',
      'unknown-subject',
    ],
    comments: ['author', 'public', 'nul-value', 'unknown-subject'],
  };
  const patch = dataset.chain((d) =>
    fc.record({
      kind: fc.constant('patch' as const),
      who: writer,
      where,
      dataset: fc.constant(d),
      ref,
      ref2: ref,
      addr,
      change: fc.constantFrom(...keep(...changes[d])),
      behalf,
    }),
  );
  const remove = fc.record({ kind: fc.constant('delete' as const), who, where, dataset, ref, addr });
  const request = fc.record({
    kind: fc.constant('request' as const),
    who: requester,
    where,
    datasets,
    categories,
    subjects,
    duration: fc.constantFrom('30m', '1h', '2h', '8h', '9h'),
    nul: bad ? rarely : fc.constant(false),
  });
  const approvers = actors.filter((p) => new PolicyView(world.policy).isApprover(p));
  const approver = approvers.length > 0 ? fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...approvers) }, { weight: 1, arbitrary: who }) : who;
  const approve = fc.record({
    kind: fc.constant('approve' as const),
    who: approver,
    where,
    ref: fc.nat({ max: 3 }),
    deny: fc.oneof({ weight: 6, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
  });
  const revoke = fc.record({
    kind: fc.constant('revoke' as const),
    who,
    where,
    ref: fc.nat({ max: 3 }),
    target: fc.constantFrom<'request' | 'grant'>('request', 'grant'),
  });
  const glass = fc.record({
    kind: fc.constant('glass' as const),
    who: requester,
    where,
    datasets,
    categories,
    subjects,
    duration: fc.constantFrom('30m', '1h', '2h'),
  });
  const advance = fc.record({
    kind: fc.constant('advance' as const),
    ms: fc.constantFrom(1000, 60_000, 1_800_000, 3_540_000, 3_600_000, 7_200_000, 28_800_000, 90_000_000),
  });
  const access = fc.record({ kind: fc.constant('access' as const), who, where, what: fc.constantFrom<'requests' | 'grants'>('requests', 'grants') });
  const records = fc.record({ kind: fc.constant('records' as const), who, where, back: fc.nat({ max: 20 }) });
  // The SQL conditions test these columns: the operational ones any caller may filter on, and ones a caller never may.
  const sqlFilters: Record<DatasetName, string[]> = {
    users: ['country:=US', 'country:ref', 'username:ref', 'bio:ref', 'created_at:ref', 'phone_number:ref', 'email:ref', 'birthday:ref'],
    videos: ['visibility:=public', 'visibility:=private', 'view_count:ref', 'created_at:ref', 'id:ref', 'owner_uid:ref', 'caption:ref', 'draft_body:ref'],
    comments: ['video_id:ref', 'created_at:ref', 'id:ref', 'author_uid:ref', 'body:ref'],
  };
  const sql = dataset.chain((d) =>
    fc.record({
      kind: fc.constant('sql' as const),
      who,
      where,
      dataset: fc.constant(d),
      shape: fc.constantFrom<Extract<Spec, { kind: 'sql' }>['shape']>(
        ...keep<Extract<Spec, { kind: 'sql' }>['shape']>(
          'key',
          'key',
          'key',
          'list',
          'filter',
          'filter',
          'filter',
          'count',
          'order',
          'group',
          'join',
          'join',
          'nul',
          'bad-limit',
        ),
      ),
      form: fc.constantFrom<Extract<Spec, { kind: 'sql' }>['form']>('eq', 'in', 'like', 'not', 'or'),
      cols: fc.oneof(
        { weight: 1, arbitrary: fc.constant(0) },
        { weight: 4, arbitrary: fc.nat({ max: 2 ** new PolicyView(world.policy).fields(d).length - 1 }) },
      ),
      userCols: fc.nat({ max: 2 ** new PolicyView(world.policy).fields('users').length - 1 }),
      ref,
      addr,
      filter: fc.constantFrom(...sqlFilters[d]),
      limit: fc.integer({ min: 1, max: 6 }),
      params: fc.boolean(),
    }),
  );

  // fc.commands picks uniformly among these: an arbitrary listed n times is n times as likely.
  const times = (n: number, spec: fc.Arbitrary<Spec>) => Array.from({ length: n }, () => cmd(spec));
  return [
    ...times(3, read),
    ...times(staff.length > 0 ? 2 : 0, granted),
    ...times(2, list),
    ...times(1, egress),
    ...times(2, create),
    ...times(5, patch),
    ...times(1, remove),
    ...times(2, request),
    ...times(3, approve),
    ...times(1, revoke),
    ...times(1, glass),
    ...times(1, advance),
    ...times(1, access),
    ...times(1, records),
    ...times(3, sql),
  ];
}
