// Placement over the demo policy: 10,000 mixed writes, then every column of the global store scanned
// for every value placed as protected (test/helpers/placement-writes.ts; 2,000 in npm test).
import { mixedWritesTest } from './helpers/placement-writes.js';

mixedWritesTest(10_000);
