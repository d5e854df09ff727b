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
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly target: string) {}

  /** One finding in row `row` (a line number or a row key; findings of a row come together), at `position`. */
  add(column: string | undefined, detector: DetectorId, category: string, row: number | string, position: string): void {
    const id = `${column ?? ''}\u0000${detector}`;
    let e = this.entries.get(id);
    if (!e) {
      e = { column, detector, category, count: 0, rows: 0, lastRow: undefined, examples: [] };
      this.entries.set(id, e);
    }
    e.count++;
    if (e.lastRow !== row) {
      e.rows++;
      e.lastRow = row;
      if (e.examples.length < MAX_EXAMPLES) e.examples.push(position);
    }
  }

  /** The summary, columns in the order their first finding came; `of` is the rows the target has. */
  summary(of: number): ColumnSummary[] {
    return [...this.entries.values()].map((e) => ({
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
