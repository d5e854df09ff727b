// Scanning one file: streamed in chunks (bounded memory: one chunk and one partial line at a time),
// gunzipped when it ends in .gz, decoded as strict UTF-8, and read as CSV, NDJSON, JSON or text.
// Problems (unreadable, binary, broken gzip, malformed CSV/JSON, invalid UTF-8) are reported for the
// file and scanning goes on where it can; a problem never throws.

import { createReadStream } from 'node:fs';
import { createGunzip } from 'node:zlib';
import type { Readable } from 'node:stream';
import { isAscii } from 'node:buffer';
import type { DetectOptions } from './detect.js';
import type { ColumnSummary, Finding, ScanProblem } from './types.js';
import type { Fingerprints } from './fingerprints.js';
import { TextScan, type Found } from './text-scan.js';
import { CsvRows } from './csv-rows.js';
import { NdjsonRows } from './ndjson-rows.js';
import { FileFindings } from './file-findings.js';

export type FileFormat = 'csv' | 'tsv' | 'ndjson' | 'json' | 'text';

/** Bytes read per chunk (each read costs a trip through libuv's thread pool: not too few bytes). */
export const DEFAULT_CHUNK_BYTES = 1 << 20;
/**
 * Bytes decoded into one string: a chunk is decoded and scanned in pieces of this size, whose
 * strings stay in V8's young generation (a 1 MiB string goes to large-object space and costs a
 * major GC's work to free). Without detectors, reading, decoding and parsing rows of the bench
 * corpus ran at ~120 MB per CPU-second decoding 1 MiB at a time, ~200 decoding 64 KiB.
 */
export const DECODE_BYTES = 1 << 16;
/** A line longer than this is scanned in pieces (a file with no newlines must not fill memory). */
export const MAX_LINE_CHARS = 4 << 20;
/** Findings kept per file; the count goes on past it. */
export const DEFAULT_MAX_FINDINGS_PER_FILE = 10_000;

export interface FileScanOptions extends DetectOptions {
  readonly chunkBytes?: number;
  readonly maxFindingsPerFile?: number;
  readonly fingerprints?: Fingerprints;
  /** Called with the bytes read since the last call (compressed bytes for .gz). */
  readonly onBytes?: (n: number) => void;
}

export interface FileScanResult {
  readonly file: string;
  readonly format: FileFormat;
  readonly bytes: number;
  readonly findings: Finding[];
  /** Findings beyond maxFindingsPerFile, counted but not kept. */
  readonly dropped: number;
  readonly problems: ScanProblem[];
  /** Every finding counted by column and detector. */
  readonly summary: ColumnSummary[];
}

export function formatOf(file: string): FileFormat {
  const name = file.toLowerCase().replace(/\.gz$/, '');
  if (name.endsWith('.csv')) return 'csv';
  if (name.endsWith('.tsv')) return 'tsv';
  if (name.endsWith('.ndjson') || name.endsWith('.jsonl')) return 'ndjson';
  if (name.endsWith('.json')) return 'json';
  return 'text';
}

/** Scans one file. MUST NOT throw for anything the file holds; problems are in the result. */
export async function scanFile(file: string, options: FileScanOptions = {}): Promise<FileScanResult> {
  const format = formatOf(file);
  const gz = file.toLowerCase().endsWith('.gz');
  const state = new FileState(file, format, options);
  let bytes = 0;
  let source: Readable;
  try {
    const raw = createReadStream(file, { highWaterMark: options.chunkBytes ?? DEFAULT_CHUNK_BYTES });
    raw.on('data', (b) => {
      bytes += b.length;
      options.onBytes?.(b.length);
    });
    source = gz ? raw.pipe(createGunzip()) : raw;
    if (gz) raw.on('error', (e) => source.destroy(e));
    let more = true;
    for await (const chunk of source) {
      const b = chunk as Buffer;
      for (let at = 0; more && at < b.length; at += DECODE_BYTES)
        more = state.feed(at === 0 && b.length <= DECODE_BYTES ? b : b.subarray(at, at + DECODE_BYTES));
      if (!more) {
        source.destroy();
        break;
      }
    }
    state.end();
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (gz && (err.code === 'Z_DATA_ERROR' || err.code === 'Z_BUF_ERROR' || err.errno === -5 || /unexpected end|incorrect header|invalid/i.test(err.message))) {
      state.problem('scan.bad_gzip', `broken gzip data after ${state.lines} lines: ${err.code ?? err.message}; the rest of the file was not scanned`);
    } else {
      state.problem('scan.unreadable', `cannot read: ${err.code ?? 'error'} (${err.message.replace(file, '').trim()})`);
    }
    state.end();
  }
  return {
    file,
    format,
    bytes,
    findings: state.out.findings,
    dropped: state.out.dropped,
    problems: state.problems,
    summary: state.out.tally.summary(state.dataLines()),
  };
}

