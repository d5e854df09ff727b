// Scanning a file's text with the detectors: a whole block, one value with its field name as
// context, and the regex fallback that finds `"key": value` members in text that is not valid JSON.

import { detect, detectIn, FieldRanges, isHint, type DetectOptions, type FieldDetection } from './detect.js';

/** A detection in a block of a file (offsets in the block), with `field` when it was judged as that field's value. */
export type Found = FieldDetection;

/** The detectors run over one file's text, with the file's detect options. */
export class TextScan {
  private readonly optionsByHint = new Map<string, DetectOptions>();
  /**
   * The fields of the block's rows whose names say what their values are (context, or another
   * kind: isOtherField), added by the row readers before all() scans the block: their values are
   * scanned once, with the rest of the block, and judged by their names (rather than scanned again
   * alone).
   */
  readonly fields = new FieldRanges();

  constructor(private readonly options: DetectOptions) {}

  /** Scans all of `body`: without context, but for the candidates inside `fields` (which it then clears). */
  all(body: string, found: Found[]): void {
    for (const d of detectIn(body, this.options, this.fields)) found.push(d);
    this.fields.clear();
  }

  /** The detect options for values of a field named `hint` (made once per name, not per value). */
  private hintOptions(hint: string): DetectOptions {
    let o = this.optionsByHint.get(hint);
    if (o === undefined) {
      o = { ...this.options, hint };
      this.optionsByHint.set(hint, o);
    }
    return o;
  }

  /** Scans `value` (found at `at` in the body) with the field name as context. */
  hintedValue(value: string, at: number, field: string, found: Found[]): void {
    for (const d of detect(value, this.hintOptions(field))) found.push({ ...d, start: d.start + at, end: d.end + at, field });
  }

  /** JSON members whose key is context (`"phone": "…"`) in `body[from, to)`: their values are scanned with the key as hint. */
  jsonHints(body: string, from: number, to: number, found: Found[]): void {
    const text = from === 0 && to === body.length ? body : body.slice(from, to);
    JSON_MEMBER.lastIndex = 0;
    for (let m = JSON_MEMBER.exec(text); m !== null; m = JSON_MEMBER.exec(text)) {
      const key = m[1]!;
      if (!isHint(key)) continue;
      const value = m[2]!;
      const at = m.index + m[0].length - value.length + (value.startsWith('"') ? 1 : 0);
      const v = value.startsWith('"') ? value.slice(1, -1) : value;
      if (v !== '') this.hintedValue(v, from + at, key, found);
    }
  }
}

/** A member `"key": value` with a string or number value, read from text (NdjsonRows.jsonMember reads a valid line's members as this would). */
const JSON_MEMBER = /"([A-Za-z0-9_.\- ]{1,64})"\s*:\s*("(?:[^"\\\n]|\\.){0,512}"|-?\d[\d.eE+-]{0,40})/g;
