// Rewrites the table of docs/errors.md from the registry in src/shared/errors.ts (run after a build:
// `npm run build && node scripts/gen-error-docs.js`). src/shared/errors.test.ts checks they agree.
import { readFileSync, writeFileSync } from 'node:fs';

const { ERROR_CODES } = await import('../dist/src/shared/errors.js');
const doc = readFileSync('docs/errors.md', 'utf8');
const head = doc.slice(0, doc.indexOf('| code |'));
const rows = Object.entries(ERROR_CODES).map(([code, i]) => `| \`${code}\` | ${i.status} | ${i.severity} | ${i.message} |`);
writeFileSync('docs/errors.md', `${head}${['| code | HTTP status | severity | meaning |', '|---|---|---|---|', ...rows].join('\n')}\n`);
