// cordon.yaml `flows.audit`: where cordon reads each PostgreSQL enclave store's own audit trail (the
// server's csvlog with pgaudit's lines), and which database roles are cordon's own (every other
// role's read of an enclave table is a backdoor).

import type { Enclave, FlowAuditSource, StoreConfig } from './model.js';
import { type IssueList, type Node, type YamlFile, isMap, readBoolean, readList, readMap, readString, readStringList } from './yaml-source.js';
import { didYouMean } from '../shared/suggest.js';

export function readFlowAudit(
  f: YamlFile,
  flowsNode: Node | null | undefined,
  issues: IssueList,
  stores: ReadonlyMap<string, StoreConfig>,
  enclaves: ReadonlyMap<string, Enclave>,
): FlowAuditSource[] {
  if (!isMap(flowsNode) || !flowsNode.has('audit')) return [];
  const out: FlowAuditSource[] = [];
  const enclaveStores = new Set([...enclaves.values()].map((e) => e.store));
  for (const item of readList(f, flowsNode.get('audit', true) as Node | null, issues, `flows.audit`) ?? []) {
    const spec = readMap(f, item, issues, 'an item of flows.audit', {
      required: ['store'],
      optional: ['csvlog', 'pg_stat_statements', 'roles', 'description'],
    });
    if (!spec) continue;
    const statements = spec.has('pg_stat_statements')
      ? readBoolean(f, spec.get('pg_stat_statements')!.value, issues, 'pg_stat_statements of flows.audit')
      : undefined;
    if (spec.has('csvlog') === (statements === true))
      issues.error(
        f.pos(item),
        'policy.invalid_value',
        'an item of flows.audit reads either a csvlog (csvlog: PATH, with pgaudit) or pg_stat_statements (pg_stat_statements: true, where pgaudit is absent): give exactly one',
      );
    const storeNode = spec.get('store')?.value ?? null;
    const store = spec.has('store') ? readString(f, storeNode, issues, 'store of flows.audit') : undefined;
    const csvlog = spec.has('csvlog') ? readString(f, spec.get('csvlog')!.value, issues, `csvlog of flows.audit ${store ?? '?'}`) : undefined;
    const roles = spec.has('roles') ? (readStringList(f, spec.get('roles')!.value, issues, `roles of flows.audit ${store ?? '?'}`) ?? []) : [];
    if (store !== undefined && !stores.has(store)) {
      issues.error(
        f.pos(storeNode),
        'policy.unknown_store',
        `flows.audit names store ${JSON.stringify(store)}, which stores does not define${didYouMean(store, stores.keys())}`,
      );
    } else if (store !== undefined && !enclaveStores.has(store)) {
      issues.error(
        f.pos(storeNode),
        'policy.invalid_value',
        `flows.audit names store ${JSON.stringify(store)}, which is no enclave's store: only enclave stores are audited`,
      );
    }
    if (store !== undefined && out.some((s) => s.store === store))
      issues.error(f.pos(storeNode), 'policy.duplicate_key', `flows.audit names store ${store} twice`);
    if (store !== undefined && (csvlog !== undefined || statements === true))
      out.push({ store, ...(csvlog !== undefined ? { csvlog } : { pgStatStatements: true as const }), roles: roles.map((r) => r.value) });
  }
  return out;
}
