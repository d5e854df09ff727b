// The backdoors and the audit trail's health as text, for `cordon flows leaks`. Roles are printed
// JSON-quoted (a look-alike of cordon's role, `cordon_app ` with a space, shows as what it is);
// statements only with their literals replaced, never as logged.

import type { Backdoor, FinderHealth } from './finder.js';

export function formatBackdoors(backdoors: readonly Backdoor[], health: FinderHealth): string {
  const lines: string[] = [];
  for (const b of backdoors) {
    const cols =
      b.columnsHow === 'function'
        ? 'not in the audit trail (what a function running as its owner reads is not logged)'
        : b.columns.length === 0
          ? 'no column'
          : `${b.columns.join(', ')}${b.columnsHow === 'named' ? '' : ` (${howText(b.columnsHow)})`}`;
    const what =
      b.columnsHow === 'function' ? `called function ${b.store} ${b.table}` : `read ${b.store} ${b.table}${b.dataset ? ` (dataset ${b.dataset})` : ''}`;
    lines.push(`backdoor: role ${JSON.stringify(b.role)} ${what} around the gateway`);
    lines.push(`  columns    ${cols}`);
    if (b.protected.length > 0) lines.push(`  protected  ${b.protected.map((p) => `${p.column} (${p.category} in ${p.jurisdiction})`).join(', ')}`);
    lines.push(`  client     ${b.client || '(none logged)'}${b.application ? ` (application ${JSON.stringify(b.application)})` : ''}`);
    lines.push(`  time       ${b.lastSeen}${b.reads > 1 ? ` (${b.reads} reads since ${b.firstSeen})` : ''}`);
    lines.push(`  statement  ${b.statement ?? '(not shown: it did not parse, so its literals cannot be removed)'}`);
    lines.push(`  evidence   ${b.evidence}`);
  }
  for (const s of health.sources) {
    const unparsed =
      s.unparsed > 0
        ? `, ${s.unparsed} not parsed (${s.unparsedLines
            .slice(0, 3)
            .map((u) => `line ${u.line}: ${u.why}`)
            .join('; ')})`
        : '';
    lines.push(
      s.ok
        ? `audit trail of ${s.store}: ${s.records} log record(s), ${s.auditEntries} pgaudit entr${s.auditEntries === 1 ? 'y' : 'ies'}${unparsed}`
        : `audit trail of ${s.store}: UNREADABLE (${s.error}): the backdoor view is stale${unparsed}`,
    );
  }
  lines.push(`${backdoors.length} backdoor(s)`);
  return lines.join('\n');
}

function howText(how: Backdoor['columnsHow']): string {
  switch (how) {
    case 'all':
      return 'whole rows';
    case 'indirect':
      return 'read through a view, rule or function: every column assumed';
    case 'unparsed':
      return 'the statement did not parse: every column assumed';
    default:
      return how;
  }
}
