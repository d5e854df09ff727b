// Benchmark: one field decision (the clear > tokenized > masked ladder) by the compiled engine and
// by cedar-wasm's statefulIsAuthorized, on the same random requests over the demo policy, in one
// run. Every request is also a differential case: both engines must give the same disclosure,
// rules, reason and steps. Prints a table, then one JSON line.
//
//   npm run bench -- decide [--cases N] [--timed N]

import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import * as cedar from '../src/policy/cedar.js';
import { createDecider, loadPolicy, type FieldDecision, type FieldRequest, type GrantInfo, type Policy } from '../src/policy/index.js';
import { cedarCall, preparseRules } from '../src/policy/reference.js';
import { contextRecord, fieldEntity, principalEntity, teamEntities, type EvalRequest } from '../src/policy/request.js';
import { classOf } from '../src/policy/classes.js';
import { READ_ACTIONS } from '../src/policy/model.js';
import { mulberry32 } from '../test/helpers/differential.js';

const { values: opts } = parseArgs({
  options: { cases: { type: 'string', default: '100000' }, timed: { type: 'string', default: '4000' }, seed: { type: 'string', default: '20261124' } },
});
const CASES = Number(opts.cases);
const TIMED = Math.min(Number(opts.timed), CASES);
const policyDir = fileURLToPath(new URL('../../policies/demo', import.meta.url));

const loaded = loadPolicy(policyDir);
if (!loaded.ok) throw new Error('the demo policy must load');
const policy: Policy = loaded.policy;
const rand = mulberry32(Number(opts.seed));
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
const principals = [...policy.directory.principals.keys()];
const fields = [...policy.datasets.values()].flatMap((d) => [...d.fields.values()].map((f) => ({ d, f })));
const jurisdictions = [...policy.deployment.jurisdictions.keys()];
const countries = ['US', 'US', 'US', 'CN', 'IE', 'DE', 'BR', 'SG'];
const NOW = Date.parse('2026-06-01T12:00:00Z');

function randomRequest(): FieldRequest {
  const { d, f } = pick(fields);
  const categories = [f.category, ...f.conditions.map((c) => c.category)];
  const grants: GrantInfo[] = [];
  if (rand() < 0.3) {
    grants.push({
      id: 'g',
      datasets: [d.name],
      categories: [pick(['user', 'user.contact', 'user.content', 'user.device', 'user.demographic'])],
      subjects: rand() < 0.5 ? ['s1'] : undefined,
      expiresAt: NOW + (rand() < 0.8 ? 3_600_000 : -1),
      reason: 'USER_SUPPORT',
    });
  }
  return {
    principal: pick(principals),
    action: rand() < 0.9 ? 'read' : 'write',
    dataset: d.name,
    field: f.name,
    category: pick(categories),
    jurisdiction: pick(jurisdictions),
    subject: pick(['s1', 's2']),
    context: { country: pick(countries), site: pick(['austin', 'beijing', 'dublin', '']), grants, now: NOW },
  };
}

const requests = Array.from({ length: CASES }, randomRequest);
const compiled = createDecider(policy, { engine: 'compiled' });
const reference = createDecider(policy, { engine: 'cedar' });

// Differential: every request through both engines.
function same(a: FieldDecision, b: FieldDecision): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}
let disagreements = 0;
let cedarCalls = 0;
const disclosures: Record<string, number> = {};
for (const req of requests) {
  const a = compiled.decideField(req);
  const b = reference.decideField(req);
  cedarCalls += b.steps.length;
  disclosures[a.disclosure] = (disclosures[a.disclosure] ?? 0) + 1;
  if (!same(a, b)) disagreements++;
}

function median(xs: number[]): number {
  const s = [...xs].sort((x, y) => x - y);
  return s[Math.floor(s.length / 2)]!;
}
function p99(xs: number[]): number {
  const s = [...xs].sort((x, y) => x - y);
  return s[Math.floor(s.length * 0.99)]!;
}

/** ns per call of `fn(req)`, per request, each timed over `reps` repetitions (after a warm-up pass). */
function timePerRequest<T>(items: readonly T[], reps: number, fn: (x: T) => unknown): number[] {
  for (const x of items) fn(x);
  return items.map((x) => {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < reps; i++) fn(x);
    return Number(process.hrtime.bigint() - t0) / reps;
  });
}

const timed = requests.slice(0, TIMED);
const compiledNs = timePerRequest(timed, 200, (r) => compiled.decideField(r));
const cedarNs = timePerRequest(timed, 3, (r) => reference.decideField(r));

// The bare cedar-wasm cost: prebuilt statefulIsAuthorized calls for the same ladder steps, so
// nothing but the wasm call is timed (the most favourable view of cedar-wasm).
const setId = preparseRules(policy.rules);
const teams = teamEntities(policy);
const bareCalls = timed.map((req) => {
  const d = compiled.decideField(req);
  const p = principalEntity(policy, policy.directory.principals.get(req.principal as string)!);
  const cls = classOf(policy.classes, policy.taxonomy, req.jurisdiction, req.category!);
  const resource = fieldEntity(policy, { dataset: req.dataset, field: req.field, category: req.category!, class: cls, jurisdiction: req.jurisdiction });
  const context = contextRecord({
    country: req.context.country,
    site: req.context.site ?? '',
    reason: '',
    ticket: '',
    grant: { active: d.grant !== undefined, id: d.grant ?? '', reason: d.grant ? 'USER_SUPPORT' : '', breakGlass: false },
  });
  const entities = new Map([...teams].filter(([k]) => p.ancestors.has(k)));
  return d.steps.map((s) => cedarCall(setId, { principal: p, action: s.action, resource, context, entities } satisfies EvalRequest));
});
const bareNs = timePerRequest(bareCalls, 3, (calls) => {
  for (const c of calls) cedar.statefulIsAuthorized(c);
});

const mCompiled = median(compiledNs);
const mCedar = median(cedarNs);
const mBare = median(bareNs);
const ratio = mCedar / mCompiled;
const bareRatio = mBare / mCompiled;
const fmt = (n: number) => n.toFixed(0).padStart(10);
process.stdout.write(
  [
    `decide — demo policy (${policy.rules.length} rules), ${CASES} random field requests, ${TIMED} timed; seed ${opts.seed}`,
    `read actions asked per field: up to ${READ_ACTIONS.length}; cedar-wasm calls in the differential: ${cedarCalls}`,
    '',
    'engine                                   median ns/field     p99 ns/field',
    `compiled (closures)                      ${fmt(mCompiled)}       ${fmt(p99(compiledNs))}`,
    `cedar-wasm statefulIsAuthorized (ladder) ${fmt(mCedar)}       ${fmt(p99(cedarNs))}`,
    `cedar-wasm, prebuilt calls only          ${fmt(mBare)}       ${fmt(p99(bareNs))}`,
    '',
    `ratio (cedar-wasm / compiled): ${ratio.toFixed(1)}x   (prebuilt calls only: ${bareRatio.toFixed(1)}x; goal >= 30x)`,
    `differential cases: ${CASES}, disagreements: ${disagreements}; disclosures: ${Object.entries(disclosures)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}`,
    '',
  ].join('\n'),
);
process.stdout.write(
  `${JSON.stringify({ bench: 'decide', ratio: Number(ratio.toFixed(1)), ratio_prebuilt: Number(bareRatio.toFixed(1)), median_ns: Math.round(mCompiled), cedar_median_ns: Math.round(mCedar), cedar_prebuilt_median_ns: Math.round(mBare), cases: CASES, disagreements })}\n`,
);
process.exitCode = disagreements === 0 ? 0 : 1;
