// One pass over an NDJSON line that both validates it (accepting exactly what JSON.parse accepts)
// and reports its members whose value is a string or a number, without building any value: the
// scanner needs to know a line is JSON and where `"phone": "…"` is, not the parsed object.
//
// The pass reads the line's UTF-16 code units from a typed array (NdjsonRows copies each block's
// once, natively) rather than charCodeAt on the block's string: on the bench corpus the string
// version, with a sticky RegExp per string to skip its characters, cost 136 instructions per byte of
// NDJSON, more than all the detectors together.

/** A member `"key": value` with a string or number value; offsets in the scanned text. */
/** `keyStart..keyEnd`: the key's characters (no quotes, may hold escapes); `valueStart..valueEnd`: the string's characters without quotes, or the number. */
export type JsonMemberSink = (keyStart: number, keyEnd: number, valueStart: number, valueEnd: number, isString: boolean) => void;

const MAX_DEPTH = 1000;

/**
 * The members scanJsonUnits found, 4 numbers each: key start, key end, value start, and the value's
 * end for a string or -1 - end for a number. Reused across calls: read before the next one.
 */
export interface JsonMembers {
  list: Int32Array;
  count: number;
}

const members: JsonMembers = { list: new Int32Array(4 * 64), count: 0 };

function addMember(ks: number, ke: number, vs: number, veCode: number): void {
  let k = members.count * 4;
  if (k + 4 > members.list.length) {
    const grown = new Int32Array(members.list.length * 2);
    grown.set(members.list);
    members.list = grown;
  }
  const l = members.list;
  l[k++] = ks;
  l[k++] = ke;
  l[k++] = vs;
  l[k] = veCode;
  members.count++;
}

// The helpers below are module functions over (units, index, end) rather than closures made per
// line: a file has millions of lines, and closures per call are garbage per line.

function skipWs(u: Uint16Array, i: number, to: number): number {
  while (i < to) {
    const c = u[i]!;
    if (c === 32 || c === 10 || c === 13 || c === 9) i++;
    else break;
  }
  return i;
}

