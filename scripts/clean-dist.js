// Removes dist/ so no compiled file outlives its source (a deleted test must not keep running).
// dist/pglite-template/ stays: it is made from the installed PGlite, not from our source, takes
// seconds to make, and scripts/pglite-template.js replaces it when PGlite changes.
import { existsSync, readdirSync, rmSync } from 'node:fs';
if (existsSync('dist')) for (const f of readdirSync('dist')) if (f !== 'pglite-template') rmSync(`dist/${f}`, { recursive: true, force: true });
