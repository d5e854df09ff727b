// Builds the empty data directory that new embedded stores start from (src/store/pglite-template.ts):
// PGlite's initdb, run once here rather than once per store at `cordon up` (5–10 s each), into
// dist/pglite-template/<PGlite version>/. Kept across builds (scripts/clean-dist.js leaves the
// folder) and made again only for another PGlite version, whose stores could not read it.
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { basename, join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { PGLITE_TEMPLATE_DIR, pgliteTemplateDir, pgliteVersion } from '../dist/src/store/pglite-template.js';

const version = pgliteVersion();
if (version === undefined) {
  process.stderr.write('pglite-template: cannot tell the installed PGlite version; embedded stores will run initdb\n');
  process.exit(0);
}
const template = pgliteTemplateDir(version);
mkdirSync(PGLITE_TEMPLATE_DIR, { recursive: true });
for (const f of readdirSync(PGLITE_TEMPLATE_DIR)) if (f !== basename(template)) rmSync(join(PGLITE_TEMPLATE_DIR, f), { recursive: true, force: true });
if (!existsSync(join(template, 'PG_VERSION'))) {
  // Made beside its place and renamed, so that an interrupted build leaves no half template.
  const staging = `${template}.making-${process.pid}`;
  rmSync(template, { recursive: true, force: true });
  const db = await PGlite.create(staging);
  await db.close();
  renameSync(staging, template);
}
