// V8 settings for the long-running server (`cordon up`), set by bin/cordon.js before any code or
// WebAssembly is compiled. Measured on the demo, resident once its world is seeded, and
// against serving throughput (GET of demo-us-1 at concurrency 16, A/B on the same machine):
// - `--no-wasm-dynamic-tiering --no-wasm-tier-up`: PGlite's 9 MB of WebAssembly stays on the
//   baseline compiler's code. The optimizing compiler otherwise compiles its hot functions again on
//   background threads, whose malloc arenas then keep 40–60 MB; PGlite's queries are short and
//   their cost is mostly on the JS side, so throughput did not change.
// - `--heap-growing-percent=20`: seeding 50,000 records otherwise grows V8's old generation to
//   130–200 MB, nearly all garbage, that an idle server never collects and gives back. This bounds
//   each growth step to 20% over what is live. (`--optimize-for-size` kept the heap smaller still,
//   but cost a quarter of the throughput.)

import { setFlagsFromString } from 'node:v8';

export const SERVER_V8_FLAGS: readonly string[] = ['--no-wasm-dynamic-tiering', '--no-wasm-tier-up', '--heap-growing-percent=20'];

/**
 * Applies SERVER_V8_FLAGS to this process. To have its whole effect it MUST run before any
 * WebAssembly is compiled (cedar-wasm compiles when it is imported, PGlite when a store opens);
 * what was compiled before keeps its tier.
 */
export function preferSmallFootprint(): void {
  for (const flag of SERVER_V8_FLAGS) setFlagsFromString(flag);
}
