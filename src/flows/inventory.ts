// The tool inventory (YAML): each internal tool's owner team, where it runs, its documented purpose,
// what it reads and writes, where it exports to, and who uses it; and the owner and purpose of
// lineage jobs. Unknown keys and unknown teams are errors naming the file and line.

import { LineCounter, isMap, isScalar, isSeq, parseDocument, type Node, type Pair } from 'yaml';
import type { Directory } from '../policy/index.js';
import { CordonError } from '../shared/errors.js';
import { didYouMean } from '../shared/suggest.js';

export interface ToolExport {
  readonly kind: string;
  readonly to: string;
  readonly country: string | undefined;
  readonly line: number;
}

export interface Tool {
  readonly name: string;
  readonly owner: string | undefined;
  readonly purpose: string | undefined;
  readonly country: string | undefined;
  readonly region: string | undefined;
  /** `namespace/name` of datasets, or API names. */
  readonly reads: readonly string[];
  readonly writes: readonly string[];
  readonly exports: readonly ToolExport[];
  /** Teams (or principals) that use it. */
  readonly users: readonly string[];
  /** `file:line` of its entry. */
  readonly where: string;
}

export interface InventoryJob {
  /** `namespace/name` of the lineage job. */
  readonly id: string;
  readonly owner: string | undefined;
  readonly purpose: string | undefined;
  readonly country: string | undefined;
  readonly where: string;
}

export interface Inventory {
  readonly tools: readonly Tool[];
  readonly jobs: readonly InventoryJob[];
}

const TOOL_KEYS = ['owner', 'purpose', 'runs_in', 'reads', 'writes', 'exports', 'users', 'description'];
const JOB_KEYS = ['owner', 'purpose', 'runs_in', 'description'];
const EXPORT_KINDS = ['file', 'bucket', 'chat', 'email', 'api', 'spreadsheet'];

export class InventoryError extends CordonError {
  constructor(message: string) {
    super('flows.bad_inventory', message);
  }
}

