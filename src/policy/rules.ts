// rules/*.cedar: parse with cedar-wasm, validate against the generated schema, and check the entity
// ids and string values that Cedar's types cannot (teams, principals, categories, classes, …).

import * as cedar from './cedar.js';
import type { DetailedError, PolicyJson } from './cedar.js';
import { didYouMean } from '../shared/suggest.js';
import type { ErrorCode } from '../shared/errors.js';
import { DATA_CLASSES, type Dataset, type Deployment, type Directory, type Rule, type Taxonomy } from './model.js';
import type { IssueList } from './yaml-source.js';
import { TEAM_TYPE, generateCedarSchema } from './schema.js';

export interface RuleFile {
  readonly path: string;
  readonly text: string;
}

interface Located {
  offset: number;
  text: string;
}

/** 1-based line and column of a UTF-16 index in `text`. */
export function lineCol(text: string, index: number): { line: number; col: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < index && i < text.length; i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, col: index - lineStart + 1 };
}

/** cedar-wasm reports byte offsets into UTF-8; turn one into a UTF-16 index into `text`. */
function byteToIndex(text: string, byteOffset: number): number {
  return Buffer.from(text, 'utf8').subarray(0, byteOffset).toString('utf8').length;
}

function errorText(e: DetailedError): string {
  const help = e.help ? `; ${e.help}` : '';
  return `${e.message}${help}`.replace(/\s+/g, ' ');
}

function annotationId(json: PolicyJson): string | undefined {
  return json.annotations?.['id'];
}

/** What rules are checked against. A part that failed to load is undefined and its checks are skipped. */
export interface RuleContext {
  readonly deployment: Deployment | undefined;
  readonly taxonomy: Taxonomy | undefined;
  readonly datasets: ReadonlyMap<string, Dataset> | undefined;
  readonly directory: Directory | undefined;
}

/**
 * Parses and validates every rule file. Returns undefined (after reporting) on any error. Files that
 * do not parse are reported and the others are still validated, so all errors show at once.
 */
