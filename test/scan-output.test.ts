// Output a team triages: a generated CSV of a few MB with far more findings than are kept scans to
// a summary of one line per column with the exact counts (every finding, kept or not), short enough
// for one screen; SARIF has one result per column with its count; no output holds a value; the
// progress line has a percentage and the time left when the size is known.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_MAX_FINDINGS_PER_FILE, type ScanResultV1 } from '../src/scan/index.js';
import { clock, createProgress, progressLine } from '../src/cli/progress.js';
import { execFile } from 'node:child_process';
import { cordonAsync } from './helpers/cli.js';
import { CLI } from './helpers/paths.js';
import { tempDir } from './helpers/temp.js';

/** Rows of the generated CSV. */
const ROWS = 60_000;
// Every row has an email; every 2nd a phone in the phone column, every 3rd a public (documentation
// range) IPv4, every 10th a test card number in the notes. Values are documentation/test values.
const count = (every: number) => Math.floor(ROWS / every);
const WANT = { email: ROWS, phone: count(2), ip: count(3), notes: count(10) };

function bigCsv(file: string): void {
  const lines = ['id,name,phone,email,ip,notes,created'];
  for (let i = 1; i <= ROWS; i++) {
    lines.push(
      [
        i,
        `user ${i}`,
        i % 2 === 0 ? '+14155552671' : '',
        `user.${i}@example.com`,
        i % 3 === 0 ? `203.0.113.${i % 250}` : '',
        i % 10 === 0 ? 'paid with 4111 1111 1111 1111' : 'nothing to note',
        '2024-05-01T10:00:00Z',
      ].join(','),
    );
  }
  writeFileSync(file, `${lines.join('\n')}\n`);
}

