// The findings of one file: each detection placed at its line, column and field (the CSV column or
// the JSON key before it), overlaps dropped, and past the per-file cap only counted.

import { maskSample, type Finding } from './types.js';
import type { Fingerprints } from './fingerprints.js';
import type { CsvRows } from './csv-rows.js';
import type { Found } from './text-scan.js';
import { ColumnTally } from './summary.js';
import { isOtherField } from './context.js';
import type { DetectorId } from './types.js';

/** Detectors of digit strings, which a field named for another kind (`order_id`) rules out. */
const DIGIT_RUN_DETECTORS: ReadonlySet<DetectorId> = new Set(['phone', 'payment_card', 'us_ssn', 'ipv4', 'ipv6', 'imei']);

/** The findings kept for one file, and the count of those dropped past `max`. */
export class FileFindings {
  readonly findings: Finding[] = [];
  /** Findings beyond `max`, counted but not kept. */
  dropped = 0;
  /** Every finding, kept or not, by column and detector. */
  readonly tally: ColumnTally;

  constructor(
    private readonly file: string,
    private readonly max: number,
    private readonly fingerprints: Fingerprints | undefined,
    /** Set for CSV and TSV files: a finding's field is its column. */
    private readonly csv: CsvRows | undefined,
    /** For JSON and NDJSON files: a finding's field is the key before it. */
    private readonly json: boolean,
  ) {
    this.tally = new ColumnTally(file);
  }

  /** Keys found by jsonKeyBefore, most recent last. */
  private readonly recentKeys: string[] = [];

  /** The key of the JSON member before `offset` on its line (from `lineStart`). */
  private jsonKeyBefore(body: string, lineStart: number, offset: number): string | undefined {
    const colon = body.lastIndexOf('":', offset);
    if (colon < lineStart) return undefined;
    const open = body.lastIndexOf('"', colon - 1);
    if (open < lineStart) return undefined;
    const keys = this.recentKeys;
    for (let i = keys.length - 1; i >= 0; i--) {
      const k = keys[i]!;
      if (k.length === colon - open - 1 && body.startsWith(k, open + 1)) return k;
    }
    const key = body.slice(open + 1, colon);
    if (keys.length >= RECENT_KEYS) keys.shift();
    keys.push(key);
    return key;
  }

  /**
   * Turns detections (offsets in `body`) into findings with line, column and field. `carried` is
   * the length of the first line's part already placed (a line too long to scan whole): that part
   * of a line has columns after it and no field.
   */
  place(body: string, firstLine: number, found: Found[], carried = 0): void {
    if (found.length === 0) return;
    // A hinted detection and a plain one at the same place: keep the more confident.
    found.sort(byStartThenConfidence);
    let line = firstLine;
    let lineStart = 0;
    // The newline ending the line at lineStart (-1: none), searched once per line.
    let lineEnd = body.indexOf('\n');
    let lastEnd = -1;
    for (const f of found) {
      if (f.start < lastEnd) continue;
      while (lineEnd !== -1 && lineEnd < f.start) {
        line++;
        lineStart = lineEnd + 1;
        lineEnd = body.indexOf('\n', lineStart);
      }
      const split = carried > 0 && line === firstLine;
      let field = f.field;
      if (field === undefined && this.csv !== undefined && !split) field = this.csv.fieldAt(body, lineStart, f.start);
      if (field === undefined && this.json && !split) field = this.jsonKeyBefore(body, lineStart, f.start);
      // A digit string found without its field's name, in a field named for values of another kind
      // (`order_id`, `amount`, `app_version`): an identifier, amount or version, not a number of ours.
      if (f.field === undefined && field !== undefined && DIGIT_RUN_DETECTORS.has(f.detector) && isOtherField(field)) continue;
      lastEnd = f.end;
      const d = this.fingerprints?.match(f) ?? f;
      const column = f.start - lineStart + 1 + (split ? carried : 0);
      // Past the cap a finding is only counted, in the summary too.
      this.tally.addAt(field, d.detector, d.category, line, column);
      if (this.findings.length >= this.max) {
        this.dropped++;
        continue;
      }
      this.findings.push({
        detector: d.detector,
        category: d.category,
        confidence: d.confidence,
        where: { kind: 'file', file: this.file, line, column, ...(field !== undefined ? { field } : {}) },
        sample: maskSample(d.value),
        span: [column - 1, column - 1 + (d.end - d.start)],
        ...(d.country ? { country: d.country } : {}),
        ...(d.enclave ? { enclave: d.enclave } : {}),
        ...(d.reasons ? { reasons: d.reasons } : {}),
      });
    }
  }
}

/** Detections by offset; at one offset the most confident first (a hinted and a plain detection of the same value). */
function byStartThenConfidence(a: Found, b: Found): number {
  return a.start - b.start || b.confidence - a.confidence;
}

/** Keys jsonKeyBefore() remembers (the lines of a file repeat a few keys). */
const RECENT_KEYS = 16;