/** Parses one inventory file; throws InventoryError listing every problem (file:line: message). */
export function parseInventory(text: string, file: string, directory: Directory | undefined): Inventory {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: true });
  const problems: string[] = [];
  const at = (node: unknown) => {
    const range = (node as { range?: [number, number] } | null)?.range;
    return `${file}:${range ? lines.linePos(range[0]).line : 1}`;
  };
  for (const e of doc.errors) problems.push(`${file}:${e.linePos?.[0]?.line ?? 1}: ${e.message.split('\n')[0]}`);
  const problem = (node: unknown, message: string) => problems.push(`${at(node)}: ${message}`);
  const entries = (node: unknown, what: string): { key: string; keyNode: Node; value: Node | null }[] => {
    if (!isMap(node)) {
      problem(node, `${what} must be a map`);
      return [];
    }
    return (node.items as Pair<Node, Node | null>[]).map((p) => ({ key: isScalar(p.key) ? String(p.key.value) : '', keyNode: p.key, value: p.value ?? null }));
  };
  const str = (node: Node | null, what: string): string | undefined => {
    if (isScalar(node) && typeof node.value === 'string' && node.value.trim() !== '') return node.value.trim();
    problem(node, `${what} must be a non-empty string`);
    return undefined;
  };
  const strList = (node: Node | null, what: string): string[] => {
    if (!isSeq(node)) {
      problem(node, `${what} must be a list`);
      return [];
    }
    return (node.items as Node[]).map((n) => str(n, `each item of ${what}`)).filter((s): s is string => s !== undefined);
  };
  const team = (node: Node | null, name: string, what: string) => {
    if (directory && !directory.teams.has(name) && !directory.principals.has(name)) {
      problem(
        node,
        `${what} names ${JSON.stringify(name)}, which is not a team or principal of the directory${didYouMean(name, [...directory.teams.keys(), ...directory.principals.keys()])}`,
      );
    }
  };
  const place = (node: Node | null, what: string): { country?: string; region?: string } => {
    const out: { country?: string; region?: string } = {};
    for (const e of entries(node, what)) {
      if (e.key === 'country') {
        const c = str(e.value, `${what}.country`);
        if (c !== undefined && !/^[A-Z]{2}$/.test(c)) problem(e.value, `${what}.country must be a two-letter country code, got ${JSON.stringify(c)}`);
        else if (c !== undefined) out.country = c;
      } else if (e.key === 'region') out.region = str(e.value, `${what}.region`);
      else problem(e.keyNode, `unknown key ${JSON.stringify(e.key)} in ${what}${didYouMean(e.key, ['country', 'region'])}`);
    }
    return out;
  };

  const tools: Tool[] = [];
  const jobs: InventoryJob[] = [];
  const root = doc.contents;
  if (root !== null && !isMap(root)) problem(root, 'an inventory file is a map with tools: and jobs:');
  for (const top of isMap(root) ? entries(root, 'the inventory') : []) {
    if (top.key !== 'tools' && top.key !== 'jobs') {
      problem(top.keyNode, `unknown key ${JSON.stringify(top.key)}${didYouMean(top.key, ['tools', 'jobs'])}; an inventory has tools: and jobs:`);
      continue;
    }
    for (const e of entries(top.value, top.key)) {
      const spec = new Map(entries(e.value, `${top.key === 'tools' ? 'tool' : 'job'} ${e.key}`).map((x) => [x.key, x]));
      const known = top.key === 'tools' ? TOOL_KEYS : JOB_KEYS;
      for (const x of spec.values())
        if (!known.includes(x.key)) problem(x.keyNode, `unknown key ${JSON.stringify(x.key)} in ${e.key}${didYouMean(x.key, known)}`);
      const owner = spec.has('owner') ? str(spec.get('owner')!.value, `owner of ${e.key}`) : undefined;
      if (owner !== undefined) team(spec.get('owner')!.value, owner, `owner of ${e.key}`);
      const purpose = spec.has('purpose') ? str(spec.get('purpose')!.value, `purpose of ${e.key}`) : undefined;
      const runsIn = spec.has('runs_in') ? place(spec.get('runs_in')!.value, `runs_in of ${e.key}`) : {};
      const where = at(e.keyNode);
      if (top.key === 'jobs') {
        jobs.push({ id: e.key, owner, purpose, country: runsIn.country, where });
        continue;
      }
      const users = spec.has('users') ? strList(spec.get('users')!.value, `users of ${e.key}`) : [];
      (isSeq(spec.get('users')?.value) ? (spec.get('users')!.value as { items: Node[] }).items : []).forEach((n, i) => {
        if (users[i] !== undefined) team(n, users[i]!, `users of ${e.key}`);
      });
      const exports: ToolExport[] = [];
      const ex = spec.get('exports')?.value ?? null;
      if (spec.has('exports') && !isSeq(ex)) problem(ex, `exports of ${e.key} must be a list`);
      for (const item of isSeq(ex) ? (ex.items as Node[]) : []) {
        const m = new Map(entries(item, `an export of ${e.key}`).map((x) => [x.key, x]));
        for (const x of m.values())
          if (!['kind', 'to', 'country', 'region', 'description'].includes(x.key))
            problem(x.keyNode, `unknown key ${JSON.stringify(x.key)} in an export of ${e.key}`);
        const kind = m.has('kind') ? str(m.get('kind')!.value, `kind of an export of ${e.key}`) : undefined;
        if (!m.has('kind')) problem(item, `an export of ${e.key} needs kind (${EXPORT_KINDS.join(', ')})`);
        if (kind !== undefined && !EXPORT_KINDS.includes(kind))
          problem(m.get('kind')!.value, `kind of an export of ${e.key} must be one of ${EXPORT_KINDS.join(', ')}`);
        const to = m.has('to') ? str(m.get('to')!.value, `to of an export of ${e.key}`) : undefined;
        if (!m.has('to')) problem(item, `an export of ${e.key} needs to (where it goes)`);
        const country = m.has('country') ? str(m.get('country')!.value, `country of an export of ${e.key}`) : undefined;
        if (country !== undefined && !/^[A-Z]{2}$/.test(country))
          problem(m.get('country')!.value, `country of an export of ${e.key} must be a two-letter country code`);
        if (kind && to) exports.push({ kind, to, country, line: Number(at(item).split(':').at(-1)) });
      }
      tools.push({
        name: e.key,
        owner,
        purpose,
        country: runsIn.country,
        region: runsIn.region,
        reads: spec.has('reads') ? strList(spec.get('reads')!.value, `reads of ${e.key}`) : [],
        writes: spec.has('writes') ? strList(spec.get('writes')!.value, `writes of ${e.key}`) : [],
        exports,
        users,
        where,
      });
    }
  }
  const lineOf = (p: string) => Number(/^[^:]*:(\d+):/.exec(p)?.[1] ?? 0);
  if (problems.length > 0) throw new InventoryError(problems.sort((a, b) => lineOf(a) - lineOf(b)).join('\n'));
  return { tools, jobs };
}
