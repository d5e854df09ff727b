// CSV and TSV rows: the header, then each row checked against it (width, quoting) by a state machine
// that carries a quoted field left open across lines and blocks, and the values of the columns whose
// names are context scanned with the name as hint.

import { isHint } from './detect.js';
import { hintMask } from './context.js';
import type { Found, TextScan } from './text-scan.js';

/** The CSV state of one file being scanned. */
export class CsvRows {
  /** The names of the columns, from the file's first line (readHeader). */
  header: string[] | undefined;
  private hinted: { index: number; name: string; mask: number }[] = [];
  /** The hinted columns and those named for values of another kind (`order_id`: isOtherField), for TextScan's fields. */
  private ranged: { index: number; name: string; mask: number }[] = [];
  private inQuote = false;
  private ragged = { count: 0, first: 0 };
  private badQuote = { count: 0, first: 0 };

  constructor(
    private readonly sep: string,
    private readonly text: TextScan,
  ) {}

  /** Reads the header from the file's first line (without its newline). */
  readHeader(line: string): void {
    this.header = splitCsvLine(line.replace(/\r$/, ''), this.sep).fields;
    this.ranged = this.header.map((name, index) => ({ index, name, mask: hintMask(name) })).filter((h) => h.mask !== 0);
    this.hinted = this.ranged.filter((h) => isHint(h.name));
  }

  /**
   * Checks CSV rows against the header and has the columns whose names are context (`phone`,
   * `dob`…) scanned with their names: a row without quotes adds them to the TextScan's fields (the
   * block is scanned after), a row with quotes has their unquoted values scanned here.
   */
  rows(body: string, firstLine: number, found: Found[], from = 0): void {
    const width = this.header?.length ?? 0;
    let pos = from;
    let line = firstLine;
    let quote = body.indexOf('"');
    if (quote === -1) quote = body.length;
    while (pos < body.length) {
      let nl = body.indexOf('\n', pos);
      if (nl === -1) nl = body.length;
      const end = body.charCodeAt(nl - 1) === 13 ? nl - 1 : nl;
      if (quote < pos) {
        quote = body.indexOf('"', pos);
        if (quote === -1) quote = body.length;
      }
      if (!this.inQuote && quote >= end && end > pos) {
        // No quotes: the fields are what lies between separators (splitCsvLine's answer, without its arrays).
        this.plainRow(body, pos, end, line, width);
        pos = nl + 1;
        line++;
        continue;
      }
      const raw = body.slice(pos, end);
      if (raw !== '' || this.inQuote) {
        if (!this.inQuote && raw.indexOf('"') === -1 && this.hinted.length === 0) {
          let fields = 1;
          for (let i = raw.indexOf(this.sep); i !== -1; i = raw.indexOf(this.sep, i + 1)) fields++;
          if (fields !== width) this.ragged = { count: this.ragged.count + 1, first: this.ragged.first || line };
        } else {
          const row = splitCsvLine(raw, this.sep, this.inQuote);
          if (row.badQuote) this.badQuote = { count: this.badQuote.count + 1, first: this.badQuote.first || line };
          this.inQuote = row.open;
          if (!row.open && row.fields.length !== width && !row.continued) this.ragged = { count: this.ragged.count + 1, first: this.ragged.first || line };
          for (const h of this.hinted) {
            const v = row.fields[h.index];
            const at = row.starts[h.index];
            if (v === undefined || at === undefined || v === '') continue;
            this.text.hintedValue(v, pos + at, h.name, found);
          }
        }
      }
      pos = nl + 1;
      line++;
    }
  }

  /** A CSV row without quotes at body[pos, end): checks its width and adds its hinted fields to the TextScan's fields. */
  private plainRow(body: string, pos: number, end: number, line: number, width: number): void {
    const hinted = this.ranged;
    let h = 0;
    let field = 0;
    let fieldStart = pos;
    for (;;) {
      let sep = body.indexOf(this.sep, fieldStart);
      if (sep === -1 || sep > end) sep = end;
      const hint = hinted[h];
      if (hint !== undefined && hint.index === field) {
        h++;
        if (sep > fieldStart) this.text.fields.add(fieldStart, sep, hint.name, hint.mask);
      }
      field++;
      if (sep === end) break;
      fieldStart = sep + 1;
    }
    if (field !== width) this.ragged = { count: this.ragged.count + 1, first: this.ragged.first || line };
  }

  /** The problems of a file's rows, once all of its `lines` are scanned. */
  end(lines: number): string[] {
    const out: string[] = [];
    if (this.inQuote) this.badQuote = { count: this.badQuote.count + 1, first: this.badQuote.first || lines };
    if (this.ragged.count > 0)
      out.push(`${this.ragged.count} row(s) with a different number of fields than the header (first at line ${this.ragged.first}); scanned as text`);
    if (this.badQuote.count > 0) out.push(`${this.badQuote.count} row(s) with bad quoting (first at line ${this.badQuote.first}); scanned as text`);
    return out;
  }

  /** The name of the column at `offset` in the row starting at `lineStart` of `body`. */
  fieldAt(body: string, lineStart: number, offset: number): string | undefined {
    return this.header?.[csvFieldIndex(body, lineStart, offset, this.sep)];
  }
}

/** Splits one CSV line; `open` when it ends inside a quoted field (the record goes on next line). */
export function splitCsvLine(
  line: string,
  sep: string,
  startInQuote = false,
): { fields: string[]; starts: number[]; open: boolean; badQuote: boolean; continued: boolean } {
  const fields: string[] = [];
  const starts: number[] = [];
  let i = 0;
  let badQuote = false;
  let inQuote = startInQuote;
  let cur = '';
  let curStart = 0;
  while (i <= line.length) {
    if (inQuote) {
      const q = line.indexOf('"', i);
      if (q === -1) {
        cur += line.slice(i);
        return { fields: [...fields, cur], starts: [...starts, curStart], open: true, badQuote, continued: startInQuote };
      }
      if (line[q + 1] === '"') {
        cur += line.slice(i, q + 1);
        i = q + 2;
        continue;
      }
      cur += line.slice(i, q);
      inQuote = false;
      i = q + 1;
      if (i < line.length && line[i] !== sep) badQuote = true;
      continue;
    }
    if (line[i] === '"' && cur === '') {
      inQuote = true;
      curStart = i + 1;
      i++;
      continue;
    }
    const next = line.indexOf(sep, i);
    const end = next === -1 ? line.length : next;
    const piece = line.slice(i, end);
    if (piece.includes('"')) badQuote = true;
    if (cur === '') curStart = i;
    cur += piece;
    fields.push(cur);
    starts.push(curStart);
    cur = '';
    if (next === -1) break;
    i = next + 1;
    curStart = i;
    if (i === line.length) {
      fields.push('');
      starts.push(i);
      break;
    }
  }
  return { fields, starts, open: false, badQuote, continued: startInQuote };
}

function csvFieldIndex(body: string, lineStart: number, offset: number, sep: string): number {
  let n = 0;
  let quoted = false;
  for (let i = lineStart; i < offset; i++) {
    const c = body[i];
    if (c === '"') quoted = !quoted;
    else if (c === sep && !quoted) n++;
  }
  return n;
}
