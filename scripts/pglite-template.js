// Builds the empty data directory that new embedded stores start from (src/store/pglite-template.ts):
// PGlite's initdb, run once here rather than once per store at `cordon up` (5–10 s each), into
// dist/pglite-template/<PGlite version>/, and the same as a gzipped tar beside it (<version>.tar.gz),
// which in-memory stores load. Kept across builds (scripts/clean-dist.js leaves the folder) and made
// again only for another PGlite version, whose stores could not read it, or another recipe.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { basename, join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { PGLITE_TEMPLATE_DIR, pgliteTemplateDir, pgliteVersion } from '../dist/src/store/pglite-template.js';

const version = pgliteVersion();
if (version === undefined) {
  process.stderr.write('pglite-template: cannot tell the installed PGlite version; embedded stores will run initdb\n');
  process.exit(0);
}
const template = pgliteTemplateDir(version);
// How the template is made; a template made another way is made again (written beside it, last).
const RECIPE = 'initdb, then template0 and template1 dropped\n';
const recipeFile = `${template}.recipe`;
mkdirSync(PGLITE_TEMPLATE_DIR, { recursive: true });
const keep = new Set([basename(template), `${basename(template)}.tar.gz`, basename(recipeFile)]);
for (const f of readdirSync(PGLITE_TEMPLATE_DIR)) if (!keep.has(f)) rmSync(join(PGLITE_TEMPLATE_DIR, f), { recursive: true, force: true });
if (!existsSync(recipeFile) || readFileSync(recipeFile, 'utf8') !== RECIPE) rmSync(join(template, 'PG_VERSION'), { force: true });
if (!existsSync(join(template, 'PG_VERSION'))) {
  // Made beside its place and renamed, so that an interrupted build leaves no half template.
  const staging = `${template}.making-${process.pid}`;
  rmSync(template, { recursive: true, force: true });
  rmSync(`${template}.tar.gz`, { force: true });
  rmSync(recipeFile, { force: true });
  const db = await PGlite.create(staging);
  // A store uses the database `postgres` only, and never creates another: the two template
  // databases are 600 of the directory's 970 files, which every new store would copy.
  await db.exec("UPDATE pg_database SET datistemplate = false WHERE datname IN ('template0', 'template1')");
  await db.exec('DROP DATABASE template0');
  await db.exec('DROP DATABASE template1');
  await db.exec('CHECKPOINT');
  await db.close();
  renameSync(staging, template);
  writeFileSync(recipeFile, RECIPE);
}
if (!existsSync(`${template}.tar.gz`)) {
  // PGlite's loadDataDir reads a tar whose members are named from the data directory's root, with a
  // leading slash ("/PG_VERSION", "/base/1/…"), as its own dumpDataDir writes them. Made with the
  // system's tar (GNU tar on Debian); without one, in-memory stores run initdb, as before. Gzipped
  // (level 1): 40 MB become 5 MB, and PGlite loads it with less CPU than the plain tar.
  const staging = `${template}.tar.making-${process.pid}`;
  const r = spawnSync(
    'tar',
    ['--format=ustar', '--sort=name', '--owner=0', '--group=0', '--numeric-owner', '--absolute-names', '--transform', 's,^\\.,,', '-cf', staging, '.'],
    { cwd: template, encoding: 'utf8' },
  );
  if (r.status === 0) {
    writeFileSync(`${staging}.gz`, gzipSync(readFileSync(staging), { level: 1 }));
    rmSync(staging);
    renameSync(`${staging}.gz`, `${template}.tar.gz`);
  } else {
    rmSync(staging, { force: true });
    process.stderr.write(`pglite-template: no archive made (tar: ${r.error?.message ?? r.stderr.trim()}); in-memory stores will run initdb\n`);
  }
}
