// Reading libpg-query's parse tree (JSON of PostgreSQL's own nodes): small accessors shared by the
// planner of dataset queries (sql.ts) and the answers from the catalog (catalog.ts).

export type Node = Record<string, unknown>;
export const isNode = (x: unknown): x is Node => typeof x === 'object' && x !== null && !Array.isArray(x);
export const child = (n: Node | undefined, k: string): Node | undefined => {
  const v = n?.[k];
  return isNode(v) ? v : undefined;
};
export const list = (n: Node | undefined, k: string): Node[] => {
  const v = n?.[k];
  return Array.isArray(v) ? v.filter(isNode) : [];
};
export const sval = (n: Node | undefined): string | undefined => {
  const s = child(n, 'String')?.['sval'];
  return typeof s === 'string' ? s : undefined;
};
/** The text of an A_Const; null for NULL. */
export function constText(c: Node | undefined): string | null {
  if (!c) return null;
  if (c['isnull'] === true) return null;
  const s = child(c, 'sval');
  if (s) return String(s['sval'] ?? '');
  const i = child(c, 'ival');
  if (i) return String(i['ival'] ?? 0);
  const f = child(c, 'fval');
  if (f) return String(f['fval'] ?? '0');
  const b = child(c, 'boolval');
  if (b) return b['boolval'] === true ? 'true' : 'false';
  const x = child(c, 'bsval');
  if (x) return String(x['bsval'] ?? '');
  return null;
}
