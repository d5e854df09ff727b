// Step plan: what a migration would do, table by table, from the legacy database alone.

import { classOf, fieldCategories } from '../policy/index.js';
import type { MigrateContext } from './context.js';
import { zero, add, tableLogic, tally, noteUntouched, pages, type Counts, type Untouched } from './table-logic.js';

export interface TablePlan {
  readonly table: string;
  readonly dataset: string;
  readonly columns: readonly { readonly column: string; readonly field: string; readonly kind: string; readonly classes: Readonly<Record<string, string>> }[];
  /** Legacy columns purge may clear, and protected columns kept because they identify rows. */
  readonly purgeable: readonly string[];
  readonly keptProtected: readonly string[];
  readonly counts: Counts;
  readonly byJurisdiction: Readonly<Record<string, number>>;
}

export interface PlanResult {
  readonly mapping: string;
  readonly enclave: string;
  readonly jurisdictions: readonly string[];
  readonly purge: 'null' | 'delete';
  readonly tables: readonly TablePlan[];
  readonly totals: Counts;
  readonly untouched: readonly Untouched[];
}

/** What a migration would do. Reads the legacy database only; writes nothing anywhere. */
export async function planMigration(ctx: Pick<MigrateContext, 'policy' | 'mapping' | 'legacy' | 'batchSize'>): Promise<PlanResult> {
  const { policy, mapping } = ctx;
  const enclave = policy.deployment.enclaves.get(mapping.enclave)!;
  const tables: TablePlan[] = [];
  const untouched: Untouched[] = [];
  let totals = zero();
  for (const lt of ctx.legacy.tables) {
    const t = lt.mapping;
    const logic = tableLogic(ctx, t);
    const counts = zero();
    const byJurisdiction: Record<string, number> = {};
    for await (const rows of pages(lt, null, ctx.batchSize ?? mapping.batchSize)) {
      for (const row of rows) {
        const c = logic.classify(row);
        tally(counts, c);
        if (c.kind === 'in_scope' || c.kind === 'out_of_scope') byJurisdiction[c.jurisdiction] = (byJurisdiction[c.jurisdiction] ?? 0) + 1;
        noteUntouched(untouched, t.table, row, c);
      }
    }
    const { purgeable, keptProtected } = logic.mayBeProtected();
    const columns = [{ column: t.key, field: logic.dataset.key }, ...t.columns].map((c) => {
      const f = logic.dataset.fields.get(c.field)!;
      const classes: Record<string, string> = {};
      for (const j of enclave.jurisdictions) {
        const cats = fieldCategories(f);
        classes[j] = [...new Set(cats.map((cat) => classOf(policy.classes, policy.taxonomy, j, cat) ?? 'protected'))].join('|');
      }
      return { column: c.column, field: c.field, kind: lt.kinds.get(c.column) ?? 'string', classes };
    });
    tables.push({ table: t.table, dataset: t.dataset, columns, purgeable, keptProtected, counts, byJurisdiction });
    totals = add(totals, counts);
  }
  return { mapping: mapping.name, enclave: mapping.enclave, jurisdictions: enclave.jurisdictions, purge: mapping.purge, tables, totals, untouched };
}