/**
 * The decoding and parsing state of one file being scanned: the text is decoded and cut into blocks
 * of whole lines here, and each block is scanned by TextScan and the rows of its format, then placed.
 */
class FileState {
  readonly problems: ScanProblem[] = [];
  /** Complete lines scanned so far. */
  lines = 0;
  private decoder = new TextDecoder('utf-8', { fatal: true });
  private utf8Reported = false;
  private ascii = true;
  private started = false;
  private carry = '';
  /** Characters of the line under way already scanned (a line longer than MAX_LINE_CHARS is scanned in pieces). */
  private carried = 0;
  /** Lines longer than MAX_LINE_CHARS: how many, and the first. */
  private long = { count: 0, first: 0 };
  private readonly text: TextScan;
  /** Set for CSV and TSV files. */
  private readonly csv: CsvRows | undefined;
  /** Set for NDJSON files. */
  private readonly ndjson: NdjsonRows | undefined;
  /** The findings placed so far. */
  readonly out: FileFindings;

  constructor(
    private readonly file: string,
    private readonly format: FileFormat,
    options: FileScanOptions,
  ) {
    this.text = new TextScan(options);
    if (format === 'csv' || format === 'tsv') this.csv = new CsvRows(format === 'tsv' ? '\t' : ',', this.text);
    else if (format === 'ndjson') this.ndjson = new NdjsonRows(this.text);
    this.out = new FileFindings(
      file,
      options.maxFindingsPerFile ?? DEFAULT_MAX_FINDINGS_PER_FILE,
      options.fingerprints,
      this.csv,
      format === 'json' || format === 'ndjson',
    );
  }

  /** Lines that hold data: every line, less a CSV header. */
  dataLines(): number {
    return Math.max(0, this.lines - (this.csv?.header !== undefined ? 1 : 0));
  }

  problem(code: ScanProblem['code'], message: string): void {
    this.problems.push({ code, target: this.file, message });
  }

  /** Takes the next bytes; false when the file must not be read further (binary). */
  feed(bytes: Buffer): boolean {
    if (!this.started) {
      this.started = true;
      // NUL bytes do not occur in text; a file with them in its first chunk is binary.
      if (bytes.subarray(0, 8192).includes(0)) {
        this.problem('scan.binary', 'binary file (NUL bytes); not scanned');
        return false;
      }
    }
    let text: string;
    // While every byte so far was ASCII the decoder holds no partial sequence, and an ASCII chunk
    // decodes to the same string as latin1, without UTF-8 validation.
    if (this.ascii && isAscii(bytes)) {
      this.push(bytes.toString('latin1'));
      return true;
    }
    this.ascii = false;
    try {
      text = this.decoder.decode(bytes, { stream: true });
    } catch {
      if (!this.utf8Reported) {
        this.utf8Reported = true;
        const at = firstInvalidUtf8(bytes);
        let line = this.lines + 1;
        for (let i = at === -1 ? -1 : bytes.indexOf(10); i !== -1 && i < at; i = bytes.indexOf(10, i + 1)) line++;
        this.problem('scan.invalid_encoding', `invalid UTF-8 ${at === -1 ? `after line ${line}` : `at line ${line}`}; invalid bytes were scanned as U+FFFD`);
      }
      this.decoder = new TextDecoder('utf-8', { fatal: false });
      text = this.decoder.decode(bytes, { stream: true });
    }
    this.push(text);
    return true;
  }

  end(): void {
    try {
      this.push(this.decoder.decode());
    } catch {
      if (!this.utf8Reported) this.problem('scan.invalid_encoding', 'the file ends inside a UTF-8 sequence');
    }
    if (this.carry !== '') {
      this.block(this.carry);
      this.carry = '';
    }
    // The last line, without its newline.
    if (this.carried > 0) {
      this.lines++;
      this.carried = 0;
    }
    if (this.long.count > 0)
      this.problem(
        'scan.malformed',
        `${this.long.count} line(s) longer than ${MAX_LINE_CHARS / (1 << 20)} MiB (first at line ${this.long.first}); scanned as text in pieces of that size` +
          (this.csv !== undefined ? ', without their CSV fields' : this.ndjson !== undefined ? ', without their JSON members' : ''),
      );
    if (this.csv !== undefined) for (const m of this.csv.end(this.lines)) this.problem('scan.malformed', m);
    if (this.ndjson !== undefined) for (const m of this.ndjson.end()) this.problem('scan.malformed', m);
  }

