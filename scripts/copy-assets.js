// Copies non-TypeScript assets that the compiled code reads at run time into dist/.
import { cpSync } from 'node:fs';
cpSync('src/policy/data', 'dist/src/policy/data', { recursive: true });
cpSync('src/flows/data', 'dist/src/flows/data', { recursive: true });
