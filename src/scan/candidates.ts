// The scanner's prefilter: one pass over a text's char codes that finds where a detector could
// match, so that most of the text (letters, short numbers, JSON punctuation) is looked at once and
// never sliced. It reports the digit runs worth classifying, the colons an IPv6 address could hold
// and the dashes a UUID could start at; detect.ts does the rest on those places only.

/**
 * Places found by the last call of findCandidates (reused buffers: read them before the next
 * call). `runs` holds 4 numbers per digit run: first digit, index after the last digit, digits,
 * dots between the first and last digit.
 */
export interface Candidates {
  /** The text's UTF-16 code units, from index 0 to its length (past it: garbage). */
  units: Uint16Array;
  runs: Int32Array;
  runCount: number;
  /** Colons with a hex digit, a dot or a colon beside them. */
  colons: Int32Array;
  colonCount: number;
  /** Dashes that open `-hhhh-hhhh-hhhh-` (the middle of a UUID). */
  dashes: Int32Array;
  dashCount: number;
}

/** The text's code units, written by findCandidates (UTF-16LE, swapped on a big-endian machine for Uint16Array). */
let scratch = Buffer.allocUnsafeSlow(1 << 18);
const BIG_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 0;
let units = new Uint16Array(scratch.buffer, scratch.byteOffset, scratch.length >> 1);

const found: Candidates = {
  units,
  runs: new Int32Array(4 * 256),
  runCount: 0,
  colons: new Int32Array(256),
  colonCount: 0,
  dashes: new Int32Array(64),
  dashCount: 0,
};

function grow(a: Int32Array): Int32Array {
  const b = new Int32Array(a.length * 2);
  b.set(a);
  return b;
}

/** Hex digits, `:` and `.`, by code unit: what lies around an IPv6 address's colons. */
const HEX_COLON = new Uint8Array(128);
for (const c of '0123456789ABCDEFabcdef:.') HEX_COLON[c.charCodeAt(0)] = 1;
/** Hex digits by code unit. */
const HEX = new Uint8Array(128);
for (const c of '0123456789ABCDEFabcdef') HEX[c.charCodeAt(0)] = 1;

function isHexColon(c: number): boolean {
  return c < 128 && HEX_COLON[c] === 1;
}

/** The separators a number is written with (`-. ()/`), by code: they join digits into one run. */
function isRunSeparator(c: number): boolean {
  return c === 32 || c === 45 || c === 46 || c === 40 || c === 41 || c === 47;
}

function isHex4(t: Uint16Array, i: number): boolean {
  for (let k = i; k < i + 4; k++) {
    const c = t[k]!;
    if (!(c < 128 && HEX[c] === 1)) return false;
  }
  return true;
}

/** A digit run ending: kept when DIGIT_RUN would match it and it could be one of ours. */
function endRun(first: number, end: number, digits: number, dots: number): void {
  // The shortest match of /\d[\d\-. ()/]{4,}\d/ is six characters long.
  if (end - first < 6) return;
  // Too few digits for anything but an IPv4 address (which has three dots): nothing to look at.
  if (digits < 7 && dots !== 3) return;
  let k = found.runCount * 4;
  if (k + 4 > found.runs.length) found.runs = grow(found.runs);
  const r = found.runs;
  r[k++] = first;
  r[k++] = end;
  r[k++] = digits;
  r[k] = dots;
  found.runCount++;
}

/**
 * The candidates of `text`, in order. A digit run is what the regex /\d[\d\-. ()/]{4,}\d/g matches,
 * one match per maximal run of digits and separators: from its first digit to its last, with at
 * least 7 digits or exactly 3 dots. MUST be read before the next call (the buffers are reused).
 */
export function findCandidates(source: string): Candidates {
  found.runCount = 0;
  found.colonCount = 0;
  found.dashCount = 0;
  const n = source.length;
  // The loop reads the text's UTF-16 code units from a typed array: charCodeAt on the slice of a
  // chunk that the file scanner passes (a V8 sliced string) ran at ~5 ns per character; copying the
  // units out natively and reading the copy, at ~2.
  if (scratch.length < n * 2) {
    scratch = Buffer.allocUnsafeSlow(Math.max(n * 2, scratch.length * 2));
    units = new Uint16Array(scratch.buffer, scratch.byteOffset, scratch.length >> 1);
  }
  scratch.write(source, 0, 'utf16le');
  found.units = units;
  if (BIG_ENDIAN) scratch.subarray(0, n * 2).swap16();
  const text = units;
  // The run under way: its first and last digit, its digits, and the dots between them.
  let first = -1;
  let last = -2;
  let digits = 0;
  let dots = 0;
  // Every read below is in bounds: a read past either end makes V8 leave this loop's fast code.
  for (let i = 0; i < n; i++) {
    const c = text[i]!;
    // Letters and everything past ':' (most of any text) are none of ours.
    if (c > 58) continue;
    if (c >= 48) {
      if (c === 58) {
        if ((i > 0 && isHexColon(text[i - 1]!)) || (i + 1 < n && isHexColon(text[i + 1]!))) {
          if (found.colonCount === found.colons.length) found.colons = grow(found.colons);
          found.colons[found.colonCount++] = i;
        }
        continue;
      }
      // A group of digits [i, j).
      let j = i + 1;
      while (j < n) {
        const d = text[j]!;
        if (d < 48 || d > 57) break;
        j++;
      }
      // Joined to the run under way when only separators lie between its last digit and this group.
      let k = i - 1;
      let gapDots = 0;
      while (k > last && k >= 0) {
        const g = text[k]!;
        if (!isRunSeparator(g)) break;
        if (g === 46) gapDots++;
        k--;
      }
      if (k === last && first !== -1) {
        dots += gapDots;
      } else {
        if (first !== -1) endRun(first, last + 1, digits, dots);
        first = i;
        digits = 0;
        dots = 0;
      }
      digits += j - i;
      last = j - 1;
      i = last;
      continue;
    }
    if (c === 45 && i + 15 < n && text[i + 5]! === 45 && text[i + 10]! === 45 && text[i + 15]! === 45) {
      if (isHex4(text, i + 1) && isHex4(text, i + 6) && isHex4(text, i + 11)) {
        if (found.dashCount === found.dashes.length) found.dashes = grow(found.dashes);
        found.dashes[found.dashCount++] = i;
      }
    }
  }
  if (first !== -1) endRun(first, last + 1, digits, dots);
  return found;
}
