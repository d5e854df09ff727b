// NDJSON rows, the fast path: each line is checked to be JSON and its members read in one pass
// (scanJsonUnits, on the block's code units), and only the values whose key is context are
// scanned; a line that is not JSON is scanned by the regex fallback (TextScan.jsonHints).

import { isHint } from './detect.js';
import { hintMask, OTHER_HINT } from './context.js';
import { jsonMembers, scanJsonUnits } from './json-line.js';
import type { Found, TextScan } from './text-scan.js';

/** The NDJSON state of one file being scanned. */
export class NdjsonRows {
  private badJson = { count: 0, first: 0 };
  /** The keys of the previous NDJSON line's members, by position. */
  private readonly lineKeys: string[] = [];
  /** Whether each of those keys is context for some detector (isHint). */
  private readonly lineHints: boolean[] = [];
  /** Their hint masks (hintMask). */
  private readonly lineMasks: number[] = [];

  constructor(private readonly text: TextScan) {}

  /**
   * Checks each line is JSON and has the members whose key is context scanned with the key as hint:
   * added to the TextScan's fields (the block is scanned after), or for a line that is not JSON,
   * scanned here.
   */
  rows(body: string, firstLine: number, found: Found[], from = 0): void {
    const u = unitsOf(body);
    let pos = from;
    let line = firstLine;
    while (pos < body.length) {
      let nl = body.indexOf('\n', pos);
      if (nl === -1) nl = body.length;
      // The line without what String.prototype.trim() removes, as JSON.parse(line.trim()) saw it.
      let a = pos;
      let b = nl;
      while (a < b && isTrimmed(u[a]!)) a++;
      while (b > a && isTrimmed(u[b - 1]!)) b--;
      if (a < b) {
        if (scanJsonUnits(u, a, b)) {
          const m = jsonMembers();
          const l = m.list;
          for (let k = 0; k < m.count * 4; k += 4) this.jsonMember(body, u, k >> 2, l[k]!, l[k + 1]!, l[k + 2]!, l[k + 3]!);
        } else {
          this.badJson = { count: this.badJson.count + 1, first: this.badJson.first || line };
          this.text.jsonHints(body, pos, nl, found);
        }
      }
      pos = nl + 1;
      line++;
    }
  }

  /** A member of a valid JSON line (`u`: the body's code units); scanned as JSON_MEMBER would have matched it. */
  private jsonMember(body: string, u: Uint16Array, ordinal: number, ks: number, ke: number, vs: number, veCode: number): void {
    const isString = veCode >= 0;
    let ve = isString ? veCode : -1 - veCode;
    if (ve === vs || ke - ks < 1 || ke - ks > 64) return;
    // Lines of a file mostly repeat the previous line's keys: compare in place before making a string.
    let key = this.lineKeys[ordinal];
    let hint: boolean;
    let mask: number;
    if (key === undefined || !sameKey(u, ks, ke, key)) {
      for (let k = ks; k < ke; k++) if (!isKeyCode(u[k]!)) return;
      key = body.slice(ks, ke);
      hint = isHint(key);
      mask = hintMask(key);
      if (ordinal < MAX_LINE_KEYS) {
        this.lineKeys[ordinal] = key;
        this.lineHints[ordinal] = hint;
        this.lineMasks[ordinal] = mask;
      }
    } else {
      hint = this.lineHints[ordinal]!;
      mask = this.lineMasks[ordinal]!;
    }
    if (mask === OTHER_HINT) {
      // A member named for values of another kind (`order_id`): its digit strings are none of ours.
      this.text.fields.add(vs, ve, key, mask);
      return;
    }
    if (!hint) return;
    if (isString) {
      // JSON_MEMBER reads at most 512 characters (an escape counting as one) of a string value.
      if (ve - vs > 512) {
        let units = 0;
        for (let k = vs; k < ve; k++, units++) if (u[k] === 92) k++;
        if (units > 512) return;
      }
    } else {
      ve = Math.min(ve, vs + (u[vs] === 45 ? 42 : 41));
    }
    // Scanned with the rest of the block, judged with the key as hint (TextScan.fields).
    this.text.fields.add(vs, ve, key, mask);
  }

  /** The problems of a file's lines, once all of them are scanned. */
  end(): string[] {
    return this.badJson.count > 0 ? [`${this.badJson.count} line(s) that are not JSON (first at line ${this.badJson.first}); scanned as text`] : [];
  }
}

/** The code units of the block NdjsonRows.rows reads (its own copy: a detector run between its lines, on a line that is not JSON, copies into the prefilter's). */
let scratch = Buffer.allocUnsafeSlow(1 << 18);
const BIG_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 0;

/** `text`'s UTF-16 code units in a reused array (valid until the next call; past the text's length: garbage). */
function unitsOf(text: string): Uint16Array {
  if (scratch.length < text.length * 2) scratch = Buffer.allocUnsafeSlow(Math.max(text.length * 2, scratch.length * 2));
  scratch.write(text, 0, 'utf16le');
  if (BIG_ENDIAN) scratch.subarray(0, text.length * 2).swap16();
  return new Uint16Array(scratch.buffer, scratch.byteOffset, text.length);
}

/** True when `u[ks, ke)` holds exactly the code units of `key`. */
function sameKey(u: Uint16Array, ks: number, ke: number, key: string): boolean {
  if (key.length !== ke - ks) return false;
  for (let k = 0; k < key.length; k++) if (u[ks + k] !== key.charCodeAt(k)) return false;
  return true;
}

/** Member keys remembered per NDJSON line (see NdjsonRows.jsonMember). */
const MAX_LINE_KEYS = 256;

/** Characters JSON_MEMBER (text-scan.ts) accepts in a key. */
function isKeyCode(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95 || c === 46 || c === 45 || c === 32;
}

/** What String.prototype.trim() removes (WhiteSpace and LineTerminator). */
function isTrimmed(c: number): boolean {
  if (c < 128) return c === 32 || (c >= 9 && c <= 13);
  return (
    c === 0xa0 || c === 0x1680 || (c >= 0x2000 && c <= 0x200a) || c === 0x2028 || c === 0x2029 || c === 0x202f || c === 0x205f || c === 0x3000 || c === 0xfeff
  );
}