describe('a CSV with more findings than are kept', () => {
  let dir: string;
  let file: string;
  before(() => {
    dir = tempDir('cordon-scan-output-');
    file = join(dir, 'export.csv');
    bigCsv(file);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('the text starts with one summary line per column, exact counts, on one screen', async () => {
    assert.ok(statSync(file).size > 5e6, 'a few MB');
    const r = await cordonAsync(['scan', file, '--sarif', join(dir, 'out.sarif')]);
    assert.equal(r.status, 0, r.stderr);
    const lines = r.stdout.split('\n');
    const end = lines.findIndex((l, i) => i > 0 && !l.startsWith('  '));
    const summary = lines.slice(0, end);
    assert.ok(summary.length <= 40, `summary has ${summary.length} lines`);
    assert.equal(summary[0], 'SUMMARY (per file or table, column and detector; positions, never values)');
    assert.deepEqual(summary.slice(1), [
      `  ${file} [email]  email: 60,000 in 60,000 of 60,000 rows (100.0%); e.g. 2:11, 3:23, 4:11`,
      `  ${file} [phone]  phone: 30,000 in 30,000 of 60,000 rows (50.0%); e.g. 3:10, 5:10, 7:10`,
      `  ${file} [ip]  ipv4: 20,000 in 20,000 of 60,000 rows (33.3%); e.g. 4:30, 7:42, 10:30`,
      `  ${file} [notes]  payment_card: 6,000 in 6,000 of 60,000 rows (10.0%); e.g. 11:56, 21:56, 31:68`,
    ]);
    // Then at most TEXT_FINDINGS findings, and the totals.
    const total = WANT.email + WANT.phone + WANT.ip + WANT.notes;
    assert.equal(lines.length, summary.length + 100 + 1 + 1 + 1);
    assert.equal(
      lines.at(-3),
      `… ${(DEFAULT_MAX_FINDINGS_PER_FILE - 100).toLocaleString('en-US')} more kept finding(s) not listed here (--json lists every kept finding; the summary counts all)`,
    );
    assert.match(lines.at(-2)!, new RegExp(`: ${DEFAULT_MAX_FINDINGS_PER_FILE} finding\\(s\\) \\(\\+${total - DEFAULT_MAX_FINDINGS_PER_FILE} not kept\\)`));
    // No value: not an address, not the card, not the number.
    assert.equal(/user\.\d+@|4111 1111|4155552671|203\.0\.113\.\d/.test(r.stdout), false);

    const sarif = JSON.parse(readFileSync(join(dir, 'out.sarif'), 'utf8')) as {
      runs: { results: { ruleId: string; properties: { column: string; count: number; rows: number }; message: { text: string } }[] }[];
    };
    const results = sarif.runs[0]!.results;
    assert.deepEqual(
      results.map((x) => `${x.ruleId} ${x.properties.column} ${x.properties.count} ${x.properties.rows}`),
      ['email email 60000 60000', 'phone phone 30000 30000', 'ipv4 ip 20000 20000', 'payment_card notes 6000 6000'],
    );
    assert.equal(/user\.\d+@|4111 1111|4155552671|203\.0\.113\.\d/.test(JSON.stringify(sarif)), false);
  });

  test('--json carries the same summary', async () => {
    // 10,000 findings of JSON: more than execFile's default buffer.
    const r = await new Promise<{ status: number; stdout: string; stderr: string }>((done, fail) =>
      execFile(process.execPath, [CLI, 'scan', file, '--json'], { maxBuffer: 64 << 20, encoding: 'utf8' }, (err, stdout, stderr) =>
        err ? fail(err) : done({ status: 0, stdout, stderr }),
      ),
    );
    const j = JSON.parse(r.stdout) as ScanResultV1;
    assert.deepEqual(
      j.summary.map((c) => [c.column, c.detector, c.count, c.rows, c.of, c.share]),
      [
        ['email', 'email', WANT.email, WANT.email, ROWS, 1],
        ['phone', 'phone', WANT.phone, WANT.phone, ROWS, 0.5],
        ['ip', 'ipv4', WANT.ip, WANT.ip, ROWS, 0.3333],
        ['notes', 'payment_card', WANT.notes, WANT.notes, ROWS, 0.1],
      ],
    );
    // Off a terminal there is no progress line.
    assert.equal(r.stderr, '');
  });
});

describe('progress', () => {
  test('with the size known: percentage, rate and time left', () => {
    assert.equal(progressLine(75e6, 300e6, 5), 'scanning: 75.0 of 300.0 MB (25%), 15.0 MB/s, 0:15 left');
    assert.equal(progressLine(30e6, 300e6, 1), 'scanning: 30.0 of 300.0 MB (10%), 30.0 MB/s, 0:09 left');
    assert.equal(progressLine(1e6, 8000e6, 1), 'scanning: 1.0 of 8000.0 MB (0%), 1.0 MB/s, 2:13:19 left');
    // A file that grew while read: never past 100%.
    assert.equal(progressLine(310e6, 300e6, 10), 'scanning: 300.0 of 300.0 MB (100%), 31.0 MB/s, 0:00 left');
  });
  test('without: bytes and rate only', () => {
    assert.equal(progressLine(12.5e6, 0, 2), 'scanning: 12.5 MB, 6.3 MB/s');
  });
  test('clock', () => {
    assert.deepEqual([clock(0), clock(59.2), clock(61), clock(3600), clock(3725)], ['0:00', '1:00', '1:01', '1:00:00', '1:02:05']);
  });
  test('written at most four times a second, and cleared at the end', () => {
    const out: string[] = [];
    let t = 1000;
    const p = createProgress({ write: (s: string) => out.push(s) } as unknown as NodeJS.WritableStream, 100e6, () => t);
    t = 1100;
    p.add(10e6); // 0.1 s after the start, but the first write
    t = 1200;
    p.add(10e6); // 100 ms after the last: not written
    t = 1400;
    p.add(10e6);
    p.done();
    assert.deepEqual(out, [
      '\rscanning: 10.0 of 100.0 MB (10%), 100.0 MB/s, 0:01 left   ',
      '\rscanning: 30.0 of 100.0 MB (30%), 75.0 MB/s, 0:01 left   ',
      '\r\x1b[K',
    ]);
  });
});
