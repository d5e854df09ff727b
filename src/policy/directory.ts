// directory.yaml: teams (a hierarchy) and principals (people and services) with the attributes
// rules may test: team, employer, work country, site, clearance, approver groups.

import type { Directory, Principal, PrincipalKind, Team } from './model.js';
import { type IssueList, type YamlFile, readInteger, readMap, readString, readStringList, type Node } from './yaml-source.js';
import { didYouMean } from '../shared/suggest.js';

export const DIRECTORY_FILE = 'directory.yaml';
const ID = /^[a-z0-9][a-z0-9._-]*$/;

export function readDirectory(f: YamlFile, issues: IssueList): Directory | undefined {
  if (!f.ok) return undefined;
  const before = issues.errorCount;
  const top = readMap(f, f.root, issues, DIRECTORY_FILE, { required: ['teams', 'principals'] });
  if (!top) return undefined;

  const rawTeams = new Map<string, { parent?: string; parentNode?: Node | null; description: string; node: Node }>();
  for (const e of (top.has('teams') && readMap(f, top.get('teams')!.value, issues, 'teams')?.values()) || []) {
    if (!ID.test(e.key))
      issues.error(f.pos(e.keyNode), 'policy.invalid_value', `team id ${JSON.stringify(e.key)} must be lower-case letters, digits, '.', '_' or '-'`);
    const spec =
      e.value === null || (e.value && 'value' in e.value && e.value.value === null)
        ? new Map()
        : readMap(f, e.value, issues, `team ${e.key}`, { optional: ['parent', 'description'] });
    if (!spec) continue;
    const parentNode = spec.get('parent')?.value ?? null;
    const parent = spec.has('parent') ? readString(f, parentNode, issues, `parent of team ${e.key}`) : undefined;
    const description = spec.has('description') ? (readString(f, spec.get('description')!.value, issues, `description of team ${e.key}`) ?? '') : '';
    rawTeams.set(e.key, { parent, parentNode, description, node: e.keyNode });
  }
  for (const [name, t] of rawTeams) {
    if (t.parent !== undefined && !rawTeams.has(t.parent)) {
      issues.error(
        f.pos(t.parentNode),
        'policy.unknown_team',
        `team ${name} names unknown parent team ${JSON.stringify(t.parent)}${didYouMean(t.parent, rawTeams.keys())}`,
      );
    }
  }
  const teams = new Map<string, Team>();
  const cycles = new Set<string>();
  for (const [name, t] of rawTeams) {
    const lineage: string[] = [];
    for (let cur: string | undefined = name; cur !== undefined; cur = rawTeams.get(cur)?.parent) {
      if (lineage.includes(cur)) {
        const cyc = lineage.slice(lineage.indexOf(cur));
        const id = [...cyc].sort().join(',');
        if (!cycles.has(id)) {
          cycles.add(id);
          issues.error(f.pos(t.node), 'policy.team_cycle', `team cycle: ${[...cyc, cur].join(' -> ')}`);
        }
        break;
      }
      if (!rawTeams.has(cur)) break;
      lineage.push(cur);
    }
    teams.set(name, { name, parent: t.parent, description: t.description, lineage });
  }

  const principals = new Map<string, Principal>();
  const managers: { id: string; manager: string; node: Node | null }[] = [];
  for (const e of (top.has('principals') && readMap(f, top.get('principals')!.value, issues, 'principals')?.values()) || []) {
    if (!ID.test(e.key))
      issues.error(f.pos(e.keyNode), 'policy.invalid_value', `principal id ${JSON.stringify(e.key)} must be lower-case letters, digits, '.', '_' or '-'`);
    const spec = readMap(f, e.value, issues, `principal ${e.key}`, {
      required: ['kind', 'team', 'employer', 'work_country', 'site'],
      optional: ['name', 'clearance', 'approver_groups', 'manager', 'description'],
    });
    if (!spec) continue;
    const str = (k: string): string | undefined => (spec.has(k) ? readString(f, spec.get(k)!.value, issues, `${k} of ${e.key}`) : undefined);
    const kind = str('kind');
    if (kind !== undefined && kind !== 'person' && kind !== 'service') {
      issues.error(f.pos(spec.get('kind')!.value), 'policy.invalid_value', `kind of ${e.key} must be person or service`);
    }
    const team = str('team');
    if (team !== undefined && !rawTeams.has(team)) {
      issues.error(
        f.pos(spec.get('team')!.value),
        'policy.unknown_team',
        `principal ${e.key} is in unknown team ${JSON.stringify(team)}${didYouMean(team, rawTeams.keys())}`,
      );
    }
    const workCountry = str('work_country');
    if (workCountry !== undefined && !/^[A-Z]{2}$/.test(workCountry)) {
      issues.error(f.pos(spec.get('work_country')!.value), 'policy.invalid_value', `work_country of ${e.key} must be a two-letter country code`);
    }
    const clearance = spec.has('clearance') ? readInteger(f, spec.get('clearance')!.value, issues, `clearance of ${e.key}`) : 0;
    const groups = spec.has('approver_groups')
      ? readStringList(f, spec.get('approver_groups')!.value, issues, `approver_groups of ${e.key}`)?.map((g) => g.value)
      : [];
    const manager = str('manager');
    if (manager !== undefined) managers.push({ id: e.key, manager, node: spec.get('manager')!.value });
    const employer = str('employer');
    const site = str('site');
    if (kind && team && employer && workCountry && site) {
      principals.set(e.key, {
        id: e.key,
        kind: kind as PrincipalKind,
        name: str('name') ?? e.key,
        team,
        employer,
        workCountry,
        site,
        clearance: clearance ?? 0,
        approverGroups: groups ?? [],
        manager,
      });
    }
  }
  for (const m of managers) {
    if (!principals.has(m.manager))
      issues.error(
        f.pos(m.node),
        'policy.invalid_value',
        `manager of ${m.id} is not a principal: ${JSON.stringify(m.manager)}${didYouMean(m.manager, principals.keys())}`,
      );
  }
  return issues.errorCount > before ? undefined : { teams, principals };
}
