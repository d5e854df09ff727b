// The NDJSON line scanner (src/scan/json-line.ts) reads code units from a typed array; before, it
// read the line's string with charCodeAt and a sticky RegExp. The string version is kept below,
// frozen, as the oracle: on random lines (JSON atoms spliced and broken, non-ASCII, lone surrogates,
// escapes) both must accept the same lines and report the same members at the same offsets. JSON.parse
// is asked too. Random cases print their seed; SEED=… replays one. Failures name lines by hash.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { scanJsonText, type JsonMemberSink } from '../src/scan/json-line.js';
import { mulberry32 } from '../src/shared/random.js';
import { hashOf } from './helpers/hidden.js';

// ---- the frozen string version (json-line.ts before it read code units) ----

const MAX_DEPTH = 1000;

// The helpers below are module functions over (text, index, end) rather than closures made per
// line: a file has millions of lines, and closures per call are garbage per line.

/** The characters a string holds before its next quote, backslash or control character. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: JSON strings may hold no raw control character; the run stops at one
const STRING_RUN_BEFORE = /[^"\\\x00-\x1f]*/y;

function skipWs(text: string, i: number, to: number): number {
  while (i < to) {
    const c = text.charCodeAt(i);
    if (c === 32 || c === 10 || c === 13 || c === 9) i++;
    else break;
  }
  return i;
}

/** The index after the closing quote of the string whose opening quote is at i; -1 when malformed. */
function stringEnd(text: string, i: number, to: number): number {
  let k = i + 1;
  for (;;) {
    STRING_RUN_BEFORE.lastIndex = k;
    STRING_RUN_BEFORE.test(text);
    k = STRING_RUN_BEFORE.lastIndex;
    if (k >= to) return -1;
    const c = text.charCodeAt(k);
    if (c === 34) return k + 1;
    if (c !== 92) return -1; // a control character
    const e = text.charCodeAt(k + 1);
    if (k + 1 >= to) return -1;
    if (e === 117) {
      if (k + 5 >= to) return -1;
      for (let h = k + 2; h < k + 6; h++) {
        const x = text.charCodeAt(h) | 0x20;
        if (!((x >= 48 && x <= 57) || (x >= 97 && x <= 102))) return -1;
      }
      k += 6;
    } else if (e === 34 || e === 92 || e === 47 || e === 98 || e === 102 || e === 110 || e === 114 || e === 116) {
      k += 2;
    } else {
      return -1;
    }
  }
}

function digitsEnd(text: string, k: number, to: number): number {
  while (k < to) {
    const c = text.charCodeAt(k);
    if (c >= 48 && c <= 57) k++;
    else break;
  }
  return k;
}

/** The index after the number starting at i; -1 when malformed. */
function numberEnd(text: string, i: number, to: number): number {
  let k = i;
  if (text.charCodeAt(k) === 45) k++;
  const c = text.charCodeAt(k);
  if (k >= to || c < 48 || c > 57) return -1;
  k = c === 48 ? k + 1 : digitsEnd(text, k + 1, to);
  if (k < to && text.charCodeAt(k) === 46) {
    const d = digitsEnd(text, k + 1, to);
    if (d === k + 1) return -1;
    k = d;
  }
  if (k < to && (text.charCodeAt(k) | 0x20) === 101) {
    k++;
    if (k < to && (text.charCodeAt(k) === 43 || text.charCodeAt(k) === 45)) k++;
    const d = digitsEnd(text, k, to);
    if (d === k) return -1;
    k = d;
  }
  return k;
}

/** The index after `true`, `false` or `null` at i; -1 when none is there. */
function literalEnd(text: string, i: number, to: number): number {
  for (const w of LITERALS) if (i + w.length <= to && text.startsWith(w, i)) return i + w.length;
  return -1;
}
const LITERALS = ['true', 'false', 'null'] as const;

/** Where the key read by keyAt starts and ends (keyAt returns only the index after it). */
let keyStartOut = -1;
let keyEndOut = -1;

/** Reads `"key" :` at i (after whitespace); the index of the value after whitespace, or -1. */
function keyAt(text: string, i: number, to: number): number {
  if (i >= to || text.charCodeAt(i) !== 34) return -1;
  const e = stringEnd(text, i, to);
  if (e === -1) return -1;
  keyStartOut = i + 1;
  keyEndOut = e - 1;
  i = skipWs(text, e, to);
  if (i >= to || text.charCodeAt(i) !== 58) return -1;
  return skipWs(text, i + 1, to);
}

/** Containers open while a line is scanned (1 = object, 2 = array); reused across lines (so scanJsonText is not reentrant: a member sink must not call it). */
const stack: number[] = [];

/**
 * True when `text[from, to)` is one JSON text, as JSON.parse would accept it; calls `member` for
 * each member with a string or number value, in order. A false answer may come after some calls.
 */
