// The compiled evaluator agrees with cedar-wasm: on random decide() requests against the demo policy
// and on random policy sets over random requests (see helpers/differential.ts), at a smoke size;
// test/differential.slow.test.ts runs 100,000 of each. DIFF_SEED=… replays another seed.
import { test } from 'node:test';
import { checkDifferential } from './helpers/differential.js';

test('the compiled evaluator agrees with cedar-wasm on demo decisions and random policy sets', (t) =>
  checkDifferential(t, { demoCases: 2_000, randomCases: 2_000 }));
