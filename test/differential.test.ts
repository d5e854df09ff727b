// The compiled evaluator agrees with cedar-wasm: on random decide() requests against the demo policy
// and on random policy sets over random requests (see helpers/differential.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runDifferential } from './helpers/differential.js';
import { DEMO_POLICY } from './helpers/paths.js';

const SEED = 0x5eed_c0de;

test('the compiled evaluator agrees with cedar-wasm on demo decisions and random policy sets', (t) => {
  t.diagnostic(`seed ${SEED}`);
  const started = performance.now();
  const r = runDifferential({ seed: SEED, demoCases: 100_000, randomCases: 100_000, policyDir: DEMO_POLICY });
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  t.diagnostic(`${r.cases} cases in ${seconds} s (demo ${(r.demo.ms / 1000).toFixed(1)} s, random ${(r.random.ms / 1000).toFixed(1)} s)`);
  t.diagnostic(`demo: ${r.demo.cases} field decisions from ${r.demo.decideCalls} decide calls, ${r.demo.steps} Cedar questions, ${r.demo.withGrant} under a grant, ${r.demo.withErrors} with rule errors; disclosures ${JSON.stringify(r.demo.disclosures)}; reasons ${JSON.stringify(r.demo.reasons)}`);
  t.diagnostic(
    `random: ${r.random.cases} requests over ${r.random.policySets} policy sets (${r.random.rules} rules, ${r.random.unparsedRules} unparsed); ` +
      `${r.random.allows} allow, ${r.random.denies} deny, ${r.random.errorAnswers} with errors, ${r.random.withReasons} with reasons; ` +
      `fallbacks ${r.random.fallbackRules} rules in ${r.random.fallbackSets} sets ${JSON.stringify(r.random.fallbackConstructs)}`,
  );
  assert.equal(r.disagreements, 0, `${r.disagreements} disagreements (seed ${SEED}), e.g.:\n\n${r.examples.join('\n\n')}`);
  assert.ok(r.cases >= 200_000, `only ${r.cases} cases`);
  assert.equal(r.demo.fallbackRules, 0, 'the demo policy compiles without fallbacks');
  assert.ok(r.fallbackRules > 0, 'some random rules fell back to cedar-wasm');
  assert.equal(r.random.thrown, 0, 'no evaluator threw');
  assert.ok(r.random.unparsedRules * 100 <= r.random.rules, `${r.random.unparsedRules} of ${r.random.rules} generated rules did not parse:\n${r.examples.join('\n\n')}`);
  assert.ok(r.random.allows > 0 && r.random.denies > 0 && r.random.errorAnswers > 0, 'random answers include allow, deny and errors');
  assert.ok(r.random.allows >= r.random.cases / 20 && r.random.denies >= r.random.cases / 20, 'neither allow nor deny is rare');
  assert.ok(r.random.errorAnswers >= r.random.cases / 50, 'errors are not rare');
  for (const reason of ['permitted', 'forbidden', 'not_permitted', 'unclassified', 'unknown_jurisdiction', 'row_condition_unknown']) {
    assert.ok((r.demo.reasons[reason] ?? 0) > 0, `some demo field decisions are ${reason}`);
  }
});