function scanJsonTextBefore(text: string, from: number, to: number, member?: JsonMemberSink): boolean {
  stack.length = 0;
  // The key of the member whose value is read next, or -1.
  let keyStart = -1;
  let keyEnd = -1;
  let i = skipWs(text, from, to);
  for (;;) {
    // A value.
    if (i >= to) return false;
    const c = text.charCodeAt(i);
    if (c === 123 || c === 91) {
      if (stack.length >= MAX_DEPTH) return false;
      i = skipWs(text, i + 1, to);
      const close = c === 123 ? 125 : 93;
      if (i < to && text.charCodeAt(i) === close) {
        i++;
      } else {
        stack.push(c === 123 ? 1 : 2);
        if (c === 123) {
          i = keyAt(text, i, to);
          if (i === -1) return false;
          keyStart = keyStartOut;
          keyEnd = keyEndOut;
        } else {
          keyStart = -1;
        }
        continue;
      }
    } else if (c === 34) {
      const e = stringEnd(text, i, to);
      if (e === -1) return false;
      if (keyStart !== -1) member?.(keyStart, keyEnd, i + 1, e - 1, true);
      i = e;
    } else if (c === 45 || (c >= 48 && c <= 57)) {
      const e = numberEnd(text, i, to);
      if (e === -1) return false;
      if (keyStart !== -1) member?.(keyStart, keyEnd, i, e, false);
      i = e;
    } else {
      const e = literalEnd(text, i, to);
      if (e === -1) return false;
      i = e;
    }
    keyStart = -1;
    // After a value: a comma, a closing bracket, or the end.
    for (;;) {
      i = skipWs(text, i, to);
      if (stack.length === 0) return i === to;
      if (i >= to) return false;
      const top = stack[stack.length - 1]!;
      const d = text.charCodeAt(i);
      if (d === 44) {
        i = skipWs(text, i + 1, to);
        if (top === 1) {
          i = keyAt(text, i, to);
          if (i === -1) return false;
          keyStart = keyStartOut;
          keyEnd = keyEndOut;
        }
        break;
      }
      if ((top === 1 && d === 125) || (top === 2 && d === 93)) {
        i++;
        stack.pop();
        continue;
      }
      return false;
    }
  }
}

// ---- the comparison ----

const ATOMS = [
  '{',
  '}',
  '[',
  ']',
  ',',
  ':',
  '"a"',
  '"phone"',
  '"p\\"h"',
  '"\\u00e9"',
  '"\\u12g4"',
  '"\\q"',
  '"x\ty"',
  '"\u001f"',
  '"\u00e9t\u00e9"',
  '"\ud800"',
  '"\u{1F600}"',
  '"a\\/b"',
  '"\\n"',
  '1',
  '-0',
  '01',
  '1.5',
  '1.',
  '.5',
  '1e5',
  '1E+2',
  '1e',
  '-',
  '-12.5e-3',
  'true',
  'false',
  'null',
  'nul',
  'tru',
  ' ',
  '\t',
  '\r',
  '\u00a0',
  '"',
  '\\',
  '\u00e9',
];

function randomLine(r: () => number): string {
  const value = (depth: number): string => {
    const x = r();
    const member = (): string => `${ATOMS[6 + Math.floor(r() * 12)]}${r() < 0.2 ? ' ' : ''}:${r() < 0.2 ? '\t' : ''}${value(depth + 1)}`;
    if (depth < 4 && (x < 0.3 || (depth === 0 && x < 0.8))) return `{${Array.from({ length: Math.floor(r() * 7) }, member).join(r() < 0.1 ? ' , ' : ',')}}`;
    if (depth < 4 && x < 0.45) return `[${Array.from({ length: Math.floor(r() * 3) }, () => value(depth + 1)).join(',')}]`;
    return ATOMS[6 + Math.floor(r() * (ATOMS.length - 6))]!;
  };
  let text = value(0);
  if (r() < 0.5) {
    const at = Math.floor(r() * text.length);
    text = text.slice(0, at) + ATOMS[Math.floor(r() * ATOMS.length)]! + text.slice(at + (r() < 0.5 ? 1 : 0));
  }
  return text;
}

function scanned(scan: (text: string, from: number, to: number, member?: JsonMemberSink) => boolean, text: string, from: number, to: number) {
  const members: number[] = [];
  const ok = scan(text, from, to, (ks, ke, vs, ve, isString) => members.push(ks, ke, vs, ve, isString ? 1 : 0));
  return { ok, members };
}

test('NDJSON lines: the code-unit scanner accepts and reports exactly what the string scanner did', () => {
  const seed = Number(process.env['SEED'] ?? Date.now() % 1e9);
  console.log(`# json line seed ${seed} (SEED=${seed} repeats it)`);
  const r = mulberry32(seed);
  let accepted = 0;
  let members = 0;
  for (let i = 0; i < 20_000; i++) {
    const line = randomLine(r);
    const pad = ' x'.repeat(Math.floor(r() * 3));
    const text = `${pad}${line}${pad}`;
    const want = scanned(scanJsonTextBefore, text, pad.length, pad.length + line.length);
    const got = scanned(scanJsonText, text, pad.length, pad.length + line.length);
    assert.deepEqual(got, want, `line #${i} (sha ${hashOf(line)})`);
    let parsed = true;
    try {
      JSON.parse(line);
    } catch {
      parsed = false;
    }
    assert.equal(got.ok, parsed, `line #${i} (sha ${hashOf(line)}): JSON.parse says ${parsed}`);
    if (got.ok) accepted++;
    members += got.members.length / 5;
  }
  // The lines must reach both answers and report members, or the comparison says little.
  assert.ok(accepted > 3000 && accepted < 17_000, `${accepted} accepted`);
  assert.ok(members > 3000, `${members} members`);
});
