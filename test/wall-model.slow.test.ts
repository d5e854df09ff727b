// The wall under random attack sequences at CI size (npm run test:slow): 20 sequences of up to 80
// steps per driver. See test/helpers/wall-run.ts; WALL_RUNS=1000 WALL_STEPS=200 is about 100,000
// steps per driver.
import { wallTests } from './helpers/wall-run.js';

wallTests({ runs: 20, steps: 80 });
