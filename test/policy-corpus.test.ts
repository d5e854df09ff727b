// Runs the YAML policy corpus (test/policy-corpus/*.yaml) through both evaluators: every case's
// expected disclosure (and rules and reason, where given) must hold for the compiled engine and
// for cedar-wasm alike.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { createDecider, loadPolicy, type GrantInfo } from '../src/policy/index.js';
import { ROOT } from './helpers/paths.js';

interface CaseGrant {
  id: string;
  datasets: string[];
  categories: string[];
  subjects?: string[];
  expires_in: number;
  not_before_in?: number;
  reason: string;
  break_glass?: boolean;
}
interface Case {
  note: string;
  principal: string;
  action: 'read' | 'write';
  dataset: string;
  record: Record<string, unknown>;
  context: { country: string; site?: string; subject_jurisdiction?: string; grants?: CaseGrant[] };
  expect: Record<string, string>;
  rules?: Record<string, string[]>;
  reason?: Record<string, string>;
}

const CORPUS = join(ROOT, 'test/policy-corpus');
const files = readdirSync(CORPUS)
  .filter((f) => f.endsWith('.yaml'))
  .sort();

test('the corpus is not empty', () => {
  assert.ok(files.length >= 1);
});

for (const file of files) {
  const doc = parse(readFileSync(join(CORPUS, file), 'utf8')) as { policy: string; now: string; cases: Case[] };
  const loaded = loadPolicy(join(ROOT, doc.policy));
  const now = Date.parse(doc.now);
  for (const engine of ['compiled', 'cedar'] as const) {
    test(`${file} with the ${engine} engine`, async (t) => {
      assert.ok(loaded.ok, `policy ${doc.policy} must load`);
      assert.ok(doc.cases.length >= 20, 'the corpus covers at least 20 cases');
      const decider = createDecider(loaded.policy, { engine });
      for (const c of doc.cases) {
        await t.test(c.note, () => {
          const grants: GrantInfo[] = (c.context.grants ?? []).map((g) => ({
            id: g.id,
            datasets: g.datasets,
            categories: g.categories,
            subjects: g.subjects,
            expiresAt: now + g.expires_in * 1000,
            notBefore: g.not_before_in === undefined ? undefined : now + g.not_before_in * 1000,
            reason: g.reason,
            breakGlass: g.break_glass,
          }));
          const d = decider.decide({
            principal: c.principal,
            action: c.action,
            dataset: c.dataset,
            record: c.record,
            context: { country: c.context.country, site: c.context.site, subjectJurisdiction: c.context.subject_jurisdiction, grants, now },
          });
          const byField = new Map(d.fields.map((f) => [f.field, f]));
          assert.deepEqual(
            Object.keys(c.expect).filter((k) => !byField.has(k)),
            [],
            'every expected field is decided',
          );
          for (const [field, disclosure] of Object.entries(c.expect)) {
            assert.equal(byField.get(field)!.disclosure, disclosure, `${field}: disclosure`);
          }
          for (const [field, rules] of Object.entries(c.rules ?? {})) {
            assert.deepEqual(byField.get(field)!.rules, rules, `${field}: determining rules`);
          }
          for (const [field, reason] of Object.entries(c.reason ?? {})) {
            assert.equal(byField.get(field)!.reason, reason, `${field}: reason`);
          }
        });
      }
    });
  }
}
