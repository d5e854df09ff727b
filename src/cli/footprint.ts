// V8 settings for the long-running server (`cordon up`), set by bin/cordon.js before any code or
// WebAssembly is compiled. What each saved on the demo (issue 17), resident once its world is seeded:
// - `--optimize-for-size`: seeding 50,000 records grows V8's old generation to 130–200 MB, nearly
//   all garbage, and an idle server never collects and shrinks it again; with it the heap stays at
//   40–60 MB.
// - `--liftoff-only`: PGlite's 9 MB of WebAssembly is otherwise compiled a second time by the
//   optimizing tier, on background threads whose malloc arenas then keep 40–60 MB. PGlite answers as
//   fast on the baseline tier's code: its queries are short, and their cost is mostly on the JS side.

import { setFlagsFromString } from 'node:v8';

export const SERVER_V8_FLAGS: readonly string[] = ['--optimize-for-size', '--liftoff-only'];

/**
 * Applies SERVER_V8_FLAGS to this process. To have its whole effect it MUST run before any
 * WebAssembly is compiled (cedar-wasm compiles when it is imported, PGlite when a store opens);
 * what was compiled before keeps its tier.
 */
export function preferSmallFootprint(): void {
  for (const flag of SERVER_V8_FLAGS) setFlagsFromString(flag);
}