export function loadRules(files: RuleFile[], ctx: RuleContext, issues: IssueList): Rule[] | undefined {
  const before = issues.errorCount;
  const rules: Rule[] = [];
  const located: Located[] = [];
  const ids = new Map<string, string>();
  for (const file of files) {
    const parsed = cedar.checkParsePolicySet({ staticPolicies: file.text });
    if (parsed.type === 'failure') {
      for (const e of parsed.errors) {
        const at = e.sourceLocations?.[0]?.start ?? 0;
        issues.error({ file: file.path, ...lineCol(file.text, byteToIndex(file.text, at)) }, 'policy.cedar_syntax', errorText(e));
      }
      continue;
    }
    const parts = cedar.policySetTextToParts(file.text);
    if (parts.type === 'failure') throw new Error(`cedar-wasm parsed ${file.path} but could not split it`);
    let cursor = 0;
    for (const part of parts.policies) {
      const found = file.text.indexOf(part, cursor);
      const offset = found >= 0 ? found : cursor;
      cursor = found >= 0 ? found + part.length : cursor;
      const conv = cedar.policyToJson(part);
      if (conv.type === 'failure') throw new Error(`cedar-wasm could not convert a rule of ${file.path} to JSON`);
      const json = conv.json;
      const start = lineCol(file.text, offset);
      // The position of the rule's effect keyword (after any annotations) names the rule.
      const effectAt = offset + Math.max(0, part.search(/\b(permit|forbid)\b/));
      const effectPos = lineCol(file.text, effectAt);
      const id = annotationId(json) ?? `${file.path}:${effectPos.line}`;
      const prior = ids.get(id);
      if (prior !== undefined) {
        issues.error({ file: file.path, ...start }, 'policy.duplicate_rule_id', `rule id ${JSON.stringify(id)} is also used at ${prior}`);
        continue;
      }
      ids.set(id, `${file.path}:${start.line}`);
      rules.push({ id, effect: json.effect, text: part, file: file.path, line: effectPos.line, col: effectPos.col, json });
      located.push({ offset, text: file.text });
    }
  }
  const schema = generateCedarSchema();
  const staticPolicies: Record<string, string> = {};
  for (const r of rules) staticPolicies[r.id] = r.text;
  const answer = cedar.validate({ schema, policies: { staticPolicies }, validationSettings: { mode: 'strict' } });
  if (answer.type === 'failure') throw new Error(`cedar-wasm rejected cordon's generated schema: ${answer.errors.map(errorText).join('; ')}`);
  for (const v of answer.validationErrors) {
    const i = rules.findIndex((r) => r.id === v.policyId);
    const rule = rules[i]!;
    const loc = located[i]!;
    const at = v.error.sourceLocations?.[0]?.start ?? 0;
    const pos = lineCol(loc.text, loc.offset + byteToIndex(rule.text, at));
    issues.error({ file: rule.file, ...pos }, 'policy.cedar_type', `rule ${rule.id}: ${errorText(v.error).replace(/for policy `[^`]*`, /g, '')}`);
  }
  for (const [i, r] of rules.entries()) checkLiterals(r, located[i]!, ctx, issues);
  return issues.errorCount > before ? undefined : rules;
}

type Json = unknown;

interface KnownValues {
  readonly name: string;
  readonly values: ReadonlySet<string>;
}

/** Which string values an attribute can take, for `==`, `!=`, `contains` and `in` checks. */
function knownValuesOf(expr: Json, ctx: RuleContext): KnownValues | undefined {
  if (!isObj(expr) || !isObj(expr['.'])) return undefined;
  const dot = expr['.'] as { left: Json; attr: string };
  const variable = isObj(dot.left) ? (dot.left as { Var?: string }).Var : undefined;
  if (variable === 'resource') {
    switch (dot.attr) {
      case 'category':
      case 'categories':
        return ctx.taxonomy && { name: 'category', values: new Set(ctx.taxonomy.categories.keys()) };
      case 'class':
        return { name: 'class', values: new Set(DATA_CLASSES) };
      case 'jurisdiction':
        return ctx.deployment && { name: 'jurisdiction', values: new Set(ctx.deployment.jurisdictions.keys()) };
      case 'enclave':
        return ctx.deployment && { name: 'enclave', values: new Set(ctx.deployment.enclaves.keys()) };
      case 'dataset':
        return ctx.datasets && { name: 'dataset', values: new Set(ctx.datasets.keys()) };
      case 'field':
        return ctx.datasets && { name: 'field', values: new Set([...ctx.datasets.values()].flatMap((d) => [...d.fields.keys()])) };
    }
  }
  if (variable === 'principal' && dot.attr === 'team') return ctx.directory && { name: 'team', values: new Set(ctx.directory.teams.keys()) };
  return undefined;
}

function isObj(x: Json): x is Record<string, Json> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

/** `text` with every // comment blanked out (same length, so offsets still match). */
export function withoutComments(text: string): string {
  let out = '';
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (inString) {
      out += c;
      if (c === '\\' && i + 1 < text.length) out += text[++i];
      else if (c === '"') inString = false;
    } else if (c === '"') {
      inString = true;
      out += c;
    } else if (c === '/' && text[i + 1] === '/') {
      while (i < text.length && text[i] !== '\n') {
        out += ' ';
        i++;
      }
      if (i < text.length) out += '\n';
    } else out += c;
  }
  return out;
}

function checkLiterals(rule: Rule, loc: Located, ctx: RuleContext, issues: IssueList): void {
  const code = withoutComments(rule.text);
  const report = (needle: string, code_: ErrorCode, message: string): void => {
    const i = code.indexOf(needle);
    const pos = lineCol(loc.text, loc.offset + Math.max(0, i));
    issues.error({ file: rule.file, ...pos }, code_, `rule ${rule.id}: ${message}`);
  };
  const checkEntity = (e: Json): void => {
    if (!isObj(e)) return;
    const uid = (isObj(e['__entity']) ? e['__entity'] : e) as { type?: string; id?: string };
    if (typeof uid.type !== 'string' || typeof uid.id !== 'string') return;
    const needle = code.includes(`${uid.type}::"${uid.id}"`) ? `${uid.type}::"${uid.id}"` : `"${uid.id}"`;
    const directory = ctx.directory;
    const known: Record<string, Iterable<string> | undefined> = {
      [TEAM_TYPE]: directory?.teams.keys(),
      User: directory && [...directory.principals.values()].filter((p) => p.kind === 'person').map((p) => p.id),
      Service: directory && [...directory.principals.values()].filter((p) => p.kind === 'service').map((p) => p.id),
    };
    const names = known[uid.type];
    // Unknown types and actions are the validator's to report; an unloaded directory, nobody's.
    if (names === undefined) return;
    const list = [...names];
    if (!list.includes(uid.id)) report(needle, 'policy.unknown_entity', `unknown ${uid.type} ${JSON.stringify(uid.id)}${didYouMean(uid.id, list)}`);
  };
  const checkValue = (kv: KnownValues | undefined, other: Json): void => {
    if (!kv || !isObj(other) || typeof other['Value'] !== 'string') return;
    const v = other['Value'];
    if (!kv.values.has(v)) report(JSON.stringify(v), 'policy.unknown_value', `${JSON.stringify(v)} is not a known ${kv.name}${didYouMean(v, kv.values)}`);
  };
  const walk = (x: Json): void => {
    if (Array.isArray(x)) {
      for (const y of x) walk(y);
      return;
    }
    if (!isObj(x)) return;
    if ('Value' in x) {
      checkEntity(x['Value']);
      return;
    }
    for (const op of ['==', '!=', 'contains']) {
      const b = x[op];
      if (isObj(b)) {
        checkValue(knownValuesOf(b['left'], ctx), b['right']);
        if (op !== 'contains') checkValue(knownValuesOf(b['right'], ctx), b['left']);
        // ["public", "excepted"].contains(resource.class)
        if (op === 'contains' && isObj(b['left']) && Array.isArray(b['left']['Set'])) {
          const kv = knownValuesOf(b['right'], ctx);
          for (const item of b['left']['Set'] as Json[]) checkValue(kv, item);
        }
      }
    }
    for (const op of ['containsAll', 'containsAny']) {
      const b = x[op];
      if (isObj(b) && isObj(b['right']) && Array.isArray(b['right']['Set'])) {
        const kv = knownValuesOf(b['left'], ctx);
        for (const item of b['right']['Set'] as Json[]) checkValue(kv, item);
      }
    }
    for (const v of Object.values(x)) walk(v);
  };
  const json = rule.json as PolicyJson;
  for (const scope of [json.principal, json.action, json.resource] as Json[]) {
    if (!isObj(scope)) continue;
    if (scope['entity']) checkEntity(scope['entity']);
    if (Array.isArray(scope['entities'])) (scope['entities'] as Json[]).forEach(checkEntity);
    if (isObj(scope['in']) && scope['in']['entity']) checkEntity(scope['in']['entity']);
  }
  walk(json.conditions);
}