  private push(text: string): void {
    if (text === '') return;
    const cut = text.lastIndexOf('\n');
    if (cut === -1) {
      const all = this.carry + text;
      if (all.length > MAX_LINE_CHARS) {
        this.block(all);
        this.carry = '';
      } else {
        this.carry = all;
      }
      return;
    }
    // The partial line carried over is completed and scanned on its own, so the chunk is scanned
    // as a slice of the decoded string rather than copied into a concatenation.
    let from = 0;
    if (this.carry !== '') {
      from = text.indexOf('\n') + 1;
      this.block(this.carry + text.slice(0, from));
    }
    if (from <= cut) this.block(text.slice(from, cut + 1));
    this.carry = text.slice(cut + 1);
  }

  /**
   * Scans lines: whole ones, but the first may be the rest of a line begun in earlier blocks and the
   * last may lack its newline (at the end of the file, or a piece of a line too long to scan whole).
   */
  private block(text: string): void {
    const firstLine = this.lines + 1;
    const carried = this.carried;
    const nl = text.indexOf('\n');
    const piece = nl === -1 && text.length > MAX_LINE_CHARS;
    if (piece && carried === 0) {
      if (this.long.count === 0) this.long.first = firstLine;
      this.long.count++;
    }
    if (carried > 0 || piece) {
      // A piece of a long line, or what ends one: scanned as text; its rows start after it.
      const found: Found[] = [];
      const rest = nl === -1 ? text.length : nl + 1;
      // Rows first: they name the fields all() judges with their names.
      if (this.csv !== undefined && this.csv.header !== undefined) this.csv.rows(text, firstLine + 1, found, rest);
      else if (this.ndjson !== undefined) this.ndjson.rows(text, firstLine + 1, found, rest);
      this.text.all(text, found);
      this.out.place(text, firstLine, found, carried);
      this.count(text);
      return;
    }
    const csv = this.csv;
    let body = text;
    let bodyLine = firstLine;
    if (csv !== undefined && csv.header === undefined) {
      const nl = text.indexOf('\n');
      csv.readHeader(nl === -1 ? text : text.slice(0, nl));
      body = nl === -1 ? '' : text.slice(nl + 1);
      bodyLine = firstLine + 1;
    }
    const found: Found[] = [];
    // Rows first: they name the fields all() judges with their names.
    if (csv !== undefined) csv.rows(body, bodyLine, found);
    else if (this.ndjson !== undefined) this.ndjson.rows(body, bodyLine, found);
    this.text.all(body, found);
    if (this.format === 'json') this.text.jsonHints(body, 0, body.length, found);
    this.out.place(body, bodyLine, found);
    this.count(text);
  }

  /** Counts the lines `text` ends; a last line without its newline is carried (counted at the end). */
  private count(text: string): void {
    let n = 0;
    for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) n++;
    this.lines += n;
    const tail = text.length - (text.lastIndexOf('\n') + 1);
    this.carried = n > 0 ? tail : this.carried + tail;
  }
}

/**
 * The offset of the first byte that cannot begin or continue a UTF-8 sequence (RFC 3629: no
 * overlong forms, surrogates or code points past U+10FFFF), or -1 when there is none in `b` (a
 * sequence cut at its end is not counted: the next chunk may complete it).
 */
export function firstInvalidUtf8(b: Uint8Array): number {
  let i = 0;
  while (i < b.length) {
    const c = b[i]!;
    if (c < 0x80) {
      i++;
      continue;
    }
    const n = c >= 0xc2 && c <= 0xdf ? 1 : c >= 0xe0 && c <= 0xef ? 2 : c >= 0xf0 && c <= 0xf4 ? 3 : 0;
    if (n === 0) return i;
    // The second byte's range depends on the first (overlongs, surrogates, past U+10FFFF).
    const lo = c === 0xe0 ? 0xa0 : c === 0xf0 ? 0x90 : 0x80;
    const hi = c === 0xed ? 0x9f : c === 0xf4 ? 0x8f : 0xbf;
    for (let k = 1; k <= n; k++) {
      if (i + k >= b.length) return -1;
      const x = b[i + k]!;
      if (k === 1 ? x < lo || x > hi : (x & 0xc0) !== 0x80) return i;
    }
    i += n + 1;
  }
  return -1;
}
