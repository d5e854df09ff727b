// The data-category taxonomy: fideslang's default categories (shipped as data, CC BY 4.0), cordon's
// extensions, and a policy's own additions, with deprecated keys read as aliases.

import { readFileSync } from 'node:fs';
import { parse as parseCsv } from 'csv-parse/sync';
import type { Category, Taxonomy } from './model.js';
import { IssueList, YamlFile, readMap, readString } from './yaml-source.js';
import { didYouMean } from '../shared/suggest.js';

const DATA_DIR = new URL('./data/', import.meta.url);
export const FIDESLANG_CSV = new URL('fideslang-data-categories.csv', DATA_DIR);
export const CORDON_CATEGORIES = new URL('cordon-categories.yaml', DATA_DIR);

/** The root of fideslang's tree; not a category anyone classifies. */
const ROOT_KEY = 'data_category';

interface RawCategory {
  key: string;
  parent: string | undefined;
  name: string;
  description: string;
  source: Category['source'];
  pos?: { file: string; line: number; col: number };
}

interface CsvRow {
  fides_key: string;
  parent_key: string;
  name: string;
  description: string;
  replaced_by: string;
  version_deprecated: string;
}

function readFideslang(): { raws: RawCategory[]; aliases: Map<string, string> } {
  const rows = parseCsv(readFileSync(FIDESLANG_CSV), { columns: true, skip_empty_lines: true }) as CsvRow[];
  const raws: RawCategory[] = [];
  const aliases = new Map<string, string>();
  for (const row of rows) {
    if (row.fides_key === ROOT_KEY) continue;
    if (row.replaced_by) {
      aliases.set(row.fides_key, row.replaced_by);
      continue;
    }
    raws.push({
      key: row.fides_key,
      parent: row.parent_key && row.parent_key !== ROOT_KEY ? row.parent_key : undefined,
      name: row.name,
      description: row.description,
      source: 'fideslang',
    });
  }
  return { raws, aliases };
}

/** Reads a taxonomy extension file (`categories: {key: {parent, name, description}}`). */
export function readCategoryFile(f: YamlFile, issues: IssueList, source: Category['source']): RawCategory[] {
  const out: RawCategory[] = [];
  if (!f.ok) return out;
  const top = readMap(f, f.root, issues, 'the taxonomy file', { required: ['categories'] });
  const cats = top?.get('categories');
  if (!cats) return out;
  const entries = readMap(f, cats.value, issues, 'categories');
  for (const e of entries?.values() ?? []) {
    const spec = readMap(f, e.value, issues, `category ${e.key}`, { required: ['parent'], optional: ['name', 'description'] });
    if (!spec) continue;
    const parentEntry = spec.get('parent');
    const parent = parentEntry ? readString(f, parentEntry.value, issues, `parent of ${e.key}`) : undefined;
    const nameEntry = spec.get('name');
    const descEntry = spec.get('description');
    out.push({
      key: e.key,
      parent,
      name: (nameEntry && readString(f, nameEntry.value, issues, `name of ${e.key}`)) ?? e.key,
      description: (descEntry && readString(f, descEntry.value, issues, `description of ${e.key}`)) ?? '',
      source,
      pos: f.pos(parentEntry?.value ?? e.keyNode),
    });
  }
  return out;
}

class TaxonomyImpl implements Taxonomy {
  constructor(
    readonly categories: ReadonlyMap<string, Category>,
    readonly aliases: ReadonlyMap<string, string>,
  ) {}
  resolve(key: string): Category | undefined {
    return this.categories.get(key) ?? this.categories.get(this.aliases.get(key) ?? '');
  }
}

/**
 * Builds the taxonomy from fideslang, cordon's extensions and `extra` (a policy's additions),
 * reporting unknown parents, redefinitions and cycles. Returns undefined when any is found.
 */
export function buildTaxonomy(extra: RawCategory[], issues: IssueList): Taxonomy | undefined {
  const { raws, aliases } = readFideslang();
  const builtinIssues = new IssueList();
  const cordonFile = new YamlFile('cordon:cordon-categories.yaml', readFileSync(CORDON_CATEGORIES, 'utf8'), builtinIssues);
  raws.push(...readCategoryFile(cordonFile, builtinIssues, 'cordon'));
  if (builtinIssues.items.length > 0) throw new Error(`cordon's own taxonomy extension is invalid: ${JSON.stringify(builtinIssues.items)}`);

  const before = issues.errorCount;
  const byKey = new Map<string, RawCategory>();
  for (const r of raws) byKey.set(r.key, r);
  for (const r of extra) {
    const pos = r.pos ?? { file: '?', line: 1, col: 1 };
    if (byKey.has(r.key) || aliases.has(r.key)) {
      issues.error(pos, 'policy.duplicate_key', `category ${r.key} is already defined by ${byKey.get(r.key)?.source ?? 'fideslang (deprecated alias)'}`);
      continue;
    }
    byKey.set(r.key, r);
  }
  for (const r of extra) {
    if (r.parent !== undefined && !byKey.has(r.parent)) {
      issues.error(
        r.pos ?? { file: '?', line: 1, col: 1 },
        'policy.unknown_parent',
        `category ${r.key} names unknown parent ${JSON.stringify(r.parent)}${didYouMean(r.parent, byKey.keys())}`,
      );
    }
  }
  // Cycles: walk each extra category's parent chain.
  const reportedCycle = new Set<string>();
  for (const r of extra) {
    const seen: string[] = [];
    let cur: RawCategory | undefined = r;
    while (cur && cur.parent !== undefined) {
      if (seen.includes(cur.key)) {
        const cycle = seen.slice(seen.indexOf(cur.key));
        const id = [...cycle].sort().join(',');
        if (!reportedCycle.has(id)) {
          reportedCycle.add(id);
          issues.error(r.pos ?? { file: '?', line: 1, col: 1 }, 'policy.taxonomy_cycle', `taxonomy cycle: ${[...cycle, cur.key].join(' -> ')}`);
        }
        break;
      }
      seen.push(cur.key);
      cur = byKey.get(cur.parent);
    }
  }
  if (issues.errorCount > before) return undefined;

  const categories = new Map<string, Category>();
  const lineageOf = (key: string): string[] => {
    const out: string[] = [];
    for (let cur = byKey.get(key); cur; cur = cur.parent === undefined ? undefined : byKey.get(cur.parent)) out.push(cur.key);
    return out;
  };
  for (const r of byKey.values()) {
    categories.set(r.key, { key: r.key, parent: r.parent, name: r.name, description: r.description, lineage: lineageOf(r.key), source: r.source });
  }
  return new TaxonomyImpl(categories, aliases);
}

export type { RawCategory };
