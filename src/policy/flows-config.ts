// cordon.yaml `flows`: which lineage and inventory files the flow map reads, where each dataset
// namespace is (country, region, whose data it holds), which catalog dataset a lineage dataset is,
// and who may post lineage (producers).

import type { Directory, FlowPlace, FlowsConfig, StoreAlias } from './model.js';
import { type IssueList, type YamlFile, readList, readMap, readString, readStringList, type Node } from './yaml-source.js';
import { didYouMean } from '../shared/suggest.js';
import { canonicalDataset, splitDatasetUri, tableParts } from '../shared/openlineage-naming.js';

const COUNTRY = /^[A-Z]{2}$/;

export const NO_FLOWS: FlowsConfig = { lineage: [], inventory: [], places: [], datasets: new Map(), stores: [], producers: [] };

export function readFlowsConfig(
  f: YamlFile,
  node: Node | null | undefined,
  issues: IssueList,
  jurisdictions: ReadonlyMap<string, unknown>,
  /** When it loaded: producers must name its teams or principals. */
  directory?: Directory,
  /** The deployment's stores: `flows.stores` must name them. */
  stores?: ReadonlyMap<string, unknown>,
): FlowsConfig {
  if (node === undefined) return NO_FLOWS;
  const spec = readMap(f, node, issues, 'flows', { optional: ['lineage', 'inventory', 'places', 'datasets', 'stores', 'producers', 'description', 'audit'] });
  if (!spec) return NO_FLOWS;
  const paths = (key: string) =>
    (spec.has(key) ? (readStringList(f, spec.get(key)!.value, issues, `flows.${key}`) ?? []) : []).map((p) => {
      if (p.value.startsWith('/') || p.value.split('/').includes('..'))
        issues.error(f.pos(p.node), 'policy.invalid_value', `flows.${key}: ${JSON.stringify(p.value)} must be a path inside the policy directory`);
      return p.value;
    });
  const places: FlowPlace[] = [];
  for (const item of (spec.has('places') && readList(f, spec.get('places')!.value, issues, `flows.places`)) || []) {
    const p = readMap(f, item, issues, 'a place of flows.places', { required: ['namespace', 'country'], optional: ['region', 'holds', 'description'] });
    if (!p) continue;
    const namespace = p.has('namespace') ? readString(f, p.get('namespace')!.value, issues, 'namespace of a place') : undefined;
    const countryNode = p.get('country')?.value ?? null;
    const country = p.has('country') ? readString(f, countryNode, issues, 'country of a place') : undefined;
    if (country !== undefined && !COUNTRY.test(country))
      issues.error(
        f.pos(countryNode),
        'policy.invalid_value',
        `country of place ${namespace ?? '?'}: ${JSON.stringify(country)} is not an ISO 3166-1 alpha-2 country code`,
      );
    const region = p.has('region') ? readString(f, p.get('region')!.value, issues, 'region of a place') : undefined;
    const holds = p.has('holds') ? (readStringList(f, p.get('holds')!.value, issues, `holds of place ${namespace ?? '?'}`) ?? []) : [];
    for (const j of holds) {
      if (!jurisdictions.has(j.value))
        issues.error(
          f.pos(j.node),
          'policy.unknown_jurisdiction',
          `place ${namespace ?? '?'} holds unknown jurisdiction ${JSON.stringify(j.value)}${didYouMean(j.value, jurisdictions.keys())}`,
        );
    }
    if (namespace !== undefined && country !== undefined) places.push({ namespace, country, region, holds: holds.map((h) => h.value) });
  }
  const datasets = new Map<string, string>();
  for (const e of (spec.has('datasets') && readMap(f, spec.get('datasets')!.value, issues, `flows.datasets`)?.values()) || []) {
    const d = readString(f, e.value, issues, `catalog dataset of ${e.key}`);
    if (d !== undefined) datasets.set(e.key, d);
  }
  const storeAliases: StoreAlias[] = [];
  for (const e of (spec.has('stores') && readMap(f, spec.get('stores')!.value, issues, `flows.stores`)?.values()) || []) {
    if (stores && !stores.has(e.key))
      issues.error(
        f.pos(e.keyNode),
        'policy.invalid_value',
        `flows.stores names store ${JSON.stringify(e.key)}, which cordon.yaml stores does not define${didYouMean(e.key, stores.keys())}`,
      );
    for (const a of readStringList(f, e.value, issues, `flows.stores.${e.key}`) ?? []) {
      const alias = storeAlias(e.key, a.value);
      if (typeof alias === 'string') issues.error(f.pos(a.node), 'policy.invalid_value', `flows.stores.${e.key}: ${alias}`);
      else storeAliases.push(alias);
    }
  }
  const producers = spec.has('producers') ? (readStringList(f, spec.get('producers')!.value, issues, `flows.producers`) ?? []) : [];
  for (const p of directory ? producers : []) {
    if (!directory!.teams.has(p.value) && !directory!.principals.has(p.value)) {
      issues.error(
        f.pos(p.node),
        'policy.unknown_team',
        `flows.producers names ${JSON.stringify(p.value)}, which is neither a team nor a principal${didYouMean(p.value, [...directory!.teams.keys(), ...directory!.principals.keys()])}`,
      );
    }
  }
  return { lineage: paths('lineage'), inventory: paths('inventory'), places, datasets, stores: storeAliases, producers: producers.map((p) => p.value) };
}

/**
 * A store's tables as lineage names them: the URI of a table with its last part left out
 * (`postgres://enclave-us-db:5432/app.public` for PostgreSQL's database.schema.table), or why it is
 * not one.
 */
function storeAlias(store: string, uri: string): StoreAlias | string {
  const { namespace, name } = splitDatasetUri(uri);
  const c = canonicalDataset(namespace, `${name}.t`);
  const parts = tableParts(c.convention);
  if (!parts || name === '')
    return `${JSON.stringify(uri)} must name where a store's tables are, as an OpenLineage namespace and the name's leading parts (postgres://host:port/database.schema, mysql://host:port/database, bigquery/project.dataset, snowflake://org-account/database.schema)`;
  if (c.problem) return `${JSON.stringify(uri)}: ${c.problem.replace(/; .*$/, '')}; give every part but the table (${parts.slice(0, -1).join('.')})`;
  return { store, namespace: c.namespace, prefix: name };
}
