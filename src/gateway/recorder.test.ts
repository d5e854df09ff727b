import { test } from 'node:test';
import assert from 'node:assert/strict';
import { canonicalJson } from '../log/index.js';
import { createDecider, loadPolicy, type GrantInfo } from '../policy/index.js';
import { fileURLToPath } from 'node:url';
import { mulberry32 } from '../shared/random.js';
import { accessRecord, encodeAccessRecord } from './recorder.js';

const DEMO_POLICY = fileURLToPath(new URL('../../../policies/demo', import.meta.url));

test('encodeAccessRecord writes exactly what canonicalJson writes, over many decisions and odd strings', () => {
  const loaded = loadPolicy(DEMO_POLICY);
  assert.ok(loaded.ok);
  const policy = loaded.policy;
  const decider = createDecider(policy);
  const rand = mulberry32(7);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const principals = [...policy.directory.principals.keys()];
  const odd = ['', 'plain', 'quote " and \\ backslash', 'line\nbreak\ttab', 'ünïcödé ☃', '\u0000\u001f', '\ud83d\ude00'];
  const now = Date.now();
  let n = 0;
  let granted = 0;
  let withRules = 0;
  for (let i = 0; i < 400; i++) {
    const dataset = pick([...policy.datasets.keys()]);
    const d = policy.datasets.get(dataset)!;
    const record: Record<string, unknown> = {};
    for (const f of d.fields.keys()) record[f] = rand() < 0.8 ? `v${i}` : null;
    if (d.jurisdictionField) record[d.jurisdictionField] = pick(['US', 'DE', 'BR', 'ZZ']);
    const grants: GrantInfo[] = rand() < 0.5 ? [{ id: pick(odd) || 'g', datasets: [dataset], categories: ['user'], expiresAt: now + 60_000, reason: pick(odd), ticket: pick(odd), breakGlass: rand() < 0.5 }] : [];
    const decision = decider.decide({ principal: pick(principals), action: pick(['read', 'write'] as const), dataset, record, context: { country: pick(['US', 'CN', 'IE']), site: pick(odd), grants, now, subjectJurisdiction: pick(['US', 'EU', undefined]) } });
    const r = accessRecord(decision, pick(['read', 'write', 'delete', 'decide'] as const), { country: pick(odd), site: pick(odd) }, rand() < 0.3 ? null : pick(odd), pick(['released', 'refused'] as const), new Date(now + i), {
      grants,
      enclaveCountries: (j) => (j === 'US' ? ['US'] : rand() < 0.5 ? [] : [pick(odd), 'IE']),
    });
    assert.equal(encodeAccessRecord(r), canonicalJson(r), `record ${i}`);
    n++;
    if (r.grant !== null) granted++;
    if (r.fields.some((f) => f.rules.length > 1)) withRules++;
  }
  assert.equal(n, 400);
  assert.ok(granted > 20 && withRules > 20, `grants ${granted}, several rules ${withRules}`);
});
