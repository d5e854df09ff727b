// The wall under random attack sequences at a smoke size (npm test): a few short sequences per
// driver. test/wall-model.slow.test.ts runs the same test longer; test/helpers/wall-run.ts says what
// is checked after every step, and the WALL_* variables that size and replay a run (a failure prints
// its seed and path: WALL_SEED=… WALL_PATH=…).
import { wallTests } from './helpers/wall-run.js';

wallTests({ runs: 4, steps: 40 });
