// Differential testing of the compiled evaluator against cedar-wasm (the reference). Two parts:
//  - demo: random decide() requests against the demo policy, through a compiled and a cedar decider;
//    every field decision (disclosure, rules, reason, class, …, every ladder step) must be equal;
//  - random: random Cedar policy sets (in the subset the compiler supports, plus a few rules it must
//    hand to cedar-wasm) over random requests; allow, reasons and errors must be equal.
// Everything is drawn from one seeded PRNG (each random policy set from a sub-PRNG seeded by it, so
// that one set can be replayed alone), so a seed reproduces a run exactly.

// cordon's one import of cedar-wasm (it also turns off V8's JS-to-Wasm call inlining, which makes
// Node 20 abort in long loops of cedar-wasm calls such as these).
import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';
import * as cedar from '../../src/policy/cedar.js';
import { loadPolicy } from '../../src/policy/index.js';
import { createDecider, type DecideRequest, type FieldDecision, type GrantInfo } from '../../src/policy/decide.js';
import { createCompiledEvaluator, type CompiledEvaluator } from '../../src/policy/compile.js';
import { createReferenceEvaluator } from '../../src/policy/reference.js';
import { contextRecord, fieldEntity, principalEntity, teamEntities, type AuthzAnswer, type EntityData, type EvalRequest } from '../../src/policy/request.js';
import { ALL_ACTIONS, type DataClass, type Policy, type Principal, type Rule } from '../../src/policy/model.js';
import { CedarRecord, toCedarJson } from '../../src/policy/values.js';
import { mulberry32 } from '../../src/shared/random.js';
import { DEMO_POLICY } from './paths.js';

// ---------------------------------------------------------------------------------------------
// PRNG

export { mulberry32 };

export class Rng {
  private readonly next: () => number;
  constructor(seed: number) {
    this.next = mulberry32(seed);
  }
  float(): number {
    return this.next();
  }
  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  /** An integer in [lo, hi]. */
  range(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error('pick from an empty list');
    return items[this.int(items.length)]!;
  }
  /** Each item kept with probability p, order kept. */
  subset<T>(items: readonly T[], p = 0.5): T[] {
    return items.filter(() => this.chance(p));
  }
  /** Up to `max` items drawn with replacement. */
  some<T>(items: readonly T[], max: number, min = 0): T[] {
    const n = this.range(min, max);
    const out: T[] = [];
    for (let i = 0; i < n; i++) out.push(this.pick(items));
    return out;
  }
  /** Picks one of weighted alternatives and runs it. */
  choose<T>(alts: readonly (readonly [number, () => T])[]): T {
    let total = 0;
    for (const [w] of alts) total += w;
    let x = this.next() * total;
    for (const [w, f] of alts) {
      if (x < w) return f();
      x -= w;
    }
    return alts[alts.length - 1]![1]();
  }
}

// ---------------------------------------------------------------------------------------------
// Result

export interface DifferentialOptions {
  readonly seed: number;
  /** Field decisions to compare in the demo part (at least this many). */
  readonly demoCases: number;
  /** Requests to compare in the random-policy part. */
  readonly randomCases: number;
  readonly policyDir: string;
  /** Requests asked of each random policy set (default 25). */
  readonly requestsPerSet?: number;
}

export interface DifferentialResult {
  /** Field decisions (demo) plus requests (random) compared. */
  cases: number;
  disagreements: number;
  /** Rules of random policy sets that the compiler handed to cedar-wasm. */
  fallbackRules: number;
  /** Up to 5 short descriptions of disagreements. */
  examples: string[];
  demo: {
    cases: number;
    decideCalls: number;
    disagreements: number;
    /** Fallback rules of the demo policy's compiled evaluator (expected 0). */
    fallbackRules: number;
    /** Field decisions by reference disclosure and by reason. */
    disclosures: Record<string, number>;
    reasons: Record<string, number>;
    /** Cedar questions asked (ladder steps). */
    steps: number;
    /** Field decisions made under a grant, and those whose steps list an erroring rule. */
    withGrant: number;
    withErrors: number;
    ms: number;
  };
  random: {
    cases: number;
    disagreements: number;
    policySets: number;
    rules: number;
    /** Generated rule texts cedar-wasm could not parse (skipped). */
    unparsedRules: number;
    fallbackRules: number;
    /** Policy sets with at least one fallback rule. */
    fallbackSets: number;
    /** Fallback rules by the construct that made them fall back. */
    fallbackConstructs: Record<string, number>;
    /** Reference answers: allow, deny, and answers listing at least one erroring rule. */
    allows: number;
    denies: number;
    errorAnswers: number;
    /** Reference answers with a non-empty reasons list. */
    withReasons: number;
    /** Requests for which an evaluator threw (counted as disagreements unless both threw alike). */
    thrown: number;
    ms: number;
  };
}

const MAX_EXAMPLES = 5;

// ---------------------------------------------------------------------------------------------
// Pools of values, chosen to hit the demo policy's names often and unknown names sometimes.

const COUNTRIES_CTX = ['US', 'CN', 'IE', 'DE', 'BR', 'SG', 'XX'];
const COUNTRIES_USER = ['US', 'DE', 'FR', 'BR', 'CN', 'JP', 'XX'];
const SITES = ['austin', 'san-jose', 'dublin', 'beijing', 'us-east-dc', 'localhost', '', 'moon-base'];
const REASONS = ['', 'support ticket', 'incident', 'audit'];
const TICKETS = ['', 'T-1', 'INC-42'];
const GRANT_IDS = ['', 'g1', 'g2', 'bg-7'];
const CLASSES: readonly string[] = ['protected', 'excepted', 'public'];
const JURISDICTIONS = ['US', 'EU', 'ROW', 'MARS'];
const EMPLOYERS = ['cordon-us', 'parent-co', 'trusted-auditor', ''];
const GROUPS = ['enclave-approvers', 'other-approvers', ''];
const SUBJECTS = ['u1', 'u2', 'u3'];
const GRANT_CATEGORIES = [
  'user',
  'user.contact',
  'user.contact.phone_number',
  'user.contact.email',
  'user.device',
  'user.unique_id',
  'user.demographic',
  'user.content',
  'user.content.private',
  'system',
  'system.operations',
  'bogus.category',
];
const GHOST_TEAM = 'ghost-team';

