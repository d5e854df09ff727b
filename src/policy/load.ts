// Loading a policy directory: every file is read and checked, all errors are reported at once, and
// a Policy is returned only when there are none (a policy with any error loads nothing).

import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Policy, PolicyIssue } from './model.js';
import { IssueList, YamlFile } from './yaml-source.js';
import { DEPLOYMENT_FILE, readDeployment } from './deployment.js';
import { buildTaxonomy, readCategoryFile, type RawCategory } from './taxonomy.js';
import { readDatasetFile, resolveCatalog, type RawDataset } from './catalog.js';
import { CLASSES_FILE, readClasses } from './classes.js';
import { DIRECTORY_FILE, readDirectory } from './directory.js';
import { loadRules, type RuleFile } from './rules.js';
import { generateCedarSchema } from './schema.js';

export const TAXONOMY_FILE = 'taxonomy.yaml';
export const CATALOG_DIR = 'catalog';
export const RULES_DIR = 'rules';

export type LoadResult = { ok: true; policy: Policy; issues: PolicyIssue[] } | { ok: false; issues: PolicyIssue[] };

function listFiles(dir: string, sub: string, ...exts: string[]): string[] {
  const full = join(dir, sub);
  if (!existsSync(full) || !statSync(full).isDirectory()) return [];
  return readdirSync(full)
    .filter((n) => exts.some((ext) => n.endsWith(ext)))
    .sort()
    .map((n) => `${sub}/${n}`);
}

function sortIssues(items: PolicyIssue[]): PolicyIssue[] {
  return [...items].sort((a, b) => a.file.localeCompare(b.file) || a.line - b.line || a.col - b.col || a.code.localeCompare(b.code));
}

/** Loads and checks the policy in `dir`. Never throws for bad policy input; throws only for bugs. */
export function loadPolicy(dir: string): LoadResult {
  const issues = new IssueList();
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    issues.error({ file: dir, line: 1, col: 1 }, 'policy.missing_file', `${dir} is not a directory`);
    return { ok: false, issues: issues.items };
  }
  const hash = createHash('sha256');
  const read = (rel: string): string => {
    const text = readFileSync(join(dir, rel), 'utf8');
    hash.update(`${rel}\0${text.length}\0`).update(text);
    return text;
  };
  const yamlFile = (rel: string, required: boolean): YamlFile | undefined => {
    if (!existsSync(join(dir, rel))) {
      if (required) issues.error({ file: rel, line: 1, col: 1 }, 'policy.missing_file', `${rel} is missing`);
      return undefined;
    }
    return new YamlFile(rel, read(rel), issues);
  };

  const directoryFile = yamlFile(DIRECTORY_FILE, true);
  const directory = directoryFile && readDirectory(directoryFile, issues);

  const deploymentFile = yamlFile(DEPLOYMENT_FILE, true);
  const deployment = deploymentFile && readDeployment(deploymentFile, issues, directory);

  const taxonomyFile = yamlFile(TAXONOMY_FILE, false);
  const extra: RawCategory[] = taxonomyFile ? readCategoryFile(taxonomyFile, issues, 'policy') : [];
  const taxonomy = buildTaxonomy(extra, issues);

  const rawDatasets: RawDataset[] = [];
  const catalogFiles = listFiles(dir, CATALOG_DIR, '.yaml', '.yml');
  if (catalogFiles.length === 0)
    issues.error({ file: CATALOG_DIR, line: 1, col: 1 }, 'policy.missing_file', `no datasets: ${CATALOG_DIR}/*.yaml is empty or missing`);
  for (const rel of catalogFiles) {
    const d = readDatasetFile(new YamlFile(rel, read(rel), issues), issues);
    if (d) rawDatasets.push(d);
  }
  const datasets = taxonomy && resolveCatalog(rawDatasets, taxonomy, issues);

  const classesFile = yamlFile(CLASSES_FILE, true);
  const classes = classesFile && taxonomy ? readClasses(classesFile, deployment, taxonomy, issues) : undefined;

  const ruleFiles: RuleFile[] = listFiles(dir, RULES_DIR, '.cedar').map((rel) => ({ path: rel, text: read(rel) }));
  // Parts of the policy that failed are left out of the rules' checks rather than failing them all.
  const rules = loadRules(ruleFiles, { deployment, taxonomy, datasets, directory }, issues);
  if (ruleFiles.length === 0 || rules?.length === 0)
    issues.error({ file: RULES_DIR, line: 1, col: 1 }, 'policy.no_rules', `no rules: ${RULES_DIR}/*.cedar holds no rule, so every field would be withheld`);

  if (issues.errorCount > 0 || !deployment || !taxonomy || !datasets || !classes || !directory || !rules) {
    return { ok: false, issues: sortIssues(issues.items) };
  }
  const policy: Policy = {
    dir,
    versionHash: hash.digest('hex'),
    deployment,
    taxonomy,
    datasets,
    classes,
    directory,
    rules,
    cedarSchema: generateCedarSchema(),
    warnings: issues.items,
  };
  return { ok: true, policy, issues: sortIssues(issues.items) };
}

/** `file:line:col code message`, the one format every policy error is printed in. */
export function formatIssue(i: PolicyIssue): string {
  const tag = i.severity === 'warning' ? ' (warning)' : '';
  return `${i.file}:${i.line}:${i.col} ${i.code}${tag} ${i.message}`;
}
