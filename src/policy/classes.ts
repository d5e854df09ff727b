// classes.yaml: how each category is treated per jurisdiction (protected / excepted / public).
// A category takes the class of its most specific listed ancestor; unlisted means `default`, which
// itself defaults to protected (unclassified means protected).

import { DATA_CLASSES, type Classes, type DataClass, type Deployment, type Taxonomy } from './model.js';
import { type IssueList, type YamlFile, readMap, readString, readStringList } from './yaml-source.js';
import { didYouMean } from '../shared/suggest.js';

export const CLASSES_FILE = 'classes.yaml';
export const DEFAULT_CLASS: DataClass = 'protected';

function isDataClass(s: string): s is DataClass {
  return (DATA_CLASSES as readonly string[]).includes(s);
}

/** Reads classes.yaml. Without a deployment (cordon.yaml failed), jurisdiction names go unchecked. */
export function readClasses(f: YamlFile, deployment: Deployment | undefined, taxonomy: Taxonomy, issues: IssueList): Classes | undefined {
  if (!f.ok) return undefined;
  const before = issues.errorCount;
  const top = readMap(f, f.root, issues, CLASSES_FILE);
  if (!top) return undefined;
  let def: DataClass = DEFAULT_CLASS;
  const listed = new Map<string, Map<string, DataClass>>();
  for (const e of top.values()) {
    if (e.key === 'default') {
      const v = readString(f, e.value, issues, 'default');
      if (v !== undefined && !isDataClass(v)) issues.error(f.pos(e.value), 'policy.invalid_value', `default must be one of ${DATA_CLASSES.join(', ')}`);
      else if (v !== undefined) def = v;
      continue;
    }
    if (deployment && !deployment.jurisdictions.has(e.key)) {
      const hint = didYouMean(e.key, [...deployment.jurisdictions.keys(), 'default']);
      issues.error(
        f.pos(e.keyNode),
        'policy.unknown_jurisdiction',
        `unknown jurisdiction ${JSON.stringify(e.key)}${hint} (jurisdictions are defined in cordon.yaml)`,
      );
      continue;
    }
    const spec = readMap(f, e.value, issues, `classes of ${e.key}`, { optional: DATA_CLASSES });
    if (!spec) continue;
    const map = new Map<string, DataClass>();
    for (const cls of DATA_CLASSES) {
      const entry = spec.get(cls);
      if (!entry) continue;
      for (const item of readStringList(f, entry.value, issues, `${e.key}.${cls}`) ?? []) {
        const cat = taxonomy.resolve(item.value);
        if (!cat) {
          issues.error(
            f.pos(item.node),
            'policy.unknown_category',
            `unknown category ${JSON.stringify(item.value)}${didYouMean(item.value, taxonomy.categories.keys())}`,
          );
          continue;
        }
        const prior = map.get(cat.key);
        if (prior !== undefined) {
          issues.error(f.pos(item.node), 'policy.duplicate_classification', `category ${cat.key} is already ${prior} in ${e.key}`);
          continue;
        }
        map.set(cat.key, cls);
      }
    }
    listed.set(e.key, map);
  }
  return issues.errorCount > before ? undefined : { default: def, listed };
}

/** The class of `category` in `jurisdiction`: its most specific listed ancestor's, else the default. */
export function classOf(classes: Classes, taxonomy: Taxonomy, jurisdiction: string, category: string): DataClass {
  const map = classes.listed.get(jurisdiction);
  const cat = taxonomy.resolve(category);
  if (!map || !cat) return classes.default;
  for (const key of cat.lineage) {
    const cls = map.get(key);
    if (cls !== undefined) return cls;
  }
  return classes.default;
}
