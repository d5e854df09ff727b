// One pass over an NDJSON line that both validates it (accepting exactly what JSON.parse accepts)
// and reports its members whose value is a string or a number, without building any value: the
// scanner needs to know a line is JSON and where `"phone": "…"` is, not the parsed object.

/** A member `"key": value` with a string or number value; offsets in the scanned text. */
/** `keyStart..keyEnd`: the key's characters (no quotes, may hold escapes); `valueStart..valueEnd`: the string's characters without quotes, or the number. */
export type JsonMemberSink = (keyStart: number, keyEnd: number, valueStart: number, valueEnd: number, isString: boolean) => void;

const MAX_DEPTH = 1000;

// The helpers below are module functions over (text, index, end) rather than closures made per
// line: a file has millions of lines, and closures per call are garbage per line.

/** The characters a string holds before its next quote, backslash or control character. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: JSON strings may hold no raw control character; the run stops at one
const STRING_RUN = /[^"\\\x00-\x1f]*/y;

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
    STRING_RUN.lastIndex = k;
    STRING_RUN.test(text);
    k = STRING_RUN.lastIndex;
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
export function scanJsonText(text: string, from: number, to: number, member?: JsonMemberSink): boolean {
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