/** The index after the closing quote of the string whose opening quote is at i; -1 when malformed. */
function stringEnd(u: Uint16Array, i: number, to: number): number {
  let k = i + 1;
  for (;;) {
    // The characters before the next quote, backslash or control character.
    while (k < to) {
      const c = u[k]!;
      if (c === 34 || c === 92 || c < 32) break;
      k++;
    }
    if (k >= to) return -1;
    const c = u[k]!;
    if (c === 34) return k + 1;
    if (c !== 92) return -1; // a control character
    if (k + 1 >= to) return -1;
    const e = u[k + 1]!;
    if (e === 117) {
      if (k + 5 >= to) return -1;
      for (let h = k + 2; h < k + 6; h++) {
        const x = u[h]! | 0x20;
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

function digitsEnd(u: Uint16Array, k: number, to: number): number {
  while (k < to) {
    const c = u[k]!;
    if (c >= 48 && c <= 57) k++;
    else break;
  }
  return k;
}

/** The index after the number starting at i; -1 when malformed. */
function numberEnd(u: Uint16Array, i: number, to: number): number {
  let k = i;
  if (u[k] === 45) k++;
  if (k >= to) return -1;
  const c = u[k]!;
  if (c < 48 || c > 57) return -1;
  k = c === 48 ? k + 1 : digitsEnd(u, k + 1, to);
  if (k < to && u[k] === 46) {
    const d = digitsEnd(u, k + 1, to);
    if (d === k + 1) return -1;
    k = d;
  }
  if (k < to && (u[k]! | 0x20) === 101) {
    k++;
    if (k < to && (u[k] === 43 || u[k] === 45)) k++;
    const d = digitsEnd(u, k, to);
    if (d === k) return -1;
    k = d;
  }
  return k;
}

/** True when the code units of `word` are at i (before `to`). */
function wordAt(u: Uint16Array, i: number, to: number, word: string): boolean {
  if (i + word.length > to) return false;
  for (let k = 0; k < word.length; k++) if (u[i + k] !== word.charCodeAt(k)) return false;
  return true;
}

/** The index after `true`, `false` or `null` at i; -1 when none is there. */
function literalEnd(u: Uint16Array, i: number, to: number): number {
  const c = u[i];
  const w = c === 116 ? 'true' : c === 102 ? 'false' : c === 110 ? 'null' : undefined;
  return w !== undefined && wordAt(u, i, to, w) ? i + w.length : -1;
}

/** Where the key read by keyAt starts and ends (keyAt returns only the index after it). */
let keyStartOut = -1;
let keyEndOut = -1;

/** Reads `"key" :` at i (after whitespace); the index of the value after whitespace, or -1. */
function keyAt(u: Uint16Array, i: number, to: number): number {
  if (i >= to || u[i] !== 34) return -1;
  const e = stringEnd(u, i, to);
  if (e === -1) return -1;
  keyStartOut = i + 1;
  keyEndOut = e - 1;
  i = skipWs(u, e, to);
  if (i >= to || u[i] !== 58) return -1;
  return skipWs(u, i + 1, to);
}

/** Containers open while a line is scanned (1 = object, 2 = array); reused across lines (so the scan is not reentrant). */
let stack = new Uint8Array(64);

/**
 * True when the code units `u[from, to)` are one JSON text, as JSON.parse would accept it; its
 * members with a string or number value are in the returned list (also after a false answer: the
 * members before the fault). MUST be read before the next call (the list is reused).
 */
export function scanJsonUnits(u: Uint16Array, from: number, to: number): boolean {
  members.count = 0;
  let depth = 0;
  // The key of the member whose value is read next, or -1.
  let keyStart = -1;
  let keyEnd = -1;
  let i = skipWs(u, from, to);
  for (;;) {
    // A value.
    if (i >= to) return false;
    const c = u[i]!;
    if (c === 123 || c === 91) {
      if (depth >= MAX_DEPTH) return false;
      i = skipWs(u, i + 1, to);
      const close = c === 123 ? 125 : 93;
      if (i < to && u[i] === close) {
        i++;
      } else {
        if (depth === stack.length) {
          const grown = new Uint8Array(stack.length * 2);
          grown.set(stack);
          stack = grown;
        }
        stack[depth++] = c === 123 ? 1 : 2;
        if (c === 123) {
          i = keyAt(u, i, to);
          if (i === -1) return false;
          keyStart = keyStartOut;
          keyEnd = keyEndOut;
        } else {
          keyStart = -1;
        }
        continue;
      }
    } else if (c === 34) {
      const e = stringEnd(u, i, to);
      if (e === -1) return false;
      if (keyStart !== -1) addMember(keyStart, keyEnd, i + 1, e - 1);
      i = e;
    } else if (c === 45 || (c >= 48 && c <= 57)) {
      const e = numberEnd(u, i, to);
      if (e === -1) return false;
      if (keyStart !== -1) addMember(keyStart, keyEnd, i, -1 - e);
      i = e;
    } else {
      const e = literalEnd(u, i, to);
      if (e === -1) return false;
      i = e;
    }
    keyStart = -1;
    // After a value: a comma, a closing bracket, or the end.
    for (;;) {
      i = skipWs(u, i, to);
      if (depth === 0) return i === to;
      if (i >= to) return false;
      const top = stack[depth - 1]!;
      const d = u[i]!;
      if (d === 44) {
        i = skipWs(u, i + 1, to);
        if (top === 1) {
          i = keyAt(u, i, to);
          if (i === -1) return false;
          keyStart = keyStartOut;
          keyEnd = keyEndOut;
        }
        break;
      }
      if ((top === 1 && d === 125) || (top === 2 && d === 93)) {
        i++;
        depth--;
        continue;
      }
      return false;
    }
  }
}

/** The members the last scanJsonUnits call found. */
export function jsonMembers(): JsonMembers {
  return members;
}

/** Code units of a text, for the callers of scanJsonText (a copy per call: tests and one-off lines). */
let textUnits = new Uint16Array(256);

/**
 * scanJsonUnits over `text[from, to)`, calling `member` for each member with a string or number
 * value, in order (offsets in `text`). A false answer may come after some calls.
 */
export function scanJsonText(text: string, from: number, to: number, member?: JsonMemberSink): boolean {
  if (textUnits.length < text.length) textUnits = new Uint16Array(Math.max(text.length, textUnits.length * 2));
  for (let i = from; i < to; i++) textUnits[i] = text.charCodeAt(i);
  const ok = scanJsonUnits(textUnits, from, to);
  if (member !== undefined) {
    const l = members.list;
    for (let k = 0; k < members.count * 4; k += 4) {
      const ve = l[k + 3]!;
      member(l[k]!, l[k + 1]!, l[k + 2]!, ve >= 0 ? ve : -1 - ve, ve >= 0);
    }
  }
  return ok;
}
