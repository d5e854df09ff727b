// Removes dist/ so no compiled file outlives its source (a deleted test must not keep running).
import { rmSync } from 'node:fs';
rmSync('dist', { recursive: true, force: true });
