// The compiled evaluator agrees with cedar-wasm on 100,000 random decide() requests against the
// demo policy and 100,000 random requests over random policy sets (see helpers/differential.ts).
import { test } from 'node:test';
import { checkDifferential } from './helpers/differential.js';

test('the compiled evaluator agrees with cedar-wasm on 100,000 demo decisions and 100,000 requests over random policy sets', (t) =>
  checkDifferential(t, { demoCases: 100_000, randomCases: 100_000 }));
