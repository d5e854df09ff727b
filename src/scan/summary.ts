// The summary a team triages first: per file or table, column and detector, how many findings
// (every one, those past the per-file cap included), in how many of the rows, and where the first
// few are. Positions only: a summary never holds a value.

import type { ColumnSummary, DetectorId } from './types.js';

/** Positions kept per column as examples. */
export const MAX_EXAMPLES = 3;

interface Entry {
  readonly column: string | undefined;
  readonly detector: DetectorId;
  readonly category: string;
  count: number;
  rows: number;
  lastRow: number | string | undefined;
  readonly examples: string[];
}

/** Counts the findings of one target (a file, or a store's table) by column and detector. */
export class ColumnTally {
  /** By column, then detector (no key string made per finding: a file has millions). */
  private readonly byColumn = new Map<string | undefined, Map<DetectorId, Entry>>();
  /** The entries in the order they were made. */
  private readonly entries: Entry[] = [];

  constructor(private readonly target: string) {}

  private entry(column: string | undefined, detector: DetectorId, category: string): Entry {
    let byDetector = this.byColumn.get(column);
    if (byDetector === undefined) {
      byDetector = new Map();
      this.byColumn.set(column, byDetector);
    }
    let e = byDetector.get(detector);
    if (e === undefined) {
      e = { column, detector, category, count: 0, rows: 0, lastRow: undefined, examples: [] };
      byDetector.set(detector, e);
      this.entries.push(e);
    }
    return e;
  }

  /** One finding in row `row` (a line number or a row key; findings of a row come together), at `position`. */
  add(column: string | undefined, detector: DetectorId, category: string, row: number | string, position: string): void {
    const e = this.entry(column, detector, category);
    e.count++;
    if (e.lastRow !== row) {
      e.rows++;
      e.lastRow = row;
      if (e.examples.length < MAX_EXAMPLES) e.examples.push(position);
    }
  }

  /** add() for a finding in a file at `line`:`column` (the position's text is made only for an example). */
  addAt(field: string | undefined, detector: DetectorId, category: string, line: number, column: number): void {
    const e = this.entry(field, detector, category);
    e.count++;
    if (e.lastRow !== line) {
      e.rows++;
      e.lastRow = line;
      if (e.examples.length < MAX_EXAMPLES) e.examples.push(`${line}:${column}`);
    }
  }

  /** The summary, columns in the order their first finding came; `of` is the rows the target has. */
  summary(of: number): ColumnSummary[] {
    return this.entries.map((e) => ({
      target: this.target,
      ...(e.column !== undefined ? { column: e.column } : {}),
      detector: e.detector,
      category: e.category,
      count: e.count,
      rows: e.rows,
      of,
      share: of > 0 ? Math.round((Math.min(e.rows, of) / of) * 10_000) / 10_000 : 0,
      examples: e.examples,
    }));
  }
}
