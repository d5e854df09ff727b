import { test } from 'node:test';
import assert from 'node:assert/strict';
import { accessRecordFields, canonicalJson, checkLogRecord } from '../log/index.js';
import { createDecider, loadPolicy, type GrantInfo } from '../policy/index.js';
import { fileURLToPath } from 'node:url';
import { mulberry32 } from '../shared/random.js';
import { accessRecord, encodeAccessRecord } from './recorder.js';

const DEMO_POLICY = fileURLToPath(new URL('../../../policies/demo', import.meta.url));

test('encodeAccessRecord writes exactly what canonicalJson writes, over many decisions and odd strings', () => {
  const loaded = loadPolicy(DEMO_POLICY);
  assert.ok(loaded.ok);
  const policy = loaded.policy;
  // As written: legacy-admin's standing rule beside the others gives fields several permitting rules.
  const decider = createDecider(policy, { asWritten: true });
  const rand = mulberry32(7);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const principals = [...policy.directory.principals.keys()];
  const odd = ['', 'plain', 'quote " and \\ backslash', 'line\nbreak\ttab', 'ünïcödé ☃', '\u0000\u001f', '\ud83d\ude00'];
  const now = Date.now();
  let n = 0;
  let granted = 0;
  let withRules = 0;
  for (let i = 0; i < 1000; i++) {
    const dataset = pick([...policy.datasets.keys()]);
    const d = policy.datasets.get(dataset)!;
    const record: Record<string, unknown> = {};
    for (const f of d.fields.keys()) record[f] = rand() < 0.8 ? `v${i}` : null;
    if (d.jurisdictionField) record[d.jurisdictionField] = pick(['US', 'DE', 'BR', 'ZZ']);
    const grants: GrantInfo[] =
      rand() < 0.5
        ? [
            {
              id: pick(odd) || 'g',
              datasets: [dataset],
              categories: ['user'],
              expiresAt: now + 60_000,
              reason: pick(odd),
              ticket: pick(odd),
              breakGlass: rand() < 0.5,
            },
          ]
        : [];
    const decision = decider.decide({
      principal: pick(principals),
      action: pick(['read', 'write'] as const),
      dataset,
      record,
      context: { country: pick(['US', 'CN', 'IE']), site: pick(odd), grants, now, subjectJurisdiction: pick(['US', 'EU', undefined]) },
    });
    const base = accessRecord(
      decision,
      pick(['read', 'write', 'delete', 'decide'] as const),
      { country: pick(odd), site: pick(odd) },
      rand() < 0.3 ? null : pick(odd),
      pick(['released', 'refused', 'permitted', 'failed'] as const),
      new Date(now + i),
      {
        grants,
        enclaveCountries: (j) => (j === 'US' ? ['US'] : rand() < 0.5 ? [] : [pick(odd), 'IE']),
      },
    );
    // Writes may carry what they moved or declassified, and a failure the record it follows.
    const effects =
      rand() < 0.4
        ? Array.from({ length: Math.floor(rand() * 3) }, () => ({
            action: pick(['transfer', 'declassify'] as const),
            dataset: pick(odd),
            field: pick(odd),
            from: pick(odd),
            to: pick(odd),
            allowed: rand() < 0.5,
            rules: rand() < 0.5 ? [] : [pick(odd), pick(odd)],
          }))
        : undefined;
    const r = { ...base, ...(effects === undefined ? {} : { effects }), ...(rand() < 0.2 ? { follows: Math.floor(rand() * 1e9) } : {}) };
    assert.equal(encodeAccessRecord(r), canonicalJson(r), `record ${i}`);
    // v2 groups the fields: read back, each decided field is there once, as decided.
    const row = (f: { field: string; category?: string | null; class?: string | null; disclosure: string; rules: readonly string[] }) =>
      JSON.stringify([f.field, f.category ?? null, f.class ?? null, f.disclosure, f.rules]);
    assert.deepEqual(accessRecordFields(r).map(row).sort(), decision.fields.map(row).sort(), `record ${i}: fields as decided`);
    assert.equal(
      new Set(r.fields.map((g) => JSON.stringify([g.class, g.disclosure, g.rules]))).size,
      r.fields.length,
      `record ${i}: one group per way of deciding`,
    );
    // (The subjects here are odd strings, not keyed hashes as the gateway writes them.)
    assert.equal(checkLogRecord({ ...JSON.parse(encodeAccessRecord(r)), subject: null }, 'append'), undefined, `record ${i}: fits access_record v2`);
    n++;
    if (r.grant !== null) granted++;
    if (r.fields.some((g) => g.rules.length > 1)) withRules++;
  }
  assert.equal(n, 1000);
  assert.ok(granted > 20 && withRules > 20, `grants ${granted}, several rules ${withRules}`);
});

test('a v2 record groups fields decided alike, with odd field names in canonical order', () => {
  const odd = ['zeta', 'Alpha', 'ünïcödé', '\ud83d\ude00', 'a"b', ''];
  const decision = {
    principal: 'p',
    action: 'read' as const,
    dataset: 'd',
    jurisdiction: 'US',
    subject: undefined,
    policyVersion: 'pv',
    fields: odd.map((field, i) => ({
      field,
      disclosure: i % 2 === 0 ? ('clear' as const) : ('withheld' as const),
      category: i === 5 ? undefined : `cat.${i}`,
      class: i % 2 === 0 ? ('public' as const) : ('protected' as const),
      jurisdiction: 'US',
      rules: i % 2 === 0 ? ['public-clear'] : [],
      reason: 'permitted' as const,
      mask: undefined,
      grant: undefined,
      steps: [],
    })),
  };
  const r = accessRecord(decision, 'read', { country: 'US', site: 's' }, null, 'released');
  assert.equal(r.v, 2);
  assert.deepEqual(
    r.fields.map((g) => [g.class, g.disclosure, g.rules, Object.keys(g.fields).length]),
    [
      ['public', 'clear', ['public-clear'], 3],
      ['protected', 'withheld', [], 3],
    ],
  );
  assert.equal(encodeAccessRecord(r), canonicalJson(r));
  assert.equal(accessRecordFields(r).find((f) => f.field === '')?.category, null, 'an unclassified field keeps its null category');
});

test('records of a repeated decision share their frozen groups, encoded once; another sequence of decisions is grouped afresh', () => {
  const loaded = loadPolicy(DEMO_POLICY);
  assert.ok(loaded.ok);
  const decider = createDecider(loaded.policy);
  const now = Date.now();
  const ask = (country: string) =>
    decider.decide({
      principal: 'austin-engineer',
      action: 'read',
      dataset: 'users',
      record: { uid: 'demo-us-1', country: 'US', username: 'u', phone_number: '+15125550101', email: 'a@example.com' },
      context: { country, site: 'austin', grants: [], now },
    });
  const a = accessRecord(ask('US'), 'read', { country: 'US', site: 'austin' }, null, 'released');
  const b = accessRecord(ask('US'), 'read', { country: 'US', site: 'austin' }, null, 'released');
  assert.equal(a.fields, b.fields, 'the same groups');
  assert.ok(Object.isFrozen(a.fields) && a.fields.every((g) => Object.isFrozen(g) && Object.isFrozen(g.fields)));
  assert.equal(encodeAccessRecord(b), canonicalJson(b));
  const c = accessRecord(ask('CN'), 'read', { country: 'CN', site: 'beijing' }, null, 'released');
  assert.notEqual(c.fields, a.fields);
  assert.notDeepEqual(c.fields, a.fields, 'decided otherwise from Beijing');
  assert.equal(encodeAccessRecord(c), canonicalJson(c));
});
