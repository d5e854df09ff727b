// Paths tests use, resolved from the repository root (tests run from dist/, compiled).
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

export const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const DEMO_POLICY = join(ROOT, 'policies/demo');
export const FIXTURES = join(ROOT, 'test/fixtures');
export const CLI = join(ROOT, 'bin/cordon.js');
