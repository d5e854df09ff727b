// The entities and contexts cordon builds conform to the schema it generates (the reference
// evaluator does not pass the schema on every call, so this is where the two are held together).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import * as cedar from './cedar.js';
import { loadPolicy } from './load.js';
import { classOf } from './classes.js';
import { generateCedarSchema } from './schema.js';
import { contextRecord, entityJson, fieldEntity, principalEntity, teamEntities } from './request.js';
import { toCedarJson } from './values.js';

const DEMO = fileURLToPath(new URL('../../../policies/demo', import.meta.url));

test('principals, teams and every classified field of the demo are valid entities of the schema', () => {
  const r = loadPolicy(DEMO);
  assert.ok(r.ok);
  const p = r.policy;
  const entities = [...teamEntities(p).values(), ...[...p.directory.principals.values()].map((x) => principalEntity(p, x))];
  for (const d of p.datasets.values()) {
    for (const f of d.fields.values()) {
      for (const j of p.deployment.jurisdictions.keys()) {
        entities.push(
          fieldEntity(p, { dataset: d.name, field: f.name, category: f.category, class: classOf(p.classes, p.taxonomy, j, f.category), jurisdiction: j }),
        );
      }
    }
  }
  // One Field entity per uid: the per-jurisdiction variants share an id, so check them in groups.
  const byId = new Map<string, typeof entities>();
  for (const e of entities) byId.set(e.uid.key, [...(byId.get(e.uid.key) ?? []), e]);
  const rounds = Math.max(...[...byId.values()].map((v) => v.length));
  for (let i = 0; i < rounds; i++) {
    const batch = [...byId.values()]
      .map((v) => v[i])
      .filter((e) => e !== undefined)
      .map(entityJson);
    const answer = cedar.checkParseEntities({ entities: batch as never, schema: generateCedarSchema() });
    assert.deepEqual(answer, { type: 'success' });
  }
});

test('contexts are valid for every action of the schema', () => {
  const ctx = contextRecord({
    country: 'US',
    site: 'austin',
    reason: 'USER_SUPPORT',
    ticket: 'T-1',
    grant: { active: true, id: 'g', reason: 'USER_SUPPORT', breakGlass: false },
  });
  for (const action of ['disclose_clear', 'disclose_tokenized', 'disclose_masked', 'write']) {
    const answer = cedar.checkParseContext({ context: toCedarJson(ctx) as never, schema: generateCedarSchema(), action: { type: 'Action', id: action } });
    assert.deepEqual(answer, { type: 'success' }, action);
  }
  const bad = cedar.checkParseContext({ context: { country: 'US' }, schema: generateCedarSchema(), action: { type: 'Action', id: 'disclose_clear' } });
  assert.equal(bad.type, 'failure', 'a context missing attributes is rejected, so the check above can fail');
});