const STRING_EXTRAS = [
  '',
  'x',
  '1',
  'a*b',
  '*',
  'héllo',
  '日本',
  '😀x',
  'quote"d',
  'back\\slash',
  'tab\there',
  'line\nbreak',
  'US ',
  'us',
  'a.b+c(d)$^?[e]{2}|/f-g,h#i=j!k:l<m>',
];

/** Escapes a string for a Cedar string literal. */
function cedarString(s: string): string {
  let out = '"';
  for (const ch of s) {
    if (ch === '"') out += '\\"';
    else if (ch === '\\') out += '\\\\';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\t') out += '\\t';
    else out += ch;
  }
  return `${out}"`;
}

function entityLit(type: string, id: string): string {
  return `${type}::${cedarString(id)}`;
}

const IDENT = /^[_a-zA-Z][_a-zA-Z0-9]*$/;
const RESERVED = new Set(['true', 'false', 'if', 'then', 'else', 'in', 'is', 'like', 'has', '__cedar']);

// ---------------------------------------------------------------------------------------------
// Random Cedar expressions, typed so that most evaluate without error, with deliberate type errors,
// missing attributes and nonexistent entities mixed in.

type Ty = 'bool' | 'long' | 'str' | 'set' | 'ent' | 'rec';
const TYPES: readonly Ty[] = ['bool', 'long', 'str', 'set', 'ent', 'rec'];

interface Names {
  readonly teams: readonly string[];
  readonly principals: readonly { id: string; kind: 'person' | 'service' }[];
  readonly fields: readonly string[]; // dataset.field
  readonly categories: readonly string[];
  readonly strings: readonly string[];
}

const PRINCIPAL_ATTRS = { str: ['kind', 'team', 'employer', 'work_country', 'site', 'manager'], long: ['clearance'], set: ['approver_groups'] };
const RESOURCE_ATTRS = { str: ['dataset', 'field', 'category', 'class', 'jurisdiction', 'enclave'], set: ['categories', 'enclave_countries'] };
const CONTEXT_ATTRS = { str: ['country', 'site', 'reason', 'ticket'], rec: ['grant'] };
const GRANT_ATTRS = { bool: ['active', 'break_glass'], str: ['id', 'reason'] };
const UNKNOWN_ATTRS = ['name', 'nonexistent', '__proto__', 'toString', 'constructor', 'hasOwnProperty', 'work country', 'expires'];
const RECORD_KEYS = ['a', 'b', 'active', 'id', 'reason', 'break_glass', 'country', '__proto__', 'constructor', 'toString', 'a b', ''];

/** Boolean snippets that raise an error for some or all requests. */
const ERROR_SNIPPETS = [
  'principal.manager == "austin-approver-a"',
  'principal.manager like "austin-*"',
  'context.country && true',
  'true && context.country',
  'resource.class < 3',
  'Team::"ghost".x == 1',
  'Team::"enclave-staff".name == "x"',
  'principal.nonexistent == 1',
  'User::"nobody".team == "x"',
  'User::"austin-engineer".team == "enclave-staff"',
  '"a" in Team::"enclave-staff"',
  'principal in [Team::"enclave-staff", 1]',
  'principal.clearance like "*"',
  'if principal.clearance then true else false',
  'context.grant.active || context.country',
  'principal.approver_groups.isEmpty() || principal.team',
  '{a: 1}.b == 1',
  '1 has x',
  'resource.categories.containsAll(principal.clearance)',
  'resource.categories.containsAny("user")',
  'context.grant.expires',
  '[1, "a"].contains(1) && 1',
  '!principal.team',
  'principal is User && context.grant',
  'Action::"read".x == 1',
  'context.grant.reason.contains("x")',
  'resource.enclave_countries < 2',
  'principal has manager && principal.manager == "austin-approver-a"',
  'principal["__proto__"] == 1',
  'context.isEmpty()',
  '"abc".isEmpty()',
  'principal.clearance in [1, 2]',
  'resource is Field in "users"',
];

/** Boolean snippets the compiler does not support: rules holding them fall back to cedar-wasm. */
const UNSUPPORTED_SNIPPETS = [
  'principal.clearance + 1 > 2',
  'principal.clearance - 1 < 2',
  'principal.clearance * 2 >= 4',
  '-principal.clearance < -1',
  'principal.clearance + 9223372036854775807 > 0',
  '9223372036854775807 > principal.clearance',
  'ip("10.0.0.1").isInRange(ip("10.0.0.0/8"))',
  'ip("10.20.1.2").isInRange(ip("10.21.0.0/16"))',
  'decimal("1.5").lessThan(decimal("2.0"))',
  'decimal("2.5").lessThan(decimal("2.0")) || principal.clearance > 2',
  'principal.hasTag("x")',
  'principal.getTag("x") == 1',
  'context.country == "US" && ip(context.site).isIpv4()',
];

class ExprGen {
  constructor(
    private readonly rng: Rng,
    private readonly n: Names,
    /** Probability that a typed slot gets an expression of another type (a likely type error). */
    private readonly pMistype: number,
  ) {}

  attr(base: string, name: string): string {
    if (IDENT.test(name) && !RESERVED.has(name) && !this.rng.chance(0.1)) return `${base}.${name}`;
    return `${base}[${cedarString(name)}]`;
  }

  hasAttr(base: string, name: string): string {
    if (IDENT.test(name) && !RESERVED.has(name) && !this.rng.chance(0.1)) return `${base} has ${name}`;
    return `${base} has ${cedarString(name)}`;
  }

  strLit(): string {
    return cedarString(this.rng.pick(this.rng.chance(0.15) ? this.n.categories : this.n.strings));
  }

  longLit(): string {
    return String(this.rng.pick([-1, 0, 1, 1, 2, 2, 3, 3, 4, 5, 100]));
  }

  entLit(): string {
    const r = this.rng;
    return r.choose<string>([
      [4, () => entityLit('Team', r.pick([...this.n.teams, 'ghost', GHOST_TEAM]))],
      [
        3,
        () => {
          const p = r.pick(this.n.principals);
          // Sometimes the wrong type for the id, or an unknown id.
          const type = r.chance(0.8) ? (p.kind === 'service' ? 'Service' : 'User') : r.pick(['User', 'Service']);
          return entityLit(type, r.chance(0.9) ? p.id : 'nobody');
        },
      ],
      [2, () => entityLit('Field', r.chance(0.9) ? r.pick(this.n.fields) : 'users.ghost')],
      [2, () => entityLit('Action', r.pick([...ALL_ACTIONS, 'read', 'ghost']))],
      [0.5, () => entityLit(r.pick(['Thing', 'cordon::User']), 'x')],
    ]);
  }

