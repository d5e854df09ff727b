// NDJSON rows, the fast path: each line is checked to be JSON and its members read in one pass
// (scanJsonText), and only the values whose key is context are scanned; a line that is not JSON is
// scanned by the regex fallback (TextScan.jsonHints).

import { isHint } from './detect.js';
import { hintMask, OTHER_HINT } from './context.js';
import { scanJsonText } from './json-line.js';
import type { Found, TextScan } from './text-scan.js';

/** The NDJSON state of one file being scanned. */
export class NdjsonRows {
  private badJson = { count: 0, first: 0 };
  /** Members of the NDJSON line being scanned: key start, key end, value start, value end (as -1 - end for a number). */
  private readonly members: number[] = [];
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
    let pos = from;
    let line = firstLine;
    const members = this.members;
    const sink = (ks: number, ke: number, vs: number, ve: number, isString: boolean): void => {
      members.push(ks, ke, vs, isString ? ve : -1 - ve);
    };
    while (pos < body.length) {
      let nl = body.indexOf('\n', pos);
      if (nl === -1) nl = body.length;
      // The line without what String.prototype.trim() removes, as JSON.parse(line.trim()) saw it.
      let a = pos;
      let b = nl;
      while (a < b && isTrimmed(body.charCodeAt(a))) a++;
      while (b > a && isTrimmed(body.charCodeAt(b - 1))) b--;
      if (a < b) {
        members.length = 0;
        if (scanJsonText(body, a, b, sink)) {
          for (let k = 0; k < members.length; k += 4) this.jsonMember(body, k >> 2, members[k]!, members[k + 1]!, members[k + 2]!, members[k + 3]!);
        } else {
          this.badJson = { count: this.badJson.count + 1, first: this.badJson.first || line };
          this.text.jsonHints(body, pos, nl, found);
        }
      }
      pos = nl + 1;
      line++;
    }
  }

  /** A member of a valid JSON line; scanned as JSON_MEMBER would have matched it. */
  private jsonMember(body: string, ordinal: number, ks: number, ke: number, vs: number, veCode: number): void {
    const isString = veCode >= 0;
    let ve = isString ? veCode : -1 - veCode;
    if (ve === vs || ke - ks < 1 || ke - ks > 64) return;
    // Lines of a file mostly repeat the previous line's keys: compare in place before making a string.
    let key = this.lineKeys[ordinal];
    let hint: boolean;
    let mask: number;
    if (key === undefined || key.length !== ke - ks || !body.startsWith(key, ks)) {
      for (let k = ks; k < ke; k++) if (!isKeyCode(body.charCodeAt(k))) return;
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
        for (let k = vs; k < ve; k++, units++) if (body.charCodeAt(k) === 92) k++;
        if (units > 512) return;
      }
    } else {
      ve = Math.min(ve, vs + (body.charCodeAt(vs) === 45 ? 42 : 41));
    }
    // Scanned with the rest of the block, judged with the key as hint (TextScan.fields).
    this.text.fields.add(vs, ve, key, mask);
  }

  /** The problems of a file's lines, once all of them are scanned. */
  end(): string[] {
    return this.badJson.count > 0 ? [`${this.badJson.count} line(s) that are not JSON (first at line ${this.badJson.first}); scanned as text`] : [];
  }
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
