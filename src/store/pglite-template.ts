// A new embedded store starts as a copy of an empty PostgreSQL data directory that the build made
// once (scripts/pglite-template.js), not by running initdb: initdb costs 5–10 s of CPU per store
// (three stores make a fresh `cordon up --demo` wait for it three times), and the WASM memory of the
// PGlite instance that ran it stays behind in the process (about 250 MB resident for three).

import { cpSync, existsSync, readdirSync, readFileSync, renameSync, rmdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Where the build puts templates: `<dist>/pglite-template/<PGlite version>/`. */
export const PGLITE_TEMPLATE_DIR = fileURLToPath(new URL('../../pglite-template/', import.meta.url));

/** The installed PGlite's version, or undefined if its package.json cannot be read. */
export function pgliteVersion(): string | undefined {
  try {
    // The package's exports leave out package.json: look for it above the entry point.
    let dir = dirname(createRequire(import.meta.url).resolve('@electric-sql/pglite'));
    for (let i = 0; i < 3; i++, dir = dirname(dir)) {
      const file = join(dir, 'package.json');
      if (!existsSync(file)) continue;
      const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name?: string; version?: string };
      if (pkg.name === '@electric-sql/pglite') return pkg.version;
    }
  } catch {
    // No version, so no template: the store runs initdb.
  }
  return undefined;
}

/** The template directory for PGlite `version`: where the build writes it and a store looks for it. */
export function pgliteTemplateDir(version: string, dir: string = PGLITE_TEMPLATE_DIR): string {
  return join(dir, version);
}

/**
 * The template made for the installed PGlite, or undefined: not built, or built for another PGlite
 * (a data directory is readable only by the PostgreSQL build that made it).
 */
export function pgliteTemplate(dir: string = PGLITE_TEMPLATE_DIR): string | undefined {
  const version = pgliteVersion();
  if (version === undefined) return undefined;
  const template = pgliteTemplateDir(version, dir);
  return existsSync(join(template, 'PG_VERSION')) ? template : undefined;
}

/**
 * The template as a gzipped tar archive (`<template>.tar.gz`, made by the build beside the directory), which an
 * in-memory store loads instead of running initdb: about 2 s of CPU instead of 5–8 s. Undefined when
 * the build made none (no `tar` on the machine): such stores run initdb. The archive is of the
 * directory as the build left it, shut down cleanly; an archive of a running instance
 * (PGlite's dumpDataDir) starts in crash recovery and leaves a timer that keeps the process alive.
 */
export function pgliteTemplateArchive(template: string | undefined = pgliteTemplate()): string | undefined {
  if (template === undefined) return undefined;
  const archive = `${template}.tar.gz`;
  return existsSync(archive) ? archive : undefined;
}

/** True when `dir` does not exist or holds nothing: no store was ever started there. */
export function isUnstartedDir(dir: string): boolean {
  return !existsSync(dir) || readdirSync(dir).length === 0;
}

/**
 * Copies the template into `dir`, which must be unstarted (see isUnstartedDir; otherwise this throws). The copy is made
 * beside `dir` and renamed into place, so a crash half-way never leaves a data directory that
 * PGlite would take for a whole one. Files are copied by the kernel, not read into memory.
 */
export function copyTemplate(template: string, dir: string): void {
  if (!isUnstartedDir(dir)) throw new Error(`${dir} is not empty: a store's data directory is never overwritten with the template`);
  const staging = `${dir}.copying-${process.pid}`;
  rmSync(staging, { recursive: true, force: true });
  try {
    cpSync(template, staging, { recursive: true, errorOnExist: true, force: false });
    if (existsSync(dir)) rmdirSync(dir); // empty (rmdir fails on anything else)
    renameSync(staging, dir);
  } catch (err) {
    rmSync(staging, { recursive: true, force: true });
    throw err;
  }
}