  gen(ty: Ty, depth: number): string {
    if (depth > 0 && this.rng.chance(this.pMistype)) {
      const other = this.rng.pick(TYPES);
      if (other !== ty) return this.gen(other, depth - 1);
    }
    switch (ty) {
      case 'bool':
        return this.bool(depth);
      case 'long':
        return this.long(depth);
      case 'str':
        return this.str(depth);
      case 'set':
        return this.set(depth);
      case 'ent':
        return this.ent(depth);
      case 'rec':
        return this.rec(depth);
    }
  }

  private ite(ty: Ty, depth: number): string {
    return `(if ${this.bool(depth - 1)} then ${this.gen(ty, depth - 1)} else ${this.gen(ty, depth - 1)})`;
  }

  boolLeaf(): string {
    const r = this.rng;
    return r.choose<string>([
      [2, () => r.pick(['true', 'false'])],
      [2, () => this.attr('context.grant', r.pick(GRANT_ATTRS.bool))],
      [1, () => `(${this.hasAttr('principal', r.pick(['manager', 'manager', 'clearance', ...UNKNOWN_ATTRS]))})`],
      [
        1,
        () =>
          `(${r.pick(['context has grant.active', 'context has grant.expires', 'context has grant', 'principal has team', 'resource has class', 'principal has team.x', 'principal has manager.x', 'context has country.x', 'context has grant.active.x'])})`,
      ],
      [1, () => `(principal is ${r.pick(['User', 'Service', 'Team'])})`],
      [1, () => `(resource.class == ${cedarString(r.pick(CLASSES))})`],
      [1, () => `resource.enclave_countries.contains(context.country)`],
      [1, () => r.pick(['context.for_subject', '!context.for_subject'])],
      [1, () => `(principal in ${entityLit('Team', r.pick(this.n.teams))})`],
      [1, () => `(context.country == ${cedarString(r.pick(COUNTRIES_CTX))})`],
      [
        0.3,
        () =>
          `(${entityLit('Action', r.pick(ALL_ACTIONS))} in ${r.pick(['Action::"read"', '[Action::"read"]', 'Action::"write"', 'action', '[action, Team::"oversight"]'])})`,
      ],
      [0.6, () => `(${r.pick(ERROR_SNIPPETS)})`],
      [
        0.4,
        () => {
          // Record literals whose keys are names JavaScript objects treat specially.
          const k = cedarString(r.pick(['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf', 'a']));
          const v = this.gen(r.pick(['str', 'long', 'rec', 'set'] as const), 0);
          return r.pick([`({${k}: ${v}} has ${k})`, `({${k}: ${v}}[${k}] == ${v})`, `({${k}: ${v}, b: 1} == {b: 1})`, `({${k}: ${v}} == {${k}: ${v}})`]);
        },
      ],
    ]);
  }

  bool(depth: number): string {
    const r = this.rng;
    if (depth <= 0 || r.chance(0.2)) return this.boolLeaf();
    const d = depth - 1;
    return r.choose<string>([
      [3, () => `(${this.bool(d)} ${r.pick(['&&', '||'])} ${this.bool(d)})`],
      [1, () => `!(${this.bool(d)})`],
      [
        4,
        () => {
          const op = r.pick(['==', '!=']);
          if (r.chance(0.15)) return `(${this.gen(r.pick(TYPES), d)} ${op} ${this.gen(r.pick(TYPES), d)})`;
          const t = r.pick(TYPES);
          return `(${this.gen(t, d)} ${op} ${this.gen(t, d)})`;
        },
      ],
      [2, () => (r.chance(0.6) ? `(${this.ent(d)} in ${this.ent(d)})` : `(${this.ent(d)} in ${this.entSet(d)})`)],
      [
        2,
        () => {
          const base = r.choose<string>([
            [3, () => 'principal'],
            [2, () => 'resource'],
            [2, () => 'context'],
            [1, () => 'context.grant'],
            [1, () => this.entLit()],
            [1, () => this.recLit(d)],
            [1, () => `(${this.gen(r.pick(['ent', 'rec'] as const), d)})`],
            [0.3, () => `(${this.gen(r.pick(TYPES), d)})`],
          ]);
          if (base === 'context' && r.chance(0.4)) return `(context has grant.${r.pick(['active', 'id', 'break_glass', 'expires', '__proto__'])})`;
          const name = r.pick([...PRINCIPAL_ATTRS.str, ...RESOURCE_ATTRS.str, ...CONTEXT_ATTRS.str, 'grant', 'active', 'a', 'b', ...UNKNOWN_ATTRS]);
          return `(${this.hasAttr(base, name)})`;
        },
      ],
      [2, () => `(${this.set(d)}).contains(${this.gen(r.pick(['str', 'str', 'long', 'ent', 'set', 'rec', 'bool'] as const), d)})`],
      [2, () => `(${this.set(d)}).${r.pick(['containsAll', 'containsAny'])}(${this.set(d)})`],
      [1, () => `(${this.set(d)}).isEmpty()`],
      [2, () => `(${this.long(d)} ${r.pick(['<', '<=', '>', '>='])} ${this.long(d)})`],
      [2, () => `(${this.str(d)} like ${this.pattern()})`],
      [
        1,
        () => {
          const type = r.pick(['User', 'Service', 'Team', 'Field', 'Action']);
          if (r.chance(0.5)) return `(${this.ent(d)} is ${type})`;
          return `(${this.ent(d)} is ${type} in ${r.chance(0.7) ? this.ent(d) : this.entSet(d)})`;
        },
      ],
      [1, () => this.ite('bool', depth)],
      [0.5, () => `(${r.pick(ERROR_SNIPPETS)})`],
    ]);
  }

  long(depth: number): string {
    const r = this.rng;
    if (depth <= 0 || r.chance(0.3)) {
      return r.chance(0.5) ? this.longLit() : 'principal.clearance';
    }
    const d = depth - 1;
    return r.choose<string>([
      [3, () => this.longLit()],
      [3, () => 'principal.clearance'],
      [1, () => this.ite('long', depth)],
      [1, () => `{n: ${this.long(d)}, s: "x"}.n`],
      [0.5, () => 'User::"austin-engineer".clearance'],
    ]);
  }

