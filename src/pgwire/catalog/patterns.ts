// Name patterns in linear time: the regular expressions clients write for names (psql's
// processSQLNamePattern, `^pg_toast`, JDBC's `^pg_`) and LIKE patterns, matched as wildcards, never
// by a backtracking regular expression engine (a pattern of nested `.*` from any caller would hold
// the whole process).

import { PgError } from '../protocol.js';

/** One character of a pattern: a literal, any character, or a class; or STAR, any run. */
export type Tok = string | ((c: string) => boolean) | typeof STAR;
export const STAR = 1 as const;
export const ANY = (): boolean => true;

/** The longest name pattern taken (psql's are a name or two with wildcards). */
export const MAX_PATTERN = 512;

export function classAt(p: string, i: number): [(c: string) => boolean, number] {
  // p[i] is '['; returns the class and the index after its ']'.
  let j = i + 1;
  const negate = p[j] === '^';
  if (negate) j++;
  const parts: ((c: string) => boolean)[] = [];
  let first = true;
  while (j < p.length && (p[j] !== ']' || first)) {
    first = false;
    let c = p[j]!;
    if (c === '\\') c = p[++j] ?? '';
    if (p[j + 1] === '-' && p[j + 2] !== undefined && p[j + 2] !== ']') {
      let hi = p[j + 2]!;
      if (hi === '\\') {
        hi = p[j + 3] ?? '';
        j++;
      }
      const lo = c;
      parts.push((x) => x >= lo && x <= hi);
      j += 3;
    } else {
      parts.push((x) => x === c);
      j++;
    }
  }
  if (p[j] !== ']') throw new PgError('2201B', 'invalid regular expression: brackets [] not balanced');
  return [(x) => parts.some((f) => f(x)) !== negate, j + 1];
}

export const ESCAPES: Record<string, (c: string) => boolean> = {
  w: (c) => /\w/.test(c),
  W: (c) => !/\w/.test(c),
  d: (c) => c >= '0' && c <= '9',
  D: (c) => !(c >= '0' && c <= '9'),
  s: (c) => /\s/.test(c),
  S: (c) => !/\s/.test(c),
};

/**
 * A regular expression as clients write them for names (psql's processSQLNamePattern, `^pg_toast`,
 * JDBC's `^pg_`): literal characters, `.`, `[...]` classes, `.*`, backslash escapes, and `^`/`$`
 * anchors around an optional group. Other regular expression syntax is refused (0A000): it is
 * matched as wildcards in linear time, never by a backtracking engine (a pattern of nested `.*`
 * from any caller would hold the whole process).
 */
export function regexTokens(pattern: string): Tok[] {
  if (pattern.length > MAX_PATTERN) throw new PgError('54000', `a name pattern is at most ${MAX_PATTERN} characters`);
  let p = pattern;
  const start = p.startsWith('^');
  if (start) p = p.slice(1);
  const end = p.endsWith('$') && !p.endsWith('\\$');
  if (end) p = p.slice(0, -1);
  if (p.startsWith('(') && p.endsWith(')') && !p.endsWith('\\)')) p = p.slice(1, -1);
  const tokens: Tok[] = start ? [] : [STAR];
  for (let i = 0; i < p.length; i++) {
    const c = p[i]!;
    if (c === '\\') {
      if (i + 1 >= p.length) throw new PgError('2201B', 'invalid regular expression: a trailing backslash');
      const e = p[++i]!;
      tokens.push(ESCAPES[e] ?? e);
    } else if (c === '.' && p[i + 1] === '*') {
      if (tokens.at(-1) !== STAR) tokens.push(STAR);
      i++;
    } else if (c === '.') tokens.push(ANY);
    else if (c === '[') {
      const [cls, next] = classAt(p, i);
      tokens.push(cls);
      i = next - 1;
    } else if ('()|]{}+?*^$'.includes(c))
      throw new PgError('0A000', `the cordon wire gateway takes name patterns as psql writes them; ${JSON.stringify(c)} is other regular expression syntax`);
    else tokens.push(c);
  }
  if (!end && tokens.at(-1) !== STAR) tokens.push(STAR);
  return tokens;
}

/** A LIKE pattern: `%` any run, `_` any character, backslash escapes. */
export function likeTokens(pattern: string): Tok[] {
  if (pattern.length > MAX_PATTERN) throw new PgError('54000', `a LIKE pattern is at most ${MAX_PATTERN} characters`);
  const tokens: Tok[] = [];
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '\\') {
      if (i + 1 >= pattern.length) throw new PgError('22025', 'LIKE pattern must not end with escape character');
      tokens.push(pattern[++i]!);
    } else if (c === '%') {
      if (tokens.at(-1) !== STAR) tokens.push(STAR);
    } else if (c === '_') tokens.push(ANY);
    else tokens.push(c);
  }
  return tokens;
}

/** Wildcard matching with one star to return to: O(name × pattern) at worst, no backtracking blow-up. */
export function matcher(tokens: readonly Tok[], fold = false): (name: string) => boolean {
  const toks = fold ? tokens.map((t) => (typeof t === 'string' ? t.toLowerCase() : t)) : tokens;
  return (input) => {
    const name = fold ? input.toLowerCase() : input;
    let n = 0;
    let t = 0;
    let star = -1;
    let mark = 0;
    while (n < name.length) {
      const tok = toks[t];
      if (t < toks.length && tok !== STAR && (typeof tok === 'function' ? tok(name[n]!) : tok === name[n])) {
        n++;
        t++;
      } else if (tok === STAR) {
        star = t++;
        mark = n;
      } else if (star >= 0) {
        t = star + 1;
        n = ++mark;
      } else return false;
    }
    while (toks[t] === STAR) t++;
    return t === toks.length;
  };
}
