// The findings of one file: each detection placed at its line, column and field (the CSV column or
// the JSON key before it), overlaps dropped, and past the per-file cap only counted.

import { maskSample, type Finding } from './types.js';
import type { Fingerprints } from './fingerprints.js';
import type { CsvRows } from './csv-rows.js';
import type { Found } from './text-scan.js';

/** The findings kept for one file, and the count of those dropped past `max`. */
export class FileFindings {
  readonly findings: Finding[] = [];
  /** Findings beyond `max`, counted but not kept. */
  dropped = 0;

  constructor(
    private readonly file: string,
    private readonly max: number,
    private readonly fingerprints: Fingerprints | undefined,
    /** Set for CSV and TSV files: a finding's field is its column. */
    private readonly csv: CsvRows | undefined,
    /** For JSON and NDJSON files: a finding's field is the key before it. */
    private readonly json: boolean,
  ) {}

  /** Turns detections (offsets in `body`) into findings with line, column and field. */
  place(body: string, firstLine: number, found: Found[]): void {
    if (found.length === 0) return;
    // A hinted detection and a plain one at the same place: keep the more confident. Covers (values
    // of fields named for another kind) sort first at their offset.
    found.sort((a, b) => a.offset - b.offset || (a.d === undefined ? -1 : b.d === undefined ? 1 : b.d.confidence - a.d.confidence));
    let line = firstLine;
    let lineStart = 0;
    let lastEnd = -1;
    let coverEnd = -1;
    for (const f of found) {
      if (f.d === undefined) {
        coverEnd = Math.max(coverEnd, f.end);
        continue;
      }
      // Found without the field's name inside a value whose name says it is something else.
      if (f.field === undefined && f.offset < coverEnd) continue;
      if (f.d.start < lastEnd) continue;
      lastEnd = f.d.end;
      // Past the cap a finding is only counted: no need to place it.
      if (this.findings.length >= this.max) {
        this.dropped++;
        continue;
      }
      for (let nl = body.indexOf('\n', lineStart); nl !== -1 && nl < f.offset; nl = body.indexOf('\n', lineStart)) {
        line++;
        lineStart = nl + 1;
      }
      let field = f.field;
      if (field === undefined && this.csv !== undefined) field = this.csv.fieldAt(body, lineStart, f.offset);
      if (field === undefined && this.json) field = jsonKeyBefore(body, lineStart, f.offset);
      const d = this.fingerprints?.match(f.d) ?? f.d;
      const column = f.offset - lineStart + 1;
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

function jsonKeyBefore(body: string, lineStart: number, offset: number): string | undefined {
  const colon = body.lastIndexOf('":', offset);
  if (colon < lineStart) return undefined;
  const open = body.lastIndexOf('"', colon - 1);
  return open < lineStart ? undefined : body.slice(open + 1, colon);
}