  str(depth: number): string {
    const r = this.rng;
    if (depth <= 0 || r.chance(0.3)) {
      return r.choose<string>([
        [3, () => this.strLit()],
        [2, () => this.attr('principal', r.pick(PRINCIPAL_ATTRS.str))],
        [2, () => this.attr('resource', r.pick(RESOURCE_ATTRS.str))],
        [2, () => this.attr('context', r.pick(CONTEXT_ATTRS.str))],
        [1, () => this.attr('context.grant', r.pick(GRANT_ATTRS.str))],
      ]);
    }
    const d = depth - 1;
    return r.choose<string>([
      [2, () => this.strLit()],
      [3, () => this.str(0)],
      [1, () => this.ite('str', depth)],
      [1, () => `{s: ${this.str(d)}}.s`],
      [0.5, () => this.attr(r.chance(0.5) ? this.entLit() : `(${this.ent(d)})`, r.pick([...PRINCIPAL_ATTRS.str, ...RESOURCE_ATTRS.str, 'x']))],
    ]);
  }

  setLit(depth: number): string {
    const r = this.rng;
    const n = r.range(0, 4);
    const kind = r.choose<Ty | 'mixed'>([
      [5, () => 'str'],
      [2, () => 'long'],
      [2, () => 'ent'],
      [1, () => 'rec'],
      [1, () => 'set'],
      [1, () => 'bool'],
      [1, () => 'mixed'],
    ]);
    const items: string[] = [];
    for (let i = 0; i < n; i++) {
      const t: Ty = kind === 'mixed' ? r.pick(TYPES) : kind;
      if (t === 'str' && r.chance(0.7)) items.push(this.strLit());
      else if (t === 'ent' && r.chance(0.7)) items.push(this.entLit());
      else items.push(this.gen(t, Math.max(0, depth - 1)));
    }
    return `[${items.join(', ')}]`;
  }

  set(depth: number): string {
    const r = this.rng;
    if (depth <= 0 || r.chance(0.3)) {
      return r.choose<string>([
        [2, () => this.attr('principal', r.pick(PRINCIPAL_ATTRS.set))],
        [2, () => this.attr('resource', r.pick(RESOURCE_ATTRS.set))],
        [2, () => this.setLit(0)],
        [0.5, () => '[]'],
      ]);
    }
    const d = depth - 1;
    return r.choose<string>([
      [3, () => this.setLit(d)],
      [3, () => this.set(0)],
      [1, () => this.ite('set', depth)],
      [0.5, () => `{xs: ${this.set(d)}}.xs`],
    ]);
  }

  entSet(depth: number): string {
    const r = this.rng;
    const items = r.some([0], 3).map(() => (r.chance(0.8) ? this.entLit() : this.ent(Math.max(0, depth - 1))));
    return `[${items.join(', ')}]`;
  }

  ent(depth: number): string {
    const r = this.rng;
    if (depth <= 0 || r.chance(0.3)) {
      return r.choose<string>([
        [3, () => 'principal'],
        [1, () => 'resource'],
        [1, () => 'action'],
        [3, () => this.entLit()],
      ]);
    }
    return r.choose<string>([
      [4, () => this.ent(0)],
      [1, () => this.ite('ent', depth)],
      [0.5, () => `{e: ${this.ent(depth - 1)}}.e`],
    ]);
  }

  recKey(): string {
    const k = this.rng.pick(RECORD_KEYS);
    return IDENT.test(k) && !RESERVED.has(k) && this.rng.chance(0.7) ? k : cedarString(k);
  }

  recLit(depth: number): string {
    const r = this.rng;
    if (r.chance(0.25)) {
      // Shaped like context.grant, so equality with it is sometimes true.
      return `{active: ${r.chance(0.3) ? this.bool(Math.max(0, depth - 1)) : r.pick(['true', 'false'])}, id: ${cedarString(r.pick(GRANT_IDS))}, reason: ${cedarString(r.pick(REASONS))}, break_glass: ${r.pick(['true', 'false'])}}`;
    }
    const n = r.range(0, 3);
    const seen = new Set<string>();
    const parts: string[] = [];
    for (let i = 0; i < n; i++) {
      const key = this.recKey();
      const bare = key.startsWith('"') ? (JSON.parse(key) as string) : key;
      if (seen.has(bare)) continue;
      seen.add(bare);
      parts.push(`${key}: ${this.gen(r.pick(TYPES), Math.max(0, depth - 1))}`);
    }
    return `{${parts.join(', ')}}`;
  }

  rec(depth: number): string {
    const r = this.rng;
    if (depth <= 0 || r.chance(0.3)) {
      return r.choose<string>([
        [2, () => 'context'],
        [3, () => 'context.grant'],
        [2, () => this.recLit(0)],
      ]);
    }
    return r.choose<string>([
      [3, () => this.recLit(depth - 1)],
      [2, () => this.rec(0)],
      [1, () => this.ite('rec', depth)],
    ]);
  }

  /** A like pattern: often derived from a value requests carry, with wildcards and literal stars. */
  pattern(): string {
    const r = this.rng;
    const base = r.chance(0.8) ? r.pick(this.n.strings) : r.pick(['', '*', 'a*b', '\\*', '**']);
    const chars = [...base];
    let out = '';
    for (let i = 0; i < chars.length; i++) {
      const c = chars[i]!;
      if (r.chance(0.12)) {
        out += '*';
        // A wildcard swallows a random run of characters.
        i += r.int(4);
        continue;
      }
      if (c === '*') out += r.chance(0.5) ? '\\*' : '*';
      else if (c === '"') out += '\\"';
      else if (c === '\\') out += '\\\\';
      else if (c === '\t') out += '\\t';
      else if (c === '\n') out += '\\n';
      else out += c;
      if (r.chance(0.05)) out += '*';
    }
    if (r.chance(0.2)) out = `*${out}`;
    if (r.chance(0.2)) out += '*';
    if (r.chance(0.05)) out += '\\*';
    return `"${out}"`;
  }
}

// ---------------------------------------------------------------------------------------------
// Random rules

