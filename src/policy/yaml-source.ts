// Reading policy YAML with source positions and closed schemas: every error names file:line:col,
// unknown keys are errors, and all errors of a file are collected rather than stopping at the first.

import { LineCounter, isMap, isScalar, isSeq, parseDocument, type Document, type Node, type Pair } from 'yaml';
import { didYouMean } from '../shared/suggest.js';
import type { ErrorCode } from '../shared/errors.js';
import type { PolicyIssue, SourcePos } from './model.js';

export class IssueList {
  readonly items: PolicyIssue[] = [];
  error(pos: SourcePos, code: ErrorCode, message: string): void {
    this.items.push({ ...pos, code, severity: 'error', message });
  }
  warn(pos: SourcePos, code: ErrorCode, message: string): void {
    this.items.push({ ...pos, code, severity: 'warning', message });
  }
  get errorCount(): number {
    return this.items.filter((i) => i.severity === 'error').length;
  }
}

export class YamlFile {
  readonly lines: LineCounter;
  readonly doc: Document;
  constructor(
    readonly path: string,
    readonly text: string,
    issues: IssueList,
  ) {
    this.lines = new LineCounter();
    this.doc = parseDocument(text, { lineCounter: this.lines, uniqueKeys: true, prettyErrors: true, strict: true });
    let syntaxReported = false;
    for (const e of [...this.doc.errors]) {
      const at = e.linePos?.[0] ?? { line: 1, col: 1 };
      const pos = { file: path, line: at.line, col: at.col };
      if (e.code === 'DUPLICATE_KEY') {
        const key = text.slice(e.pos[0]).split(/[:\n]/)[0]?.trim() ?? '';
        issues.error(pos, 'policy.duplicate_key', `duplicate key ${JSON.stringify(key)}`);
      } else if (!syntaxReported) {
        // Later syntax errors of one file are nearly always echoes of the first.
        syntaxReported = true;
        issues.error(pos, 'policy.yaml_syntax', firstLine(e.message).replace(/ at line \d+, column \d+:?$/, ''));
      }
    }
  }
  /** False when the file has a syntax error. Duplicate keys are reported but leave the rest readable. */
  get ok(): boolean {
    return this.doc.errors.every((e) => e.code === 'DUPLICATE_KEY');
  }
  get root(): Node | null {
    return this.doc.contents as Node | null;
  }
  pos(node: Node | null | undefined): SourcePos {
    const offset = node?.range?.[0] ?? 0;
    const { line, col } = this.lines.linePos(offset);
    return { file: this.path, line, col };
  }
}

function firstLine(s: string): string {
  return s.split('\n')[0] ?? s;
}

export interface MapSpec {
  readonly required?: readonly string[];
  readonly optional?: readonly string[];
}

export interface Entry {
  readonly key: string;
  readonly keyNode: Node;
  readonly value: Node | null;
}

/**
 * The entries of a YAML map checked against a closed spec: unknown keys and missing required keys
 * are reported. Returns undefined (after reporting) when `node` is not a map.
 */
export function readMap(f: YamlFile, node: Node | null, issues: IssueList, what: string, spec?: MapSpec): Map<string, Entry> | undefined {
  if (!isMap(node)) {
    issues.error(f.pos(node), 'policy.invalid_value', `${what} must be a map`);
    return undefined;
  }
  const out = new Map<string, Entry>();
  for (const pair of node.items as Pair<Node, Node | null>[]) {
    const keyNode = pair.key;
    if (!isScalar(keyNode) || (typeof keyNode.value !== 'string' && typeof keyNode.value !== 'number')) {
      issues.error(f.pos(keyNode), 'policy.invalid_value', `${what}: keys must be strings`);
      continue;
    }
    const key = String(keyNode.value);
    out.set(key, { key, keyNode, value: pair.value ?? null });
  }
  if (spec) {
    const known = [...(spec.required ?? []), ...(spec.optional ?? [])];
    for (const e of out.values()) {
      if (!known.includes(e.key)) {
        issues.error(f.pos(e.keyNode), 'policy.unknown_key', `unknown key ${JSON.stringify(e.key)} in ${what}${didYouMean(e.key, known)}`);
      }
    }
    for (const k of spec.required ?? []) {
      if (!out.has(k)) issues.error(f.pos(node), 'policy.missing_key', `${what} needs key ${JSON.stringify(k)}`);
    }
  }
  return out;
}

export function readString(f: YamlFile, node: Node | null, issues: IssueList, what: string): string | undefined {
  if (isScalar(node) && typeof node.value === 'string' && node.value.length > 0) return node.value;
  issues.error(f.pos(node), 'policy.invalid_value', `${what} must be a non-empty string`);
  return undefined;
}

export function readInteger(f: YamlFile, node: Node | null, issues: IssueList, what: string): number | undefined {
  if (isScalar(node) && typeof node.value === 'number' && Number.isSafeInteger(node.value)) return node.value;
  issues.error(f.pos(node), 'policy.invalid_value', `${what} must be an integer`);
  return undefined;
}

export function readBoolean(f: YamlFile, node: Node | null, issues: IssueList, what: string): boolean | undefined {
  if (isScalar(node) && typeof node.value === 'boolean') return node.value;
  issues.error(f.pos(node), 'policy.invalid_value', `${what} must be true or false`);
  return undefined;
}

/** A list of strings, each with its node (for positions). */
export function readStringList(f: YamlFile, node: Node | null, issues: IssueList, what: string): { value: string; node: Node }[] | undefined {
  if (!isSeq(node)) {
    issues.error(f.pos(node), 'policy.invalid_value', `${what} must be a list`);
    return undefined;
  }
  const out: { value: string; node: Node }[] = [];
  for (const item of node.items as Node[]) {
    const s = readString(f, item, issues, `each item of ${what}`);
    if (s !== undefined) out.push({ value: s, node: item });
  }
  return out;
}

export function readList(f: YamlFile, node: Node | null, issues: IssueList, what: string): Node[] | undefined {
  if (!isSeq(node)) {
    issues.error(f.pos(node), 'policy.invalid_value', `${what} must be a list`);
    return undefined;
  }
  return node.items as Node[];
}

export { isMap, isScalar, isSeq };
export type { Node };