function genScopes(rng: Rng, n: Names): string {
  const principal = rng.choose<string>([
    [4, () => 'principal'],
    [
      2,
      () => {
        const p = rng.pick(n.principals);
        return `principal == ${entityLit(p.kind === 'service' ? 'Service' : 'User', rng.chance(0.9) ? p.id : 'nobody')}`;
      },
    ],
    [3, () => `principal in ${entityLit('Team', rng.chance(0.9) ? rng.pick(n.teams) : rng.pick(['ghost', GHOST_TEAM]))}`],
    [1, () => `principal is ${rng.pick(['User', 'Service'])}`],
    [1, () => `principal is ${rng.pick(['User', 'Service'])} in ${entityLit('Team', rng.pick(n.teams))}`],
    [0.3, () => `principal in ${entityLit('User', rng.pick(n.principals).id)}`],
  ]);
  const actions = [...ALL_ACTIONS];
  const action = rng.choose<string>([
    [3, () => 'action'],
    [3, () => `action == ${entityLit('Action', rng.pick(actions))}`],
    [
      2,
      () =>
        `action in [${rng
          .some(actions, 3, 1)
          .map((a) => entityLit('Action', a))
          .join(', ')}]`,
    ],
    [1, () => 'action in Action::"read"'],
    [0.5, () => `action in [Action::"read", Action::"write"]`],
    [0.3, () => 'action == Action::"read"'],
    [0.3, () => 'action in []'],
  ]);
  const resource = rng.choose<string>([
    [5, () => 'resource'],
    [2, () => 'resource is Field'],
    [1, () => `resource == ${entityLit('Field', rng.chance(0.5) ? 'users.phone_number' : rng.pick(n.fields))}`],
    [0.5, () => `resource in ${entityLit('Field', rng.pick(n.fields))}`],
    [0.3, () => `resource is Field in ${entityLit('Field', rng.pick(n.fields))}`],
  ]);
  return `${principal}, ${action}, ${resource}`;
}

function genRuleText(rng: Rng, n: Names, id: string, unsupported: boolean): string {
  const g = new ExprGen(rng, n, 0.04);
  const effect = rng.chance(0.6) ? 'permit' : 'forbid';
  const clauses: string[] = [];
  const count = rng.choose<number>([
    [1, () => 0],
    [5, () => 1],
    [2, () => 2],
    [0.5, () => 3],
  ]);
  for (let i = 0; i < count; i++) {
    clauses.push(`${rng.chance(0.75) ? 'when' : 'unless'} { ${g.bool(rng.range(1, 3))} }`);
  }
  if (unsupported) {
    const snippet = rng.pick(UNSUPPORTED_SNIPPETS);
    const body = rng.choose<string>([
      [2, () => snippet],
      [1, () => `(${snippet}) && ${g.bool(1)}`],
      [1, () => `${g.bool(1)} || (${snippet})`],
    ]);
    clauses.splice(rng.int(clauses.length + 1), 0, `${rng.chance(0.75) ? 'when' : 'unless'} { ${body} }`);
  }
  return `@id(${cedarString(id)})\n${effect} (${genScopes(rng, n)})${clauses.map((c) => `\n${c}`).join('')};`;
}

function toRule(id: string, text: string): Rule | undefined {
  const conv = cedar.policyToJson(text);
  if (conv.type === 'failure') return undefined;
  const json = conv.json;
  return { id, effect: json.effect, text, file: 'random.cedar', line: 1, col: 1, json };
}

// ---------------------------------------------------------------------------------------------
// Random requests for the random-policy part

interface RequestGen {
  request(rng: Rng): EvalRequest;
}

function requestGen(policy: Policy): RequestGen {
  const teams = teamEntities(policy);
  const teamNames = [...policy.directory.teams.keys()];
  const directory = [...policy.directory.principals.values()].map((p) => principalEntity(policy, p));
  const categories = [...policy.taxonomy.categories.keys()];
  const datasetFields = [...policy.datasets.values()].map((d) => ({ dataset: d.name, fields: [...d.fields.values()] }));

  const principal = (rng: Rng): EntityData => {
    if (rng.chance(0.7)) return rng.pick(directory);
    const known = rng.pick([...policy.directory.principals.values()]);
    const p: Principal = {
      id: rng.chance(0.3) ? known.id : rng.pick(['adhoc-1', 'adhoc-2', 'nobody', 'legacy-admin', 'recsys-service']),
      kind: rng.chance(0.7) ? 'person' : 'service',
      name: 'ad hoc',
      team: rng.chance(0.9) ? rng.pick(teamNames) : GHOST_TEAM,
      employer: rng.pick(EMPLOYERS),
      workCountry: rng.pick(COUNTRIES_USER),
      site: rng.pick(SITES),
      clearance: rng.pick([-1, 0, 1, 2, 3, 4, 5, 100]),
      approverGroups: rng.subset(GROUPS, 0.3),
      manager: rng.chance(0.5) ? undefined : rng.pick(['austin-approver-a', 'austin-approver-b', '', 'x']),
    };
    return principalEntity(policy, p);
  };

  const resource = (rng: Rng): EntityData => {
    const ds = rng.pick(datasetFields);
    const known = rng.chance(0.9);
    const f = ds.fields.length > 0 && known ? rng.pick(ds.fields) : undefined;
    const dataset = rng.chance(0.95) ? ds.dataset : 'other';
    const field = rng.chance(0.3) ? 'phone_number' : (f?.name ?? 'ghost');
    const category = rng.choose<string>([
      [5, () => f?.category ?? rng.pick(categories)],
      [3, () => rng.pick(categories)],
      [0.5, () => 'bogus.category'],
    ]);
    const cls = (rng.chance(0.97) ? rng.pick(CLASSES) : 'weird') as DataClass;
    const jurisdiction = rng.pick(JURISDICTIONS);
    return fieldEntity(policy, { dataset: rng.chance(0.3) ? 'users' : dataset, field, category, class: cls, jurisdiction });
  };

  return {
    request(rng: Rng): EvalRequest {
      const who = principal(rng);
      // All teams (as the brief for this test asks), or only the principal's (as decide() passes).
      const entities = rng.chance(0.5) ? teams : new Map([...teams].filter(([k]) => who.ancestors.has(k)));
      const context = contextRecord({
        country: rng.pick(COUNTRIES_CTX),
        site: rng.pick(SITES),
        reason: rng.pick(REASONS),
        ticket: rng.pick(TICKETS),
        grant: { active: rng.chance(0.4), id: rng.pick(GRANT_IDS), reason: rng.pick(REASONS), breakGlass: rng.chance(0.15) },
        forSubject: rng.chance(0.3),
      });
      return { principal: who, action: rng.pick(ALL_ACTIONS), resource: resource(rng), context, entities };
    },
  };
}

function describeRequest(r: EvalRequest): string {
  const attrs = (e: EntityData) => JSON.stringify(toCedarJson(new CedarRecord(e.attrs)));
  return (
    `principal ${r.principal.uid.key} ${attrs(r.principal)} parents=[${r.principal.parents.map((p) => p.key).join(',')}]; ` +
    `action ${r.action}; resource ${r.resource.uid.key} ${attrs(r.resource)}; context ${JSON.stringify(toCedarJson(r.context))}`
  );
}

function answerText(a: AuthzAnswer | Error): string {
  if (a instanceof Error) return `threw ${a.message}`;
  return JSON.stringify({ allow: a.allow, reasons: a.reasons, errors: a.errors });
}

function sameAnswer(a: AuthzAnswer, b: AuthzAnswer): boolean {
  return a.allow === b.allow && sameList(a.reasons, b.reasons) && sameList(a.errors, b.errors);
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function tryAuthorize(authorize: (r: EvalRequest) => AuthzAnswer, req: EvalRequest): AuthzAnswer | Error {
  try {
    return authorize(req);
  } catch (e) {
    return e instanceof Error ? e : new Error(String(e));
  }
}

/** For a disagreement: the single rules of the set that, alone, already make the evaluators disagree. */
function isolate(rules: readonly Rule[], req: EvalRequest): Rule[] {
  const out: Rule[] = [];
  for (const rule of rules) {
    const a = tryAuthorize((r) => createCompiledEvaluator([rule]).authorize(r), req);
    const b = tryAuthorize((r) => createReferenceEvaluator([rule]).authorize(r), req);
    if (a instanceof Error || b instanceof Error ? !(a instanceof Error && b instanceof Error) : !sameAnswer(a, b)) out.push(rule);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Demo part: random decide() requests

const NOW = 1_700_000_000_000;

function demoRequestGen(rng: Rng, policy: Policy): () => DecideRequest {
  const ids = [...policy.directory.principals.keys()];
  const teamNames = [...policy.directory.teams.keys()];
  const datasets = [...policy.datasets.values()];
  const datasetNames = datasets.map((d) => d.name);
  let adHoc = 0;

  const principal = (): string | Principal => {
    if (rng.chance(0.85)) return rng.pick(ids);
    const known = policy.directory.principals.get(rng.pick(ids))!;
    return {
      id: rng.chance(0.3) ? known.id : `adhoc-${adHoc++ % 50}`,
      kind: rng.chance(0.8) ? 'person' : 'service',
      name: 'ad hoc',
      team: rng.pick(teamNames),
      employer: rng.pick(EMPLOYERS),
      workCountry: rng.pick(COUNTRIES_USER),
      site: rng.pick(SITES),
      clearance: rng.range(0, 4),
      approverGroups: rng.subset(GROUPS, 0.3),
      manager: rng.chance(0.5) ? undefined : rng.pick(ids),
    };
  };

  const grant = (subject: unknown): GrantInfo => {
    const status = rng.pick(['active', 'active', 'active', 'expired', 'not-yet', 'just-expired'] as const);
    const subjects = rng.choose<readonly string[] | undefined>([
      [3, () => undefined],
      [2, () => (subject === undefined || subject === null ? ['u1'] : [String(subject)])],
      [1, () => rng.subset(SUBJECTS, 0.4)],
    ]);
    const breakGlass = rng.choose<boolean | undefined>([
      [3, () => undefined],
      [1, () => true],
      [1, () => false],
    ]);
    return {
      id: `grant-${rng.int(5)}`,
      datasets: rng.chance(0.7) ? [rng.pick(datasetNames), ...rng.subset([...datasetNames, 'other'], 0.3)] : rng.subset([...datasetNames, 'other'], 0.4),
      categories: rng.some(GRANT_CATEGORIES, 3, 1),
      ...(subjects === undefined ? {} : { subjects }),
      ...(status === 'not-yet' ? { notBefore: NOW + 1 } : rng.chance(0.5) ? { notBefore: rng.chance(0.5) ? NOW : NOW - 1000 } : {}),
      expiresAt: status === 'expired' ? NOW - 1000 : status === 'just-expired' ? NOW : NOW + 3_600_000,
      reason: rng.pick(REASONS),
      ...(breakGlass === undefined ? {} : { breakGlass }),
    };
  };

  return (): DecideRequest => {
    const d = rng.pick(datasets);
    const record: Record<string, unknown> = {};
    for (const f of d.fields.keys()) {
      if (!rng.chance(0.45)) continue;
      if (f === d.jurisdictionField) {
        record[f] = rng.choose<unknown>([
          [10, () => rng.pick(COUNTRIES_USER)],
          [0.5, () => null],
          [0.5, () => 7],
        ]);
      } else if (f === 'visibility') {
        record[f] = rng.choose<unknown>([
          [4, () => 'public'],
          [3, () => 'private'],
          [0.5, () => 'unlisted'],
          [0.5, () => null],
        ]);
      } else if (f === d.subjectField) {
        record[f] = rng.choose<unknown>([
          [5, () => rng.pick(SUBJECTS)],
          [1, () => 42],
          [0.5, () => null],
        ]);
      } else {
        record[f] = rng.choose<unknown>([
          [3, () => `v${rng.int(100)}`],
          [1, () => rng.int(1000)],
          [0.3, () => null],
        ]);
      }
    }
    // The jurisdiction field and visibility usually present, so fewer decisions stop early.
    if (d.jurisdictionField !== undefined && rng.chance(0.75) && !(d.jurisdictionField in record)) record[d.jurisdictionField] = rng.pick(COUNTRIES_USER);
    if (d.fields.has('visibility') && rng.chance(0.4) && !('visibility' in record)) record['visibility'] = rng.pick(['public', 'private']);
    if (rng.chance(0.15)) record[rng.pick(['extra_field', 'notes', 'constructor'])] = 'x';
    if (Object.keys(record).length === 0) record[rng.pick([...d.fields.keys()])] = 'v';

    const subject = record[d.subjectField];
    const grants = rng.chance(0.5) ? rng.some([0], 3, 1).map(() => grant(subject)) : undefined;
    const subjectJurisdiction = rng.choose<string | undefined>([
      [1, () => undefined],
      [16, () => rng.pick(['US', 'EU', 'ROW'])],
      [1, () => rng.pick(['MARS', 'us', ''])],
    ]);
    const context = {
      country: rng.pick(COUNTRIES_CTX),
      now: NOW,
      ...(rng.chance(0.8) ? { site: rng.pick(SITES) } : {}),
      ...(rng.chance(0.5) ? { reason: rng.pick(REASONS) } : {}),
      ...(rng.chance(0.3) ? { ticket: rng.pick(TICKETS) } : {}),
      ...(grants ? { grants } : {}),
      ...(subjectJurisdiction === undefined ? {} : { subjectJurisdiction }),
    };
    const fields = rng.chance(0.1) ? rng.subset([...Object.keys(record), 'missing_field', ...d.fields.keys()], 0.4) : undefined;
    return {
      principal: principal(),
      action: rng.chance(0.75) ? 'read' : 'write',
      dataset: d.name,
      record,
      context,
      ...(fields ? { fields } : {}),
    };
  };
}

function fieldView(f: FieldDecision): string {
  return JSON.stringify({
    field: f.field,
    disclosure: f.disclosure,
    rules: f.rules,
    reason: f.reason,
    class: f.class ?? null,
    category: f.category ?? null,
    jurisdiction: f.jurisdiction ?? null,
    grant: f.grant ?? null,
    mask: f.mask ?? null,
    steps: f.steps.map((s) => ({ action: s.action, allow: s.allow, rules: s.rules, errors: s.errors })),
  });
}

function bump(counter: Record<string, number>, key: string): void {
  counter[key] = (counter[key] ?? 0) + 1;
}

function describeDecide(req: DecideRequest): string {
  return JSON.stringify(req, (_k, v: unknown) => (v === undefined ? null : v));
}

// ---------------------------------------------------------------------------------------------

export function runDifferential(options: DifferentialOptions): DifferentialResult {
  const loaded = loadPolicy(options.policyDir);
  if (!loaded.ok) throw new Error(`the policy in ${options.policyDir} does not load: ${loaded.issues.map((i) => i.message).join('; ')}`);
  const policy = loaded.policy;
  const rng = new Rng(options.seed);
  const examples: string[] = [];
  const example = (s: string): void => {
    if (examples.length < MAX_EXAMPLES) examples.push(s.length > 4000 ? `${s.slice(0, 4000)}…` : s);
  };

  // Demo part ----------------------------------------------------------------------------------
  const demoStart = performance.now();
  const fast = createDecider(policy, { engine: 'compiled' });
  const slow = createDecider(policy, { engine: 'cedar' });
  const demo: DifferentialResult['demo'] = {
    cases: 0,
    decideCalls: 0,
    disagreements: 0,
    fallbackRules: (fast.evaluator as CompiledEvaluator).fallbacks.length,
    disclosures: {},
    reasons: {},
    steps: 0,
    withGrant: 0,
    withErrors: 0,
    ms: 0,
  };
  const nextDecide = demoRequestGen(rng, policy);
  while (demo.cases < options.demoCases) {
    const req = nextDecide();
    demo.decideCalls++;
    const a = fast.decide(req);
    const b = slow.decide(req);
    const n = Math.max(a.fields.length, b.fields.length);
    if (a.fields.length !== b.fields.length || a.jurisdiction !== b.jurisdiction || a.subject !== b.subject) {
      demo.disagreements++;
      example(
        `demo decision differs: request ${describeDecide(req)}; compiled jurisdiction=${a.jurisdiction} subject=${a.subject} fields=${a.fields.length}; cedar jurisdiction=${b.jurisdiction} subject=${b.subject} fields=${b.fields.length}`,
      );
    }
    for (let i = 0; i < n; i++) {
      demo.cases++;
      const fa = a.fields[i];
      const fb = b.fields[i];
      if (fb) {
        bump(demo.disclosures, fb.disclosure);
        bump(demo.reasons, fb.reason);
        demo.steps += fb.steps.length;
        if (fb.grant !== undefined) demo.withGrant++;
        if (fb.steps.some((s) => s.errors.length > 0)) demo.withErrors++;
      }
      const va = fa ? fieldView(fa) : 'missing';
      const vb = fb ? fieldView(fb) : 'missing';
      if (va !== vb) {
        demo.disagreements++;
        example(`demo field decision differs: request ${describeDecide(req)}; field #${i}; compiled ${va}; cedar ${vb}`);
      }
    }
  }
  demo.ms = performance.now() - demoStart;

  // Random-policy part -------------------------------------------------------------------------
  const randomStart = performance.now();
  const names: Names = {
    teams: [...policy.directory.teams.keys()],
    principals: [...policy.directory.principals.values()].map((p) => ({ id: p.id, kind: p.kind })),
    fields: [...policy.datasets.values()].flatMap((d) => [...d.fields.keys()].map((f) => `${d.name}.${f}`)),
    categories: [...policy.taxonomy.categories.keys()],
    strings: [
      ...COUNTRIES_CTX,
      ...CLASSES,
      ...policy.directory.teams.keys(),
      ...SITES,
      ...EMPLOYERS,
      'person',
      'service',
      ...policy.directory.principals.keys(),
      'user.contact.phone_number',
      'user.contact',
      'user',
      'user.unique_id',
      'system.operations',
      'user.content.public',
      'users',
      'videos',
      'comments',
      'phone_number',
      'uid',
      'caption',
      ...JURISDICTIONS,
      'us',
      'eu',
      'global',
      ...GRANT_IDS,
      ...REASONS,
      ...STRING_EXTRAS,
    ],
  };
  const requests = requestGen(policy);
  const perSet = options.requestsPerSet ?? 25;
  const random: DifferentialResult['random'] = {
    cases: 0,
    disagreements: 0,
    policySets: 0,
    rules: 0,
    unparsedRules: 0,
    fallbackRules: 0,
    fallbackSets: 0,
    fallbackConstructs: {},
    allows: 0,
    denies: 0,
    errorAnswers: 0,
    withReasons: 0,
    thrown: 0,
    ms: 0,
  };
  const unparsed: string[] = [];
  /** The rule texts already shown in an example, so that examples show different problems. */
  const shownCulprits = new Set<string>();
  while (random.cases < options.randomCases) {
    // Each policy set and its requests come from their own PRNG, so one set can be replayed alone.
    const setSeed = rng.int(2 ** 32);
    const srng = new Rng(setSeed);
    const size = srng.range(3, 10);
    const unsupportedAt = srng.chance(0.05) ? srng.int(size) : -1;
    const rules: Rule[] = [];
    for (let i = 0; i < size; i++) {
      const id = `r${i}`;
      const text = genRuleText(srng, names, id, i === unsupportedAt);
      const rule = toRule(id, text);
      if (rule) rules.push(rule);
      else {
        random.unparsedRules++;
        if (unparsed.length < 3) unparsed.push(text);
      }
    }
    if (rules.length === 0) continue;
    random.policySets++;
    random.rules += rules.length;
    const compiled = createCompiledEvaluator(rules);
    const reference = createReferenceEvaluator(rules);
    random.fallbackRules += compiled.fallbacks.length;
    if (compiled.fallbacks.length > 0) random.fallbackSets++;
    for (const f of compiled.fallbacks) bump(random.fallbackConstructs, f.construct);
    const n = Math.min(perSet, options.randomCases - random.cases);
    for (let k = 0; k < n; k++) {
      const req = requests.request(srng);
      random.cases++;
      const a = tryAuthorize((r) => compiled.authorize(r), req);
      const b = tryAuthorize((r) => reference.authorize(r), req);
      if (a instanceof Error || b instanceof Error) random.thrown++;
      if (!(b instanceof Error)) {
        if (b.allow) random.allows++;
        else random.denies++;
        if (b.errors.length > 0) random.errorAnswers++;
        if (b.reasons.length > 0) random.withReasons++;
      }
      const agree = a instanceof Error || b instanceof Error ? a instanceof Error && b instanceof Error && a.message === b.message : sameAnswer(a, b);
      if (!agree) {
        random.disagreements++;
        if (examples.length < MAX_EXAMPLES) {
          const culprits = isolate(rules, req);
          const shown = culprits.length > 0 ? culprits : rules;
          const key = shown.map((r) => r.text.replace(/^@id\("[^"]*"\)\n/, '')).join('\n');
          if (shownCulprits.has(key)) continue;
          shownCulprits.add(key);
          example(
            `random policy set seed ${setSeed}, request #${k} (${culprits.length > 0 ? 'rules that disagree alone' : 'whole set'}):\n${shown.map((r) => r.text).join('\n')}\n` +
              `request: ${describeRequest(req)}\ncompiled: ${answerText(a)}\ncedar: ${answerText(b)}`,
          );
        }
      }
    }
  }
  if (random.unparsedRules > 0 && random.unparsedRules * 100 > random.rules) {
    // Many unparsable texts mean the generator is wrong; say so rather than test less.
    example(`generator: ${random.unparsedRules} rule texts did not parse, e.g.:\n${unparsed.join('\n')}`);
  }
  random.ms = performance.now() - randomStart;

  return {
    cases: demo.cases + random.cases,
    disagreements: demo.disagreements + random.disagreements,
    fallbackRules: random.fallbackRules,
    examples,
    demo,
    random,
  };
}

/**
 * Runs both evaluators on `demoCases` random decide() requests against the demo policy and
 * `randomCases` random requests over random policy sets, and asserts they agree on every one.
 */
export function checkDifferential(t: TestContext, sizes: { readonly demoCases: number; readonly randomCases: number }): void {
  const SEED = process.env['DIFF_SEED'] ? Number(process.env['DIFF_SEED']) : 0x5eed_c0de;
  t.diagnostic(`seed ${SEED} (DIFF_SEED=… replays another)`);
  const started = performance.now();
  const r = runDifferential({ seed: SEED, demoCases: sizes.demoCases, randomCases: sizes.randomCases, policyDir: DEMO_POLICY });
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  t.diagnostic(`${r.cases} cases in ${seconds} s (demo ${(r.demo.ms / 1000).toFixed(1)} s, random ${(r.random.ms / 1000).toFixed(1)} s)`);
  t.diagnostic(
    `demo: ${r.demo.cases} field decisions from ${r.demo.decideCalls} decide calls, ${r.demo.steps} Cedar questions, ${r.demo.withGrant} under a grant, ${r.demo.withErrors} with rule errors; disclosures ${JSON.stringify(r.demo.disclosures)}; reasons ${JSON.stringify(r.demo.reasons)}`,
  );
  t.diagnostic(
    `random: ${r.random.cases} requests over ${r.random.policySets} policy sets (${r.random.rules} rules, ${r.random.unparsedRules} unparsed); ` +
      `${r.random.allows} allow, ${r.random.denies} deny, ${r.random.errorAnswers} with errors, ${r.random.withReasons} with reasons; ` +
      `fallbacks ${r.random.fallbackRules} rules in ${r.random.fallbackSets} sets ${JSON.stringify(r.random.fallbackConstructs)}`,
  );
  assert.equal(r.disagreements, 0, `${r.disagreements} disagreements (seed ${SEED}), e.g.:\n\n${r.examples.join('\n\n')}`);
  assert.ok(r.cases >= sizes.demoCases + sizes.randomCases, `only ${r.cases} cases`);
  assert.equal(r.demo.fallbackRules, 0, 'the demo policy compiles without fallbacks');
  assert.ok(r.fallbackRules > 0, 'some random rules fell back to cedar-wasm');
  assert.equal(r.random.thrown, 0, 'no evaluator threw');
  assert.ok(
    r.random.unparsedRules * 100 <= r.random.rules,
    `${r.random.unparsedRules} of ${r.random.rules} generated rules did not parse:\n${r.examples.join('\n\n')}`,
  );
  assert.ok(r.random.allows > 0 && r.random.denies > 0 && r.random.errorAnswers > 0, 'random answers include allow, deny and errors');
  assert.ok(r.random.allows >= r.random.cases / 20 && r.random.denies >= r.random.cases / 20, 'neither allow nor deny is rare');
  assert.ok(r.random.errorAnswers >= r.random.cases / 50, 'errors are not rare');
  for (const reason of ['permitted', 'forbidden', 'not_permitted', 'unclassified', 'unknown_jurisdiction', 'row_condition_unknown']) {
    assert.ok((r.demo.reasons[reason] ?? 0) > 0, `some demo field decisions are ${reason}`);
  }
}
